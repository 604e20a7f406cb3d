// CLI commands of the model area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';

export function registerModel(program: Command): void {
  void program;
}

// CLI commands of the data area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';

export function registerData(program: Command): void {
  void program;
}

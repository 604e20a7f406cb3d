// CLI commands of the eval area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';

export function registerEval(program: Command): void {
  void program;
}

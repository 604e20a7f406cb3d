// CLI commands of the rl area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';

export function registerRl(program: Command): void {
  void program;
}

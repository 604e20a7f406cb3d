// The pr-rl command line: parses flags and calls the library; no logic lives here or in src/cli/.
// Each area registers its commands from src/cli/<area>.ts. Heavy modules (tfjs) are imported
// lazily inside actions so that `pr-rl mine` never loads a tensor engine.

import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { Command } from 'commander';
import { Interrupted, UserError } from './util/errors.ts';
import { registerData } from './cli/data.ts';
import { registerModel } from './cli/model.ts';
import { registerRl } from './cli/rl.ts';
import { registerEval } from './cli/eval.ts';
import { registerTrain } from './cli/train.ts';
import { registerDemo } from './cli/demo.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('pr-rl')
  .description('Train a small transformer to work as a software engineer by RL (GRPO) on pull requests.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true });

registerData(program);
registerModel(program);
registerRl(program);
registerEval(program);
registerTrain(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof UserError) {
    process.stderr.write(`pr-rl: ${e.message}\n`);
    process.exit(1);
  }
  if (e instanceof Interrupted) {
    process.stderr.write(`pr-rl: ${e.message}\n`);
    process.kill(process.pid, e.signal); // no handler is left: the default action ends the process
    process.exit(128 + constants.signals[e.signal]);
  }
  throw e;
}

// The pr-rl command line: parses flags and calls the library; no logic lives here or in src/cli/.
// The commands are cli/program.ts's (each area's from src/cli/<area>.ts). Heavy modules (tfjs) are imported
// lazily inside actions so that `pr-rl mine` never loads a tensor engine.

import { constants } from 'node:os';
import { Interrupted, UserError } from './util/errors.ts';
import { buildProgram } from './cli/program.ts';

const program = buildProgram();

// stdout closed early (`pr-rl compare … | head`) ends the command quietly; one that cannot be written
// (a full disk) is one line, not an unhandled 'error' event with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`pr-rl: cannot write to stdout (${e.message})\n`);
  process.exit(1);
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof UserError) {
    process.stderr.write(`pr-rl: ${e.message.trim().replace(/\s*\n\s*/g, '; ')}\n`); // one line, even where git's stderr had several
    process.exit(1);
  }
  if (e instanceof Interrupted) {
    process.stderr.write(`pr-rl: ${e.message}\n`);
    process.kill(process.pid, e.signal); // no handler is left: the default action ends the process
    process.exit(128 + constants.signals[e.signal]);
  }
  // A file-system error no command turned into a UserError (a full disk, a folder that cannot be written):
  // still one line, naming the path in git's and Node's own words.
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof (e as NodeJS.ErrnoException).syscall === 'string') {
    process.stderr.write(`pr-rl: ${(e as Error).message}\n`);
    process.exit(1);
  }
  if (e instanceof WebAssembly.RuntimeError) {
    // tfjs-backend-wasm fails this way, deep in a kernel, when its memory cannot grow any more.
    process.stderr.write(`pr-rl: the wasm backend failed (${e.message}), most likely out of memory: lower --group-size, --max-new-tokens, --max-seq-len or --batch-size\n`);
    process.exit(1);
  }
  throw e;
}

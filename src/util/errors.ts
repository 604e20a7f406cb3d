// User-facing errors. A UserError is bad input or a bad environment the user can fix: the CLI
// prints its message as one line (no stack trace) and exits 1. Anything else is a bug and keeps its stack.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * Work stopped cleanly on a signal (what was done is saved). The CLI prints the message and ends by the
 * same signal, so that a shell or a script sees an interrupted command, not a finished one.
 */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals, message: string) {
    super(message);
    this.name = 'Interrupted';
  }
}

/**
 * A run's stop on SIGINT/SIGTERM: the first signal is only noted (`signal`; `heard` says so to the user),
 * so that the run ends at a safe point and throws Interrupted; a second one quits (raised again with no
 * handler left). The handler stays until the run unhooks it: removing it at the first signal would give a
 * later one its default action even inside a long synchronous kernel, but a signal that came while a
 * kernel held the event loop waits in libuv's pipe and is dropped with the handler (two presses during one
 * kernel, or one during a kernel run before the removal), so the run would go on. A second signal is seen
 * when the loop next turns (turnEventLoop): train every 8 sampled tokens and between groups, sft after each step.
 * train and sft each hold one while they run; `quitting` runs before a second signal ends the process (train
 * removes its run's lock there).
 */
export function stopOnSignal(heard: (sig: NodeJS.Signals) => void, quitting: () => void = () => {}): { signal: NodeJS.Signals | null; unhook: () => void } {
  const stop = { signal: null as NodeJS.Signals | null, unhook: () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); } };
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal) {
      stop.unhook();
      quitting(); // what the run's finally would have done (no finally runs once the signal is raised again)
      process.kill(process.pid, sig);
      return;
    }
    stop.signal = sig;
    heard(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return stop;
}

/**
 * Lets a signal that came during synchronous work (tfjs kernels, a sampling loop) reach its handler now: two
 * turns of the event loop, since called from an I/O callback the first setImmediate runs before the loop
 * polls again (where a signal is picked up) and the second after. Microseconds.
 */
export async function turnEventLoop(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Throws a UserError with `message` unless `cond` holds. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new UserError(message);
}

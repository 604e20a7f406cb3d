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

/** Throws a UserError with `message` unless `cond` holds. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new UserError(message);
}

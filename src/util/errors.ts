// User-facing errors. A UserError is bad input or a bad environment the user can fix: the CLI
// prints its message as one line (no stack trace) and exits 1. Anything else is a bug and keeps its stack.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Throws a UserError with `message` unless `cond` holds. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new UserError(message);
}

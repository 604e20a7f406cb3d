/** The URL of the compiled CLI under `root` when it is current, else null (bin/entry.js). */
export function builtEntry(root: string): string | null;

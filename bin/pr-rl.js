#!/usr/bin/env node
// Entry point: the CLI compiled into build/ when it is current (bin/entry.js), else src/cli.ts through tsx
// (a dependency), so that edited sources run without a build step. The compiled CLI starts ~0.3 s sooner
// and its diff worker needs no loader either.
import { fileURLToPath } from 'node:url';
import { builtEntry } from './entry.js';

const built = builtEntry(fileURLToPath(new URL('..', import.meta.url)));
if (built) await import(built);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}

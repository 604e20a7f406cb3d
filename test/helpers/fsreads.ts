// Counts how often src/ opens a file through node:fs (readFileSync or openSync; one count per read, not
// per syscall), for tests that a large file is read once. node:fs's named exports are re-synced after
// the patch so that modules importing `* as fs` see it, and restored after.

import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export async function countReads<T>(match: (file: string) => boolean, f: () => T | Promise<T>): Promise<{ result: T; reads: number }> {
  const { readFileSync, openSync } = fs;
  let reads = 0;
  let inRead = 0; // readFileSync may open through fs.openSync: counted once
  const hit = (p: unknown) => (typeof p === 'string' || p instanceof URL) && match(String(p));
  fs.readFileSync = ((p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (hit(p)) reads++;
    inRead++;
    try {
      return (readFileSync as (...a: unknown[]) => unknown)(p, ...rest);
    } finally {
      inRead--;
    }
  }) as typeof fs.readFileSync;
  fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    if (!inRead && hit(p)) reads++;
    return (openSync as (...a: unknown[]) => number)(p, ...rest);
  }) as typeof fs.openSync;
  syncBuiltinESMExports();
  try {
    return { result: await f(), reads };
  } finally {
    fs.readFileSync = readFileSync;
    fs.openSync = openSync;
    syncBuiltinESMExports();
  }
}

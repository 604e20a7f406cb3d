// Which CLI bin/pr-rl.js runs: the JavaScript that `npm run build` (run by `npm ci` and `npm install`)
// compiles into build/, or, where build/ is missing, failed, or older than a file under src/ (sources
// edited or checked out since), the TypeScript sources through tsx. Plain JavaScript: it runs before any
// loader.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The URL of the compiled CLI under `root` when it is current, else null. */
export function builtEntry(root) {
  let built;
  try { built = fs.statSync(path.join(root, 'build', '.built')).mtimeMs; } catch { return null; }
  const src = path.join(root, 'src');
  const dirs = fs.existsSync(src) ? [src] : []; // no sources: the build is all there is
  while (dirs.length) {
    const dir = dirs.pop();
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) dirs.push(p);
      else if (fs.statSync(p).mtimeMs > built) return null;
    }
  }
  const cli = path.join(root, 'build', 'cli.js');
  return fs.existsSync(cli) ? pathToFileURL(cli).href : null;
}

// `npm run build` (also run by `npm ci` / `npm install` as `prepare`): compiles src/ into build/ with tsc
// (tsconfig.build.json). build/.built marks a build that succeeded; its time is the build's start, so that
// a source edited during the build makes it stale. bin/entry.js runs build/ only while it is current.
//   node --import tsx scripts/build.ts [--soft]   (--soft, as `prepare`: a failed build warns and exits 0, so
//   that an install never fails on it; the CLI then runs the sources)

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.join(import.meta.dirname, '..');
const build = path.join(root, 'build');
fs.rmSync(build, { recursive: true, force: true });
fs.mkdirSync(build, { recursive: true });
const started = path.join(build, '.started');
fs.writeFileSync(started, '');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('build: tsc failed; the CLI runs the sources through tsx until a build succeeds\n');
  process.exit(process.argv.includes('--soft') ? 0 : r.status ?? 1);
}
fs.renameSync(started, path.join(build, '.built'));

// Run: node --import tsx --test test/bin-entry.test.ts
// bin/pr-rl.js runs the CLI compiled into build/ only while it is current (bin/entry.js), and the compiled
// CLI does what the sources do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { builtEntry } from '../bin/entry.js';
import { fixture, tmpDir } from './data-gitfixture.ts';

const ROOT = path.join(import.meta.dirname, '..');

test('bin/entry.js: the compiled CLI while no file under src/ is newer than its build, else none', () => {
  const root = tmpDir('prrl-entry-');
  const put = (f: string, at: number) => {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), '');
    fs.utimesSync(path.join(root, f), at, at);
  };
  const t = 1_700_000_000;
  put('src/cli.ts', t);
  put('src/data/mine.ts', t);
  assert.equal(builtEntry(root), null, 'no build');
  put('build/cli.js', t + 10);
  assert.equal(builtEntry(root), null, 'a build that did not finish (no build/.built)');
  put('build/.built', t + 10);
  assert.equal(builtEntry(root), pathToFileURL(path.join(root, 'build', 'cli.js')).href);
  put('src/data/mine.ts', t + 20); // edited (or checked out) after the build, in a subfolder
  assert.equal(builtEntry(root), null, 'a source newer than the build');
  put('build/.built', t + 30);
  fs.rmSync(path.join(root, 'src'), { recursive: true });
  assert.equal(builtEntry(root), pathToFileURL(path.join(root, 'build', 'cli.js')).href, 'no sources at all: the build');
  fs.rmSync(path.join(root, 'build', 'cli.js'));
  assert.equal(builtEntry(root), null, 'no compiled entry');
});

test('the compiled CLI mines the same tasks as the sources through tsx', { skip: builtEntry(ROOT) ? false : 'build/ is missing or older than src/ (npm run build)' }, () => {
  const f = fixture();
  f.write('app/util.py', 'def parse(x):\n    return int(x)\n');
  f.write('app/main.py', 'from app.util import parse\n\nprint(parse("1"))\n');
  f.write('README.md', 'A tiny app that parses numbers.\n');
  f.commit('Initial import');
  for (let i = 0; i < 4; i++) {
    f.write('app/util.py', `def parse(x):\n    return int(x) + ${i}\n`);
    f.commit(`Fix parse offset ${i} (#${10 + i})`);
  }
  const out = tmpDir('prrl-entry-out-');
  const mine = (args: string[], file: string) => {
    const r = spawnSync(process.execPath, [...args, 'mine', f.dir, '--out', path.join(out, file)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(path.join(out, file), 'utf8');
  };
  const built = mine([path.join(ROOT, 'build', 'cli.js')], 'built.jsonl');
  const sources = mine(['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts')], 'sources.jsonl');
  assert.equal(built.trim().split('\n').length, 4);
  assert.match(built, /"path":"app\/main\.py"/, 'context retrieval ran (the importer of the changed file)');
  assert.equal(built, sources);
});

test('the GPU bundle (scripts/bundle-gpu.ts, esbuild) runs the CLI: its version, and a mine whose diffs run on its worker thread', () => {
  const out = tmpDir('prrl-bundle-');
  const built = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'bundle-gpu.ts'), '--out', out], { encoding: 'utf8', cwd: ROOT });
  assert.equal(built.status, 0, built.stderr);
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(out, 'pr-rl.mjs'), ...args], { encoding: 'utf8' });
  const v = cli('--version');
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  const f = fixture();
  f.write('a.py', 'def f(x):\n    return x\n');
  f.commit('initial');
  f.write('a.py', 'def f(x):\n    return x + 1\n');
  f.commit('Make f add one');
  const tasks = path.join(out, 'tasks.jsonl');
  const mined = cli('mine', f.dir, '--out', tasks);
  assert.equal(mined.status, 0, mined.stderr);
  const [t] = fs.readFileSync(tasks, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual([t.text, t.stats.added, t.stats.removed], ['Make f add one', 1, 1]);
});

test('the data commands load no tensor engine, ONNX runtime or tokenizer library (start-up stays short)', () => {
  // A resolve hook that fails any import of those packages; init, which needs tfjs, shows that it bites.
  const dir = tmpDir('prrl-heavy-');
  fs.writeFileSync(path.join(dir, 'hook.mjs'),
    "export async function resolve(s, c, next) { if (/^(@tensorflow|onnxruntime-|@huggingface)/.test(s)) throw new Error('heavy import: ' + s); return next(s, c); }\n");
  fs.writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister(new URL('./hook.mjs', import.meta.url));\n");
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', '--import', path.join(dir, 'register.mjs'), path.join(ROOT, 'src', 'cli.ts'), ...args], { encoding: 'utf8' });
  const f = fixture();
  f.write('app/util.py', 'def parse(x):\n    return int(x)\n');
  f.commit('Initial import');
  f.write('app/util.py', 'def parse(x):\n    return int(x) + 1\n');
  f.commit('Fix parse offset (#1)');
  f.write('app/util.py', 'def parse(x):\n    return int(x, 10) + 1\n');
  f.commit('Parse decimal only (#2)');
  const tasks = path.join(dir, 'tasks.jsonl');
  for (const args of [['--version'], ['mine', f.dir, '--out', tasks], ['split', tasks, '--heldout', '50%', '--out-train', path.join(dir, 't.jsonl'), '--out-heldout', path.join(dir, 'h.jsonl')]]) {
    const r = cli(...args);
    assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
  }
  const init = cli('init', '--tokenizer', path.join(dir, 'no-tokenizer'), '--out', path.join(dir, 'model'));
  assert.notEqual(init.status, 0);
  assert.match(init.stderr, /heavy import: @tensorflow\/tfjs/);
});

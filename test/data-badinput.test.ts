// Run: node --import tsx --test test/data-badinput.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mine } from '../src/data/mine.ts';
import { importRecords } from '../src/data/import.ts';
import { BlobReader, lsTree, openRepo } from '../src/data/git.ts';
import { TreeReader } from '../src/data/trees.ts';
import { UserError } from '../src/util/errors.ts';
import { fixture, gitEnv, processes, tmpDir } from './data-gitfixture.ts';

const CLI = path.join(import.meta.dirname, '..', 'bin', 'pr-rl.js');
const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
/** Removes the loose object `rev` names from the fixture's repository (a damaged clone). */
const dropObject = (f: ReturnType<typeof fixture>, rev: string) => {
  const sha = f.git('rev-parse', rev);
  fs.rmSync(path.join(f.dir, '.git', 'objects', sha.slice(0, 2), sha.slice(2)));
};

test('not a git repo, missing folder, empty repo, unborn HEAD: one clear UserError each', async () => {
  await assert.rejects(mine([tmpDir()]), userError(/not a git repository/));
  await assert.rejects(mine([path.join(tmpDir(), 'nope')]), userError(/no such folder/));
  const empty = fixture();
  await assert.rejects(mine([empty.dir]), userError(/empty repository/));
  const f = fixture();
  f.write('a.txt', '1\n');
  f.commit('one');
  f.git('checkout', '-q', '--orphan', 'fresh');
  await assert.rejects(mine([f.dir]), userError(/HEAD is unborn \(branch "fresh".*checkout main.*--rev main$/));
  f.git('checkout', '-q', '-f', 'main');
  f.write('a.txt', '2\n');
  f.commit('two');
  // An unborn HEAD is no obstacle when --rev names a branch: an orphan checkout, a bare repo whose HEAD names no pushed branch.
  f.git('checkout', '-q', '--orphan', 'fresh2');
  assert.deepEqual((await mine([f.dir], { rev: 'main', contextFiles: 0 })).tasks.map((t) => t.text), ['two']);
  f.git('checkout', '-q', '-f', 'main');
  const bare = path.join(tmpDir(), 'ub.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'master', bare], { env: gitEnv() });
  execFileSync('git', ['-C', f.dir, 'push', '-q', bare, 'main'], { env: gitEnv() });
  await assert.rejects(mine([bare]), userError(/HEAD is unborn \(branch "master" has no commits\); name one for mine and synth: --rev main$/));
  assert.deepEqual((await mine([bare], { rev: 'main', contextFiles: 0 })).tasks.map((t) => t.text), ['two']);
  // A work tree's git folder (or a folder inside it) is that work tree.
  const plain = await mine([f.dir], { contextFiles: 0 });
  for (const inside of ['.git', '.git/objects']) {
    const r = await mine([path.join(f.dir, inside)], { contextFiles: 0 });
    assert.deepEqual(r.tasks, plain.tasks, inside);
    assert.equal(openRepo(path.join(f.dir, inside)).name, path.basename(f.dir));
  }
  await assert.rejects(mine([f.dir], { rev: 'main~5' }), userError(/--rev "main~5" names no commit$/));
  // A tree or a blob is no commit either (git log of a tree lists nothing: an empty file and exit 0).
  await assert.rejects(mine([f.dir], { rev: 'HEAD^{tree}' }), userError(/--rev "HEAD\^\{tree\}" names no commit$/));
});

test('--rev is a revision, never an option: refused up front, and git never reads one as an option', async () => {
  const f = fixture();
  f.write('a.txt', '1\n');
  f.commit('one');
  const written = path.join(tmpDir(), 'written-by-git');
  await assert.rejects(mine([f.dir], { rev: `--output=${written}` }), userError(/--rev must name a revision, not an option \(got "--output=/));
  await assert.rejects(mine([f.dir], { rev: '' }), userError(/--rev must name a revision/));
  // Below the check, the log itself: git takes the word as a revision (there is none such) and writes nothing.
  const { streamCommits, countCommits } = await import('../src/data/git.ts');
  await assert.rejects((async () => { for await (const _ of streamCommits(f.dir, { rev: `--output=${written}` })) void _; })());
  assert.throws(() => countCommits(f.dir, { rev: `--output=${written}` }));
  assert.ok(!fs.existsSync(written), 'git wrote the file an option named');
});

test('shallow clone: mined with a warning, the boundary commit skipped', async () => {
  const f = fixture();
  for (let i = 0; i < 3; i++) { f.write('a.txt', `${i}\n`); f.commit(`Set a to ${i}`); }
  const dir = path.join(tmpDir(), 'shallow');
  execFileSync('git', ['clone', '-q', '--depth', '2', `file://${f.dir}`, dir], { env: gitEnv() });
  const r = await mine([dir], { contextFiles: 0 });
  assert.ok(r.warnings.some((w) => /shallow clone.*fetch --unshallow/.test(w)));
  assert.deepEqual(r.tasks.map((t) => t.text), ['Set a to 2']);
  assert.equal(r.stats.dropped.get('root-commit'), 1);
});

test('openRepo: a work tree from any subfolder, a shallow clone and a bare clone name the same repo and HEAD', () => {
  const f = fixture(path.join(tmpDir(), 'my repo é'));
  f.write('src/a.txt', '1\n');
  f.commit('one');
  f.write('src/a.txt', '2\n');
  const head = f.commit('two');
  const top = fs.realpathSync(f.dir);
  for (const dir of [f.dir, path.join(f.dir, 'src')]) assert.deepEqual(openRepo(dir), { root: top, name: 'my repo é', head, shallow: false });
  const shallow = path.join(tmpDir(), 'sh');
  execFileSync('git', ['clone', '-q', '--depth', '1', `file://${f.dir}`, shallow], { env: gitEnv() });
  assert.deepEqual(openRepo(shallow), { root: fs.realpathSync(shallow), name: 'sh', head, shallow: true });
  const bare = path.join(tmpDir(), 'mirror.git');
  execFileSync('git', ['clone', '-q', '--bare', f.dir, bare], { env: gitEnv() });
  assert.deepEqual(openRepo(bare), { root: fs.realpathSync(bare), name: 'mirror', head, shallow: false });
});

test('BlobReader: a thousand pipelined answers, small and large, split anywhere between reads, each whole', async () => {
  const f = fixture();
  const want = new Map<string, Buffer>();
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 1000; i++) {
    const size = i % 97 === 0 ? 60_000 + Math.floor(rand() * 200_000) : Math.floor(rand() * 300); // a few span several reads
    const b = Buffer.alloc(size);
    for (let k = 0; k < size; k++) b[k] = rand() < 0.05 ? 0x0a : Math.floor(rand() * 256);
    f.write(`f${i}.bin`, b);
    want.set(`f${i}.bin`, b);
  }
  f.commit('blobs');
  const reader = new BlobReader(f.dir);
  try {
    const entries = lsTree(f.dir, 'HEAD');
    const asked = entries.map((e, i) => (i % 3 === 0 ? reader.info(e.sha).then((x) => x.size) : reader.contents(e.sha)));
    const missing = reader.infoOrNull('HEAD:no-such-file');
    const got = await Promise.all(asked);
    entries.forEach((e, i) => {
      const w = want.get(e.path)!;
      if (i % 3 === 0) assert.equal(got[i], w.length, e.path);
      else assert.ok(w.equals(got[i] as Buffer), e.path);
    });
    assert.equal(await missing, null);
  } finally { reader.close(); }
});

test('submodules: gitlinks are skipped with a count, the rest of the change kept', async () => {
  const f = fixture();
  f.write('main.py', 'print(1)\n');
  const sha = f.commit('initial');
  f.git('update-index', '--add', '--cacheinfo', `160000,${sha},vendor-sub`);
  f.write('main.py', 'print(2)\n');
  f.git('add', 'main.py');
  f.git('commit', '-q', '-m', 'Add a submodule and print 2');
  const r = await mine([f.dir], { contextFiles: 0 });
  assert.deepEqual(r.tasks[0].changes.map((c) => c.path), ['main.py']);
  assert.equal(r.stats.filesSkipped.get('submodule'), 1);
  assert.ok(r.warnings.some((w) => /1 submodule change/.test(w)));
  // A commit dropped before its files are read (a bot's) is not counted as a skipped submodule change either.
  f.git('update-index', '--add', '--cacheinfo', `160000,${f.git('rev-parse', 'HEAD')},vendor-sub`);
  f.write('main.py', 'print(3)\n');
  f.git('add', 'main.py');
  f.git('commit', '-q', '-m', 'Bump vendor-sub');
  const again = await mine([f.dir], { contextFiles: 0 });
  assert.equal(again.stats.dropped.get('bot'), 1);
  assert.equal(again.stats.filesSkipped.get('submodule'), 1);
  assert.deepEqual(again.warnings.map((w) => /(\d+) submodule change/.exec(w)?.[1]).filter(Boolean), ['1']);
});

test('a Git LFS pointer is no source file: left out of a change (lfs-pointer), counted', async () => {
  const f = fixture();
  const pointer = (n: number) => `version https://git-lfs.github.com/spec/v1\noid sha256:${String(n).padStart(64, '0')}\nsize ${n}\n`;
  f.write('model.bin.txt', pointer(1));
  f.write('app.py', 'w = 1\n');
  f.commit('initial');
  f.write('model.bin.txt', pointer(2));
  f.commit('Update the model');
  f.write('model.bin.txt', pointer(3));
  f.write('app.py', 'w = 2\n');
  f.commit('Update the model and w');
  const r = await mine([f.dir], { contextFiles: 0 });
  assert.deepEqual(r.tasks.map((t) => [t.text, t.changes.map((c) => c.path)]), [['Update the model and w', ['app.py']]]);
  assert.equal(r.stats.dropped.get('only-lfs-pointer'), 1);
  assert.equal(r.stats.filesSkipped.get('lfs-pointer'), 2, 'each pointer change, the dropped commit too');
});

test('invalid UTF-8 file is skipped (non-utf8), a valid sibling kept', async () => {
  const f = fixture();
  f.write('ok.txt', 'fine\n');
  f.commit('initial');
  f.write('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  f.commit('Add a Latin-1 file');
  f.write('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe8, 0x0a]));
  f.write('ok.txt', 'fine\nbetter\n');
  f.commit('Touch both');
  const r = await mine([f.dir], { contextFiles: 0 });
  assert.equal(r.stats.dropped.get('only-non-utf8'), 1);
  assert.equal(r.stats.filesSkipped.get('non-utf8'), 2);
  assert.deepEqual(r.tasks.map((t) => t.changes.map((c) => c.path)), [['ok.txt']]);
});

test('a 100 MB file is skipped by its size, never read into memory', async () => {
  const f = fixture();
  f.write('small.txt', 'x\n');
  f.commit('initial');
  fs.closeSync(fs.openSync(path.join(f.dir, 'huge.log'), 'w'));
  fs.truncateSync(path.join(f.dir, 'huge.log'), 100 * 1024 * 1024); // sparse: instant to create
  f.write('small.txt', 'x\ny\n');
  f.git('-c', 'core.bigFileThreshold=1m', '-c', 'core.compression=1', 'add', '-A');
  f.git('commit', '-q', '-m', 'Add a huge log');
  const contents = BlobReader.prototype.contents;
  let largest = 0;
  BlobReader.prototype.contents = async function (this: BlobReader, obj: string) {
    const b = await contents.call(this, obj);
    largest = Math.max(largest, b.length);
    return b;
  };
  try {
    const r = await mine([f.dir], { contextFiles: 3 });
    assert.equal(r.stats.filesSkipped.get('too-large'), 1);
    assert.deepEqual(r.tasks[0].changes.map((c) => c.path), ['small.txt']);
    assert.ok(largest < 1e6, `read a ${largest}-byte blob`);
  } finally {
    BlobReader.prototype.contents = contents;
  }
});

test('paths with spaces, newlines and unicode survive mining', async () => {
  const f = fixture();
  const names = ['dir with space/naïve café.ts', 'new\nline.txt', '日本語/ファイル.py', 'tab\there.md', '"quoted".js'];
  for (const n of names) f.write(n, 'one\n');
  f.commit('initial');
  for (const n of names) f.write(n, 'one\ntwo\n');
  f.commit('Add two everywhere');
  f.git('mv', names[0], 'dir with space/renamed ünïcode.ts');
  f.commit('Rename the café file');
  const r = await mine([f.dir], { contextFiles: 0 });
  const two = r.tasks.find((t) => t.text === 'Add two everywhere')!;
  assert.deepEqual(two.changes.map((c) => c.path).sort(), [...names].sort());
  for (const c of two.changes) assert.deepEqual([c.old, c.new], ['one\n', 'one\ntwo\n']);
  assert.equal(r.stats.dropped.get('empty'), 1, 'a pure rename changes no line');
  const ctx = await mine([f.dir], { contextFiles: 5, sources: 'commit' });
  assert.ok(ctx.tasks.length > 0);
  // The cat-file tree walk and `git ls-tree -z` agree on every odd path.
  const reader = new BlobReader(f.dir);
  try {
    const trees = new TreeReader(reader);
    const viaCatFile = (await trees.diff(null, await trees.root('HEAD'))).map(({ entry: e }) => [e!.path, e!.sha, e!.size]).sort();
    assert.deepEqual(viaCatFile, lsTree(f.dir, 'HEAD').map((e) => [e.path, e.sha, e.size]).sort());
  } finally { reader.close(); }
});

test('a path that is not UTF-8 is left out (non-utf8-path) by mine, retrieval and synth: no task names a path the repo lacks', async () => {
  const f = fixture();
  const bad = Buffer.concat([Buffer.from(f.dir + '/'), Buffer.from('caf\xe9.py', 'latin1')]); // the name's bytes, not UTF-8
  fs.writeFileSync(bad, 'x = 1\n');
  f.write('ok.py', 'import cafe\ny = 1\n');
  f.commit('init');
  fs.writeFileSync(bad, 'x = 2\n');
  f.write('ok.py', 'import cafe\ny = 2\n');
  f.commit('Edit both files');
  f.write('ok.py', 'import cafe\ny = 3\n');
  f.commit('Edit ok.py once more');
  const r = await mine([f.dir], { contextFiles: 3, minChangedLines: 1 });
  const both = r.tasks.find((t) => t.text === 'Edit both files')!;
  assert.deepEqual(both.changes.map((c) => c.path), ['ok.py']);
  assert.equal(r.stats.filesSkipped.get('non-utf8-path'), 1);
  for (const t of r.tasks) for (const c of [...t.changes, ...t.context]) assert.ok(!c.path.includes('\uFFFD'), c.path);
  const out = path.join(tmpDir(), 'synth.jsonl');
  const s = spawnSync(process.execPath, [CLI, 'synth', f.dir, '--out', out, '--window', 'file'], { encoding: 'utf8' });
  assert.equal(s.status, 0, s.stderr);
  const paths = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).changes[0].path);
  assert.ok(paths.length > 0 && paths.every((p) => p === 'ok.py'), paths.join(', '));
});

test('a commit whose blob is missing: stop names it, skip counts it as unreadable', async () => {
  const f = fixture();
  f.write('a.txt', '1\n');
  f.commit('initial');
  f.write('a.txt', '1\n2\n');
  f.commit('Add two');
  f.write('b.txt', 'b\n');
  f.commit('Add b');
  dropObject(f, 'HEAD~1:a.txt');
  await assert.rejects(mine([f.dir], { contextFiles: 0 }), userError(/"Add two": cannot read the commit \(git object .* is missing\); use --on-bad-line skip/));
  const r = await mine([f.dir], { contextFiles: 0, onBadLine: 'skip' });
  assert.deepEqual(r.tasks.map((t) => t.text), ['Add b']);
  assert.equal(r.stats.dropped.get('unreadable'), 1);
  assert.ok(r.warnings.some((w) => /Add two/.test(w)));
  // A missing tree: git log cannot walk the history at all, so skip cannot help, and says so.
  dropObject(f, 'HEAD~1^{tree}');
  await assert.rejects(mine([f.dir], { contextFiles: 0 }), userError(/: cannot read the history of "HEAD" \(.*\)$/));
  await assert.rejects(mine([f.dir], { contextFiles: 0, onBadLine: 'skip' }),
    userError(/: cannot read the history of "HEAD" \(.*\); --on-bad-line skip skips commits whose files cannot be read, not a history git cannot walk$/));
});

test('a blob missing only from base trees (a damaged clone) is left out of the context files, not a reason to drop every task over it', async () => {
  const f = fixture();
  f.write('lost.py', 'def parse():\n    return 1\n');
  f.write('a.py', 'x = 1\n');
  f.commit('initial');
  f.write('a.py', 'x = 2\n');
  f.commit('Parse two');
  f.write('a.py', 'x = 3\n');
  f.commit('Parse three');
  dropObject(f, 'HEAD:lost.py');
  for (const onBadLine of ['stop', 'skip'] as const) {
    const r = await mine([f.dir], { onBadLine });
    assert.deepEqual(r.tasks.map((t) => t.text), ['Parse three', 'Parse two'], onBadLine);
    assert.ok(r.tasks.every((t) => t.context.length === 0));
    assert.equal(r.stats.dropped.get('unreadable'), undefined);
    assert.ok(r.warnings.some((w) => /1 file version\(s\) of base trees are missing from the repository .* left out of the context files/.test(w)), r.warnings.join('\n'));
  }
});

test('import: filters drop and count records (a file over --max-file-bytes before or after, not text, no change, no text); a BOM file patches, its BOM kept; counts checked', async () => {
  const f = fixture();
  f.write('bom.py', '\ufeffx = 1\n');
  f.write('a.py', 'a = 1\n');
  f.write('gen.py', '# Auto-generated file\ng = 1\n');
  const base = f.commit('initial');
  const rec = (id: string, patch: string, problem_statement = 'fix it') => JSON.stringify({ instance_id: id, base_commit: base, problem_statement, patch });
  const big = Array.from({ length: 100 }, (_, i) => `+line ${i} with some text`).join('\n');
  const file = path.join(tmpDir(), 'swe.jsonl');
  fs.writeFileSync(file, [
    rec('bom', 'diff --git a/bom.py b/bom.py\n--- a/bom.py\n+++ b/bom.py\n@@ -1 +1 @@\n-\ufeffx = 1\n+\ufeffx = 2\n'),
    rec('bare', 'diff --git a/bom.py b/bom.py\n--- a/bom.py\n+++ b/bom.py\n@@ -1 +1 @@\n-x = 1\n+x = 3\n'), // made from the text without its BOM
    rec('unbom', 'diff --git a/bom.py b/bom.py\n--- a/bom.py\n+++ b/bom.py\n@@ -1 +1 @@\n-\ufeffx = 1\n+x = 1\n'), // removes the BOM only
    rec('delbare', 'diff --git a/bom.py b/bom.py\ndeleted file mode 100644\n--- a/bom.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n'), // a deletion made from the text without its BOM
    rec('grows', `diff --git a/big.py b/big.py\nnew file mode 100644\n--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,100 @@\n${big}\n`),
    rec('mode', 'diff --git a/a.py b/a.py\nold mode 100644\nnew mode 100755\n'),
    rec('blank', '--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n', '   '),
    rec('gen', '--- a/gen.py\n+++ b/gen.py\n@@ -2 +2 @@\n-g = 1\n+g = 2\n'),
    // git's quoting of a Latin-1 name: bytes that are not UTF-8, so not a name a task can hold (mine drops them too).
    rec('latin1', 'diff --git "a/n\\344me.py" "b/n\\344me.py"\nnew file mode 100644\n--- /dev/null\n+++ "b/n\\344me.py"\n@@ -0,0 +1 @@\n+x = 1\n'),
    rec('utf8', 'diff --git "a/n\\303\\244me.py" "b/n\\303\\244me.py"\nnew file mode 100644\n--- /dev/null\n+++ "b/n\\303\\244me.py"\n@@ -0,0 +1 @@\n+x = 1\n'),
  ].join('\n') + '\n');
  const r = await importRecords(file, { repo: f.dir, contextFiles: 0, maxFileBytes: 1000 }); // the default --on-bad-line stop: drops are no bad lines
  assert.deepEqual(r.tasks.map((t) => [t.id, t.changes]), [
    ['bom', [{ path: 'bom.py', old: '\ufeffx = 1\n', new: '\ufeffx = 2\n' }]],
    ['bare', [{ path: 'bom.py', old: '\ufeffx = 1\n', new: '\ufeffx = 3\n' }]],
    ['unbom', [{ path: 'bom.py', old: '\ufeffx = 1\n', new: 'x = 1\n' }]],
    ['delbare', [{ path: 'bom.py', old: '\ufeffx = 1\n', new: null }]],
    ['utf8', [{ path: 'n\u00e4me.py', old: null, new: 'x = 1\n' }]],
  ], 'the BOM kept on both sides, as mine reads files');
  assert.equal(r.bad, 0);
  assert.deepEqual(Object.fromEntries(r.stats.dropped), { 'file-too-large': 1, empty: 1, 'no-text': 1, 'file-generated': 1, 'file-non-utf8-path': 1 });
  for (const [k, v] of [['maxFileBytes', -1], ['contextFiles', 1.5], ['contextBytes', -5]] as const) {
    await assert.rejects(importRecords(file, { repo: f.dir, [k]: v }), userError(/^import: --[a-z-]+ must be an integer ≥ 0/), k);
  }
});

test('import: a corrupt line is reported with its number; stop vs skip; a folder for the records is one clear error', async () => {
  const f = fixture();
  const folder = tmpDir();
  await assert.rejects(importRecords(folder, { repo: f.dir }), userError(new RegExp(`^${folder}: a folder, not a file$`)));
  f.write('a.py', 'x = 1\n');
  const base = f.commit('initial');
  const good = (id: string) => JSON.stringify({ instance_id: id, repo: 'o/r', base_commit: base, problem_statement: 'x should be 2',
    patch: '--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n' });
  const file = path.join(tmpDir(), 'swe.jsonl');
  const unknown = JSON.stringify({ instance_id: 'u', base_commit: 'deadbeef'.repeat(5), problem_statement: 'p', patch: '--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n' });
  const noApply = JSON.stringify({ instance_id: 'n', base_commit: base, problem_statement: 'p', patch: '--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-y = 7\n+y = 8\n' });
  const binary = JSON.stringify({ instance_id: 'b', base_commit: base, problem_statement: 'p',
    patch: 'diff --git a/img.bin b/img.bin\nnew file mode 100644\nindex 0000000..e69de29\nBinary files /dev/null and b/img.bin differ\n' });
  // git diff --binary writes the bytes as a `GIT binary patch` section, which jsdiff parses as a section with no change.
  const gitBinary = JSON.stringify({ instance_id: 'g', base_commit: base, problem_statement: 'p',
    patch: '--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\ndiff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0000000000000000000000000000000000000000..d0a3d2a5d4c0f3f2f1e1b1a1a1a1a1a1a1a1a1a1\nGIT binary patch\nliteral 16\nXcmeAS@N?(olHy`uVBq!ia0y~yU;u*=\n\nliteral 0\nHcmV?d00001\n\n' });
  // What git apply refuses too: creating a file that is there, deleting other content than the file's.
  const exists = JSON.stringify({ instance_id: 'e', base_commit: base, problem_statement: 'p', patch: 'diff --git a/a.py b/a.py\nnew file mode 100644\n--- /dev/null\n+++ b/a.py\n@@ -0,0 +1 @@\n+x = 5\n' });
  const delOther = JSON.stringify({ instance_id: 'd', base_commit: base, problem_statement: 'p', patch: 'diff --git a/a.py b/a.py\ndeleted file mode 100644\n--- a/a.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-y = 9\n' });
  fs.writeFileSync(file, [good('one'), '{"instance_id": "broken", ', '', unknown, noApply, JSON.stringify({ instance_id: 'm' }), binary, gitBinary, exists, delOther, good('two')].join('\n') + '\n');
  await assert.rejects(importRecords(file, { repo: f.dir }), userError(/swe\.jsonl:2: not valid JSON \(use --on-bad-line skip/));
  const r = await importRecords(file, { repo: f.dir, onBadLine: 'skip', contextFiles: 0 });
  assert.deepEqual(r.tasks.map((t) => t.id), ['one', 'two']);
  assert.equal(r.bad, 8);
  assert.match(r.warnings.join('\n'), /:2: not valid JSON[\s\S]*:4: base_commit deadbeef.* is not in [\s\S]*:5: patch does not apply to a\.py[\s\S]*:6: missing or empty "base_commit"[\s\S]*:7: img\.bin: a binary patch[\s\S]*:8: logo\.png: a binary patch[\s\S]*:9: a\.py already exists at [0-9a-f]{12}; the patch creates it[\s\S]*:10: patch does not apply to a\.py at [0-9a-f]{12}: it deletes other content/);
});

test('atomic output: a failing run leaves the old file and no temp file; a good run leaves no temp file', () => {
  const f = fixture();
  f.write('a.txt', '1\n');
  f.commit('initial');
  f.write('a.txt', '2\n');
  f.commit('Two');
  const outDir = tmpDir();
  const out = path.join(outDir, 'tasks.jsonl');
  fs.writeFileSync(out, 'previous\n');
  // The first repo mines fine, the second is not a repo: nothing may be written.
  const bad = spawnSync(process.execPath, [CLI, 'mine', f.dir, tmpDir(), '--out', out], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^pr-rl: .*not a git repository/m);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  assert.equal(fs.readFileSync(out, 'utf8'), 'previous\n');
  assert.deepEqual(fs.readdirSync(outDir), ['tasks.jsonl']);
  // An empty number is no number (Number('') is 0: the whole history, here).
  const empty = spawnSync(process.execPath, [CLI, 'mine', f.dir, '--out', out, '--max-commits', ''], { encoding: 'utf8' });
  assert.equal(empty.status, 1);
  assert.match(empty.stderr.trim(), /^pr-rl: --max-commits expects a number, got ""$/);
  const ok = spawnSync(process.execPath, [CLI, 'mine', f.dir, '--out', out], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /mine: 2 commits → .*kept 1, dropped 1 \(root-commit 1\).*tasks\/s/);
  assert.deepEqual(fs.readdirSync(outDir), ['tasks.jsonl']);
  assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).text, 'Two');
});

test('Ctrl-C during pr-rl mine: the process ends by SIGINT, the old output stays, no temp file, no git process left', async () => {
  // 4 000 commits made by git fast-import: mining them takes long enough to be interrupted.
  const f = fixture();
  const lines = Array.from({ length: 60 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`);
  f.importCommits(Array.from({ length: 4000 }, (_, c) => {
    lines[(c * 7) % 60] = `def f${(c * 7) % 60}(x):\n    return x * ${c}\n`;
    return { message: `Fix f ${String(c).padStart(4, '0')} \n`, path: `src/m${c % 9}.py`, text: lines.join('') };
  }));
  const outDir = tmpDir();
  const out = path.join(outDir, 'tasks.jsonl');
  fs.writeFileSync(out, 'previous\n');
  const child = spawn(process.execPath, [CLI, 'mine', f.dir, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => { stderr += b; });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  void ended.then(() => { running = false; });
  while (running && !fs.readdirSync(outDir).some((n) => n.includes('.tmp-'))) await new Promise((r) => setTimeout(r, 5));
  assert.ok(running, `mine ended before it could be interrupted: ${stderr}`);
  child.kill('SIGINT');
  const { signal } = await ended;
  assert.equal(signal, 'SIGINT', stderr);
  assert.deepEqual(fs.readdirSync(outDir), ['tasks.jsonl']);
  assert.equal(fs.readFileSync(out, 'utf8'), 'previous\n');
  // Its git processes (log, cat-file) end with it: they read the repo, and nothing reads them any more.
  const left = () => processes().filter((p) => p.cmdline.includes(f.dir)).map((p) => p.cmdline);
  for (let i = 0; i < 500 && left().length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(left(), [], 'a process on the repo outlived pr-rl');
});

test('a hostile repository runs nothing: hooks, fsmonitor, pager, external diff, textconv and filter drivers in its config, shell syntax in its path', async () => {
  const base = tmpDir();
  const marker = path.join(base, 'ran');
  const evil = path.join(base, 'evil.sh');
  fs.writeFileSync(evil, `#!/bin/sh\necho "$0 $*" >> '${marker}'\ncat\n`, { mode: 0o755 });
  // A folder name that a shell would run: if any of it ran, a pwned file appears.
  const f = fixture(path.join(base, 'repo $(touch pwned1) `touch pwned2`; touch pwned3 & touch pwned4'));
  f.write('.gitattributes', '* diff=evil filter=evil\n');
  f.write('src/a.py', 'def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n');
  f.write('src/b.py', 'from src.a import add\n\nprint(add(1, 2))\n');
  const head0 = f.commit('Add the calculator');
  f.write('src/a.py', 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n');
  f.commit('Fix add: it subtracted');
  // Armed only now (the fixture's own commits ran nothing): every knob that runs a program.
  const hooks = path.join(base, 'hooks');
  fs.mkdirSync(hooks);
  for (const h of ['pre-commit', 'post-checkout', 'post-merge', 'pre-push', 'post-rewrite', 'reference-transaction', 'pre-auto-gc', 'post-index-change', 'fsmonitor-watchman']) {
    fs.copyFileSync(evil, path.join(hooks, h));
    fs.chmodSync(path.join(hooks, h), 0o755);
  }
  for (const [k, v] of [['core.hooksPath', hooks], ['core.fsmonitor', evil], ['core.pager', evil], ['pager.log', evil], ['diff.external', evil],
    ['diff.evil.textconv', evil], ['diff.evil.command', evil], ['filter.evil.clean', evil], ['filter.evil.smudge', evil], ['filter.evil.process', evil]])
    execFileSync('git', ['-C', f.dir, 'config', k, v], { env: gitEnv() });
  // The trap works: plain git runs the textconv driver for `log -p` and the fsmonitor hook for `status`.
  execFileSync('git', ['-C', f.dir, 'log', '-p'], { env: gitEnv(), stdio: 'ignore' });
  execFileSync('git', ['-C', f.dir, 'status'], { env: gitEnv(), stdio: 'ignore' });
  assert.ok(fs.existsSync(marker), 'the hostile config runs programs under plain git');
  fs.rmSync(marker);

  const out = path.join(base, 'out');
  fs.mkdirSync(out);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: out, encoding: 'utf8', env: { ...process.env, PAGER: evil, GIT_PAGER: evil } });
  const mined = cli('mine', f.dir, '--out', 'tasks.jsonl');
  assert.equal(mined.status, 0, mined.stderr);
  assert.doesNotMatch(mined.stderr, /\r/, 'no progress bar when stderr is not a TTY');
  assert.match(mined.stderr, /^mine: 2 commits → tasks\.jsonl: kept 1, dropped 1 \(root-commit 1\)/m, 'the summary line');
  assert.equal(fs.readFileSync(path.join(out, 'tasks.jsonl'), 'utf8').trim().split('\n').length, 1);
  const synth = cli('synth', f.dir, '--out', 'synth.jsonl', '--count', '3');
  assert.equal(synth.status, 0, synth.stderr);
  fs.writeFileSync(path.join(out, 'records.jsonl'), JSON.stringify({ instance_id: 'i', repo: 'o/r', base_commit: head0, problem_statement: 'add subtracts',
    patch: '--- a/src/a.py\n+++ b/src/a.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n' }) + '\n');
  const imported = cli('import', 'records.jsonl', '--repo', f.dir, '--out', 'imported.jsonl');
  assert.equal(imported.status, 0, imported.stderr);
  assert.equal(fs.readFileSync(path.join(out, 'imported.jsonl'), 'utf8').trim().split('\n').length, 1);
  // The records file, or a folder, as --out: refused before any work, nothing replaced.
  const records = fs.readFileSync(path.join(out, 'records.jsonl'), 'utf8');
  const onInput = cli('import', 'records.jsonl', '--repo', f.dir, '--out', './records.jsonl');
  assert.equal(onInput.status, 1);
  assert.equal(onInput.stderr, 'pr-rl: --out ./records.jsonl is the <records> file; give another file to write\n');
  assert.equal(fs.readFileSync(path.join(out, 'records.jsonl'), 'utf8'), records);
  for (const cmd of [['mine', f.dir], ['synth', f.dir], ['import', 'records.jsonl', '--repo', f.dir]]) {
    for (const [o, msg] of [[base, /^pr-rl: --out .* is a folder; give a file to write\n$/], ['newdir/', /^pr-rl: --out newdir\/ is a folder; give a file to write\n$/], ['', /^pr-rl: --out is empty; give a file to write\n$/]] as const) {
      const r = cli(...cmd, '--out', o);
      assert.equal(r.status, 1, cmd.join(' '));
      assert.match(r.stderr, msg, cmd.join(' '));
    }
  }
  assert.ok(!fs.existsSync(path.join(out, 'newdir')), 'refused before any work: no folder made');
  assert.ok(!fs.existsSync(marker), `pr-rl ran a program the repository configured: ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''}`);
  for (const d of [base, out, f.dir, process.cwd()]) assert.deepEqual(fs.readdirSync(d).filter((n) => n.startsWith('pwned')), [], d);
});

test("a signed history with log.showSignature and gpg.program, and a partial clone with core.sshCommand: mine and synth run neither; the partial clone is one line", () => {
  const base = tmpDir();
  const marker = path.join(base, 'ran');
  const evil = path.join(base, 'evil.sh');
  fs.writeFileSync(evil, `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
  const f = fixture();
  f.write('m.py', 'def inc(a):\n    return a + 1\n');
  f.commit('Add inc');
  f.write('m.py', 'def inc(a):\n    return a + 2\n');
  f.commit('Fix inc');
  // A commit with a (fake) signature on top, which `git log` checks through gpg.program when log.showSignature is set.
  const tree = f.git('rev-parse', 'HEAD^{tree}');
  const signed = `tree ${tree}\nparent ${f.git('rev-parse', 'HEAD')}\nauthor Ada <ada@example.com> 1700000000 +0000\ncommitter Ada <ada@example.com> 1700000000 +0000\n` +
    'gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEz\n -----END PGP SIGNATURE-----\n\nSigned release\n';
  const sha = execFileSync('git', ['-C', f.dir, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: signed, env: gitEnv(), encoding: 'utf8' }).trim();
  f.git('update-ref', 'HEAD', sha);
  f.git('config', 'gpg.program', evil);
  f.git('config', 'log.showSignature', 'true');
  execFileSync('git', ['-C', f.dir, 'log', '-1'], { env: gitEnv(), stdio: 'ignore' });
  assert.ok(fs.existsSync(marker), 'plain git runs gpg.program here');
  fs.rmSync(marker);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  for (const cmd of ['mine', 'synth']) {
    const r = cli(cmd, f.dir, '--out', path.join(base, `${cmd}.jsonl`));
    assert.equal(r.status, 0, r.stderr);
  }
  assert.ok(!fs.existsSync(marker), 'gpg.program ran');

  // A blob-less partial clone whose remote is reached through the repository's own core.sshCommand.
  f.git('config', 'uploadpack.allowFilter', 'true');
  const clone = path.join(base, 'partial');
  execFileSync('git', ['clone', '-q', '--no-checkout', '--filter=blob:none', `file://${f.dir}`, clone], { env: gitEnv(), stdio: 'ignore' });
  execFileSync('git', ['-C', clone, 'config', 'remote.origin.url', 'ssh://example.invalid/x.git'], { env: gitEnv() });
  execFileSync('git', ['-C', clone, 'config', 'core.sshCommand', evil], { env: gitEnv() });
  for (const cmd of [['mine', clone, '--on-bad-line', 'skip'], ['synth', clone]]) {
    const r = cli(cmd[0], ...cmd.slice(1), '--out', path.join(base, 'partial.jsonl'));
    assert.equal(r.status, 1, cmd.join(' '));
    assert.equal(r.stderr, `pr-rl: ${clone}: a partial clone (its blobs are fetched on demand, and pr-rl never fetches); clone it again without --filter\n`);
  }
  assert.ok(!fs.existsSync(marker), `the partial clone's core.sshCommand ran: ${fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : ''}`);
  assert.ok(!fs.existsSync(path.join(base, 'partial.jsonl')));
});

test('a history in Latin-1 (i18n.commitEncoding) is mined as text: git re-encodes messages and names to UTF-8', async () => {
  const f = fixture();
  f.git('config', 'i18n.commitEncoding', 'ISO-8859-1');
  f.write('a.py', 'a = 1\n');
  f.commit('Add a');
  f.write('a.py', 'a = 2\n');
  const msg = path.join(f.dir, '..', `msg-${path.basename(f.dir)}`);
  fs.writeFileSync(msg, Buffer.from('Caf\xe9 fix: a is 2\n', 'latin1'));
  execFileSync('git', ['-C', f.dir, 'commit', '-qa', '-F', msg], { env: gitEnv({ GIT_AUTHOR_NAME: Buffer.from('Jos\xe9', 'latin1').toString('latin1') }) });
  const r = await mine([f.dir], { maxCommits: 0 });
  assert.deepEqual(r.tasks.map((t) => t.text), ['Café fix: a is 2']);
});

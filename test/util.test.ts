// Run: node --import tsx --test test/util.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../src/util/rng.ts';
import { JsonlWriter, forEachLine, makeDir, probeWritable, readJson, readJsonl, writeFileAtomic, writeJsonlAtomic } from '../src/util/fsx.ts';
import { JsonlThreadWriter } from '../src/util/jsonlthread.ts';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { UserError } from '../src/util/errors.ts';
import { tempDir } from './helpers/tmp.ts';
import { Progress, fmtDuration } from '../src/util/progress.ts';

test('rng: same seed same stream, restored state continues exactly', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  const saved = a.state();
  const xs = [a.next(), a.next(), a.int(100)];
  const c = new Rng(saved);
  assert.deepEqual([c.next(), c.next(), c.int(100)], xs);
  assert.notEqual(new Rng(1).nextU32(), new Rng(2).nextU32());
});

test('jsonl: a line its check refuses is a bad line too (its line number, skip or stop); a folder or a missing file is one UserError', async () => {
  const { readTasks } = await import('../src/data/task.ts');
  const dir = tempDir('prrl-');
  const f = path.join(dir, 't.jsonl');
  const task = { id: 'a', repo: 'r', base: 'b', source: 'commit', text: 'fix', changes: [{ path: 'x', old: '1', new: '2' }], context: [], stats: {} };
  fs.writeFileSync(f, `${JSON.stringify(task)}\n\n\n{"id":"y"}\n${JSON.stringify({ ...task, id: 'c' })}\n`);
  await assert.rejects(readTasks(f, 'stop'), (e: Error) => e instanceof UserError && /t\.jsonl:4: not a task record \(missing text\) \(use --on-bad-line skip/.test(e.message));
  // A command without --on-bad-line (train, eval, …) is not told to use it.
  await assert.rejects(readTasks(f), (e: Error) => e instanceof UserError && e.message === `${f}:4: not a task record (missing text)`);
  const warnings: string[] = [];
  const check = (x: unknown, where: string) => { if (!(x as { text?: string }).text) throw new UserError(`${where}: no text`); return x; };
  assert.deepEqual(readJsonl(f, { onBadLine: 'skip', warn: (m) => warnings.push(m), check }).map((t) => (t as { id: string }).id), ['a', 'c']);
  assert.deepEqual(warnings, [`${f}:4: no text`]);
  assert.deepEqual((await readTasks(f, 'skip')).map((t) => t.id), ['a', 'c']);
  assert.throws(() => readJsonl(dir), (e: Error) => e instanceof UserError && e.message === `${dir}: a folder, not a file`);
  assert.throws(() => readJsonl(path.join(dir, 'nope.jsonl')), (e: Error) => e instanceof UserError && /nope\.jsonl: no such file/.test(e.message));
});

test('forEachLine: the lines of String.split, whatever the chunk size (multi-byte characters and long lines cut across chunks)', () => {
  const dir = tempDir('prrl-');
  const f = path.join(dir, 'lines.txt');
  const rng = new Rng(3);
  const pieces = ['a', 'é', '漢', '😀', '\r', ' ', '{"x":1}', 'z'.repeat(40)];
  for (let round = 0; round < 40; round++) {
    const lines = Array.from({ length: rng.int(12) }, () => Array.from({ length: rng.int(8) }, () => rng.pick(pieces)).join(''));
    const text = lines.join('\n') + (rng.next() < 0.5 ? '\n' : '');
    fs.writeFileSync(f, text);
    const want = text === '' ? [] : text.split('\n');
    if (text.endsWith('\n')) want.pop(); // the newline ends the last line; no empty line after it
    for (const chunk of [1, 2, 3, 5, 16, 1 << 20]) {
      const got: [string, number][] = [];
      forEachLine(f, (l, n) => got.push([l, n]), chunk);
      assert.deepEqual(got, want.map((l, i) => [l, i + 1]), `chunk ${chunk}: ${JSON.stringify(text)}`);
    }
  }
  // A FIFO (`<(zcat tasks.jsonl.gz)`) has no size: read in chunks all the same (it was read a byte at a time, each
  // joined to the line so far: minutes for a few MB), lines as from the file.
  const big = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, text: 'é'.repeat(i % 700) })).join('\n') + '\n';
  fs.writeFileSync(f, big);
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', f, fifo]);
  const got: string[] = [];
  forEachLine(fifo, (l) => got.push(l));
  assert.deepEqual(got, big.trimEnd().split('\n'));
  writer.kill();
  // probeWritable tries a path without leaving anything behind, not even the folders it is to go in.
  probeWritable(path.join(dir, 'new', 'deeper', 'out.json'));
  assert.ok(!fs.existsSync(path.join(dir, 'new')));
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('probe')), []);
  if (process.platform === 'linux') assert.throws(() => probeWritable('/sys/pr-rl/out.json'), (e: Error) => e instanceof UserError && /^cannot write \/sys\/pr-rl\/out\.json \(/.test(e.message));
  // A BOM'd JSON file reads as JSON (an editor may write one).
  fs.writeFileSync(f, '\ufeff{"format":"x"}');
  assert.deepEqual(readJson(f), { format: 'x' });
  // Not JSON: one line, though V8's message quotes the text around the fault, newlines and all.
  fs.writeFileSync(f, '# title\nline two\n');
  assert.throws(() => readJson(f), (e: Error) => e instanceof UserError && e.message.startsWith(`${f}: not valid JSON (`) && !e.message.includes('\n'));
  const cli = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'pr-rl.js'), 'compare', f, f], { encoding: 'utf8' });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /^pr-rl: .*not valid JSON \(.*\\n.*\)\n$/);
});

test('jsonl: bad line reported with its number; skip policy keeps the rest', async () => {
  const dir = tempDir('prrl-');
  const f = path.join(dir, 'x.jsonl');
  fs.writeFileSync(f, '{"a":1}\n{oops\n\n{"a":3}\n');
  assert.throws(() => readJsonl(f), (e: Error) => e instanceof UserError && /x\.jsonl:2: not valid JSON/.test(e.message));
  const warnings: string[] = [];
  assert.deepEqual(readJsonl(f, { onBadLine: 'skip', warn: (m) => warnings.push(m) }), [{ a: 1 }, { a: 3 }]);
  assert.equal(warnings.length, 1);
  await writeJsonlAtomic(f, [{ b: 2 }]);
  assert.deepEqual(readJsonl(f), [{ b: 2 }]);
  assert.deepEqual(fs.readdirSync(dir), ['x.jsonl']);
});

test('JsonlThreadWriter: the same bytes as JsonlWriter, in order, only at close; waits when behind; abort, a failure and Ctrl-C leave the old file', { timeout: 120_000 }, async () => {
  const dir = tempDir('prrl-');
  const f = path.join(dir, 'out.jsonl');
  const g = path.join(dir, 'sync.jsonl');
  fs.writeFileSync(f, 'old\n');
  const rng = new Rng(5);
  const records = Array.from({ length: 3000 }, (_, i) => ({ i, text: 'line "q"\n\tü\u2028'.repeat(rng.int(2000)), n: [1.5, null, true], nested: { a: undefined, b: 'x' } }));
  const w = new JsonlThreadWriter(f);
  let waited = 0;
  for (const r of records) { const p = w.write(r); if (p) { waited++; await p; } }
  assert.equal(fs.readFileSync(f, 'utf8'), 'old\n', 'not renamed before close');
  await w.close();
  await writeJsonlAtomic(g, records);
  assert.ok(fs.readFileSync(f).equals(fs.readFileSync(g)), 'byte for byte what JsonlWriter writes');
  assert.equal(w.count, 3000);
  assert.ok(waited > 0, 'the writer asked the caller to wait at least once');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['out.jsonl', 'sync.jsonl']);
  // Writes that do not wait in between: every promise handed out settles.
  const g2 = path.join(dir, 'nowait.jsonl');
  const n = new JsonlThreadWriter(g2);
  const waits = records.map((r) => n.write(r)).filter(Boolean);
  assert.ok(waits.length > 1, `${waits.length} waits`);
  await Promise.all(waits);
  await n.close();
  assert.ok(fs.readFileSync(g2).equals(fs.readFileSync(g)));
  fs.rmSync(g2);
  // abort: the old file stays, no temp file.
  const a = new JsonlThreadWriter(f);
  a.write({ gone: true });
  a.abort();
  // A record that has no JSON (a BigInt): write() fails with one line, the old file stays.
  const b = new JsonlThreadWriter(f);
  assert.throws(() => { for (let i = 0; i < 40; i++) b.write({ i, big: i === 5 ? 10n : i }); }, /cannot write .*out\.jsonl \(.*BigInt/);
  b.abort();
  assert.equal(readJsonl(f).length, 3000);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['out.jsonl', 'sync.jsonl']);
  // SIGINT while writing: the process dies of it, and the temp file goes with it.
  const mod = new URL('../src/util/jsonlthread.ts', import.meta.url).href;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    `const { JsonlThreadWriter } = await import(${JSON.stringify(mod)}); const w = new JsonlThreadWriter(${JSON.stringify(f)}); for (let i = 0; i < 100; i++) w.write({ i }); process.kill(process.pid, 'SIGINT'); setTimeout(() => {}, 10000);`],
  { encoding: 'utf8', timeout: 30000 });
  assert.equal(child.signal, 'SIGINT', child.stderr);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['out.jsonl', 'sync.jsonl']);
  assert.equal(readJsonl(f).length, 3000);
});

test('JsonlThreadWriter: long strings repeated across records (sent once while kept, forgotten past the bound) and JSON\'s corner cases come out as JSON.stringify writes them', async () => {
  const dir = tempDir('prrl-');
  const rng = new Rng(9);
  const word = () => rng.pick(['a', 'é', '"', '\\', '\n', '\u2028', '\ud800', '\udc00x', '😀', '\u0001', ' ']);
  const long = Array.from({ length: 40 }, (_, i) => Array.from({ length: 200 + rng.int(3000) }, word).join('') + i);
  const records = Array.from({ length: 2000 }, (_, i) => ({
    i,
    files: Array.from({ length: rng.int(5) }, () => ({ path: rng.pick(long).slice(0, 300 + rng.int(50)), text: rng.pick(long) })),
    copy: rng.pick(long).slice(0), // equal content, maybe another string
    short: word() + word(),
    odd: [undefined, () => 1, NaN, -0, 1e21, new Date(i * 1e9), { toJSON: (k: string) => `key ${k}` }, , Symbol('s'), new String('boxed'), new Number(2), new Boolean(false), new Map([[1, 2]])],
    toJSONs: { gone: { toJSON: () => undefined }, inner: { toJSON: () => ({ toJSON: () => 'not called', n: new Number(3) }) }, boxed: { toJSON: () => new String('b') } },
    [Symbol('hidden')]: 'x',
    10: 'an integer key, first in both',
    gone: undefined,
    'k"\n': { deep: [[rng.pick(long)]] },
  }));
  const want = path.join(dir, 'want.jsonl');
  await writeJsonlAtomic(want, records);
  for (const keptChars of [0, 20_000, 16_000_000]) {
    const f = path.join(dir, `got-${keptChars}.jsonl`);
    const w = new JsonlThreadWriter(f, keptChars);
    for (const r of records) await w.write(r);
    await w.close();
    assert.ok(fs.readFileSync(f).equals(fs.readFileSync(want)), `kept ${keptChars}: byte for byte what JSON.stringify writes`);
  }
});

test('writers fail with one line where the file cannot be written (a folder that is a file, a file that is a folder), leaving no temp file', async () => {
  const dir = tempDir('prrl-');
  fs.writeFileSync(path.join(dir, 'plain'), 'x');
  const under = path.join(dir, 'plain', 'out.jsonl'); // its folder is a file
  const line = /^cannot write .*plain\/out\.jsonl \((E[A-Z]+: |.*plain is a file, not a folder\))/;
  assert.throws(() => writeFileAtomic(under, 'x'), (e: Error) => e instanceof UserError && line.test(e.message));
  await assert.rejects(writeJsonlAtomic(under, [{ a: 1 }]), (e: Error) => e instanceof UserError && line.test(e.message));
  assert.throws(() => new JsonlThreadWriter(under), (e: Error) => e instanceof UserError && line.test(e.message));
  // The target is a folder: the temp file is written, the rename fails, the temp file goes.
  fs.mkdirSync(path.join(dir, 'taken'));
  fs.writeFileSync(path.join(dir, 'taken', 'inside'), 'x');
  assert.throws(() => writeFileAtomic(path.join(dir, 'taken'), 'x'), (e: Error) => e instanceof UserError && /^cannot write .*taken \(E[A-Z]+/.test(e.message));
  const w = new JsonlThreadWriter(path.join(dir, 'taken'));
  w.write({ a: 1 });
  await assert.rejects(w.close(), (e: Error) => e instanceof UserError && /^cannot write .*taken \(E[A-Z]+/.test(e.message));
  w.abort();
  assert.deepEqual(fs.readdirSync(dir).sort(), ['plain', 'taken']);
});

test('makeDir: makes the missing folders; where one cannot be made, the error is the real reason, not the ENOENT of Node\'s recursive mkdir', () => {
  const dir = tempDir('prrl-');
  makeDir(path.join(dir, 'a', 'b', 'c'));
  makeDir(path.join(dir, 'a', 'b', 'c')); // there already: nothing to do
  assert.ok(fs.statSync(path.join(dir, 'a', 'b', 'c')).isDirectory());
  // A read-only mount as Node 20 meets it: the recursive call says ENOENT, a single mkdir says EROFS.
  const ro = path.join(dir, 'ro');
  const asked: string[] = [];
  const mkdir = (d: string, o?: { recursive: true }) => {
    asked.push(`${o ? '-p ' : ''}${path.relative(dir, d)}`);
    const e = Object.assign(new Error(o ? `ENOENT: no such file or directory, mkdir '${d}'` : `EROFS: read-only file system, mkdir '${d}'`), { code: o ? 'ENOENT' : 'EROFS' });
    throw e;
  };
  assert.throws(() => makeDir(path.join(ro, 'x', 'y'), mkdir), (e: NodeJS.ErrnoException) => e.code === 'EROFS' && e.message.includes(`mkdir '${ro}'`));
  assert.deepEqual(asked, ['-p ro/x/y', 'ro']); // the highest missing folder, alone
  // A folder under a file: not ENOENT, passed on as it is.
  fs.writeFileSync(path.join(dir, 'f'), 'x');
  assert.throws(() => makeDir(path.join(dir, 'f', 'g')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' || e.code === 'EEXIST');
});

test('JsonlWriter: records land only at close (past its write buffer too); abort, errors and Ctrl-C leave the old file and no temp file', () => {
  const dir = tempDir('prrl-');
  const f = path.join(dir, 'out.jsonl');
  fs.writeFileSync(f, 'old\n');
  const big = 'x'.repeat(300_000);
  const w = new JsonlWriter(f);
  for (let i = 0; i < 8; i++) w.write({ i, big }); // several flushes to the temp file
  assert.equal(fs.readFileSync(f, 'utf8'), 'old\n', 'not renamed before close');
  w.close();
  assert.deepEqual(readJsonl<{ i: number }>(f).map((r) => r.i), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(w.count, 8);
  const a = new JsonlWriter(f);
  a.write({ gone: true });
  a.abort();
  assert.equal(readJsonl(f).length, 8);
  assert.deepEqual(fs.readdirSync(dir), ['out.jsonl']);
  // SIGINT (Ctrl-C), SIGTERM or SIGHUP (the terminal closed) in the middle of a write: the process dies of
  // it, and the temp file goes with it.
  const mod = new URL('../src/util/fsx.ts', import.meta.url).href;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      `const { JsonlWriter } = await import(${JSON.stringify(mod)}); const w = new JsonlWriter(${JSON.stringify(f)}); w.write({ a: 1 }); process.kill(process.pid, '${sig}'); setTimeout(() => {}, 10000);`],
    { encoding: 'utf8', timeout: 30000 });
    assert.equal(child.signal, sig, child.stderr);
    assert.deepEqual(fs.readdirSync(dir), ['out.jsonl'], `${sig} left the temp file`);
    assert.equal(readJsonl(f).length, 8);
  }
  // SIGINT the moment the temp file exists (fs.openSync wrapped to raise it): a handler is already there.
  const raceChild = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    `import fs from 'node:fs'; import { syncBuiltinESMExports } from 'node:module';
     const open = fs.openSync; fs.openSync = (p, ...a) => { const fd = open(p, ...a); if (String(p).includes('.tmp-')) process.kill(process.pid, 'SIGINT'); return fd; }; syncBuiltinESMExports();
     const { JsonlWriter } = await import(${JSON.stringify(mod)}); new JsonlWriter(${JSON.stringify(f)}); setTimeout(() => {}, 10000);`],
  { encoding: 'utf8', timeout: 30000 });
  assert.equal(raceChild.signal, 'SIGINT', raceChild.stderr);
  assert.deepEqual(fs.readdirSync(dir), ['out.jsonl'], 'a signal right after the temp file was made left it behind');
});

test('Progress: on a TTY a bar redrawn in place (at most every 100 ms, always at the end) and cleared by done(); elsewhere nothing, and the total is never counted', () => {
  const written: string[] = [];
  const write = process.stderr.write;
  const now = Date.now;
  let clock = 1_000_000; // Progress reads Date.now: a clock of our own, so that no timing is asserted
  process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
  Date.now = () => clock;
  try {
    let counted = 0;
    const off = new Progress('mine r', () => { counted++; return 10; }, false);
    off.tick(5);
    off.done();
    assert.deepEqual(written, []);
    assert.equal(counted, 0, 'the total is not counted when no bar is shown');
    const on = new Progress('mine r', () => { counted++; return 10; }, true);
    assert.equal(counted, 1);
    on.tick(1, '1 kept');
    clock += 99;
    on.tick(2); // within 100 ms of the last: not drawn
    clock += 101;
    on.tick(5);
    on.tick(10, '7 kept'); // the last one is drawn however soon
    on.done();
  } finally {
    process.stderr.write = write;
    Date.now = now;
  }
  assert.deepEqual(written, [
    '\rmine r [##......................] 1/10 0.0s eta 0.0s 1 kept\x1b[K',
    '\rmine r [############............] 5/10 0.2s eta 0.2s \x1b[K',
    '\rmine r [########################] 10/10 0.2s eta 0.0s 7 kept\x1b[K',
    '\r\x1b[K',
  ]);
  assert.deepEqual([fmtDuration(3.21), fmtDuration(42), fmtDuration(125), fmtDuration(7260), fmtDuration(Infinity)], ['3.2s', '42s', '2m05s', '2h01m', '?']);
});

test('stopOnSignal: the first Ctrl-C is heard; a second one in the same turn of the event loop ends the process by SIGINT (not lost)', async () => {
  const errors = new URL('../src/util/errors.ts', import.meta.url).href;
  // The child holds its event loop for 1.5 s; both signals arrive inside that, 100 ms apart (sent back to
  // back the kernel would merge them), and are handed to the handler in one turn.
  const script = `import { stopOnSignal } from ${JSON.stringify(errors)};
    stopOnSignal((s) => process.stderr.write('heard ' + s + '\\n'));
    process.stderr.write('ready\\n');
    const t = Date.now(); while (Date.now() - t < 1500) {}
    setTimeout(() => process.stderr.write('alive\\n'), 500);`;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b;
    if (!sent && stderr.includes('ready')) { sent = true; child.kill('SIGINT'); setTimeout(() => child.kill('SIGINT'), 100); }
  });
  const signal = await new Promise((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGINT', stderr);
  assert.match(stderr, /heard SIGINT/);
  assert.doesNotMatch(stderr, /alive/, 'the second Ctrl-C was lost');
});

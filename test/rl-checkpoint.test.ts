// Run: node --import tsx --test test/rl-checkpoint.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CKPT_FORMAT_VERSION, checkpointProblem, listCheckpoints, loadCheckpoint, loadLatestCheckpoint, saveCheckpoint, type TensorData } from '../src/rl/checkpoint.ts';
import { UserError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { tempDir } from './helpers/tmp.ts';
import { countReads } from './helpers/fsreads.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmpRun = () => tempDir('prrl-ckpt-');
const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

function content(step: number) {
  const rng = new Rng(step);
  const tensors: Record<string, TensorData> = {
    'model.embed_tokens.weight': { shape: [5, 3], data: Float32Array.from({ length: 15 }, () => rng.normal()) },
    'model.norm.weight': { shape: [3], data: Float32Array.from([1, -0, 1e-30]) },
    'adamw.m.0': { shape: [2, 2], data: Float32Array.from([Math.PI, -Math.E, 3.4e38, 1.4e-45]) },
  };
  const state = { step, cursor: step * 4, rng: rng.state(), config: { lr: 3e-4, loss: 'dapo' }, rewardEma: 0.1 + step / 3 };
  return { tensors, state };
}

const names = (run: string) => fs.readdirSync(run).sort();

test('checkpoint: save → latest → load round-trips tensors bit for bit and state exactly; keepLast prunes', () => {
  const run = tmpRun();
  for (const step of [1, 2, 3]) saveCheckpoint(run, step, content(step), 2);
  assert.deepEqual(names(run), ['ckpt-000002', 'ckpt-000003']);
  const latest = loadLatestCheckpoint(run)!;
  assert.deepEqual([latest.dir, latest.step], [path.join(run, 'ckpt-000003'), 3]);
  assert.deepEqual(latest, loadCheckpoint(latest.dir));
  const ck = loadCheckpoint(latest.dir);
  const want = content(3);
  assert.equal(ck.step, 3);
  assert.equal(ck.meta.formatVersion, CKPT_FORMAT_VERSION);
  assert.deepEqual(ck.state, want.state);
  assert.deepEqual(Object.keys(ck.tensors), Object.keys(want.tensors));
  for (const [k, t] of Object.entries(want.tensors)) {
    assert.deepEqual(ck.tensors[k].shape, t.shape);
    assert.ok(bits(ck.tensors[k].data).equals(bits(t.data)), k); // −0, denormals, 3.4e38 kept exactly
  }
  assert.deepEqual(fs.readdirSync(latest!.dir).sort(), ['DONE', 'meta.json', 'state.json', 'tensors.safetensors']);
  fs.rmSync(run, { recursive: true, force: true });
});

test('checkpoint: re-saving a step replaces it; an empty or missing run dir has no checkpoint', () => {
  const run = tmpRun();
  assert.equal(loadLatestCheckpoint(run), null);
  assert.equal(loadLatestCheckpoint(path.join(run, 'nope')), null);
  saveCheckpoint(run, 7, content(1), 3);
  saveCheckpoint(run, 7, content(2), 3);
  assert.deepEqual(names(run), ['ckpt-000007']);
  assert.deepEqual(loadCheckpoint(path.join(run, 'ckpt-000007')).state, content(2).state);
  fs.rmSync(run, { recursive: true, force: true });
});

test('checkpoint: interrupted writes are ignored and the previous complete one is used', () => {
  const run = tmpRun();
  saveCheckpoint(run, 10, content(10), 5);
  saveCheckpoint(run, 20, content(20), 5);
  const c20 = path.join(run, 'ckpt-000020');
  const warnings: string[] = [];
  // What a resume reads: the newest usable checkpoint, its state whole, each skipped folder said once.
  const latest = () => {
    const loaded = loadLatestCheckpoint(run, (m) => warnings.push(m));
    if (loaded) assert.deepEqual(loaded.state, content(loaded.step).state);
    return loaded?.step;
  };

  // 1. a temp folder (crash before the rename), even a fully written one, is never a checkpoint
  fs.cpSync(c20, path.join(run, '.tmp-ckpt-000030'), { recursive: true });
  assert.equal(latest(), 20);

  // 2. a ckpt- folder without its DONE marker
  fs.cpSync(c20, path.join(run, 'ckpt-000030'), { recursive: true });
  fs.rmSync(path.join(run, 'ckpt-000030', 'DONE'));
  assert.equal(latest(), 20);
  assert.match(warnings.at(-1)!, /ckpt-000030 skipped: no DONE marker/);

  // 3. without meta.json
  fs.cpSync(c20, path.join(run, 'ckpt-000040'), { recursive: true });
  fs.rmSync(path.join(run, 'ckpt-000040', 'meta.json'));
  assert.equal(latest(), 20);

  // 4. the newest one's tensor file truncated: the one before is used
  const t20 = path.join(c20, 'tensors.safetensors');
  const full = fs.readFileSync(t20);
  fs.truncateSync(t20, full.length - 7);
  assert.equal(latest(), 10);
  assert.match(warnings.at(-1)!, /ckpt-000020 skipped: tensors\.safetensors has \d+ bytes, expected \d+/);
  assert.throws(() => loadCheckpoint(c20), (e: Error) => e instanceof UserError && /not a usable checkpoint/.test(e.message));

  // 5. same size but a flipped byte: caught by the checksum
  const flipped = Buffer.from(full);
  flipped[flipped.length - 1] ^= 0x40;
  fs.writeFileSync(t20, flipped);
  assert.equal(checkpointProblem(c20), null); // the cheap check cannot see it: the checksum is checked on reading
  assert.equal(latest(), 10);
  assert.throws(() => loadCheckpoint(c20), /sha256 mismatch/);

  // 6. meta.json from a newer format, or garbage
  fs.writeFileSync(t20, full);
  assert.equal(latest(), 20);
  const meta = path.join(c20, 'meta.json');
  const m = JSON.parse(fs.readFileSync(meta, 'utf8'));
  fs.writeFileSync(meta, JSON.stringify({ ...m, formatVersion: CKPT_FORMAT_VERSION + 1 }));
  assert.match(checkpointProblem(c20)!, /newer than this pr-rl/);
  fs.writeFileSync(meta, '{"formatVer');
  assert.equal(latest(), 10);
  // JSON that is no object, or a file entry without its size and hash: skipped too, never a TypeError.
  fs.writeFileSync(meta, 'null');
  assert.equal(checkpointProblem(c20), 'meta.json is not a JSON object');
  assert.equal(latest(), 10);
  fs.writeFileSync(meta, JSON.stringify({ ...m, files: { ...m.files, 'extra.bin': null } }));
  assert.equal(checkpointProblem(c20), 'meta.json: no size and sha256 for extra.bin');
  assert.throws(() => loadCheckpoint(c20), (e: Error) => e instanceof UserError && /no size and sha256 for extra\.bin/.test(e.message));
  fs.writeFileSync(meta, '{"formatVer');

  // The next save (step 50) deletes the broken and temp leftovers that are older than it, keeps ckpt-10.
  saveCheckpoint(run, 50, content(50), 5);
  assert.deepEqual(names(run), ['ckpt-000010', 'ckpt-000050']);
  assert.equal(latest(), 50);
  assert.equal(listCheckpoints(run).length, 2);
  fs.rmSync(run, { recursive: true, force: true });
});

test('checkpoint: loadLatestCheckpoint reads and hashes the newest checkpoint\'s files once, and still refuses a damaged one', async () => {
  const run = tmpRun();
  saveCheckpoint(run, 1, content(1), 5);
  saveCheckpoint(run, 2, content(2), 5);
  const tensorsOf = (step: number) => (f: string) => f.endsWith(path.join(`ckpt-00000${step}`, 'tensors.safetensors'));
  const { result, reads } = await countReads(tensorsOf(2), () => loadLatestCheckpoint(run));
  assert.equal(result?.step, 2);
  assert.deepEqual(bits(result!.tensors['adamw.m.0'].data), bits(content(2).tensors['adamw.m.0'].data));
  assert.equal(reads, 1, 'the newest tensors.safetensors read more than once');
  // Same size, one byte flipped: only the hash can tell; the step before is loaded, said so.
  const t2 = path.join(run, 'ckpt-000002', 'tensors.safetensors');
  const flipped = fs.readFileSync(t2);
  flipped[flipped.length - 1] ^= 0x40;
  fs.writeFileSync(t2, flipped);
  const warnings: string[] = [];
  const older = await countReads(tensorsOf(1), () => loadLatestCheckpoint(run, (m) => warnings.push(m)));
  assert.equal(older.result?.step, 1);
  assert.equal(older.reads, 1);
  assert.deepEqual(warnings, [`checkpoint ${path.join(run, 'ckpt-000002')} skipped: tensors.safetensors is damaged (sha256 mismatch)`]);
  fs.rmSync(run, { recursive: true, force: true });
});

test('checkpoint: a file where the checkpoints folder should be is one line', () => {
  const run = tmpRun();
  const file = path.join(run, 'checkpoints');
  fs.writeFileSync(file, 'x');
  assert.throws(() => loadLatestCheckpoint(file), (e: Error) => e instanceof UserError && e.message === `${file}: a file, where the run's checkpoints folder should be`);
});

test('checkpoint: bad input is refused before anything is written', () => {
  const run = tmpRun();
  assert.throws(() => saveCheckpoint(run, 1, { tensors: { x: { shape: [2, 2], data: new Float32Array(3) } }, state: {} }, 1), /3 values for shape \[2,2\]/);
  assert.throws(() => saveCheckpoint(run, 1, content(1), 0), /keepLast/);
  assert.throws(() => saveCheckpoint(run, -1, content(1), 1), /bad step/);
  assert.equal(loadLatestCheckpoint(run), null);
  assert.throws(() => loadCheckpoint(path.join(run, 'ckpt-000001')), UserError);
  fs.rmSync(run, { recursive: true, force: true });
});

test('checkpoint: a writer killed (SIGKILL) mid-write leaves the run resumable from a complete checkpoint', async () => {
  const run = tmpRun();
  saveCheckpoint(run, 1, content(1), 3);
  // The child writes 24 MB checkpoints in a loop; it is killed at some point inside one of them.
  const script = path.join(run, '..', `writer-${process.pid}.ts`);
  fs.writeFileSync(
    script,
    `import { saveCheckpoint } from ${JSON.stringify(path.join(ROOT, 'src/rl/checkpoint.ts'))};
     const big = new Float32Array(6 << 20).map((_, i) => i);
     process.stdout.write('ready\\n');
     for (let s = 2; ; s++) saveCheckpoint(${JSON.stringify(run)}, s, { tensors: { big: { shape: [big.length], data: big } }, state: { s } }, 3);`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 150 + Math.random() * 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(script, { force: true });

  const latest = loadLatestCheckpoint(run)!;
  assert.ok(latest, 'a complete checkpoint survives');
  const ck = loadCheckpoint<{ s?: number }>(latest.dir);
  if (latest.step > 1) {
    assert.equal(ck.state.s, latest.step);
    assert.equal(ck.tensors.big.data[12345], 12345);
  }
  // Whatever was half-written is ignored, and the next save cleans it up.
  saveCheckpoint(run, 1000, content(2), 1);
  assert.deepEqual(names(run), ['ckpt-001000']);
  fs.rmSync(run, { recursive: true, force: true });
});

// Run: node --import tsx --test test/model-optim.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipGradNorm, lrAt, packAdamW, sumAll, unpackAdamW } from '../src/model/optim.ts';
import { loadCheckpoint, saveCheckpoint } from '../src/rl/checkpoint.ts';
import { Rng } from '../src/util/rng.ts';
import { tempDir } from './helpers/tmp.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const closeAll = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = '') => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) close(a[i], b[i], tol, `${what}[${i}]`);
};
const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

test('AdamW: two steps against hand-computed numbers (bias correction, decoupled decay)', async () => {
  const p = tf.variable(tf.tensor2d([[1, -2]]));
  const opt = new AdamW([p], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  // step 1, g = [0.5, −1]: m = 0.1g = [0.05, −0.1], v = 0.001g² = [0.00025, 0.001];
  // m̂ = m/0.1 = g, √v̂ = √(v/0.001) = |g| → update ≈ sign(g) = [1, −1].
  // p ← p·(1 − 0.1·0.1) = [0.99, −1.98], then − 0.1·[1, −1] → [0.89, −1.88]
  const g1 = tf.tensor2d([[0.5, -1]]);
  opt.step([g1]);
  closeAll(await p.data(), [0.89, -1.88], 1e-6, 'step 1');
  // step 2, g = [0.25, 1]: m = 0.9·[0.05, −0.1] + 0.1·[0.25, 1] = [0.07, 0.01]
  // v = 0.999·[0.00025, 0.001] + 0.001·[0.0625, 1] = [0.00031225, 0.001999]
  // bc1 = 1 − 0.9² = 0.19, bc2 = 1 − 0.999² = 0.001999
  // update = (m/0.19) / √(v/0.001999) = [0.368421/0.395225, 0.0526316/1] = [0.932180, 0.0526316]
  // p ← [0.89, −1.88]·0.99 = [0.8811, −1.8612], − 0.1·update → [0.787882, −1.866463]
  const g2 = tf.tensor2d([[0.25, 1]]);
  opt.step([g2], 0.1);
  closeAll(await p.data(), [0.787882, -1.866463], 2e-6, 'step 2');
  assert.equal(opt.steps, 2);
  const st = await opt.state();
  closeAll(st.m[0], [0.07, 0.01], 1e-8, 'm');
  closeAll(st.v[0], [0.00031225, 0.001999], 1e-9, 'v');
  tf.dispose([p, g1, g2]);
  opt.dispose();
});

test('AdamW: weight decay is decoupled from the gradient (zero gradient still shrinks by lr·wd)', async () => {
  const p = tf.variable(tf.tensor2d([[1, -2]]));
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.1 });
  const g = tf.zeros([1, 2]);
  opt.step([g]);
  // decoupled: p·(1 − 0.01) = [0.99, −1.98]. Adam with L2 in the gradient would move by ≈ lr: [0.9, −1.9].
  closeAll(await p.data(), [0.99, -1.98], 1e-7);
  tf.dispose([p, g]);
  opt.dispose();
});

test('AdamW: by default only matrices decay; a variable with no gradient is untouched', async () => {
  const w = tf.variable(tf.tensor2d([[2]]), true, 'w');
  const gain = tf.variable(tf.tensor1d([2]), true, 'gain');
  const idle = tf.variable(tf.tensor2d([[5]]), true, 'idle');
  const opt = new AdamW([w, gain, idle], { lr: 0.1, weightDecay: 0.5 });
  const zero = { w: tf.zeros([1, 1]), gain: tf.zeros([1]) }; // no 'idle' key
  opt.step(zero);
  close((await w.data())[0], 2 * (1 - 0.05), 1e-7, 'w decays');
  close((await gain.data())[0], 2, 0, 'gain does not');
  close((await idle.data())[0], 5, 0, 'idle untouched');
  const all = new AdamW([gain], { lr: 0.1, weightDecay: 0.5, decays: () => true });
  all.step(new Map([['gain', zero.gain]]));
  close((await gain.data())[0], 2 * 0.95, 1e-7, 'custom decays');
  tf.dispose([w, gain, idle, ...Object.values(zero)]);
  opt.dispose();
  all.dispose();
  assert.throws(() => new AdamW([w], { lr: -1 }), /lr must be/);
});

function problem(seed: number) {
  const rng = new Rng(seed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return {
    shapes: [[4, 8], [8]] as number[][],
    init: [rand(32), rand(8)],
    grads: (k: number) => [rand(32).map((x) => x * (k + 1)), rand(8)],
  };
}

test('AdamW: two steps equal one step + state() → checkpoint → load() + one step, bit for bit', async () => {
  const pr = problem(7);
  const g1 = pr.grads(0);
  const g2 = pr.grads(1);
  const mk = (vals: Float32Array[]) => vals.map((v, i) => tf.variable(tf.tensor(v, pr.shapes[i])));
  const gt = (g: Float32Array[]) => g.map((v, i) => tf.tensor(v, pr.shapes[i]));

  const a = mk(pr.init);
  const optA = new AdamW(a, { lr: 1e-2, weightDecay: 0.1 });
  const [ga1, ga2] = [gt(g1), gt(g2)];
  optA.step(ga1, 1e-2);
  optA.step(ga2, 7e-3);

  const b = mk(pr.init);
  const optB = new AdamW(b, { lr: 1e-2, weightDecay: 0.1 });
  const gb1 = gt(g1);
  optB.step(gb1, 1e-2);
  const weights = await Promise.all(b.map(async (v) => ((await v.data()) as Float32Array).slice()));
  const st = await optB.state();
  const dir = tempDir('prrl-optim-');
  const tensors = { ...packAdamW(st, optB.shapes()), 'w.0': { shape: pr.shapes[0], data: weights[0] }, 'w.1': { shape: pr.shapes[1], data: weights[1] } };
  saveCheckpoint(dir, 1, { tensors, state: { adamStep: st.step } }, 2);
  optB.step(gb1, 123); // diverge B after saving: the restore must not depend on the live object

  const ck = loadCheckpoint<{ adamStep: number }>(path.join(dir, 'ckpt-000001'));
  const c = mk([ck.tensors['w.0'].data, ck.tensors['w.1'].data]);
  const optC = new AdamW(c, { lr: 1e-2, weightDecay: 0.1 });
  optC.load(unpackAdamW(ck.tensors, ck.state.adamStep));
  const gc2 = gt(g2);
  optC.step(gc2, 7e-3);

  for (let i = 0; i < 2; i++) assert.ok(bits((await a[i].data()) as Float32Array).equals(bits((await c[i].data()) as Float32Array)), `weights ${i}`);
  const [sa, sc] = [await optA.state(), await optC.state()];
  assert.equal(sa.step, sc.step);
  for (let i = 0; i < 2; i++) {
    assert.ok(bits(sa.m[i]).equals(bits(sc.m[i])), `m ${i}`);
    assert.ok(bits(sa.v[i]).equals(bits(sc.v[i])), `v ${i}`);
  }
  assert.throws(() => optC.load({ step: 1, m: [sa.m[0]], v: [sa.v[0]] }), /moments for 2 variables/);
  tf.dispose([...a, ...b, ...c, ...ga1, ...ga2, ...gb1, ...gc2]);
  [optA, optB, optC].forEach((o) => o.dispose());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('AdamW: tensor count flat across steps; it fits a tiny least-squares problem via variableGrads', async () => {
  const w = tf.variable(tf.zeros([2, 1]), true, 'lsq.w');
  const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const y = tf.tensor2d([[5], [11], [17]]); // w* = [1, 2]
  const opt = new AdamW([w], { lr: 0.1, weightDecay: 0 });
  const lossOf = () => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as tf.Scalar;
  let n0 = 0;
  for (let i = 0; i < 400; i++) {
    const { value, grads } = tf.variableGrads(lossOf);
    const { grads: clipped, norm } = clipGradNorm(grads, 10);
    opt.step(clipped);
    tf.dispose([value, norm, ...Object.values(grads), ...Object.values(clipped)]);
    if (i === 0) n0 = tf.memory().numTensors;
  }
  assert.equal(tf.memory().numTensors, n0);
  const final = lossOf();
  assert.ok((await final.data())[0] < 1e-2, 'loss from 145 to < 0.01'); // initial mean((0 − y)²) = 145
  final.dispose();
  tf.dispose([w, x, y]);
  opt.dispose();
});

test('clipGradNorm: global norm over all gradients, scaled only when above maxNorm, same container kind', async () => {
  const a = tf.tensor1d([3, 4]);
  const b = tf.tensor1d([12]); // global norm √(9 + 16 + 144) = 13
  const clipped = clipGradNorm({ a, b }, 6.5);
  close((await clipped.norm.data())[0], 13, 1e-6, 'norm');
  const f = 6.5 / (13 + 1e-6);
  closeAll(await clipped.grads.a.data(), [3 * f, 4 * f], 1e-6);
  closeAll(await clipped.grads.b.data(), [12 * f], 1e-6);
  closeAll(await a.data(), [3, 4], 0, 'input untouched');

  const under = clipGradNorm([a, null, b], 20);
  assert.equal(under.grads[1], null);
  closeAll(await under.grads[0]!.data(), [3, 4], 0);
  closeAll(await under.grads[2]!.data(), [12], 0);

  const asMap = clipGradNorm(new Map([['a', a]]), 1);
  assert.ok(asMap.grads instanceof Map);
  closeAll(await asMap.grads.get('a')!.data(), [0.6, 0.8], 1e-6);
  // maxNorm 0 (clipping off): the norm all the same (train logs it), the gradients as given.
  const off = clipGradNorm({ a, b }, 0);
  close((await off.norm.data())[0], 13, 1e-6, 'norm with clipping off');
  assert.equal(off.grads.a, a);
  tf.dispose([a, b, clipped.norm, under.norm, asMap.norm, off.norm, ...Object.values(clipped.grads), under.grads[0]!, under.grads[2]!, asMap.grads.get('a')!]);
});

test('lrAt: warm-up, cosine / linear decay to minLrFrac on the last step, constant', () => {
  const s = { warmup: 4, total: 13, lr: 1, minLrFrac: 0.1 }; // decay spans steps 4..12 (8 intervals)
  for (const kind of ['cosine', 'linear', 'constant'] as const) {
    close(lrAt(0, { ...s, kind }), 0.25, 1e-12, `${kind} warm-up 0`);
    close(lrAt(2, { ...s, kind }), 0.75, 1e-12, `${kind} warm-up 2`);
    close(lrAt(4, { ...s, kind }), 1, 1e-12, `${kind} peak`);
  }
  // step 6: p = 2/8 = 0.25. cosine: 0.1 + 0.9·0.5·(1 + cos(π/4)) = 0.868198; linear: 1 − 0.9·0.25 = 0.775
  close(lrAt(6, { ...s, kind: 'cosine' }), 0.1 + 0.45 * (1 + Math.SQRT1_2), 1e-12);
  close(lrAt(6, { ...s, kind: 'linear' }), 0.775, 1e-12);
  close(lrAt(8, { ...s, kind: 'cosine' }), 0.55, 1e-12); // midpoint
  for (const kind of ['cosine', 'linear'] as const) {
    close(lrAt(12, { ...s, kind }), 0.1, 1e-12, `${kind} last`);
    close(lrAt(50, { ...s, kind }), 0.1, 1e-12, `${kind} past the end`);
  }
  close(lrAt(12, { ...s, kind: 'constant' }), 1, 0);
  close(lrAt(0, { ...s, warmup: 0, kind: 'cosine' }), 1, 0, 'no warm-up starts at the peak');
});

test('sumAll adds any number of tensors in groups a WebGPU shader can bind', async () => {
  for (const n of [1, 2, 7, 8, 20, 50]) {
    const xs = Array.from({ length: n }, (_, i) => tf.tensor1d([i, 2 * i]));
    const s = sumAll(xs);
    const want = (n * (n - 1)) / 2;
    assert.deepEqual(Array.from(await s.data()), [want, 2 * want], `n = ${n}`);
    tf.dispose([...xs, s]);
  }
});

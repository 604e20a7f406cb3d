// Run: node --import tsx --test test/onnx-train.test.ts
// The hand-derived ONNX backward (onnxtrain.ts) against tfjs autodiff (cpu backend) on tiny random models
// with peaked logits: GQA (4 heads, 2 kv heads) with q/k/v biases and an untied head, and a tied head.
// logp and EVERY parameter's gradient of L = Σ w·logp agree, for arbitrary targets and weights with zeros
// (B 2, T 7), and for tokenLogprobs' next-token semantics; bad input is refused with a clear message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.ts';
import { pickLogprobs, tokenLogprobs, type Transformer } from '../src/model/transformer.ts';
import { exportTrainGraph, OnnxTrainer } from '../src/model/onnxtrain.ts';
import { Rng } from '../src/util/rng.ts';
import { PEAKED_BASE, PEAKED_VARIANTS, peakedModels } from './helpers/peaked.ts';

const BASE = PEAKED_BASE;
const VARIANTS = PEAKED_VARIANTS;
/** Float32 on both sides, different kernels and summation orders: max |Δlogp| (seen: ~4e-6). */
const LOGP_TOL = 1e-4;
/** max |Δgrad| / max |grad|, per parameter (seen: ≤ 6e-6). */
const GRAD_TOL = 1e-3;
const B = 2;
const T = 7;

const models = new Map<string, { model: Transformer; trainer: OnnxTrainer }>();

before(async () => {
  await initBackend('cpu', () => {});
  for (const [name, model] of peakedModels(11)) models.set(name, { model, trainer: await OnnxTrainer.create(model.config, { threads: 1 }) });
});

after(async () => {
  for (const { model, trainer } of models.values()) {
    await trainer.release();
    model.dispose();
  }
});

function hostParams(model: Transformer): Map<string, Float32Array> {
  return new Map([...model.params].map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

/** tfjs: logp [B·n] from `logp(ids)` and the gradient of Σ w·logp for every parameter (HF names). */
function tfjsGrads(model: Transformer, logp: () => tf.Tensor, w: Float32Array): { logp: Float32Array; grads: Map<string, Float32Array> } {
  let value: Float32Array | null = null;
  const byName = new Map<string, Float32Array>();
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const lp = logp().reshape([-1]);
      value = lp.dataSync() as Float32Array;
      return tf.sum(tf.mul(lp, tf.tensor1d(w))) as tf.Scalar;
    }, model.trainableVariables());
    for (const [n, v] of model.params) byName.set(n, grads[v.name].dataSync() as Float32Array);
  });
  return { logp: value!, grads: byName };
}

/** Asserts logp within LOGP_TOL and every gradient within GRAD_TOL of its largest entry; returns the worst ratios. */
function compare(want: { logp: Float32Array; grads: Map<string, Float32Array> }, got: { logp: ArrayLike<number>; grads: Map<string, Float32Array> }): { logp: number; grad: number } {
  let worstLogp = 0;
  want.logp.forEach((x, i) => (worstLogp = Math.max(worstLogp, Math.abs(x - got.logp[i]))));
  assert.ok(worstLogp <= LOGP_TOL, `max |Δlogp| ${worstLogp} > ${LOGP_TOL}`);
  assert.deepEqual([...got.grads.keys()].sort(), [...want.grads.keys()].sort());
  let worstGrad = 0;
  for (const [name, w] of want.grads) {
    const o = got.grads.get(name)!;
    assert.equal(o.length, w.length, name);
    let scale = 0;
    let diff = 0;
    w.forEach((x, i) => {
      scale = Math.max(scale, Math.abs(x));
      diff = Math.max(diff, Math.abs(x - o[i]));
    });
    assert.ok(scale > 1e-6, `${name}: the test should reach every parameter (max |grad| ${scale})`);
    assert.ok(diff <= GRAD_TOL * scale, `${name}: max |Δgrad| ${diff} > ${GRAD_TOL} × max |grad| ${scale}`);
    worstGrad = Math.max(worstGrad, diff / scale);
  }
  return { logp: worstLogp, grad: worstGrad };
}

for (const name of Object.keys(VARIANTS)) {
  test(`${name}: logp and every gradient of Σ w·logp equal tfjs autodiff (arbitrary targets, weights with zeros)`, async () => {
    const { model, trainer } = models.get(name)!;
    const V = model.config.vocab_size;
    const rng = new Rng(4);
    // Repeated ids (the embedding gradient sums rows) and signed weights with zeros (positions off the loss).
    const ids = [[0, 5, 6, 5, 8, 9, 5], [0, 9, 3, 40, 41, 3, 3]];
    const targets = ids.map((row) => row.map(() => rng.int(V)));
    const w = Float32Array.from({ length: B * T }, (_, i) => (i % 5 === 2 ? 0 : rng.normal()));
    const want = tfjsGrads(model, () => {
      const logits = model.logits(tf.tensor2d(ids, undefined, 'int32')).reshape([B * T, V]) as tf.Tensor2D; // [N, V]
      return pickLogprobs(logits, tf.tensor1d(targets.flat(), 'int32')); // [N]
    }, w);
    assert.ok(Math.min(...want.logp) < -5, 'logits should be peaked (some targets far from the argmax)');
    const got = await trainer.run(hostParams(model), ids, targets, w);
    const seen = compare(want, got);
    console.log(`${name}: max |Δlogp| ${seen.logp.toExponential(1)}, max |Δgrad|/max|grad| ${seen.grad.toExponential(1)}`);
  });

  test(`${name}: tokenLogprobs(ids, from) is targets = ids shifted left, the head from \`from\` on, the last position's weight 0`, async () => {
    const { model, trainer } = models.get(name)!;
    const ids = [[0, 7, 8, 9, 10, 11, 12], [0, 9, 3, 9, 3, 30, 31]];
    for (const from of [0, 2]) {
      const n = T - 1 - from;
      const S = T - from;
      const w = Float32Array.from({ length: B * n }, (_, i) => (i === 3 ? 0 : (i % 3) - 0.7));
      const want = tfjsGrads(model, () => tokenLogprobs(model, tf.tensor2d(ids, undefined, 'int32'), from), w);
      const targets = ids.map((row) => [...row.slice(1), 0]);
      const wide = new Float32Array(B * S); // [B, T − from], zero at t = T−1
      for (let b = 0; b < B; b++) wide.set(w.subarray(b * n, (b + 1) * n), b * S);
      const got = await trainer.run(hostParams(model), ids, targets, wide, from);
      assert.equal(got.logp.length, B * S);
      const logp = Array.from({ length: B }, (_, b) => Array.from(got.logp.subarray(b * S, b * S + n))).flat();
      compare(want, { logp, grads: got.grads });
    }
  });
}

test('run refuses missing parameters and mis-shaped input with one-line messages', async () => {
  const { model, trainer } = models.values().next().value!;
  const params = hostParams(model);
  const w = new Float32Array(2);
  await assert.rejects(trainer.run(params, [[1, 2]], [[2]], w), /ids and targets must both be 1×2/);
  await assert.rejects(trainer.run(params, [[1, 2]], [[2, 99]], w), /token ids in \[0, 50\)/);
  await assert.rejects(trainer.run(params, [[1, 2]], [[2, 3]], new Float32Array(3)), /weights has 3 entries/);
  await assert.rejects(trainer.run(params, [[1, 2]], [[2, 3]], w, 2), /from must be an integer in \[0, 2\)/);
  params.delete('model.norm.weight');
  await assert.rejects(trainer.run(params, [[1, 2]], [[2, 3]], w), /parameter model.norm.weight needs 32 floats/);
});

test('the training graph is a ModelProto (ir 8) whose inputs are the parameters by HF name', async () => {
  const cfg = VARIANTS['GQA, tied head, no biases'];
  const bytes = exportTrainGraph(cfg);
  assert.deepEqual([...bytes.subarray(0, 2)], [0x08, 8]);
  const { InferenceSession } = await import('onnxruntime-node');
  const s = await InferenceSession.create(bytes);
  const { model } = models.get('GQA, tied head, no biases')!;
  assert.deepEqual(s.inputNames.slice(0, model.params.size), [...model.params.keys()]);
  assert.deepEqual(s.outputNames.slice().sort(), ['logp', ...[...model.params.keys()].map((n) => `grad.${n}`)].sort());
  await s.release();
});

test('OnnxGradients.lossGrads: a GRPO loss (DAPO, KL to a reference) and its gradients equal tfjs autodiff', async () => {
  const { grpoLoss } = await import('../src/rl/grpo.ts');
  const { OnnxGradients } = await import('../src/model/onnxtrain.ts');
  for (const [name, { model }] of models) {
    const rng = new Rng(3);
    const ids = tf.tensor2d(Array.from({ length: B * T }, () => rng.int(BASE.vocab_size)), [B, T], 'int32');
    const from = 2;
    const W = T - 1 - from;
    const mask = tf.tensor2d(Array.from({ length: B * W }, (_, i) => (i % 5 === 4 ? 0 : 1)), [B, W]);
    const refLogp = tf.tensor2d(Array.from({ length: B * W }, () => -1 - rng.next()), [B, W]);
    const oldLogp = tf.tensor2d(Array.from({ length: B * W }, () => -2 - rng.next()), [B, W]); // ρ far from 1: clipping engages
    // With a fixed old policy (μ > 1: ρ ≠ 1, clipping, KL) and without one (μ = 1, no KL: old = stopGradient(logp),
    // where lossGrads skips the logp run).
    for (const old of [oldLogp, undefined]) {
    const loss = (logp: tf.Tensor2D) => {
      const r = grpoLoss({ logp, oldLogp: old, refLogp: old ? refLogp : undefined, adv: [0.7, -1.3], mask, clipLow: 0.2, clipHigh: 0.28, beta: old ? 0.05 : 0, lossType: 'dapo', maxLen: W, batch: { seqs: B, tokens: 8 } });
      tf.dispose(Object.values(r.stats));
      return r.loss;
    };
    const want = tf.variableGrads(() => loss(tokenLogprobs(model, ids, from)), model.trainableVariables());
    const onnx = await OnnxGradients.create(model, { threads: 1 });
    const got = await onnx.lossGrads(model, ids, from, loss, !old); // μ = 1, no KL: one run (valueFree)
    await onnx.release();
    const [lg, lw] = [got.value.dataSync()[0], want.value.dataSync()[0]];
    assert.ok(Math.abs(lg - lw) <= 1e-5 * Math.abs(lw) + 1e-4, `${name}: loss ${lg} vs ${lw}`);
    for (const [n, v] of model.params) {
      const a = want.grads[v.name].dataSync() as Float32Array;
      const b = got.grads[v.name].dataSync() as Float32Array;
      const scale = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      assert.ok(scale > 0, `${name}: ${n} has a zero gradient`);
      const worst = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
      assert.ok(worst <= GRAD_TOL * scale, `${name}: ${n} max |Δ| ${worst} vs max |grad| ${scale}`);
    }
    tf.dispose([want.value, got.value, ...Object.values(want.grads), ...Object.values(got.grads)]);
    }
    tf.dispose([ids, mask, refLogp, oldLogp]);
  }
});

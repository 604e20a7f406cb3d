// Run: node --import tsx --test test/model-transformer.test.ts
// The tfjs Llama decoder on the cpu backend: logits equal an independent float64 forward (reference.ts),
// GQA and bias shapes, deterministic init, tokenLogprobs (and its hand-written gradient) equal the naive
// log_softmax-gather and its autodiff, and training is leak-free and moves every parameter.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.ts';
import { KVCache, Transformer, paramShapes, pickLogprobs, tokenLogprobs, type LlamaConfig } from '../src/model/transformer.ts';
import { referenceLogits } from '../src/model/reference.ts';

const CFG: LlamaConfig = {
  hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 40,
  vocab_size: 61, rope_theta: 10000, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  bos_token_id: 0, eos_token_id: 1,
};
const IDS = [[0, 5, 17, 42, 9, 3, 7, 11, 60], [0, 1, 2, 33, 44, 21, 8, 49, 50]];

before(async () => {
  await initBackend('cpu', () => {});
});

/** A model whose norm gains and biases are not the init's 1 and 0, so that they are tested too. */
function perturbed(config: LlamaConfig, seed: number): Transformer {
  const m = Transformer.init(config, seed);
  for (const [n, v] of m.params) {
    if (n.endsWith('norm.weight') || n.endsWith('.bias')) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', seed))));
  }
  return m;
}

const maxRelErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
};

for (const variant of [
  { name: 'GQA (4 heads, 2 kv), untied', config: CFG },
  { name: 'MHA, tied head, q/k/v biases', config: { ...CFG, num_key_value_heads: 4, tie_word_embeddings: true, attention_bias: true } },
  { name: 'MQA (1 kv head)', config: { ...CFG, num_key_value_heads: 1, rope_theta: 500 } },
]) {
  test(`logits equal the float64 reference forward within 1e-4: ${variant.name}`, () => {
    const m = perturbed(variant.config, 3);
    const params = new Map([...m.params].map(([n, v]) => [n, v.dataSync() as Float32Array]));
    const ref = referenceLogits(variant.config, params, IDS);
    const got = tf.tidy(() => m.logits(tf.tensor2d(IDS, undefined, 'int32')).dataSync());
    const V = variant.config.vocab_size;
    ref.forEach((r, b) => assert.ok(maxRelErr(got.subarray(b * IDS[0].length * V, (b + 1) * IDS[0].length * V), r.data) < 1e-4));
    m.dispose();
  });
}

test('parameters have HF names and shapes; GQA shrinks k/v and the cache', () => {
  const m = Transformer.init({ ...CFG, attention_bias: true }, 1);
  const shapes = new Map([...m.params].map(([n, v]) => [n, v.shape]));
  assert.deepEqual(shapes.get('model.layers.1.self_attn.q_proj.weight'), [32, 32]);
  assert.deepEqual(shapes.get('model.layers.1.self_attn.k_proj.weight'), [16, 32]); // 2 kv heads × hd 8
  assert.deepEqual(shapes.get('model.layers.1.self_attn.v_proj.bias'), [16]);
  assert.deepEqual(shapes.get('model.layers.0.mlp.down_proj.weight'), [32, 40]);
  assert.deepEqual(shapes.get('lm_head.weight'), [61, 32]);
  assert.deepEqual([...shapes.keys()], paramShapes({ ...CFG, attention_bias: true }).map(([n]) => n));
  assert.equal(m.numParams(), [...shapes.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0));
  const cache = new KVCache(2);
  const h = tf.tidy(() => m.forward(tf.tensor2d(IDS, undefined, 'int32'), cache));
  assert.deepEqual(h.shape, [2, 9, 32]);
  assert.deepEqual(cache.k[0].shape, [2 * 2, 9, 8]); // [B·KV, S, hd]
  assert.equal(cache.length, 9);
  tf.dispose([h]);
  cache.dispose();
  m.dispose();
  assert.equal(Transformer.init({ ...CFG, tie_word_embeddings: true }, 1).params.has('lm_head.weight'), false);
});

test('init is deterministic in the seed; std 0.02 with scaled residual projections', () => {
  const a = Transformer.init(CFG, 7);
  const b = Transformer.init(CFG, 7);
  const c = Transformer.init(CFG, 8);
  const q = (m: Transformer, n: string) => m.params.get(n)!.dataSync();
  assert.deepEqual(q(a, 'model.layers.0.self_attn.q_proj.weight'), q(b, 'model.layers.0.self_attn.q_proj.weight'));
  assert.notDeepEqual(q(a, 'model.layers.0.self_attn.q_proj.weight'), q(c, 'model.layers.0.self_attn.q_proj.weight'));
  const std = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);
  assert.ok(Math.abs(std(q(a, 'model.embed_tokens.weight')) - 0.02) < 0.002);
  assert.ok(Math.abs(std(q(a, 'model.layers.0.mlp.down_proj.weight')) - 0.01) < 0.002); // 0.02/√(2·2)
  assert.ok(Array.from(q(a, 'model.norm.weight')).every((v) => v === 1));
  for (const m of [a, b, c]) m.dispose();
});

/** log_softmax of the full logits, gathered at the next tokens with plain ops (autodiff throughout). */
function naiveLogprobs(m: Transformer, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = ids.shape;
  const lsm = tf.logSoftmax(tf.slice(m.logits(ids), [0, 0, 0], [B, T - 1, -1])); // [B, T-1, V]
  const next = tf.oneHot(tf.slice(ids, [0, 1], [B, T - 1]), m.config.vocab_size); // [B, T-1, V]
  return tf.sum(tf.mul(lsm, next), -1) as tf.Tensor2D;
}

test('tokenLogprobs equals log_softmax gathered naively, values and gradients; `from` skips positions', () => {
  const m = perturbed(CFG, 4);
  const ids = tf.tensor2d(IDS, undefined, 'int32');
  const got = tf.tidy(() => tokenLogprobs(m, ids));
  const want = tf.tidy(() => naiveLogprobs(m, ids));
  assert.deepEqual(got.shape, [2, 8]);
  assert.ok(maxRelErr(got.dataSync(), want.dataSync()) < 1e-5);
  const tail = tf.tidy(() => tokenLogprobs(m, ids, 3));
  assert.deepEqual(tail.shape, [2, 5]);
  assert.ok(maxRelErr(tail.dataSync(), tf.tidy(() => tf.slice(want, [0, 3], [2, 5]).dataSync())) < 1e-5);
  // Gradients of a weighted sum (weights make every position count differently).
  const w = tf.tensor2d(Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) - 2), [2, 8]);
  const g1 = tf.variableGrads(() => tf.sum(tf.mul(tokenLogprobs(m, ids), w)) as tf.Scalar);
  const g2 = tf.variableGrads(() => tf.sum(tf.mul(naiveLogprobs(m, ids), w)) as tf.Scalar);
  for (const n of Object.keys(g2.grads)) {
    const a = g1.grads[n].dataSync();
    const b = g2.grads[n].dataSync();
    const scale = Math.max(...Array.from(b, Math.abs));
    const err = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    assert.ok(err <= 1e-4 * scale + 1e-7, `${n}: |Δ| ${err} vs scale ${scale}`);
  }
  tf.dispose([got, want, tail, w, ids, g1.value, g2.value, ...Object.values(g1.grads), ...Object.values(g2.grads)]);
  m.dispose();
});

test('pickLogprobs gradient matches finite differences', () => {
  const logits = tf.variable(tf.tensor2d([[0.3, -1.2, 2.0, 0.1], [1.5, 0.2, -0.7, 0.9]]));
  const targets = tf.tensor1d([2, 3], 'int32');
  const f = () => tf.sum(tf.mul(pickLogprobs(logits, targets), tf.tensor1d([1.0, -0.5]))) as tf.Scalar;
  const { grads } = tf.variableGrads(f, [logits]);
  const g = grads[logits.name].dataSync();
  const x = logits.dataSync().slice();
  const eps = 1e-2;
  for (let i = 0; i < x.length; i++) {
    const at = (d: number) => {
      const y = x.slice();
      y[i] += d;
      logits.assign(tf.tensor2d(y, [2, 4]));
      return tf.tidy(() => f().dataSync()[0]);
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(fd - g[i]) < 2e-3, `∂/∂x${i}: ${g[i]} vs finite difference ${fd}`);
  }
  tf.dispose([logits, targets, grads[logits.name]]);
});

test('20 Adam steps on a tokenLogprobs loss: tensor count flat, every parameter moves, loss falls', async () => {
  const m = Transformer.init(CFG, 5);
  const ids = tf.tensor2d(IDS, undefined, 'int32');
  const start = new Map([...m.params].map(([n, v]) => [n, v.dataSync().slice()]));
  const opt = tf.train.adam(3e-3);
  const losses: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const loss = tf.tidy(() => opt.minimize(() => tf.neg(tf.mean(tokenLogprobs(m, ids))) as tf.Scalar, true, m.trainableVariables())!);
    losses.push((await loss.data())[0]);
    loss.dispose();
    counts.push(tf.memory().numTensors);
    if (i === 0) for (const [n, v] of m.params) assert.notDeepEqual(v.dataSync(), start.get(n), `${n} did not change after one step`);
  }
  assert.deepEqual(new Set(counts.slice(1)).size, 1, `tensor count drifted: ${counts.join(' ')}`);
  assert.ok(losses[19] < losses[0] - 0.5, `loss ${losses[0]} → ${losses[19]}`);
  opt.dispose();
  ids.dispose();
  m.dispose();
});

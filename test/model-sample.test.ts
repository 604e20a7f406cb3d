// Run: node --import tsx --test test/model-sample.test.ts
// The sampler on a tiny random model (cpu backend): greedy decoding with the KV cache equals greedy
// decoding by full recomputation (equal prompts, left-padded prompts of different lengths, GQA); top-k 1
// is greedy; seeded sampling is reproducible; stop tokens and the token limit; top-k / top-p keep the
// right tokens; no tensors leak.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.ts';
import { Transformer, type LlamaConfig } from '../src/model/transformer.ts';
import { generate, pickToken, type SampleOptions } from '../src/model/sample.ts';
import { Rng } from '../src/util/rng.ts';
import { UserError } from '../src/util/errors.ts';

const CFG: LlamaConfig = {
  hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48,
  vocab_size: 50, rope_theta: 10000, max_position_embeddings: 48, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  bos_token_id: 0, eos_token_id: 1, pad_token_id: 2,
};
let model: Transformer;

before(async () => {
  await initBackend('cpu', () => {});
  model = Transformer.init(CFG, 5);
  // Larger weights than the init's give peaked, varied logits (no near-ties for argmax to flip on).
  for (const [n, v] of model.params) if (!n.endsWith('norm.weight')) tf.tidy(() => v.assign(tf.mul(v, 30)));
});

const greedy = (over: Partial<SampleOptions> = {}): SampleOptions => ({ maxNewTokens: 10, temperature: 0, topP: 1, topK: 0, stopTokens: [], rng: new Rng(1), ...over });

/** Greedy continuation by running the whole sequence through model.logits at every step. */
function recomputeGreedy(prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const next = tf.tidy(() => model.logits(tf.tensor2d([seq], undefined, 'int32')).slice([0, seq.length - 1, 0], [1, 1, -1]).argMax(-1).dataSync()[0]);
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

test('greedy with the KV cache equals greedy by full recomputation (same and different prompt lengths)', async () => {
  const prompts = [[0, 5, 6, 7, 8], [0, 9, 3], [0, 40, 41, 42, 43, 44, 45], [0, 9, 3]];
  const out = await generate(model, prompts, greedy({ maxNewTokens: 12 }));
  prompts.forEach((p, b) => assert.deepEqual(out.tokens[b], recomputeGreedy(p, 12), `prompt ${b}`));
  assert.deepEqual(out.truncated, [true, true, true, true]);
  // Rows 1 and 3 stop early (half the batch: the cache drops them); the others must not notice.
  const stopAt = out.tokens[1][2];
  const early = await generate(model, prompts, greedy({ maxNewTokens: 12, stopTokens: [stopAt] }));
  assert.deepEqual(early.tokens[1], out.tokens[1].slice(0, out.tokens[1].indexOf(stopAt)));
  for (const b of [0, 2]) {
    const cut = out.tokens[b].indexOf(stopAt);
    assert.deepEqual(early.tokens[b], cut < 0 ? out.tokens[b] : out.tokens[b].slice(0, cut));
  }
  // G copies of one prompt (prefilled once, then repeated) give G copies of the same greedy answer.
  const same = await generate(model, [prompts[0], prompts[0], prompts[0]], greedy({ maxNewTokens: 12 }));
  assert.deepEqual(same.tokens, [out.tokens[0], out.tokens[0], out.tokens[0]]);
});

test('the decode step matches recomputation with q/k/v biases, one kv head and an untied head too', async () => {
  const m = Transformer.init({ ...CFG, attention_bias: true, num_key_value_heads: 1, tie_word_embeddings: false }, 6);
  for (const [n, v] of m.params) tf.tidy(() => v.assign(n.endsWith('norm.weight') ? tf.add(v, tf.randomNormal(v.shape, 0, 0.3)) : tf.mul(tf.add(v, n.endsWith('.bias') ? 0.02 : 0), 30)));
  const prompts = [[0, 5, 6, 7, 8], [0, 9]];
  const out = await generate(m, prompts, greedy({ maxNewTokens: 10 }));
  const saved = model;
  model = m;
  try {
    prompts.forEach((p, b) => assert.deepEqual(out.tokens[b], recomputeGreedy(p, 10)));
  } finally {
    model = saved;
    m.dispose();
  }
});

test('top-k 1 at any temperature is greedy', async () => {
  const prompts = [[0, 5, 6], [0, 7, 8]];
  const g = await generate(model, prompts, greedy());
  const k1 = await generate(model, prompts, greedy({ temperature: 1.3, topK: 1, topP: 0.5, rng: new Rng(9) }));
  assert.deepEqual(k1.tokens, g.tokens);
});

test('seeded sampling is reproducible; another seed differs; rows finish independently', async () => {
  const p = [0, 5, 6, 7];
  const opts = (seed: number) => greedy({ maxNewTokens: 20, temperature: 1, topP: 0.95, topK: 30, stopTokens: [3, 4], rng: new Rng(seed) });
  const a = await generate(model, [p, p, p, p, p, p], opts(7));
  const b = await generate(model, [p, p, p, p, p, p], opts(7));
  const c = await generate(model, [p, p, p, p, p, p], opts(8));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.tokens, c.tokens);
  for (let i = 0; i < 6; i++) {
    assert.ok(a.tokens[i].every((t) => t !== 3 && t !== 4), 'stop tokens are not part of the completion');
    assert.equal(a.truncated[i], a.tokens[i].length === 20);
  }
});

test('stop tokens end a row; maxNewTokens bounds it; a too-long prompt is a UserError', async () => {
  const p = [0, 11, 12];
  const [first] = (await generate(model, [p], greedy({ maxNewTokens: 5 }))).tokens[0];
  const stopped = await generate(model, [p, [0, 13]], greedy({ maxNewTokens: 5, stopTokens: [first] }));
  assert.deepEqual(stopped.tokens[0], []);
  assert.equal(stopped.truncated[0], false);
  assert.ok(stopped.tokens[1].length <= 5);
  const none = await generate(model, [p], greedy({ maxNewTokens: 0 }));
  assert.deepEqual(none.tokens, [[]]);
  await assert.rejects(generate(model, [Array.from({ length: 40 }, () => 5)], greedy({ maxNewTokens: 10 })), UserError);
  await assert.rejects(generate(model, [[]], greedy()), UserError);
});

test('generate leaks no tensors', async () => {
  const prompts = [[0, 5, 6, 7], [0, 8]];
  await generate(model, prompts, greedy()); // builds the transposed-weight cache once
  const before = tf.memory().numTensors;
  await generate(model, prompts, greedy({ temperature: 1, stopTokens: [3], rng: new Rng(3) }));
  await generate(model, [[0, 5], [0, 5], [0, 5]], greedy());
  assert.equal(tf.memory().numTensors, before);
});

test('pickToken: greedy, top-k, top-p and temperature pick from the right sets and frequencies', () => {
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
  assert.equal(pickToken(logits, { temperature: 0, topP: 1, topK: 0, rng: new Rng(0) }), 0);
  const freq = (o: { temperature: number; topP: number; topK: number }) => {
    const rng = new Rng(11);
    const n = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) n[pickToken(logits, { ...o, rng })]++;
    return n.map((c) => c / 20000);
  };
  const full = freq({ temperature: 1, topP: 1, topK: 0 });
  [0.5, 0.3, 0.15, 0.05].forEach((p, i) => assert.ok(Math.abs(full[i] - p) < 0.015, `full ${full}`));
  const k2 = freq({ temperature: 1, topP: 1, topK: 2 });
  assert.deepEqual([k2[2], k2[3]], [0, 0]);
  assert.ok(Math.abs(k2[0] - 0.5 / 0.8) < 0.015);
  const p75 = freq({ temperature: 1, topP: 0.75, topK: 0 }); // 0.5 + 0.3 reaches 0.75: two tokens
  assert.deepEqual([p75[2], p75[3]], [0, 0]);
  const p80k3 = freq({ temperature: 1, topP: 0.9, topK: 3 }); // top-3 mass 0.95; 0.9·0.95 needs all three
  assert.equal(p80k3[3], 0);
  assert.ok(p80k3[2] > 0.1);
  const cold = freq({ temperature: 0.5, topP: 1, topK: 0 }); // p² renormalised: 0.25/0.365 ≈ 0.685
  assert.ok(Math.abs(cold[0] - 0.25 / 0.365) < 0.015, `cold ${cold}`);
});

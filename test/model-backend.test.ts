// Run: node --import tsx --test test/model-backend.test.ts
// The wasm backend against the cpu reference: the kernels backend.ts adds (UnsortedSegmentSum for
// embedding gradients, the XNNPACK BatchMatMul for transposed and batched products) give cpu's numbers,
// and a tiny model's logits, gradients and sampled tokens agree between the two within a stated
// tolerance. The webgpu branch is tested by test/webgpu.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.ts';
import { defaultFlags } from '../src/model/webgpu.ts';
import { Transformer, tokenLogprobs, type LlamaConfig } from '../src/model/transformer.ts';
import { generate } from '../src/model/sample.ts';
import { Rng } from '../src/util/rng.ts';
import { UserError } from '../src/util/errors.ts';

/** |wasm − cpu| ≤ TOL · max|cpu| over each tensor (float32 sums in a different order). */
const TOL = 1e-4;
const quiet = () => {};

/** Runs f on the cpu and on the wasm backend; f builds its tensors from host data and returns arrays. */
async function onBoth<T>(f: () => T | Promise<T>): Promise<{ cpu: T; wasm: T }> {
  await initBackend('cpu', quiet);
  const cpu = await f();
  await initBackend('wasm', quiet);
  const wasm = await f();
  return { cpu, wasm };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, what);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  assert.ok(err <= TOL * scale + 1e-7, `${what}: max |Δ| ${err} > ${TOL}·${scale}`);
}

test('initBackend starts cpu and wasm and rejects unknown kinds', async () => {
  const lines: string[] = [];
  assert.deepEqual(await initBackend('wasm', (l) => lines.push(l)), { backend: 'wasm', threads: 1 });
  assert.equal(tf.getBackend(), 'wasm');
  await initBackend('wasm', (l) => lines.push(l)); // already running: says nothing
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^backend: wasm/);
  assert.equal((await initBackend('cpu', quiet)).backend, 'cpu');
  await assert.rejects(initBackend('tpu' as 'cpu', quiet), UserError);
});

test('embedding (tf.gather) gradients on wasm equal cpu, repeated ids summed (UnsortedSegmentSum)', async () => {
  const table = Float32Array.from({ length: 7 * 3 }, (_, i) => Math.sin(i));
  const ids = [4, 1, 4, 6, 0, 4];
  const r = await onBoth(() => {
    const w = tf.tensor2d(table, [7, 3]);
    const up = tf.tensor2d(Float32Array.from({ length: 18 }, (_, i) => i - 5), [6, 3]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, tf.tensor1d(ids, 'int32')), up)))(w);
    const out = g.dataSync().slice();
    tf.dispose([w, up, g]);
    return out;
  });
  assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu));
  assert.deepEqual(Array.from(r.wasm.slice(12, 15)), [(0 - 5) + (6 - 5) + (15 - 5), (1 - 5) + (7 - 5) + (16 - 5), (2 - 5) + (8 - 5) + (17 - 5)]); // row 4
});

test('wasm BatchMatMul equals cpu for transposes, batches, broadcasts, small and large products', async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[64, 96], [96, 80], false, false], [[64, 96], [80, 96], false, true], [[96, 64], [96, 80], true, false], [[96, 64], [80, 96], true, true],
    [[3, 40, 64], [3, 64, 50], false, false], [[3, 40, 64], [3, 50, 64], false, true], [[3, 64, 40], [3, 64, 50], true, false],
    [[2, 3, 40, 64], [64, 50], false, false], [[40, 64], [3, 50, 64], false, true], [[4, 1, 8], [4, 8, 9], false, false], [[2, 5], [3, 5], false, true],
    [[3, 1, 64], [3, 600, 64], false, true], [[3, 1, 700], [3, 64, 700], false, true], [[3, 2, 64], [3, 600, 64], false, true], // decode attention
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const data = (s: number[], seed: number) => Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i * 0.37 + seed));
    const r = await onBoth(() => tf.tidy(() => tf.matMul(tf.tensor(data(sa, 1), sa), tf.tensor(data(sb, 2), sb), ta, tb).dataSync().slice()));
    close(r.wasm, r.cpu, `matMul [${sa}]${ta ? 'ᵀ' : ''} × [${sb}]${tb ? 'ᵀ' : ''}`);
  }
});

const CFG: LlamaConfig = {
  hidden_size: 48, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2, intermediate_size: 80,
  vocab_size: 97, rope_theta: 10000, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  bos_token_id: 0, eos_token_id: 1, attention_bias: true,
};
const IDS = [[0, 5, 17, 42, 9, 3, 7, 11, 60, 96, 2, 14, 80, 33, 21, 8], [0, 1, 2, 33, 44, 21, 8, 49, 50, 5, 5, 5, 91, 70, 64, 3]];

test(`a tiny model's logits, gradients and greedy samples agree between cpu and wasm (${TOL} of scale)`, async () => {
  const r = await onBoth(async () => {
    const m = Transformer.init(CFG, 11);
    for (const [n, v] of m.params) if (n.endsWith('.bias')) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 3)));
    const ids = tf.tensor2d(IDS, undefined, 'int32');
    const logits = tf.tidy(() => m.logits(ids).dataSync().slice());
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tokenLogprobs(m, ids))) as tf.Scalar, m.trainableVariables());
    const g = new Map([...m.params].map(([n, v]) => [n, grads[v.name].dataSync().slice()]));
    const sampled = await generate(m, [IDS[0].slice(0, 5), IDS[1].slice(0, 9)], { maxNewTokens: 8, temperature: 0, topP: 1, topK: 0, stopTokens: [], rng: new Rng(0) });
    tf.dispose([ids, value, ...Object.values(grads)]);
    m.dispose();
    return { logits, g, sampled };
  });
  close(r.wasm.logits, r.cpu.logits, 'logits');
  for (const [n, g] of r.cpu.g) close(r.wasm.g.get(n)!, g, `∂loss/∂${n}`);
  assert.ok(Math.max(...Array.from(r.cpu.g.get('model.embed_tokens.weight')!, Math.abs)) > 0, 'embeddings get a gradient');
  assert.deepEqual(r.wasm.sampled, r.cpu.sampled);
});

test('embeddings train on wasm: one Adam step moves exactly the rows of the ids that feed a prediction', async () => {
  await initBackend('wasm', quiet);
  const m = Transformer.init({ ...CFG, tie_word_embeddings: false }, 2);
  const emb = m.params.get('model.embed_tokens.weight')!;
  const before = emb.dataSync().slice();
  const ids = tf.tensor2d([[0, 5, 6, 7, 5, 9]], undefined, 'int32'); // 9 is only a target: its row stays
  const opt = tf.train.adam(1e-2);
  tf.dispose(opt.minimize(() => tf.neg(tf.mean(tokenLogprobs(m, ids))) as tf.Scalar, true, m.trainableVariables()) ?? []);
  const after = emb.dataSync();
  const moved = new Set<number>();
  for (let i = 0; i < before.length; i++) if (after[i] !== before[i]) moved.add(Math.floor(i / CFG.hidden_size));
  assert.deepEqual([...moved].sort((a, b) => a - b), [0, 5, 6, 7]);
  tf.dispose([ids]);
  opt.dispose();
  m.dispose();
});

test('PRRL_WEBGPU_FLAGS: items without "=" continue the previous value (Dawn toggle lists)', () => {
  assert.deepEqual(defaultFlags(undefined), ['backend=vulkan']);
  assert.deepEqual(defaultFlags('backend=vulkan, adapter=NVIDIA'), ['backend=vulkan', 'adapter=NVIDIA']);
  assert.deepEqual(defaultFlags('backend=vulkan,enable-dawn-features=skip_validation,disable_robustness'), [
    'backend=vulkan', 'enable-dawn-features=skip_validation,disable_robustness',
  ]);
});

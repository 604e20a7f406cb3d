// Run: node --import tsx --test test/onnx.test.ts
// The onnxruntime sampler against the tfjs model (cpu backend) on tiny random models with GQA (4 heads,
// 2 kv heads), q/k/v biases and an untied head, and with a tied head: last-position logits of left-padded
// prompts (prefilled, and with the last tokens fed through the KV cache) match transformer.ts's; greedy
// and seeded top-p generation give sample.ts's tokens; bad input gives sample.ts's UserErrors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.ts';
import type { Transformer } from '../src/model/transformer.ts';
import { generate, type SampleOptions } from '../src/model/sample.ts';
import { exportOnnx, OnnxPolicy } from '../src/model/onnx.ts';
import { Rng } from '../src/util/rng.ts';
import { UserError } from '../src/util/errors.ts';
import { PEAKED_BASE, PEAKED_VARIANTS, peakedModels } from './helpers/peaked.ts';

const BASE = PEAKED_BASE;
const VARIANTS = PEAKED_VARIANTS;
/** Float32 on both sides, different kernels and summation orders: max |Δlogit| (seen: ~1e-5 on logits up to ~12). */
const TOL = 1e-4;
const PROMPTS = [[0, 5, 6, 7, 8], [0, 9, 3], [0, 40, 41, 42, 43, 44, 45], [0, 9, 3]];

const models = new Map<string, { model: Transformer; policy: OnnxPolicy }>();

before(async () => {
  await initBackend('cpu', () => {});
  for (const [name, model] of peakedModels(5)) models.set(name, { model, policy: await OnnxPolicy.create(model, { threads: 1 }) });
});

after(async () => {
  for (const { model, policy } of models.values()) {
    await policy.release();
    model.dispose();
  }
});

const opts = (over: Partial<SampleOptions> = {}): SampleOptions => ({ maxNewTokens: 12, temperature: 0, topP: 1, topK: 0, stopTokens: [], rng: new Rng(1), ...over });

/** transformer.ts's logits at the last position of each prompt, run alone (no padding, no cache). */
function tfjsLastLogits(model: Transformer, prompts: number[][]): Float32Array[] {
  return prompts.map((p) => tf.tidy(() => model.logits(tf.tensor2d([p], undefined, 'int32')).slice([0, p.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array));
}

for (const name of Object.keys(VARIANTS)) {
  test(`${name}: ORT logits of left-padded prompts equal the tfjs forward, prefilled and through the KV cache`, async () => {
    const { model, policy } = models.get(name)!;
    const V = model.config.vocab_size;
    const want = tfjsLastLogits(model, PROMPTS);
    const scale = Math.max(1, ...want.flatMap((r) => Array.from(r, Math.abs)));
    assert.ok(scale > 5, `logits should be peaked (max |logit| ${scale})`);
    for (const decodeLast of [0, 1, 2]) {
      const got = await policy.lastLogits(PROMPTS, decodeLast);
      assert.equal(got.length, PROMPTS.length * V);
      let worst = 0;
      want.forEach((row, b) => row.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - got[b * V + i])))));
      assert.ok(worst <= TOL, `decodeLast ${decodeLast}: max |Δlogit| ${worst} > ${TOL}`);
    }
  });

  test(`${name}: greedy OnnxPolicy.generate equals sample.ts token for token (padding, stop tokens, shared prompts)`, async () => {
    const { model, policy } = models.get(name)!;
    const want = await generate(model, PROMPTS, opts());
    assert.deepEqual(await policy.generate(PROMPTS, opts()), want);
    // A stop token that ends row 1 early (and maybe others): rows leave the batch at different steps.
    const stop = { stopTokens: [want.tokens[1][2]] };
    const early = await generate(model, PROMPTS, opts(stop));
    assert.ok(early.truncated.includes(false));
    assert.deepEqual(await policy.generate(PROMPTS, opts(stop)), early);
    // G copies of one prompt (prefilled once, then repeated).
    const same = [PROMPTS[0], PROMPTS[0], PROMPTS[0]];
    assert.deepEqual(await policy.generate(same, opts()), await generate(model, same, opts()));
  });

  test(`${name}: seeded sampling (temperature 1, top-p 0.9) draws sample.ts's tokens`, async () => {
    const { model, policy } = models.get(name)!;
    // Same logits to ~1e-5 and the same rng calls in the same order give the same draws unless a uniform
    // lands within ~1e-5 of a cumulative-probability boundary; the seeds are fixed, so this is deterministic.
    for (const seed of [7, 8]) {
      const o = () => opts({ maxNewTokens: 20, temperature: 1, topP: 0.9, stopTokens: [3, 4], rng: new Rng(seed) });
      const prompts = [...PROMPTS, PROMPTS[0], PROMPTS[0]];
      const want = await generate(model, prompts, o());
      const rng = o().rng;
      const got = await policy.generate(prompts, { ...o(), rng });
      assert.deepEqual(got, want, `seed ${seed}`);
      const ref = o().rng;
      await generate(model, prompts, { ...o(), rng: ref });
      assert.deepEqual(rng.state(), ref.state(), 'both consumed the rng identically');
    }
  });
}

test('bad input: the same UserErrors as sample.ts; nothing to do gives empty completions', async () => {
  const { model, policy } = models.values().next().value!;
  const message = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof UserError, `${e}`);
      return e.message;
    }
    assert.fail('expected a UserError');
  };
  assert.equal(await message(policy.generate([[0, 5], []], opts())), await message(generate(model, [[0, 5], []], opts())));
  const long = [Array.from({ length: 40 }, () => 5)];
  assert.equal(await message(policy.generate(long, opts())), await message(generate(model, long, opts())));
  assert.deepEqual(await policy.generate([], opts()), { tokens: [], truncated: [] });
  assert.deepEqual(await policy.generate([[0, 5]], opts({ maxNewTokens: 0 })), { tokens: [[]], truncated: [true] });
});

test('the exported model is a well-formed ModelProto (ir_version 8, opset 17) that ORT accepts', async () => {
  const { model } = models.values().next().value!;
  const bytes = await exportOnnx(model);
  assert.deepEqual([...bytes.subarray(0, 2)], [0x08, 8]); // field 1 (ir_version), varint 8
  const { InferenceSession } = await import('onnxruntime-node');
  const s = await InferenceSession.create(bytes);
  assert.deepEqual(s.inputNames.slice(0, 4), ['input_ids', 'cos', 'sin', 'attn_bias']);
  assert.deepEqual(s.outputNames.at(-1), 'logits');
  assert.equal(s.outputNames.length, 1 + 2 * model.config.num_hidden_layers);
  await s.release();
});

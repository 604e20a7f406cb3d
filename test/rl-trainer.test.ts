// Run: node --import tsx --test test/rl-trainer.test.ts
// SFT and GRPO end to end on a tiny model (cpu backend, so runs are bit-reproducible): loss falls,
// parameters change, 2N steps equal N + resume + N, interrupted checkpoints are skipped, no tensor
// leaks, and bad input gives one clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tinySetup, tmpDir } from './helpers/tiny.ts';
import { sft } from '../src/rl/sft.ts';
import { train, type ScoreFn } from '../src/rl/trainer.ts';
import { UserError } from '../src/util/errors.ts';
import { writeJsonlAtomic } from '../src/util/fsx.ts';

const quiet = () => {};
const dir = tmpDir();
const setup = tinySetup(dir);
// A dense fake reward (completion length in characters) so groups have spread and GRPO really updates;
// truncated completions count (a random model never stops within 6 tokens).
const fakeScore: ScoreFn = (_task, text) => ({ reward: text.length / 20, formatOk: true, exact: false });
const base = {
  backend: 'cpu' as const, groupSize: 3, promptsPerStep: 2, maxNewTokens: 6, maxSeqLen: 256, evalEvery: 0, ckptEvery: 2, keepLast: 5,
  temperature: 1, lr: 1e-2, maskTruncated: false,
};

test('sft: loss falls and the saved model differs from the initial one', async () => {
  const { data, model } = await setup;
  const out = path.join(dir, 'sft');
  const r = await sft({ model, data, out, config: { backend: 'cpu', steps: 30, batchSize: 8, lr: 1e-2, warmup: 2, maxSeqLen: 256 }, log: quiet });
  assert.ok(r.lastLoss < r.firstLoss - 0.5, `loss ${r.firstLoss} → ${r.lastLoss}`);
  assert.notDeepEqual(fs.readFileSync(path.join(out, 'model.safetensors')), fs.readFileSync(path.join(model, 'model.safetensors')));
  assert.ok(fs.existsSync(path.join(out, 'tokenizer.json')));
});

const weights = (run: string) => fs.readFileSync(path.join(run, 'final', 'model.safetensors'));
const metrics = (run: string) =>
  fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { seconds, tokens_per_s, ...rest } = JSON.parse(l);
    void seconds, void tokens_per_s;
    return rest;
  });

test('train: 4 steps equal 2 steps + resume + 2 steps, bit for bit; params change; no tensor leak', async () => {
  const { data, model } = await setup;
  const a = path.join(dir, 'runA');
  const b = path.join(dir, 'runB');
  const before = tf.memory().numTensors;
  await train({ model, data, out: a, resume: false, config: { ...base, steps: 4 }, log: quiet, score: fakeScore });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by a training run');
  await train({ model, data, out: b, resume: false, config: { ...base, steps: 4 }, log: quiet, score: fakeScore, stopAfter: 2 });
  assert.ok(fs.existsSync(path.join(b, 'checkpoints', 'ckpt-000002')));
  assert.ok(!fs.existsSync(path.join(b, 'final')));
  await train({ model, data, out: b, resume: true, config: {}, log: quiet, score: fakeScore });
  assert.deepEqual(weights(a), weights(b));
  assert.deepEqual(metrics(a), metrics(b));
  assert.equal(metrics(a).length, 4);
  assert.notDeepEqual(weights(a), fs.readFileSync(path.join(model, 'model.safetensors')), 'GRPO did not change the parameters');
});

test('train --engine onnx: rollouts on onnxruntime, re-exported after every update, give the tfjs run', async () => {
  const { data, model } = await setup;
  const t = path.join(dir, 'runTfjs');
  const o = path.join(dir, 'runOnnx');
  await train({ model, data, out: t, resume: false, config: { ...base, steps: 3 }, log: quiet, score: fakeScore });
  await train({ model, data, out: o, resume: false, config: { ...base, steps: 3, engine: 'onnx' }, log: quiet, score: fakeScore });
  // The same tokens every step (so the same rewards, lengths and updates): a sampler that kept the step-1
  // weights, or consumed the rng differently, would part from the tfjs run by step 2 or 3.
  const strip = (ms: Record<string, number>[]) => ms.map(({ loss, grad_norm, kl, clip_ratio, ...rest }) => (void loss, void grad_norm, void kl, void clip_ratio, rest));
  assert.deepEqual(strip(metrics(o)), strip(metrics(t)));
  const samples = (run: string) => fs.readFileSync(path.join(run, 'samples.jsonl'), 'utf8');
  assert.equal(samples(o), samples(t));
});

test('train: a checkpoint interrupted mid-write is ignored and the previous one used', async () => {
  const { data, model } = await setup;
  const run = path.join(dir, 'runC');
  await train({ model, data, out: run, resume: false, config: { ...base, steps: 6 }, log: quiet, score: fakeScore, stopAfter: 2 });
  const ck = path.join(run, 'checkpoints');
  // A later checkpoint whose write never finished: no DONE marker, damaged tensors.
  fs.cpSync(path.join(ck, 'ckpt-000002'), path.join(ck, 'ckpt-000004'), { recursive: true });
  fs.rmSync(path.join(ck, 'ckpt-000004', 'DONE'));
  fs.truncateSync(path.join(ck, 'ckpt-000004', 'tensors.safetensors'), 100);
  fs.mkdirSync(path.join(ck, '.tmp-ckpt-000005'));
  const lines: string[] = [];
  await train({ model, data, out: run, resume: true, config: {}, log: (l) => lines.push(l), score: fakeScore, stopAfter: 1 });
  assert.ok(lines.some((l) => /resumed from .*ckpt-000002 at step 2/.test(l)), lines.join('\n'));
  assert.equal(metrics(run).length, 3);
});

test('train: bad input gives one clear error', async () => {
  const { data, model } = await setup;
  const out = path.join(dir, 'bad');
  const err = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(train({ model, data, out, resume: false, config: { ...base, groupSize: 1 }, log: quiet }), err(/group-size/));
  await assert.rejects(train({ model: path.join(dir, 'nope'), data, out, resume: false, config: base, log: quiet }), err(/not a model folder|config\.json/));
  const empty = path.join(dir, 'empty.jsonl');
  writeJsonlAtomic(empty, []);
  await assert.rejects(train({ model, data: empty, out, resume: false, config: base, log: quiet }), err(/no tasks/));
  await assert.rejects(train({ model, data, out, resume: false, config: { ...base, maxSeqLen: 20 }, log: quiet }), err(/max-seq-len/));
});

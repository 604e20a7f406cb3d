// Run: node --import tsx --test test/rl-trainer.test.ts
// SFT and GRPO end to end on a tiny model (cpu backend, so runs are bit-reproducible): loss falls,
// parameters change, 2N steps equal N + resume + N, interrupted checkpoints are skipped, no tensor
// leaks, and bad input gives one clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { tinySetup, tmpDir } from './helpers/tiny.ts';
import { sft } from '../src/rl/sft.ts';
import { pickTasks, train, type ScoreFn, type TrainState } from '../src/rl/trainer.ts';
import { resolveTrainConfig } from '../src/config.ts';
import { Rng } from '../src/util/rng.ts';
import type { EncodedTask } from '../src/rl/sequences.ts';
import { Interrupted, UserError } from '../src/util/errors.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { loadModel, nonFiniteParam, saveModel } from '../src/model/weights.ts';
import { writeJsonlAtomic } from '../src/util/fsx.ts';
import { loadLatestCheckpoint } from '../src/rl/checkpoint.ts';
import { countReads } from './helpers/fsreads.ts';
import { openModel, resolveModelDir, type ModelRef } from '../src/model/open.ts';

const CLI = path.join(import.meta.dirname, '..', 'bin', 'pr-rl.js');

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

test('sft --engine onnx: the loss curve of the tfjs engine (gradients from onnxruntime\'s backward graph)', async () => {
  const { data, model } = await setup;
  const losses = async (engine: 'tfjs' | 'onnx') => {
    const out = path.join(dir, `sft-${engine}`);
    await sft({ model, data, out, config: { backend: 'cpu', steps: 20, batchSize: 4, lr: 1e-2, warmup: 2, maxSeqLen: 256, engine }, log: quiet });
    return fs.readFileSync(path.join(out, 'sft-metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);
  };
  const [t, o] = [await losses('tfjs'), await losses('onnx')];
  assert.equal(o.length, t.length);
  assert.ok(o[o.length - 1] < o[0] - 0.5, `onnx loss ${o[0]} → ${o[o.length - 1]}`);
  // Gradients agree to ~1e-5 relative; AdamW's sign-like steps let that grow a little over 20 steps.
  o.forEach((x, i) => assert.ok(Math.abs(x - t[i]) < 2e-3 * Math.abs(t[i]) + 1e-3, `step ${i}: onnx ${x} vs tfjs ${t[i]}`));
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
  fs.appendFileSync(path.join(b, 'metrics.jsonl'), '{"step":3,"rew'); // a line cut short (kill -9): dropped on resume
  await train({ out: b, resume: true, config: {}, log: quiet, score: fakeScore }); // --model and --data: the run's
  assert.deepEqual(weights(a), weights(b));
  assert.deepEqual(metrics(a), metrics(b));
  assert.equal(metrics(a).length, 4);
  assert.notDeepEqual(weights(a), fs.readFileSync(path.join(model, 'model.safetensors')), 'GRPO did not change the parameters');
});

test('train: a signal that comes after the step\'s last turn of the event loop stops the run at that step, not the next', async () => {
  const { data, model } = await setup;
  const run = path.join(dir, 'runLateSignal');
  // The step line is logged after the update, synchronously: a signal sent there is the latest one can come.
  const log = (l: string) => { if (l.startsWith('step 1/')) process.kill(process.pid, 'SIGTERM'); };
  await assert.rejects(train({ model, data, out: run, resume: false, config: { ...base, steps: 5, ckptEvery: 0 }, log, score: fakeScore }),
    (e: Error) => e instanceof Interrupted && /stopped by SIGTERM at step 1\/5/.test(e.message));
  assert.equal(metrics(run).length, 1);
  assert.ok(fs.existsSync(path.join(run, 'checkpoints', 'ckpt-000001')));
});

test('train --max-grad-norm 0 logs the gradient norm all the same: step 1\'s is the clipped run\'s', async () => {
  const { data, model } = await setup;
  const runs = [1, 0].map((maxGradNorm) => path.join(dir, `runClip${maxGradNorm}`));
  for (const [i, out] of runs.entries()) await train({ model, data, out, resume: false, config: { ...base, steps: 1, maxGradNorm: [1, 0][i] }, log: quiet, score: fakeScore });
  const [clipped, off] = runs.map((r) => metrics(r)[0].grad_norm as number);
  assert.ok(clipped > 0 && Math.abs(off - clipped) <= 1e-6 * clipped, `grad norm ${off} with clipping off, ${clipped} with it`);
});

test('a checkpoint folder is a model to eval/generate: its step\'s policy (= final/ at the last step); a run without final/ uses its newest', async () => {
  const { data, model } = await setup;
  const run = path.join(dir, 'runCk');
  await train({ model, data, out: run, resume: false, config: { ...base, steps: 2 }, log: quiet, score: fakeScore });
  const ck = path.join(run, 'checkpoints', 'ckpt-000002');
  assert.deepEqual(await resolveModelDir(ck), { kind: 'checkpoint', dir: ck });
  const notes: string[] = [];
  assert.deepEqual(await resolveModelDir(run, (l) => notes.push(l)), { kind: 'model', dir: path.join(run, 'final') });
  assert.equal(notes.length, 0, 'a finished run\'s final/ is its newest step');
  // A checkpoint written after final/ (a resumed run's later step, stopped before its end): final/ is used, with a note.
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(ck, 'meta.json'), later, later);
  assert.deepEqual(await resolveModelDir(run, (l) => notes.push(l)), { kind: 'model', dir: path.join(run, 'final') });
  assert.match(notes.join('\n'), /its final\/ is older than its newest checkpoint .*give .*ckpt-000002 to use that step/);
  assert.deepEqual(await resolveModelDir(model), { kind: 'model', dir: model });
  // eval's --out may not land in the model or run it reads (its config.json, the run's log).
  const { runEval } = await import('../src/eval/evaluate.ts');
  for (const [m, out] of [[run, path.join(run, 'metrics.jsonl')], [model, path.join(model, 'config.json')], [ck, path.join(ck, 'meta.json')]]) {
    await assert.rejects(runEval({ model: m, data, out, config: {}, log: quiet }), (e: Error) => e instanceof UserError && /is inside the (--model|model) folder .*; give a file elsewhere$/.test(e.message), out);
  }
  // An --out that cannot be written (here /sys: EACCES even for root) fails before the sampling, not after it.
  if (process.platform === 'linux') {
    const lines: string[] = [];
    await assert.rejects(runEval({ model: run, data, out: '/sys/pr-rl-eval.json', config: { k: 1, maxNewTokens: 2, backend: 'cpu', limit: 2 }, log: (l) => lines.push(l) }),
      (e: Error) => e instanceof UserError && /^cannot write \/sys\/pr-rl-eval\.json \(/.test(e.message));
    assert.ok(!lines.some((l) => /tasks scored/.test(l)), lines.join('\n'));
  }
  // A new file there, or an earlier eval.json, is fine.
  const evalOut = path.join(run, 'eval.json');
  await runEval({ model: run, data, out: evalOut, config: { k: 1, maxNewTokens: 2, backend: 'cpu', limit: 2 }, log: quiet });
  await runEval({ model: run, data, out: evalOut, config: { k: 1, maxNewTokens: 2, backend: 'cpu', limit: 2 }, log: quiet });
  assert.equal(JSON.parse(fs.readFileSync(evalOut, 'utf8')).format, 'pr-rl-eval/1');
  const params = async (ref: ModelRef) => {
    const { model: m, tokenizer } = await openModel(ref);
    const out = new Map<string, Float32Array>();
    for (const [name, v] of m.params) out.set(name, (await v.data()) as Float32Array);
    const ids = tokenizer.encode('def f(x):\n    return x + 1\n');
    m.dispose();
    return { out, ids };
  };
  const fromCk = await params({ kind: 'checkpoint', dir: ck });
  const fromFinal = await params({ kind: 'model', dir: path.join(run, 'final') });
  const initial = await params({ kind: 'model', dir: model });
  assert.deepEqual(fromCk, fromFinal);
  assert.notDeepEqual(fromCk.out, initial.out, 'the checkpoint holds the initial weights');
  assert.deepEqual(fromCk.ids, initial.ids);
  fs.rmSync(path.join(run, 'final'), { recursive: true });
  // A newer checkpoint, damaged (same size, one byte flipped): skipped with a warning, the older one used.
  const bad = path.join(run, 'checkpoints', 'ckpt-000004');
  fs.cpSync(ck, bad, { recursive: true });
  const meta = JSON.parse(fs.readFileSync(path.join(bad, 'meta.json'), 'utf8'));
  fs.writeFileSync(path.join(bad, 'meta.json'), JSON.stringify({ ...meta, step: 4 }));
  const bytes = fs.readFileSync(path.join(bad, 'tensors.safetensors'));
  bytes[bytes.length - 1] ^= 1;
  fs.writeFileSync(path.join(bad, 'tensors.safetensors'), bytes);
  const lines: string[] = [];
  // The checkpoint used is read and hashed once, resolving and loading together (it can hold GBs of moments).
  const tensorsOf = (c: string) => (f: string) => f === path.join(c, 'tensors.safetensors');
  const { result: ref, reads } = await countReads(tensorsOf(ck), () => resolveModelDir(run, (l) => lines.push(l)));
  assert.deepEqual([ref.kind, ref.dir], ['checkpoint', ck]);
  assert.equal(lines.join('\n'), `checkpoint ${bad} skipped: tensors.safetensors is damaged (sha256 mismatch)\n${run}: no final/ yet; using its newest complete checkpoint, ${ck}`);
  const { result: fromRun, reads: more } = await countReads(tensorsOf(ck), () => params(ref));
  assert.equal(reads + more, 1, 'the checkpoint was read more than once');
  assert.deepEqual(fromRun, fromFinal);
  assert.equal(ref.loaded, undefined, 'openModel let go of the checkpoint it was handed');
  // eval and generate as a whole: one read too.
  const evalRun = await countReads(tensorsOf(ck), () => runEval({ model: run, data, out: evalOut, config: { k: 1, maxNewTokens: 2, backend: 'cpu', limit: 1 }, log: quiet }));
  const { runGenerate } = await import('../src/model/generate.ts');
  const gen = await countReads(tensorsOf(ck), () => runGenerate({ model: run, task: 'def f(x):', config: { maxNewTokens: 2, backend: 'cpu' }, log: quiet }));
  assert.deepEqual([evalRun.reads, gen.reads], [1, 1]);
  fs.rmSync(bad, { recursive: true });
  fs.rmSync(path.join(ck, 'DONE'));
  await assert.rejects(resolveModelDir(ck), (e: Error) => e instanceof UserError && /not a usable checkpoint \(no DONE marker/.test(e.message));
  await assert.rejects(resolveModelDir(run), (e: Error) => e instanceof UserError && /no final\/ and no complete checkpoint/.test(e.message));
  await assert.rejects(resolveModelDir(dir), (e: Error) => e instanceof UserError && /not a model folder/.test(e.message));
});

test('train --engine onnx: rollouts and gradients on onnxruntime; step 1 is the tfjs run\'s, resume is exact', async () => {
  const { data, model } = await setup;
  const t = path.join(dir, 'runTfjs');
  const o = path.join(dir, 'runOnnx');
  const r = path.join(dir, 'runOnnxResumed');
  const cfg = { ...base, steps: 3, engine: 'onnx' as const };
  await train({ model, data, out: t, resume: false, config: { ...base, steps: 3 }, log: quiet, score: fakeScore });
  await train({ model, data, out: o, resume: false, config: cfg, log: quiet, score: fakeScore });
  // Step 1 samples from the same weights with the same rng: the same tokens, rewards and lengths. Later
  // steps follow updates that differ from tfjs's in float rounding, so they may part by a token.
  const rollout = ({ step, reward_mean, reward_std, format_ok, completion_len, truncated }: Record<string, number>) => ({ step, reward_mean, reward_std, format_ok, completion_len, truncated });
  assert.deepEqual(rollout(metrics(o)[0]), rollout(metrics(t)[0]));
  const firstSamples = (run: string) => fs.readFileSync(path.join(run, 'samples.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"step":1,'));
  assert.deepEqual(firstSamples(o), firstSamples(t));
  assert.ok(Math.abs(metrics(o)[0].loss - metrics(t)[0].loss) < 1e-4, `step-1 loss ${metrics(o)[0].loss} vs ${metrics(t)[0].loss}`);
  // The gradient summed over the step's micro-batches (one per prompt) is tfjs's too.
  assert.ok(Math.abs(metrics(o)[0].grad_norm - metrics(t)[0].grad_norm) < 1e-4 * metrics(t)[0].grad_norm, `step-1 grad norm ${metrics(o)[0].grad_norm} vs ${metrics(t)[0].grad_norm}`);
  assert.notDeepEqual(weights(o), fs.readFileSync(path.join(model, 'model.safetensors')), 'GRPO on onnx did not change the parameters');
  // Deterministic, and a resumed run equals the straight one.
  await train({ model, data, out: r, resume: false, config: cfg, log: quiet, score: fakeScore, stopAfter: 2 });
  await train({ model, data, out: r, resume: true, config: {}, log: quiet, score: fakeScore });
  assert.deepEqual(metrics(r), metrics(o));
  assert.deepEqual(weights(r), weights(o));
});

test('--engine onnx: weights that are not numbers give a NaN loss, logged and stopped on as tfjs\'s (never 0)', async () => {
  const { data, model } = await setup;
  const err = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  const nan = path.join(dir, 'nanModelOnnx');
  const loaded = await loadModel(model);
  for (const v of loaded.model.params.values()) v.assign(tf.fill(v.shape, NaN));
  await saveModel(nan, loaded.model, model);
  loaded.model.dispose();
  await assert.rejects(sft({ model: nan, data, out: path.join(dir, 'sftNanOnnx'), config: { backend: 'cpu', steps: 3, batchSize: 2, engine: 'onnx' }, log: quiet }), err(/^sft: the loss is NaN at step 1 /));
  // μ = 1 and no KL: the loss is taken at logp = 0 (one onnx run), where a NaN policy looked finite.
  const run = path.join(dir, 'runNanOnnx');
  await assert.rejects(train({ model: nan, data, out: run, resume: false, config: { ...base, steps: 2, engine: 'onnx' }, log: quiet, score: fakeScore }), err(/^train: the loss is NaN and the gradient norm NaN at step 1 /));
  assert.equal(metrics(run)[0].loss, null, 'metrics.jsonl: the loss (NaN is written as null)');
});

test('the divergence stops sft and train share: a loss, a gradient norm or one parameter not finite is one line; finite passes', async () => {
  const { refuseNonFiniteLoss, refuseNonFiniteWeights } = await import('../src/rl/diverged.ts');
  const words = { cmd: 'train', unsaved: { loss: 'nothing of this step is saved', weights: 'nothing of this step is saved' }, todo: 'resume from the newest checkpoint with a lower --lr, or check the model' };
  const err = (message: string) => (e: unknown) => e instanceof UserError && e.message === message;
  refuseNonFiniteLoss(words, 3, 0.5, 2);
  refuseNonFiniteLoss(words, 3, -0);
  assert.throws(() => refuseNonFiniteLoss(words, 3, 0.5, NaN), err('train: the loss is 0.5 and the gradient norm NaN at step 3 (diverged, or the model\'s weights are not finite); nothing of this step is saved: resume from the newest checkpoint with a lower --lr, or check the model'));
  assert.throws(() => refuseNonFiniteLoss({ ...words, cmd: 'sft', unsaved: { loss: 'out is not written with it', weights: '' }, todo: 'lower --lr' }, 1, -Infinity), err('sft: the loss is -Infinity at step 1 (diverged, or the model\'s weights are not finite); out is not written with it: lower --lr'));
  const { model } = await loadModel((await setup).model);
  try {
    await refuseNonFiniteWeights(words, model, 2);
    const second = [...model.params.keys()][1];
    model.params.get(second)!.assign(tf.fill(model.params.get(second)!.shape, Infinity));
    await assert.rejects(refuseNonFiniteWeights({ ...words, unsaved: { loss: '', weights: 'out is not written with them' } }, model, 2), err(`train: the weights are not finite after step 2 (${second}; diverged); out is not written with them: resume from the newest checkpoint with a lower --lr, or check the model`));
  } finally {
    model.dispose();
  }
});

test('openSampler onnx samples the weights as they are when opened (a new snapshot after an update)', async () => {
  const { model: dirModel } = await setup;
  const { loadModel } = await import('../src/model/weights.ts');
  const { generate } = await import('../src/model/sample.ts');
  const { openSampler } = await import('../src/model/engine.ts');
  const { Rng } = await import('../src/util/rng.ts');
  const { model } = await loadModel(dirModel);
  const prompts = [[0, 5, 6, 7]];
  const opts = () => ({ maxNewTokens: 8, temperature: 0, topP: 1, topK: 0, stopTokens: [], rng: new Rng(1) });
  const viaOnnx = async () => { const s = await openSampler(model, 'onnx'); try { return (await s.generate(prompts, opts())).tokens; } finally { await s.release(); } };
  const before = await viaOnnx();
  assert.deepEqual(before, (await generate(model, prompts, opts())).tokens);
  for (const v of model.params.values()) tf.tidy(() => v.assign(tf.mul(v, -1.5)));
  const after = await viaOnnx();
  assert.deepEqual(after, (await generate(model, prompts, opts())).tokens);
  assert.notDeepEqual(after, before, 'the update changed no greedy token: the test cannot tell a stale snapshot');
  model.dispose();
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
  // The checkpoint resumed from is read (and hashed) once: a real one can hold GBs of weights and moments.
  const { reads } = await countReads((f) => f.endsWith(path.join('ckpt-000002', 'tensors.safetensors')),
    () => train({ model, data, out: run, resume: true, config: {}, log: (l) => lines.push(l), score: fakeScore, stopAfter: 1 }));
  assert.equal(reads, 1, 'the checkpoint resumed from was read more than once');
  assert.ok(lines.some((l) => /resumed from .*ckpt-000002 at step 2/.test(l)), lines.join('\n'));
  assert.equal(metrics(run).length, 3);
});

test('train --resume: checkpoints record their state version; a --curriculum none or adaptive checkpoint of an older pr-rl (no version; for none, no tokenizer hash either: none drew at random then) gets a note that the picks changed', async () => {
  const { data, model } = await setup;
  const run = path.join(dir, 'runNone');
  const note = /^train: note: this checkpoint is from an older pr-rl \(it records no tokenizer hash\), whose --curriculum none may have drawn tasks at random; the rest of the run takes them in input order$/;
  await train({ model, data, out: run, resume: false, config: { ...base, steps: 4, curriculum: 'none' }, log: quiet, score: fakeScore, stopAfter: 1 });
  const lines: string[] = [];
  const resume = async (stopAfter?: number) => {
    lines.length = 0;
    await train({ out: run, resume: true, config: {}, log: (l) => lines.push(l), score: fakeScore, stopAfter });
    return lines.filter((l) => note.test(l)).length;
  };
  assert.equal(await resume(1), 0, lines.join('\n'));
  assert.ok(lines.some((l) => /resumed from .*ckpt-000001/.test(l)), lines.join('\n'));
  // The newest checkpoint's state.json edited as another pr-rl would have written it (meta.json hashes it anew).
  const rewrite = (edit: (state: Record<string, unknown>) => Record<string, unknown>) => {
    const ck = loadLatestCheckpoint(path.join(run, 'checkpoints'))!.dir;
    const stateFile = path.join(ck, 'state.json');
    const bytes = Buffer.from(JSON.stringify(edit(JSON.parse(fs.readFileSync(stateFile, 'utf8')))) + '\n');
    fs.writeFileSync(stateFile, bytes);
    const metaFile = path.join(ck, 'meta.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    meta.files['state.json'] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    return ck;
  };
  // A version-1 checkpoint took its tasks in input order, tokenizer hash or not: no note.
  rewrite(({ tokenizer, stateVersion, ...rest }) => {
    assert.deepEqual([typeof tokenizer, stateVersion], ['string', 1]);
    return { stateVersion, ...rest };
  });
  assert.equal(await resume(1), 0, lines.join('\n'));
  assert.ok(lines.some((l) => /resumed from .*ckpt-000002 at step 2/.test(l)), lines.join('\n'));
  // As an older pr-rl wrote it: no version and no tokenizer hash: the note, once, and the run goes on.
  rewrite(({ tokenizer, stateVersion, ...older }) => (void tokenizer, void stateVersion, older));
  assert.equal(await resume(), 1, lines.join('\n'));
  assert.ok(lines.some((l) => /resumed from .*ckpt-000003 at step 3/.test(l)), lines.join('\n'));
  assert.equal(metrics(run).length, 4);
  // A version this pr-rl does not know is not resumed (its state may mean something else).
  const ck = rewrite((state) => ({ ...state, stateVersion: 2 }));
  await assert.rejects(train({ out: run, resume: true, config: {}, log: quiet, score: fakeScore }),
    (e: Error) => e instanceof UserError && e.message === `${ck}: its training state is version 2, which this pr-rl does not know (it writes 1); resume with the pr-rl that wrote it, or use the checkpoint as a model`);
  // An adaptive run of an older pr-rl explored less: its resume says the picks change.
  const adaptiveNote = /^train: note: this checkpoint is from an older pr-rl, whose adaptive curriculum went back to tasks without reward spread before exploring new ones; the rest of the run explores until a group shows a spread$/;
  rewrite(({ stateVersion, config, ...older }) => (void stateVersion, { ...older, config: { ...(config as object), curriculum: 'adaptive' } }));
  lines.length = 0;
  await train({ out: run, resume: true, config: { steps: 5 }, log: (l) => lines.push(l), score: fakeScore });
  assert.equal(lines.filter((l) => adaptiveNote.test(l)).length, 1, lines.join('\n'));
  assert.equal(lines.filter((l) => note.test(l)).length, 0, lines.join('\n'));
  assert.equal(metrics(run).length, 5);
});

test('train: bad input gives one clear error', async () => {
  const { data, model } = await setup;
  const out = path.join(dir, 'bad');
  const err = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(train({ model, data, out, resume: false, config: { ...base, groupSize: 1 }, log: quiet }), err(/group-size/));
  await assert.rejects(train({ model: path.join(dir, 'nope'), data, out, resume: false, config: base, log: quiet }), err(/not a model folder|config\.json/));
  const empty = path.join(dir, 'empty.jsonl');
  await writeJsonlAtomic(empty, []);
  await assert.rejects(train({ model, data: empty, out, resume: false, config: base, log: quiet }), err(/no tasks/));
  await assert.rejects(train({ model, data, out, resume: false, config: { ...base, maxSeqLen: 20 }, log: quiet }), err(/max-seq-len/));
});

test('train: a fresh run refuses a folder holding a run or a model; --resume says which flags it keeps the run\'s for', async () => {
  const { data, model } = await setup;
  const run = path.join(dir, 'runUsed');
  const err = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  await train({ model, data, out: run, resume: false, config: { ...base, steps: 2 }, log: quiet, score: fakeScore });
  await assert.rejects(train({ model, data, out: run, resume: false, config: { ...base, steps: 2, seed: 9 }, log: quiet, score: fakeScore }),
    err(/runUsed: holds a run already \(checkpoints, final, metrics\.jsonl, config\.json\); continue it with --resume/));
  const config = fs.readFileSync(path.join(model, 'config.json'));
  await assert.rejects(train({ model, data, out: model, resume: false, config: base, log: quiet, score: fakeScore }), err(/: a model folder \(config\.json, model\.safetensors\); give --out a new folder/));
  assert.deepEqual(fs.readFileSync(path.join(model, 'config.json')), config, 'the model folder was written to');
  // A --resume with no checkpoint starts afresh, and so refuses a model folder as a fresh run does.
  await assert.rejects(train({ model, data, out: model, resume: true, config: base, log: quiet, score: fakeScore }), err(/: a model folder \(config\.json, model\.safetensors\); give --out a new folder/));
  assert.deepEqual(fs.readFileSync(path.join(model, 'config.json')), config, 'the model folder was written to');
  const lines: string[] = [];
  const other = path.join(dir, 'otherModel');
  fs.cpSync(model, other, { recursive: true });
  await train({ model: other, data, out: run, resume: true, config: { steps: 3, lr: 0.5, seed: 9, backend: 'wasm' }, log: (l) => lines.push(l), score: fakeScore });
  assert.match(lines.join('\n'), /--resume keeps the run's settings \(only --steps, --backend and --engine may change\); ignored: --lr 0\.5 \(the run's: 0\.01\), --seed 9 \(the run's: \d+\)/);
  assert.match(lines.join('\n'), /note: --backend wasm \(the run's: cpu\): the rest of the run may differ from an uninterrupted one by float rounding/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')).backend, 'wasm');
  assert.match(lines.join('\n'), /--resume keeps the run's model .* \(its tokenizer\); ignored: --model .*otherModel/);
  assert.deepEqual(metrics(run).map((m) => m.step), [1, 2, 3]);
  await assert.rejects(train({ model, data, out: path.join(dir, 'greedy'), resume: false, config: { ...base, temperature: 0 }, log: quiet }), err(/--temperature must be > 0/));
  // Groups too large to sample are one line before any work (they overflowed the call stack, and left a run folder behind).
  await assert.rejects(train({ model, data, out: path.join(dir, 'huge'), resume: false, config: { ...base, groupSize: 200_000 }, log: quiet }), err(/--group-size must be an integer in \[2, 1024\]/));
  assert.ok(!fs.existsSync(path.join(dir, 'huge')));
  const { resolveEvalConfig } = await import('../src/eval/evaluate.ts');
  assert.throws(() => resolveEvalConfig({ k: 1_000_000 }), err(/^eval: --k must be an integer in \[0, 1024\]/));
  // A run another live process is writing is refused (the test runner's pid stands in for it); a lock
  // whose process is gone is taken over.
  fs.writeFileSync(path.join(run, '.lock'), `${process.ppid}\n`);
  await assert.rejects(train({ model, data, out: run, resume: true, config: { steps: 4 }, log: quiet, score: fakeScore }), err(new RegExp(`runUsed: another pr-rl train \\(pid ${process.ppid}\\) is writing this run`)));
  const { spawnSync } = await import('node:child_process');
  const gone = spawnSync('true').pid!;
  fs.writeFileSync(path.join(run, '.lock'), `${gone}\n`);
  await train({ model, data, out: run, resume: true, config: { steps: 4 }, log: quiet, score: fakeScore });
  assert.deepEqual(metrics(run).map((m) => m.step), [1, 2, 3, 4]);
  assert.ok(!fs.existsSync(path.join(run, '.lock')), 'the lock is released at the end');
  assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')).steps, 4, "the run's config.json says how far it now goes");
  // --steps on resume: checked as a fresh run's, and never below the run's step.
  await assert.rejects(train({ model, data, out: run, resume: true, config: { steps: 2 }, log: quiet, score: fakeScore }), err(/--steps 2 is below the run's step 4: a run cannot be shortened; give --steps 4 or more/));
  await assert.rejects(train({ model, data, out: run, resume: true, config: { steps: 0 }, log: quiet, score: fakeScore }), err(/--steps must be an integer ≥ 1 \(got 0\)/));
  // A --heldout given on resume of a run that had none is named as ignored (its evals would start midway).
  const more: string[] = [];
  await train({ model, data, heldout: data, out: run, resume: true, config: { steps: 5 }, log: (l) => more.push(l), score: fakeScore });
  assert.match(more.join('\n'), /the run has no held-out tasks: ignored: --heldout /);
  assert.equal(metrics(run).filter((m) => m.kind === 'eval').length, 0);
  // Nothing to resume: no run at all, or a run stopped before its first checkpoint and no --model/--data to start it again.
  await assert.rejects(train({ out: path.join(dir, 'noSuchRun'), resume: true, config: {}, log: quiet }), err(/noSuchRun: no run to resume \(no config\.json or checkpoint\); start one without --resume/));
  const early = path.join(dir, 'runEarly');
  fs.mkdirSync(early);
  fs.copyFileSync(path.join(run, 'config.json'), path.join(early, 'config.json'));
  await assert.rejects(train({ out: early, resume: true, config: {}, log: quiet }), err(/runEarly: the run stopped before its first checkpoint, so there is nothing to resume; start it again with --model and --data/));
  // A run folder given as the model to start from is named as one.
  await assert.rejects(train({ model: run, data, out: path.join(dir, 'fromRun'), resume: false, config: base, log: quiet, score: fakeScore }), err(/runUsed: a GRPO run folder, not a model folder; give .*runUsed\/final/));
});

test('train --resume without --heldout goes on evaluating on the run\'s held-out tasks', async () => {
  const { data, model } = await setup;
  const cfg = { ...base, steps: 2, evalEvery: 1, evalTasks: 2, ckptEvery: 1 };
  const whole = path.join(dir, 'runH1');
  const split = path.join(dir, 'runH2');
  await train({ model, data, heldout: data, out: whole, resume: false, config: cfg, log: quiet, score: fakeScore });
  await train({ model, data, heldout: data, out: split, resume: false, config: cfg, log: quiet, score: fakeScore, stopAfter: 1 });
  const lines: string[] = [];
  await train({ model, data, out: split, resume: true, config: {}, log: (l) => lines.push(l), score: fakeScore });
  assert.match(lines.join('\n'), /held-out tasks of the run: /);
  const evalSteps = (run: string) => metrics(run).filter((m) => m.kind === 'eval').map((m) => m.step);
  assert.deepEqual(evalSteps(whole), [1, 2]);
  assert.deepEqual(metrics(split), metrics(whole));
});

/** `pr-rl train` in a child process; `onLine` sees stderr as it comes and may signal the child. */
function trainCli(args: string[], onLine: (stderr: string, child: ChildProcess) => void): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'train', '--backend', 'cpu', '--group-size', '3', '--prompts-per-step', '2', '--max-seq-len', '256', '--eval-every', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b; onLine(stderr, child); });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr }))); // 'close': after stderr's last bytes
}

test('train CLI: Ctrl-C checkpoints after the current step and ends by SIGINT, --resume goes on from there; a second Ctrl-C quits at once', { timeout: 120_000 }, async () => {
  const { data, model } = await setup;
  const run = path.join(dir, 'runSig');
  const common = ['--model', model, '--data', data, '--out', run, '--max-new-tokens', '6', '--ckpt-every', '1000'];
  let sent = false;
  const a = await trainCli([...common, '--steps', '1000'], (err, child) => { if (!sent && /^step 2\//m.test(err)) { sent = true; child.kill('SIGINT'); } });
  assert.equal(a.signal, 'SIGINT', a.stderr);
  assert.match(a.stderr, /SIGINT received, checkpointing after this step/);
  const k = Number(/stopped by SIGINT at step (\d+)\/1000/.exec(a.stderr)?.[1]);
  assert.ok(k >= 2 && k < 1000, a.stderr);
  assert.equal(loadLatestCheckpoint(path.join(run, 'checkpoints'))?.step, k, 'a checkpoint of the last step, though --ckpt-every is 1000');
  assert.equal(metrics(run).length, k);
  assert.ok(!fs.existsSync(path.join(run, 'final')));
  const b = await trainCli([...common, '--steps', String(k + 2), '--resume'], () => {});
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, new RegExp(`resumed from .*ckpt-0*${k} at step ${k}`));
  assert.equal(metrics(run).length, k + 2);
  assert.ok(fs.existsSync(path.join(run, 'final', 'model.safetensors')));
  // Long steps (120 new tokens on the cpu backend: seconds): the second Ctrl-C does not wait for the step. The
  // first is sent as step 1's line comes, so it is seen early in step 2's sampling; train sees signals every
  // few tokens, so most of the step is left when the second comes. Now and then (a loaded machine) the first
  // lands while step 1 is still ending, and the run stops there before the second: that try shows nothing,
  // and is made again. (Two signals in one turn of the event loop: util.test.ts's stopOnSignal test.)
  let c: Awaited<ReturnType<typeof trainCli>> | undefined;
  let run2 = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    run2 = path.join(dir, `runSig2-${attempt}`);
    let n = 0;
    c = await trainCli(['--model', model, '--data', data, '--out', run2, '--max-new-tokens', '120', '--ckpt-every', '1000', '--steps', '1000'], (err, child) => {
      if (n === 0 && /^step 1\//m.test(err)) { n = 1; child.kill('SIGINT'); }
      if (n === 1 && /SIGINT received/.test(err)) { n = 2; child.kill('SIGINT'); }
    });
    assert.equal(n, 2, c.stderr);
    if (!/stopped by SIGINT at step 1\//.test(c.stderr)) break;
  }
  assert.equal(c!.signal, 'SIGINT', c!.stderr);
  assert.doesNotMatch(c!.stderr, /stopped by SIGINT|^step 2\//m, 'the second Ctrl-C waited for the step to end');
  assert.equal(loadLatestCheckpoint(path.join(run2, 'checkpoints')), null);
  assert.ok(!fs.existsSync(path.join(run2, '.lock')), 'the run\'s lock is left behind');
});

test('sft: an empty task file, no task that fits, or an --out holding a model is one clear error, and nothing is written', async () => {
  const { data, model } = await setup;
  const out = path.join(dir, 'sft-bad');
  const err = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  const empty = path.join(dir, 'sft-empty.jsonl');
  await writeJsonlAtomic(empty, []);
  await assert.rejects(sft({ model, data: empty, out, config: { backend: 'cpu', steps: 1 }, log: quiet }), err(new RegExp(`^${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no tasks$`)));
  await assert.rejects(sft({ model, data, out, config: { backend: 'cpu', steps: 1, maxSeqLen: 16 }, log: quiet }), err(/none of the 24 tasks fits in --max-seq-len 16 .*; raise --max-seq-len or use smaller tasks$/));
  // When the model's context is the limit, the hint says so (raising --max-seq-len cannot help).
  const { encodeTasks } = await import('../src/rl/sequences.ts');
  const { seqLimit } = await import('../src/config.ts');
  const { loadTokenizer } = await import('../src/tokenizer/load.ts');
  const { readTasks } = await import('../src/data/task.ts');
  const tok = await loadTokenizer(model);
  const all = await readTasks(data);
  assert.throws(() => encodeTasks(tok, all, seqLimit(4096, 16), 'd.jsonl'),
    err(/^d\.jsonl: none of the 24 tasks fits in the model's context of 16 tokens \(max_position_embeddings\) \(prompt \+ answer\); use a model with a longer context or use smaller tasks$/));
  assert.equal(encodeTasks(tok, all, seqLimit(4096, 100_000)).kept.length, 24);
  assert.ok(!fs.existsSync(out), 'no output folder for a run that never started');
  await assert.rejects(sft({ model, data, out: data, config: { backend: 'cpu', steps: 1 }, log: quiet }), err(/: a file, not a folder; give --out a folder$/));
  const run = path.join(dir, 'sft-into-run');
  fs.mkdirSync(path.join(run, 'checkpoints'), { recursive: true });
  await assert.rejects(sft({ model, data, out: run, force: true, config: { backend: 'cpu', steps: 1 }, log: quiet }), err(/^sft: .* holds a GRPO run \(checkpoints\); give --out a new folder$/));
  // A folder holding a model (here the starting model itself) is written over only with force.
  const before = fs.readFileSync(path.join(model, 'model.safetensors'));
  await assert.rejects(sft({ model, data, out: model, config: { backend: 'cpu', steps: 1 }, log: quiet }), err(/^sft: .* already holds a model; give --out a new folder, or --force/));
  assert.deepEqual(fs.readFileSync(path.join(model, 'model.safetensors')), before);
  // Weights without config.json are a save that did not finish (a full disk): no model, so written over without force.
  const half = path.join(dir, 'sft-half');
  fs.mkdirSync(half);
  fs.writeFileSync(path.join(half, 'model.safetensors'), before.subarray(0, 100));
  await sft({ model, data, out: half, config: { backend: 'cpu', steps: 1, batchSize: 2 }, log: quiet });
  assert.ok(fs.existsSync(path.join(half, 'config.json')));
});

test('sft CLI: Ctrl-C saves the model after the current step and ends by SIGINT; the folder is that step\'s model', { timeout: 60_000 }, async () => {
  const { data, model } = await setup;
  const out = path.join(dir, 'sft-sig');
  // A constant LR, so that k steps of a 1000-step run are k steps of a k-step run.
  const flags = ['--backend', 'cpu', '--batch-size', '2', '--lr', '1e-2', '--schedule', 'constant', '--warmup', '0', '--max-seq-len', '256', '--save-every', '0'];
  const child = spawn(process.execPath, [CLI, 'sft', '--model', model, '--data', data, '--out', out, '--steps', '1000', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b;
    if (!sent && /^sft 1\/1000 /m.test(stderr)) { sent = true; child.kill('SIGINT'); }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGINT', stderr);
  assert.match(stderr, /sft: SIGINT received, saving the model after this step/);
  const k = Number(/stopped by SIGINT at step (\d+)\/1000; .* holds the model at step \1/.exec(stderr)?.[1]);
  assert.ok(k >= 1 && k < 1000, stderr);
  assert.match(stderr, new RegExp(`^sft ${k}/1000 \\|`, 'm'), 'the last step is logged');
  const metrics = fs.readFileSync(path.join(out, 'sft-metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics[metrics.length - 1].step, k);
  // The folder loads as a model, and it is the model of k steps.
  const { loadModel } = await import('../src/model/weights.ts');
  const loaded = await loadModel(out);
  loaded.model.dispose();
  const ref = path.join(dir, 'sft-sig-ref');
  await sft({ model, data, out: ref, config: { backend: 'cpu', steps: k, batchSize: 2, lr: 1e-2, schedule: 'constant', warmup: 0, maxSeqLen: 256, saveEvery: 0 }, log: quiet });
  assert.deepEqual(fs.readFileSync(path.join(out, 'model.safetensors')), fs.readFileSync(path.join(ref, 'model.safetensors')));
});

test('pickTasks: the paced window never narrows (a resume that raises --steps goes on from the window reached); none walks the input in order', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => ({ i }) as unknown as EncodedTask);
  const at = (picked: EncodedTask[]) => picked.map((t) => (t as unknown as { i: number }).i);
  const rng = new Rng(3);
  const state: TrainState = { step: 0, rng: rng.state(), adaptive: null, rewardEma: null, tokensSeen: 0, seconds: 0 };
  const four = resolveTrainConfig({ steps: 4, pacing: 'step', pacingStart: 0.1, promptsPerStep: 4 });
  assert.ok(at(pickTasks(sorted, four, state, rng, null)).every((i) => i < 10), 'the first step draws from the first tenth');
  state.step = 3; // the last step of a 4-step run: the whole window
  pickTasks(sorted, four, state, rng, null);
  assert.equal(state.paced, 1);
  // Resumed with --steps 12: progress 4/11 alone would open 32.5 %; the window stays whole.
  const twelve = resolveTrainConfig({ ...four, steps: 12, promptsPerStep: 16 });
  state.step = 4;
  const later = at(pickTasks(sorted, twelve, state, rng, null));
  assert.equal(state.paced, 1);
  assert.ok(later.some((i) => i >= 33), later.join(' '));
  // A fresh 12-step run is paced by its own progress.
  const fresh: TrainState = { ...state, step: 4, paced: undefined };
  assert.ok(at(pickTasks(sorted, twelve, fresh, rng, null)).every((i) => i < 33));
  // none: P tasks a step in input order, wrapping around.
  const none = resolveTrainConfig({ curriculum: 'none', promptsPerStep: 40 });
  assert.deepEqual(at(pickTasks(sorted, none, { ...state, step: 2 }, rng, null)), [...Array.from({ length: 20 }, (_, k) => 80 + k), ...Array.from({ length: 20 }, (_, k) => k)]);
});

test('damaged or changed model and run folders: one line each, never a stack trace or a silent wrong answer', async () => {
  const { data, model } = await setup;
  const err = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  // config.json that is JSON but no object.
  const nul = path.join(dir, 'nullConfig');
  fs.cpSync(model, nul, { recursive: true });
  fs.writeFileSync(path.join(nul, 'config.json'), 'null');
  const g = cli('generate', '--model', nul, '--task', 'hi', '--max-new-tokens', '2', '--backend', 'cpu');
  assert.equal(g.status, 1);
  assert.match(g.stderr, /^pr-rl: .*nullConfig\/config\.json: not a JSON object\n$/m);
  // An empty tokenizer.json: said so, not quoted from whatever the loader's buffer held.
  fs.cpSync(model, nul, { recursive: true });
  fs.writeFileSync(path.join(nul, 'tokenizer.json'), '');
  await assert.rejects(loadTokenizer(nul), err(/tokenizer\.json: not valid JSON \(Unexpected end of JSON input\)$/));

  // A run whose model folder got another tokenizer after the checkpoints were written: refused, not decoded wrongly.
  const mA = path.join(dir, 'modelA');
  fs.cpSync(model, mA, { recursive: true });
  const run = path.join(dir, 'runTok');
  await train({ model: mA, data, out: run, resume: false, config: { ...base, steps: 2, ckptEvery: 1 }, log: quiet, score: fakeScore });
  const ckpt = loadLatestCheckpoint(path.join(run, 'checkpoints'))!.dir;
  const tj = path.join(mA, 'tokenizer.json');
  const tok = JSON.parse(fs.readFileSync(tj, 'utf8'));
  tok.added_tokens = [...(tok.added_tokens ?? [])]; // same vocabulary, other bytes: a changed file
  fs.writeFileSync(tj, JSON.stringify(tok, null, 1));
  await assert.rejects(openModel({ kind: 'checkpoint', dir: ckpt } as ModelRef), err(/is not the tokenizer this checkpoint was trained with/));
  await assert.rejects(train({ out: run, resume: true, config: { steps: 3 }, log: quiet, score: fakeScore }), err(/is not the tokenizer this checkpoint was trained with/));
  fs.cpSync(path.join(model, 'tokenizer.json'), tj);
  // init and tokenizer train never write into a run (nor a tokenizer over a model's own).
  const i = cli('init', '--tokenizer', model, '--out', run, '--force');
  assert.equal(i.status, 1);
  assert.match(i.stderr, /^pr-rl: init: .*runTok holds a GRPO run \(checkpoints, metrics\.jsonl\); give --out a new folder\n$/);
  assert.ok(!fs.existsSync(path.join(run, 'model.safetensors')));
  for (const out of [run, mA]) {
    const t = cli('tokenizer', 'train', '--data', data, '--out', out, '--force');
    assert.equal(t.status, 1, out);
    assert.match(t.stderr, /^pr-rl: tokenizer: .* holds a (GRPO run \(checkpoints, metrics\.jsonl\)|model, whose tokenizer is part of it); give --out a new folder\n$/);
  }
  // An adaptive run whose task file changed since its checkpoint: its curriculum state no longer fits, one line.
  const grown = path.join(dir, 'grown.jsonl');
  const lines = fs.readFileSync(data, 'utf8').trim().split('\n');
  fs.writeFileSync(grown, lines.slice(0, -1).join('\n') + '\n');
  const runAd = path.join(dir, 'runAdaptive');
  await train({ model, data: grown, out: runAd, resume: false, config: { ...base, steps: 2, ckptEvery: 1, curriculum: 'adaptive' }, log: quiet, score: fakeScore, stopAfter: 1 });
  fs.appendFileSync(grown, lines[lines.length - 1] + '\n');
  await assert.rejects(train({ out: runAd, resume: true, config: {}, log: quiet, score: fakeScore }),
    err(/grown\.jsonl: \d+ tasks fit, but the run's adaptive curriculum was saved for \d+: the tasks changed since the checkpoint; resume with the tasks the run was trained on$/));

  // Every checkpoint damaged: said so, not "stopped before its first checkpoint".
  for (const c of fs.readdirSync(path.join(run, 'checkpoints'))) fs.rmSync(path.join(run, 'checkpoints', c, 'DONE'));
  fs.rmSync(path.join(run, 'final'), { recursive: true });
  await assert.rejects(train({ model: mA, data, out: run, resume: true, config: {}, log: quiet, score: fakeScore }), err(/runTok: none of its 2 checkpoint\(s\) is usable \(see above\)/));

  // Weights that are not numbers: sft stops at the first loss it reads, and writes no model.
  const nan = path.join(dir, 'nanModel');
  const loaded = await loadModel(model);
  assert.equal(await nonFiniteParam(loaded.model), null);
  const second = [...loaded.model.params.keys()][1];
  loaded.model.params.get(second)!.assign(tf.fill(loaded.model.params.get(second)!.shape, Infinity));
  assert.equal(await nonFiniteParam(loaded.model), second, 'the weights a save is refused for');
  for (const v of loaded.model.params.values()) v.assign(tf.fill(v.shape, NaN));
  await saveModel(nan, loaded.model, model);
  loaded.model.dispose();
  const sftOut = path.join(dir, 'sftNan');
  await assert.rejects(sft({ model: nan, data, out: sftOut, config: { backend: 'cpu', steps: 3, batchSize: 2 }, log: quiet }), err(/^sft: the loss is NaN at step 1 /));
  assert.ok(!fs.existsSync(path.join(sftOut, 'model.safetensors')));
  await assert.rejects(train({ model: nan, data, out: path.join(dir, 'runNan'), resume: false, config: { ...base, steps: 2 }, log: quiet, score: fakeScore }), err(/^train: the loss is NaN and the gradient norm NaN at step 1 /));
});

// The GRPO training loop, flat and top to bottom: pick prompts (curriculum) → sample G completions
// each → reward → group advantages → loss/backward → AdamW step → log → checkpoint. All loop state
// lives in one TrainState that checkpoints save and restore whole, so a resumed run continues
// exactly. The losses live in grpo.ts, sampling in model/engine.ts (tfjs or onnx), scoring in reward.ts,
// what a fresh or resumed run trains with (checkpoint, files, settings) in run.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { REWARD_RANGE, seqLimit, type TrainConfig } from '../config.ts';
import { readTasks, taskSize, type Task } from '../data/task.ts';
import { orderTasks, pacing, pacedPrefix, AdaptiveSampler, type AdaptiveState } from '../data/curriculum.ts';
import { initBackend } from '../model/backend.ts';
import { loadModel, saveModel } from '../model/weights.ts';
import { paramShapes, tokenLogprobs, Transformer } from '../model/transformer.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/load.ts';
import { openSampler, type PolicySampler } from '../model/engine.ts';
import { OnnxGradients } from '../model/onnxtrain.ts';
import { AdamW, clipGradNorm, lrAt, packAdamW, unpackAdamW } from '../model/optim.ts';
import { advantages, grpoLoss, readStats, type GrpoStats } from './grpo.ts';
import { reward } from './reward.ts';
import { saveCheckpoint, loadCheckpoint, type LoadedCheckpoint, type TensorData } from './checkpoint.ts';
import { encodeTasks, packBatch, type EncodedTask } from './sequences.ts';
import { refuseNonFiniteLoss, refuseNonFiniteWeights, type DivergedWords } from './diverged.ts';
import { TRAIN_STATE_VERSION, checkTokenizer, lockRun, resolveRun, tokenizerHash, type SavedState } from './run.ts';
import { Rng, type RngState } from '../util/rng.ts';
import { Interrupted, UserError, stopOnSignal, turnEventLoop } from '../util/errors.ts';
import { fmtDuration } from '../util/progress.ts';
import { cannotWrite, makeDir, writeFileAtomic } from '../util/fsx.ts';
import { meanCI } from '../eval/stats.ts';

export interface TrainOptions {
  /** The model to start from; on --resume the run's own (saved in its checkpoints) is used. */
  model?: string;
  /** The training tasks; on --resume, the run's when not given. */
  data?: string;
  heldout?: string;
  out: string;
  resume: boolean;
  config: Partial<TrainConfig>;
  log?: (line: string) => void;
  /** Stop after this many steps of this invocation (tests: interrupt and resume). */
  stopAfter?: number;
  /** Scores a completion; default: the SWE-RL reward (reward.ts). Tests pass a fake with a dense signal. */
  score?: ScoreFn;
}

export type ScoreFn = (task: Task, completion: string) => { reward: number; formatOk: boolean; exact: boolean };

/** Everything the loop carries from step to step; saved and restored whole. */
export interface TrainState {
  step: number;
  /** The largest fraction of the sorted tasks the pacing has opened so far (absent in older checkpoints). */
  paced?: number;
  rng: RngState;
  adaptive: AdaptiveState | null;
  rewardEma: number | null;
  tokensSeen: number;
  seconds: number;
}


/** The model's parameters as named host arrays, for a checkpoint. */
async function paramTensors(model: Transformer, prefix: string): Promise<Record<string, TensorData>> {
  const out: Record<string, TensorData> = {};
  for (const [name, v] of model.params) out[prefix + name] = { shape: [...v.shape], data: ((await v.data()) as Float32Array).slice() };
  return out;
}

/**
 * The policy of a GRPO checkpoint folder (`<run>/checkpoints/ckpt-NNNNNN`), checksums verified, with the
 * tokenizer of the model folder the run started from; to evaluate or sample a run part way. `loaded` is
 * that folder already read and verified (loadLatestCheckpoint), not read again.
 */
export async function loadCheckpointModel(dir: string, loaded?: LoadedCheckpoint): Promise<{ model: Transformer; tokenizer: Tokenizer }> {
  const ck = (loaded?.dir === dir ? loaded : loadCheckpoint(dir)) as LoadedCheckpoint<Partial<SavedState>>;
  const { modelConfig, model: from } = ck.state;
  if (!modelConfig || typeof from !== 'string') {
    throw new UserError(`${dir}: this checkpoint does not name the model folder it started from (an older pr-rl wrote it); use the run's final/ or the model folder instead`);
  }
  if (!fs.existsSync(path.join(from, 'tokenizer.json'))) {
    throw new UserError(`${dir}: its tokenizer is that of ${from} (the run's --model), which has no tokenizer.json any more`);
  }
  checkTokenizer(ck.state, from, dir);
  const tokenizer = await loadTokenizer(from);
  const model = new Transformer(modelConfig);
  for (const [name, shape] of paramShapes(modelConfig)) {
    const t = ck.tensors['model.' + name];
    if (!t || t.shape.join() !== shape.join()) {
      model.dispose();
      throw new UserError(`${dir}: its tensors do not match its model config (model.${name})`);
    }
    const value = tf.tensor(t.data, shape, 'float32');
    model.params.set(name, tf.variable(value, true));
    value.dispose();
  }
  return { model, tokenizer };
}

/** Restores parameters saved by paramTensors. */
function assignParams(model: Transformer, tensors: Record<string, TensorData>, prefix: string, where: string): void {
  for (const [name, v] of model.params) {
    const t = tensors[prefix + name];
    if (!t || t.data.length !== v.size) throw new UserError(`${where}: checkpoint does not match the model (${prefix + name}); resume with the same --model`);
    v.assign(tf.tensor(t.data, v.shape, 'float32'));
  }
}

interface StepRecord {
  step: number;
  reward_mean: number;
  reward_std: number;
  format_ok: number;
  exact: number;
  frac_reward_zero_std: number;
  kl: number;
  clip_ratio: number;
  completion_len: number;
  truncated: number;
  tokens_per_s: number;
  task_size: number;
  lr: number;
  loss: number;
  grad_norm: number;
  seconds: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const std = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

/** Picks this step's prompts from the curriculum's available window (exported for tests). */
export function pickTasks(sorted: EncodedTask[], cfg: TrainConfig, state: TrainState, rng: Rng, adaptive: AdaptiveSampler | null): EncodedTask[] {
  const P = cfg.promptsPerStep;
  if (adaptive) return adaptive.sample(P, rng).map((i: number) => sorted[i]);
  // none: the tasks in input order, P a step, from the top again after the last.
  if (cfg.curriculum === 'none') return Array.from({ length: P }, (_, i) => sorted[(state.step * P + i) % sorted.length]);
  let window = sorted;
  if (cfg.curriculum !== 'random') {
    // Never narrower than a window already opened: a resume that raises --steps stretches the rest of the pacing, it does not go back.
    state.paced = Math.max(state.paced ?? 0, pacing(state.step / Math.max(1, cfg.steps - 1), { kind: cfg.pacing, start: cfg.pacingStart }));
    window = pacedPrefix(sorted, state.paced, P);
  }
  const picked: EncodedTask[] = [];
  for (let i = 0; i < P; i++) picked.push(window[rng.int(window.length)]);
  return picked;
}

/** Greedy evaluation of the current policy on a fixed held-out sample: mean reward ± 95 % CI. */
async function quickEval(sampler: PolicySampler, tasks: EncodedTask[], cfg: TrainConfig, eosId: number, decode: (ids: number[]) => string, score: ScoreFn) {
  const rewards: number[] = [];
  let fmt = 0;
  let exact = 0;
  for (const t of tasks) {
    const { tokens } = await sampler.generate([t.prompt], {
      maxNewTokens: cfg.maxNewTokens, temperature: 0, topP: 1, topK: 0, stopTokens: [eosId], rng: new Rng(0),
    });
    const r = score(t.task, decode(tokens[0]));
    rewards.push(r.reward);
    fmt += r.formatOk ? 1 : 0;
    exact += r.exact ? 1 : 0;
  }
  const n = rewards.length;
  const ci = meanCI(rewards, REWARD_RANGE);
  // The interval's ends, not a ± half-width: the Wilson interval of an all-equal reward is not symmetric.
  return { reward_mean: ci.mean, reward_lo: ci.lo, reward_hi: ci.hi, format_ok: fmt / n, exact: exact / n, n };
}

export async function train(opts: TrainOptions): Promise<{ steps: number; last: StepRecord | null }> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const ckptDir = path.join(opts.out, 'checkpoints');
  const { saved, modelDir, dataFile, heldoutFile, cfg } = resolveRun(opts, log);
  await initBackend(cfg.backend, log);

  const tokenizerSha = tokenizerHash(modelDir); // checked against the checkpoint's, and recorded in the next ones
  if (saved) checkTokenizer(saved.state, modelDir, saved.dir, tokenizerSha);
  const { model, tokenizer } = await loadModel(modelDir);
  const ref = cfg.beta > 0 ? (await loadModel(modelDir)).model : null;
  const onnx = cfg.engine === 'onnx' ? await OnnxGradients.create(model) : null;
  if (saved) {
    assignParams(model, saved.tensors, 'model.', saved.dir);
    if (ref) assignParams(ref, saved.tensors, 'ref.', saved.dir);
  }
  const limit = seqLimit(cfg.maxSeqLen, model.config.max_position_embeddings);
  const maxLen = limit.len;
  const tasks = await readTasks(dataFile);
  if (tasks.length === 0) throw new UserError(`${dataFile}: no tasks`);
  // Leave room for the completion: a prompt must fit with maxNewTokens after it.
  const { kept, tooLong } = encodeTasks(tokenizer, tasks, limit, dataFile, cfg.rewardMode);
  const usable = kept.filter((e) => e.prompt.length + cfg.maxNewTokens + 1 <= maxLen);
  if (usable.length === 0)
    throw new UserError(`${dataFile}: no task's prompt fits in ${limit.name} with --max-new-tokens ${cfg.maxNewTokens}; ${limit.raise}, lower --max-new-tokens or use smaller tasks`);
  const byTask = new Map(usable.map((e) => [e.task, e]));
  const sorted = orderTasks(usable.map((e) => e.task), cfg.curriculum === 'adaptive' ? 'size' : cfg.curriculum, new Rng(cfg.seed ^ 0x5eed))
    .map((t) => byTask.get(t)!);
  const heldout = heldoutFile ? encodeTasks(tokenizer, await readTasks(heldoutFile), limit, heldoutFile, cfg.rewardMode).kept
    .filter((e) => e.prompt.length + cfg.maxNewTokens + 1 <= maxLen).slice(0, cfg.evalTasks) : [];
  log(`train: ${sorted.length} tasks (${tooLong + kept.length - usable.length} too long for ${maxLen} tokens skipped), curriculum ${cfg.curriculum}, ${cfg.steps} steps × ${cfg.promptsPerStep} prompts × ${cfg.groupSize} samples`);

  const opt = new AdamW(model.trainableVariables(), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const state: TrainState = saved
    ? saved.state.loop
    : { step: 0, rng: new Rng(cfg.seed).state(), adaptive: null, rewardEma: null, tokensSeen: 0, seconds: 0 };
  if (saved) opt.load(unpackAdamW(saved.tensors, saved.state.optimizerStep));
  const savedFor = state.adaptive?.spread.length;
  if (cfg.curriculum === 'adaptive' && savedFor !== undefined && savedFor !== sorted.length)
    throw new UserError(`${dataFile}: ${sorted.length} tasks fit, but the run's adaptive curriculum was saved for ${savedFor}: the tasks changed since the checkpoint; resume with the tasks the run was trained on`);
  const adaptive = cfg.curriculum === 'adaptive' ? new AdaptiveSampler(sorted.length, state.adaptive ?? undefined) : null;

  try { makeDir(opts.out); } catch (e) { throw cannotWrite(opts.out, e); }
  const unlock = lockRun(opts.out); // before anything of the run is written
  const metricsFile = path.join(opts.out, 'metrics.jsonl');
  const samplesFile = path.join(opts.out, 'samples.jsonl');
  if (!saved) {
    writeFileAtomic(metricsFile, '');
    writeFileAtomic(samplesFile, '');
    writeFileAtomic(path.join(opts.out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  } else {
    // Drop records past the checkpoint so the log equals an uninterrupted run's.
    for (const f of [metricsFile, samplesFile]) {
      const lines = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
      // A line cut short (a kill -9 or a full disk mid-write) is past the checkpoint too: dropped.
      const step = (l: string) => { try { return (JSON.parse(l) as { step?: unknown }).step; } catch { return undefined; } };
      writeFileAtomic(f, lines.filter((l) => { const k = step(l); return typeof k === 'number' && k <= state.step; }).map((l) => l + '\n').join(''));
    }
    writeFileAtomic(path.join(opts.out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n'); // the settings this resume runs with (an earlier resume may have written others)
    log(`train: resumed from ${saved.dir} at step ${state.step}`);
  }

  // A SIGINT/SIGTERM ends the run after the current step and its checkpoint (train() then throws
  // Interrupted); a second one quits at once, leaving the newest complete checkpoint (they are atomic).
  const stop = stopOnSignal((sig) => log(`train: ${sig} received, checkpointing after this step (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again quits without it)`), unlock);

  // The loss checked after each step is the policy's before that step's update: what is written is checked too.
  // The update is applied by then and the weights may no longer be numbers: nothing after that is worth saving.
  const diverged: DivergedWords = { cmd: 'train', unsaved: { loss: 'nothing of this step is saved', weights: 'nothing of this step is saved' }, todo: 'resume from the newest checkpoint with a lower --lr, or check the model' };
  const checkpoint = async () => {
    await refuseNonFiniteWeights(diverged, model, state.step);
    const optState = await opt.state();
    const tensors = { ...packAdamW(optState, opt.shapes()), ...(await paramTensors(model, 'model.')), ...(ref ? await paramTensors(ref, 'ref.') : {}) };
    const savedState: SavedState = { stateVersion: TRAIN_STATE_VERSION, config: cfg, loop: { ...state }, optimizerStep: optState.step, modelConfig: model.config, model: path.resolve(modelDir), data: path.resolve(dataFile),
      ...(heldoutFile ? { heldout: path.resolve(heldoutFile) } : {}), ...(tokenizerSha ? { tokenizer: tokenizerSha } : {}) };
    saveCheckpoint(ckptDir, state.step, { tensors, state: savedState }, cfg.keepLast);
  };

  let last: StepRecord | null = null;
  let ran = 0;
  const decode = (ids: number[]) => tokenizer.decode(ids);
  const score: ScoreFn = opts.score ?? ((task, text) => reward(task, text, { mode: cfg.rewardMode }));
  try {
    while (state.step < cfg.steps && !stop.signal && (opts.stopAfter === undefined || ran < opts.stopAfter)) {
      const t0 = Date.now();
      const rng = new Rng(state.rng);
      const batch = pickTasks(sorted, cfg, state, rng, adaptive);
      if (adaptive) {
        // Say what the adaptive curriculum chose and why (its running reward spread; "new" = not yet tried).
        const why = batch.map((e) => {
          const sp = adaptive.spreadOf(sorted.indexOf(e));
          return `${e.task.id} (${sp === null ? 'new' : `spread ${sp.toFixed(2)}`})`;
        });
        log(`adaptive @${state.step + 1}: ${why.join(', ')}`);
      }

      // Rollouts: G samples per prompt, scored on the host.
      const pairs: { prompt: number[]; completion: number[] }[] = [];
      const rewards: number[] = [];
      const truncated: boolean[] = [];
      let fmt = 0;
      let exact = 0;
      const samples: object[] = [];
      const sampler = await openSampler(model, cfg.engine); // the weights after the last update
      try {
        for (const e of batch) {
          await turnEventLoop(); // a signal is seen within this step
          const out = await sampler.generate(Array.from({ length: cfg.groupSize }, () => e.prompt), {
            maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topP: cfg.topP, topK: cfg.topK,
            stopTokens: [tokenizer.eosId], rng,
          });
          const groupRewards: number[] = [];
          out.tokens.forEach((toks, i) => {
            const text = decode(toks);
            const r = score(e.task, text);
            groupRewards.push(r.reward);
            fmt += r.formatOk ? 1 : 0;
            exact += r.exact ? 1 : 0;
            truncated.push(out.truncated[i]);
            pairs.push({ prompt: e.prompt, completion: out.truncated[i] ? toks : [...toks, tokenizer.eosId] });
            if (i === 0) samples.push({ step: state.step + 1, task_id: e.task.id, reward: r.reward, completion: text });
          });
          rewards.push(...groupRewards);
          adaptive?.update(sorted.indexOf(e), groupRewards);
        }
      } finally {
        await sampler.release();
      }
      const { adv, fracZeroStd } = advantages(rewards, cfg.groupSize, { scaleStd: cfg.scaleStd, level: 'group', eps: 1e-4 });

      // Policy update: μ passes over this batch of rollouts, one micro-batch per group. A group's G
      // completions share one prompt (no padding inside it), logits are computed only from the
      // prompt's last token on, and memory stays bounded by G sequences whatever promptsPerStep is.
      const G = cfg.groupSize;
      const counted = (i: number) => !(cfg.maskTruncated && truncated[i]);
      const batchInfo = { seqs: pairs.length, tokens: pairs.reduce((n, p, i) => n + (counted(i) ? p.completion.length : 0), 0) };
      const micro = batch.map((e, g) => {
        const packed = packBatch(pairs.slice(g * G, (g + 1) * G), tokenizer.padId, e.prompt.length - 1);
        const from = e.prompt.length - 1;
        return {
          packed, from,
          adv: adv.slice(g * G, (g + 1) * G),
          truncated: truncated.slice(g * G, (g + 1) * G),
          oldLogp: cfg.mu > 1 ? tf.tidy(() => tokenLogprobs(model, packed.ids, from)) : undefined, // [G, T-1-from]
          refLogp: ref ? tf.tidy(() => tokenLogprobs(ref, packed.ids, from)) : undefined, // [G, T-1-from]
        };
      });
      const lr = lrAt(state.step, { kind: 'constant', warmup: cfg.warmup, total: cfg.steps, lr: cfg.lr, minLrFrac: 1 });
      let lossV = 0;
      let gradNorm = 0;
      let klV = 0;
      let clipV = 0;
      for (let it = 0; it < cfg.mu && batchInfo.tokens > 0; it++) {
        const acc: tf.NamedTensorMap = {};
        const last = it === cfg.mu - 1;
        let weighted = { loss: 0, kl: 0, clip: 0, tokens: 0 };
        for (const m of micro) {
          await turnEventLoop(); // a second Ctrl-C is seen between groups
          let st: GrpoStats | null = null;
          const loss = (logp: tf.Tensor2D) => {
            const res = grpoLoss({
              logp, oldLogp: m.oldLogp, refLogp: m.refLogp, adv: m.adv, mask: m.packed.mask,
              truncated: m.truncated, maskTruncated: cfg.maskTruncated, clipLow: cfg.clipLow, clipHigh: cfg.clipHigh,
              beta: cfg.beta, lossType: cfg.loss, maxLen: cfg.maxNewTokens + 1, batch: batchInfo,
            });
            st = res.stats;
            return res.loss;
          };
          const { value, grads } = onnx ? await onnx.lossGrads(model, m.packed.ids, m.from, loss, cfg.mu === 1 && !ref)
            : tf.variableGrads(() => loss(tokenLogprobs(model, m.packed.ids, m.from)));
          for (const [name, g] of Object.entries(grads)) {
            if (acc[name]) {
              const sum = tf.add(acc[name], g);
              tf.dispose([acc[name], g]);
              acc[name] = sum;
            } else acc[name] = g;
          }
          if (last) {
            // Micro-batch losses sum to the batch loss; stats are token-weighted means.
            const s = await readStats(st!);
            weighted = { loss: weighted.loss + (await value.data())[0], kl: weighted.kl + s.kl * s.tokens, clip: weighted.clip + s.clipRatio * s.tokens, tokens: weighted.tokens + s.tokens };
          } else tf.dispose(Object.values(st!));
          value.dispose();
        }
        const clipped = clipGradNorm(acc, cfg.maxGradNorm); // the norm is logged (and checked) with clipping off too
        opt.step(clipped.grads, lr);
        if (last) {
          lossV = weighted.loss;
          klV = weighted.tokens ? weighted.kl / weighted.tokens : 0;
          clipV = weighted.tokens ? weighted.clip / weighted.tokens : 0;
          gradNorm = (await clipped.norm.data())[0];
        }
        tf.dispose(Object.values(acc));
        if (clipped.grads !== acc) tf.dispose(Object.values(clipped.grads));
        clipped.norm.dispose();
      }
      for (const m of micro) tf.dispose([m.packed.ids, m.packed.mask, ...(m.oldLogp ? [m.oldLogp] : []), ...(m.refLogp ? [m.refLogp] : [])]);
      const tokensThisStep = micro.reduce((n, m) => n + m.packed.tokens, 0);

      state.step++;
      state.rng = rng.state();
      state.adaptive = adaptive ? adaptive.state() : null;
      const rm = mean(rewards);
      state.rewardEma = state.rewardEma === null ? rm : 0.9 * state.rewardEma + 0.1 * rm;
      const secs = (Date.now() - t0) / 1000;
      state.seconds += secs;
      state.tokensSeen += tokensThisStep;
      const N = rewards.length;
      const complLen = mean(pairs.map((p) => p.completion.length));
      last = {
        step: state.step, reward_mean: rm, reward_std: std(rewards), format_ok: fmt / N, exact: exact / N,
        frac_reward_zero_std: fracZeroStd, kl: klV, clip_ratio: clipV, completion_len: complLen,
        truncated: truncated.filter(Boolean).length / N, tokens_per_s: tokensThisStep / secs,
        task_size: mean(batch.map((e) => taskSize(e.task))), lr, loss: lossV, grad_norm: gradNorm, seconds: secs,
      };
      const eta = (state.seconds / state.step) * (cfg.steps - state.step);
      log(`step ${state.step}/${cfg.steps} | reward ${rm.toFixed(3)}±${last.reward_std.toFixed(3)} | fmt ${pct(last.format_ok)} | exact ${pct(last.exact)} | zero-std ${pct(fracZeroStd)} | kl ${klV.toFixed(4)} | clip ${pct(clipV)} | len ${complLen.toFixed(0)} | trunc ${pct(last.truncated)} | size ${last.task_size.toFixed(1)} | ${secs.toFixed(1)} s | ${Math.round(last.tokens_per_s)} tok/s | eta ${fmtDuration(eta)}`);
      fs.appendFileSync(metricsFile, JSON.stringify(last) + '\n');
      fs.appendFileSync(samplesFile, samples.map((s) => JSON.stringify(s) + '\n').join(''));
      refuseNonFiniteLoss(diverged, state.step, lossV, gradNorm);

      if (heldout.length && cfg.evalEvery > 0 && (state.step % cfg.evalEvery === 0 || state.step === cfg.steps)) {
        const sampler = await openSampler(model, cfg.engine);
        const ev = await quickEval(sampler, heldout, cfg, tokenizer.eosId, decode, score).finally(() => sampler.release());
        log(`eval @${state.step} | held-out reward ${ev.reward_mean.toFixed(3)} ${ev.reward_lo === null || ev.reward_hi === null ? '(no CI)' : `[${ev.reward_lo.toFixed(3)}, ${ev.reward_hi.toFixed(3)}]`} | fmt ${pct(ev.format_ok)} | exact ${pct(ev.exact)} | n ${ev.n}`);
        fs.appendFileSync(metricsFile, JSON.stringify({ kind: 'eval', step: state.step, ...ev }) + '\n');
      }
      ran++;
      // A signal that came during the last group's update (synchronous kernels) is seen now, so the run
      // checkpoints after this step rather than after the next one.
      await turnEventLoop();
      if ((cfg.ckptEvery > 0 && state.step % cfg.ckptEvery === 0) || state.step === cfg.steps || stop.signal) await checkpoint();
    }
    if (opts.stopAfter !== undefined && state.step < cfg.steps && !stop.signal) await checkpoint();
    // The weights are those of the last step's checkpoint, checked when it was written (or loaded from one).
    if (state.step >= cfg.steps) await saveModel(path.join(opts.out, 'final'), model, modelDir);
  } finally {
    stop.unhook();
    unlock();
    opt.dispose();
    model.dispose();
    ref?.dispose();
    await onnx?.release();
  }
  if (stop.signal) throw new Interrupted(stop.signal, `train: stopped by ${stop.signal} at step ${state.step}/${cfg.steps}; \`pr-rl train --resume\` with --out ${opts.out} goes on from its checkpoint`);
  log(`train: done at step ${state.step}/${cfg.steps}; run dir ${opts.out}`);
  return { steps: state.step, last };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

// Supervised warm-up: teach the policy the answer format by maximising the likelihood of the oracle
// SEARCH/REPLACE completion given the prompt (loss on completion tokens only), with AdamW, an LR
// schedule and gradient clipping. Writes the model folder every `saveEvery` steps, at the end, and after
// the current step on SIGINT/SIGTERM (then throws Interrupted). It knows nothing about rewards or GRPO;
// those live in trainer.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveSftConfig, seqLimit, type SftConfig } from '../config.ts';
import { readTasks } from '../data/task.ts';
import { initBackend } from '../model/backend.ts';
import { loadModel, saveModel } from '../model/weights.ts';
import { refuseRunOrModel } from '../model/open.ts';
import { tokenLogprobs, type Transformer } from '../model/transformer.ts';
import { AdamW, clipGradNorm, lrAt } from '../model/optim.ts';
import { OnnxGradients } from '../model/onnxtrain.ts';
import { Rng } from '../util/rng.ts';
import { fmtDuration } from '../util/progress.ts';
import { Interrupted, UserError, stopOnSignal, turnEventLoop } from '../util/errors.ts';
import { cannotWrite, makeDir, refuseFileAsFolder } from '../util/fsx.ts';
import { encodeTasks, packBatch, type EncodedTask } from './sequences.ts';
import { refuseNonFiniteLoss, refuseNonFiniteWeights, type DivergedWords } from './diverged.ts';

export interface SftOptions {
  model: string;
  data: string;
  out: string;
  config: Partial<SftConfig>;
  /** Write over a model already in `out` (the CLI's --force; the demo's own folder). */
  force?: boolean;
  log?: (line: string) => void;
}

export interface SftResult {
  firstLoss: number;
  lastLoss: number;
  steps: number;
}

/** Mean negative log-likelihood of the completion tokens. */
export function completionNll(model: Transformer, ids: tf.Tensor2D, mask: tf.Tensor2D, from = 0): tf.Scalar {
  return tf.tidy(() => {
    const lp = tokenLogprobs(model, ids, from); // [B, T-1-from]
    return tf.neg(tf.div(tf.sum(tf.mul(lp, mask)), tf.maximum(tf.sum(mask), 1))) as tf.Scalar;
  });
}

/** completionNll and its gradients, computed by onnxruntime (same numbers up to float rounding). */
async function onnxNll(onnx: OnnxGradients, model: Transformer, ids: tf.Tensor2D, mask: tf.Tensor2D, from: number): Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> {
  const m = (await mask.data()) as Float32Array; // [B, T-1-from]
  const count = Math.max(m.reduce((a, b) => a + b, 0), 1);
  const { logp, grads } = await onnx.run(model, ids, from, m.map((x) => -x / count));
  let nll = 0;
  for (let i = 0; i < m.length; i++) nll -= m[i] * logp[i];
  return { value: tf.scalar(nll / count), grads: grads! };
}

export async function sft(opts: SftOptions): Promise<SftResult> {
  const cfg = resolveSftConfig(opts.config);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  // A trained model is hours of work: only written over when asked (its own --model included); a GRPO run's
  // folder never (its config.json would become the model's).
  refuseFileAsFolder(opts.out);
  refuseRunOrModel(opts.out, 'sft', false);
  // config.json marks a whole model (saveModel writes it last): weights without it are a save that did not finish.
  if (!opts.force && fs.existsSync(path.join(opts.out, 'config.json'))) {
    throw new UserError(`sft: ${opts.out} already holds a model; give --out a new folder, or --force to write over it`);
  }
  await initBackend(cfg.backend, log);
  const { model, tokenizer } = await loadModel(opts.model);
  const tasks = await readTasks(opts.data);
  if (tasks.length === 0) {
    model.dispose();
    throw new UserError(`${opts.data}: no tasks`);
  }
  const limit = seqLimit(cfg.maxSeqLen, model.config.max_position_embeddings);
  const maxLen = limit.len;
  let encoded: ReturnType<typeof encodeTasks>;
  try {
    encoded = encodeTasks(tokenizer, tasks, limit, opts.data, cfg.rewardMode); // a UserError when none fits
  } catch (e) {
    model.dispose();
    throw e;
  }
  const { kept, tooLong } = encoded;
  log(`sft: ${kept.length} examples (${tooLong} longer than ${maxLen} tokens skipped), ${cfg.steps} steps of ${cfg.batchSize}`);

  const rng = new Rng(cfg.seed);
  const onnx = cfg.engine === 'onnx' ? await OnnxGradients.create(model) : null;
  const opt = new AdamW(model.trainableVariables(), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  let order: EncodedTask[] = rng.shuffle(kept);
  let cursor = 0;
  const nextBatch = (): EncodedTask[] => {
    const out: EncodedTask[] = [];
    while (out.length < cfg.batchSize) {
      if (cursor >= order.length) {
        order = rng.shuffle(kept);
        cursor = 0;
      }
      out.push(order[cursor++]);
    }
    return out;
  };

  // A SIGINT/SIGTERM ends the run after the current step, with the model folder written at that step
  // (sft() then throws Interrupted). A second one quits at once, even in the middle of a step or of the
  // save; saveModel removes config.json first and writes it last, so a save cut short leaves no folder
  // that loads as a model.
  // The loss checked below is the model's before this step's update: the weights written are checked too.
  const diverged: DivergedWords = { cmd: 'sft', unsaved: { loss: `${opts.out} is not written with it`, weights: `${opts.out} is not written with them` }, todo: 'lower --lr, or check the model' };
  const save = async () => {
    await refuseNonFiniteWeights(diverged, model, done);
    await saveModel(opts.out, model, opts.model);
  };
  const stop = stopOnSignal((sig) => log(`sft: ${sig} received, saving the model after this step (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again quits without it)`));

  const metricsFile = path.join(opts.out, 'sft-metrics.jsonl');
  const t0 = Date.now();
  let done = 0;
  let tokensSeen = 0;
  let firstLoss = NaN;
  let lastLoss = NaN;
  try {
    try {
      makeDir(opts.out);
      fs.writeFileSync(metricsFile, '');
    } catch (e) { throw cannotWrite(metricsFile, e); }
    for (let step = 0; step < cfg.steps; step++) {
      const pairs = nextBatch().map((e) => ({ prompt: e.prompt, completion: e.oracle }));
      // Predictions inside every prompt carry no loss: skip them in the output head.
      const from = pairs.reduce((m, p) => Math.min(m, p.prompt.length), Infinity) - 1;
      const batch = packBatch(pairs, tokenizer.padId, from);
      const lr = lrAt(step, { kind: cfg.schedule, warmup: cfg.warmup, total: cfg.steps, lr: cfg.lr, minLrFrac: cfg.minLrFrac });
      const { value, grads } = onnx ? await onnxNll(onnx, model, batch.ids, batch.mask, from) : tf.variableGrads(() => completionNll(model, batch.ids, batch.mask, from));
      const clipped = cfg.maxGradNorm > 0 ? clipGradNorm(grads, cfg.maxGradNorm) : { grads, norm: null };
      opt.step(clipped.grads, lr);
      tf.dispose([batch.ids, batch.mask]);
      tf.dispose(Object.values(grads));
      if (clipped.grads !== grads) tf.dispose(Object.values(clipped.grads));
      clipped.norm?.dispose();
      tokensSeen += batch.tokens;
      done = step + 1;
      // A signal that came during this step's (synchronous) kernels is seen now, so the run stops after
      // this step rather than after the next one.
      await turnEventLoop();

      // The step a run stops at is logged too: its loss is that of the model it leaves.
      // And a step that saves the model: its loss is checked before it is written.
      const isLog = step === 0 || done === cfg.steps || done % 10 === 0 || stop.signal !== null || (cfg.saveEvery > 0 && done % cfg.saveEvery === 0);
      const loss = isLog ? (await value.data())[0] : NaN;
      value.dispose();
      if (isLog) {
        refuseNonFiniteLoss(diverged, done, loss);
        if (step === 0) firstLoss = loss;
        lastLoss = loss;
        const secs = (Date.now() - t0) / 1000;
        const eta = (secs / done) * (cfg.steps - done);
        log(`sft ${done}/${cfg.steps} | loss ${loss.toFixed(4)} | lr ${lr.toExponential(2)} | ${fmtDuration(secs)} | ${Math.round(tokensSeen / secs)} tok/s | eta ${fmtDuration(eta)}`);
        fs.appendFileSync(metricsFile, JSON.stringify({ step: done, loss, lr, tokens: tokensSeen, seconds: secs }) + '\n');
      }
      if (stop.signal) break;
      if (cfg.saveEvery > 0 && done % cfg.saveEvery === 0 && done < cfg.steps) await save();
    }
    await save();
  } finally {
    stop.unhook();
    await onnx?.release();
    opt.dispose();
    model.dispose();
  }
  if (stop.signal) {
    throw new Interrupted(stop.signal, `sft: stopped by ${stop.signal} at step ${done}/${cfg.steps}; ${opts.out} holds the model at step ${done} (a complete model folder, trained ${done} of ${cfg.steps} steps)`);
  }
  log(`sft: done in ${fmtDuration((Date.now() - t0) / 1000)}, loss ${firstLoss.toFixed(4)} → ${lastLoss.toFixed(4)}, model in ${opts.out}`);
  return { firstLoss, lastLoss, steps: cfg.steps };
}

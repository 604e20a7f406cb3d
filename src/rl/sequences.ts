// Token sequences for training: a task becomes [bos, prompt…] and an oracle completion […, eos];
// batches are right-padded into one [B, T] id tensor with a mask over the completion tokens.
// Right padding is safe under causal attention: pads only come after every real token.
// This file knows tokens and masks; it knows nothing about losses or sampling.

import * as tf from '@tensorflow/tfjs';
import type { Task } from '../data/task.ts';
import type { Tokenizer } from '../tokenizer/load.ts';
import { buildPrompt, oracleCompletion, type OutputMode } from '../data/prompt.ts';
import { UserError } from '../util/errors.ts';
import { seqLimit } from '../config.ts';

export interface EncodedTask {
  task: Task;
  /** [bos, …prompt tokens]. */
  prompt: number[];
  /** Oracle completion tokens followed by eos. */
  oracle: number[];
}

/** Encodes tasks; drops (and counts) those whose prompt + oracle exceeds maxSeqLen (a number, or seqLimit's). */
export function encodeTasks(tok: Tokenizer, tasks: readonly Task[], limit: number | ReturnType<typeof seqLimit>, what = 'data', mode: OutputMode = 'search_replace'): { kept: EncodedTask[]; tooLong: number } {
  const lim = typeof limit === 'number' ? seqLimit(limit, Infinity) : limit;
  const maxSeqLen = lim.len;
  const kept: EncodedTask[] = [];
  let tooLong = 0;
  for (const task of tasks) {
    const prompt = [tok.bosId, ...tok.encode(buildPrompt(task, { mode }))];
    const oracle = [...tok.encode(oracleCompletion(task, { mode })), tok.eosId];
    if (prompt.length + oracle.length > maxSeqLen) tooLong++;
    else kept.push({ task, prompt, oracle });
  }
  if (tasks.length > 0 && kept.length === 0)
    throw new UserError(`${what}: none of the ${tasks.length} tasks fits in ${lim.name} (prompt + answer); ${lim.raise} or use smaller tasks`);
  return { kept, tooLong };
}

export interface PackedBatch {
  /** [B, T] int32 token ids, right-padded. */
  ids: tf.Tensor2D;
  /** [B, T-1-from] float32: 1 where position t+1 is a completion token (predicted from t ≥ from). */
  mask: tf.Tensor2D;
  /** Completion tokens in the batch (the mask's sum), known on the host. */
  completionTokens: number;
  /** Total non-pad tokens. */
  tokens: number;
}

/**
 * Packs (prompt, completion) pairs into one right-padded batch. The mask covers predictions made from
 * positions ≥ `from` (pass the shortest prompt length − 1 to skip prompt positions, matching
 * tokenLogprobs(model, ids, from)). The caller disposes ids and mask.
 */
export function packBatch(pairs: readonly { prompt: readonly number[]; completion: readonly number[] }[], padId: number, from = 0): PackedBatch {
  const B = pairs.length;
  const T = pairs.reduce((m, p) => Math.max(m, p.prompt.length + p.completion.length), 0);
  if (pairs.some((p) => p.prompt.length - 1 < from)) throw new Error(`packBatch: from ${from} is past a prompt's last token`);
  const W = T - 1 - from;
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * W);
  let completionTokens = 0;
  let tokens = 0;
  for (let b = 0; b < B; b++) {
    const { prompt, completion } = pairs[b];
    ids.set(prompt, b * T);
    ids.set(completion, b * T + prompt.length);
    // Token at position j (j ≥ prompt.length) is predicted from position j-1.
    for (let j = prompt.length; j < prompt.length + completion.length; j++) mask[b * W + j - 1 - from] = 1;
    completionTokens += completion.length;
    tokens += prompt.length + completion.length;
  }
  return {
    ids: tf.tensor2d(ids, [B, T], 'int32'), // [B, T]
    mask: tf.tensor2d(mask, [B, W], 'float32'), // [B, T-1-from]
    completionTokens,
    tokens,
  };
}

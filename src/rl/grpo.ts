// GRPO's tensor math: group-relative advantages, and the clipped-ratio policy loss with an optional k3 KL
// to a frozen reference, reduced by one of the LOSSES. Pure functions of numbers and tensors: no model,
// no sampling, no optimizer. The trainer owns the μ passes over a batch and where oldLogp/refLogp come from.
//
// Where this departs from the papers (DeepSeekMath's GRPO, DAPO, Dr. GRPO):
//  - std is the sample std (n − 1), as TRL computes it; the papers do not say. A group whose rewards are
//    all equal gets advantage exactly 0 (not (r − mean)/eps, which float error could make nonzero).
//  - level 'batch' keeps the per-group mean and divides by the std of all rewards in the batch (Lite PPO,
//    TRL's scale_rewards="batch"); it is not a batch-level mean.
//  - the KL term is added per token before aggregation (as in DeepSeekMath's objective and TRL), not
//    folded into the reward; estimator k3 = exp(ref − logp) − (ref − logp) − 1.
//  - 'grpo' divides by all N sequences, fully masked ones included (TRL); 'dr_grpo' divides by N · maxLen
//    with maxLen the completion budget, a constant, not the batch's longest completion.
//  - truncated completions are dropped from the loss (DAPO's overlong filtering, a flag); DAPO's soft
//    overlong penalty and dynamic sampling are not here (fracZeroStd is reported so the trainer can act).
//  - positions outside the mask are forced to ρ = 1 and k3 = 0 before exp, so a pad can never make NaN.

import * as tf from '@tensorflow/tfjs';

export type LossType = 'grpo' | 'dapo' | 'dr_grpo';

// ---------------------------------------------------------------------------------------------------
// Advantages (host numbers: rewards come from the reward function, not from tensors)

export interface AdvantageOptions {
  /** Divide the centred rewards by a std (false = Dr. GRPO: centre only). */
  scaleStd: boolean;
  /** Where that std comes from: each group's own rewards, or every reward in the batch. */
  level: 'group' | 'batch';
  /** Added to the std before dividing. */
  eps: number;
}

export const ADVANTAGE_DEFAULTS: Readonly<AdvantageOptions> = { scaleStd: true, level: 'group', eps: 1e-4 };

export interface Advantages {
  /** One per completion, same order as the rewards. */
  adv: number[];
  /** Groups whose rewards are all equal (they give no gradient). */
  zeroStdGroups: number;
  /** zeroStdGroups / number of groups: the `frac_reward_zero_std` health metric. */
  fracZeroStd: number;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/**
 * Group-relative advantages. `rewards` holds consecutive groups of `groupSize` completions of the same
 * prompt: Â = (r − mean_group) / (std + eps), or r − mean_group when scaleStd is false.
 */
export function advantages(rewards: readonly number[], groupSize: number, opts: Partial<AdvantageOptions> = {}): Advantages {
  const o = { ...ADVANTAGE_DEFAULTS, ...opts };
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`advantages: groupSize must be a positive integer (got ${groupSize})`);
  if (rewards.length % groupSize !== 0) throw new Error(`advantages: ${rewards.length} rewards do not split into groups of ${groupSize}`);
  for (const r of rewards) if (!Number.isFinite(r)) throw new Error(`advantages: reward ${r} is not finite`);
  const groups = rewards.length / groupSize;
  const batchStd = o.level === 'batch' ? sampleStd(rewards) : 0;
  const adv = new Array<number>(rewards.length).fill(0);
  let zeroStdGroups = 0;
  for (let g = 0; g < groups; g++) {
    const rs = rewards.slice(g * groupSize, (g + 1) * groupSize);
    if (Math.max(...rs) === Math.min(...rs)) {
      zeroStdGroups++;
      continue; // all advantages stay exactly 0
    }
    const m = mean(rs);
    const scale = o.scaleStd ? 1 / ((o.level === 'batch' ? batchStd : sampleStd(rs)) + o.eps) : 1;
    for (let i = 0; i < groupSize; i++) adv[g * groupSize + i] = (rs[i] - m) * scale;
  }
  return { adv, zeroStdGroups, fracZeroStd: groups ? zeroStdGroups / groups : 0 };
}

// ---------------------------------------------------------------------------------------------------
// Loss aggregation: how per-token losses become one scalar. One entry per LossType.

/** Whole-batch counts, for when the trainer splits a batch into micro-batches (see GrpoLossInput.batch). */
export interface AggregateContext {
  /** Sequences in the whole batch (N of the batch, not of this micro-batch). */
  seqs: number;
  /** Unmasked tokens in the whole batch (a tensor when counted on the device). */
  tokens: number | tf.Scalar;
  /** dr_grpo's constant: the completion budget (max new tokens). */
  maxLen?: number;
}

/** perToken, mask: [n, T]; returns this (micro-)batch's share of the batch loss. */
export type Aggregate = (perToken: tf.Tensor2D, mask: tf.Tensor2D, ctx: AggregateContext) => tf.Scalar;

export const LOSSES: Record<LossType, Aggregate> = {
  // Mean over each sequence's own tokens, then mean over sequences: short answers weigh more per token.
  grpo: (x, m, c) => tf.div(tf.sum(tf.div(tf.sum(tf.mul(x, m), 1), tf.maximum(tf.sum(m, 1), 1))), c.seqs),
  // Every token in the batch weighs the same (DAPO's token-level loss).
  dapo: (x, m, c) => tf.div(tf.sum(tf.mul(x, m)), tf.maximum(c.tokens, 1)),
  // A constant denominator: no length bias at all (Dr. GRPO).
  dr_grpo: (x, m, c) => {
    if (!(c.maxLen && c.maxLen > 0)) throw new Error('grpoLoss: lossType dr_grpo needs maxLen (the completion budget)');
    return tf.div(tf.sum(tf.mul(x, m)), c.seqs * c.maxLen);
  },
};

export const LOSS_TYPES = Object.keys(LOSSES) as LossType[];

// ---------------------------------------------------------------------------------------------------
// The policy loss

/** Identity forward, zero gradient (tfjs has no stop_gradient op). */
export const stopGradient = tf.customGrad((x) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

export interface GrpoLossInput {
  /** [N, T] log π_θ(token) of the sampled tokens, computed on the gradient tape. */
  logp: tf.Tensor2D;
  /**
   * [N, T] log π_old(token): the policy that sampled the batch, computed once before the μ passes and held
   * fixed across them. Omit it when μ = 1: it then equals stopGradient(logp), so ρ = 1 and the gradient
   * is −Â ∇log π_θ (no clipping can engage, and no second forward pass is needed).
   */
  oldLogp?: tf.Tensor2D;
  /** [N, T] log π_ref(token) under the frozen reference; needed when beta > 0. */
  refLogp?: tf.Tensor2D;
  /** [N] advantage per sequence (from `advantages`). */
  adv: tf.Tensor1D | readonly number[];
  /** [N, T] float, 1 on completion tokens that count. */
  mask: tf.Tensor2D;
  /** [N] which completions hit the token budget; with maskTruncated they get no loss at all. */
  truncated?: readonly boolean[];
  maskTruncated?: boolean;
  /** ρ is clipped to [1 − clipLow, 1 + clipHigh] (DAPO: 0.2 / 0.28). */
  clipLow: number;
  clipHigh: number;
  /** Weight of the k3 KL to the reference (0 = off). */
  beta: number;
  lossType: LossType;
  /** dr_grpo's denominator per sequence: the completion budget (max new tokens). */
  maxLen?: number;
  /**
   * Whole-batch counts when this call sees one micro-batch of a larger batch: then the losses (and
   * gradients) of the parts sum to those of the whole. `tokens` must count the mask after truncation
   * masking. Default: this call's own N and unmasked tokens.
   */
  batch?: { seqs: number; tokens: number };
}

/** Scalars for logging, read at log time (`readStats`); the caller owns and disposes them. */
export interface GrpoStats {
  /** Fraction of counted tokens where the clip is active (lowClip + highClip). */
  clipRatio: tf.Scalar;
  /** ρ < 1 − clipLow with Â < 0. */
  lowClip: tf.Scalar;
  /** ρ > 1 + clipHigh with Â > 0. */
  highClip: tf.Scalar;
  /** Mean k3 KL to the reference over counted tokens (0 without refLogp). */
  kl: tf.Scalar;
  /** Mean ρ over counted tokens. */
  ratio: tf.Scalar;
  /** Counted tokens in this call. */
  tokens: tf.Scalar;
}

export interface GrpoLossOutput {
  loss: tf.Scalar;
  stats: GrpoStats;
}

/**
 * The GRPO policy loss: per token −min(ρÂ, clip(ρ, 1−εlow, 1+εhigh)Â) + β·k3, ρ = exp(logp − oldLogp),
 * reduced by LOSSES[lossType]. Safe to call inside tf.variableGrads: `stats` are kept out of the
 * enclosing tidy so the caller can read them afterwards (and must dispose them).
 */
export function grpoLoss(inp: GrpoLossInput): GrpoLossOutput {
  const [N, T] = inp.logp.shape;
  const same = (t: tf.Tensor | undefined, what: string) => {
    if (t && (t.shape[0] !== N || t.shape[1] !== T)) throw new Error(`grpoLoss: ${what} has shape [${t.shape}], logp has [${N}, ${T}]`);
  };
  same(inp.oldLogp, 'oldLogp');
  same(inp.refLogp, 'refLogp');
  same(inp.mask, 'mask');
  const advLen = Array.isArray(inp.adv) ? inp.adv.length : (inp.adv as tf.Tensor1D).shape[0];
  if (advLen !== N) throw new Error(`grpoLoss: ${advLen} advantages for ${N} sequences`);
  if (inp.beta > 0 && !inp.refLogp) throw new Error('grpoLoss: beta > 0 needs refLogp');
  if (inp.truncated && inp.truncated.length !== N) throw new Error(`grpoLoss: ${inp.truncated.length} truncated flags for ${N} sequences`);
  const aggregate = LOSSES[inp.lossType];
  if (!aggregate) throw new Error(`grpoLoss: unknown lossType ${inp.lossType}`);

  let stats!: GrpoStats;
  const loss = tf.tidy(() => {
    let mask: tf.Tensor2D = inp.mask;
    if (inp.maskTruncated && inp.truncated) {
      const keepRow = tf.tensor2d(inp.truncated.map((t) => (t ? 0 : 1)), [N, 1]); // [N, 1]
      mask = tf.mul(mask, keepRow); // [N, T]
    }
    const on = tf.greater(mask, 0); // [N, T] bool
    const zeros = tf.zerosLike(inp.logp); // [N, T]
    const old = inp.oldLogp ?? stopGradient(inp.logp); // [N, T]
    const ratio = tf.exp(tf.where(on, tf.sub(inp.logp, old), zeros)); // [N, T]
    const A = tf.reshape(Array.isArray(inp.adv) ? tf.tensor1d(inp.adv as number[]) : (inp.adv as tf.Tensor1D), [N, 1]); // [N, 1]
    const surrogate: tf.Tensor2D = tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - inp.clipLow, 1 + inp.clipHigh), A)); // [N, T]
    let perToken: tf.Tensor2D = tf.neg(surrogate); // [N, T]
    let k3: tf.Tensor2D = zeros;
    if (inp.refLogp) {
      const d = tf.where(on, tf.sub(inp.refLogp, inp.logp), zeros); // [N, T] log(π_ref/π_θ)
      k3 = tf.sub(tf.sub(tf.exp(d), d), 1); // [N, T] ≥ 0
      if (inp.beta > 0) perToken = tf.add(perToken, tf.mul(k3, inp.beta));
    }
    const tokens = tf.sum(mask) as tf.Scalar;
    const ctx: AggregateContext = { seqs: inp.batch?.seqs ?? N, tokens: inp.batch?.tokens ?? tokens, maxLen: inp.maxLen };

    const denom = tf.maximum(tokens, 1);
    const maskedMean = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, mask)), denom) as tf.Scalar;
    const lowClip = maskedMean(tf.logicalAnd(tf.less(ratio, 1 - inp.clipLow), tf.less(A, 0)).toFloat());
    const highClip = maskedMean(tf.logicalAnd(tf.greater(ratio, 1 + inp.clipHigh), tf.greater(A, 0)).toFloat());
    stats = {
      clipRatio: tf.keep(tf.add(lowClip, highClip)),
      lowClip: tf.keep(lowClip),
      highClip: tf.keep(highClip),
      kl: tf.keep(maskedMean(k3)),
      ratio: tf.keep(maskedMean(ratio)),
      tokens: tf.keep(tokens),
    };
    return aggregate(perToken, mask, ctx);
  });
  return { loss, stats };
}

/** Reads the stats as numbers and disposes them. */
export async function readStats(stats: GrpoStats): Promise<Record<keyof GrpoStats, number>> {
  const out = {} as Record<keyof GrpoStats, number>;
  for (const [k, t] of Object.entries(stats) as [keyof GrpoStats, tf.Scalar][]) {
    out[k] = (await t.data())[0];
    t.dispose();
  }
  return out;
}

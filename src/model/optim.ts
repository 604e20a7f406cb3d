// Optimisation building blocks shared by SFT and GRPO: AdamW with decoupled weight decay and bias
// correction (tfjs ships Adam but no AdamW), gradient clipping by global norm, and LR schedules.
// Moments live on the device as tf.Variables; state() / load() move them to and from Float32Arrays
// bit-exactly for checkpoints. The optimizer knows nothing about models or losses: it gets variables
// and gradients, and the caller owns (and disposes) the gradients.

import * as tf from '@tensorflow/tfjs';
import type { TensorData } from '../rl/checkpoint.ts';
import { adamwApply, adamwMoment, fusedAdamW } from './webgpu-kernels.ts';

/** Gradients keyed by variable name (what tf.variableGrads returns), or one per variable in order. */
export type Grads = tf.NamedTensorMap | Map<string, tf.Tensor> | readonly (tf.Tensor | null | undefined)[];

export interface AdamWOptions {
  /** Learning rate used when step() is not given one. */
  lr: number;
  /** First-moment decay. */
  beta1?: number;
  /** Second-moment decay. */
  beta2?: number;
  /** Added to √v̂ (PyTorch's placement). */
  eps?: number;
  /** Decoupled weight decay: p ← p·(1 − lr·wd) before the Adam update. */
  weightDecay?: number;
  /** Which variables decay. Default: matrices only (rank ≥ 2), not norm gains or biases (as nanoGPT). */
  decays?: (v: tf.Variable, index: number) => boolean;
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

/** What a checkpoint needs to continue the optimizer exactly. */
export interface AdamWState {
  /** Steps taken (drives bias correction). */
  step: number;
  /** First moments, one per variable, in the optimizer's variable order. */
  m: Float32Array[];
  /** Second moments. */
  v: Float32Array[];
}

export class AdamW {
  readonly vars: readonly tf.Variable[];
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decay: boolean[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(vars: readonly tf.Variable[], opts: AdamWOptions) {
    const o = { ...ADAMW_DEFAULTS, ...opts };
    for (const [k, x] of [['lr', o.lr], ['beta1', o.beta1], ['beta2', o.beta2], ['eps', o.eps], ['weightDecay', o.weightDecay]] as const)
      if (!(Number.isFinite(x) && x >= 0)) throw new Error(`AdamW: ${k} must be a finite number ≥ 0 (got ${x})`);
    if (o.beta1 >= 1 || o.beta2 >= 1) throw new Error('AdamW: beta1 and beta2 must be < 1');
    this.vars = [...vars];
    this.lr = o.lr;
    this.beta1 = o.beta1;
    this.beta2 = o.beta2;
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
    const decays = opts.decays ?? ((v: tf.Variable) => v.rank >= 2);
    this.decay = this.vars.map((v, i) => decays(v, i));
    // tidy disposes the zeros tensors; the variables keep their (ref-counted) data.
    this.m = tf.tidy(() => this.vars.map((x) => tf.variable(tf.zeros(x.shape), false)));
    this.v = tf.tidy(() => this.vars.map((x) => tf.variable(tf.zeros(x.shape), false)));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** The variables' shapes, in order (for packing the state into named tensors). */
  shapes(): number[][] {
    return this.vars.map((v) => [...v.shape]);
  }

  /**
   * One AdamW update with learning rate `lr` (default: the constructor's). A variable with no gradient
   * is left alone entirely (no decay, moments unchanged), as PyTorch does. The grads are not disposed.
   */
  step(grads: Grads, lr: number = this.lr): void {
    const gs = this.align(grads);
    this.t += 1;
    // Bias corrections in float64 on the host; the device sees two scalars per step.
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    if (fusedAdamW()) {
      // webgpu: 3 kernels per variable, constants as uniforms (webgpu-kernels.ts).
      const keep = 1 - lr * this.weightDecay;
      tf.tidy(() => {
        for (let i = 0; i < this.vars.length; i++) {
          const g = gs[i];
          if (!g) continue;
          const m = adamwMoment(this.m[i], g, this.beta1, 1 - this.beta1, false);
          const v = adamwMoment(this.v[i], g, this.beta2, 1 - this.beta2, true);
          this.m[i].assign(m);
          this.v[i].assign(v);
          const decays = this.decay[i] && this.weightDecay > 0;
          this.vars[i].assign(adamwApply(this.vars[i], m, v, decays ? keep : 1, lr / bc1, 1 / Math.sqrt(bc2), this.eps));
        }
      });
      return;
    }
    tf.tidy(() => {
      const stepSize = tf.scalar(lr / bc1);
      const invSqrtBc2 = tf.scalar(1 / Math.sqrt(bc2));
      const keep = tf.scalar(1 - lr * this.weightDecay);
      for (let i = 0; i < this.vars.length; i++) {
        const g = gs[i];
        if (!g) continue;
        const m = tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        let p: tf.Tensor = this.vars[i];
        if (this.decay[i] && this.weightDecay > 0) p = tf.mul(p, keep);
        const denom = tf.add(tf.mul(tf.sqrt(v), invSqrtBc2), this.eps);
        this.vars[i].assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      }
    });
  }

  /** Copies the moments to the host (a snapshot: later steps do not change it). */
  async state(): Promise<AdamWState> {
    const read = async (x: tf.Variable) => ((await x.data()) as Float32Array).slice();
    return { step: this.t, m: await Promise.all(this.m.map(read)), v: await Promise.all(this.v.map(read)) };
  }

  /** Restores a state() taken from an optimizer over variables of the same shapes, bit-exactly. */
  load(state: AdamWState): void {
    const n = this.vars.length;
    if (state.m.length !== n || state.v.length !== n)
      throw new Error(`AdamW.load: state has ${state.m.length}/${state.v.length} moments for ${n} variables`);
    for (let i = 0; i < n; i++) {
      const size = this.vars[i].size;
      if (state.m[i].length !== size || state.v[i].length !== size)
        throw new Error(`AdamW.load: moment ${i} has ${state.m[i].length} values, variable has ${size}`);
    }
    if (!(Number.isInteger(state.step) && state.step >= 0)) throw new Error(`AdamW.load: bad step ${state.step}`);
    tf.tidy(() => {
      for (let i = 0; i < n; i++) {
        this.m[i].assign(tf.tensor(state.m[i], this.vars[i].shape, 'float32'));
        this.v[i].assign(tf.tensor(state.v[i], this.vars[i].shape, 'float32'));
      }
    });
    this.t = state.step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }

  private align(grads: Grads): (tf.Tensor | undefined)[] {
    let out: (tf.Tensor | undefined)[];
    if (Array.isArray(grads)) {
      if (grads.length !== this.vars.length) throw new Error(`AdamW.step: ${grads.length} gradients for ${this.vars.length} variables`);
      out = grads.map((g) => g ?? undefined);
    } else {
      const get = grads instanceof Map ? (k: string) => grads.get(k) : (k: string) => (grads as tf.NamedTensorMap)[k];
      out = this.vars.map((v) => get(v.name));
    }
    out.forEach((g, i) => {
      if (g && !tf.util.arraysEqual(g.shape, this.vars[i].shape))
        throw new Error(`AdamW.step: gradient for ${this.vars[i].name} has shape [${g.shape}], variable has [${this.vars[i].shape}]`);
    });
    return out;
  }
}

/** The optimizer state as named tensors (`${prefix}m.${i}`, `${prefix}v.${i}`) for a checkpoint. */
export function packAdamW(state: AdamWState, shapes: readonly (readonly number[])[], prefix = 'adamw.'): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  state.m.forEach((m, i) => (out[`${prefix}m.${i}`] = { shape: [...shapes[i]], data: m }));
  state.v.forEach((v, i) => (out[`${prefix}v.${i}`] = { shape: [...shapes[i]], data: v }));
  return out;
}

/** Inverse of packAdamW; `step` comes from the checkpoint's JSON state. */
export function unpackAdamW(tensors: Readonly<Record<string, TensorData>>, step: number, prefix = 'adamw.'): AdamWState {
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let i = 0; `${prefix}m.${i}` in tensors; i++) {
    const vi = tensors[`${prefix}v.${i}`];
    if (!vi) throw new Error(`unpackAdamW: ${prefix}v.${i} missing`);
    m.push(tensors[`${prefix}m.${i}`].data);
    v.push(vi.data);
  }
  return { step, m, v };
}

// ---------------------------------------------------------------------------------------------------

/**
 * Scales the gradients so their global L2 norm is at most maxNorm (PyTorch's clip_grad_norm_: factor
 * min(1, maxNorm / (norm + 1e-6))). No host read: returns new gradient tensors (same container kind as
 * given) and the pre-clip norm as a scalar. The caller disposes both the new gradients and `norm`;
 * the input gradients are left as they are. With maxNorm 0 (no clipping) or ∞, the norm alone: the
 * gradients returned are the ones given.
 */
export function clipGradNorm<G extends Grads>(grads: G, maxNorm: number): { grads: G; norm: tf.Scalar } {
  const entries: [string | number, tf.Tensor][] = Array.isArray(grads)
    ? (grads as readonly (tf.Tensor | null | undefined)[]).flatMap((g, i) => (g ? [[i, g] as [number, tf.Tensor]] : []))
    : grads instanceof Map
      ? [...(grads as Map<string, tf.Tensor>).entries()]
      : Object.entries(grads as tf.NamedTensorMap);
  const clip = maxNorm > 0 && Number.isFinite(maxNorm);
  const [norm, ...scaled] = tf.tidy(() => {
    const sq = entries.map(([, g]) => tf.sum(tf.square(g)));
    const norm = tf.sqrt(sq.length ? sumAll(sq) : tf.scalar(0)) as tf.Scalar;
    if (!clip) return [norm];
    const factor = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return [norm, ...entries.map(([, g]) => tf.mul(g, factor))];
  });
  if (!clip) return { grads, norm: norm as tf.Scalar };
  let out: Grads;
  if (Array.isArray(grads)) {
    const arr: (tf.Tensor | null | undefined)[] = [...(grads as readonly (tf.Tensor | null | undefined)[])];
    entries.forEach(([k], j) => (arr[k as number] = scaled[j]));
    out = arr;
  } else if (grads instanceof Map) out = new Map(entries.map(([k], j) => [k as string, scaled[j]]));
  else out = Object.fromEntries(entries.map(([k], j) => [k, scaled[j]]));
  return { grads: out as G, norm: norm as tf.Scalar };
}

// ---------------------------------------------------------------------------------------------------

export type LrScheduleKind = 'cosine' | 'linear' | 'constant';

export interface LrSchedule {
  kind: LrScheduleKind;
  /** Linear warm-up steps: step s < warmup uses lr·(s+1)/warmup, so the first step already moves. */
  warmup: number;
  /** Total steps; the decay reaches lr·minLrFrac on the last step (total − 1). */
  total: number;
  /** Peak learning rate. */
  lr: number;
  /** Final LR as a fraction of the peak (cosine/linear). */
  minLrFrac: number;
}

/** Learning rate for 0-based `step`. */
export function lrAt(step: number, s: LrSchedule): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  const minLr = s.lr * s.minLrFrac;
  const span = s.total - 1 - s.warmup;
  const p = span > 0 ? Math.min(1, Math.max(0, (step - s.warmup) / span)) : 0;
  return DECAY[s.kind](p, s.lr, minLr);
}

const DECAY: Record<LrScheduleKind, (p: number, lr: number, minLr: number) => number> = {
  cosine: (p, lr, minLr) => minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * p)),
  linear: (p, lr, minLr) => lr - (lr - minLr) * p,
  constant: (_p, lr) => lr,
};

/**
 * Σ of same-shaped tensors via tf.addN in groups of at most 7: WebGPU allows 8 storage buffers per
 * shader stage by default (output included), and tfjs's webgpu AddN binds every input at once, so an
 * addN over a model's ~30+ gradient norms is an invalid pipeline there (seen on an NVIDIA H100).
 */
export function sumAll(xs: readonly tf.Tensor[]): tf.Tensor {
  let level = [...xs];
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 7) next.push(level.length - i === 1 ? level[i] : tf.addN(level.slice(i, i + 7)));
    level = next;
  }
  return level[0];
}

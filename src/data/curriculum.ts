// Curriculum: pure functions that decide which training tasks the trainer may draw from, and when.
// Difficulty metrics, orderings (easiest first, ties by id), pacing (fraction of the sorted data
// available at training progress p), and an adaptive sampler that prefers tasks whose GRPO group
// rewards spread the most. The trainer (src/rl/trainer.ts) owns the loop; nothing here touches models.

import type { Task } from './task.ts';
import type { Rng } from '../util/rng.ts';

export type Metric = 'size' | 'files' | 'tokens';
export type OrderKind = Metric | 'random' | 'none';
export type PacingKind = 'linear' | 'root' | 'step';

/** Difficulty of a task under a metric: changed lines, changed files, or prompt tokens. */
export function difficulty(t: Task, metric: Metric): number {
  switch (metric) {
    case 'size': return t.stats.added + t.stats.removed;
    case 'files': return t.stats.files;
    case 'tokens': return t.stats.promptTokens;
  }
}

/**
 * Tasks in curriculum order, as a new array: ascending difficulty, ties broken by prompt tokens (the
 * shorter prompt is the easier one: many tasks change the same number of lines), then by id (code-unit
 * order, so the result does not depend on locale); `random` = a seeded shuffle; `none` = input order (the trainer walks it
 * in that order, where `random` draws at random).
 */
export function orderTasks(tasks: readonly Task[], kind: OrderKind, rng: Rng): Task[] {
  if (kind === 'none') return tasks.slice();
  if (kind === 'random') return rng.shuffle(tasks);
  const keyed = tasks.map((t) => ({ t, d: difficulty(t, kind) }));
  keyed.sort((a, b) => a.d - b.d || a.t.stats.promptTokens - b.t.stats.promptTokens || (a.t.id < b.t.id ? -1 : a.t.id > b.t.id ? 1 : 0));
  return keyed.map((k) => k.t);
}

export interface PacingOptions {
  kind: PacingKind;
  /** Fraction of the sorted data available at p = 0, in [0, 1]. */
  start: number;
  /** Progress at which all data is available (default 1). */
  fullAt?: number;
  /** Number of equal increments for `step` pacing (default 4). */
  steps?: number;
}

/**
 * Fraction of the sorted data available at training progress p ∈ [0, 1]: non-decreasing in p,
 * `start` at p = 0 and 1 from p = fullAt on. `root` is the square-root competence of Platanios et
 * al. (2019): it opens fast early, when the easy tasks are quickly learned, and slowly later.
 */
export function pacing(p: number, opts: PacingOptions): number {
  if (Number.isNaN(opts.start) || Number.isNaN(opts.steps) || Number.isNaN(opts.fullAt)) throw new Error(`pacing: NaN in ${JSON.stringify(opts)}`);
  const start = Math.min(1, Math.max(0, opts.start));
  const fullAt = opts.fullAt ?? 1;
  const q = fullAt <= 0 ? 1 : Math.min(1, Math.max(0, (Number.isNaN(p) ? 0 : p) / fullAt)); // p = Infinity: all of it
  if (q === 1) return 1; // exactly, whatever rounding start + (1 − start) · 1 would do
  switch (opts.kind) {
    case 'linear': return start + (1 - start) * q;
    case 'root': return Math.min(1, Math.sqrt(start * start + (1 - start * start) * q));
    case 'step': {
      const n = Math.max(1, Math.floor(opts.steps ?? 4));
      return Math.min(1, start + ((1 - start) * Math.floor(q * n + 1e-9)) / n);
    }
  }
}

/** The prefix of `sorted` available at progress p (at least `min` tasks, at most all). */
export function curriculumWindow<T>(sorted: readonly T[], p: number, opts: PacingOptions, min = 1): T[] {
  return pacedPrefix(sorted, pacing(p, opts), min);
}

/** The first `fraction` of `sorted` (at least `min` tasks, at most all). */
export function pacedPrefix<T>(sorted: readonly T[], fraction: number, min = 1): T[] {
  if (Number.isNaN(fraction)) throw new Error('pacedPrefix: the fraction is NaN');
  const n = Math.max(Math.min(sorted.length, min), Math.ceil(fraction * sorted.length));
  return sorted.slice(0, Math.min(n, sorted.length));
}

// ---- adaptive sampling -------------------------------------------------------------------------

export interface AdaptiveOptions {
  /** EMA weight of the newest spread observation. */
  alpha: number;
  /**
   * Probability that a pick explores an unseen task (while any is left) once some seen task has reward
   * spread; while none has, every pick explores (revisiting tasks known to give no gradient teaches nothing).
   */
  explore: number;
  /** Weight added to every seen task's spread, so zero-spread tasks are revisited now and then. */
  floor: number;
}

export const ADAPTIVE_DEFAULTS: AdaptiveOptions = { alpha: 0.5, explore: 0.25, floor: 0.02 };

/** JSON-serializable sampler state, saved in checkpoints. */
export interface AdaptiveState {
  version: 1;
  options: AdaptiveOptions;
  /** Per-task EMA of the group's reward std; null = never sampled. */
  spread: (number | null)[];
  /** Times each task's group was observed. */
  count: number[];
}

/** Population std; exactly 0 when all rewards are equal (as grpo.ts's zero-std groups), not float dust. */
const stdOf = (xs: readonly number[]) => {
  if (xs.length === 0 || Math.max(...xs) === Math.min(...xs)) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

/**
 * Samples task indices where the policy is neither always right nor always wrong: a task's weight is
 * its EMA reward spread (+ floor). Unseen tasks are explored in index order — when the trainer passes
 * tasks sorted by size, exploration follows the easiest-first curriculum. Until some group has shown a
 * reward spread every pick explores: the floor alone (seen tasks, all without spread) would otherwise take
 * 1 − explore of the picks back to tasks that gave no gradient (a fresh policy, all format errors).
 */
export class AdaptiveSampler {
  readonly n: number;
  private opts: AdaptiveOptions;
  private spread: (number | null)[];
  private count: number[];
  private nextUnseen = 0;

  constructor(n: number, state?: AdaptiveState, options: Partial<AdaptiveOptions> = {}) {
    if (state) {
      if (state.version !== 1 || state.spread.length !== n || state.count.length !== n)
        throw new Error(`adaptive sampler state does not match ${n} tasks (was it saved for another data file?)`);
      this.opts = { ...state.options };
      this.spread = state.spread.slice();
      this.count = state.count.slice();
    } else {
      this.opts = { ...ADAPTIVE_DEFAULTS, ...options };
      this.spread = new Array<number | null>(n).fill(null);
      this.count = new Array<number>(n).fill(0);
    }
    this.n = n;
  }

  /** Records one group's rewards for task i. */
  update(i: number, rewards: readonly number[]): void {
    if (i < 0 || i >= this.n) throw new Error(`adaptive sampler: task index ${i} out of range`);
    const s = stdOf(rewards);
    const prev = this.spread[i];
    this.spread[i] = prev === null ? s : (1 - this.opts.alpha) * prev + this.opts.alpha * s;
    this.count[i]++;
  }

  /** The current spread estimate of task i (null when unseen). */
  spreadOf(i: number): number | null {
    return this.spread[i];
  }

  /** k task indices, distinct while k ≤ n. */
  sample(k: number, rng: Rng): number[] {
    const picked = new Set<number>();
    const out: number[] = [];
    if (this.n === 0) return out;
    for (let j = 0; j < k; j++) {
      if (picked.size >= this.n) picked.clear(); // more picks than tasks: allow repeats
      const unseen = this.firstUnseen(picked);
      const seenWeight = this.weights(picked);
      const total = seenWeight.reduce((a, b) => a + b, 0);
      const signal = this.spread.some((sp, t) => sp !== null && sp > 0 && !picked.has(t));
      let i: number;
      if (unseen >= 0 && (!signal || rng.next() < this.opts.explore)) i = unseen;
      else if (total > 0) i = pickWeighted(seenWeight, total, rng);
      else i = this.anyFree(picked, rng);
      picked.add(i);
      out.push(i);
    }
    return out;
  }

  state(): AdaptiveState {
    return { version: 1, options: { ...this.opts }, spread: this.spread.slice(), count: this.count.slice() };
  }

  private firstUnseen(exclude: Set<number>): number {
    while (this.nextUnseen < this.n && this.spread[this.nextUnseen] !== null) this.nextUnseen++;
    for (let i = this.nextUnseen; i < this.n; i++) if (this.spread[i] === null && !exclude.has(i)) return i;
    return -1;
  }

  private weights(exclude: Set<number>): number[] {
    return this.spread.map((s, i) => (s === null || exclude.has(i) ? 0 : s + this.opts.floor));
  }

  private anyFree(exclude: Set<number>, rng: Rng): number {
    const free: number[] = [];
    for (let i = 0; i < this.n; i++) if (!exclude.has(i)) free.push(i);
    return rng.pick(free);
  }
}

function pickWeighted(w: readonly number[], total: number, rng: Rng): number {
  let r = rng.next() * total;
  for (let i = 0; i < w.length; i++) {
    if (w[i] <= 0) continue;
    r -= w[i];
    if (r < 0) return i;
  }
  for (let i = w.length - 1; i >= 0; i--) if (w[i] > 0) return i;
  return 0;
}

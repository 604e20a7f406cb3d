// Batched generation with a KV cache: temperature (0 = greedy), top-k, top-p, stop tokens, a token
// limit, seeded by the Rng the caller passes (a resumed run samples the same tokens). Logits come back
// once per step and are sampled on the host. Prompts of different lengths are left-padded and the pads
// masked; identical prompts (GRPO's G copies) are prefilled once. The token loop (sampleTokens) is shared
// with onnx.ts's sampler through a small Decoder interface. Knows nothing of prompts or rewards.

import * as tf from '@tensorflow/tfjs';
import { KVCache, MASKED, type LlamaConfig, type Transformer } from './transformer.ts';
import { decodeStep } from './decode.ts';
import type { Rng } from '../util/rng.ts';
import { UserError, turnEventLoop } from '../util/errors.ts';

export interface SampleOptions {
  /** Most tokens to generate per prompt. */
  maxNewTokens: number;
  /** Softmax temperature; 0 = greedy (argmax). */
  temperature: number;
  /** Nucleus: keep the smallest set of most likely tokens whose mass reaches topP; 1 = off. */
  topP: number;
  /** Keep the topK most likely tokens; 0 = off. Applied before topP (as in HF). */
  topK: number;
  /** A sampled stop token ends its row and is not included in the completion. */
  stopTokens: number[];
  /** Randomness: one rng.next() per sampled (non-greedy) token, live rows in prompt order. */
  rng: Rng;
}

export interface SampleResult {
  /** Completion ids per prompt (stop token excluded). */
  tokens: number[][];
  /** True where the row hit maxNewTokens without a stop token. */
  truncated: boolean[];
}

/** Rows are dropped from the batch (cache gathered) once this fraction of them has finished. */
const COMPACT_AT = 0.25;

/** How a sampler runs its model: what sampleTokens needs, whatever holds the KV cache. */
export interface Decoder {
  /** The prompts into a fresh cache with room for maxLen positions; last-position logits [B·V]. */
  prefill(prompts: number[][], maxLen: number): Promise<Float32Array>;
  /** One new token per cache row through the cache; logits [rows·V]. */
  step(feed: number[]): Promise<Float32Array>;
  /** Keeps cache rows `rows`, in that order. */
  keep(rows: number[]): void;
  dispose(): void;
}

/**
 * The token loop every sampler shares, so that options, errors and rng order are one thing: one
 * pickToken per live row per step, in row order. Finished rows leave the cache once they are at least
 * `compactAt` of it (0: at once); until then they are fed token 0 and skipped.
 */
export async function sampleTokens(dec: Decoder, prompts: number[][], opts: SampleOptions, config: LlamaConfig, compactAt: number): Promise<SampleResult> {
  const tokens: number[][] = prompts.map(() => []);
  const truncated = prompts.map(() => true);
  if (prompts.length === 0) return { tokens, truncated };
  if (prompts.some((p) => p.length === 0)) throw new UserError('generate: every prompt needs at least one token (e.g. the bos token)');
  const P = prompts.reduce((m, p) => Math.max(m, p.length), 0);
  const limit = config.max_position_embeddings;
  if (P + opts.maxNewTokens > limit) {
    throw new UserError(`generate: a ${P}-token prompt plus ${opts.maxNewTokens} new tokens exceeds the model's context of ${limit} (max_position_embeddings); shorten the prompt or lower max new tokens`);
  }
  if (opts.maxNewTokens <= 0) return { tokens, truncated };
  const stop = new Set(opts.stopTokens);
  const V = config.vocab_size;
  try {
    let logits = await dec.prefill(prompts, P + opts.maxNewTokens);
    // rows[i]: the prompt the cache's row i serves, or -1 once it finished (kept until compaction).
    let rows = prompts.map((_, b) => b);
    for (let step = 0; ; step++) {
      let feed = rows.map(() => 0);
      const live: number[] = [];
      rows.forEach((b, i) => {
        if (b < 0) return;
        const t = pickToken(logits.subarray(i * V, (i + 1) * V), opts);
        if (stop.has(t)) {
          truncated[b] = false;
          rows[i] = -1;
        } else {
          tokens[b].push(t);
          feed[i] = t;
          live.push(i);
        }
      });
      if (live.length === 0 || step + 1 >= opts.maxNewTokens) break;
      const finished = rows.length - live.length;
      if (finished > 0 && finished >= compactAt * rows.length) {
        dec.keep(live);
        rows = live.map((i) => rows[i]);
        feed = live.map((i) => feed[i]);
      }
      logits = await dec.step(feed);
      // Every 8 tokens a signal handler (train's Ctrl-C) may run: within a few tokens, not after the rollout.
      if ((step & 7) === 7) await turnEventLoop();
    }
  } finally {
    dec.dispose();
  }
  return { tokens, truncated };
}

/** Whether all prompts are one (GRPO's G copies): prefilled once, the cache row then repeated. */
export const oneRepeated = (prompts: number[][]) => prompts.every((p) => p.length === prompts[0].length && p.every((t, i) => t === prompts[0][i]));

/**
 * Prompts of different lengths left-padded to the longest, P. The pads are masked as keys: RoPE scores
 * depend only on relative positions, so a row shifted right by its padding computes what it would alone.
 */
export function leftPad(prompts: number[][], padId: number): { ids: number[][]; P: number } {
  const P = prompts.reduce((m, p) => Math.max(m, p.length), 0);
  return { ids: prompts.map((p) => [...new Array<number>(P - p.length).fill(padId), ...p]), P };
}

/** Samples completions for `prompts` (token ids, each non-empty). */
export async function generate(model: Transformer, prompts: number[][], opts: SampleOptions): Promise<SampleResult> {
  let cache: KVCache | null = null;
  return sampleTokens({
    prefill: async (ps, maxLen) => { const r = await prefill(model, ps, maxLen); cache = r.cache; return r.logits; },
    step: (feed) => readBack(decodeStep(model, feed, cache!)),
    keep: (rows) => cache!.select(rows),
    dispose: () => cache?.dispose(),
  }, prompts, opts, model.config, COMPACT_AT);
}

/** Runs the prompts through the model into a new cache; returns it and the last position's logits. */
async function prefill(model: Transformer, prompts: number[][], maxLen: number): Promise<{ cache: KVCache; logits: Float32Array }> {
  const KV = model.config.num_key_value_heads;
  const B = prompts.length;
  if (oneRepeated(prompts)) {
    const cache = new KVCache(KV);
    const one = await lastLogits(model, [prompts[0]], cache);
    if (B > 1) cache.repeat(B);
    const logits = new Float32Array(B * one.length);
    for (let b = 0; b < B; b++) logits.set(one, b * one.length);
    return { cache, logits };
  }
  const { ids, P } = leftPad(prompts, model.config.pad_token_id ?? model.config.eos_token_id);
  const bias = new Float32Array(B * maxLen);
  prompts.forEach((p, b) => bias.fill(MASKED, b * maxLen, b * maxLen + P - p.length));
  const cache = new KVCache(KV, tf.tensor3d(bias, [B, 1, maxLen]));
  return { cache, logits: await lastLogits(model, ids, cache) };
}

/** Prompt ids [B, T] through the cache; logits of the last position, [B·V] on the host. */
async function lastLogits(model: Transformer, ids: number[][], cache: KVCache): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const B = ids.length;
    const T = ids[0].length;
    const h = model.forward(tf.tensor2d(ids, [B, T], 'int32'), cache); // [B, T, D]
    return model.head(tf.slice(h, [0, T - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D); // [B, V]
  });
  return readBack(out);
}

/** Host copy of logits (one readback per step), disposing the tensor. */
async function readBack(out: tf.Tensor): Promise<Float32Array> {
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/**
 * One token from a row of logits: greedy when temperature is 0 or topK is 1, else softmax(l / T)
 * restricted to the top-k, then to the top-p nucleus, sampled with one rng.next().
 */
export function pickToken(logits: Float32Array, opts: Pick<SampleOptions, 'temperature' | 'topP' | 'topK' | 'rng'>): number {
  const V = logits.length;
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
  if (opts.temperature <= 0 || opts.topK === 1) return best;
  const inv = 1 / opts.temperature;
  const max = logits[best];
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) z += p[i] = Math.exp((logits[i] - max) * inv);
  const k = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  if (k === V && !(opts.topP < 1)) return drawFrom(p, null, V, z, opts.rng);
  // Most likely first, popped from a max-heap until the top-k / nucleus is complete.
  const heap = new MaxHeap(p);
  const kept = new Int32Array(k);
  let n = 0;
  let mass = 0;
  if (k < V) {
    while (n < k) mass += p[(kept[n++] = heap.pop())];
    if (opts.topP < 1) {
      // Nucleus within the top-k: the shortest prefix whose mass reaches topP of theirs.
      const target = opts.topP * mass;
      let m = 0;
      let j = 0;
      while (j < n && m < target) m += p[kept[j++]];
      n = Math.max(1, j);
      mass = m;
    }
  } else {
    const target = opts.topP * z;
    while (n < V && (n === 0 || mass < target)) mass += p[(kept[n++] = heap.pop())];
  }
  return drawFrom(p, kept, n, mass, opts.rng);
}

/** Index drawn with probability p[i]/mass among the first n of `ids` (or 0..n-1). */
function drawFrom(p: Float64Array, ids: Int32Array | null, n: number, mass: number, rng: Rng): number {
  let u = rng.next() * mass;
  for (let j = 0; j < n; j++) {
    const i = ids ? ids[j] : j;
    u -= p[i];
    if (u < 0) return i;
  }
  // Rounding left u ≥ 0 after the last term: the last positive-probability candidate.
  for (let j = n - 1; j >= 0; j--) if (p[ids ? ids[j] : j] > 0) return ids ? ids[j] : j;
  return ids ? ids[0] : 0;
}

/** Binary max-heap of indices keyed by p (ties: lower index first). */
class MaxHeap {
  private h: Int32Array;
  private size: number;
  constructor(private p: Float64Array) {
    this.size = p.length;
    this.h = Int32Array.from({ length: p.length }, (_, i) => i);
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.down(i);
  }
  pop(): number {
    const top = this.h[0];
    this.h[0] = this.h[--this.size];
    this.down(0);
    return top;
  }
  private before(a: number, b: number): boolean {
    const pa = this.p[a];
    const pb = this.p[b];
    return pa > pb || (pa === pb && a < b);
  }
  private down(i: number): void {
    const h = this.h;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.before(h[l], h[m])) m = l;
      if (r < this.size && this.before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

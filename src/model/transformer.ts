// The policy network: a Llama-style decoder in tfjs (token embedding, RMSNorm, rotary embeddings in
// HF's rotate_half convention, causal attention with grouped-query heads, SwiGLU MLP, tied or untied
// head, optional q/k/v biases for Qwen2). Parameters live in a Map keyed by Hugging Face names with HF
// shapes ([out, in] for Linear), so weights.ts loads HF folders without renaming. Sampling is sample.ts's
// (prompts through forward() with a KVCache, then decode.ts's one-token steps); the backend and its fast
// kernels are backend.ts's.

import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';

/** config.json fields (Hugging Face names) the model runs on. */
export interface LlamaConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
  vocab_size: number;
  rope_theta: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id?: number;
  /** Biases on the q/k/v projections (Qwen2). */
  attention_bias?: boolean;
}

/** The sizes a forward pass works with: D hidden, H heads over KV kv heads (G = H/KV per group), hd per head, F MLP, V vocab. */
export function dims(c: LlamaConfig): { D: number; H: number; KV: number; G: number; hd: number; F: number; V: number } {
  const H = c.num_attention_heads;
  const KV = c.num_key_value_heads;
  return { D: c.hidden_size, H, KV, G: H / KV, hd: c.hidden_size / H, F: c.intermediate_size, V: c.vocab_size };
}

/** Initialisation std of weights (HF initializer_range); residual output projections get std/√(2L). */
const INIT_STD = 0.02;
/** Additive attention bias of a masked position: exp(-1e9 - max) is exactly 0 in float32. */
export const MASKED = -1e9;

/**
 * Keys [B·KV, S, hd] (rotary applied) and values, transposed, [B·KV, hd, S] of positions already seen,
 * per layer, batch-major (row b·KV + h). `padBias` [B, 1, Smax] (0 or MASKED) hides left padding.
 */
export class KVCache {
  k: tf.Tensor3D[] = [];
  v: tf.Tensor3D[] = [];
  /** Positions in the cache. */
  length = 0;
  constructor(readonly kvHeads: number, public padBias: tf.Tensor3D | null = null) {}

  /** Keeps batch rows `rows` (in that order), e.g. to drop finished sequences. */
  select(rows: number[]): void {
    const KV = this.kvHeads;
    const idx = tf.tensor1d(rows.flatMap((b) => Array.from({ length: KV }, (_, h) => b * KV + h)), 'int32');
    this.replace((t) => tf.gather(t, idx));
    if (this.padBias) {
      const old = this.padBias;
      this.padBias = tf.tidy(() => tf.gather(old, tf.tensor1d(rows, 'int32')));
      old.dispose();
    }
    idx.dispose();
  }

  /** A batch of one becomes n identical rows (a prompt prefilled once for n samples). */
  repeat(n: number): void {
    if (this.padBias) throw new Error('KVCache.repeat: a padded cache has more than one row');
    this.replace((t) => tf.tile(t, [n, 1, 1]));
  }

  dispose(): void {
    tf.dispose([...this.k, ...this.v]);
    if (this.padBias) this.padBias.dispose();
    this.k = [];
    this.v = [];
    this.padBias = null;
    this.length = 0;
  }

  private replace(f: (t: tf.Tensor3D) => tf.Tensor): void {
    for (const list of [this.k, this.v]) {
      list.forEach((t, l) => {
        list[l] = tf.tidy(() => f(t)) as tf.Tensor3D;
        t.dispose();
      });
    }
  }
}

export class Transformer {
  readonly params = new Map<string, tf.Variable>();
  /** cos / sin tables [P, hd] (HF layout, frequencies repeated over both halves); R = rotate_half as a matrix. */
  private rope: { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D } | null = null;
  /** Tensors derived from parameters (decode.ts's rearranged weights), rebuilt when a source changes. */
  private derivedCache = new Map<string, { src: object[]; t: tf.Tensor }>();
  private static models = 0;
  private readonly id = Transformer.models++;

  constructor(readonly config: LlamaConfig) {}

  /** A randomly initialised model, deterministic for (config, seed) on every backend. */
  static init(config: LlamaConfig, seed: number): Transformer {
    const m = new Transformer(config);
    const rng = new Rng(seed);
    const resid = INIT_STD / Math.sqrt(2 * config.num_hidden_layers);
    for (const [name, shape] of paramShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name.endsWith('norm.weight')) data.fill(1);
      else if (!name.endsWith('.bias')) {
        const std = /(o_proj|down_proj)\.weight$/.test(name) ? resid : INIT_STD;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      const t = tf.tensor(data, shape, 'float32');
      // tfjs variable names are global: prefix a per-model id so a policy and its reference coexist.
      m.params.set(name, tf.variable(t, true, `m${m.id}/${name}`));
      t.dispose();
    }
    return m;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  numParams(): number {
    return [...this.params.values()].reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    tf.dispose([...this.params.values()]);
    this.params.clear();
    if (this.rope) tf.dispose([this.rope.cos, this.rope.sin, this.rope.rot]);
    this.rope = null;
    for (const { t } of this.derivedCache.values()) t.dispose();
    this.derivedCache.clear();
  }

  /**
   * A tensor computed by `build` from the parameters named in `sources`, kept until one of them is
   * assigned (an optimizer step) or the model is disposed. Sampling uses it for weights it rearranges.
   */
  derived<T extends tf.Tensor>(key: string, sources: string[], build: () => T): T {
    const src = sources.map((n) => this.p(n).dataId);
    const e = this.derivedCache.get(key);
    if (e && e.src.every((d, i) => d === src[i])) return e.t as T;
    e?.t.dispose();
    const t = tf.keep(tf.tidy(build));
    this.derivedCache.set(key, { src, t });
    return t;
  }

  /** x [N, in] · W[out, in]ᵗ → [N, out] for the Linear weight `name`. */
  linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return tf.matMul(x, this.p(name), false, true);
  }

  /** The parameter `name` (HF naming). */
  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`transformer: no parameter ${name}`);
    return v;
  }

  /** Logits [B, T, V] for ids [B, T] (int32). */
  logits(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = ids.shape;
      const h = this.forward(ids); // [B, T, D]
      return this.head(h.reshape([B * T, -1]) as tf.Tensor2D).reshape([B, T, -1]) as tf.Tensor3D; // [B, T, V]
    });
  }

  /** Output head on final hidden states [N, D] → logits [N, V]. */
  head(h: tf.Tensor2D): tf.Tensor2D {
    return this.linear(h, this.headName()); // [N, V]
  }

  /** The head's weight: the embedding when tied. */
  headName(): string {
    return this.config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  }

  /**
   * Final (normed) hidden states [B, T, D] of ids [B, T]. Without a cache: positions 0..T-1, causal.
   * With one: positions cache.length.., attending to the cached keys too; appends the new keys and
   * values to the cache (disposing the tensors it replaces) and advances cache.length. The caller runs
   * this inside tf.tidy; cache tensors are kept.
   */
  forward(ids: tf.Tensor2D, cache?: KVCache): tf.Tensor3D {
    const c = this.config;
    const [B, T] = ids.shape;
    const D = c.hidden_size;
    const H = c.num_attention_heads;
    const KV = c.num_key_value_heads;
    const G = H / KV;
    const hd = D / H;
    const N = B * T;
    const pos = cache?.length ?? 0;
    const cached = cache !== undefined;
    const S = pos + T;
    if (S > c.max_position_embeddings) throw new Error(`transformer: ${S} positions exceed max_position_embeddings ${c.max_position_embeddings}`);
    const rope = this.ropeTables();
    const cos = tf.slice(rope.cos, [pos, 0], [T, hd]); // [T, hd]
    const sin = tf.slice(rope.sin, [pos, 0], [T, hd]); // [T, hd]
    // q also carries the 1/√hd of the scores (cheaper here than on [.., T, S]).
    const scale = 1 / Math.sqrt(hd);
    const qcos = tf.mul(cos, scale) as tf.Tensor2D;
    const qsin = tf.mul(sin, scale) as tf.Tensor2D;
    const mask = this.attentionMask(B, T, pos, G, cache?.padBias ?? null); // [1 or B, 1, G·T, S] or none

    let x = tf.gather(this.p('model.embed_tokens.weight'), ids.reshape([N])) as tf.Tensor2D; // [N, D]
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const pre = `model.layers.${l}.`;
      const h = this.rmsNorm(x, pre + 'input_layernorm.weight'); // [N, D]
      // Projections to [B, heads, T, hd]: each head's rows contiguous for the per-head products.
      const proj = (name: string, heads: number): tf.Tensor4D => {
        let y = this.linear(h, pre + `self_attn.${name}.weight`); // [N, heads·hd]
        if (c.attention_bias) y = tf.add(y, this.p(pre + `self_attn.${name}.bias`)) as tf.Tensor2D;
        return tf.transpose(y.reshape([B, T, heads, hd]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, heads, T, hd]
      };
      const q = this.applyRope(proj('q_proj', H), qcos, qsin).reshape([B * KV, G * T, hd]) as tf.Tensor3D; // [B·KV, G·T, hd]
      let k = this.applyRope(proj('k_proj', KV), cos, sin).reshape([B * KV, T, hd]) as tf.Tensor3D; // [B·KV, T, hd]
      let v = proj('v_proj', KV).reshape([B * KV, T, hd]) as tf.Tensor3D; // [B·KV, T, hd]; cached: [B·KV, hd, S]
      if (cache) {
        v = tf.transpose(v, [0, 2, 1]); // values cached transposed: decode's p·v then reads rows contiguously
        if (cache.k[l]) {
          const [k0, v0] = [cache.k[l], cache.v[l]];
          k = tf.concat([k0, k], 1); // [B·KV, S, hd]
          v = tf.concat([v0, v], 2); // [B·KV, hd, S]
          tf.dispose([k0, v0]);
        }
        cache.k[l] = tf.keep(k);
        cache.v[l] = tf.keep(v);
      }
      // GQA without repeating keys: the G query heads of a key/value head are stacked as G·T rows.
      const scores = tf.matMul(q, k, false, true).reshape([B, KV, G * T, S]); // [B, KV, G·T, S]
      const probs = tf.softmax(mask ? tf.add(scores, mask) : scores).reshape([B * KV, G * T, S]) as tf.Tensor3D; // [B·KV, G·T, S]
      const att = tf.matMul(probs, v, false, cached); // [B·KV, G·T, hd]
      const merged = tf.transpose(att.reshape([B, H, T, hd]), [0, 2, 1, 3]).reshape([N, D]) as tf.Tensor2D; // [N, D]
      x = tf.add(x, this.linear(merged, pre + 'self_attn.o_proj.weight'));
      const h2 = this.rmsNorm(x, pre + 'post_attention_layernorm.weight'); // [N, D]
      const gate = this.linear(h2, pre + 'mlp.gate_proj.weight'); // [N, F]
      const up = this.linear(h2, pre + 'mlp.up_proj.weight'); // [N, F]
      const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D; // silu(gate)·up, [N, F]
      x = tf.add(x, this.linear(act, pre + 'mlp.down_proj.weight'));
    }
    if (cache) cache.length = S;
    return this.rmsNorm(x, 'model.norm.weight').reshape([B, T, D]) as tf.Tensor3D;
  }

  private rmsNorm(x: tf.Tensor2D, weight: string): tf.Tensor2D {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.config.rms_norm_eps)); // [N, 1]
    return tf.mul(tf.mul(x, r), this.p(weight));
  }

  /** x·cos + rotate_half(x)·sin on [B, heads, T, hd]; rotate_half as a product with a fixed ±1 matrix. */
  private applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
    const hd = x.shape[3];
    const rotated = tf.matMul(x.reshape([-1, hd]) as tf.Tensor2D, this.ropeTables().rot).reshape(x.shape); // [B, heads, T, hd]
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  }

  private ropeTables(): { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D } {
    if (!this.rope) {
      const c = this.config;
      const hd = c.hidden_size / c.num_attention_heads;
      const half = hd / 2;
      const P = c.max_position_embeddings;
      const cos = new Float32Array(P * hd);
      const sin = new Float32Array(P * hd);
      for (let p = 0; p < P; p++) {
        for (let i = 0; i < half; i++) {
          const a = p / Math.pow(c.rope_theta, (2 * i) / hd);
          cos[p * hd + i] = cos[p * hd + half + i] = Math.cos(a);
          sin[p * hd + i] = sin[p * hd + half + i] = Math.sin(a);
        }
      }
      // rotate_half(x) = [-x2, x1] = x·R with R[half+i, i] = -1, R[i, half+i] = 1.
      const rot = new Float32Array(hd * hd);
      for (let i = 0; i < half; i++) {
        rot[(half + i) * hd + i] = -1;
        rot[i * hd + half + i] = 1;
      }
      this.rope = tf.tidy(() => ({
        cos: tf.keep(tf.tensor2d(cos, [P, hd])),
        sin: tf.keep(tf.tensor2d(sin, [P, hd])),
        rot: tf.keep(tf.tensor2d(rot, [hd, hd])),
      }));
    }
    return this.rope;
  }

  /**
   * Additive mask [1 or B, 1, G·T, S]: causal over positions pos.., plus the cache's left padding;
   * null when nothing is masked (a decode step without padding).
   */
  private attentionMask(B: number, T: number, pos: number, G: number, padBias: tf.Tensor3D | null): tf.Tensor4D | null {
    if (T === 1 && !padBias) return null;
    const S = pos + T;
    const causal = new Float32Array(T * S);
    for (let t = 0; t < T; t++) causal.fill(MASKED, t * S + pos + t + 1, (t + 1) * S);
    let m: tf.Tensor = tf.tensor(causal, [1, 1, T, S]);
    if (G > 1) m = tf.tile(m, [1, 1, G, 1]); // rows are (head g, position t), g-major
    if (padBias) m = tf.add(m, tf.slice(padBias, [0, 0, 0], [B, 1, S]).reshape([B, 1, 1, S]));
    return m as tf.Tensor4D;
  }
}

/** Every parameter's HF name and shape for a config, in HF order. */
export function paramShapes(c: LlamaConfig): [string, number[]][] {
  const D = c.hidden_size;
  const kv = (D / c.num_attention_heads) * c.num_key_value_heads;
  const F = c.intermediate_size;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [c.vocab_size, D]]];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    out.push([p + 'input_layernorm.weight', [D]], [p + 'self_attn.q_proj.weight', [D, D]], [p + 'self_attn.k_proj.weight', [kv, D]], [p + 'self_attn.v_proj.weight', [kv, D]]);
    if (c.attention_bias) out.push([p + 'self_attn.q_proj.bias', [D]], [p + 'self_attn.k_proj.bias', [kv]], [p + 'self_attn.v_proj.bias', [kv]]);
    out.push([p + 'self_attn.o_proj.weight', [D, D]], [p + 'post_attention_layernorm.weight', [D]]);
    out.push([p + 'mlp.gate_proj.weight', [F, D]], [p + 'mlp.up_proj.weight', [F, D]], [p + 'mlp.down_proj.weight', [D, F]]);
  }
  out.push(['model.norm.weight', [D]]);
  if (!c.tie_word_embeddings) out.push(['lm_head.weight', [c.vocab_size, D]]);
  return out;
}

/**
 * log p(ids[:, t+1] | ids[:, ≤t]) for t in [from, T-1): [B, T-1-from] (from = 0 gives the contract's
 * [B, T-1]). As logsumexp minus the picked logit, with a hand-written gradient (softmax − onehot) so the
 * backward pass makes three [N, V] tensors instead of autodiff's dozen; the head skips the last position
 * and the first `from` (prompt positions whose predictions are not needed).
 */
export function tokenLogprobs(model: Transformer, ids: tf.Tensor2D, from = 0): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, T] = ids.shape;
    const n = T - 1 - from;
    const h = model.forward(ids); // [B, T, D]
    const hs = tf.slice(h, [0, from, 0], [B, n, -1]).reshape([B * n, -1]) as tf.Tensor2D; // [B·n, D]
    const targets = tf.slice(ids, [0, from + 1], [B, n]).reshape([B * n]) as tf.Tensor1D; // [B·n]
    return pickLogprobs(model.head(hs), targets).reshape([B, n]) as tf.Tensor2D;
  });
}

/** log_softmax(logits)[i, targets[i]]: [N] from logits [N, V]. */
export function pickLogprobs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [N, V] = logits.shape;
  const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), targets) as tf.Tensor1D; // [N] indices into [N·V]
  const f = tf.customGrad(((lg: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const m = tf.max(lg, -1, true); // [N, 1]
    const e = tf.exp(tf.sub(lg, m)); // [N, V]
    const z = tf.sum(e, -1, true); // [N, 1]
    const lse = tf.add(tf.log(z), m).reshape([N]); // [N]
    // The softmax is kept for the backward pass (a divide now is cheaper than a second exp then).
    save([tf.div(e, z), flat]); // flat saved, not captured: the caller's tidy disposes it
    return {
      value: tf.sub(tf.gather(lg.reshape([N * V]), flat), lse), // [N]
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [p, idx] = saved;
        const g = dy as tf.Tensor1D;
        const hot = tf.scatterND(idx.reshape([N, 1]), g, [N * V]).reshape([N, V]); // [N, V]
        return tf.sub(hot, tf.mul(p, g.reshape([N, 1])));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Tensor1D;
}

// The sampler on onnxruntime-node (CPU, MLAS kernels): the Transformer exported once to an in-memory
// ONNX graph (onnxproto.ts writes the bytes) and driven with a host-side KV cache, with sample.ts's
// semantics (pickToken, stop tokens, truncation, left padding, rng order). The session is a snapshot of
// the weights at create(): after an optimizer step, release it and create another. Knows nothing of
// rewards; transformer.ts stays the model's definition (tests hold this graph to its logits).

import * as ort from 'onnxruntime-node';
import { dims, MASKED, type LlamaConfig, type Transformer } from './transformer.ts';
import { leftPad, oneRepeated, sampleTokens, type SampleOptions, type SampleResult } from './sample.ts';
import { cpuSession, FLOAT, GraphBuilder, INT64 } from './onnxproto.ts';

/**
 * ONNX ModelProto bytes of `model`. Inputs: input_ids int64 [B, T]; cos, sin [T, hd] (HF layout) of the
 * positions fed; attn_bias [B, 1, T, S] (0 or MASKED; S = P + T); past_key_l / past_value_l [B, KV, P, hd].
 * Outputs: logits [B, V] of the last position; present_key_l / present_value_l [B, KV, S, hd].
 * Weights are stored [in, out]; q/k/v and gate/up are fused into one product each, 1/√hd folded into q.
 */
export async function exportOnnx(model: Transformer): Promise<Uint8Array> {
  const c = model.config;
  const { D, H, KV, G, hd, F, V } = dims(c);
  const g = new GraphBuilder();
  const w = async (name: string) => (await model.p(name).data()) as Float32Array;

  const ids = g.input('input_ids', INT64, ['B', 'T']);
  const cos = g.op1('Unsqueeze', [g.input('cos', FLOAT, ['T', hd]), g.int64([1])]); // [T, 1, hd]
  const sin = g.op1('Unsqueeze', [g.input('sin', FLOAT, ['T', hd]), g.int64([1])]); // [T, 1, hd]
  const bias = g.input('attn_bias', FLOAT, ['B', 1, 'T', 'S']);
  // Score rows are (query head g, position t), g-major within a kv head: the mask repeats per g.
  const mask = G > 1 ? g.op1('Tile', [bias, g.int64([1, 1, G, 1])]) : bias; // [B, 1, G·T, S]
  const rot = g.weight('rotate_half', [hd, hd], rotateHalf(hd)); // x·R = [−x₂, x₁]
  const gains = new Map<string, Float32Array>();
  for (const [name] of model.params) if (name.endsWith('norm.weight')) gains.set(name, await w(name));
  // RMSNorm in the Pow → ReduceMean → Add → Sqrt → Div → Mul shape ORT fuses into one kernel.
  const rms = (x: string, gain: string) => {
    const ms = g.op1('ReduceMean', [g.op1('Pow', [x, g.scalar(2)])], { axes: [-1], keepdims: 1 });
    const den = g.op1('Sqrt', [g.op1('Add', [ms, g.scalar(c.rms_norm_eps)])]);
    return g.op1('Mul', [g.op1('Div', [x, den]), g.weight(gain, [D], gains.get(gain)!)]);
  };

  let x = g.op1('Gather', [g.weight('embed', [V, D], await w('model.embed_tokens.weight')), ids], { axis: 0 }); // [B, T, D]
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const pre = `model.layers.${l}.`;
    const a = pre + 'self_attn.';
    const scale = 1 / Math.sqrt(hd);
    const qkvW = stackT([await w(a + 'q_proj.weight'), await w(a + 'k_proj.weight'), await w(a + 'v_proj.weight')], D, [scale, 1, 1]);
    let qkv = g.op1('MatMul', [rms(x, pre + 'input_layernorm.weight'), g.weight(`l${l}.qkv`, [D, (H + 2 * KV) * hd], qkvW)]); // [B, T, (H+2KV)·hd]
    if (c.attention_bias) {
      const b = concat([(await w(a + 'q_proj.bias')).map((y) => y * scale), await w(a + 'k_proj.bias'), await w(a + 'v_proj.bias')]);
      qkv = g.op1('Add', [qkv, g.weight(`l${l}.qkv_bias`, [b.length], b)]);
    }
    const heads = g.op1('Reshape', [qkv, g.int64([0, 0, H + 2 * KV, hd])]); // [B, T, H+2KV, hd]
    const [qk, v] = g.op('Split', [heads, g.int64([H + KV, KV])], { axis: 2 }, 2); // [B, T, H+KV, hd], [B, T, KV, hd]
    const qkRot = g.op1('Add', [g.op1('Mul', [qk, cos]), g.op1('Mul', [g.op1('MatMul', [qk, rot]), sin])]); // rotary, [B, T, H+KV, hd]
    const [q, k] = g.op('Split', [qkRot, g.int64([H, KV])], { axis: 2 }, 2);
    // GQA without repeating keys: the G query heads of a kv head are stacked as G·T rows.
    const qg = g.op1('Reshape', [g.op1('Transpose', [q], { perm: [0, 2, 1, 3] }), g.int64([0, KV, -1, hd])]); // [B, KV, G·T, hd]
    const kAll = g.op1('Concat', [g.input(`past_key_${l}`, FLOAT, ['B', KV, 'P', hd]), g.op1('Transpose', [k], { perm: [0, 2, 1, 3] })], { axis: 2 }, `present_key_${l}`); // [B, KV, S, hd]
    const vAll = g.op1('Concat', [g.input(`past_value_${l}`, FLOAT, ['B', KV, 'P', hd]), g.op1('Transpose', [v], { perm: [0, 2, 1, 3] })], { axis: 2 }, `present_value_${l}`);
    const scores = g.op1('MatMul', [qg, g.op1('Transpose', [kAll], { perm: [0, 1, 3, 2] })]); // [B, KV, G·T, S]
    const probs = g.op1('Softmax', [g.op1('Add', [scores, mask])], { axis: -1 });
    const att = g.op1('MatMul', [probs, vAll]); // [B, KV, G·T, hd]
    const merged = g.op1('Reshape', [g.op1('Transpose', [g.op1('Reshape', [att, g.int64([0, H, -1, hd])])], { perm: [0, 2, 1, 3] }), g.int64([0, 0, D])]); // [B, T, D]
    x = g.op1('Add', [x, g.op1('MatMul', [merged, g.weight(`l${l}.o`, [D, D], stackT([await w(a + 'o_proj.weight')], D))])]);
    const gu = g.op1('MatMul', [rms(x, pre + 'post_attention_layernorm.weight'), g.weight(`l${l}.gate_up`, [D, 2 * F], stackT([await w(pre + 'mlp.gate_proj.weight'), await w(pre + 'mlp.up_proj.weight')], D))]); // [B, T, 2F]
    const [gate, up] = g.op('Split', [gu, g.int64([F, F])], { axis: -1 }, 2); // [B, T, F] each
    const act = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]); // silu(gate)·up
    x = g.op1('Add', [x, g.op1('MatMul', [act, g.weight(`l${l}.down`, [F, D], stackT([await w(pre + 'mlp.down_proj.weight')], F))])]);
    g.output(`present_key_${l}`, FLOAT, ['B', KV, 'S', hd]);
    g.output(`present_value_${l}`, FLOAT, ['B', KV, 'S', hd]);
  }
  const last = g.op1('Gather', [x, g.int64([-1], [])], { axis: 1 }); // [B, D]
  const head = stackT([await w(model.headName())], D);
  g.op1('MatMul', [rms(last, 'model.norm.weight'), g.weight('head', [D, V], head)], {}, 'logits'); // [B, V]
  g.output('logits', FLOAT, ['B', V]);
  return g.bytes('pr-rl');
}

/** Linear weights [out_i, inDim] stacked along out and transposed to [inDim, Σout]; scales per weight. */
function stackT(ws: Float32Array[], inDim: number, scales: number[] = ws.map(() => 1)): Float32Array {
  const outs = ws.map((m) => m.length / inDim);
  const total = outs.reduce((s, o) => s + o, 0);
  const t = new Float32Array(inDim * total);
  let col = 0;
  ws.forEach((m, k) => {
    for (let o = 0; o < outs[k]; o++) for (let i = 0; i < inDim; i++) t[i * total + col + o] = m[o * inDim + i] * scales[k];
    col += outs[k];
  });
  return t;
}

function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** R with x·R = rotate_half(x) = [−x₂, x₁]: R[half+i, i] = −1, R[i, half+i] = 1. */
function rotateHalf(hd: number): Float32Array {
  const half = hd / 2;
  const r = new Float32Array(hd * hd);
  for (let i = 0; i < half; i++) {
    r[(half + i) * hd + i] = -1;
    r[i * hd + half + i] = 1;
  }
  return r;
}

export interface OnnxOptions {
  /** ORT intra-op threads; 0 = ORT's default (one per physical core). */
  threads?: number;
}

/**
 * Keys and values of the positions seen, per layer, [B, KV, S, hd] each, in two buffers per tensor sized
 * for `rows` rows and `maxLen` positions: a step reads the past from one and ORT writes the present into
 * the other (preallocated outputs), so nothing is allocated or copied on the JS side per token.
 */
class HostCache {
  private cur: Float32Array[] = [];
  private spare: Float32Array[] = [];
  /** [B, maxLen]: MASKED at a row's left padding, else 0. */
  pad: Float32Array;
  /** Positions cached. */
  S = 0;

  constructor(private c: Readonly<LlamaConfig>, rows: number, public B: number, readonly maxLen: number) {
    const size = rows * maxLen * c.num_key_value_heads * (c.hidden_size / c.num_attention_heads);
    for (let i = 0; i < 2 * c.num_hidden_layers; i++) {
      this.cur.push(new Float32Array(size));
      this.spare.push(new Float32Array(size));
    }
    this.pad = new Float32Array(B * maxLen);
  }

  /** Feeds past_* and preallocated fetches present_* for a step of T positions; advance(T) after it. */
  bind(T: number, feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>): void {
    const KV = this.c.num_key_value_heads;
    const hd = this.c.hidden_size / this.c.num_attention_heads;
    const view = (buf: Float32Array, S: number) => new ort.Tensor('float32', buf.subarray(0, this.B * KV * S * hd), [this.B, KV, S, hd]);
    for (let i = 0; i < 2 * this.c.num_hidden_layers; i++) {
      const name = `${i % 2 ? 'value' : 'key'}_${i >> 1}`;
      feeds[`past_${name}`] = view(this.cur[i], this.S);
      fetches[`present_${name}`] = view(this.spare[i], this.S + T);
    }
  }

  advance(T: number): void {
    [this.cur, this.spare] = [this.spare, this.cur];
    this.S += T;
  }

  /** Keeps rows `rows` in that order (a row may repeat: one prefilled prompt for n samples). */
  select(rows: number[]): void {
    const n = this.S * this.c.num_key_value_heads * (this.c.hidden_size / this.c.num_attention_heads);
    for (let i = 0; i < this.cur.length; i++) rows.forEach((r, j) => this.spare[i].set(this.cur[i].subarray(r * n, (r + 1) * n), j * n));
    [this.cur, this.spare] = [this.spare, this.cur];
    const L = this.maxLen;
    const pad = new Float32Array(rows.length * L);
    rows.forEach((r, j) => pad.set(this.pad.subarray(r * L, (r + 1) * L), j * L));
    this.pad = pad;
    this.B = rows.length;
  }
}

export class OnnxPolicy {
  private constructor(private session: ort.InferenceSession, readonly config: Readonly<LlamaConfig>) {}

  /** Exports `model` (its current weights) and opens a CPU session on it. */
  static async create(model: Transformer, opts: OnnxOptions = {}): Promise<OnnxPolicy> {
    const bytes = await exportOnnx(model);
    const session = await cpuSession(bytes, opts.threads ?? 0);
    return new OnnxPolicy(session, { ...model.config });
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** Samples completions for `prompts`: sample.ts's loop (same options, errors and rng order); finished rows leave the cache at once. */
  async generate(prompts: number[][], opts: SampleOptions): Promise<SampleResult> {
    let cache: HostCache | null = null;
    return sampleTokens({
      prefill: async (ps, maxLen) => { const r = await this.prefill(ps, maxLen); cache = r.cache; return r.logits; },
      step: (feed) => this.step(feed.map((t) => [t]), cache!),
      keep: (rows) => cache!.select(rows),
      dispose: () => { cache = null; },
    }, prompts, opts, this.config, 0);
  }

  /**
   * Last-position logits [B·V] of left-padded `prompts`, the final `decodeLast` tokens of each fed one
   * step at a time through the cache (tests compare both paths with transformer.ts).
   */
  async lastLogits(prompts: number[][], decodeLast = 0): Promise<Float32Array> {
    if (prompts.some((p) => p.length <= decodeLast)) throw new Error(`onnx.lastLogits: every prompt needs more than ${decodeLast} tokens`);
    const P = prompts.reduce((m, p) => Math.max(m, p.length), 0);
    const { cache, logits } = await this.prefill(prompts.map((p) => p.slice(0, p.length - decodeLast)), P, false);
    let out = logits;
    for (let i = decodeLast; i > 0; i--) out = await this.step(prompts.map((p) => [p[p.length - i]]), cache);
    return out;
  }

  /** Runs the prompts into a new cache with room for maxLen positions; the last position's logits. */
  private async prefill(prompts: number[][], maxLen: number, shareSame = true): Promise<{ cache: HostCache; logits: Float32Array }> {
    const c = this.config;
    const B = prompts.length;
    if (shareSame && B > 1 && oneRepeated(prompts)) {
      // GRPO's G copies of one prompt: prefilled once, then the cache row repeated.
      const cache = new HostCache(c, B, 1, maxLen);
      const one = await this.step([prompts[0]], cache);
      cache.select(new Array<number>(B).fill(0));
      const logits = new Float32Array(B * one.length);
      for (let b = 0; b < B; b++) logits.set(one, b * one.length);
      return { cache, logits };
    }
    const { ids, P } = leftPad(prompts, c.pad_token_id ?? c.eos_token_id);
    const cache = new HostCache(c, B, B, maxLen);
    prompts.forEach((p, b) => cache.pad.fill(MASKED, b * maxLen, b * maxLen + P - p.length));
    return { cache, logits: await this.step(ids, cache) };
  }

  /** ids [B, T] at positions cache.S.. through the graph; appends to the cache; logits [B·V] of the last. */
  private async step(ids: number[][], cache: HostCache): Promise<Float32Array> {
    const c = this.config;
    const B = ids.length;
    const T = ids[0].length;
    const pos = cache.S;
    const S = pos + T;
    if (S > cache.maxLen) throw new Error(`onnx: ${S} positions exceed the cache's ${cache.maxLen}`);
    const hd = c.hidden_size / c.num_attention_heads;
    const bias = new Float32Array(B * T * S); // [B, 1, T, S]: causal + the row's padding
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * S;
        for (let s = 0; s < S; s++) bias[o + s] = s > pos + t ? MASKED : cache.pad[b * cache.maxLen + s];
      }
    }
    const { cos, sin } = ropeRows(pos, T, hd, c.rope_theta);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [B, T]),
      cos: new ort.Tensor('float32', cos, [T, hd]),
      sin: new ort.Tensor('float32', sin, [T, hd]),
      attn_bias: new ort.Tensor('float32', bias, [B, 1, T, S]),
    };
    const logits = new Float32Array(B * c.vocab_size);
    const fetches: Record<string, ort.Tensor | null> = { logits: new ort.Tensor('float32', logits, [B, c.vocab_size]) };
    cache.bind(T, feeds, fetches);
    await this.session.run(feeds, fetches);
    cache.advance(T);
    return logits;
  }
}

/** cos / sin [T, hd] of positions pos.. (HF layout, as transformer.ts's tables). */
export function ropeRows(pos: number, T: number, hd: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = hd / 2;
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = (pos + t) / Math.pow(theta, (2 * i) / hd);
      cos[t * hd + i] = cos[t * hd + half + i] = Math.cos(a);
      sin[t * hd + i] = sin[t * hd + half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

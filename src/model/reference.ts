// A plain-JS, float64 forward pass of a Llama-family decoder (RMSNorm, rotary embeddings with HF's
// rotate_half, grouped-query causal attention with optional q/k/v biases as in Qwen2, SwiGLU MLP, tied
// or untied head), written from the Hugging Face modeling_llama definitions and sharing no code with
// transformer.ts. Tests use it as the independent answer for logits; it is slow and never trains.

/** The config.json fields the forward needs (LlamaConfig is assignable to it). */
export interface ReferenceConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  intermediate_size: number;
  vocab_size: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  tie_word_embeddings?: boolean;
  head_dim?: number;
}

/** Parameters by HF name, row-major with HF shapes (Linear weights [out, in]). */
export type ReferenceParams = ReadonlyMap<string, ArrayLike<number>>;

/** Logits of one sequence, row-major [T, V]. */
export interface ReferenceLogits {
  T: number;
  V: number;
  data: Float64Array;
}

/** Logits for each sequence of token ids (no padding, no cache: every position attends to ≤ itself). */
export function referenceLogits(config: ReferenceConfig, params: ReferenceParams, batch: readonly (readonly number[])[]): ReferenceLogits[] {
  return batch.map((ids) => forward(config, params, ids));
}

function forward(c: ReferenceConfig, params: ReferenceParams, ids: readonly number[]): ReferenceLogits {
  const D = c.hidden_size;
  const H = c.num_attention_heads;
  const KV = c.num_key_value_heads ?? H;
  const hd = c.head_dim ?? D / H;
  const F = c.intermediate_size;
  const V = c.vocab_size;
  const eps = c.rms_norm_eps ?? 1e-6;
  const T = ids.length;
  const p = (name: string): ArrayLike<number> => {
    const v = params.get(name);
    if (!v) throw new Error(`reference: missing parameter ${name}`);
    return v;
  };
  const opt = (name: string): ArrayLike<number> | undefined => params.get(name);

  const emb = p('model.embed_tokens.weight'); // [V, D]
  let x: Float64Array[] = ids.map((id) => {
    if (!(id >= 0 && id < V)) throw new Error(`reference: token id ${id} outside [0, ${V})`);
    return Float64Array.from({ length: D }, (_, j) => emb[id * D + j]);
  });
  const { cos, sin } = ropeTables(T, hd, c.rope_theta ?? 10000);

  for (let l = 0; l < c.num_hidden_layers; l++) {
    const pre = `model.layers.${l}.`;
    // attention block
    const h = x.map((r) => rmsNorm(r, p(pre + 'input_layernorm.weight'), eps));
    const q = h.map((r) => linear(r, p(pre + 'self_attn.q_proj.weight'), H * hd, opt(pre + 'self_attn.q_proj.bias')));
    const k = h.map((r) => linear(r, p(pre + 'self_attn.k_proj.weight'), KV * hd, opt(pre + 'self_attn.k_proj.bias')));
    const v = h.map((r) => linear(r, p(pre + 'self_attn.v_proj.weight'), KV * hd, opt(pre + 'self_attn.v_proj.bias')));
    for (let t = 0; t < T; t++) {
      for (let hh = 0; hh < H; hh++) rope(q[t], hh * hd, hd, cos[t], sin[t]);
      for (let hh = 0; hh < KV; hh++) rope(k[t], hh * hd, hd, cos[t], sin[t]);
    }
    const att = x.map(() => new Float64Array(H * hd));
    const group = H / KV; // query heads per key/value head (HF repeat_kv)
    const scale = 1 / Math.sqrt(hd);
    for (let t = 0; t < T; t++) {
      for (let hh = 0; hh < H; hh++) {
        const kvh = Math.floor(hh / group);
        const scores = new Float64Array(t + 1);
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let j = 0; j < hd; j++) dot += q[t][hh * hd + j] * k[s][kvh * hd + j];
          scores[s] = dot * scale;
          if (scores[s] > max) max = scores[s];
        }
        let z = 0;
        for (let s = 0; s <= t; s++) z += scores[s] = Math.exp(scores[s] - max);
        for (let s = 0; s <= t; s++) {
          const w = scores[s] / z;
          for (let j = 0; j < hd; j++) att[t][hh * hd + j] += w * v[s][kvh * hd + j];
        }
      }
    }
    x = x.map((r, t) => add(r, linear(att[t], p(pre + 'self_attn.o_proj.weight'), D)));
    // MLP block: down(silu(gate(h)) * up(h))
    const h2 = x.map((r) => rmsNorm(r, p(pre + 'post_attention_layernorm.weight'), eps));
    x = x.map((r, t) => {
      const g = linear(h2[t], p(pre + 'mlp.gate_proj.weight'), F);
      const u = linear(h2[t], p(pre + 'mlp.up_proj.weight'), F);
      for (let j = 0; j < F; j++) g[j] = (g[j] / (1 + Math.exp(-g[j]))) * u[j];
      return add(r, linear(g, p(pre + 'mlp.down_proj.weight'), D));
    });
  }

  const head = c.tie_word_embeddings ? emb : p('lm_head.weight'); // [V, D]
  const data = new Float64Array(T * V);
  x.forEach((r, t) => data.set(linear(rmsNorm(r, p('model.norm.weight'), eps), head, V), t * V));
  return { T, V, data };
}

/** y = W x (+ b), W row-major [out, in] as in torch.nn.Linear. */
function linear(x: Float64Array, w: ArrayLike<number>, out: number, b?: ArrayLike<number>): Float64Array {
  const n = x.length;
  if (w.length !== out * n) throw new Error(`reference: weight has ${w.length} values, expected ${out}×${n}`);
  const y = new Float64Array(out);
  for (let i = 0; i < out; i++) {
    let s = b ? b[i] : 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += w[row + j] * x[j];
    y[i] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: ArrayLike<number>, eps: number): Float64Array {
  let ms = 0;
  for (let j = 0; j < x.length; j++) ms += x[j] * x[j];
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, j) => v * r * w[j]);
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, j) => v + b[j]);
}

/** cos/sin per position for half a head: θ_i = pos / base^(2i/hd), i < hd/2 (HF duplicates them). */
function ropeTables(T: number, hd: number, base: number): { cos: Float64Array[]; sin: Float64Array[] } {
  const half = hd / 2;
  const cos: Float64Array[] = [];
  const sin: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const c = new Float64Array(half);
    const s = new Float64Array(half);
    for (let i = 0; i < half; i++) {
      const a = t / Math.pow(base, (2 * i) / hd);
      c[i] = Math.cos(a);
      s[i] = Math.sin(a);
    }
    cos.push(c);
    sin.push(s);
  }
  return { cos, sin };
}

/** In place on v[off .. off+hd): x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁] (halves, not pairs). */
function rope(v: Float64Array, off: number, hd: number, cos: Float64Array, sin: Float64Array): void {
  const half = hd / 2;
  for (let i = 0; i < half; i++) {
    const x1 = v[off + i];
    const x2 = v[off + half + i];
    v[off + i] = x1 * cos[i] - x2 * sin[i];
    v[off + half + i] = x2 * cos[i] + x1 * sin[i];
  }
}

/** log-softmax of one row of logits (for comparing log-probabilities). */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - max);
  const lz = max + Math.log(z);
  return Float64Array.from(row, (v) => v - lz);
}

// One decode step of the sampler: a single new token per row through the KV cache, with the weights
// rearranged once for it (kept by Transformer.derived until an optimizer step changes them): q/k/v and
// gate/up fused into one product each, [in, out] layout (XNNPACK keeps such weights packed between
// steps), RMSNorm gains and 1/√hd folded in, and rotary embedding as one [hd, hd] product (all rows
// share the position). About 35 kernels per layer instead of 56: a decode step is dispatch-bound.
// Prompts go through Transformer.forward, which fills the same cache layout.

import * as tf from '@tensorflow/tfjs';
import { dims, type KVCache, type Transformer } from './transformer.ts';

/** Logits [B, V] of the next token after `ids` (one per cache row), appending to the cache. */
export function decodeStep(model: Transformer, ids: number[], cache: KVCache): tf.Tensor2D {
  const c = model.config;
  const B = ids.length;
  const { D, H, KV, G, hd, F } = dims(c);
  const pos = cache.length;
  const S = pos + 1;
  if (S > c.max_position_embeddings) throw new Error(`decode: position ${pos} is past max_position_embeddings ${c.max_position_embeddings}`);
  return tf.tidy(() => {
    const rope = tf.tensor2d(ropeMatrix(pos, hd, c.rope_theta), [hd, hd]);
    const norm = (x: tf.Tensor2D) => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), c.rms_norm_eps))) as tf.Tensor2D; // gain folded into the next weight
    let x = tf.gather(model.p('model.embed_tokens.weight'), tf.tensor1d(ids, 'int32')) as tf.Tensor2D; // [B, D]
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const w = layerWeights(model, l);
      let qkv = tf.matMul(norm(x), w.qkv); // [B, (H+2KV)·hd]
      if (w.qkvBias) qkv = tf.add(qkv, w.qkvBias);
      const heads = qkv.reshape([B, H + 2 * KV, hd]);
      const qk = tf.matMul(tf.slice(heads, [0, 0, 0], [B, H + KV, hd]).reshape([-1, hd]) as tf.Tensor2D, rope).reshape([B, H + KV, hd]); // rotated
      const q = tf.slice(qk, [0, 0, 0], [B, H, hd]).reshape([B * KV, G, hd]) as tf.Tensor3D; // [B·KV, G, hd]
      const k = tf.slice(qk, [0, H, 0], [B, KV, hd]).reshape([B * KV, 1, hd]) as tf.Tensor3D; // [B·KV, 1, hd]
      const v = tf.slice(heads, [0, H + KV, 0], [B, KV, hd]).reshape([B * KV, hd, 1]) as tf.Tensor3D; // [B·KV, hd, 1]: cached transposed
      const [k0, v0] = [cache.k[l], cache.v[l]];
      const kAll = tf.keep(tf.concat([k0, k], 1)) as tf.Tensor3D; // [B·KV, S, hd]
      const vAll = tf.keep(tf.concat([v0, v], 2)) as tf.Tensor3D; // [B·KV, hd, S]
      tf.dispose([k0, v0]);
      cache.k[l] = kAll;
      cache.v[l] = vAll;
      let scores: tf.Tensor = tf.matMul(q, kAll, false, true); // [B·KV, G, S]
      if (cache.padBias) scores = tf.add(scores.reshape([B, KV, G, S]), tf.slice(cache.padBias, [0, 0, 0], [B, 1, S]).reshape([B, 1, 1, S]));
      const probs = tf.softmax(scores).reshape([B * KV, G, S]) as tf.Tensor3D;
      const att = tf.matMul(probs, vAll, false, true).reshape([B, D]) as tf.Tensor2D; // [B, D]
      x = tf.add(x, tf.matMul(att, w.o));
      const gu = tf.matMul(norm(x), w.gateUp); // [B, 2F]
      const gate = tf.slice(gu, [0, 0], [B, F]);
      const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), tf.slice(gu, [0, F], [B, F])) as tf.Tensor2D; // [B, F]
      x = tf.add(x, tf.matMul(act, w.down));
    }
    cache.length = S;
    const head = model.derived('decode.head', [model.headName(), 'model.norm.weight'], () => foldT(model, [model.headName()], 'model.norm.weight'));
    return tf.matMul(norm(x), head); // [B, V]
  });
}

interface LayerWeights {
  qkv: tf.Tensor2D;
  qkvBias: tf.Tensor1D | null;
  o: tf.Tensor2D;
  gateUp: tf.Tensor2D;
  down: tf.Tensor2D;
}

function layerWeights(model: Transformer, l: number): LayerWeights {
  const p = `model.layers.${l}.`;
  const a = p + 'self_attn.';
  const qkvNames = ['q_proj', 'k_proj', 'v_proj'].map((n) => `${a}${n}.weight`);
  const hd = model.config.hidden_size / model.config.num_attention_heads;
  const scale = 1 / Math.sqrt(hd);
  return {
    qkv: model.derived(`decode.${l}.qkv`, [...qkvNames, p + 'input_layernorm.weight'], () => foldT(model, qkvNames, p + 'input_layernorm.weight', scale)),
    qkvBias: model.config.attention_bias
      ? model.derived(`decode.${l}.qkvBias`, ['q_proj', 'k_proj', 'v_proj'].map((n) => `${a}${n}.bias`), () =>
          tf.concat([tf.mul(model.p(`${a}q_proj.bias`), scale), model.p(`${a}k_proj.bias`), model.p(`${a}v_proj.bias`)]) as tf.Tensor1D)
      : null,
    o: model.derived(`decode.${l}.o`, [a + 'o_proj.weight'], () => foldT(model, [a + 'o_proj.weight'], null)),
    gateUp: model.derived(`decode.${l}.gateUp`, [p + 'mlp.gate_proj.weight', p + 'mlp.up_proj.weight', p + 'post_attention_layernorm.weight'], () =>
      foldT(model, [p + 'mlp.gate_proj.weight', p + 'mlp.up_proj.weight'], p + 'post_attention_layernorm.weight')),
    down: model.derived(`decode.${l}.down`, [p + 'mlp.down_proj.weight'], () => foldT(model, [p + 'mlp.down_proj.weight'], null)),
  };
}

/**
 * [in, Σout]: the Linear weights `names` ([out, in] each) stacked and transposed, rows scaled by the
 * RMSNorm gain `gain` that precedes them ((x·g)·Wᵗ = x·(g∘Wᵗ)); the first weight's columns by `firstScale`.
 */
function foldT(model: Transformer, names: string[], gain: string | null, firstScale = 1): tf.Tensor2D {
  const ws = names.map((n, i) => (i === 0 && firstScale !== 1 ? tf.mul(model.p(n), firstScale) : model.p(n)));
  const t = tf.transpose(ws.length > 1 ? tf.concat(ws, 0) : ws[0]) as tf.Tensor2D; // [in, Σout]
  return (gain ? tf.mul(t, model.p(gain).reshape([-1, 1])) : t) as tf.Tensor2D;
}

/** x·M = x·cos + rotate_half(x)·sin at one position (HF layout: frequencies repeated over both halves). */
export function ropeMatrix(pos: number, hd: number, theta: number): Float32Array {
  const half = hd / 2;
  const m = new Float32Array(hd * hd);
  for (let i = 0; i < half; i++) {
    const a = pos / Math.pow(theta, (2 * i) / hd);
    const [cs, sn] = [Math.cos(a), Math.sin(a)];
    m[i * hd + i] = cs; // out_i = x_i·cos − x_{i+half}·sin
    m[(half + i) * hd + i] = -sn;
    m[(half + i) * hd + half + i] = cs; // out_{i+half} = x_{i+half}·cos + x_i·sin
    m[i * hd + half + i] = sn;
  }
  return m;
}

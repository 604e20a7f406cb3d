// Tiny random Llama models with peaked, varied logits for engine-equivalence tests (test/onnx*.test.ts):
// 2 layers, hidden 32, 4 heads over 2 kv heads (GQA), vocab 50; one with q/k/v biases and an untied head,
// one with a tied head. The init's weights are scaled up (and norm gains and biases made non-trivial) so
// that float differences between engines cannot hide behind near-uniform logits.
import * as tf from '@tensorflow/tfjs';
import { Transformer, type LlamaConfig } from '../../src/model/transformer.ts';

export const PEAKED_BASE: LlamaConfig = {
  hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48,
  vocab_size: 50, rope_theta: 10000, max_position_embeddings: 48, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  bos_token_id: 0, eos_token_id: 1, pad_token_id: 2,
};

export const PEAKED_VARIANTS: Record<string, LlamaConfig> = {
  'GQA, q/k/v biases, untied head': { ...PEAKED_BASE, attention_bias: true },
  'GQA, tied head, no biases': { ...PEAKED_BASE, tie_word_embeddings: true },
};

/** One model per variant (on the current tfjs backend), seeds from `seed` on. */
export function peakedModels(seed: number): Map<string, Transformer> {
  const out = new Map<string, Transformer>();
  for (const [name, cfg] of Object.entries(PEAKED_VARIANTS)) {
    const model = Transformer.init(cfg, seed++);
    for (const [n, v] of model.params) {
      tf.tidy(() => v.assign(n.endsWith('norm.weight') ? tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', seed)) : tf.mul(tf.add(v, n.endsWith('.bias') ? 0.02 : 0), 30)));
    }
    out.set(name, model);
  }
  return out;
}

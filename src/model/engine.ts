// Which sampler runs the policy: tfjs (sample.ts on the tfjs backend, reading the weights live) or onnx
// (onnx.ts: onnxruntime-node's CPU kernels on a snapshot of the weights taken when it is opened, ~2× the
// wasm sampler's tokens/s). Both give the same tokens for the same rng up to float rounding. Callers open
// one per batch of rollouts, after the optimizer step, and release it. Knows nothing of tasks or rewards.

import type { Engine } from '../config.ts';
import type { SampleOptions, SampleResult } from './sample.ts';
import type { Transformer } from './transformer.ts';

export interface PolicySampler {
  generate(prompts: number[][], opts: SampleOptions): Promise<SampleResult>;
  release(): Promise<void>;
}

export async function openSampler(model: Transformer, engine: Engine): Promise<PolicySampler> {
  if (engine === 'onnx') {
    const { OnnxPolicy } = await import('./onnx.ts');
    const policy = await OnnxPolicy.create(model);
    return { generate: (prompts, opts) => policy.generate(prompts, opts), release: () => policy.release() };
  }
  const { generate } = await import('./sample.ts');
  return { generate: (prompts, opts) => generate(model, prompts, opts), release: async () => {} };
}

// Fused AdamW kernels for the webgpu backend. tfjs dispatches one GPU kernel per op, and on a fast GPU
// each dispatch costs more host time than the arithmetic (12–17 µs host floor per kernel on an H100
// through Dawn, see README). AdamW was ~14 ops per variable; fusing them took the `tiny` preset's
// training step from 1 670 to 1 261 tfjs kernels (bench/webgpu.ts on lavapipe).
// Here a variable's update is 3 kernels: m' = β₁m + (1−β₁)g, v' = β₂v + (1−β₂)g², and
// p' = p·keep − step·m'/(√v'·c + ε), with the constants passed as uniforms (no scalar uploads).
// The arithmetic is the composite path's (optim.ts), so results agree to float rounding.
// Written by hand: tfjs has no fused optimizer kernels for webgpu.

import * as tf from '@tensorflow/tfjs';

export const ADAMW_MOMENT = 'PrrlAdamWMoment';
export const ADAMW_APPLY = 'PrrlAdamWApply';

/** The slice of tfjs's WebGPUBackend these kernels use. */
interface WebgpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: 'float32', uniforms: { type: 'float32'; data: number[] }[]): tf.TensorInfo;
}

/** A flat elementwise program in tfjs-backend-webgpu's WebGPUProgram shape. */
class ElementwiseProgram {
  readonly size = true;
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly uniforms: string;
  readonly shaderKey: string;

  constructor(
    readonly outputShape: number[],
    readonly variableNames: string[],
    uniformNames: string[],
    private readonly body: string,
    key: string,
  ) {
    this.uniforms = uniformNames.map((u) => `${u} : f32,`).join(' ');
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const n = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(n / this.workgroupSize[0]), 1, 1];
    this.shaderKey = `prrl_${key}`;
  }

  getUserCode(): string {
    const loads = this.variableNames.map((v) => `let ${v.toLowerCase()} = get${v}ByOutputIndex(index);`).join('\n          ');
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${loads}
          setOutputAtIndex(index, ${this.body});
        }
      }`;
  }
}

let registered = false;

/** Registers the kernels once; harmless when the webgpu backend is never used. */
export function registerWebgpuKernels(): void {
  if (registered) return;
  registered = true;
  const f32 = (...xs: number[]) => xs.map((x) => ({ type: 'float32' as const, data: [x] }));
  // out = a·x + b·g (square: b·g²)
  tf.registerKernel({
    kernelName: ADAMW_MOMENT,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, g } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo };
      const { a, b, square } = attrs as unknown as { a: number; b: number; square: boolean };
      const body = square ? 'uniforms.a * x + uniforms.b * (g * g)' : 'uniforms.a * x + uniforms.b * g';
      const program = new ElementwiseProgram([...x.shape], ['X', 'G'], ['a', 'b'], body, square ? 'adamw_v' : 'adamw_m');
      return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(program, [x, g], 'float32', f32(a, b));
    },
  });
  // out = p·keep − step·m / (√v·c + ε)
  tf.registerKernel({
    kernelName: ADAMW_APPLY,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, m, v } = inputs as { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
      const { keep, step, c, eps } = attrs as unknown as { keep: number; step: number; c: number; eps: number };
      const body = 'p * uniforms.keep - (m / (sqrt(v) * uniforms.c + uniforms.eps)) * uniforms.step';
      const program = new ElementwiseProgram([...p.shape], ['P', 'M', 'V'], ['keep', 'step', 'c', 'eps'], body, 'adamw_p');
      return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(program, [p, m, v], 'float32', f32(keep, step, c, eps));
    },
  });
}

/** Whether the fused kernels can run now (webgpu backend active and kernels registered). */
export function fusedAdamW(): boolean {
  return registered && tf.getBackend() === 'webgpu';
}

export function adamwMoment(x: tf.Tensor, g: tf.Tensor, a: number, b: number, square: boolean): tf.Tensor {
  return tf.engine().runKernel(ADAMW_MOMENT, { x, g }, { a, b, square } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

export function adamwApply(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, keep: number, step: number, c: number, eps: number): tf.Tensor {
  return tf.engine().runKernel(ADAMW_APPLY, { p, m, v }, { keep, step, c, eps } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

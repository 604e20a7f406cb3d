// Kernels that make the tfjs wasm backend fit for training a transformer: UnsortedSegmentSum (missing
// in tfjs 4.22, needed by the gradient of tf.gather, i.e. embeddings), an Identity that shares memory
// instead of copying, and a BatchMatMul that keeps every product on XNNPACK. The stock wasm BatchMatMul
// uses XNNPACK only for an untransposed, unbatched product and otherwise a scalar loop 12–18× slower —
// which is what transposeB=true (HF [out, in] weights), every matMul gradient and per-head attention
// hit. backend.ts registers these; no model code calls them directly.

import * as tf from '@tensorflow/tfjs';

/** The parts of the wasm backend (tfjs-backend-wasm BackendWasm) these kernels use. */
interface WasmBackend {
  wasm: {
    cwrap(name: string, ret: null | string, args: string[]): (...a: unknown[]) => unknown;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };

/**
 * Products below this many multiply-adds per batch item go to the stock kernel in one call: creating
 * an XNNPACK operator per item costs more than the scalar loop saves (decode-time attention, tiny tests).
 */
const XNN_MIN_MACS = 1 << 15;
/** Fewest rows per batch item for per-item XNNPACK products (see batchMatMul). */
const XNN_MIN_ROWS = 16;

let cppMatMul: ((...a: unknown[]) => unknown) | null = null;
let stockMatMul: tf.KernelFunc | null = null;

/** Registers the wasm kernels (idempotent; call before tf.setBackend('wasm') so setup runs). */
export function registerWasmKernels(): void {
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
  const identity = tf.getKernel('Identity', 'wasm');
  if (identity && identity.kernelFunc !== (shareIdentity as unknown)) {
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: shareIdentity as unknown as tf.KernelFunc });
  }
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (stock && stock.kernelFunc !== (batchMatMul as unknown)) {
    stockMatMul = stock.kernelFunc;
    const stockSetup = stock.setupFunc;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel({
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: batchMatMul as unknown as tf.KernelFunc,
      setupFunc: (backend) => {
        stockSetup?.(backend);
        cppMatMul = (backend as unknown as WasmBackend).wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
      },
    });
  }
}

/** out[segmentIds[i], …] += x[i, …]; ids outside [0, numSegments) are dropped (as in TF). */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const be = backend as WasmBackend;
  const { x, segmentIds } = inputs;
  const numSegments = attrs!.numSegments as number;
  const n = tf.util.sizeFromShape(segmentIds.shape);
  const inner = n === 0 ? 0 : tf.util.sizeFromShape(x.shape) / n;
  const out = be.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  // Views after makeOutput: allocating may grow (and so detach) the heap.
  const o = be.typedArrayFromHeap(out);
  const xs = be.typedArrayFromHeap(x);
  const ids = be.typedArrayFromHeap(segmentIds);
  o.fill(0);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

/**
 * tf.clone (which autodiff calls on every tensor it saves for the backward pass) as a new reference to
 * the same memory, as the cpu backend does; the stock wasm Identity copies (~80 ms per B8×T256 step).
 * Safe because wasm kernels never write into their inputs.
 */
function shareIdentity({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x } = inputs;
  (backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Runs a registered wasm kernel by name (the stock ones, e.g. Transpose, Reshape). */
function run(name: string, inputs: Record<string, tf.TensorInfo>, backend: unknown, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  return tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

/** [.., r, c] → [.., c, r] as a new tensor (rank ≥ 2). */
function transposeLast(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return run('Transpose', { x }, backend, { perm });
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const be = backend as WasmBackend;
  const { a, b } = inputs;
  const tA = attrs!.transposeA as boolean;
  const tB = attrs!.transposeB as boolean;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  const sameBatch = a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join();
  // Unusual broadcasts (e.g. [2,1,..] × [1,3,..]) and non-float products: the stock kernel.
  const simple = a.dtype === 'float32' && b.dtype === 'float32' && (sameBatch || batchA === 1 || batchB === 1) && M * K * N > 0;
  // Per-item products repack their right operand every call: for a few rows (decode-time attention)
  // that costs more than the stock loop, which reads transposeB operands contiguously.
  // A single row (M = 1) with transposeB is the exception: computed as Cᵀ = B·Aᵀ it needs no copies.
  const gemv = M === 1 && tB && !tA;
  const small = M * K * N < XNN_MIN_MACS || (batchB > 1 && M < XNN_MIN_ROWS && !gemv);
  if (!simple || small) return stockMatMul!(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)).concat([M, N]);

  // XNNPACK multiplies untransposed operands only, so transposes are materialised. Either
  // C = op(a)·op(b), transposing the flagged operands, or Cᵀ = op(b)ᵀ·op(a)ᵀ, transposing the unflagged
  // ones and the result: whichever copies fewer elements (e.g. a weight gradient dYᵀ·X with a wide dY).
  const direct = (tA ? M * K : 0) + (tB ? K * N : 0);
  const swapped = (tB ? 0 : K * N) + (tA ? 0 : M * K) + M * N;
  const temps: tf.TensorInfo[] = [];
  const tmp = (t: tf.TensorInfo) => (temps.push(t), t);
  let out: tf.TensorInfo;
  if (gemv && batchB > 1) {
    // [1, K] and [K, 1] (and [N, 1] and [1, N]) are the same memory: reinterpret instead of transposing.
    const ct = product(be, b, batchB, N, K, { ...a }, batchA, 1);
    out = { ...ct, shape: [ct.shape[0], 1, N] };
  } else if (direct <= swapped) {
    out = product(be, tA ? tmp(transposeLast(a, backend)) : a, batchA, M, K, tB ? tmp(transposeLast(b, backend)) : b, batchB, N);
  } else {
    const ct = tmp(product(be, tB ? b : tmp(transposeLast(b, backend)), batchB, N, K, tA ? a : tmp(transposeLast(a, backend)), batchA, M));
    out = transposeLast(ct, backend);
  }
  for (const t of temps) be.disposeData(t.dataId);
  return { ...out, shape: outShape };
}

/** [bl, m, k] · [br, k, n] → [max(bl, br), m, n] on XNNPACK, untransposed row-major operands (bl, br equal or 1). */
function product(be: WasmBackend, l: tf.TensorInfo, bl: number, m: number, k: number, r: tf.TensorInfo, br: number, n: number): tf.TensorInfo {
  const batch = Math.max(bl, br);
  const out = be.makeOutput([batch, m, n], 'float32');
  const info = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId)!;
  const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);
  const [li, ri, oi] = [info(l), info(r), info(out)];
  if (br === 1) {
    // One product: every left row against the one right matrix.
    cppMatMul!(li.id, shapeBytes([1, bl * m, k]), 3, ri.id, shapeBytes([1, k, n]), 3, false, false, oi.id);
    return out;
  }
  // One product per batch item, on views into the operands' and output's heap memory.
  const ids = [0, 0, 0];
  const sizes = [m * k, k * n, m * n];
  for (let i = 0; i < batch; i++) {
    const offs = [li.memoryOffset + (bl === 1 ? 0 : i * m * k * 4), ri.memoryOffset + i * k * n * 4, oi.memoryOffset + i * m * n * 4];
    for (let j = 0; j < 3; j++) be.wasm.tfjs.registerTensor((ids[j] = be.dataIdNextNumber++), sizes[j], offs[j]);
    cppMatMul!(ids[0], shapeBytes([1, m, k]), 3, ids[1], shapeBytes([1, k, n]), 3, false, false, ids[2]);
    // Drops the views and the XNNPACK operator cached on the right view's id; the memory is the tensors'.
    for (const id of ids) be.wasm.tfjs.disposeData(id);
  }
  return out;
}

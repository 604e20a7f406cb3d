// Picks and starts the tfjs backend: cpu (reference), wasm (XNNPACK + SIMD, the CPU default, with the
// kernels of wasm-kernels.ts) or webgpu (Dawn; the adapter probe lives in webgpu.ts). Prints the
// choice once. Model code never asks which backend runs it.

import * as tf from '@tensorflow/tfjs';
import { registerWasmKernels } from './wasm-kernels.ts';
import { registerWebgpuKernels } from './webgpu-kernels.ts';
import { UserError } from '../util/errors.ts';
import { BACKENDS, type BackendKind } from '../config.ts';

export type { BackendKind };

export interface BackendInfo {
  /** tf.getBackend() after init: 'cpu' | 'wasm' | 'webgpu'. */
  backend: string;
  /** The GPU adapter (webgpu only). */
  adapter?: string;
  /** XNNPACK threads (wasm only). */
  threads?: number;
}

let current: { kind: BackendKind; info: BackendInfo } | null = null;

/**
 * Sets the tfjs backend for `kind` and logs it once. `auto` = webgpu on a real GPU adapter, else wasm.
 */
export async function initBackend(kind: BackendKind, log: (line: string) => void = (l) => console.error(l)): Promise<BackendInfo> {
  if (!BACKENDS.includes(kind)) throw new UserError(`--backend ${kind} is not one of ${BACKENDS.join(', ')}`);
  tf.enableProdMode(); // no "install tfjs-node" banner or kernel re-registration warnings
  if (current && (current.kind === kind || current.info.backend === kind) && tf.getBackend() === current.info.backend) return current.info;
  let info: BackendInfo;
  if (kind === 'cpu') {
    await setBackend('cpu');
    info = { backend: 'cpu' };
    log('backend: cpu (pure JS reference; slow)');
  } else if (kind === 'wasm') {
    info = await initWasm(log);
  } else {
    // ---- webgpu / auto: the WebGPU helper owns this branch (webgpu.ts probes Dawn for an adapter).
    const { applyTfjsFlags, failOnGpuErrors, fastUploads, probeWebgpu } = await import('./webgpu.ts');
    const probe = await probeWebgpu();
    if ('error' in probe) {
      if (kind === 'webgpu') throw new UserError(`--backend webgpu: ${probe.error}${probe.hint ? `; ${probe.hint}` : ''}`);
      info = await initWasm(log, probe.error);
    } else if (probe.software && kind === 'auto') {
      info = await initWasm(log, `only a software adapter (${probe.adapter}); use --backend webgpu to force it`);
    } else {
      await import('@tensorflow/tfjs-backend-webgpu');
      const flags = applyTfjsFlags(tf.env()); // PRRL_TFJS_FLAGS, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=32
      await setBackend('webgpu');
      fastUploads(tf.backend());
      failOnGpuErrors(tf.backend());
      registerWebgpuKernels();
      info = { backend: 'webgpu', adapter: probe.adapter };
      log(`backend: webgpu (${probe.adapter}${probe.software ? ', software: slow' : ''}${flags.length ? `; ${flags.join(', ')}` : ''})`);
    }
  }
  current = { kind, info };
  return info;
}

async function setBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new UserError(`could not start the tfjs ${name} backend (try --backend cpu)`);
}

/** `autoWhy`: why --backend auto did not pick webgpu, said on the same line. */
async function initWasm(log: (line: string) => void, autoWhy?: string): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  if (tf.getBackend() !== 'wasm') {
    // Emscripten's module rethrows uncaught errors from its own listeners, so Node prints its 300 kB
    // minified source line as the error's context; the default handlers report the same error plainly.
    const events = ['uncaughtException', 'unhandledRejection'];
    const listeners = (e: string) => process.listeners(e as 'uncaughtException') as ((...a: unknown[]) => void)[];
    const before = events.map((e) => new Set(listeners(e)));
    await setBackend('wasm');
    events.forEach((e, i) => listeners(e).filter((l) => !before[i].has(l)).forEach((l) => process.removeListener(e, l)));
  }
  // Single-threaded: tfjs-backend-wasm disables its pthread build under Node. Forcing it on (workers
  // written to files) ran, but a B8×T256 training step hung and smaller ones ran 2.6× slower on 2 shared
  // cores, so it is not offered (see bench/train.ts notes).
  const threads = Math.max(1, wasm.getThreadsCount());
  log(`backend: wasm (XNNPACK, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, ${threads} thread${threads > 1 ? 's' : ''})${autoWhy ? ` — ${autoWhy}` : ''}`);
  return { backend: 'wasm', threads };
}

// WebGPU through Dawn (the `webgpu` npm package): installs navigator.gpu before the tfjs webgpu
// backend is imported, picks an adapter, and tells a real GPU from a software one (lavapipe).
// backend.ts decides what to do with the answer; this file only finds and describes the adapter,
// and applies tfjs WEBGPU_* flags from the environment. Env: PRRL_WEBGPU_FLAGS (Dawn create flags,
// comma-separated, default backend=vulkan), PRRL_TFJS_FLAGS (e.g. WEBGPU_CPU_FORWARD=false,...).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';

export interface WebgpuProbe {
  /** Human-readable adapter name, e.g. "nvidia: NVIDIA H100 80GB HBM3" or "mesa: llvmpipe …". */
  adapter: string;
  /** True for CPU implementations (lavapipe/llvmpipe/SwiftShader). */
  software: boolean;
}

const NO_DRIVER_HINT = 'for a CPU one (tests only) run `bash scripts/fetch-lavapipe.sh` and `source .cache/lavapipe/env.sh`';

/** Why no adapter, in one line; `hint` says how to get a CPU one for tests (for --backend webgpu only). */
export interface WebgpuMissing {
  error: string;
  hint?: string;
}

let probed: Promise<WebgpuProbe | WebgpuMissing> | null = null;

/**
 * Creates the Dawn GPU object once (with `flags`, e.g. ["backend=vulkan", "adapter=NVIDIA"]) and
 * requests an adapter. Never throws: failures come back as { error } (one line) for the caller.
 */
export function probeWebgpu(flags: string[] = defaultFlags()): Promise<WebgpuProbe | WebgpuMissing> {
  probed ??= (async () => {
    // Without a Vulkan loader or driver Dawn finds nothing and prints native warnings to stderr:
    // say what is missing in one line instead, without loading Dawn at all.
    const missing = missingVulkan(flags);
    if (missing) return { error: `no WebGPU adapter: ${missing}`, hint: NO_DRIVER_HINT };
    try {
      const { create, globals } = await import('webgpu');
      Object.assign(globalThis, globals);
      const gpu = create(flags);
      Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis as { navigator?: object }).navigator, gpu }, configurable: true, writable: true });
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) {
        // Seen on an H100 host: the NVIDIA ICD (libGLX_nvidia.so.0) loads but refuses vkCreateInstance
        // until libglvnd's libGLdispatch.so.0 and libEGL.so.1 are there (found by elimination).
        const glvnd = findIcds().some((f) => /nvidia/i.test(f)) && !(hasLibrary('libGLdispatch.so.0') && hasLibrary('libEGL.so.1'))
          ? ' (the NVIDIA Vulkan driver also needs libglvnd: apt install libglvnd0 libegl1)' : '';
        return { error: `no WebGPU adapter found with Dawn flags ${flags.join(',')}: install your GPU's Vulkan driver${glvnd}`, hint: NO_DRIVER_HINT };
      }
      const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
      const desc = `${info.vendor || '?'}: ${info.description || info.device || info.architecture || 'unknown adapter'}`;
      const software = !!info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.architecture} ${info.device} ${info.description}`);
      return { adapter: desc, software };
    } catch (e) {
      return { error: `WebGPU unavailable: ${(e as Error).message.split('\n')[0]}` };
    }
  })();
  return probed;
}

/**
 * Dawn flags from PRRL_WEBGPU_FLAGS, else Vulkan. Comma-separated NAME=value items; an item without
 * "=" continues the previous value, so toggle lists read naturally:
 * "backend=vulkan,enable-dawn-features=skip_validation,disable_robustness".
 */
export function defaultFlags(env = process.env.PRRL_WEBGPU_FLAGS): string[] {
  if (!env) return ['backend=vulkan'];
  const out: string[] = [];
  for (const part of env.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!part.includes('=') && out.length) out[out.length - 1] += `,${part}`;
    else out.push(part);
  }
  return out;
}

/**
 * On Linux with the Vulkan backend: what is missing for the Vulkan loader to find a driver, or null
 * when it may work (or we cannot tell). Mirrors the loader's search: libvulkan.so.1 through
 * LD_LIBRARY_PATH and the ld.so cache; ICD json files through VK_DRIVER_FILES / VK_ICD_FILENAMES /
 * VK_ADD_DRIVER_FILES, else the XDG config/data dirs and /etc.
 */
export function missingVulkan(flags: string[]): string | null {
  if (process.platform !== 'linux') return null;
  const backend = flags.find((f) => f.startsWith('backend='))?.slice('backend='.length);
  if (backend && backend !== 'vulkan') return null;
  if (!findVulkanLoader()) return 'the Vulkan loader libvulkan.so.1 is not installed (apt install libvulkan1, plus your GPU\'s Vulkan driver)';
  if (!findIcds().length) return 'the Vulkan loader finds no driver (no ICD json: install your GPU\'s Vulkan driver or point VK_DRIVER_FILES at its json, e.g. /usr/share/vulkan/icd.d/nvidia_icd.json)';
  return null;
}

function findVulkanLoader(): boolean {
  return hasLibrary('libvulkan.so.1');
}

/** Whether the dynamic linker can find `lib` (LD_LIBRARY_PATH, then the ld.so cache); true when it cannot tell. */
function hasLibrary(lib: string): boolean {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => fs.existsSync(path.join(d, lib)))) return true;
  try {
    const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/sbin:/usr/sbin` } });
    return cache.split('\n').some((l) => l.trim().startsWith(lib + ' '));
  } catch {
    return true; // no ldconfig: cannot tell, let Dawn try
  }
}

function findIcds(): string[] {
  const listed = (v: string | undefined) => (v ?? '').split(':').filter(Boolean);
  const explicit = [...listed(process.env.VK_DRIVER_FILES), ...listed(process.env.VK_ICD_FILENAMES)];
  const add = listed(process.env.VK_ADD_DRIVER_FILES);
  const jsonIn = (p: string): string[] => {
    try {
      return fs.statSync(p).isDirectory() ? fs.readdirSync(p).filter((f) => f.endsWith('.json')).map((f) => path.join(p, f)) : [p];
    } catch {
      return [];
    }
  };
  if (explicit.length) return [...explicit, ...add].flatMap(jsonIn);
  const home = os.homedir();
  const config = [...listed(process.env.XDG_CONFIG_DIRS || '/etc/xdg'), '/etc', process.env.XDG_CONFIG_HOME || path.join(home, '.config')];
  const data = [...listed(process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share'), process.env.XDG_DATA_HOME || path.join(home, '.local/share')];
  return [...add, ...[...config, ...data].map((d) => path.join(d, 'vulkan', 'icd.d'))].flatMap(jsonIn);
}

/**
 * tfjs flags from PRRL_TFJS_FLAGS ("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64,WEBGPU_CPU_FORWARD=false"):
 * values parse as number / true / false, else stay strings. Returns what was set, for the log line.
 * Call after the backend module is imported (it registers the WEBGPU_* flags).
 */
export function applyTfjsFlags(env: { set(name: string, value: number | boolean | string): void }, spec = process.env.PRRL_TFJS_FLAGS ?? ''): string[] {
  const set: string[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UserError(`PRRL_TFJS_FLAGS: "${part}" is not NAME=value (e.g. WEBGPU_CPU_FORWARD=false,WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=32)`);
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    try {
      env.set(name, value);
    } catch (e) {
      throw new UserError(`PRRL_TFJS_FLAGS: ${name}: ${(e as Error).message.split('\n')[0]}`);
    }
    set.push(`${name}=${value}`);
  }
  return set;
}

/** The parts of tfjs-backend-webgpu 4.x's WebGPUBackend that fastUploads() touches. */
interface WebgpuBackendInternals {
  queue: GPUQueue;
  tensorMap: { get(id: object): { values: ArrayLike<number> | null; dtype: string; shape: number[]; resource: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uploadToGPU(dataId: object): void;
}

/**
 * Replaces the backend's host→GPU upload. tfjs 4.22 creates a fresh mapped buffer (plus a staging
 * buffer when the pooled one is unmapped) for every tensor made from host values, and a training step
 * makes hundreds (every scalar a gradient or the optimizer multiplies by). GPUDevice.createBuffer cost
 * 17 % of a step's CPU time on an H100 (bench/webgpu.ts, --cpu-prof). Here the destination comes from
 * the buffer pool and the bytes go through queue.writeBuffer (Dawn's internal staging ring). Ordering
 * holds: a pooled buffer is free only once the commands that used it were submitted, and writeBuffer
 * is ordered after everything already submitted and before the commands recorded after it.
 */
export function fastUploads(backend: unknown): void {
  const b = backend as WebgpuBackendInternals;
  if (typeof b?.uploadToGPU !== 'function' || !b.tensorMap || !b.bufferManager || !b.queue) return; // not the backend we know
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const original = b.uploadToGPU.bind(b);
  b.uploadToGPU = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    if (data.resource != null || data.values == null) return original(dataId);
    if (data.values.length === 0) return original(dataId);
    const bytes = data.dtype === 'int32' || data.dtype === 'bool' ? Int32Array.from(data.values) : data.values instanceof Float32Array ? data.values : Float32Array.from(data.values);
    const buffer = b.bufferManager.acquireBuffer(bytes.byteLength, usage);
    b.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    data.values = null; // as tfjs does once uploaded: the GPU copy is the tensor's data now
    data.resource = buffer;
  };
}

/**
 * Dawn reports validation errors (an invalid pipeline, a rejected command buffer) as events and goes on,
 * dropping the work: training would continue on wrong numbers. Fail instead, with the first error's line.
 */
export function failOnGpuErrors(backend: unknown, exit: (message: string) => void = (m) => {
  process.stderr.write(`pr-rl: webgpu error: ${m}\n`);
  process.exit(1);
}): void {
  const device = (backend as { device?: { onuncapturederror: ((e: { error?: { message?: string } }) => void) | null } })?.device;
  if (!device || !('onuncapturederror' in device)) return;
  device.onuncapturederror = (e) => exit((e.error?.message ?? 'unknown error').split('\n')[0]);
}

// The safetensors format, written against its spec: 8-byte little-endian u64 header length N, N bytes
// of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
// then the raw little-endian data (offsets relative to its start, contiguous, no gaps or overlaps).
// Reads F32/F16/BF16/F64/I32/I64 into Float32Array, writes F32 or BF16. Every defect of a file becomes
// a one-line UserError naming the file. Which tensors a model needs is weights.ts's business.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { UserError } from '../util/errors.ts';
import { tempBeside } from '../util/fsx.ts';

/** Element sizes of the dtypes we decode. */
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
/** Dtypes the spec knows but we do not decode (named in the error instead of "unknown dtype"). */
const OTHER_DTYPES = new Set(['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2']);
/** The reference implementation's limit; a bigger "header" means a corrupt or foreign file. */
const MAX_HEADER_BYTES = 100_000_000;

if (os.endianness() !== 'LE') throw new Error('safetensors.ts assumes a little-endian host');

export interface SafeTensor {
  /** The dtype stored in the file (data is always decoded to float32). */
  dtype: string;
  shape: number[];
  data: Float32Array;
}

/** One header entry, validated; begin/end are offsets into the data section. */
export interface TensorInfo {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** File offset of the data section (8 + N). */
  dataStart: number;
}

/** Tensors to write: data.length must equal the product of shape. */
export type TensorsIn = Map<string, { shape: readonly number[]; data: Float32Array }> | Record<string, { shape: readonly number[]; data: Float32Array }>;

export interface WriteOptions {
  /** Stored dtype; BF16 rounds to nearest even and halves the file. */
  dtype?: 'F32' | 'BF16';
  /** Free-form string map stored as "__metadata__". */
  metadata?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------- read

/**
 * Parses and validates the header of a safetensors file of `fileSize` bytes whose first 8 + N bytes are
 * given by `readHead(begin, end)`. All structural checks happen here, before any tensor data is read.
 */
export function parseHeader(readHead: (begin: number, end: number) => Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const bad = (what: string): never => {
    throw new UserError(`${file}: ${what}`);
  };
  if (fileSize < 8) bad(`truncated safetensors file (${fileSize} bytes; it must start with an 8-byte header length)`);
  const head = readHead(0, 8);
  const n64 = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(fileSize - 8)) bad(`safetensors header length ${n64} exceeds the ${fileSize - 8} bytes after it (truncated file, or not safetensors)`);
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) bad(`safetensors header length ${n} is over the 100 MB limit (corrupt file)`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readHead(8, 8 + n)));
  } catch (e) {
    bad(`safetensors header is not valid UTF-8 JSON (${(e as Error).message.split('\n')[0]}); the file is corrupt`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('safetensors header is not a JSON object');
  const dataStart = 8 + n;
  const dataBytes = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
        bad('"__metadata__" must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      bad(`${where}: header entry needs dtype, shape and data_offsets`);
    }
    const { dtype, shape, data_offsets: offs } = e as { dtype: string; shape: unknown[]; data_offsets: unknown[] };
    const size = DTYPE_BYTES[dtype];
    if (size === undefined) bad(`${where}: ${OTHER_DTYPES.has(dtype) ? 'unsupported' : 'unknown'} dtype ${dtype} (pr-rl reads F32, F16, BF16, F64, I32, I64)`);
    if (!shape.every(isCount)) bad(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (offs.length !== 2 || !offs.every(isCount)) bad(`${where}: data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
    const [begin, end] = offs as number[];
    if (end < begin) bad(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) bad(`${where}: data_offsets [${begin}, ${end}] run past the ${dataBytes}-byte data section (truncated file?)`);
    const need = (shape as number[]).reduce((a, b) => a * b, 1) * size;
    if (end - begin !== need) bad(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} × [${shape.join(', ')}] needs ${need}`);
    tensors.set(name, { dtype, shape: shape as number[], begin, end });
  }
  // The spec's layout: tensors back to back from offset 0 to the end of the file, no overlaps or holes.
  const byOffset = [...tensors].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let at = 0;
  let prev = '';
  for (const [name, t] of byOffset) {
    if (t.begin < at) bad(`tensors "${prev}" and "${name}" overlap in the data section`);
    if (t.begin > at) bad(`${t.begin - at} unused bytes before tensor "${name}" in the data section (corrupt file)`);
    at = t.end;
    prev = name;
  }
  if (at !== dataBytes) bad(`the data section has ${dataBytes} bytes but the tensors cover ${at} (corrupt file)`);
  return { tensors, metadata, dataStart };
}

/** Reads every tensor (or those in `only`) of a safetensors file held in memory. */
export function readSafetensors(bytes: Uint8Array, file = 'safetensors data', only?: ReadonlySet<string>): Map<string, SafeTensor> {
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a Buffer's slice() would not copy
  const header = parseHeader((b, e) => bytes.subarray(b, e), bytes.byteLength, file);
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of header.tensors) {
    if (only && !only.has(name)) continue;
    const raw = bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end);
    out.set(name, { dtype: t.dtype, shape: t.shape, data: decode(raw, t.dtype) });
  }
  return out;
}

/** Reads only the header of a safetensors file on disk (cheap: names, dtypes, shapes). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  return withFile(file, (fd, size) => parseHeader((b, e) => pread(fd, b, e, file), size, file));
}

/** Reads a safetensors file (or the tensors in `only`); see iterSafetensorsFile for the memory profile. */
export function readSafetensorsFile(file: string, only?: ReadonlySet<string>): Map<string, SafeTensor> {
  return new Map(iterSafetensorsFile(file, only));
}

/**
 * Yields a file's tensors one at a time, in data order, reading each from disk when it is asked for
 * (never the whole file), so a consumer that uploads and drops each tensor holds one at a time.
 */
export function* iterSafetensorsFile(file: string, only?: ReadonlySet<string>): Generator<[string, SafeTensor]> {
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file`);
  const fd = fs.openSync(file, 'r');
  try {
    const header = parseHeader((b, e) => pread(fd, b, e, file), fs.fstatSync(fd).size, file);
    const order = [...header.tensors].sort((a, b) => a[1].begin - b[1].begin);
    for (const [name, t] of order) {
      if (only && !only.has(name)) continue;
      const raw = pread(fd, header.dataStart + t.begin, header.dataStart + t.end, file);
      yield [name, { dtype: t.dtype, shape: t.shape, data: decode(raw, t.dtype) }];
    }
  } finally {
    fs.closeSync(fd);
  }
}

function withFile<T>(file: string, f: (fd: number, size: number) => T): T {
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file`);
  const fd = fs.openSync(file, 'r');
  try {
    return f(fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

function pread(fd: number, begin: number, end: number, file: string): Uint8Array {
  const buf = new Uint8Array(end - begin);
  let got = 0;
  while (got < buf.length) {
    const k = fs.readSync(fd, buf, got, buf.length - got, begin + got);
    if (k === 0) throw new UserError(`${file}: file shrank while being read (offset ${begin + got})`);
    got += k;
  }
  return buf;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Little-endian raw bytes of `dtype` → float32 values. */
export function decode(raw: Uint8Array, dtype: string): Float32Array {
  const b = raw.byteOffset % 8 === 0 ? raw : new Uint8Array(raw); // typed-array views need aligned offsets
  const n = b.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    case 'F64':
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    case 'I32':
      return Float32Array.from(new Int32Array(b.buffer, b.byteOffset, n));
    case 'I64': {
      const src = new BigInt64Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16; // bf16 is the top half of a float32
      return out;
    }
    case 'F16': {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const table = f16Table();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return out;
    }
    default:
      throw new Error(`decode: unsupported dtype ${dtype}`);
  }
}

let F16: Float32Array | null = null;
/** All 65 536 float16 bit patterns as float32 (exact: every f16 value is representable in f32). */
function f16Table(): Float32Array {
  if (F16) return F16;
  F16 = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) F16[h] = f16ToNumber(h);
  return F16;
}

/** IEEE 754 binary16 bits → number. */
export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 values → bfloat16 bits, rounding to nearest even (as torch does); NaN stays NaN. */
export function toBf16Bits(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const u = bits[i];
    if ((u & 0x7fffffff) > 0x7f800000) out[i] = (u >>> 16) | 0x40; // quiet NaN
    else out[i] = (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  }
  return out;
}

// --------------------------------------------------------------------------------------------- write

/** Serialises tensors (sorted by name) into safetensors bytes; the header is space-padded to 8 bytes. */
export function writeSafetensors(tensors: TensorsIn, opts: WriteOptions = {}): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const { names, head, dataBytes } = layout(new Map([...map].map(([k, t]) => [k, t.shape])), dtype, opts.metadata);
  const out = new Uint8Array(head.length + dataBytes);
  out.set(head);
  let pos = head.length;
  for (const name of names) {
    const bytes = encode(name, map.get(name)!.data, map.get(name)!.shape, dtype);
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  return out;
}

/** Sorted names, the 8-byte length + padded JSON header, and the size of the data section. */
function layout(shapes: ReadonlyMap<string, readonly number[]>, dtype: 'F32' | 'BF16', metadata?: Record<string, string>) {
  const names = [...shapes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const name of names) {
    const shape = shapes.get(name)!;
    const nbytes = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: [...shape], data_offsets: [at, at + nbytes] };
    at += nbytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // so the data starts 8-byte aligned, as the reference writer does
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { names, head, dataBytes: at };
}

function encode(name: string, data: Float32Array, shape: readonly number[], dtype: 'F32' | 'BF16'): Uint8Array {
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`writeSafetensors: "${name}" has ${data.length} values but shape [${shape.join(', ')}]`);
  return dtype === 'F32' ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(toBf16Bits(data).buffer);
}

/**
 * Streams tensors into `file` one at a time (`get(name)` is awaited per tensor, so the caller never
 * holds them all as float32 at once), through a temp file that is fsynced and renamed into place.
 */
export async function writeSafetensorsFile(
  file: string,
  shapes: ReadonlyMap<string, readonly number[]>,
  get: (name: string) => Float32Array | Promise<Float32Array>,
  opts: WriteOptions = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'F32';
  const { names, head } = layout(shapes, dtype, opts.metadata);
  const tmp = tempBeside(file);
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, head);
    for (const name of names) writeAll(fd, encode(name, await get(name), shapes.get(name)!, dtype));
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try { fs.renameSync(tmp, file); } catch (e) { fs.rmSync(tmp, { force: true }); throw e; }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

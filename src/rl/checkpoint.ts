// Checkpoints: one folder per step (`<run>/ckpt-000012/`) holding named float32 tensors in one
// safetensors file and the caller's JSON state. Written under `.tmp-ckpt-000012/` with every file fsynced,
// `meta.json` (format version, sizes, sha256 of each file) then a `DONE` marker written last, then renamed
// into place; resume takes the newest folder that verifies (loadLatestCheckpoint: each file read and
// hashed once). What goes inside (weights, AdamW moments, reference model, RNG, cursor, config) is the
// trainer's business; this file only stores it safely.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { cannotWrite, makeDir, writeSynced } from '../util/fsx.ts';

export const CKPT_FORMAT_VERSION = 1;
const TENSORS_FILE = 'tensors.safetensors';
const STATE_FILE = 'state.json';
const META_FILE = 'meta.json';
const DONE_FILE = 'DONE';
const NAME_RE = /^ckpt-(\d+)$/;

export interface TensorData {
  shape: number[];
  data: Float32Array;
}

export interface CheckpointContent<S = unknown> {
  tensors: Readonly<Record<string, TensorData>>;
  /** Plain JSON (numbers, strings, arrays, objects); NaN/Infinity would come back as null. */
  state: S;
}

export interface CheckpointMeta {
  formatVersion: number;
  step: number;
  /** ISO time of writing. */
  time: string;
  /** Every data file in the folder with its size and sha256, checked before use. */
  files: Record<string, { bytes: number; sha256: string }>;
}

export interface LoadedCheckpoint<S = unknown> extends CheckpointContent<S> {
  dir: string;
  step: number;
  meta: CheckpointMeta;
  tensors: Record<string, TensorData>;
}

export interface CheckpointRef {
  dir: string;
  step: number;
}

export const ckptName = (step: number): string => `ckpt-${String(step).padStart(6, '0')}`;

/**
 * Writes `<runDir>/ckpt-<step>` atomically and crash-safely, then deletes all but the newest `keepLast`
 * complete checkpoints (and leftovers of interrupted writes). Re-saving an existing step replaces it.
 * Returns the folder.
 */
export function saveCheckpoint(runDir: string, step: number, content: CheckpointContent, keepLast: number): string {
  if (!(Number.isInteger(step) && step >= 0)) throw new Error(`saveCheckpoint: bad step ${step}`);
  if (!(Number.isInteger(keepLast) && keepLast >= 1)) throw new Error(`saveCheckpoint: keepLast must be ≥ 1 (got ${keepLast})`);
  makeDir(runDir);
  const name = ckptName(step);
  const final = path.join(runDir, name);
  const tmp = path.join(runDir, `.tmp-${name}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fs.mkdirSync(tmp);
    const files: CheckpointMeta['files'] = {};
    files[TENSORS_FILE] = writeSafetensorsFile(path.join(tmp, TENSORS_FILE), content.tensors);
    const stateJson = JSON.stringify(content.state ?? null);
    if (stateJson === undefined) throw new Error('saveCheckpoint: state is not JSON-serialisable');
    files[STATE_FILE] = writeHashed(path.join(tmp, STATE_FILE), Buffer.from(stateJson + '\n'));
    const meta: CheckpointMeta = { formatVersion: CKPT_FORMAT_VERSION, step, time: new Date().toISOString(), files };
    writeSynced(path.join(tmp, META_FILE), Buffer.from(JSON.stringify(meta, null, 2) + '\n'));
    writeSynced(path.join(tmp, DONE_FILE), Buffer.from(`${name}\n`));
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true }); // a full disk leaves no half checkpoint
    throw cannotWrite(final, e);
  }

  // rename() cannot replace a non-empty folder: move an existing one aside first.
  const aside = path.join(runDir, `.old-${name}`);
  if (fs.existsSync(final)) {
    fs.rmSync(aside, { recursive: true, force: true });
    fs.renameSync(final, aside);
  }
  fs.renameSync(tmp, final);
  fsyncDir(runDir);
  fs.rmSync(aside, { recursive: true, force: true });
  prune(runDir, step, keepLast);
  return final;
}

/** Every `ckpt-<n>` folder in runDir, complete or not, ascending by step. */
export function listCheckpoints(runDir: string): CheckpointRef[] {
  if (!fs.existsSync(runDir)) return [];
  if (!fs.statSync(runDir).isDirectory()) throw new UserError(`${runDir}: a file, where the run's checkpoints folder should be`);
  const out: CheckpointRef[] = [];
  for (const e of fs.readdirSync(runDir, { withFileTypes: true })) {
    const m = NAME_RE.exec(e.name);
    if (m && e.isDirectory()) out.push({ dir: path.join(runDir, e.name), step: Number(m[1]) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * Why `dir` is not a usable checkpoint, or null when it is: presence, meta.json and sizes, without
 * reading the data (readCheckpoint checks their sha256 on the bytes it reads).
 */
export function checkpointProblem(dir: string): string | null {
  const metaFile = path.join(dir, META_FILE);
  if (!fs.existsSync(metaFile)) return 'no meta.json';
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CheckpointMeta;
  } catch {
    return 'meta.json is not valid JSON';
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return 'meta.json is not a JSON object';
  if (typeof meta.formatVersion !== 'number') return 'meta.json has no formatVersion';
  if (meta.formatVersion > CKPT_FORMAT_VERSION) return `format version ${meta.formatVersion} is newer than this pr-rl reads (${CKPT_FORMAT_VERSION})`;
  if (!fs.existsSync(path.join(dir, DONE_FILE))) return 'no DONE marker (interrupted while writing)';
  const m = NAME_RE.exec(path.basename(dir));
  if (m && Number(m[1]) !== meta.step) return `meta.json says step ${meta.step}`;
  if (!meta.files || typeof meta.files !== 'object' || !meta.files[TENSORS_FILE] || !meta.files[STATE_FILE]) return 'meta.json lists no data files';
  for (const [f, want] of Object.entries(meta.files)) {
    if (want === null || typeof want !== 'object' || typeof want.bytes !== 'number' || typeof want.sha256 !== 'string') return `meta.json: no size and sha256 for ${f}`;
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) return `${f} is missing`;
    const size = fs.statSync(file).size;
    if (size !== want.bytes) return `${f} has ${size} bytes, expected ${want.bytes}`;
  }
  return null;
}

/**
 * The newest complete, undamaged checkpoint in runDir, loaded, or null; each file is read and hashed
 * once (a checkpoint can be GBs). Folders still being written (`.tmp-…`) are not listed; each `ckpt-`
 * folder skipped (no meta.json or DONE, a size or sha256 that does not match) is reported through `warn`.
 */
export function loadLatestCheckpoint<S = unknown>(runDir: string, warn: (msg: string) => void = () => {}): LoadedCheckpoint<S> | null {
  const all = listCheckpoints(runDir);
  for (let i = all.length - 1; i >= 0; i--) {
    const ck = readCheckpoint<S>(all[i].dir);
    if (typeof ck !== 'string') return ck;
    warn(`checkpoint ${all[i].dir} skipped: ${ck}`);
  }
  return null;
}

/** Loads a checkpoint folder, verifying sizes and checksums; a damaged one is a UserError. */
export function loadCheckpoint<S = unknown>(dir: string): LoadedCheckpoint<S> {
  const fail = (why: string): never => {
    throw new UserError(`${dir}: not a usable checkpoint (${why}); resume from an earlier one or delete this folder`);
  };
  if (!fs.existsSync(dir)) fail('no such folder');
  const ck = readCheckpoint<S>(dir);
  return typeof ck === 'string' ? fail(ck) : ck;
}

/** A checkpoint folder read whole, every file's sha256 checked on the bytes read (no second pass); or why it is not usable. */
function readCheckpoint<S>(dir: string): LoadedCheckpoint<S> | string {
  const problem = checkpointProblem(dir);
  if (problem) return problem;
  const meta = JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8')) as CheckpointMeta;
  const bytes = fs.readFileSync(path.join(dir, TENSORS_FILE));
  const stateBytes = fs.readFileSync(path.join(dir, STATE_FILE));
  if (sha256(bytes) !== meta.files[TENSORS_FILE].sha256) return `${TENSORS_FILE} is damaged (sha256 mismatch)`;
  if (sha256(stateBytes) !== meta.files[STATE_FILE].sha256) return `${STATE_FILE} is damaged (sha256 mismatch)`;
  // Any other file meta.json lists (this pr-rl writes none): hashed from disk.
  for (const [f, want] of Object.entries(meta.files)) {
    if (f !== TENSORS_FILE && f !== STATE_FILE && sha256File(path.join(dir, f)) !== want.sha256) return `${f} is damaged (sha256 mismatch)`;
  }
  let tensors: Record<string, TensorData>;
  try {
    tensors = parseSafetensors(bytes);
  } catch (e) {
    return `${TENSORS_FILE}: ${(e as Error).message}`;
  }
  return { dir, step: meta.step, meta, tensors, state: JSON.parse(stateBytes.toString('utf8')) as S };
}

// ---------------------------------------------------------------------------------------------------
// Pruning

function prune(runDir: string, savedStep: number, keepLast: number): void {
  const remove = (dir: string) => {
    // Renamed first so a half-deleted folder never carries a ckpt- name.
    const trash = path.join(runDir, `.trash-${path.basename(dir)}`);
    fs.rmSync(trash, { recursive: true, force: true });
    fs.renameSync(dir, trash);
    fs.rmSync(trash, { recursive: true, force: true });
  };
  const complete: CheckpointRef[] = [];
  for (const c of listCheckpoints(runDir)) {
    if (checkpointProblem(c.dir) === null) complete.push(c);
    else if (c.step < savedStep) remove(c.dir); // broken leftovers older than what was just written
  }
  for (const c of complete.slice(0, Math.max(0, complete.length - keepLast))) remove(c.dir);
  for (const e of fs.readdirSync(runDir)) {
    if (/^\.(tmp|old|trash)-ckpt-\d+$/.test(e)) fs.rmSync(path.join(runDir, e), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Files. The safetensors writer streams tensor by tensor (no copy of the whole checkpoint in memory).

function writeHashed(file: string, data: Uint8Array): { bytes: number; sha256: string } {
  writeSynced(file, data);
  return { bytes: data.byteLength, sha256: sha256(data) };
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeSafetensorsFile(file: string, tensors: Readonly<Record<string, TensorData>>): { bytes: number; sha256: string } {
  const header: Record<string, { dtype: 'F32'; shape: number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array)) throw new Error(`saveCheckpoint: tensor ${name} is not a Float32Array`);
    if (size !== t.data.length) throw new Error(`saveCheckpoint: tensor ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data starts 8-aligned
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  try {
    const put = (b: Uint8Array) => {
      for (let done = 0; done < b.byteLength; ) done += fs.writeSync(fd, b, done);
      h.update(b);
    };
    put(head);
    for (const t of Object.values(tensors)) put(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { bytes: head.byteLength + offset, sha256: h.digest('hex') };
}

function parseSafetensors(bytes: Buffer): Record<string, TensorData> {
  if (bytes.byteLength < 8) throw new Error('file too short');
  const n = Number(bytes.readBigUInt64LE(0));
  if (8 + n > bytes.byteLength) throw new Error('header runs past the end of the file');
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + n)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const out: Record<string, TensorData> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (e.dtype !== 'F32') throw new Error(`tensor ${name} has dtype ${e.dtype}, expected F32`);
    const [s, t] = e.data_offsets;
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (t - s !== size * 4 || base + t > bytes.byteLength) throw new Error(`tensor ${name} has bad offsets`);
    const at = bytes.byteOffset + base + s;
    // Aliasing the file buffer avoids a copy when aligned (always, for files this module wrote).
    const data = at % 4 === 0 ? new Float32Array(bytes.buffer, at, size) : new Float32Array(bytes.buffer.slice(at, at + size * 4));
    out[name] = { shape: e.shape, data };
  }
  return out;
}

function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 23);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

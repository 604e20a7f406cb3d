// JSONL written on a worker thread, for outputs of hundreds of MB (`pr-rl mine`'s tasks hold whole files):
// the caller's thread turns each record into JSON text and hands its long strings over once while they
// recur; the worker escapes, encodes and writes. The atomic-file contract (temp file, fsync, rename, Ctrl-C)
// is fsx.ts's, shared with JsonlWriter.

import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { UserError } from './errors.ts';
import { cannotWrite, openBeside } from './fsx.ts';

// The worker of JsonlThreadWriter: CommonJS, no loader, nothing of this project's. A message is a batch:
// strings to keep by number (each turned into its JSON's UTF-8 once), lines as JSON text and numbers of
// kept strings, then the numbers to forget (after the lines: a line of this batch may use one).
const JSONL_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
// Below the threads the miner waits on (Linux: a thread's id is a pid to setpriority); it is not waited on.
try { require('node:os').setPriority(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()), 10); } catch {}
const kept = new Map();
let out = [], size = 0, unsynced = 0, failed = false;
const flush = () => {
  if (out.length) fs.writevSync(workerData.fd, out);
  unsynced += size; out = []; size = 0;
  if (unsynced >= workerData.sync) { fs.fdatasyncSync(workerData.fd); unsynced = 0; } // the disk writes while the caller works, not all at close
};
const put = (b) => { out.push(b); size += b.length; if (size >= workerData.chunk) flush(); };
parentPort.on('message', (batch) => {
  if (failed) return;
  try {
    if (batch === null) { flush(); fs.fsyncSync(workerData.fd); parentPort.postMessage({ done: true }); return; }
    for (const [id, s] of batch.keep) kept.set(id, Buffer.from(JSON.stringify(s)));
    for (const line of batch.lines) for (const p of line) put(typeof p === 'string' ? Buffer.from(p) : kept.get(p));
    for (const id of batch.forget) kept.delete(id);
    parentPort.postMessage({ ack: true });
  } catch (e) { failed = true; parentPort.postMessage({ error: String(e && e.message || e) }); }
});`;

/**
 * The JSON of plain data `x` (what JSON.stringify writes, toJSON included) as pieces: JSON text, and in
 * place of each string `share` gives a number for, that number. Used to send a repeated long string to
 * JsonlThreadWriter's worker once.
 */
export function jsonParts(x: unknown, share: (s: string) => number | undefined): (string | number)[] {
  const parts: (string | number)[] = [];
  let text = '';
  const value = (v: unknown): void => {
    if (typeof v === 'string') {
      const id = share(v);
      if (id === undefined) text += JSON.stringify(v);
      else { parts.push(text, id); text = ''; }
    } else if (v === null || typeof v !== 'object') text += JSON.stringify(v) ?? 'null';
    else if (Array.isArray(v)) {
      text += '[';
      for (let i = 0; i < v.length; i++) {
        if (i) text += ',';
        const w = jsonValue(v[i], String(i));
        value(skipped(w) ? null : w);
      }
      text += ']';
    } else {
      let first = true;
      text += '{';
      for (const k of Object.keys(v)) {
        const w = jsonValue((v as Record<string, unknown>)[k], k);
        if (skipped(w)) continue;
        text += (first ? '' : ',') + JSON.stringify(k) + ':';
        first = false;
        value(w);
      }
      text += '}';
    }
  };
  const top = jsonValue(x, '');
  value(skipped(top) ? null : top);
  parts.push(text + '\n');
  return parts;
}

/** What JSON.stringify writes for `v` under `key`: its toJSON's result, a boxed primitive unboxed. */
function jsonValue(v: unknown, key: string): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(k: string): unknown }).toJSON(key);
  return v instanceof String || v instanceof Number || v instanceof Boolean ? v.valueOf() : v;
}

/** Values JSON leaves out of objects (and writes as null in arrays). */
const skipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * JsonlWriter's contract (a temp file renamed over `file` only by a close() that succeeded; abort(), an
 * error or Ctrl-C leave the old file) with the JSON's strings escaped and written on a worker thread. The
 * caller's thread walks a record and hands over JSON text and its long strings; a long string it handed
 * over lately (kept by content, at most `keptChars` characters) goes by number instead, and the worker
 * reuses its UTF-8 JSON. `pr-rl mine`'s tasks repeat their files from task to task (psf/requests: 260 MB
 * of file texts, 95 MB distinct): escaping each once was most of the worker's time. Records must be plain
 * data. write() returns a promise to wait on when the worker is behind.
 */
export class JsonlThreadWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly unhook: () => void;
  private readonly worker: Worker;
  private batch: Batch = { keep: [], lines: [], forget: [] };
  /** Long strings the worker keeps, by content, least recently used first, and their total length. */
  private readonly kept = new Map<string, number>();
  private keptLength = 0;
  private nextId = 0;
  private inFlight = 0;
  private failure: Error | null = null;
  private closed = false;
  private stopped = false;
  /** Callers waiting: on the worker catching up (write) or finishing (close). */
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Records written so far. */
  count = 0;

  constructor(readonly file: string, private readonly keptChars = 16_000_000) {
    ({ tmp: this.tmp, fd: this.fd, unhook: this.unhook } = openBeside(file, () => this.abort()));
    this.worker = new Worker(JSONL_WORKER, { eval: true, workerData: { fd: this.fd, chunk: THREAD_WRITE_CHUNK, sync: THREAD_SYNC_BYTES } });
    this.worker.on('message', (m: { ack?: true; done?: true; error?: string }) => {
      if (m.error !== undefined) this.fail(new UserError(`cannot write ${file} (${m.error})`));
      else if (m.done || (m.ack && --this.inFlight <= BATCHES_AHEAD / 2 && !this.closed)) this.settle();
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', () => this.fail(new Error(`${file}: the writer thread ended early`)));
  }

  write(record: unknown): void | Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`${this.file}: write after close`);
    try {
      this.batch.lines.push(jsonParts(record, this.share));
    } catch (e) { throw new UserError(`cannot write ${this.file} (${(e as Error).message})`); }
    this.count++;
    if (this.batch.lines.length < BATCH) return;
    this.post();
    if (this.inFlight > BATCHES_AHEAD) return new Promise((resolve, reject) => { this.waiting.push({ resolve, reject }); });
  }

  /** The number the worker keeps `s` by (handing it over first if it does not), or undefined for a short string. */
  private readonly share = (s: string): number | undefined => {
    if (s.length < SHARED_MIN) return undefined;
    let id = this.kept.get(s);
    if (id !== undefined) {
      this.kept.delete(s); // re-insert: Map order is the recency order
      this.kept.set(s, id);
      return id;
    }
    id = this.nextId++;
    this.kept.set(s, id);
    this.keptLength += s.length;
    this.batch.keep.push([id, s]);
    for (const [k, v] of this.kept) {
      if (this.keptLength <= this.keptChars || k === s) break;
      this.kept.delete(k);
      this.keptLength -= k.length;
      this.batch.forget.push(v);
    }
    return id;
  };

  /** Waits for the worker to write and fsync everything, then renames the temp file over `file`. */
  async close(): Promise<void> {
    if (this.closed) throw new Error(`${this.file}: closed twice`);
    this.post();
    this.closed = true;
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(null);
    });
    try { fs.renameSync(this.tmp, this.file); } catch (e) { fs.rmSync(this.tmp, { force: true }); throw cannotWrite(this.file, e); } finally { this.stop(); } // rename, then unhook
  }

  /** Drops what was written (the old file, if any, stays); safe to call more than once. */
  abort(): void {
    this.closed = true;
    fs.rmSync(this.tmp, { force: true });
    this.stop();
  }

  private post(): void {
    if (this.batch.lines.length === 0) return;
    this.worker.postMessage(this.batch);
    this.batch = { keep: [], lines: [], forget: [] };
    this.inFlight++;
  }

  private settle(): void {
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /** Ends the worker, then closes the file it wrote to (not before: the descriptor's number could be reused under it). */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.removeAllListeners('exit');
    this.worker.terminate().then(() => fs.closeSync(this.fd), () => undefined);
    this.unhook();
  }
}

/** A message to JsonlThreadWriter's worker. */
interface Batch {
  keep: [number, string][];
  lines: (string | number)[][];
  forget: number[];
}

/** Records a message (a batch) and batches handed over at most before write() asks the caller to wait. */
const BATCH = 32;
const BATCHES_AHEAD = 16;
/** Strings this long or longer go to JsonlThreadWriter's worker once while recent. */
const SHARED_MIN = 256;
/** Bytes the worker gathers before a write (its pieces are Buffers, written with one writev). */
const THREAD_WRITE_CHUNK = 1 << 18;
/** Bytes the worker writes between fdatasyncs, so that close()'s fsync has little left to wait for. */
const THREAD_SYNC_BYTES = 1 << 25;

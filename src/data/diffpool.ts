// A commit's line diffs (linediff.ts), on a worker thread where the machine has cores to spare: the
// miner's read-ahead cuts the changed files' common heads and tails here (string compares), hands the
// middles over and goes on, so Myers, its allocations and their garbage collection run beside the main
// thread. On two cores the worker only competes with git, the JSONL writer and V8's compiler threads, and
// its own isolate (its compiling, its heap, the middles copied over) costs more than it takes off: the
// diffs are made on this thread (psf/requests, 5 interleaved runs: 5.44 s and 8.5 CPU-seconds against
// 5.73 s and 9.3 with the worker; pallets/flask and fastapi/fastapi: same wall time, 0.5–0.7 CPU-seconds
// less). The results are fileDiff's either way; where the worker cannot run, the diffs are made here too.

import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { middleDiff, middles, type FileDiff } from './linediff.ts';

type Job = { id: number; files: [string, string][]; cap: number };
type Done = { id: number; out: (FileDiff | null)[] };

/**
 * The diffs of a commit's files (middles) in order, each within what the files before it left of `cap`
 * (Myers gives up sooner): null for the first file over it, and for those after it.
 */
export function commitDiffs(files: [string, string][], cap: number): (FileDiff | null)[] {
  const out: (FileDiff | null)[] = [];
  let budget = cap;
  for (const [a, b] of files) {
    const d = budget < 0 ? null : middleDiff(a, b, budget);
    out.push(d);
    budget = d ? budget - d.added - d.removed : -1;
  }
  return out;
}

/** One worker for the process, started when first asked, holding the process open only while it has work. */
class DiffPool {
  private worker: Worker | null = null;
  private broken = false;
  private next = 0;
  private readonly jobs = new Map<number, { resolve: (out: (FileDiff | null)[]) => void; files: [string, string][]; cap: number }>();

  /** The diffs, on the worker when `onWorker` and it runs, else on this thread. */
  diff(files: [string | null, string | null][], cap: number, onWorker: boolean): Promise<(FileDiff | null)[]> {
    const mids = files.map(([a, b]) => middles(a, b));
    const w = onWorker ? this.start() : null;
    if (!w) return Promise.resolve(commitDiffs(mids, cap));
    return new Promise((resolve) => {
      const id = this.next++;
      this.jobs.set(id, { resolve, files: mids, cap });
      if (this.jobs.size === 1) w.ref();
      w.postMessage({ id, files: mids, cap } satisfies Job);
    });
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      // The worker runs this file: compiled (build/), as it is; TypeScript, once tsx's loader is registered
      // in it (named by URL: the cwd may be anywhere; `--import tsx` in a worker's execArgv does not reach
      // its entry module on Node 20).
      const self = JSON.stringify(import.meta.url);
      const boot = import.meta.url.endsWith('.ts')
        ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${self}); })`
        : `import(${self})`;
      const w = new Worker(boot, { eval: true });
      w.on('message', (m: Done) => {
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        if (this.jobs.size === 0) w.unref();
        job.resolve(m.out);
      });
      w.on('error', () => this.giveUp(w));
      w.on('exit', () => this.giveUp(w));
      w.unref();
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  /** The worker failed: what it was given is diffed here, and so is all that comes after. */
  private giveUp(w: Worker): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.broken = true;
    for (const job of this.jobs.values()) job.resolve(commitDiffs(job.files, job.cap));
    this.jobs.clear();
  }
}

const pool = new DiffPool();

/** Whether diffCommit uses the worker thread unless told: with more than two cores. */
export const DIFF_WORKER = availableParallelism() > 2;

/** commitDiffs of whole old and new texts: on the worker thread (`onWorker`), else on this one. */
export function diffCommit(files: [string | null, string | null][], cap: number, onWorker = DIFF_WORKER): Promise<(FileDiff | null)[]> {
  return pool.diff(files, cap, onWorker);
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: Job) => port.postMessage({ id: job.id, out: commitDiffs(job.files, job.cap) } satisfies Done));
}

// Crash-safe file output and JSONL input. Every file pr-rl writes goes through writeFileAtomic
// (temp file in the same folder, fsync, rename), so an interrupted run never leaves a truncated file.
// JSONL reading reports bad lines by number; the caller decides whether to skip or stop.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors.ts';

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  let tmp: string | undefined;
  try {
    tmp = tempBeside(file);
    writeSynced(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    if (tmp) fs.rmSync(tmp, { force: true });
    throw cannotWrite(file, e);
  }
}

/** Refuses an output folder path where a file stands (mkdir would fail there with EEXIST, after the work). */
export function refuseFileAsFolder(dir: string, flag = '--out'): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: a file, not a folder; give ${flag} a folder`);
}

/** The path `f` names with every link followed (for a file not there yet, its folder's), to tell whether two paths are one file. */
export function realOrResolved(f: string): string {
  try { return fs.realpathSync(f); } catch { /* not there yet */ }
  try { return path.join(fs.realpathSync(path.dirname(path.resolve(f))), path.basename(f)); } catch { return path.resolve(f); }
}

/** Refuses an output that is one of the command's inputs (it would be replaced by the results). */
export function refuseInputAsOutput(out: string, inputs: Record<string, string | undefined>, outFlag = '--out'): void {
  for (const [flag, input] of Object.entries(inputs)) {
    if (input !== undefined && realOrResolved(input) === realOrResolved(out)) throw new UserError(`${outFlag} ${out} is the ${flag} file; give another file to write`);
  }
}

/**
 * Checks an output file before any work: a file name given (not empty, not a folder's: ending in a slash,
 * `.` or `..`), not a folder, not under a file, not an input, and not inside a folder whose files it would
 * replace (`inside`: a model, checkpoint or run folder, what to call it, and which files there may be
 * written: by default none). `flag` names the option in the messages.
 */
export function checkOutputFile(out: string, inputs: Record<string, string | undefined> = {}, inside: [dir: string, what: string, allowed?: (file: string) => boolean][] = [], flag = '--out'): void {
  if (out.trim() === '') throw new UserError(`${flag} is empty; give a file to write`);
  const name = path.basename(out);
  if (out.endsWith('/') || out.endsWith(path.sep) || name === '.' || name === '..' || (fs.existsSync(out) && fs.statSync(out).isDirectory()))
    throw new UserError(`${flag} ${out} is a folder; give a file to write`);
  for (let d = path.dirname(path.resolve(out)); ; d = path.dirname(d)) {
    if (fs.existsSync(d)) {
      if (!fs.statSync(d).isDirectory()) throw new UserError(`cannot write ${out} (${d} is a file, not a folder)`);
      break;
    }
    if (d === path.dirname(d)) break;
  }
  refuseInputAsOutput(out, inputs, flag);
  const o = realOrResolved(out);
  for (const [dir, what, allowed] of inside) {
    if (o.startsWith(realOrResolved(dir) + path.sep) && !allowed?.(out)) throw new UserError(`${flag} ${out} is inside ${what} ${dir}, whose files it would replace; give a file elsewhere`);
  }
}

/**
 * Fails now, not after hours of work, where `file` cannot be written (a read-only file system, no
 * permission): a temp file is made and removed in its folder, or, where that is still to be made, in the
 * nearest folder above it that exists (nothing is left behind). A full disk shows only when the file is written.
 */
export function probeWritable(file: string): void {
  let dir = path.dirname(path.resolve(file));
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const tmp = path.join(dir, `.${path.basename(file)}.probe-${process.pid}-${Date.now()}`);
  try {
    fs.closeSync(fs.openSync(tmp, 'wx'));
  } catch (e) {
    throw cannotWrite(file, e);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** A file-system error met writing `file` (disk full, no permission, a folder that is a file) as one line for the user; other errors as they are. */
export function cannotWrite(file: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? new UserError(`cannot write ${file} (${(e as Error).message})`) : e;
}

/**
 * `mkdir -p dir`, whose error names the real cause: where a folder cannot be made (a read-only mount, no
 * permission) Node's recursive mkdir says ENOENT ("no such file or directory") about the folder it failed
 * to make; the highest missing folder is then made alone, which fails with EROFS or EACCES. `mkdir` is
 * fs.mkdirSync (a test's stand-in).
 */
export function makeDir(dir: string, mkdir: (d: string, o?: { recursive: true }) => unknown = fs.mkdirSync): void {
  try {
    mkdir(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let top = path.resolve(dir);
    while (path.dirname(top) !== top && !fs.existsSync(path.dirname(top))) top = path.dirname(top);
    mkdir(top); // throws the reason; if it was made meanwhile, the rest is tried again
    mkdir(dir, { recursive: true });
  }
}

/** A temp file name in `file`'s folder (made if missing), to be renamed over `file`: same file system, so the rename is atomic. */
export function tempBeside(file: string): string {
  const dir = path.dirname(path.resolve(file));
  makeDir(dir);
  return path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
}

/** Writes `file` and fsyncs it (not atomic by itself: the callers write to a temp name and rename). */
export function writeSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Writes records as JSONL to `file` atomically (record by record: no one string of the whole file). */
export function writeJsonlAtomic(file: string, records: Iterable<unknown>): Promise<void> {
  return writeJsonlFilesAtomic([[file, records]]);
}

/**
 * Writes several JSONL files that belong together (split's train and held-out sets): every one is written
 * and synced before any is renamed over its old file, so a failure on one (a full disk, a bad path) leaves
 * all the old files as they were, never a new one beside an old one.
 */
export async function writeJsonlFilesAtomic(files: [file: string, records: Iterable<unknown>][]): Promise<void> {
  for (const [file] of files) checkOutputFile(file, {}, [], 'output'); // a folder or a path under a file fails here, not at a rename
  const writers: JsonlWriter[] = [];
  // The event loop turns every 50 ms of writing and after each fsync, so that a Ctrl-C meanwhile reaches
  // the writers' handlers: they remove the temp files and end the run by that signal, the old files as they
  // were. (Written in one go, the signal waited for the renames and was lost: the run ended with 0.)
  let turned = performance.now();
  const turn = async () => { await new Promise(setImmediate); turned = performance.now(); };
  try {
    for (const [file, records] of files) {
      const w = new JsonlWriter(file);
      writers.push(w);
      for (const r of records) {
        w.write(r);
        if (performance.now() - turned > 50) await turn();
      }
      w.sync();
      await turn();
    }
  } catch (e) {
    for (const w of writers) w.abort();
    throw e;
  }
  // Renames seldom fail once every file is written (the outputs were checked up front): if one does, the
  // ones after it are dropped too, and the error says which.
  try {
    for (const w of writers) w.commit();
  } catch (e) {
    for (const w of writers) w.abort();
    throw e;
  }
}

/**
 * Characters of JSONL gathered before a write. Small: joining lines into one big string and writing that
 * cost 2.5× writing them a few KB at a time (272 MB of tasks: 0.92 s against 0.37 s).
 */
const WRITE_CHUNK = 4096;

/**
 * JSONL written a record at a time to a temp file beside `file`, renamed over it by close() after an
 * fsync; abort(), an error or Ctrl-C (SIGINT/SIGTERM) removes the temp file, so `file` is either the old
 * one or the whole new one. For outputs too large to hold: a V8 string stops at ~512 M characters, and a
 * long history's tasks are more than that as JSON.
 */
export class JsonlWriter {
  private readonly tmp: string;
  private fd: number | null;
  private readonly unhook: () => void;
  private pending: string[] = [];
  private bytes = 0;
  /** Records written so far. */
  count = 0;

  constructor(readonly file: string) {
    ({ tmp: this.tmp, fd: this.fd, unhook: this.unhook } = openBeside(file, () => this.abort()));
  }

  write(record: unknown): void {
    if (this.fd === null) throw new Error(`${this.file}: write after close`);
    const line = JSON.stringify(record) + '\n';
    this.pending.push(line);
    this.bytes += line.length;
    this.count++;
    if (this.bytes >= WRITE_CHUNK) this.flush();
  }

  close(): void {
    this.sync();
    this.commit();
  }

  /** Writes out and fsyncs what was written, without renaming: the first half of close(). */
  sync(): void {
    if (this.fd === null) throw new Error(`${this.file}: closed twice`);
    this.flush();
    try { fs.fsyncSync(this.fd); } catch (e) { throw cannotWrite(this.file, e); }
  }

  /** Renames the synced temp file over `file`: the second half of close(). A failed rename leaves no temp file. */
  commit(): void {
    if (this.fd === null) throw new Error(`${this.file}: closed twice`);
    try {
      fs.renameSync(this.tmp, this.file); // then unhook: a signal in between finds a handler, not the default action
      this.release();
    } catch (e) {
      this.abort();
      throw cannotWrite(this.file, e);
    }
  }

  /** Drops what was written (the old file, if any, stays); safe to call more than once. */
  abort(): void {
    if (this.fd !== null) this.release();
    fs.rmSync(this.tmp, { force: true });
  }

  private flush(): void {
    try {
      if (this.pending.length) fs.writeSync(this.fd!, this.pending.join(''));
    } catch (e) { throw cannotWrite(this.file, e); }
    this.pending = [];
    this.bytes = 0;
  }

  private release(): void {
    fs.closeSync(this.fd!);
    this.fd = null;
    this.unhook();
  }
}

/**
 * A temp file beside `file`, open for writing; on SIGINT, SIGTERM or SIGHUP `abort` runs (to remove it) and the
 * signal is raised again. The handler goes in before the file exists: a signal between the two would
 * otherwise kill the process with the default action and leave the temp file behind (CI met this once).
 */
export function openBeside(file: string, abort: () => void): { tmp: string; fd: number; unhook: () => void } {
  let tmp: string;
  try {
    tmp = tempBeside(file);
  } catch (e) { throw cannotWrite(file, e); }
  // Unhooked only once the temp file is gone or renamed: a second signal meanwhile (Ctrl-C pressed twice)
  // would otherwise find no handler and kill the process half way. (The handler runs to its end at once, so
  // no second call can start before it has unhooked itself.)
  const onSignal = (sig: NodeJS.Signals) => {
    abort();
    unhook();
    process.kill(process.pid, sig);
  };
  const unhook = () => { for (const sig of SIGNALS) process.removeListener(sig, onSignal); };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  try {
    return { tmp, fd: fs.openSync(tmp, 'w'), unhook };
  } catch (e) {
    unhook();
    throw cannotWrite(file, e);
  }
}

/** What ends a run from outside (Ctrl-C, kill, the terminal closed): each removes the temp file first. */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export type BadLinePolicy = 'skip' | 'stop';

export interface ReadJsonlOptions<T> {
  /** What to do with a bad line (not valid JSON, or refused by `check`): skip it (with a warning) or stop
   *  with an error. Given, the error names the --on-bad-line flag (a command that has it passes it). */
  onBadLine?: BadLinePolicy;
  /** Called for each skipped line, e.g. to print a warning. */
  warn?: (msg: string) => void;
  /** Checks a parsed line (`where` is "file:line"); a UserError it throws makes the line a bad line. */
  check?: (x: unknown, where: string) => T;
}

/** Reads a JSONL file; blank lines are ignored. Errors name the file and the 1-based line number. */
export function readJsonl<T = unknown>(file: string, opts: ReadJsonlOptions<T> = {}): T[] {
  const out: T[] = [];
  const bad = (msg: string) => {
    if (opts.onBadLine === undefined) throw new UserError(msg);
    if (opts.onBadLine === 'stop') throw new UserError(`${msg} (use --on-bad-line skip to skip such lines)`);
    (opts.warn ?? ((m) => process.stderr.write(`warning: ${m}, skipped\n`)))(msg);
  };
  forEachLine(file, (raw, n) => {
    const line = raw.trim(); // a BOM and a CR go with the white space
    if (!line) return;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch {
      bad(`${file}:${n}: not valid JSON`);
      return;
    }
    if (!opts.check) { out.push(x as T); return; }
    try {
      out.push(opts.check(x, `${file}:${n}`));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      bad(e.message);
    }
  });
  return out;
}

/** Bytes read at a time by forEachLine: from a file, up to its size; from a pipe, which has no size, PIPE_CHUNK. */
const LINE_CHUNK = 1 << 24;
const PIPE_CHUNK = 1 << 16;

/**
 * Calls `each` with every line of a text file (without its newline) and its 1-based number, reading the
 * file a chunk at a time: a file may be larger than the longest string V8 holds (~512 M characters), as
 * `pr-rl mine`'s output of a long history is (pytest-dev/pytest: 1.19 GB). A pipe or FIFO (`<(zcat …)`)
 * is read in chunks too; a line too long for a string is one clear error. A missing file or a folder is
 * one clear UserError.
 */
export function forEachLine(file: string, each: (line: string, n: number) => void, chunkBytes = LINE_CHUNK): void {
  const st = inputFile(file);
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch (e) { throw cannotRead(file, e); }
  let n = 0;
  const line = (b: Buffer, start: number, end: number) => {
    n++;
    let text: string;
    try { text = b.toString('utf8', start, end); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_STRING_TOO_LONG') throw e;
      throw new UserError(`${file}:${n}: a line of ${end - start} bytes, longer than the longest string Node holds`);
    }
    each(text, n);
  };
  try {
    const chunk = Buffer.allocUnsafe(st.isFile() ? Math.min(chunkBytes, Math.max(st.size, 1)) : Math.min(chunkBytes, PIPE_CHUNK));
    let carry: Buffer[] = []; // the start of a line the chunks cut, copied (the chunk is reused)
    for (;;) {
      let got: number;
      try { got = fs.readSync(fd, chunk, 0, chunk.length, null); } catch (e) { throw cannotRead(file, e); }
      if (got === 0) break;
      let start = 0;
      let nl = chunk.indexOf(10);
      if (nl >= 0 && nl < got && carry.length) {
        const joined = Buffer.concat([...carry, chunk.subarray(0, nl)]);
        carry = [];
        line(joined, 0, joined.length);
        start = nl + 1;
        nl = chunk.indexOf(10, start);
      }
      for (; nl >= 0 && nl < got; nl = chunk.indexOf(10, start)) {
        line(chunk, start, nl);
        start = nl + 1;
      }
      if (start < got) carry.push(Buffer.from(chunk.subarray(start, got)));
    }
    if (carry.length) { const rest = Buffer.concat(carry); line(rest, 0, rest.length); }
  } finally {
    fs.closeSync(fd);
  }
}

/** An input file's stats; a missing file or a folder is one clear UserError. */
function inputFile(file: string): fs.Stats {
  let st: fs.Stats;
  try { st = fs.statSync(file); } catch { throw new UserError(`${file}: no such file`); }
  if (st.isDirectory()) throw new UserError(`${file}: a folder, not a file`);
  return st;
}

const cannotRead = (file: string, e: unknown) => new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);

/** A text file's contents; a missing file or a folder is one clear UserError. */
export function readTextFile(file: string): string {
  inputFile(file);
  try { return fs.readFileSync(file, 'utf8'); } catch (e) { throw cannotRead(file, e); }
}

export function readJson<T = unknown>(file: string): T {
  const text = readTextFile(file);
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as T; // a BOM, as an editor may write
  } catch (e) {
    // V8 quotes the text around the fault, newlines and all: escaped, so that the error stays one line.
    throw new UserError(`${file}: not valid JSON (${(e as Error).message.replace(/\r/g, '\\r').replace(/\n/g, '\\n')})`);
  }
}

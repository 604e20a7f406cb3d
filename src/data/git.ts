// A thin wrapper over the `git` CLI for the miners: argument arrays only (never a shell string), an
// environment that runs no hooks, pagers, prompts or optional locks, one long-lived
// `git cat-file --batch-command` process for object sizes and contents (trees.ts walks trees through
// it), and parsers for `git log --raw -z` and `git ls-tree -r -l -z`. It knows nothing about tasks or
// filters (mine.ts, filter.ts).

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';

/**
 * Options every git call gets: no hooks, no pager, no credential prompt, no fsmonitor, no optional locks,
 * and no transport at all (`protocol.allow=never`): a partial clone's missing blob is then an unreadable
 * object, not a fetch that runs the repo's `core.sshCommand` or asks a remote.
 */
const SAFE_CONFIG = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.pager=cat', '-c', 'core.fsmonitor=false',
  '-c', 'credential.helper=', '-c', 'core.quotePath=false', '-c', 'log.showSignature=false', '-c', 'diff.external=',
  '-c', 'protocol.allow=never'];

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', GIT_PAGER: 'cat', PAGER: 'cat', GIT_ASKPASS: '/bin/true',
  GIT_EXTERNAL_DIFF: '', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', GIT_NO_LAZY_FETCH: '1',
};

export function gitArgs(repo: string, args: string[]): string[] {
  return ['-C', repo, ...SAFE_CONFIG, ...args];
}

/** Runs git and returns stdout as bytes; throws Error (not UserError) with git's stderr on failure. */
export function gitRaw(repo: string, args: string[], input?: string | Buffer): Buffer {
  const r = spawnSync('git', gitArgs(repo, args), { input, env: GIT_ENV, maxBuffer: 2 ** 31 - 1, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  return r.stdout;
}

export const gitText = (repo: string, args: string[]) => gitRaw(repo, args).toString('utf8').trim();

/** The error for a partial clone's missing object, when git's stderr says that is what failed: git would fetch it, which SAFE_CONFIG forbids. */
export function partialClone(repo: string, stderr: string): UserError | null {
  return /lazy fetching disabled|promisor remote/.test(stderr)
    ? new UserError(`${repo}: a partial clone (its blobs are fetched on demand, and pr-rl never fetches); clone it again without --filter`)
    : null;
}

export interface RepoInfo {
  /** Top-level folder of the work tree (or the git dir of a bare repo). */
  root: string;
  /** Folder name, used as the repo name in tasks. */
  name: string;
  head: string;
  shallow: boolean;
}

/**
 * Checks that `repo` is a git repository with at least one commit. A shallow clone is accepted with a
 * warning (returned as `shallow`): what history there is can still be mined, and the commits at the
 * shallow boundary, whose parents are missing, are skipped by the miner rather than read as "add everything".
 */
export function openRepo(repo: string, rev = 'HEAD'): RepoInfo {
  if (!fs.existsSync(repo) || !fs.statSync(repo).isDirectory()) throw new UserError(`${repo}: no such folder`);
  return openWorkTree(repo) ?? openStepByStep(repo, rev);
}

/** The usual case, a work tree with a HEAD commit, asked in one git call (a spawn costs ~15 ms); else null. */
function openWorkTree(repo: string): RepoInfo | null {
  const r = spawnSync('git', gitArgs(repo, ['rev-parse', '--is-bare-repository', '--is-shallow-repository', '--show-toplevel', '--verify', '-q', 'HEAD^{commit}']), { env: GIT_ENV });
  const lines = r.status === 0 ? r.stdout.toString('utf8').split('\n') : [];
  if (lines.length !== 5 || lines[0] !== 'false' || lines[4] !== '') return null; // bare, unborn, not a repo, a newline in the path
  const root = lines[2];
  return { root, name: path.basename(root) || 'repo', head: lines[3], shallow: lines[1] === 'true' };
}

/**
 * openRepo step by step: bare repositories, a work tree's git folder, and the errors' messages. An unborn
 * HEAD (a bare clone whose HEAD names no pushed branch, an orphan branch) is refused only when `rev` is HEAD.
 */
function openStepByStep(repo: string, rev: string): RepoInfo {
  const { root, bare } = repoRoot(repo);
  const r = spawnSync('git', gitArgs(repo, ['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`]), { env: GIT_ENV });
  if (r.status !== 0 && rev !== 'HEAD') throw new UserError(`${repo}: --rev "${rev}" names no commit`);
  if (r.status !== 0) {
    const branch = spawnSync('git', gitArgs(repo, ['symbolic-ref', '-q', '--short', 'HEAD']), { env: GIT_ENV }).stdout.toString().trim();
    const any = gitText(repo, ['for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads', 'refs/remotes']);
    if (!any) throw new UserError(`${repo}: empty repository (no commits yet); commit something or point at a clone with history`);
    const name = any.replace(/^refs\/(heads|remotes)\//, '');
    throw new UserError(`${repo}: HEAD is unborn (branch "${branch || '?'}" has no commits); ${bare ? '' : `check out a branch that has commits (git -C ${repo} checkout ${name}) or `}name one for mine and synth: --rev ${name}`);
  }
  const head = r.stdout.toString().trim();
  const shallow = gitText(repo, ['rev-parse', '--is-shallow-repository']) === 'true';
  return { root, name: repoName(root, bare), head, shallow };
}

/**
 * The top folder of `repo`'s work tree, or the git folder of a bare repository; given a work tree's git
 * folder (`r/.git`, `r/.git/objects`), its work tree. One clear error for what is no repository.
 */
export function repoRoot(repo: string): { root: string; bare: boolean } {
  let gitDir: string;
  try { gitDir = gitText(repo, ['rev-parse', '--absolute-git-dir']); } catch (e) {
    if (/dubious ownership/.test((e as Error).message)) {
      throw new UserError(`${repo}: git refuses to read it: it is owned by another user (if you trust it: git config --global --add safe.directory ${path.resolve(repo)})`);
    }
    throw new UserError(`${repo}: not a git repository (give the folder of a local clone)`);
  }
  if (gitText(repo, ['rev-parse', '--is-bare-repository']) === 'true') return { root: gitDir, bare: true };
  try { return { root: gitText(repo, ['rev-parse', '--show-toplevel']), bare: false }; } catch { /* inside the git folder */ }
  const top = spawnSync('git', ['-C', path.dirname(gitDir), ...SAFE_CONFIG, 'rev-parse', '--show-toplevel'], { env: GIT_ENV });
  if (path.basename(gitDir) === '.git' && top.status === 0) return { root: top.stdout.toString('utf8').trim(), bare: false };
  throw new UserError(`${repo}: a git folder whose work tree is elsewhere; give the work tree's folder`);
}

/** The commit `rev` names in `repo`, or null (no such revision, or a tree or blob). */
export function commitOf(repo: string, rev: string): string | null {
  const r = spawnSync('git', gitArgs(repo, ['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`]), { env: GIT_ENV });
  return r.status === 0 ? r.stdout.toString('utf8').trim() : null;
}

/** A repository's name in tasks: its folder's (a bare repository's without ".git"). */
export const repoName = (root: string, bare: boolean) => path.basename(bare ? root.replace(/\/\.git$|\.git$/, '') : root) || 'repo';

// ---- git log --raw -z ---------------------------------------------------------------------------

export interface RawChange {
  /** A added, D deleted, M modified, R renamed, C copied, T type change. */
  status: string;
  oldMode: string;
  newMode: string;
  oldSha: string;
  newSha: string;
  path: string;
  oldPath?: string;
}

export interface CommitInfo {
  sha: string;
  /** The commit's tree. */
  tree: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Author time, unix seconds. */
  time: number;
  message: string;
  /** Diff against the first parent (git's --diff-merges=first-parent), renames detected. */
  changes: RawChange[];
}

export interface LogOptions {
  rev?: string;
  maxCount?: number;
  /** Rename detection similarity, e.g. 50 (git's default). */
  renames?: number;
  /** false: the commits without their changes (`changes` empty), the same commits in the same order, far faster. */
  changes?: boolean;
  /** Ends the walk: its git process is killed (git --topo-order writes nothing until it has walked the whole graph). */
  signal?: AbortSignal;
}

/** The arguments of the `git log` call the miner makes (also used by the benchmark's peer). */
export function logArgs(o: LogOptions = {}): string[] {
  const a = ['log', '-z', '--encoding=UTF-8', '--topo-order', '--no-color', '--format=%x1e%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%B'];
  if (o.changes !== false) a.push('--raw', '--no-abbrev', `-M${o.renames ?? 50}%`, '--diff-merges=first-parent', '--no-ext-diff');
  if (o.maxCount && o.maxCount > 0) a.push(`--max-count=${o.maxCount}`);
  a.push('--end-of-options', o.rev ?? 'HEAD', '--'); // a rev is never read as an option (git ≥ 2.24)
  return a;
}

/**
 * The commits reachable from `rev` (newest first, parents after children), with their first-parent diffs,
 * streamed from one git process as it writes them: mining starts at once and holds a window of the
 * history, not all of it (a large repo's log runs to gigabytes). A failing git throws at the end.
 */
export async function* streamCommits(repo: string, o: LogOptions = {}): AsyncGenerator<CommitInfo> {
  const proc = spawn('git', gitArgs(repo, logArgs(o)), { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exit = new Promise<number | null>((resolve, reject) => { proc.on('error', reject); proc.on('close', resolve); });
  exit.catch(() => { /* surfaced below */ });
  const parser = new LogParser();
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) yield* parser.push(chunk);
    const code = await exit;
    if (code !== 0) throw new Error(`git ${logArgs(o).slice(0, 2).join(' ')} failed (exit ${code}): ${stderr.trim()}`);
    yield* parser.end();
  } finally {
    if (proc.exitCode === null) proc.kill();
    await exit.catch(() => {}); // ended, so that nothing of a run outlives it
  }
}

/** How many commits streamCommits(repo, o) will give (`git rev-list --count`: the progress bar's total). */
export function countCommits(repo: string, o: LogOptions = {}): number {
  const a = ['rev-list', '--count'];
  if (o.maxCount && o.maxCount > 0) a.push(`--max-count=${o.maxCount}`);
  return Number(gitText(repo, [...a, '--end-of-options', o.rev ?? 'HEAD', '--']));
}

/** Parses all of `logArgs()` output at once (streamCommits feeds a LogParser a chunk at a time). */
export function parseLog(buf: Buffer): CommitInfo[] {
  const p = new LogParser();
  return [...p.push(buf), ...p.end()];
}

/**
 * A `logArgs()` output parser fed a chunk at a time. A record is 0x1e, seven NUL-ended fields (sha, tree,
 * parents, author name, email, time, message), then its raw changes (":modes shas status" NUL path NUL,
 * a second path for renames and copies). It is read field by field, never by looking for 0x1e, which a
 * path (or, without -z's NULs, a name) may hold; a record is complete once the next one starts or the
 * output ends, since until then another change may follow.
 */
export class LogParser {
  /** Bytes not parsed yet, as they came: joined only when a record may have ended (a huge record is not copied again at each chunk). */
  private parts: Buffer[] = [];

  /** The commits that the output so far completes. */
  push(chunk: Buffer): CommitInfo[] {
    this.parts.push(chunk);
    // No record ends before the next one starts: without a 0x1e in the new bytes, none is complete yet.
    return chunk.includes(0x1e) ? this.parse(false) : [];
  }

  /** The commits left once the output has ended. */
  end(): CommitInfo[] {
    const out = this.parse(true);
    const left = this.parts.reduce((n, b) => n + b.length, 0);
    if (left) throw new Error(`git log: output ends inside a record (${left} bytes left)`);
    return out;
  }

  private parse(ended: boolean): CommitInfo[] {
    const buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    const out: CommitInfo[] = [];
    let i = 0;
    for (;;) {
      const r = i < buf.length ? readRecord(buf, i, ended) : null;
      if (!r) break;
      out.push(r.commit);
      i = r.next;
    }
    this.parts = i === buf.length ? [] : [i === 0 ? buf : Buffer.from(buf.subarray(i))]; // a copy: a small tail must not hold a big chunk
    return out;
  }
}

/** The record at `i` and where the next starts, or null when the bytes so far do not complete it. */
function readRecord(buf: Buffer, i: number, ended: boolean): { commit: CommitInfo; next: number } | null {
  if (buf[i] !== 0x1e) throw new Error(`git log: unexpected output at byte ${i} (${JSON.stringify(buf.toString('latin1', i, i + 20))})`);
  let j = i + 1;
  const field = (): string | null => {
    const k = buf.indexOf(0, j);
    if (k < 0) return null;
    const s = buf.toString('utf8', j, k);
    j = k + 1;
    return s;
  };
  const head: string[] = [];
  for (let f = 0; f < 7; f++) {
    const s = field();
    if (s === null) return null;
    head.push(s);
  }
  const [sha, tree, parents, authorName, authorEmail, time, message] = head;
  const c: CommitInfo = {
    sha, tree, parents: parents ? parents.split(' ') : [], authorName, authorEmail, time: Number(time),
    message: message.replace(/\n+$/, ''), changes: [],
  };
  if (buf[j] === 0x0a) j++;
  while (j < buf.length && buf[j] === 0x3a /* : */) {
    j++;
    const meta = field();
    const p1 = meta === null ? null : field();
    if (meta === null || p1 === null) return null;
    const [oldMode, newMode, oldSha, newSha, st] = meta.split(' ');
    const status = st[0];
    if (status === 'R' || status === 'C') {
      const p2 = field();
      if (p2 === null) return null;
      c.changes.push({ status, oldMode, newMode, oldSha, newSha, oldPath: p1, path: p2 });
    } else c.changes.push({ status, oldMode, newMode, oldSha, newSha, path: p1 });
  }
  if (j === buf.length && !ended) return null; // another change may follow
  return { commit: c, next: j };
}

// ---- ls-tree -------------------------------------------------------------------------------------

export interface TreeEntry { mode: string; type: string; sha: string; size: number; path: string }

/** Every entry of the tree at `rev`, recursively, with blob sizes (gitlinks have size -1). */
export function lsTree(repo: string, rev: string): TreeEntry[] {
  const buf = gitRaw(repo, ['ls-tree', '-r', '-l', '-z', '--full-tree', rev]);
  const out: TreeEntry[] = [];
  for (const rec of buf.toString('utf8').split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, sha, size] = rec.slice(0, tab).split(/ +/);
    out.push({ mode, type, sha, size: size === '-' ? -1 : Number(size), path: rec.slice(tab + 1) });
  }
  return out;
}

export const isGitlink = (mode: string) => mode === '160000';
/** An all-zero mode or sha in `git log --raw`: no file on that side of the change. */
export const isAbsent = (modeOrSha: string) => /^0+$/.test(modeOrSha);
export const isRegularFile = (mode: string) => mode === '100644' || mode === '100755';

// ---- cat-file --batch-command -------------------------------------------------------------------

interface Pending { kind: 'info' | 'contents'; obj: string; resolve: (v: BlobInfo & { data?: Buffer }) => void; reject: (e: Error) => void }
export interface BlobInfo { sha: string; type: string; size: number }

/** An object the repository does not have (a damaged clone): BlobReader's requests for it reject with this, and git reads on. */
export class MissingObject extends Error {}

/**
 * One `git cat-file --batch-command` process answering size and content queries in order. Requests
 * can be pipelined (issue many, then await them): answers are matched to requests first-in, first-out.
 * Object names are shas or `<rev>:<path>`; a missing object rejects with an Error naming it.
 */
export class BlobReader {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private chunks: Buffer[] = [];
  private have = 0;
  private failed: Error | null = null;
  private stderr = '';
  /** Bytes the head of the queue needs before it can be parsed (saves re-joining chunks of a big blob). */
  private need = 0;
  private readonly ended: Promise<void>;

  constructor(repo: string) {
    this.proc = spawn('git', gitArgs(repo, ['cat-file', '--batch-command', '--buffer']), { env: GIT_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (b: Buffer) => { this.chunks.push(b); this.have += b.length; this.drain(); });
    this.proc.stderr.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    this.ended = new Promise((resolve) => {
      this.proc.on('error', (e) => { this.fail(e); resolve(); });
      this.proc.on('close', (code) => {
        // A partial clone's missing blob: git would fetch it, which SAFE_CONFIG forbids, and exits.
        const partial = partialClone(repo, this.stderr);
        if (this.queue.length && partial) this.fail(partial);
        else if (this.queue.length) this.fail(new Error(`git cat-file exited (${code}): ${this.stderr.trim()}`));
        resolve();
      });
    });
    this.proc.stdin.on('error', (e) => this.fail(e));
  }

  /** Type and size of an object; those of objects named by sha are kept (objects never change): a blob's size
   *  is asked for by the tree walk and again by each commit that changes it (30 000 repeats on psf/requests). */
  info(obj: string): Promise<BlobInfo> {
    const hit = this.infos.get(obj);
    if (hit) return Promise.resolve(hit);
    let p = this.asking.get(obj); // asked already, not answered yet
    if (!p) {
      p = this.request('info', obj).finally(() => this.asking.delete(obj));
      this.asking.set(obj, p);
    }
    return p;
  }

  /** The size of the object named by this sha when known already, else undefined. */
  knownSize(sha: string): number | undefined { return this.infos.get(sha)?.size; }

  private readonly infos = new Map<string, BlobInfo>();
  private readonly asking = new Map<string, Promise<BlobInfo>>();

  private remember(obj: string, info: BlobInfo): void {
    if (obj !== info.sha) return; // only names that are the sha itself
    if (this.infos.size >= 1_000_000) this.infos.clear();
    this.infos.set(obj, info);
  }

  /**
   * The object's bytes. Check the size with info() first when the object may be huge. A view into what
   * git sent, not a copy (the callers decode or parse it at once): keeping it keeps that chunk alive.
   */
  async contents(obj: string): Promise<Buffer> { return (await this.request('contents', obj)).data!; }

  /** Ends git's input; resolves once the process has ended (so that nothing of a run outlives it). */
  close(): Promise<void> {
    this.proc.stdin.end();
    return this.ended;
  }

  /** Like info(), but null when the object does not exist (e.g. `<rev>:<path>` of a path absent there). */
  infoOrNull(obj: string): Promise<BlobInfo | null> {
    return this.request('info', obj).then((x) => x, (e: Error) => { if (this.failed) throw e; return null; });
  }

  private request(kind: 'info' | 'contents', obj: string): Promise<BlobInfo & { data?: Buffer }> {
    if (this.failed) return Promise.reject(this.failed);
    if (/[\n\r]/.test(obj)) return Promise.reject(new Error(`object name with a newline cannot be queried: ${JSON.stringify(obj)}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, obj, resolve, reject });
      // Requests go out in one write per turn: each write wakes git, which costs far more than the bytes
      // (~65 µs a write measured on a busy 2-core machine). process.nextTick runs after the whole cascade
      // of promise reactions that one batch of answers sets off (queueMicrotask flushed in the middle of
      // it: 8 616 writes for psf/requests with context, 2 000 now; 6 % less CPU). setImmediate would wait
      // for the event loop and add latency to every round trip: measured slower. With --buffer, git
      // answers a batch (up to its "flush") in a few large writes, not one per object (psf/requests'
      // first 1 500 commits: 19 581 writes by git before, 7 378 with it).
      if (this.outgoing.length === 0) process.nextTick(() => this.flush());
      this.outgoing.push(`${kind} ${obj}\n`);
    });
  }

  private outgoing: string[] = [];
  private flush(): void {
    const s = this.outgoing.join('');
    this.outgoing = [];
    if (s) this.proc.stdin.write(s + 'flush\n');
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  /**
   * The first `n` bytes git sent (n ≤ have) in one Buffer, at the head of the chunks. Only those bytes are
   * joined: an answer that spans two reads is copied, the answers after it stay views of their read
   * (joining all that had come copied every byte once more: 0.19 s of 4.9 s on pallets/flask).
   */
  private head(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) return first;
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i];
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (take < c.length) { this.chunks[i] = c.subarray(take); break; }
      i++;
    }
    this.chunks.splice(0, i, out);
    return out;
  }

  private drain(): void {
    while (this.queue.length && this.have > 0 && this.have >= this.need) {
      let b = this.chunks[0];
      let nl = b.indexOf(0x0a);
      // A header split between reads: joined a little at a time (headers are short).
      for (let n = b.length; nl < 0 && n < this.have;) {
        n = Math.min(this.have, n + 256);
        b = this.head(n);
        nl = b.indexOf(0x0a);
      }
      if (nl < 0) return;
      const header = b.toString('utf8', 0, nl);
      const p = this.queue[0];
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.consume(nl + 1);
        this.queue.shift();
        p.reject(header.endsWith(' missing') ? new MissingObject(`git object ${p.obj} is missing`) : new Error(`git object ${p.obj} is ambiguous`));
        continue;
      }
      const [sha, type, size] = header.split(' ');
      const info = { sha, type, size: Number(size) };
      this.remember(p.obj, info);
      if (p.kind === 'info') {
        this.consume(nl + 1);
        this.queue.shift();
        p.resolve(info);
        continue;
      }
      const need = nl + 1 + info.size + 1;
      if (this.have < need) { this.need = need; return; }
      this.need = 0;
      b = this.head(need);
      const data = b.subarray(nl + 1, nl + 1 + info.size); // not copied: see contents()
      this.consume(need);
      this.queue.shift();
      p.resolve({ ...info, data });
    }
  }

  /** Drops the first `n` bytes (n ≤ have). */
  private consume(n: number): void {
    this.have -= n;
    let k = 0;
    while (n > 0 && n >= this.chunks[k].length) n -= this.chunks[k++].length;
    if (n > 0) this.chunks[k] = this.chunks[k].subarray(n);
    if (k > 0) this.chunks.splice(0, k);
  }
}

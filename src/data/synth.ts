// Synthetic repair tasks (`pr-rl synth`): read a repo's JS/TS/Python files at a commit through git,
// inject one small bug per task (mutate.ts), cut a window around it (enclosing function, N lines, or
// the whole file) and write a Task whose old = buggy text, new = original. Deterministic for a seed
// and a commit. Windowed tasks set `window` in the buggy file's line numbers; their context is empty
// (the window carries what the fix needs, and tiny models need tiny prompts).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { structuredPatch } from 'diff';
import { scan, langOf, enclosingFn, type Scan, type FnRange } from './codescan.ts';
import { lineMutations, MUTATION_KINDS, type Mutation, type MutationKind } from './mutate.ts';
import type { Task } from './task.ts';
import { gitRaw, lsTree, partialClone, repoName as nameOfRepo, repoRoot } from './git.ts';
import { decodeText, notUtf8Path } from './filter.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';

export type WindowKind = 'function' | 'lines' | 'file';

export interface SynthConfig {
  /** Seed: the same commit and seed give the same tasks. */
  seed: number;
  /** Tasks to make (fewer when the code offers fewer distinct mutations). */
  count: number;
  /** What old/new hold: the enclosing function (capped at windowLines), windowLines lines, or the file. */
  window: WindowKind;
  /** Most lines in a window. */
  windowLines: number;
  /** Largest window in bytes, buggy and original alike, cut down around the bug; one that still does not fit is skipped (0 = no limit). */
  maxWindowBytes: number;
  /** Commit (any git rev) whose files are mutated. */
  rev: string;
  /** Comma-separated path globs to mutate (empty = every JS/TS/Python file). */
  include: string;
  /** Comma-separated mutation kinds, or "all". */
  kinds: string;
  /** Files larger than this are skipped. */
  maxFileBytes: number;
  /** Repo name written into the tasks (empty = the folder's name). */
  repoName: string;
}

export const SYNTH_DEFAULTS: SynthConfig = {
  seed: 1, count: 200, window: 'function', windowLines: 16, maxWindowBytes: 0, rev: 'HEAD',
  include: '', kinds: 'all', maxFileBytes: 200_000, repoName: '',
};

export function resolveSynthConfig(p: Partial<SynthConfig>): Readonly<SynthConfig> {
  const c = { ...SYNTH_DEFAULTS, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as SynthConfig;
  const int = (k: keyof SynthConfig, min: number) => {
    if (!Number.isInteger(c[k]) || (c[k] as number) < min) throw new UserError(`synth: --${kebab(k)} must be an integer ≥ ${min} (got ${JSON.stringify(c[k])})`);
  };
  int('seed', 0); int('count', 1); int('windowLines', 1); int('maxWindowBytes', 0); int('maxFileBytes', 1);
  if (c.seed > 2 ** 32 - 1) throw new UserError(`synth: --seed must be an integer from 0 to ${2 ** 32 - 1} (got ${c.seed})`); // the generator takes 32 bits
  if (!['function', 'lines', 'file'].includes(c.window)) throw new UserError(`synth: --window must be function|lines|file (got "${c.window}")`);
  kindsOf(c.kinds);
  return Object.freeze(c);
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (x) => '-' + x.toLowerCase());

function kindsOf(spec: string): MutationKind[] {
  if (spec.trim() === '' || spec === 'all') return MUTATION_KINDS.slice();
  const ks = spec.split(',').map((k) => k.trim());
  for (const k of ks) if (!MUTATION_KINDS.includes(k as MutationKind)) throw new UserError(`synth: unknown mutation kind "${k}" in --kinds (use ${MUTATION_KINDS.join(',')} or all)`);
  return ks as MutationKind[];
}

// ---- git ---------------------------------------------------------------------------------------

/** A git call with the miner's safe settings (git.ts: no hooks, filters' programs, signatures or fetches); a failure is one line. */
function oneLine<T>(repo: string, call: () => T): T {
  try { return call(); } catch (e) { throw partialClone(repo, (e as Error).message) ?? new UserError(`${repo}: ${(e as Error).message}`); }
}
const git = (repo: string, args: string[], input?: string) => oneLine(repo, () => gitRaw(repo, args, input));

interface Blob { path: string; oid: string; size: number }

/** The commit, its time and the regular files of its tree (symlinks and submodules left out). */
function readTree(repo: string, rev: string): { sha: string; time: number; files: Blob[] } {
  if (!fs.existsSync(repo) || !fs.statSync(repo).isDirectory()) throw new UserError(`${repo}: no such folder`);
  repoRoot(repo); // a clear error for what is no repository
  let sha: string;
  try { sha = git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).toString().trim(); } catch {
    throw new UserError(`${repo}: "${rev}" names no commit (empty repository or unborn HEAD? commit something or pass --rev)`);
  }
  const time = Number(git(repo, ['show', '-s', '--format=%ct', sha]).toString().trim());
  const files: Blob[] = oneLine(repo, () => lsTree(repo, sha))
    .filter((e) => e.type === 'blob' && e.mode !== '120000' && !notUtf8Path(e.path))
    .map((e) => ({ path: e.path, oid: e.sha, size: e.size }));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { sha, time, files };
}

/**
 * Reads blobs with one `git cat-file --batch`; what mine would not show (binary, non-UTF-8, generated,
 * minified, LFS pointers: filter.ts's decodeText) comes back null. Decoded as mine decodes, a file's BOM
 * kept, so a synthetic task's texts are the file's as a mined task has them.
 */
function readBlobs(repo: string, oids: string[]): (string | null)[] {
  if (oids.length === 0) return [];
  const out = git(repo, ['cat-file', '--batch'], oids.join('\n') + '\n');
  const res: (string | null)[] = [];
  let pos = 0;
  for (let i = 0; i < oids.length; i++) {
    const nl = out.indexOf(10, pos);
    const [, type, len] = out.subarray(pos, nl).toString().split(' ');
    if (type === 'missing' || len === undefined) { res.push(null); pos = nl + 1; continue; } // a partial clone's blob
    const size = Number(len);
    const body = out.subarray(nl + 1, nl + 1 + size);
    pos = nl + 1 + size + 1;
    const d = decodeText(body);
    res.push('text' in d ? d.text : null);
  }
  return res;
}

// ---- tasks -------------------------------------------------------------------------------------

const SKIP_PATH = /(^|\/)(node_modules|vendor|third_party|dist|build)\/|\.min\.[cm]?js$|\.d\.ts$/;

export function globToRegex(glob: string): RegExp {
  let re = '';
  for (let k = 0; k < glob.length; k++) {
    const c = glob[k];
    if (c === '*' && glob[k + 1] === '*') { re += glob[k + 2] === '/' ? '(?:.*/)?' : '.*'; k += glob[k + 2] === '/' ? 2 : 1; }
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

interface Candidate { file: number; mut: Mutation }

function isEligible(f: Blob, cfg: SynthConfig, globs: RegExp[]): boolean {
  if (!langOf(f.path) || SKIP_PATH.test(f.path) || f.size > cfg.maxFileBytes) return false;
  // A file window cannot be cut down, so a file over the window limit can never make a task.
  if (cfg.window === 'file' && cfg.maxWindowBytes > 0 && f.size > cfg.maxWindowBytes) return false;
  return globs.length === 0 || globs.some((g) => g.test(f.path));
}

export interface SynthResult {
  tasks: Task[];
  /** Files scanned, mutation candidates found, tasks made per kind. */
  summary: { files: number; candidates: number; byKind: Record<string, number>; rejected: number };
}

/** Makes up to cfg.count synthetic repair tasks from `repo` at cfg.rev. */
export function synthesize(repo: string, partial: Partial<SynthConfig> = {}): SynthResult {
  const cfg = resolveSynthConfig(partial);
  const kinds = kindsOf(cfg.kinds);
  const { sha, time, files } = readTree(repo, cfg.rev);
  const globs = cfg.include.split(',').map((g) => g.trim()).filter(Boolean).map(globToRegex);
  const rng = new Rng(cfg.seed);
  const genRng = rng.fork();
  const pickRng = rng.fork();
  const eligible = files.filter((f) => isEligible(f, cfg, globs));
  // Bound the work on huge repositories: a shuffled sample of at most ~32 MB of source.
  const chosen: Blob[] = [];
  let bytes = 0;
  for (const f of rng.shuffle(eligible)) {
    if (bytes > 32e6 || chosen.length >= 4000) break;
    chosen.push(f);
    bytes += f.size;
  }
  chosen.sort((a, b) => (a.path < b.path ? -1 : 1));
  const texts = readBlobs(repo, chosen.map((f) => f.oid));
  const scans: { path: string; s: Scan }[] = [];
  const pools = new Map<MutationKind, Candidate[]>(kinds.map((k) => [k, []]));
  chosen.forEach((f, fi) => {
    const text = texts[fi];
    // Minified or generated code (or an inlined source map) has very long lines: not worth mutating.
    if (text === null || text.length === 0 || /[^\n]{2000}/.test(text)) return;
    const s = scan(text, langOf(f.path)!);
    const idx = scans.push({ path: f.path, s }) - 1;
    const bodyOnly = cfg.window === 'function';
    for (let i = 0; i < s.lines.length; i++) {
      // With function windows, only code inside a function body is mutated.
      if (bodyOnly && !enclosingFn(s, i)) continue;
      for (const mut of lineMutations(s, i, genRng)) pools.get(mut.kind)?.push({ file: idx, mut });
    }
  });
  let candidates = 0;
  for (const [k, pool] of pools) { candidates += pool.length; pools.set(k, pickRng.shuffle(pool)); }

  const repoName = cfg.repoName || (({ root, bare }) => nameOfRepo(root, bare))(repoRoot(repo));
  const tasks: Task[] = [];
  const seen = new Set<string>();
  const byKind: Record<string, number> = {};
  let rejected = 0;
  while (tasks.length < cfg.count) {
    const active = kinds.filter((k) => pools.get(k)!.length > 0);
    if (active.length === 0) break;
    for (const k of pickRng.shuffle(active)) {
      if (tasks.length >= cfg.count) break;
      const pool = pools.get(k)!;
      while (pool.length) {
        const c = pool.pop()!;
        const t = buildTask(scans[c.file].path, scans[c.file].s, c.mut, cfg, pickRng, { repoName, sha, time });
        if (!t) { rejected++; continue; }
        const key = t.id;
        if (seen.has(key)) { rejected++; continue; }
        seen.add(key);
        tasks.push(t);
        byKind[k] = (byKind[k] ?? 0) + 1;
        break;
      }
    }
  }
  return { tasks, summary: { files: scans.length, candidates, byKind, rejected } };
}

/** Lines [ws, we) of the original file around the mutated line. */
function windowFor(s: Scan, m: Mutation, cfg: SynthConfig, rng: Rng): [number, number] {
  const len = s.lines.length - (s.lines[s.lines.length - 1] === '' ? 1 : 0);
  if (cfg.window === 'file') return [0, s.lines.length];
  const n = cfg.windowLines;
  const fn = cfg.window === 'function' ? enclosingFn(s, m.line) : null;
  const lo = fn ? fn.start : 0;
  const hi = fn ? fn.end + 1 : len;
  let ws: number;
  let we: number;
  if (hi - lo <= n) [ws, we] = [lo, hi];
  else {
    ws = Math.min(Math.max(lo, m.line - rng.int(n)), hi - n);
    we = ws + n;
  }
  if (cfg.maxWindowBytes > 0) {
    // Both texts are shown (buggy as old, original as new), so the larger of the two must fit.
    const grow = Math.max(0, (m.text === null ? 0 : Buffer.byteLength(m.text) + 1) - Buffer.byteLength(s.lines[m.line]) - 1);
    const size = (a: number, b: number) => s.lines.slice(a, b).reduce((x, l) => x + Buffer.byteLength(l) + 1, grow);
    while (we - ws > 1 && size(ws, we) > cfg.maxWindowBytes) {
      if (m.line - ws > we - 1 - m.line) ws++;
      else we--;
    }
  }
  return [ws, we];
}

/** The byte limit is a hard one: a window that is still too large after cutting (one long line, a whole file) is no task. */
function fitsWindow(cfg: SynthConfig, oldText: string, newText: string): boolean {
  const max = cfg.maxWindowBytes;
  return max === 0 || (Buffer.byteLength(oldText) <= max && Buffer.byteLength(newText) <= max);
}

const TEMPLATES: ((file: string, symptom: string, where: string) => string)[] = [
  (f, s, w) => `Fix the bug in ${f}: ${s} in ${w}.`,
  (f, s, w) => `${cap(s)} in ${w} (${f}). Fix it.`,
  (f, s, w) => `In ${f}, ${w} misbehaves: ${s}. Repair it.`,
  (f, s, w) => `${f}: ${s} somewhere in ${w}. Find and fix it.`,
];
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

function buildTask(file: string, s: Scan, m: Mutation, cfg: SynthConfig, rng: Rng, at: { repoName: string; sha: string; time: number }): Task | null {
  const [ws, we] = windowFor(s, m, cfg, rng);
  const orig = s.lines.slice(ws, we);
  const buggy = orig.slice();
  const k = m.line - ws;
  if (m.text === null) buggy.splice(k, 1);
  else buggy[k] = m.text;
  // The fix must be locatable: the changed line (or, for a deletion, its neighbour) is unique in the window.
  const anchor = m.text ?? buggy[k - 1] ?? buggy[k];
  if (anchor === undefined || anchor.trim() === '' || buggy.filter((l) => l === anchor).length !== 1) return null;
  const windowed = cfg.window !== 'file';
  const oldText = buggy.join('\n') + (windowed ? '\n' : '');
  const newText = orig.join('\n') + (windowed ? '\n' : '');
  if (oldText === newText || !fitsWindow(cfg, oldText, newText)) return null;
  const fn: FnRange | null = enclosingFn(s, m.line);
  const where = !fn ? 'the top-level code' : fn.name === 'constructor' ? 'the constructor' : `function \`${fn.name}\``;
  const text = rng.pick(TEMPLATES)(file, m.symptom, where);
  const id = `${at.repoName}#synth-${createHash('sha1').update(`${file}\0${oldText}\0${newText}`).digest('hex').slice(0, 12)}`;
  const d = diffStats(oldText, newText);
  return {
    id, repo: at.repoName, base: at.sha, source: 'synthetic', text, time: at.time,
    changes: [{ path: file, old: oldText, new: newText, ...(windowed ? { window: { start: ws, end: ws + buggy.length } } : {}) }],
    context: [],
    stats: {
      added: d.added, removed: d.removed, files: 1, hunks: d.hunks,
      promptTokens: Math.ceil((Buffer.byteLength(text) + Buffer.byteLength(file) + Buffer.byteLength(oldText) + 8) / 4),
      language: s.lang,
    },
  };
}

/** Added/removed lines and hunks (3 lines of context) of old → new. */
export function diffStats(oldText: string, newText: string): { added: number; removed: number; hunks: number } {
  const p = structuredPatch('a', 'b', oldText, newText, '', '', { context: 3 });
  let added = 0;
  let removed = 0;
  for (const h of p.hunks) for (const l of h.lines) {
    if (l[0] === '+') added++;
    else if (l[0] === '-') removed++;
  }
  return { added, removed, hunks: p.hunks.length };
}

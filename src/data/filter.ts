// Quality filters of the miner, as tables of named predicates: one table per level (commit, file path,
// file content, assembled task). Each drop is counted under its name in a FilterStats, which also keeps
// the per-candidate explanations for --explain. The filters know nothing about git (mine.ts feeds them).

import { isAscii, isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';

export type FileReason = 'submodule' | 'symlink' | 'non-utf8-path' | 'lockfile' | 'vendored' | 'generated' | 'minified' | 'lfs-pointer' | 'too-large' | 'binary' | 'non-utf8';
export type TaskReason = 'bot' | 'no-text' | 'root-commit' | 'empty' | 'too-many-files' | 'too-few-lines' | 'too-many-lines' |
  'too-many-tokens' | 'conflict-only' | 'duplicate' | 'unreadable' | `only-${FileReason}` | `file-${FileReason}`;

/** Why a commit is no candidate at all (counted apart from the drops). */
export type PassReason = 'merge-of-no-pr' | 'source-not-chosen';

export interface FilterLimits {
  /** Most changed lines (added + removed) in one task. */
  maxChangedLines: number;
  /** Fewest changed lines in one task. */
  minChangedLines: number;
  /** Most changed files in one task (after dropping skipped files). */
  maxFiles: number;
  /** Largest changed file, before or after, in bytes. */
  maxFileBytes: number;
  /** Most approximate prompt tokens (0 = no limit). */
  maxPromptTokens: number;
}

// ---- commit level -------------------------------------------------------------------------------

export interface CommitLike { authorName: string; authorEmail: string; title: string }

const BOT_AUTHOR = /\[bot\]|dependabot|renovate|greenkeeper|automerge|snyk-bot|github-actions|pre-commit-ci/i;
const BOT_TITLE = /\[bot\]|dependabot|renovate|automerge|auto-merge|pre-commit[.-]ci|\bbump(s|ed)?\b/i; // pre-commit.ci's title, or its branch in a merge's line

export const COMMIT_FILTERS: { name: TaskReason; drop: (c: CommitLike) => boolean }[] = [
  { name: 'bot', drop: (c) => BOT_AUTHOR.test(c.authorName) || BOT_AUTHOR.test(c.authorEmail) || BOT_TITLE.test(c.title) },
];

// ---- file level: path -----------------------------------------------------------------------------

const LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock',
  'Cargo.lock', 'Gemfile.lock', 'poetry.lock', 'Pipfile.lock', 'composer.lock', 'go.sum', 'mix.lock', 'pubspec.lock',
  'Podfile.lock', 'packages.lock.json', 'flake.lock', 'uv.lock', 'pdm.lock', 'gradle.lockfile', 'deno.lock']);
const VENDORED = /(^|\/)(node_modules|vendor|vendored|third[_-]?party|bower_components|Godeps|\.yarn)\//i;
const GENERATED_PATH = /(^|\/)(dist|coverage|__generated__|generated)\/|(\.pb\.go|\.pb\.cc|\.pb\.h|_pb2\.py|_pb2_grpc\.py|\.g\.dart|\.designer\.cs|\.snap)$/i;
const MINIFIED_PATH = /\.min\.(js|css|mjs)$|[.-]bundle\.js$|\.map$/i;
const BINARY_EXT = /\.(png|jpe?g|gif|bmp|ico|webp|avif|pdf|zip|gz|tgz|bz2|xz|7z|tar|jar|war|class|so|dylib|dll|exe|o|a|wasm|woff2?|ttf|otf|eot|mp[34]|mov|avi|webm|ogg|wav|flac|psd|sqlite|db|bin|npy|npz|pt|pth|onnx|safetensors|pkl|parquet)$/i;

/** A name that is not UTF-8 comes out of git's output with U+FFFD in it: not the file's path, so never written. */
export const notUtf8Path = (p: string) => p.includes('\uFFFD');

export const PATH_FILTERS: { name: FileReason; drop: (path: string) => boolean }[] = [
  { name: 'non-utf8-path', drop: (p) => notUtf8Path(p) },
  { name: 'lockfile', drop: (p) => LOCKFILES.has(p.slice(p.lastIndexOf('/') + 1)) },
  { name: 'vendored', drop: (p) => VENDORED.test(p) },
  { name: 'minified', drop: (p) => MINIFIED_PATH.test(p) },
  { name: 'generated', drop: (p) => GENERATED_PATH.test(p) },
  { name: 'binary', drop: (p) => BINARY_EXT.test(p) },
];

export function pathReason(path: string): FileReason | null {
  for (const f of PATH_FILTERS) if (f.drop(path)) return f.name;
  return null;
}

// ---- file level: content --------------------------------------------------------------------------

/**
 * Decodes a file's bytes as text (UTF-8; a leading BOM is kept, as TextDecoder with `ignoreBOM` keeps it: a
 * commit that only adds or removes one changes the file, and the texts must show it), or says why it is not
 * a text file worth showing to the policy. Checked with simdutf (isAscii, isUtf8) and copied out by
 * Buffer.toString: ASCII, most source files, becomes a one-byte string with no decoding (TextDecoder with
 * `fatal` was 2 % of mining time).
 */
export function decodeText(bytes: Uint8Array): { text: string } | { reason: FileReason } {
  const head = bytes.subarray(0, 8000);
  if (head.includes(0)) return { reason: 'binary' };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text: string;
  if (isAscii(buf)) text = buf.toString('latin1');
  else if (isUtf8(buf)) text = buf.toString('utf8');
  else return { reason: 'non-utf8' };
  const reason = contentReason(text);
  return reason ? { reason } : { text };
}

/** The content filter a decoded text fails, or null. */
export function contentReason(text: string): FileReason | null {
  for (const f of CONTENT_FILTERS) if (f.drop(text)) return f.name;
  return null;
}

/**
 * A file that says it is generated ("This file was automatically generated …", a line that starts
 * "Auto-generated by/from/file/code"), or the marks tools write. Not a mention: Sphinx's conf.py, written
 * by people, says "… present in this⏎# autogenerated file.", and prose says "the response generated by the app".
 */
const GENERATED_MARK = /@generated\b|\bDO NOT EDIT\b|this (file|code|module) (is|was|has been) (auto-?generated|automatically generated)\b|^\W*(auto-?generated|automatically generated)\s+(by|from|with|using|code|file)\b(?!\s*\.)|^\W*(?:code )?generated by (protoc|swagger|openapi|the )/im;

export const CONTENT_FILTERS: { name: FileReason; drop: (text: string) => boolean }[] = [
  // Marks are looked for near the top only: a comment that merely mentions them deep inside is fine.
  { name: 'generated', drop: (t) => GENERATED_MARK.test(t.slice(0, 1000)) },
  // Minified: long enough to matter, with very long lines on average or any line over 5 000 characters.
  { name: 'minified', drop: (t) => t.length > 2000 && looksMinified(t) },
  // A Git LFS pointer: the file itself lives elsewhere, and a change to it is a new hash, not code.
  { name: 'lfs-pointer', drop: (t) => t.startsWith('version https://git-lfs.github.com/spec/v1\n') },
];

/**
 * A line over 5 000 characters, or 300 characters a line on average. Not a walk over every line (that was
 * half of decoding a blob): lastIndexOf hops up to 5 000 characters at a time, and newlines are counted
 * only until there are enough of them for short lines on average.
 */
function looksMinified(t: string): boolean {
  for (let p = 0; t.length - p > 5000;) {
    const nl = t.lastIndexOf('\n', p + 5000);
    if (nl < p) return true;
    p = nl + 1;
  }
  let lines = 1;
  for (let i = t.indexOf('\n'); i >= 0 && lines < t.length / 300; i = t.indexOf('\n', i + 1)) lines++;
  return lines < t.length / 300;
}

// ---- task level -----------------------------------------------------------------------------------

export interface TaskShape { text: string; files: number; added: number; removed: number; promptTokens: number }

export const TASK_FILTERS: { name: TaskReason; drop: (t: TaskShape, l: FilterLimits) => boolean }[] = [
  { name: 'no-text', drop: (t) => t.text.trim().length === 0 },
  { name: 'empty', drop: (t) => t.files === 0 || t.added + t.removed === 0 },
  { name: 'too-many-files', drop: (t, l) => t.files > l.maxFiles },
  { name: 'too-few-lines', drop: (t, l) => t.added + t.removed < l.minChangedLines },
  { name: 'too-many-lines', drop: (t, l) => t.added + t.removed > l.maxChangedLines },
  { name: 'too-many-tokens', drop: (t, l) => l.maxPromptTokens > 0 && t.promptTokens > l.maxPromptTokens },
];

export function taskReason(t: TaskShape, l: FilterLimits): TaskReason | null {
  for (const f of TASK_FILTERS) if (f.drop(t, l)) return f.name;
  return null;
}

/**
 * A merge is "conflict resolution only" when none of the files it changes against its first parent
 * carries the second parent's version: whatever the merge changed was written in the merge commit
 * itself (resolution hunks), and the branch brought nothing new, e.g. a PR whose commits had already
 * landed. `changed` are the paths changed vs the first parent; `differFromSecond` those whose merge
 * content differs from the second parent's.
 */
export function conflictOnly(changed: string[], differFromSecond: Set<string>): boolean {
  return changed.length > 0 && changed.every((p) => differFromSecond.has(p));
}

/**
 * Duplicate changes: the same edit landing twice (a PR's single commit and its merge, a cherry-pick,
 * a revert of a revert). The key hashes, per file in path order, the path and its removed/added lines
 * with trailing whitespace trimmed — no line numbers or context, so the same edit on a moved base
 * matches. The first candidate seen is kept (the miner walks newest first and prefers PR merges).
 */
export class Deduper {
  private readonly seen = new Set<string>();

  /** True when an identical change was seen before; otherwise remembers it. */
  isDuplicate(files: { path: string; changed: string }[]): boolean {
    const h = createHash('sha1');
    // Path NUL, changed lines (right-trimmed, one a line: FileDiff.changed) NUL, in path order.
    for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(f.path + '\0' + f.changed + '\0');
    const key = h.digest('hex');
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    return false;
  }
}

// ---- counting -------------------------------------------------------------------------------------

export class FilterStats {
  kept = 0;
  readonly dropped = new Map<string, number>();
  readonly filesSkipped = new Map<string, number>();
  /** Commits that are no candidate: a merge of no PR ("Merge branch …"), or a source --sources leaves out. */
  readonly passed = new Map<string, number>();
  readonly explanations: string[] = [];

  constructor(private readonly explain = false) {}

  drop(reason: TaskReason, what: string, detail = ''): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    if (this.explain) this.explanations.push(`drop ${what}: ${reason}${detail ? ` (${detail})` : ''}`);
  }

  skipFile(reason: FileReason, what: string, path: string): void {
    this.filesSkipped.set(reason, (this.filesSkipped.get(reason) ?? 0) + 1);
    if (this.explain) this.explanations.push(`skip ${what}: file ${JSON.stringify(path)} left out of the task: ${reason}`);
  }

  pass(reason: PassReason, what: string): void {
    this.passed.set(reason, (this.passed.get(reason) ?? 0) + 1);
    if (this.explain) this.explanations.push(`pass ${what}: not a candidate (${reason})`);
  }

  get droppedTotal(): number { let n = 0; for (const v of this.dropped.values()) n += v; return n; }

  summary(): string {
    const fmt = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    const passed = this.passed.size ? `; not candidates: ${fmt(this.passed)}` : '';
    return `kept ${this.kept}, dropped ${this.droppedTotal} (${fmt(this.dropped)})${passed}; files skipped: ${fmt(this.filesSkipped)}`;
  }
}

// The task record: the one schema every part of pr-rl shares (mine, import, synth, split, sft,
// train, eval, reward). A task is the repo state the policy sees, the task text, and the true change.
// This file owns the types and their validation; it knows nothing about git or models.

import { UserError } from '../util/errors.ts';

export type TaskSource = 'merge' | 'squash' | 'commit' | 'synthetic' | 'import';

/** One changed file. `old`/`new` are the full texts (or the window's text, see `window`); null = absent. */
export interface FileChange {
  path: string;
  /** Set when the file was renamed; `path` is the new name. */
  oldPath?: string;
  /** Content before the change; null when the change adds the file. */
  old: string | null;
  /** Content after the change; null when the change deletes the file. */
  new: string | null;
  /** When set, old/new hold only lines [start, end) (0-based) of the file, e.g. the enclosing function. */
  window?: { start: number; end: number };
}

/** A relevant file the change did not touch, shown to the policy so it learns not to edit everything. */
export interface ContextFile {
  path: string;
  content: string;
  /** Why it was picked. */
  reason: 'bm25' | 'imports' | 'imported-by';
  score?: number;
}

export interface TaskStats {
  /** Lines added and removed over all changed files. */
  added: number;
  removed: number;
  files: number;
  hunks: number;
  /** Prompt length in tokens: approximate (bytes/4) until a tokenizer re-counts it. */
  promptTokens: number;
  /** Main language of the changed files, by extension (e.g. "typescript", "python"). */
  language: string;
}

export interface Task {
  /** Unique, stable id, e.g. "<repo>@<sha>" or "<repo>#synth-<n>". */
  id: string;
  /** Repo name (folder basename or owner/name). */
  repo: string;
  /** Commit the old contents come from. */
  base: string;
  source: TaskSource;
  /** The task statement: PR title + body, commit message, or the synthetic bug report. */
  text: string;
  /** Author time of the change, unix seconds (used by --by time splits). */
  time?: number;
  /**
   * Mined tasks only, where a PR merge brought the commit in: that merge's sha (also on the merge's own task).
   * The merge's change is the sum of its branch's commits, so `split` keeps a group on one side.
   */
  group?: string;
  changes: FileChange[];
  context: ContextFile[];
  stats: TaskStats;
}

/** Changed lines, the `size` curriculum metric. */
export function taskSize(t: Task): number {
  return t.stats.added + t.stats.removed;
}

/** Validates a parsed JSON value as a Task; `where` prefixes the error ("tasks.jsonl:12"). */
export function validateTask(x: unknown, where: string): Task {
  const t = x as Task;
  const bad = (what: string) => new UserError(`${where}: not a task record (${what})`);
  if (!t || typeof t !== 'object') throw bad('not an object');
  if (typeof t.id !== 'string' || !t.id) throw bad('missing id');
  if (typeof t.text !== 'string') throw bad('missing text');
  if (t.group !== undefined && (typeof t.group !== 'string' || !t.group)) throw bad('group must be a non-empty string');
  if (!Array.isArray(t.changes) || t.changes.length === 0) throw bad('no changes');
  for (const c of t.changes) {
    if (!c || typeof c.path !== 'string') throw bad('change without path');
    if (c.old !== null && typeof c.old !== 'string') throw bad(`change ${c.path}: old must be a string or null`);
    if (c.new !== null && typeof c.new !== 'string') throw bad(`change ${c.path}: new must be a string or null`);
  }
  if (!Array.isArray(t.context)) (t as { context: ContextFile[] }).context = [];
  if (!t.stats) throw bad('missing stats');
  return t;
}

/** Reads and validates a tasks JSONL file. */
export async function readTasks(file: string, onBadLine?: 'skip' | 'stop'): Promise<Task[]> {
  const { readJsonl } = await import('../util/fsx.ts');
  return readJsonl(file, { onBadLine, check: validateTask });
}

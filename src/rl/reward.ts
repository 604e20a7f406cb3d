// The SWE-RL reward (Wei et al. 2025, facebookresearch/swe-rl src/swerl/core/reward.py): −1 for any
// format error, else the mean over the union of changed paths of difflib's ratio between the
// predicted and the oracle per-file unified diffs (headers dropped, 0 when one side has no change).
// This file owns scoring only: parsing/applying is format.ts, the diff/ratio port is difflib.ts.
// Deleted files count as emptied (new content ""), on both the oracle and the predicted side.

import type { Task } from '../data/task.ts';
import { promptFiles, type OutputMode } from '../data/prompt.ts';
import { applyEdits, applyWholeFiles, parseCompletion } from './format.ts';
import { ratio, sweDiff } from './difflib.ts';

export interface RewardOptions {
  /** search_replace: SEARCH/REPLACE blocks (SWE-RL); whole_file: `### path` + the full new file. */
  mode: OutputMode;
}

export const REWARD_DEFAULTS: RewardOptions = { mode: 'search_replace' };

export interface FileScore {
  path: string;
  similarity: number;
}

export interface RewardResult {
  /** −1 on a format error, else in [0, 1]. */
  reward: number;
  formatOk: boolean;
  /** Every predicted file equals the oracle's new content exactly (and no other file changed). */
  exact: boolean;
  /** Why the format was rejected. */
  error?: string;
  /** Per-path similarity over the union of paths with a non-empty diff on either side. */
  files: FileScore[];
}

/** The files a task's completions may touch (path → old content) and the oracle's new contents. */
export interface TaskFiles {
  old: Map<string, string>;
  oracle: Map<string, string>;
}

const cache = new WeakMap<Task, TaskFiles & { oraclePatch: Map<string, string> }>();

function taskFiles(task: Task): TaskFiles & { oraclePatch: Map<string, string> } {
  let tf = cache.get(task);
  if (!tf) {
    const old = new Map<string, string>();
    for (const f of promptFiles(task)) old.set(f.path, f.content);
    const oracle = new Map<string, string>();
    for (const c of task.changes) if (!oracle.has(c.path)) oracle.set(c.path, c.new ?? '');
    tf = { old, oracle, oraclePatch: normalizedPatch(old, oracle) };
    cache.set(task, tf);
  }
  return tf;
}

/** SWE-RL get_normalized_patch: path → unified diff old → new, empty diffs left out. */
export function normalizedPatch(old: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): Map<string, string> {
  const patch = new Map<string, string>();
  for (const [p, content] of next) {
    const d = sweDiff(old.get(p) ?? '', content);
    if (d) patch.set(p, d);
  }
  return patch;
}

/**
 * SWE-RL compute_change_similarities + calculate_reward: 1.0 when neither side changes anything.
 * Paths are visited oracle first, then prediction-only (Python visits a set, whose order only moves
 * the mean's last bits).
 */
export function similarityReward(predPatch: ReadonlyMap<string, string>, oraclePatch: ReadonlyMap<string, string>): { reward: number; files: FileScore[] } {
  const paths = [...oraclePatch.keys()];
  for (const p of predPatch.keys()) if (!oraclePatch.has(p)) paths.push(p);
  if (!paths.length) return { reward: 1.0, files: [] };
  let sum = 0;
  const files: FileScore[] = [];
  for (const path of paths) {
    const pred = predPatch.get(path) ?? '';
    const oracle = oraclePatch.get(path) ?? '';
    const similarity = pred === '' || oracle === '' ? 0.0 : ratio(pred, oracle);
    files.push({ path, similarity });
    sum += similarity;
  }
  return { reward: sum / paths.length, files };
}

/** Scores one completion for one task. Never throws on any completion text. */
export function reward(task: Task, completion: string, opts: Partial<RewardOptions> = {}): RewardResult {
  const mode = opts.mode ?? REWARD_DEFAULTS.mode;
  const tf = taskFiles(task);
  const parsed = parseCompletion(completion, mode);
  if (!parsed.ok) return { reward: -1, formatOk: false, exact: false, error: parsed.error, files: [] };
  const applied = mode === 'whole_file' ? applyWholeFiles(tf.old, parsed.files) : applyEdits(tf.old, parsed.edits);
  if (!applied.ok) return { reward: -1, formatOk: false, exact: false, error: applied.error, files: [] };
  const pred = applied.files;
  const { reward: r, files } = similarityReward(normalizedPatch(tf.old, pred), tf.oraclePatch);
  return { reward: r, formatOk: true, exact: isExact(tf, pred), files };
}

function isExact(tf: TaskFiles, pred: ReadonlyMap<string, string>): boolean {
  for (const [p, content] of tf.oracle) if ((pred.get(p) ?? tf.old.get(p)) !== content) return false;
  for (const [p, content] of pred) if (!tf.oracle.has(p) && content !== tf.old.get(p)) return false;
  return true;
}

export interface RewardSummary {
  n: number;
  mean: number;
  formatOk: number;
  exact: number;
}

export function summarize(results: readonly RewardResult[]): RewardSummary {
  const n = results.length;
  const sum = (f: (r: RewardResult) => number) => results.reduce((s, r) => s + f(r), 0) / (n || 1);
  return { n, mean: sum((r) => r.reward), formatOk: sum((r) => +r.formatOk), exact: sum((r) => +r.exact) };
}

/** One line of an outputs file: {id, text} or {task_id, completion}. */
interface OutputRecord {
  id?: unknown;
  task_id?: unknown;
  text?: unknown;
  completion?: unknown;
}

/**
 * `pr-rl reward`: scores every output against its task; writes one JSONL record per output to `out`
 * (or prints one line per output), then prints the summary. Returns the summary.
 */
export async function runReward(o: { tasks: string; outputs: string; out?: string; mode: OutputMode; print?: (line: string) => void }): Promise<RewardSummary> {
  const { readTasks } = await import('../data/task.ts');
  const { readJsonl, writeJsonlAtomic, checkOutputFile } = await import('../util/fsx.ts');
  const { UserError } = await import('../util/errors.ts');
  if (o.out !== undefined) checkOutputFile(o.out, { '--tasks': o.tasks, '--outputs': o.outputs });
  const print = o.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const byId = new Map<string, Task>();
  for (const t of await readTasks(o.tasks)) byId.set(t.id, t);
  const records = readJsonl<OutputRecord>(o.outputs);
  if (records.length === 0) throw new UserError(`${o.outputs}: no outputs`); // a mean over nothing is no score
  const rows: (RewardResult & { id: string })[] = [];
  records.forEach((rec, i) => {
    const id = rec?.id ?? rec?.task_id;
    const text = rec?.text ?? rec?.completion;
    const where = `${o.outputs}: record ${i + 1}`;
    if (typeof id !== 'string' || typeof text !== 'string') throw new UserError(`${where}: expected {"id", "text"} or {"task_id", "completion"} strings`);
    const task = byId.get(id);
    if (!task) throw new UserError(`${where}: task id "${id}" is not in ${o.tasks}`);
    rows.push({ id, ...reward(task, text, { mode: o.mode }) });
  });
  if (o.out) await writeJsonlAtomic(o.out, rows);
  else for (const r of rows) print(`${r.id}\t${r.reward.toFixed(4)}\t${r.formatOk ? 'format-ok' : 'format-error'}\t${r.exact ? 'exact' : '-'}${r.error ? '\t' + r.error : ''}`);
  const s = summarize(rows);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  print(`${s.n} outputs | reward mean ${s.mean.toFixed(4)} | format-valid ${pct(s.formatOk)} | exact ${pct(s.exact)}${o.out ? ` | wrote ${o.out}` : ''}`);
  return s;
}

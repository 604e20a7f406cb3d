// Train/held-out split without leakage (`pr-rl split`): held-out tasks are the newest (time), whole
// repos (repo), the tasks that change only held-out files (file: no train task changes one), or a seeded
// sample (random). Then no normalized change (old→new diff), no normalized task text and no PR (a merge
// and the commits it brought in, Task.group) may appear on both sides: every group of tasks linked by a
// shared change, text or PR goes whole to one side. Reading and writing files is the CLI's job.

import { createHash } from 'node:crypto';
import { structuredPatch } from 'diff';
import type { Task } from './task.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { realOrResolved } from '../util/fsx.ts';

export type SplitBy = 'time' | 'repo' | 'file' | 'random';

export interface SplitOptions {
  /** Held-out size: a fraction in (0, 1) or a count ≥ 1. */
  heldout: number;
  by: SplitBy;
  seed: number;
}

export interface SplitResult {
  train: Task[];
  heldout: Task[];
  /** Held-out size asked for, in tasks. */
  target: number;
  /** Tasks picked for held-out before the leakage fix-up (whole repos, files or PRs, so this can miss the target). */
  picked: number;
  /** Held-out tasks moved to train (time/random) or dropped (repo/file) because they collided. */
  moved: number;
  dropped: number;
  /** --by file: tasks on neither side because they change a held-out file and a train file. */
  overlap: number;
  /** Held-out tasks whose change / text / PR (Task.group) also occurred in train before the fix-up. */
  sharedChange: number;
  sharedText: number;
  sharedGroup: number;
  /** Of the moved or dropped tasks, those of a PR with other tasks (they go as their PR goes, whether or not they shared anything themselves). */
  lostWithPr: number;
  /** --by time: tasks left in train of the time the held-out set starts at (parted from it by id, not by time), and tasks with no time (the oldest). */
  tied: number;
  untimed: number;
}

/** "10%" → 0.1, "0.1" → 0.1, "100" → 100. */
export function parseHeldout(s: string | number): number {
  const pct = typeof s === 'string' && s.trim().endsWith('%');
  const v = typeof s === 'number' ? s : pct ? Number(s.trim().slice(0, -1)) / 100 : Number(s);
  if (!isFinite(v) || v <= 0 || (v >= 1 && (pct || !Number.isInteger(v))))
    throw new UserError(`--heldout must be a percentage like 10%, a fraction in (0, 1) or a task count (got "${s}")`);
  return v;
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Hash of the change's +/− lines (whitespace-normalized, paths left out: the same fix in two places is
 * one change), file by file in a fixed order (mine sorts changes by path, import keeps the patch's order).
 */
export function changeKey(t: Task): string {
  const files = t.changes.map((c) => {
    const parts: string[] = [];
    const p = structuredPatch('a', 'b', c.old ?? '', c.new ?? '', '', '', { context: 0 });
    for (const h of p.hunks) for (const l of h.lines) if (l[0] === '+' || l[0] === '-') parts.push(l[0] + norm(l.slice(1)));
    // Sorted: lines equal once normalized may be aligned otherwise by the diff (a blank line added before
    // or after the same line), and the same change must give the same key.
    parts.sort();
    parts.push(c.old === null ? '<added>' : c.new === null ? '<deleted>' : '<changed>');
    return parts.join('\n');
  });
  return sha1(files.sort().join('\n'));
}

/** Hash of the task text, case- and whitespace-normalized. */
export function textKey(t: Task): string {
  return sha1(norm(t.text).toLowerCase());
}

/** The task's PR within its repo (Task.group), or undefined. */
export const groupKey = (t: Task): string | undefined => (t.group === undefined ? undefined : `${t.repo}\0${t.group}`);

export function splitTasks(tasks: readonly Task[], opts: SplitOptions): SplitResult {
  const n = tasks.length;
  if (n < 2) throw new UserError(`split: need at least 2 tasks, got ${n}`);
  if (opts.heldout >= n)
    throw new UserError(`split: --heldout ${opts.heldout} would leave nothing to train on: the input has only ${n} tasks; ask for fewer than ${n} or a percentage like 10%`);
  // A train set is needed even when a large fraction rounds up to every task.
  const target = opts.heldout < 1 ? Math.min(Math.max(1, Math.round(opts.heldout * n)), n - 1) : opts.heldout;
  const rng = new Rng(opts.seed);
  const held = new Uint8Array(n); // 1: held out; OFF_SIDES: on neither side (--by file: changes held-out and train files)
  let overlap = 0;
  let tied = 0;
  let untimed = 0;
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const byId = (a: number, b: number) => cmp(tasks[a].id, tasks[b].id);
  const gk = tasks.map(groupKey);
  // time and random pick whole PRs (a task of none is a unit of its own): picked task by task, a PR's merge
  // and its commits would mostly part, and the fix-up would move one cut at the boundary to train whole
  // (all of the held-out set, where the newest PR is larger than the size asked).
  const units: number[][] = []; // in the order of their first tasks: without PRs, one per task in input order
  const unitOf = new Map<string, number[]>();
  gk.forEach((k, i) => {
    const u = k === undefined ? undefined : unitOf.get(k);
    if (u) u.push(i);
    else { units.push([i]); if (k !== undefined) unitOf.set(k, units[units.length - 1]); }
  });

  if (opts.by === 'random') {
    takeWhole(rng.shuffle(units), target, held);
  } else if (opts.by === 'time') {
    // A PR's commits landed when it was merged: its newest time is theirs, and its tasks sort together.
    const time = tasks.map((t) => t.time ?? -Infinity);
    const unit = tasks.map((t) => t.id);
    for (const u of units) if (u.length > 1) {
      const newest = u.reduce((m, i) => Math.max(m, time[i]), -Infinity);
      for (const i of u) { time[i] = newest; unit[i] = gk[i]!; }
    }
    const order = [...Array(n).keys()].sort((a, b) => time[a] - time[b] || cmp(unit[a], unit[b]) || byId(a, b));
    // Newest PRs first, whole: the one at the boundary goes in where that comes nearer the size asked (or
    // nothing else would be held out, unless nothing would be left to train on), else it and all older stay in train.
    let count = 0;
    for (let end = n; end > 0 && count < target;) {
      let start = end - 1;
      while (start > 0 && unit[order[start - 1]] === unit[order[end - 1]]) start--;
      if (count + (end - start) === n || (count > 0 && count + (end - start) - target >= target - count)) break;
      for (let k = start; k < end; k++) held[order[k]] = 1;
      count += end - start;
      end = start;
    }
    const from = order.reduce((m, i) => (held[i] ? Math.min(m, time[i]) : m), Infinity); // where the held-out set starts
    tied = order.filter((i) => !held[i] && time[i] === from).length;
    untimed = tasks.filter((t) => t.time === undefined).length;
  } else if (opts.by === 'file') {
    overlap = pickFiles(tasks, target, rng, held);
  } else {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const k = tasks[i].repo;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(i);
    }
    if (groups.size < 2) throw new UserError(`split --by repo: all tasks come from one repo; use --by time or --by random`);
    takeWhole(rng.shuffle([...groups.keys()].sort()).map((k) => groups.get(k)!), target, held);
  }

  // Union-find over shared keys: a linked group must not straddle the boundary.
  const parent = [...Array(n).keys()];
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  const ck = tasks.map(changeKey);
  const tk = tasks.map(textKey);
  for (const keys of [ck, tk, gk]) {
    const first = new Map<string, number>();
    keys.forEach((k, i) => {
      if (k === undefined || held[i] === OFF_SIDES) return; // on neither side: links nothing
      const j = first.get(k);
      if (j === undefined) first.set(k, i);
      else parent[find(i)] = find(j);
    });
  }
  const picked = held.reduce((a, b) => a + (b === 1 ? 1 : 0), 0);
  const trainChange = new Set(ck.filter((_, i) => !held[i]));
  const trainText = new Set(tk.filter((_, i) => !held[i]));
  const trainGroup = new Set(gk.filter((k, i) => k !== undefined && !held[i]));
  let sharedChange = 0;
  let sharedText = 0;
  let sharedGroup = 0;
  for (let i = 0; i < n; i++) if (held[i] === 1) {
    if (trainChange.has(ck[i])) sharedChange++;
    if (trainText.has(tk[i])) sharedText++;
    if (gk[i] !== undefined && trainGroup.has(gk[i])) sharedGroup++;
  }
  const touchesTrain = new Set<number>();
  for (let i = 0; i < n; i++) if (!held[i]) touchesTrain.add(find(i));
  const moveToTrain = opts.by === 'time' || opts.by === 'random';
  const train: Task[] = [];
  const heldout: Task[] = [];
  let moved = 0;
  let dropped = 0;
  let lostWithPr = 0;
  for (let i = 0; i < n; i++) {
    if (!held[i]) train.push(tasks[i]);
    else if (held[i] === OFF_SIDES) continue;
    else if (!touchesTrain.has(find(i))) heldout.push(tasks[i]);
    else {
      if (moveToTrain) { train.push(tasks[i]); moved++; } else dropped++;
      const k = gk[i];
      if (k !== undefined && unitOf.get(k)!.length > 1) lostWithPr++;
    }
  }
  return { train, heldout, target, picked, moved, dropped, overlap, sharedChange, sharedText, sharedGroup, lostWithPr, tied, untimed };
}

const OFF_SIDES = 2;

/**
 * --by random (whole PRs) and --by repo: holds out whole groups of tasks in the order given, passing over
 * one that would go past `target` for smaller ones after it; none fitting, the smallest, unless it is every
 * task (nothing would be left to train on).
 */
function takeWhole(groups: readonly number[][], target: number, held: Uint8Array): void {
  let count = 0;
  for (const g of groups) {
    if (count + g.length > target) continue;
    for (const i of g) held[i] = 1;
    count += g.length;
    if (count === target) break;
  }
  const smallest = groups.reduce((a, b) => (b.length < a.length ? b : a));
  if (count === 0 && smallest.length < held.length) for (const i of smallest) held[i] = 1;
}

/**
 * --by file: picks held-out files (by repo and path; a rename's old path counts too) in seeded order. A task
 * is held out when every file it changes is, and goes to neither side when it changes held-out and other
 * files, so that no train task changes a held-out file. A file is taken when it completes some task without
 * going past the size asked, and puts no more train tasks on neither side than it completes; none doing
 * so, the one completing the fewest (or, where every task changes several files, files in turn until one
 * completes). Marks `held` (1, or OFF_SIDES) and returns how many tasks are on neither side.
 */
function pickFiles(tasks: readonly Task[], target: number, rng: Rng, held: Uint8Array): number {
  const n = tasks.length;
  const tasksOf = new Map<string, number[]>();
  const missing = new Int32Array(n); // files of each task not (yet) held out
  tasks.forEach((t, i) => {
    for (const k of new Set(t.changes.flatMap((c) => (c.oldPath ? [c.path, c.oldPath] : [c.path]).map((p) => `${t.repo}\0${p}`)))) {
      if (!tasksOf.has(k)) tasksOf.set(k, []);
      tasksOf.get(k)!.push(i);
      missing[i]++;
    }
  });
  if (tasksOf.size < 2) throw new UserError('split --by file: all tasks change the same one file; use --by time or --by random');
  const files = Int32Array.from(missing);
  const keys = rng.shuffle([...tasksOf.keys()].sort());
  const gain = (k: string) => tasksOf.get(k)!.filter((i) => missing[i] === 1).length;
  /** Train tasks that taking file k would put on neither side (it changes them, with files that stay in train). */
  const cost = (k: string) => tasksOf.get(k)!.filter((i) => missing[i] > 1 && missing[i] === files[i]).length;
  let count = 0;
  const take = (k: string) => { for (const i of tasksOf.get(k)!) if (--missing[i] === 0) count++; };
  for (const k of keys) {
    const g = gain(k);
    if (g > 0 && count + g <= target && cost(k) <= g) take(k);
    if (count === target) break;
  }
  if (count === 0) {
    const fits = keys.filter((k) => gain(k) > 0 && gain(k) < n);
    if (fits.length) take(fits.reduce((a, b) => (gain(b) < gain(a) ? b : a)));
    else for (const k of keys) { take(k); if (count > 0) break; }
  }
  let overlap = 0;
  let train = 0;
  for (let i = 0; i < n; i++) {
    if (files[i] > 0 && missing[i] === 0) held[i] = 1;
    else if (missing[i] < files[i]) { held[i] = OFF_SIDES; overlap++; } else train++;
  }
  if (train === 0) throw new UserError('split --by file: every task changes a file that others change too, so no files can be held out with tasks left to train on; use --by time or --by random');
  return overlap;
}

/**
 * A warning line when the held-out set came out under half the size asked for (or empty), or over twice
 * it (whole repos, files or PRs held out), with the reason, so that a user does not evaluate on a far smaller
 * or larger set than intended without knowing; undefined otherwise.
 */
export function shortfallWarning(r: SplitResult, by: SplitBy): string | undefined {
  const got = r.heldout.length;
  const whole = by === 'repo' ? 'repos' : by === 'file' ? 'files' : 'PRs';
  if (got > 2 * r.target && r.target > 0) return `split: warning: held out ${got} tasks, asked for ${r.target}: --by ${by} holds out whole ${whole}, and no smaller set of them came near the size`;
  if (got > 0 && got >= r.target / 2) return undefined;
  const why: string[] = [];
  if (r.picked < r.target) why.push(`only ${r.picked} tasks fit in whole ${whole}`);
  if (r.overlap > 0) why.push(`${r.overlap} changed held-out and train files and are on neither side`);
  const lost = r.moved + r.dropped;
  if (lost > 0) {
    const what = r.sharedGroup || r.lostWithPr ? 'change, task text or PR' : 'change or task text';
    why.push(`${lost} shared a ${what} with train and were ${r.moved ? 'moved to train' : `dropped (moving them to train would split their ${by === 'repo' ? 'repo' : 'file'})`}: no ${what} is on both sides`);
  }
  const size = got === 0 ? 'the held-out set is empty' : `held out ${got} tasks`;
  return `split: warning: ${size}, asked for ${r.target}${why.length ? `: ${why.join('; ')}` : ''}`;
}

/** --by time: a warning where time did not decide the split (tasks of one time on both sides: synthetic tasks all have their commit's), else undefined. */
export function timeWarning(r: SplitResult): string | undefined {
  const why: string[] = [];
  if (r.untimed) why.push(`${r.untimed} tasks have no time (taken as the oldest)`);
  if (r.tied) why.push(`${r.tied} tasks left in train have the time the held-out set starts at, so those were parted by id`);
  return why.length ? `split: warning: --by time: ${why.join('; ')}; --by random or --by file split such tasks by something they differ in` : undefined;
}

/** Refuses outputs that would overwrite each other (through links too), before anything is read or written; checkOutputFile refuses the input. */
export function checkSplitPaths(outTrain: string, outHeldout: string): void {
  if (realOrResolved(outTrain) === realOrResolved(outHeldout)) throw new UserError(`split: --out-train and --out-heldout are the same file (${outTrain}); give two different files`);
}

/** Keys present on both sides (empty when the split is clean): the invariant the tests check on every split. */
export function leaks(train: readonly Task[], heldout: readonly Task[]): string[] {
  const tc = new Set(train.map(changeKey));
  const tt = new Set(train.map(textKey));
  const tg = new Set(train.map(groupKey));
  const out: string[] = [];
  for (const t of heldout) {
    if (tc.has(changeKey(t))) out.push(`${t.id}: change also in train`);
    if (tt.has(textKey(t))) out.push(`${t.id}: text also in train`);
    if (t.group !== undefined && tg.has(groupKey(t))) out.push(`${t.id}: PR ${t.group.slice(0, 12)} also in train`);
  }
  return out;
}

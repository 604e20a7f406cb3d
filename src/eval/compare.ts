// Paired comparison of two eval.json files (A = baseline, B = candidate): for each metric both report,
// the per-task difference B − A over the tasks both scored, its paired SE, 95 % CI and a verdict
// (stats.ts). Refuses different task sets unless asked. Producing eval.json is evaluate.ts's job.

import { UserError } from '../util/errors.ts';
import { readJson } from '../util/fsx.ts';
import type { EvalConfig, EvalResult } from './evaluate.ts';
import { pairedCompare, type Paired } from './stats.ts';

export interface MetricComparison extends Paired {
  metric: string;
}

export interface Comparison {
  a: string;
  b: string;
  /** Tasks scored by both with the same content (the pairs). */
  shared: number;
  onlyA: number;
  onlyB: number;
  /** Sampling settings that differ between A and B (the comparison is still paired, but say so). */
  configDiffs: string[];
  metrics: MetricComparison[];
}

/** Reads an eval.json and checks it is one. */
export function readEval(file: string): EvalResult {
  const r = readJson<EvalResult>(file);
  const bad = (why: string) => new UserError(`${file}: not an eval.json written by \`pr-rl eval\` (format pr-rl-eval/1; ${why})`);
  if (!r || r.format !== 'pr-rl-eval/1') throw bad('no such format field');
  if (typeof r.tasks !== 'object' || r.tasks === null || Array.isArray(r.tasks)) throw bad('no "tasks" object');
  for (const [id, t] of Object.entries(r.tasks)) {
    const metrics = (t as { metrics?: unknown } | null)?.metrics;
    if (typeof t?.hash !== 'string' || typeof metrics !== 'object' || metrics === null) throw bad(`task "${id}" has no hash or metrics`);
    for (const [k, v] of Object.entries(metrics)) if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`task "${id}": metric "${k}" is not a number`);
  }
  // report prints the summary
  if (typeof r.summary !== 'object' || r.summary === null || Array.isArray(r.summary)) throw bad('no "summary" object');
  for (const [name, iv] of Object.entries(r.summary)) {
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (!num(iv?.mean) || ![iv.lo, iv.hi].every((v) => v === null || num(v))) throw bad(`summary "${name}" has no mean or a bad interval`);
  }
  return r;
}

// Print order: sampled metrics, pass@k by k, then greedy ones; anything else after, by name.
function metricOrder(name: string): [number, number, string] {
  const fixed = ['reward', 'exact', 'format_ok'];
  if (fixed.includes(name)) return [0, fixed.indexOf(name), name];
  const m = /^pass@(\d+)$/.exec(name);
  if (m) return [1, Number(m[1]), name];
  if (name.startsWith('greedy_')) return [2, fixed.indexOf(name.slice(7)), name];
  return [3, 0, name];
}

const CONFIG_KEYS: (keyof EvalConfig)[] = ['k', 'temperature', 'topP', 'topK', 'greedy', 'maxNewTokens', 'rewardMode', 'seed'];

export function compareEvals(a: EvalResult, b: EvalResult, opts: { aName?: string; bName?: string; allowDifferentTasks?: boolean } = {}): Comparison {
  const aName = opts.aName ?? 'A';
  const bName = opts.bName ?? 'B';
  const idsA = Object.keys(a.tasks);
  const shared = idsA.filter((id) => b.tasks[id] && b.tasks[id].hash === a.tasks[id].hash).sort();
  const onlyA = idsA.length - shared.length;
  const onlyB = Object.keys(b.tasks).length - shared.length;
  if ((onlyA > 0 || onlyB > 0) && !opts.allowDifferentTasks)
    throw new UserError(`${aName} and ${bName} were evaluated on different task sets (${idsA.length} vs ${Object.keys(b.tasks).length} tasks, ${shared.length} the same); evaluate both on the same data, or pass --allow-different-tasks to compare the ${shared.length} shared ones`);
  if (shared.length === 0) throw new UserError(`${aName} and ${bName} share no task: nothing to compare`);

  const names = Object.keys(a.tasks[shared[0]].metrics).filter((m) => m in b.tasks[shared[0]].metrics);
  if (names.length === 0) throw new UserError(`${aName} and ${bName} report no metric in common (one is greedy-only, the other sampled-only?)`);
  names.sort((x, y) => {
    const [g1, i1, n1] = metricOrder(x);
    const [g2, i2, n2] = metricOrder(y);
    return g1 - g2 || i1 - i2 || n1.localeCompare(n2);
  });
  const metrics = names.map((metric) => {
    const va = shared.map((id) => a.tasks[id].metrics[metric]);
    const vb = shared.map((id) => b.tasks[id].metrics[metric]);
    return { metric, ...pairedCompare(va, vb) };
  });
  const configDiffs = CONFIG_KEYS.filter((k) => JSON.stringify(a.config?.[k]) !== JSON.stringify(b.config?.[k]))
    .map((k) => `${k} ${JSON.stringify(a.config?.[k])} vs ${JSON.stringify(b.config?.[k])}`);
  return { a: aName, b: bName, shared: shared.length, onlyA, onlyB, configDiffs, metrics };
}

/** A small aligned table; differences are B − A. */
export function formatComparison(c: Comparison): string[] {
  const f = (x: number | null, sign = false) => (x === null ? '–' : (sign && x >= 0 ? '+' : '') + x.toFixed(3));
  const lines = [`compare: A = ${c.a}`, `         B = ${c.b}`,
    `paired over ${c.shared} tasks${c.onlyA || c.onlyB ? ` (${c.onlyA} only in A, ${c.onlyB} only in B left out)` : ''}; B − A, 95 % CI = diff ± t(0.975, n−1)·SE, SE = sqrt((Var A + Var B − 2 Cov)/n)`];
  if (c.configDiffs.length) lines.push(`note: settings differ: ${c.configDiffs.join(', ')}`);
  const alike = c.metrics.filter((m) => m.lo === null && m.n >= 2).map((m) => m.metric);
  if (alike.length) lines.push(`note: ${alike.join(', ')}: B − A is the same on every task, so no t interval; verdict by the sign test (p = 2^(1−n), B or A better only from n = 6)`);
  const rows = [['metric', 'A', 'B', 'B − A', '95% CI', 'verdict'],
    ...c.metrics.map((m) => [m.metric, f(m.meanA), f(m.meanB), f(m.diff, true),
      m.lo === null ? (m.n < 2 ? 'n<2' : 'none') : `[${f(m.lo, true)}, ${f(m.hi, true)}]`, m.verdict])];
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  for (const r of rows) lines.push(r.map((cell, j) => (j === 0 || j >= 4 ? cell.padEnd(w[j]) : cell.padStart(w[j]))).join('  ').trimEnd());
  return lines;
}

/** `pr-rl compare a.json b.json`: prints the table (or JSON) to stdout. */
export function runCompare(opts: { a: string; b: string; allowDifferentTasks: boolean; json: boolean; print?: (s: string) => void }): Comparison {
  const print = opts.print ?? ((s: string) => process.stdout.write(s + '\n'));
  const c = compareEvals(readEval(opts.a), readEval(opts.b), { aName: opts.a, bName: opts.b, allowDifferentTasks: opts.allowDifferentTasks });
  if (opts.json) print(JSON.stringify(c, null, 2));
  else for (const line of formatComparison(c)) print(line);
  return c;
}

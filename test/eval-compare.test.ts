// Run: node --import tsx --test test/eval-compare.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Task } from '../src/data/task.ts';
import { evaluateTasks, type Sampler, type ScoreFn } from '../src/eval/evaluate.ts';
import { compareEvals, formatComparison, runCompare } from '../src/eval/compare.ts';
import { UserError } from '../src/util/errors.ts';
import { writeJsonAtomic } from '../src/util/fsx.ts';
import { tempDir } from './helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = () => tempDir('prrl-eval-');

function task(id: string, lines = 2): Task {
  return {
    id, repo: 'r', base: 'abc', source: 'synthetic', text: `fix ${id}`,
    changes: [{ path: `${id}.ts`, old: 'a\n', new: 'b\n' }], context: [],
    stats: { added: lines / 2, removed: lines / 2, files: 1, hunks: 1, promptTokens: 10, language: 'typescript' },
  };
}

// Completions are words: "right" = exact (1), "close" = 0.5, "junk" = unparsable (−1).
const score: ScoreFn = (_t, c) =>
  c === 'right' ? { reward: 1, formatOk: true, exact: true } : c === 'close' ? { reward: 0.5, formatOk: true, exact: false } : { reward: -1, formatOk: false, exact: false, error: 'no blocks' };

/** Serves canned completions per task id: samples in order, greedy = the last word of the list. */
function canned(table: Record<string, string[]>, skip: string[] = []): Sampler {
  return {
    skipReason: (t) => (skip.includes(t.id) ? 'prompt too long' : null),
    async sample(t, n, greedy) {
      const words = table[t.id];
      const completions = greedy ? [words[words.length - 1]] : words.slice(0, n);
      return { completions, truncated: completions.map((w) => w === 'junk') };
    },
  };
}

test('evaluateTasks: per-task metrics, pass@k inputs and the summary by hand', async () => {
  const tasks = [task('t1'), task('t2'), task('t3'), task('t4')];
  const sampler = canned({
    t1: ['right', 'close', 'junk', 'right'], // rewards 1, .5, −1, 1 → mean .375; c = 2; format 3/4
    t2: ['close', 'close', 'close', 'close'], // mean .5; c = 0; format 1
    t3: ['junk', 'junk', 'junk', 'right'], // mean −.5; c = 1; format 1/4
    t4: ['right', 'right', 'right', 'right'], // mean 1; c = 4
  }, []);
  const r = await evaluateTasks(tasks, sampler, score, { k: 4, greedy: true }, { dataFile: 'held.jsonl' });
  assert.deepEqual([r.tasks.t1.n, r.tasks.t1.c, r.tasks.t3.c], [4, 2, 1]);
  assert.equal(r.tasks.t1.metrics.reward, 0.375);
  // pass@2 for n=4, c=2: 1 − C(2,2)/C(4,2) = 1 − 1/6; pass@4 = 1 since c ≥ 1.
  assert.ok(Math.abs(r.tasks.t1.metrics['pass@2'] - 5 / 6) < 1e-12);
  assert.equal(r.tasks.t1.metrics['pass@4'], 1);
  assert.equal(r.tasks.t2.metrics['pass@4'], 0);
  // Summary reward = mean(.375, .5, −.5, 1) = 1.375/4 = .34375.
  assert.equal(r.summary.reward.mean, 0.34375);
  assert.equal(r.summary.reward.method, 't');
  // exact = mean(2/4, 0, 1/4, 1) = 1.75/4 = .4375; format = mean(.75, 1, .25, 1) = .75.
  assert.equal(r.summary.exact.mean, 0.4375);
  assert.equal(r.summary.exact.method, 'wilson');
  assert.equal(r.summary.format_ok.mean, 0.75);
  // greedy = last word: right, close, right, right → reward (1 + .5 + 1 + 1)/4 = .875, exact 3/4.
  assert.equal(r.summary.greedy_reward.mean, 0.875);
  assert.equal(r.summary.greedy_exact.mean, 0.75);
  assert.deepEqual(Object.keys(r.summary), ['reward', 'exact', 'format_ok', 'pass@1', 'pass@2', 'pass@4', 'greedy_reward', 'greedy_exact', 'greedy_format_ok']);
  assert.equal(r.tasks.t3.samples[0].truncated, true);
  assert.equal(r.tasks.t3.samples[0].error, 'no blocks');
  assert.equal(r.tasks.t1.samples[1].completion, 'close');
  assert.equal(r.data.tasks, 4);
});

test('evaluateTasks: skipped tasks are listed and left out; duplicate ids refused; nothing left is an error', async () => {
  const tasks = [task('a'), task('b'), task('c')];
  const table = { a: ['right'], b: ['junk'], c: ['close'] };
  const r = await evaluateTasks(tasks, canned(table, ['b']), score, { k: 1 });
  assert.deepEqual(Object.keys(r.tasks).sort(), ['a', 'c']);
  assert.deepEqual(r.skipped, [{ id: 'b', reason: 'prompt too long' }]);
  await assert.rejects(evaluateTasks([task('a'), task('a')], canned(table), score, { k: 1 }), /appears twice/);
  await assert.rejects(evaluateTasks(tasks, canned(table, ['a', 'b', 'c']), score, { k: 1 }), UserError);
  await assert.rejects(evaluateTasks(tasks, canned(table), score, { k: 0, greedy: false }), /nothing to evaluate/);
});

test('evaluateTasks: each task gets its own seeded stream, independent of task order', async () => {
  const tasks = ['x', 'y', 'z'].map((id) => task(id));
  const words = ['right', 'close', 'junk'];
  const random: Sampler = {
    skipReason: () => null,
    async sample(_t, n, _g, rng) {
      const completions = Array.from({ length: n }, () => rng.pick(words));
      return { completions, truncated: completions.map(() => false) };
    },
  };
  const a = await evaluateTasks(tasks, random, score, { k: 6, seed: 7 });
  const b = await evaluateTasks(tasks.slice().reverse(), random, score, { k: 6, seed: 7 });
  const c = await evaluateTasks(tasks, random, score, { k: 6, seed: 8 });
  for (const id of ['x', 'y', 'z']) assert.deepEqual(a.tasks[id].samples, b.tasks[id].samples);
  assert.equal(a.taskSetHash, b.taskSetHash);
  assert.notDeepEqual(['x', 'y', 'z'].map((id) => a.tasks[id].samples), ['x', 'y', 'z'].map((id) => c.tasks[id].samples));
});

async function twoRuns() {
  const tasks = ['p', 'q', 'r', 's', 't'].map((id) => task(id));
  // B improves on every task: A's samples get one "right" fewer than B's.
  const aTable = { p: ['junk', 'close'], q: ['close', 'close'], r: ['junk', 'junk'], s: ['close', 'junk'], t: ['junk', 'close'] };
  const bTable = { p: ['right', 'close'], q: ['right', 'close'], r: ['right', 'junk'], s: ['right', 'junk'], t: ['right', 'close'] };
  const a = await evaluateTasks(tasks, canned(aTable), score, { k: 2 });
  const b = await evaluateTasks(tasks, canned(bTable), score, { k: 2 });
  return { tasks, a, b };
}

test('compare: paired differences per metric with verdicts', async () => {
  const { a, b } = await twoRuns();
  const c = compareEvals(a, b);
  assert.equal(c.shared, 5);
  const byName = Object.fromEntries(c.metrics.map((m) => [m.metric, m]));
  assert.deepEqual(c.metrics.map((m) => m.metric), ['reward', 'exact', 'format_ok', 'pass@1', 'pass@2']);
  // Per task, B's first sample goes from junk (−1) or close (.5) to right (1): reward +1 or +.25 over 2 samples.
  // A rewards: p −.25, q .5, r −1, s −.25, t −.25; B: p .75, q .75, r 0, s 0, t .75 → diffs 1, .25, 1, .25, 1.
  assert.ok(Math.abs(byName.reward.diff - 3.5 / 5) < 1e-12);
  assert.equal(byName.reward.verdict, 'B better');
  assert.equal(byName.exact.diff, 0.5); // every task: 0 → 1/2
  assert.equal(byName.exact.se, 0); // the same gain everywhere: no spread, so no t interval
  assert.equal(byName.exact.lo, null);
  // pass@2 goes 0 → 1 on each of the 5 tasks: the sign test's p = 2^−4 = 0.0625 is no evidence at 95 %.
  assert.equal(byName['pass@2'].verdict, 'no detectable difference');
  assert.equal(compareEvals(b, a).metrics[0].verdict, 'A better');
  const table = formatComparison(c).join('\n');
  assert.match(table, /reward\s+-?\d\.\d{3}\s+\d\.\d{3}\s+\+0\.700\s+\[\+0\.\d{3}, \+\d\.\d{3}\]\s+B better/);
  // A run compared with itself: no difference anywhere.
  for (const m of compareEvals(a, a).metrics) assert.equal(m.verdict, 'no detectable difference');
});

test('compare: refuses different task sets unless allowed, then pairs the shared ones', async () => {
  const { tasks, b } = await twoRuns();
  const table = { p: ['junk', 'close'], q: ['close', 'close'], r: ['junk', 'junk'], s: ['close', 'junk'], t: ['junk', 'close'], u: ['right', 'right'] };
  const fewer = await evaluateTasks([...tasks.slice(1), task('u')], canned(table), score, { k: 2 });
  assert.notEqual(fewer.taskSetHash, b.taskSetHash);
  assert.throws(() => compareEvals(fewer, b), (e: Error) => e instanceof UserError && /different task sets .*--allow-different-tasks/.test(e.message) && !e.message.includes('\n'));
  const c = compareEvals(fewer, b, { allowDifferentTasks: true });
  assert.deepEqual([c.shared, c.onlyA, c.onlyB], [4, 1, 1]);
  // Same id but changed content is not the same task.
  const edited = { ...tasks[0], text: 'something else' };
  const changed = await evaluateTasks([edited, ...tasks.slice(1)], canned(table), score, { k: 2 });
  assert.throws(() => compareEvals(changed, b), /different task sets/);
});

test('compare from files: --json output and the CLI refusal is one line, exit 1', async () => {
  const dir = tmp();
  const { a, b } = await twoRuns();
  const fewer = { ...b, tasks: Object.fromEntries(Object.entries(b.tasks).slice(1)) };
  writeJsonAtomic(path.join(dir, 'a.json'), a);
  writeJsonAtomic(path.join(dir, 'b.json'), b);
  writeJsonAtomic(path.join(dir, 'c.json'), fewer);
  const out: string[] = [];
  runCompare({ a: path.join(dir, 'a.json'), b: path.join(dir, 'b.json'), allowDifferentTasks: false, json: true, print: (s) => out.push(s) });
  const parsed = JSON.parse(out.join('\n'));
  assert.equal(parsed.metrics[0].metric, 'reward');
  assert.equal(parsed.metrics[0].verdict, 'B better');
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"hello": 1}');
  assert.throws(() => runCompare({ a: path.join(dir, 'bad.json'), b: path.join(dir, 'b.json'), allowDifferentTasks: false, json: false, print: () => {} }), /not an eval\.json/);

  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/pr-rl.js'), 'compare', ...args], { encoding: 'utf8', cwd: dir });
  const refused = cli('a.json', 'c.json');
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1);
  assert.match(refused.stderr, /^pr-rl: a\.json and c\.json were evaluated on different task sets \(5 vs 4 tasks, 4 the same\)/);
  const allowed = cli('a.json', 'c.json', '--allow-different-tasks');
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /paired over 4 tasks \(1 only in A, 0 only in B left out\)/);
  // A task entry without its metrics (a hand-made or damaged file) is the same one line, not a TypeError.
  fs.writeFileSync(path.join(dir, 'nom.json'), JSON.stringify({ format: 'pr-rl-eval/1', tasks: { x: { hash: 'a' } } }));
  const nom = cli('nom.json', 'nom.json');
  assert.equal(nom.status, 1);
  assert.equal(nom.stderr, 'pr-rl: nom.json: not an eval.json written by `pr-rl eval` (format pr-rl-eval/1; task "x" has no hash or metrics)\n');
  // Nor is a file without its summary (which report prints): it crashed report --eval with a TypeError.
  const task = { x: { hash: 'a', metrics: { reward: 1 } } };
  for (const [summary, why] of [[undefined, 'no "summary" object'], [{ reward: { n: 1, mean: 'high', lo: null, hi: null } }, 'summary "reward" has no mean or a bad interval']] as const) {
    fs.writeFileSync(path.join(dir, 'nosum.json'), JSON.stringify({ format: 'pr-rl-eval/1', tasks: task, summary }));
    const r = cli('nosum.json', 'nosum.json');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `pr-rl: nosum.json: not an eval.json written by \`pr-rl eval\` (format pr-rl-eval/1; ${why})\n`);
  }
  // Output to a closed pipe ends quietly; output that cannot be written is one line.
  const shell = (cmd: string) => spawnSync('bash', ['-c', cmd], { encoding: 'utf8', cwd: dir });
  for (let i = 0; i < 3; i++) {
    const piped = shell(`set -o pipefail; "${process.execPath}" "${path.join(ROOT, 'bin/pr-rl.js')}" compare a.json b.json | head -c 1 >/dev/null`);
    assert.equal(piped.stderr, '', piped.stderr);
  }
  if (fs.existsSync('/dev/full')) {
    const full = shell(`"${process.execPath}" "${path.join(ROOT, 'bin/pr-rl.js')}" compare a.json b.json --json > /dev/full`);
    assert.equal(full.status, 1);
    assert.match(full.stderr, /^pr-rl: cannot write to stdout \(.*ENOSPC.*\)\n$/);
  }
});

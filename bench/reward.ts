// Benchmark (run by hand: npm run bench:reward): reward throughput of src/rl/reward.ts against the
// Python reference bench/reward_difflib.py (SWE-RL's reward code on CPython's difflib) on the same
// inputs, in the same run, and a check that both give the same values (per-file similarities bit
// for bit; the mean to 1e-12, as Python sums over a set in hash order). Two workloads:
//   demo  — the embedded data/default tasks (≤ 5-line windows), completions as a policy writes them;
//   large — PR-sized edits (several hunks over 100–700 line real JS files from node_modules/diff).
// TS is timed cold (fresh task objects, so the oracle diff is recomputed as Python does) and warm
// (the per-task oracle cache a GRPO group of G completions hits). Env: PYTHON (default python3).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Rng } from '../src/util/rng.ts';
import type { Task } from '../src/data/task.ts';
import { oracleCompletion, searchReplaceBlocks, formatBlock } from '../src/data/prompt.ts';
import { reward, type RewardResult } from '../src/rl/reward.ts';

const python = process.env.PYTHON ?? 'python3';
const root = path.resolve(import.meta.dirname, '..');

interface Output {
  task: number;
  text: string;
}

/** Completions like a policy's: exact, one hunk wrong, one hunk missing, noisy, or malformed. */
function completionsFor(rng: Rng, task: Task, n: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const blocks: string[] = [];
    for (const c of task.changes) {
      for (const b of searchReplaceBlocks(c.old ?? '', c.new ?? '')) {
        const roll = rng.next();
        if (roll < 0.15) continue; // hunk missed
        let replace = b.replace;
        if (roll < 0.5) {
          const lines = replace.split('\n');
          const i = rng.int(lines.length);
          lines[i] = rng.next() < 0.5 ? lines[i].replace(/[a-z]/, 'q') : lines[i] + ' // fixed';
          replace = lines.join('\n');
        }
        if (replace !== b.search) blocks.push(formatBlock(c.path, b.search, replace));
      }
    }
    let text = `<think>\nlook at the code\n</think>\n<solution>\n${blocks.join('\n')}\n</solution>`;
    const r = rng.next();
    if (r < 0.08) text = text.replace('=======', '=====');
    else if (r < 0.12) text = text.replace('<think>\nlook at the code\n', '<think>');
    else if (r < 0.3) text = oracleCompletion(task);
    out.push(text);
  }
  return out;
}

function demoWorkload(rng: Rng): { tasks: Task[]; outputs: Output[] } {
  const file = path.join(root, 'data/default/train.jsonl');
  const tasks = fs.readFileSync(file, 'utf8').trim().split('\n').slice(0, 300).map((l) => JSON.parse(l) as Task);
  const outputs: Output[] = [];
  tasks.forEach((t, i) => completionsFor(rng, t, 4).forEach((text) => outputs.push({ task: i, text })));
  return { tasks, outputs };
}

function largeWorkload(rng: Rng): { tasks: Task[]; outputs: Output[] } {
  const dir = path.join(root, 'node_modules/diff/libesm');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const full = path.join(d, name);
      if (fs.statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.js')) files.push(full);
    }
  };
  walk(dir);
  const texts = files.map((f) => fs.readFileSync(f, 'utf8')).filter((t) => t.split('\n').length >= 100);
  const tasks: Task[] = [];
  for (let k = 0; k < 24; k++) {
    const changes: Task['changes'] = [];
    for (let f = 0; f < 1 + rng.int(2); f++) {
      const old = rng.pick(texts);
      const lines = old.split('\n');
      for (let h = 0; h < 2 + rng.int(4); h++) {
        const i = rng.int(lines.length);
        const op = rng.next();
        if (op < 0.4) lines[i] = lines[i].replace(/\b(\w+)\b/, '$1Next');
        else if (op < 0.7) lines.splice(i, 0, '    if (!value) { return undefined; }', '    count += 1;');
        else lines.splice(i, 1 + rng.int(3));
      }
      changes.push({ path: `lib/f${f}.js`, old, new: lines.join('\n') });
    }
    tasks.push({ id: `large-${k}`, repo: 'bench', base: '0', source: 'synthetic', text: 'change it', changes, context: [], stats: { added: 0, removed: 0, files: changes.length, hunks: 0, promptTokens: 0, language: 'javascript' } });
  }
  const outputs: Output[] = [];
  tasks.forEach((t, i) => completionsFor(rng, t, 4).forEach((text) => outputs.push({ task: i, text })));
  return { tasks, outputs };
}

/** Fastest of `repeat` passes over all outputs (the machine may be shared; the minimum is the cost). */
function timeTs(tasks: Task[], outputs: Output[], repeat: number, cold: boolean): { seconds: number; results: RewardResult[] } {
  let results: RewardResult[] = outputs.map((o) => reward(structuredClone(tasks[o.task]), o.text)); // JIT warm-up
  let seconds = Infinity;
  for (let r = 0; r < repeat; r++) {
    const own = cold ? outputs.map((o) => structuredClone(tasks[o.task])) : outputs.map((o) => tasks[o.task]);
    const t0 = performance.now();
    results = outputs.map((o, i) => reward(own[i], o.text));
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
  }
  return { seconds, results };
}

function timePython(tasks: Task[], outputs: Output[], repeat: number): { seconds: number; results: { reward: number; formatOk: boolean; exact: boolean; files: { path: string; similarity: number }[] }[] } {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prrl-bench-')), 'inputs.json');
  fs.writeFileSync(tmp, JSON.stringify({ tasks, outputs, repeat }));
  const p = spawnSync(python, [path.join(root, 'bench/reward_difflib.py'), tmp], { encoding: 'utf8', maxBuffer: 1 << 30 });
  fs.rmSync(path.dirname(tmp), { recursive: true });
  if (p.status !== 0) throw new Error(`${python} bench/reward_difflib.py failed: ${p.stderr || p.error}`);
  return JSON.parse(p.stdout);
}

function run(name: string, w: { tasks: Task[]; outputs: Output[] }, repeat: number): boolean {
  // TS before and after Python, so a burst of load elsewhere cannot favour one side.
  const cold1 = timeTs(w.tasks, w.outputs, repeat, true);
  const py = timePython(w.tasks, w.outputs, repeat);
  const cold2 = timeTs(w.tasks, w.outputs, repeat, true);
  const cold = cold1.seconds <= cold2.seconds ? cold1 : cold2;
  const warm = timeTs(w.tasks, w.outputs, repeat * 2, false);
  let mismatches = 0;
  let maxDiff = 0;
  py.results.forEach((p, i) => {
    const t = cold.results[i];
    const simsT = new Map(t.files.map((f) => [f.path, f.similarity]));
    const same = p.formatOk === t.formatOk && p.exact === t.exact && p.files.length === t.files.length && p.files.every((f) => simsT.get(f.path) === f.similarity);
    maxDiff = Math.max(maxDiff, Math.abs(p.reward - t.reward));
    if (!same || Math.abs(p.reward - t.reward) > 1e-12) mismatches++;
  });
  const n = w.outputs.length;
  const valid = cold.results.filter((r) => r.formatOk).length / w.outputs.length;
  const mean = cold.results.reduce((s, r) => s + r.reward, 0) / w.outputs.length;
  const rate = (s: number) => `${Math.round(n / s).toLocaleString('en-US')}/s`;
  console.log(`${name}: ${w.tasks.length} tasks, ${w.outputs.length} outputs, best of ${repeat} passes (format-valid ${(100 * valid).toFixed(0)}%, mean reward ${mean.toFixed(3)})`);
  console.log(`  python difflib (SWE-RL)  ${py.seconds.toFixed(3)} s  ${rate(py.seconds)}`);
  console.log(`  pr-rl cold               ${cold.seconds.toFixed(3)} s  ${rate(cold.seconds)}  ${(py.seconds / cold.seconds).toFixed(1)}× python`);
  console.log(`  pr-rl warm (oracle cache) ${warm.seconds.toFixed(3)} s  ${rate(warm.seconds)}  ${(py.seconds / warm.seconds).toFixed(1)}× python`);
  console.log(`  values: ${mismatches === 0 ? 'identical' : `${mismatches} MISMATCHES`} (per-file similarity bit-equal; max |Δ mean| ${maxDiff.toExponential(1)})`);
  return mismatches === 0;
}

const rng = new Rng(2025);
const okDemo = run('demo', demoWorkload(rng), 3);
const okLarge = run('large', largeWorkload(rng), 3);
if (!okDemo || !okLarge) process.exit(1);

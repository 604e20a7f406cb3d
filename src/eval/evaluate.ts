// Held-out evaluation: k sampled (and optionally one greedy) completions per task, scored by the
// reward, summarised per metric with 95 % intervals over tasks (formulas in stats.ts), and written to
// eval.json with per-task results so `pr-rl compare` can pair two runs task by task.
// The core (evaluateTasks) takes a Sampler and a score function, so it runs without a model in tests;
// `evaluate` wires the real ones (buildPrompt → generate → reward). Comparing lives in compare.ts.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS, ENGINES, kebab, MAX_GROUP, REWARD_MODES, REWARD_RANGE, seqLimit, type BackendKind, type Engine, type RewardMode } from '../config.ts';
import { readTasks, taskSize, type Task } from '../data/task.ts';
import { openModel, resolveModelDir } from '../model/open.ts';
import type { Transformer } from '../model/transformer.ts';
import type { Tokenizer } from '../tokenizer/load.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic, checkOutputFile, probeWritable } from '../util/fsx.ts';
import { Progress, fmtDuration } from '../util/progress.ts';
import { Rng } from '../util/rng.ts';
import { meanCI, passAtK, proportionCI, type Interval } from './stats.ts';

export interface EvalConfig {
  /** Sampled completions per task at `temperature` (0 = none); pass@k uses these. */
  k: number;
  /** Sampling temperature of the k samples. */
  temperature: number;
  /** Nucleus threshold of the k samples (1 = off). */
  topP: number;
  /** Top-k filter of the k samples (0 = off). */
  topK: number;
  /** Also score one greedy (argmax) completion per task: the greedy_* metrics. */
  greedy: boolean;
  /** Completion budget in tokens. */
  maxNewTokens: number;
  /** Seed of the sampling; each task's stream derives from it and the task id, so order does not matter. */
  seed: number;
  /** tfjs backend. */
  backend: BackendKind;
  /** Longest prompt + completion in tokens; longer tasks are skipped and listed (0 = the model's limit). */
  maxSeqLen: number;
  /** Score with SEARCH/REPLACE edits or whole new files (use what the model was trained with). */
  rewardMode: RewardMode;
  /** Evaluate only the first N tasks of the file (0 = all). */
  limit: number;
  /** Sampler: tfjs on the backend, or onnx (onnxruntime-node's CPU kernels, same tokens up to float rounding). */
  engine: Engine;
}

export const EVAL_DEFAULTS: EvalConfig = {
  k: 4,
  temperature: 0.7,
  topP: 1,
  topK: 0,
  greedy: false,
  maxNewTokens: 96,
  seed: 1,
  backend: 'auto',
  maxSeqLen: 0,
  rewardMode: 'search_replace',
  limit: 0,
  engine: 'tfjs',
};

export function resolveEvalConfig(partial: Partial<EvalConfig>): Readonly<EvalConfig> {
  const c = { ...EVAL_DEFAULTS } as EvalConfig;
  for (const [key, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(key in EVAL_DEFAULTS)) throw new UserError(`eval: unknown setting "${key}"`);
    (c as unknown as Record<string, unknown>)[key] = v;
  }
  const bad = (key: keyof EvalConfig, what: string) => new UserError(`eval: --${kebab(key)} ${what} (got ${JSON.stringify(c[key])})`);
  const isInt = (x: number, min: number) => Number.isInteger(x) && x >= min;
  if (!isInt(c.k, 0) || c.k > MAX_GROUP) throw bad('k', `must be an integer in [0, ${MAX_GROUP}]`);
  if (c.k === 0 && !c.greedy) throw bad('k', 'is 0 and --greedy is off: nothing to evaluate; give --k ≥ 1 or --greedy');
  if (!(c.temperature > 0 && isFinite(c.temperature))) throw bad('temperature', 'must be > 0 (use --greedy for argmax decoding)');
  if (!(c.topP > 0 && c.topP <= 1)) throw bad('topP', 'must be in (0, 1]');
  if (!isInt(c.topK, 0)) throw bad('topK', 'must be an integer ≥ 0');
  if (typeof c.greedy !== 'boolean') throw bad('greedy', 'must be true or false');
  if (!isInt(c.maxNewTokens, 1)) throw bad('maxNewTokens', 'must be an integer ≥ 1');
  if (!(isInt(c.seed, 0) && c.seed < 2 ** 32)) throw bad('seed', 'must be an integer in [0, 2^32)');
  if (!BACKENDS.includes(c.backend)) throw bad('backend', `must be one of ${BACKENDS.join('|')}`);
  if (!ENGINES.includes(c.engine)) throw bad('engine', `must be one of ${ENGINES.join('|')}`);
  if (!isInt(c.maxSeqLen, 0)) throw bad('maxSeqLen', 'must be an integer ≥ 0');
  if (!REWARD_MODES.includes(c.rewardMode)) throw bad('rewardMode', `must be one of ${REWARD_MODES.join('|')}`);
  if (!isInt(c.limit, 0)) throw bad('limit', 'must be an integer ≥ 0');
  return Object.freeze(c);
}

/** Produces completions; the real one runs the model, tests use canned text. */
export interface Sampler {
  /** Why `task` cannot be evaluated (e.g. its prompt is too long), or null when it can. */
  skipReason(task: Task): string | null;
  /** n completions for `task`: argmax decoding when `greedy`, else sampling with the config's temperature. */
  sample(task: Task, n: number, greedy: boolean, rng: Rng): Promise<{ completions: string[]; truncated: boolean[] }>;
  /** Frees what the sampler holds (an onnxruntime session). */
  close?(): Promise<void>;
}

export interface Score {
  reward: number;
  formatOk: boolean;
  exact: boolean;
  error?: string;
}
export type ScoreFn = (task: Task, completion: string) => Score;

export interface SampleResult extends Score {
  truncated: boolean;
  completion: string;
}

export interface TaskResult {
  /** Content hash of the task (text, changes, context): a paired comparison needs the same task. */
  hash: string;
  /** Changed lines (the curriculum's size). */
  size: number;
  /** Per-task values, one per metric; the summary averages these over tasks. */
  metrics: Record<string, number>;
  /** pass@k inputs: sampled completions and how many of them were an exact match. */
  n: number;
  c: number;
  samples: SampleResult[];
  greedy?: SampleResult;
}

export interface EvalResult {
  format: 'pr-rl-eval/1';
  created: string;
  model: string;
  data: { file: string; tasks: number };
  config: EvalConfig;
  /** Hash of the scored tasks' ids and content hashes: equal hashes ⇔ the same task set. */
  taskSetHash: string;
  /** Metric name → mean over tasks with its 95 % interval. */
  summary: Record<string, Interval>;
  tasks: Record<string, TaskResult>;
  skipped: { id: string; reason: string }[];
  seconds: number;
}

/** pass@k values reported for n samples: 1, then powers of two, then n itself. */
export function passKs(n: number): number[] {
  const ks: number[] = [];
  for (let k = 1; k < n; k *= 2) ks.push(k);
  if (n >= 1) ks.push(n);
  return ks;
}

export function taskHash(t: Task): string {
  return createHash('sha256').update(JSON.stringify([t.text, t.changes, t.context])).digest('hex').slice(0, 16);
}

export function taskSetHash(tasks: Record<string, { hash: string }>): string {
  const h = createHash('sha256');
  for (const id of Object.keys(tasks).sort()) h.update(`${id}\0${tasks[id].hash}\n`);
  return h.digest('hex').slice(0, 16);
}

/** FNV-1a of the task id, mixed with the seed: each task gets its own reproducible sampling stream. */
function taskRng(seed: number, id: string): Rng {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng((h ^ seed) >>> 0);
}

const mean01 = (xs: boolean[]) => (xs.length ? xs.filter(Boolean).length / xs.length : 0);

/** Scores every task with `sampler` and `score`; the model-free core of `evaluate`. */
export async function evaluateTasks(
  tasks: readonly Task[], sampler: Sampler, score: ScoreFn, config: Partial<EvalConfig>,
  meta: { model?: string; dataFile?: string; log?: (line: string) => void } = {},
): Promise<EvalResult> {
  const cfg = resolveEvalConfig(config);
  const t0 = Date.now();
  const seen = new Set<string>();
  for (const t of tasks) {
    if (seen.has(t.id)) throw new UserError(`${meta.dataFile ?? 'eval'}: task id "${t.id}" appears twice; ids must be unique to pair evaluations`);
    seen.add(t.id);
  }
  const results: Record<string, TaskResult> = {};
  const skipped: { id: string; reason: string }[] = [];
  const progress = new Progress('eval', tasks.length);
  const scoreAll = (task: Task, out: { completions: string[]; truncated: boolean[] }): SampleResult[] =>
    out.completions.map((completion, i) => {
      const s = score(task, completion);
      return { reward: s.reward, formatOk: s.formatOk, exact: s.exact, ...(s.error ? { error: s.error } : {}), truncated: !!out.truncated[i], completion };
    });

  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    const why = sampler.skipReason(task);
    if (why) {
      skipped.push({ id: task.id, reason: why });
      continue;
    }
    const rng = taskRng(cfg.seed, task.id);
    const samples = cfg.k > 0 ? scoreAll(task, await sampler.sample(task, cfg.k, false, rng)) : [];
    const greedy = cfg.greedy ? scoreAll(task, await sampler.sample(task, 1, true, rng))[0] : undefined;
    const c = samples.filter((s) => s.exact).length;
    const metrics: Record<string, number> = {};
    if (samples.length) {
      metrics.reward = samples.reduce((a, s) => a + s.reward, 0) / samples.length;
      metrics.exact = mean01(samples.map((s) => s.exact));
      metrics.format_ok = mean01(samples.map((s) => s.formatOk));
      for (const k of passKs(samples.length)) metrics[`pass@${k}`] = passAtK(samples.length, c, k);
    }
    if (greedy) {
      metrics.greedy_reward = greedy.reward;
      metrics.greedy_exact = greedy.exact ? 1 : 0;
      metrics.greedy_format_ok = greedy.formatOk ? 1 : 0;
    }
    results[task.id] = { hash: taskHash(task), size: taskSize(task), metrics, n: samples.length, c, samples, ...(greedy ? { greedy } : {}) };
    progress.tick(i + 1);
  }
  progress.done();

  const ids = Object.keys(results);
  if (ids.length === 0)
    throw new UserError(`eval: none of the ${tasks.length} tasks could be evaluated: ${skipped[0]?.reason ?? 'no tasks'}`);
  const summary: Record<string, Interval> = {};
  for (const name of Object.keys(results[ids[0]].metrics)) {
    const xs = ids.map((id) => results[id].metrics[name]);
    summary[name] = name === 'reward' || name === 'greedy_reward' ? meanCI(xs, REWARD_RANGE) : proportionCI(xs);
  }
  const seconds = (Date.now() - t0) / 1000;
  meta.log?.(`eval: ${ids.length} tasks scored${skipped.length ? `, ${skipped.length} skipped (${skipped[0].reason})` : ''} in ${fmtDuration(seconds)}`);
  return {
    format: 'pr-rl-eval/1', created: new Date().toISOString(), model: meta.model ?? '', data: { file: meta.dataFile ?? '', tasks: tasks.length },
    config: { ...cfg }, taskSetHash: taskSetHash(results), summary, tasks: results, skipped, seconds,
  };
}

/** The real sampler: [bos, …buildPrompt(task)] → generate() → decode. */
export async function modelSampler(model: Transformer, tokenizer: Tokenizer, config: Partial<EvalConfig>): Promise<Sampler> {
  const cfg = resolveEvalConfig(config);
  const { buildPrompt } = await import('../data/prompt.ts');
  const { openSampler } = await import('../model/engine.ts');
  const policy = await openSampler(model, cfg.engine);
  const lim = seqLimit(cfg.maxSeqLen, model.config.max_position_embeddings);
  const limit = lim.len;
  const prompts = new Map<string, number[]>();
  const promptOf = (task: Task) => {
    let p = prompts.get(task.id);
    if (!p) prompts.set(task.id, (p = [tokenizer.bosId, ...tokenizer.encode(buildPrompt(task, { mode: cfg.rewardMode }))]));
    return p;
  };
  return {
    skipReason(task) {
      const len = promptOf(task).length;
      return len + cfg.maxNewTokens > limit ? `prompt of ${len} tokens + ${cfg.maxNewTokens} new exceeds ${lim.name}; ${lim.raise}, lower --max-new-tokens or use smaller tasks` : null;
    },
    async sample(task, n, greedy, rng) {
      const prompt = promptOf(task);
      const out = await policy.generate(Array.from({ length: n }, () => prompt), {
        maxNewTokens: cfg.maxNewTokens, temperature: greedy ? 0 : cfg.temperature, topP: greedy ? 1 : cfg.topP,
        topK: greedy ? 0 : cfg.topK, stopTokens: [tokenizer.eosId], rng,
      });
      return { completions: out.tokens.map((ids: number[]) => tokenizer.decode(ids)), truncated: out.truncated };
    },
    close: () => policy.release(),
  };
}

/** Evaluates a loaded model on `tasks` with the real sampler and reward. */
export async function evaluate(
  model: Transformer, tokenizer: Tokenizer, tasks: readonly Task[], config: Partial<EvalConfig>,
  meta: { model?: string; dataFile?: string; log?: (line: string) => void } = {},
): Promise<EvalResult> {
  const cfg = resolveEvalConfig(config);
  const { reward } = await import('../rl/reward.ts');
  const sampler = await modelSampler(model, tokenizer, cfg);
  try {
    return await evaluateTasks(tasks, sampler, (task, completion) => reward(task, completion, { mode: cfg.rewardMode }), cfg, meta);
  } finally {
    await sampler.close?.();
  }
}

/** `pr-rl eval`: load the model and tasks, evaluate, write eval.json, print the summary. */
export async function runEval(opts: { model: string; data: string; out: string; config: Partial<EvalConfig>; log?: (line: string) => void }): Promise<EvalResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const cfg = resolveEvalConfig(opts.config);
  checkOutputFile(opts.out, { '--data': opts.data });
  const ref = await resolveModelDir(opts.model, log);
  // Inside the model or run it reads: a new file, or an earlier eval.json, never one of their own files.
  const evalFileOrNew = (f: string) => {
    if (!fs.existsSync(f)) return true;
    const head = Buffer.alloc(200);
    const fd = fs.openSync(f, 'r');
    try { return /"format":\s*"pr-rl-eval\/1"/.test(head.toString('utf8', 0, fs.readSync(fd, head, 0, 200, 0))); } finally { fs.closeSync(fd); }
  };
  checkOutputFile(opts.out, {}, [[opts.model, 'the --model folder', evalFileOrNew], [ref.dir, 'the model folder', evalFileOrNew]]);
  let tasks = await readTasks(opts.data);
  if (tasks.length === 0) throw new UserError(`${opts.data}: no tasks`);
  if (cfg.limit > 0) tasks = tasks.slice(0, cfg.limit);
  const { initBackend } = await import('../model/backend.ts');
  await initBackend(cfg.backend, log);
  const { model, tokenizer } = await openModel(ref);
  try {
    probeWritable(opts.out); // before the sampling, which can take hours
    const result = await evaluate(model, tokenizer, tasks, cfg, { model: ref.dir, dataFile: opts.data, log });
    writeJsonAtomic(opts.out, result);
    for (const line of formatSummary(result)) log(line);
    log(`eval: wrote ${opts.out}`);
    return result;
  } finally {
    model.dispose();
  }
}

/** One line per metric: `reward        0.312  [0.201, 0.423]  (t, n=32)`. */
export function formatSummary(r: Pick<EvalResult, 'summary'>): string[] {
  const f = (x: number | null) => (x === null ? '   –  ' : x.toFixed(3).padStart(6));
  return Object.entries(r.summary).map(([name, iv]) =>
    `${name.padEnd(17)} ${f(iv.mean)}  95% CI [${f(iv.lo)}, ${f(iv.hi)}]  (${iv.method}, n=${iv.n})`);
}

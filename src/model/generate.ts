// `pr-rl generate`: one completion from a model folder for a task (a tasks.jsonl line, a task id in a
// data file) or raw text. It resolves what the user pointed at and wires prompt → sampler → text;
// prompts come from data/prompt.ts, sampling from sample.ts (or onnx.ts), the backend from backend.ts.

import * as fs from 'node:fs';
import { BACKENDS, ENGINES, REWARD_MODES, type BackendKind, type Engine, type RewardMode } from '../config.ts';
import { readTasks, validateTask, type Task } from '../data/task.ts';
import { UserError } from '../util/errors.ts';
import { openModel, resolveModelDir } from './open.ts';
import { Rng } from '../util/rng.ts';
import { forEachLine } from '../util/fsx.ts';

export interface GenerateConfig {
  /** Most tokens to generate (stops earlier at eos). */
  maxNewTokens: number;
  /** Sampling temperature; 0 = greedy. */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens with this much probability (1 = off). */
  topP: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
  /** Seed for sampling. */
  seed: number;
  /** tfjs backend: auto = webgpu if a real GPU adapter exists, else wasm. */
  backend: BackendKind;
  /** Sampler: tfjs (sample.ts, on the backend) or onnx (onnx.ts: onnxruntime CPU, all cores). */
  engine: Engine;
  /** The answer format the task's prompt asks for (a task's prompt only): what the model was trained with. */
  rewardMode: RewardMode;
}

export const GENERATE_DEFAULTS: GenerateConfig = { maxNewTokens: 256, temperature: 0, topP: 1, topK: 0, seed: 0, backend: 'auto', engine: 'tfjs', rewardMode: 'search_replace' };

export function resolveGenerateConfig(partial: Partial<GenerateConfig>): Readonly<GenerateConfig> {
  const c = { ...GENERATE_DEFAULTS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as GenerateConfig;
  const need = (ok: boolean, flag: string, what: string, v: unknown) => {
    if (!ok) throw new UserError(`generate: --${flag} ${what} (got ${JSON.stringify(v)})`);
  };
  need(Number.isInteger(c.maxNewTokens) && c.maxNewTokens >= 1, 'max-new-tokens', 'must be an integer ≥ 1', c.maxNewTokens);
  need(typeof c.temperature === 'number' && c.temperature >= 0 && isFinite(c.temperature), 'temperature', 'must be a number ≥ 0', c.temperature);
  need(typeof c.topP === 'number' && c.topP > 0 && c.topP <= 1, 'top-p', 'must be in (0, 1]', c.topP);
  need(Number.isInteger(c.topK) && c.topK >= 0, 'top-k', 'must be an integer ≥ 0', c.topK);
  need(Number.isInteger(c.seed) && c.seed >= 0 && c.seed < 2 ** 32, 'seed', 'must be an integer in [0, 2^32)', c.seed);
  need(BACKENDS.includes(c.backend), 'backend', `must be one of ${BACKENDS.join('|')}`, c.backend);
  need(ENGINES.includes(c.engine), 'engine', `must be one of ${ENGINES.join('|')}`, c.engine);
  need(REWARD_MODES.includes(c.rewardMode), 'reward-mode', `must be one of ${REWARD_MODES.join('|')}`, c.rewardMode);
  return Object.freeze(c);
}

/**
 * What `--task` names: "file.jsonl:N" (line N, 1-based) → that task; with `data`, a task id in that
 * file; otherwise the text itself, used as the prompt as is.
 */
export async function resolveTaskRef(ref: string, data?: string): Promise<{ task: Task } | { text: string }> {
  const m = /^(.+\.jsonl):(\d+)$/.exec(ref);
  if (m) {
    const [, file, n] = m;
    if (!fs.existsSync(file)) throw new UserError(`--task ${ref}: ${file}: no such file`);
    const line = Number(n);
    let text = '';
    let records = 0;
    forEachLine(file, (l, k) => {
      if (l.trim()) records++;
      if (k === line) text = l.trim(); // a BOM and a CR go with the white space
    });
    if (!text) throw new UserError(`--task ${ref}: ${file} has no task on line ${line} (${records} records)`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UserError(`${file}:${line}: not valid JSON`);
    }
    return { task: validateTask(json, `${file}:${line}`) };
  }
  if (data !== undefined) {
    const tasks = await readTasks(data);
    const task = tasks.find((t) => t.id === ref);
    if (!task) throw new UserError(`--task ${ref}: no task with that id in ${data} (${tasks.length} tasks; ids look like "${tasks[0]?.id ?? '…'}")`);
    return { task };
  }
  return { text: ref };
}

export interface GenerateResult {
  prompt: string;
  completion: string;
  promptTokens: number;
  newTokens: number;
  /** True when it stopped at maxNewTokens (or the context length) rather than at eos. */
  truncated: boolean;
  seconds: number;
}

/** Loads the model, builds the prompt ([bos, …prompt]) and samples one completion. */
export async function runGenerate(opts: { model: string; task: string; data?: string; config: Partial<GenerateConfig>; log?: (line: string) => void }): Promise<GenerateResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const cfg = resolveGenerateConfig(opts.config);
  const what = await resolveTaskRef(opts.task, opts.data);
  // One word with a task id's marks ("repo@sha", "repo#synth-…") is more likely an id than a prompt.
  if ('text' in what && /^\S+[@#]\S+$/.test(opts.task)) log(`generate: --task "${opts.task}" is used as the prompt text; to look it up as a task id, give --data <tasks.jsonl>`);
  const prompt = 'task' in what ? (await import('../data/prompt.ts')).buildPrompt(what.task, { mode: cfg.rewardMode }) : what.text;
  const { initBackend } = await import('./backend.ts');
  await initBackend(cfg.backend, log);
  const { openSampler } = await import('./engine.ts');
  const { model, tokenizer } = await openModel(await resolveModelDir(opts.model, log));
  try {
    const ids = [tokenizer.bosId, ...tokenizer.encode(prompt)];
    const context = model.config.max_position_embeddings;
    if (ids.length >= context) throw new UserError(`the prompt has ${ids.length} tokens but the model's context is ${context} (max_position_embeddings); use a smaller task`);
    const maxNewTokens = Math.min(cfg.maxNewTokens, context - ids.length);
    if (maxNewTokens < cfg.maxNewTokens) log(`generate: only ${maxNewTokens} new tokens fit in the ${context}-token context after the ${ids.length}-token prompt`);
    const sampling = { maxNewTokens, temperature: cfg.temperature, topP: cfg.topP, topK: cfg.topK, stopTokens: [tokenizer.eosId], rng: new Rng(cfg.seed) };
    const sampler = await openSampler(model, cfg.engine);
    let out;
    const t0 = performance.now(); // after the onnx export and session start, which are not sampling
    try {
      out = await sampler.generate([ids], sampling);
    } finally {
      await sampler.release();
    }
    const seconds = (performance.now() - t0) / 1000;
    return { prompt, completion: tokenizer.decode(out.tokens[0]), promptTokens: ids.length, newTokens: out.tokens[0].length, truncated: out.truncated[0], seconds };
  } finally {
    model.dispose();
  }
}

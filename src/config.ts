// Typed run configs for `pr-rl sft` and `pr-rl train`: one interface each, a DEFAULTS object with a
// comment per field, and a resolve function that validates a partial config (from CLI flags or a
// checkpoint) and returns a frozen result. The resolved config is saved into every checkpoint.
// CLI flags map 1:1 to these fields (camelCase field = kebab-case flag).

import { UserError } from './util/errors.ts';
import type { LossType } from './rl/grpo.ts';

/** tfjs backends (model/backend.ts): auto = webgpu if a real GPU adapter exists, else wasm. */
export const BACKENDS = ['auto', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendKind = (typeof BACKENDS)[number];
export type CurriculumKind = 'size' | 'files' | 'tokens' | 'random' | 'adaptive' | 'none';
export type PacingKind = 'linear' | 'root' | 'step';
/** Answer formats (data/prompt.ts, rl/reward.ts): SWE-RL SEARCH/REPLACE edits, or whole new files. */
export const REWARD_MODES = ['search_replace', 'whole_file'] as const;
export type RewardMode = (typeof REWARD_MODES)[number];
/** The values a reward can take (rl/reward.ts: −1 on a format error, else in [0, 1]); eval's intervals use it. */
export const REWARD_RANGE: readonly [number, number] = [-1, 1];
/** Engines (model/engine.ts, model/onnxtrain.ts): tfjs on the backend, or onnxruntime-node on the CPU. */
export const ENGINES = ['tfjs', 'onnx'] as const;
export type Engine = (typeof ENGINES)[number];

/** Settings shared by every command that runs the policy. */
export interface RunConfig {
  /** tfjs backend: auto = webgpu if a real GPU adapter exists, else wasm. */
  backend: BackendKind;
  /** Seed for data order, initialisation and sampling. */
  seed: number;
  /** Longest sequence (prompt + completion) in tokens; longer tasks are skipped and counted. */
  maxSeqLen: number;
}

export interface SftConfig extends RunConfig {
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step. */
  batchSize: number;
  /** Peak learning rate (AdamW). */
  lr: number;
  /** Learning-rate schedule after warm-up. */
  schedule: 'cosine' | 'linear' | 'constant';
  /** Linear warm-up steps. */
  warmup: number;
  /** Final LR as a fraction of the peak (cosine/linear). */
  minLrFrac: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Gradient clipping by global norm (0 = off). */
  maxGradNorm: number;
  /** Write the model folder every N steps (0 = only at the end). */
  saveEvery: number;
  /** Answer format to learn: SEARCH/REPLACE edits or whole new files (train and eval with the same). */
  rewardMode: RewardMode;
  /** Gradients from tfjs on the backend, or from onnxruntime-node (onnxtrain.ts's graph, on the CPU). */
  engine: Engine;
}

export const SFT_DEFAULTS: SftConfig = {
  backend: 'auto',
  seed: 1,
  maxSeqLen: 384,
  steps: 300,
  batchSize: 16,
  lr: 2e-3,
  schedule: 'cosine',
  warmup: 20,
  minLrFrac: 0.1,
  weightDecay: 0.01,
  maxGradNorm: 1.0,
  saveEvery: 100,
  rewardMode: 'search_replace',
  engine: 'tfjs',
};

export interface TrainConfig extends RunConfig {
  /** Order in which training tasks become available. */
  curriculum: CurriculumKind;
  /** How fast the curriculum opens up (fraction of sorted tasks available at progress p). */
  pacing: PacingKind;
  /** Fraction of the sorted tasks available at step 0. */
  pacingStart: number;
  /** Completions sampled per prompt (G). */
  groupSize: number;
  /** Prompts per optimizer step. */
  promptsPerStep: number;
  /** GRPO steps. */
  steps: number;
  /** Learning rate (AdamW, constant after warm-up). */
  lr: number;
  /** Linear warm-up steps. */
  warmup: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Gradient clipping by global norm (0 = off). */
  maxGradNorm: number;
  /** KL weight to the frozen reference policy (0 = no reference model kept). */
  beta: number;
  /** Lower clip of the importance ratio (1 − clipLow). */
  clipLow: number;
  /** Upper clip of the importance ratio (1 + clipHigh); DAPO's clip-higher. */
  clipHigh: number;
  /** Loss aggregation. */
  loss: LossType;
  /** Divide advantages by the group's reward std (false = Dr. GRPO). */
  scaleStd: boolean;
  /** Optimisation passes over each batch of rollouts (μ). */
  mu: number;
  /** Give truncated completions no gradient. */
  maskTruncated: boolean;
  /** Sampling temperature for rollouts. */
  temperature: number;
  /** Nucleus sampling threshold (1 = off). */
  topP: number;
  /** Top-k sampling (0 = off). */
  topK: number;
  /** Completion budget in tokens. */
  maxNewTokens: number;
  /** Reward: SEARCH/REPLACE edits or whole new files. */
  rewardMode: RewardMode;
  /** Gradients and rollouts: tfjs on the backend, or onnx (onnxruntime-node on the CPU; the sampler re-exports the weights each step). */
  engine: Engine;
  /** Evaluate on held-out tasks every N steps (0 = never). */
  evalEvery: number;
  /** Held-out tasks used by the periodic evaluation. */
  evalTasks: number;
  /** Checkpoint every N steps (and on SIGINT/SIGTERM). */
  ckptEvery: number;
  /** Complete checkpoints kept. */
  keepLast: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  backend: 'auto',
  seed: 1,
  maxSeqLen: 384,
  curriculum: 'size',
  pacing: 'linear',
  pacingStart: 0.25,
  groupSize: 8,
  promptsPerStep: 8,
  steps: 60,
  lr: 3e-4,
  warmup: 5,
  weightDecay: 0.0,
  maxGradNorm: 1.0,
  beta: 0.0,
  clipLow: 0.2,
  clipHigh: 0.28,
  loss: 'dapo',
  scaleStd: true,
  mu: 1,
  // Kept in the loss (with their −1): masking them let a demo run drift to 97 % truncated rollouts.
  maskTruncated: false,
  temperature: 1.0,
  topP: 1.0,
  topK: 0,
  maxNewTokens: 96,
  rewardMode: 'search_replace',
  engine: 'tfjs',
  evalEvery: 20,
  evalTasks: 32,
  ckptEvery: 10,
  keepLast: 3,
};

type Rule<T> = { [K in keyof T]?: (v: T[K]) => string | undefined };

const oneOf = (xs: readonly string[]) => (v: unknown) => (xs.includes(v as string) ? undefined : `must be one of ${xs.join('|')}`);
const range = (min: number, max: number) => (max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`);
const int = (min: number, max = Infinity) => (v: unknown) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `must be an integer ${range(min, max)}`;
const num = (min: number, max = Infinity) => (v: unknown) =>
  typeof v === 'number' && isFinite(v) && v >= min && v <= max ? undefined : `must be a number ${range(min, max)}`;
/** Most completions a step samples per prompt, or prompts per step: beyond it a step's batch cannot be held anyway. */
export const MAX_GROUP = 1024;
const bool = (v: unknown) => (typeof v === 'boolean' ? undefined : 'must be true or false');
/** The rules' checks, for settings named by other flags (the demo's): each says what is wrong, or undefined. */
export { int as intRule, oneOf as oneOfRule };

const RUN_RULES: Rule<RunConfig> = {
  backend: oneOf(BACKENDS),
  seed: int(0, 2 ** 32 - 1),
  maxSeqLen: int(16),
};

const SFT_RULES: Rule<SftConfig> = {
  ...RUN_RULES,
  steps: int(1),
  batchSize: int(1),
  lr: num(0, 1),
  schedule: oneOf(['cosine', 'linear', 'constant']),
  warmup: int(0),
  minLrFrac: num(0, 1),
  weightDecay: num(0, 1),
  maxGradNorm: num(0),
  saveEvery: int(0),
  rewardMode: oneOf(REWARD_MODES),
  engine: oneOf(ENGINES),
};

const TRAIN_RULES: Rule<TrainConfig> = {
  ...RUN_RULES,
  curriculum: oneOf(['size', 'files', 'tokens', 'random', 'adaptive', 'none']),
  pacing: oneOf(['linear', 'root', 'step']),
  pacingStart: num(0, 1),
  groupSize: (v) => (Number.isInteger(v) && v >= 2 && v <= MAX_GROUP ? undefined : `must be an integer in [2, ${MAX_GROUP}] (GRPO compares completions within a group)`),
  promptsPerStep: int(1, MAX_GROUP),
  steps: int(1),
  lr: num(0, 1),
  warmup: int(0),
  weightDecay: num(0, 1),
  maxGradNorm: num(0),
  beta: num(0),
  clipLow: num(0, 1),
  clipHigh: num(0),
  loss: oneOf(['grpo', 'dapo', 'dr_grpo']),
  scaleStd: bool,
  mu: int(1),
  maskTruncated: bool,
  // Greedy rollouts would make every completion of a group the same: no spread, nothing to learn.
  temperature: (v) => (typeof v === 'number' && isFinite(v) && v > 0 ? undefined : 'must be > 0 (a group of greedy rollouts has nothing to compare)'),
  topP: (v) => (typeof v === 'number' && v > 0 && v <= 1 ? undefined : 'must be in (0, 1]'),
  topK: int(0),
  maxNewTokens: int(1),
  rewardMode: oneOf(REWARD_MODES),
  engine: oneOf(ENGINES),
  evalEvery: int(0),
  evalTasks: int(1),
  ckptEvery: int(0),
  keepLast: int(1),
};

function resolveWith<T extends object>(defaults: T, rules: Rule<T>, partial: Partial<T>, what: string): Readonly<T> {
  const out = { ...defaults } as T;
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(k in defaults)) throw new UserError(`${what}: unknown setting "${k}"`);
    (out as Record<string, unknown>)[k] = v;
  }
  for (const [k, rule] of Object.entries(rules) as [keyof T, (v: unknown) => string | undefined][]) {
    const err = rule(out[k]);
    if (err) throw new UserError(`${what}: --${kebab(String(k))} ${err} (got ${JSON.stringify(out[k])})`);
  }
  return Object.freeze(out);
}

export const resolveSftConfig = (p: Partial<SftConfig>) => resolveWith(SFT_DEFAULTS, SFT_RULES, p, 'sft');
export const resolveTrainConfig = (p: Partial<TrainConfig>) => resolveWith(TRAIN_DEFAULTS, TRAIN_RULES, p, 'train');

export function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * The sequence length a run may use, --max-seq-len within the model's context, and how to name it in an
 * error: when the model is the limit, raising --max-seq-len does nothing.
 */
export function seqLimit(maxSeqLen: number, modelContext: number): { len: number; name: string; raise: string } {
  return maxSeqLen > 0 && maxSeqLen <= modelContext
    ? { len: maxSeqLen, name: `--max-seq-len ${maxSeqLen}`, raise: 'raise --max-seq-len' }
    : { len: modelContext, name: `the model's context of ${modelContext} tokens (max_position_embeddings)`, raise: 'use a model with a longer context' };
}

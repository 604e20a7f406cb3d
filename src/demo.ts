// `pr-rl demo`: the whole pipeline on the embedded default data, in one process, on a CPU in
// minutes: tokenizer → tiny model → SFT warm-up → GRPO (--curriculum size) → held-out eval of
// SFT-only and SFT+GRPO → paired comparison → HTML report. Each stage is the library call behind
// the CLI command of the same name; this file only wires them and picks demo-sized settings.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS, ENGINES, intRule, oneOfRule, REWARD_MODES, type BackendKind, type Engine, type RewardMode, type SftConfig, type TrainConfig } from './config.ts';
import type { EvalConfig } from './eval/evaluate.ts';
import { UserError } from './util/errors.ts';
import { fmtDuration } from './util/progress.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface DemoConfig {
  /** Output folder for every stage. */
  out: string;
  /** Training and held-out tasks. */
  train: string;
  heldout: string;
  /** Model preset (models/<preset>.json). */
  preset: string;
  vocabSize: number;
  seed: number;
  backend: BackendKind;
  /** Engine of SFT and GRPO gradients, rollouts and evals: tfjs on the backend, or onnx (onnxruntime-node on the CPU). */
  engine: Engine;
  sftSteps: number;
  grpoSteps: number;
  /** Held-out tasks evaluated (0 = all). */
  evalTasks: number;
  /** Answer format the policy learns and is scored on. */
  rewardMode: RewardMode;
}

export const DEMO_DEFAULTS: DemoConfig = {
  out: 'runs/demo',
  train: path.join(ROOT, 'data/default/train.jsonl'),
  heldout: path.join(ROOT, 'data/default/heldout.jsonl'),
  preset: 'demo',
  vocabSize: 2048,
  seed: 1,
  backend: 'auto',
  engine: 'tfjs',
  sftSteps: 400,
  grpoSteps: 40,
  evalTasks: 0,
  rewardMode: 'search_replace',
};

/** Settings shared by the demo's stages, sized for 2 CPU cores. */
const SEQ = { maxSeqLen: 256 };
const SFT: Partial<SftConfig> = { ...SEQ, batchSize: 16, lr: 3e-3, warmup: 20, schedule: 'cosine', saveEvery: 0 };
const GRPO: Partial<TrainConfig> = {
  // 8 prompts × 8 samples at temperature 1 for reward spread; truncated answers keep their −1 and their
  // gradient (masking them let rollouts drift to endless output: 97 % truncated by step 35 in a trial).
  ...SEQ, curriculum: 'size', groupSize: 8, promptsPerStep: 8, lr: 1e-3, maxNewTokens: 64, temperature: 1.0,
  evalEvery: 10, evalTasks: 16, ckptEvery: 10, beta: 0, loss: 'dapo', maskTruncated: false,
};
const EVAL: Partial<EvalConfig> = { ...SEQ, k: 0, greedy: true, maxNewTokens: 64 };

export async function demo(partial: Partial<DemoConfig> = {}, log: (l: string) => void = (l) => process.stderr.write(l + '\n')): Promise<{ report: string; verdict: string }> {
  const cfg = { ...DEMO_DEFAULTS, ...partial };
  // Every setting is checked before the first stage, in the demo's own flags' names (a bad --grpo-steps
  // used to surface as "train: --steps …" after the tokenizer, the model and a 9-minute SFT).
  const checks: [flag: string, v: unknown, rule: (v: unknown) => string | undefined][] = [
    ['engine', cfg.engine, oneOfRule(ENGINES)], ['backend', cfg.backend, oneOfRule(BACKENDS)],
    ['reward-mode', cfg.rewardMode, oneOfRule(REWARD_MODES)], ['sft-steps', cfg.sftSteps, intRule(1)],
    ['grpo-steps', cfg.grpoSteps, intRule(1)], ['eval-tasks', cfg.evalTasks, intRule(0)], ['seed', cfg.seed, intRule(0, 2 ** 32 - 1)],
  ];
  for (const [flag, v, rule] of checks) {
    const what = rule(v);
    if (what) throw new UserError(`demo: --${flag} ${what} (got ${JSON.stringify(v)})`);
  }
  for (const f of [cfg.train, cfg.heldout])
    if (!fs.existsSync(f)) throw new UserError(`${f}: missing; regenerate the default data with: node --import tsx scripts/make-default-data.ts`);
  const { resolveBpeConfig, trainTokenizer, saveTokenizer } = await import('./tokenizer/bpe.ts');
  const bpeCfg = resolveBpeConfig({ vocabSize: cfg.vocabSize });
  const { presetConfig, initModelFolder } = await import('./model/weights.ts');
  presetConfig(cfg.preset, { vocab_size: cfg.vocabSize, max_position_embeddings: SEQ.maxSeqLen }); // found, valid, small enough
  const sftCfg = { ...SFT, steps: cfg.sftSteps, seed: cfg.seed, backend: cfg.backend, engine: cfg.engine, rewardMode: cfg.rewardMode };
  const grpoCfg = { ...GRPO, steps: cfg.grpoSteps, seed: cfg.seed, backend: cfg.backend, engine: cfg.engine, rewardMode: cfg.rewardMode };
  const evalCfg = { ...EVAL, seed: cfg.seed, backend: cfg.backend, engine: cfg.engine, limit: cfg.evalTasks, rewardMode: cfg.rewardMode };
  const { cannotWrite, makeDir, refuseFileAsFolder } = await import('./util/fsx.ts');
  refuseFileAsFolder(cfg.out);
  const t0 = Date.now();
  const dir = (name: string) => path.join(cfg.out, name);
  const stage = (name: string) => log(`\n== demo: ${name} (${fmtDuration((Date.now() - t0) / 1000)} elapsed)`);
  try { makeDir(cfg.out); } catch (e) { throw cannotWrite(cfg.out, e); }

  stage('tokenizer');
  const { corpusTexts } = await import('./tokenizer/corpus.ts');
  const { bpe } = trainTokenizer(corpusTexts([cfg.train]), bpeCfg, log);
  saveTokenizer(dir('tokenizer'), bpe, bpeCfg);
  log(`tokenizer: ${bpe.vocab.length} tokens (${bpe.merges.length} merges) → ${dir('tokenizer')}`);

  stage(`init ${cfg.preset} model`);
  const { initBackend } = await import('./model/backend.ts');
  await initBackend('cpu', () => {}); // as `pr-rl init` does (and no tfjs banner); each later stage sets its own backend
  await initModelFolder({ preset: cfg.preset, tokenizer: dir('tokenizer'), out: dir('init'), seed: cfg.seed, overrides: { max_position_embeddings: SEQ.maxSeqLen } });

  stage('SFT warm-up');
  const { sft } = await import('./rl/sft.ts');
  await sft({ model: dir('init'), data: cfg.train, out: dir('sft'), force: true, config: sftCfg, log });

  stage('GRPO, curriculum size');
  const { train } = await import('./rl/trainer.ts');
  fs.rmSync(dir('grpo'), { recursive: true, force: true }); // the demo's own run of an earlier demo: a fresh run may not land on it
  await train({
    model: dir('sft'), data: cfg.train, heldout: cfg.heldout, out: dir('grpo'), resume: false,
    config: grpoCfg, log,
  });

  const { runEval } = await import('./eval/evaluate.ts');
  stage('held-out eval: SFT only');
  await runEval({ model: dir('sft'), data: cfg.heldout, out: dir('eval-sft.json'), config: evalCfg, log });
  stage('held-out eval: SFT + GRPO');
  await runEval({ model: dir('grpo/final'), data: cfg.heldout, out: dir('eval-grpo.json'), config: evalCfg, log });

  stage('compare (paired, A = SFT only, B = SFT + GRPO)');
  const { runCompare } = await import('./eval/compare.ts');
  const cmp = runCompare({ a: dir('eval-sft.json'), b: dir('eval-grpo.json'), allowDifferentTasks: false, json: false, print: log });

  stage('report');
  const { runReport } = await import('./eval/report.ts');
  const report = runReport({ run: dir('grpo'), evals: [dir('eval-sft.json'), dir('eval-grpo.json')], log });
  const verdict = cmp.metrics.find((m) => m.metric === 'greedy_reward' || m.metric === 'reward')?.verdict ?? 'n/a';
  log(`\ndemo: done in ${fmtDuration((Date.now() - t0) / 1000)}. Mean held-out reward: ${verdict}. Report: ${path.resolve(report)}`);
  return { report, verdict };
}

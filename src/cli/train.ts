// CLI commands `sft` and `train`: flags map 1:1 to SftConfig / TrainConfig (src/config.ts).

import type { Command } from 'commander';
import { BACKENDS, REWARD_MODES, SFT_DEFAULTS, TRAIN_DEFAULTS, type SftConfig, type TrainConfig } from '../config.ts';
import { addConfigOptions, configFrom } from './options.ts';

const RUN_HELP = {
  backend: `tensor backend: ${BACKENDS.join('|')} (auto = webgpu when a GPU adapter exists, else wasm)`,
  seed: 'random seed (data order, sampling)',
  maxSeqLen: 'longest prompt + completion in tokens; longer tasks are skipped',
};

const SFT_HELP: { [K in keyof SftConfig]: string } = {
  ...RUN_HELP,
  steps: 'optimizer steps',
  batchSize: 'sequences per step',
  lr: 'peak learning rate (AdamW)',
  schedule: 'LR schedule after warm-up: cosine|linear|constant',
  warmup: 'linear warm-up steps',
  minLrFrac: 'final LR as a fraction of the peak',
  weightDecay: 'decoupled weight decay',
  maxGradNorm: 'clip gradients to this global norm (0 = off)',
  saveEvery: 'write the model folder every N steps (0 = only at the end)',
  rewardMode: `answer format to learn: ${REWARD_MODES.join('|')} (use the same for train and eval)`,
  engine: 'gradients: tfjs (on --backend) or onnx (onnxruntime-node CPU kernels, ~6× wasm on the demo SFT)',
};

const TRAIN_HELP: { [K in keyof TrainConfig]: string } = {
  ...RUN_HELP,
  curriculum: 'task order: size|files|tokens|random|adaptive|none (size = smallest changes first, tokens = the tasks\' approximate prompt tokens, none = input order, adaptive = the tasks whose group rewards spread most, new ones smallest first)',
  pacing: 'how fast the curriculum opens (size|files|tokens): linear|root|step',
  pacingStart: 'fraction of the sorted tasks available at step 0',
  groupSize: 'completions sampled per prompt (2 ≤ G ≤ 1024)',
  promptsPerStep: 'prompts per optimizer step',
  steps: 'GRPO steps (raise it with --resume to train longer: the pacing stretches, its window never narrows)',
  lr: 'learning rate (AdamW, constant after warm-up)',
  warmup: 'linear warm-up steps',
  weightDecay: 'decoupled weight decay',
  maxGradNorm: 'clip gradients to this global norm (0 = off)',
  beta: 'KL weight to the frozen reference policy (k3 estimator; 0 = none)',
  clipLow: 'ratio clip below: 1 - clip-low',
  clipHigh: 'ratio clip above: 1 + clip-high (DAPO clip-higher)',
  loss: 'loss aggregation: grpo|dapo|dr_grpo',
  scaleStd: 'divide advantages by the group reward std (--no-scale-std = Dr. GRPO)',
  mu: 'optimisation passes per batch of rollouts (μ)',
  maskTruncated: 'no gradient from truncated completions (DAPO overlong masking; off: they keep their −1 reward)',
  temperature: 'sampling temperature for rollouts',
  topP: 'nucleus sampling threshold (1 = off)',
  topK: 'top-k sampling (0 = off)',
  maxNewTokens: 'completion budget in tokens',
  rewardMode: `reward: ${REWARD_MODES.join('|')}`,
  engine: 'gradients and rollouts: tfjs (on --backend) or onnx (onnxruntime-node CPU kernels: ~4× wasm training, ~2× sampling)',
  evalEvery: 'evaluate on held-out tasks every N steps (0 = never)',
  evalTasks: 'held-out tasks in each periodic evaluation',
  ckptEvery: 'checkpoint every N steps (also on SIGINT/SIGTERM)',
  keepLast: 'complete checkpoints to keep',
};

export function registerTrain(program: Command): void {
  const sftCmd = program.command('sft')
    .description('supervised warm-up: train the policy on prompt → oracle SEARCH/REPLACE edits (loss on the answer only)')
    .requiredOption('--model <dir>', 'model folder to start from (config.json, model.safetensors, tokenizer)')
    .requiredOption('--data <tasks.jsonl>', 'training tasks')
    .requiredOption('--out <dir>', 'output model folder')
    .option('--force', 'write over a model already in --out', false);
  addConfigOptions(sftCmd, SFT_DEFAULTS, SFT_HELP).action(async (o) => {
    const { sft } = await import('../rl/sft.ts');
    await sft({ model: o.model, data: o.data, out: o.out, force: !!o.force, config: configFrom(sftCmd, SFT_DEFAULTS) });
  });

  const trainCmd = program.command('train')
    .description('GRPO on the SWE-RL reward, in curriculum order; checkpoints and resumes exactly')
    .option('--model <dir>', 'model folder to start from (e.g. the output of `pr-rl sft`); with --resume, the run\'s (this only where that is gone)')
    .option('--data <train.jsonl>', 'training tasks; with --resume, the run\'s (this only where that is gone)')
    .option('--heldout <heldout.jsonl>', 'held-out tasks for the periodic evaluation; with --resume, the run\'s')
    .requiredOption('--out <dir>', 'run folder: metrics.jsonl, samples.jsonl, checkpoints/, final/')
    .option('--resume', 'continue from the newest complete checkpoint in --out', false);
  addConfigOptions(trainCmd, TRAIN_DEFAULTS, TRAIN_HELP).action(async (o) => {
    const { train } = await import('../rl/trainer.ts');
    await train({ model: o.model, data: o.data, heldout: o.heldout, out: o.out, resume: !!o.resume, config: configFrom(trainCmd, TRAIN_DEFAULTS) });
  });
}

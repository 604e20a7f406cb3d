// CLI command `demo`: the whole pipeline on the embedded default data (src/demo.ts).

import type { Command } from 'commander';
import { BACKENDS, REWARD_MODES } from '../config.ts';
import { DEMO_DEFAULTS, type DemoConfig } from '../demo.ts';
import { addConfigOptions, configFrom } from './options.ts';

const HELP: { [K in keyof DemoConfig]: string } = {
  out: 'output folder for every stage',
  train: 'training tasks',
  heldout: 'held-out tasks (never trained on)',
  preset: 'model preset (models/<preset>.json)',
  vocabSize: 'tokenizer vocabulary size',
  seed: 'random seed for every stage',
  backend: `tensor backend: ${BACKENDS.join('|')}`,
  engine: 'gradients, rollouts and evals: tfjs (on --backend) or onnx (onnxruntime-node CPU kernels: ~4× wasm training, ~2× sampling)',
  sftSteps: 'SFT warm-up steps',
  grpoSteps: 'GRPO steps',
  evalTasks: 'held-out tasks evaluated (0 = all)',
  rewardMode: `answer format: ${REWARD_MODES.join('|')} (whole_file = the seeds' "output the new file")`,
};

export function registerDemo(program: Command): void {
  const cmd = program.command('demo')
    .description('run the whole pipeline on the embedded default data: tokenizer → model (--preset) → SFT → GRPO (curriculum size) → eval SFT vs SFT+GRPO → compare → report');
  addConfigOptions(cmd, DEMO_DEFAULTS, HELP).action(async () => {
    const { demo } = await import('../demo.ts');
    await demo(configFrom(cmd, DEMO_DEFAULTS));
  });
}

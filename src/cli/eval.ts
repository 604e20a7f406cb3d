// CLI commands of the eval area (`eval`, `compare`, `report`): flag parsing only, the work is done in
// src/eval/. `eval` flags map 1:1 to EvalConfig (src/eval/evaluate.ts).

import { Option, type Command } from 'commander';
import { BACKENDS, REWARD_MODES } from '../config.ts';
import { EVAL_DEFAULTS, type EvalConfig } from '../eval/evaluate.ts';
import { addConfigOptions, configFrom, MODEL_REF_HELP, wholeNumber } from './options.ts';

const EVAL_HELP: { [K in keyof EvalConfig]: string } = {
  k: 'sampled completions per task (0 = none, at most 1024); mean reward, exact, format-valid and pass@k come from these',
  temperature: 'sampling temperature of the k samples',
  topP: 'nucleus sampling threshold of the k samples (1 = off)',
  topK: 'top-k filter of the k samples (0 = off)',
  greedy: 'also score one greedy (argmax) completion per task: greedy_* metrics',
  maxNewTokens: 'completion budget in tokens',
  seed: 'sampling seed (each task draws from its own stream, derived from the seed and the task id)',
  backend: `tensor backend: ${BACKENDS.join('|')}`,
  engine: 'sampler: tfjs (on --backend) or onnx (onnxruntime-node CPU kernels, ~2× wasm)',
  maxSeqLen: 'skip tasks whose prompt + max-new-tokens exceeds this (0 = the model\'s limit)',
  rewardMode: `reward: ${REWARD_MODES.join('|')} (use what the model was trained with)`,
  limit: 'evaluate only the first N tasks (0 = all)',
};

export function registerEval(program: Command): void {
  const evalCmd = program.command('eval')
    .description('score a model on held-out tasks: mean reward, exact match, format-valid rate and pass@k, each with a 95 % CI; writes eval.json')
    .requiredOption('--model <dir>', MODEL_REF_HELP)
    .requiredOption('--data <heldout.jsonl>', 'held-out tasks')
    .option('--out <file>', 'where to write the per-task results', 'eval.json');
  addConfigOptions(evalCmd, EVAL_DEFAULTS, EVAL_HELP).action(async (o) => {
    const { runEval } = await import('../eval/evaluate.ts');
    await runEval({ model: o.model, data: o.data, out: o.out, config: configFrom(evalCmd, EVAL_DEFAULTS) });
  });

  program.command('compare')
    .description('paired comparison of two eval.json files over the tasks both scored: B − A per metric, SE = sqrt((Var A + Var B − 2 Cov)/n), 95 % CI, verdict')
    .argument('<a>', 'baseline eval.json (A)')
    .argument('<b>', 'candidate eval.json (B)')
    .option('--allow-different-tasks', 'compare only the shared tasks when the task sets differ', false)
    .option('--json', 'print the comparison as JSON', false)
    .action(async (a: string, b: string, o: { allowDifferentTasks: boolean; json: boolean }) => {
      const { runCompare } = await import('../eval/compare.ts');
      runCompare({ a, b, allowDifferentTasks: o.allowDifferentTasks, json: o.json });
    });

  program.command('report')
    .description('write one self-contained HTML report (charts + sample completions) for a training run folder')
    .argument('<run>', 'run folder of `pr-rl train --out` (metrics.jsonl, samples.jsonl)')
    .option('--out <file>', 'output HTML file (default: <run>/report.html)')
    .addOption(new Option('--eval <files...>', 'eval.json files to summarise in a table'))
    .option('--samples <n>', 'sample completions to show, spread over the run (0 = none)', wholeNumber('--samples'), 24)
    .action(async (run: string, o: { out?: string; eval?: string[]; samples: number }) => {
      const { runReport } = await import('../eval/report.ts');
      runReport({ run, out: o.out, evals: o.eval, samples: o.samples });
    });
}

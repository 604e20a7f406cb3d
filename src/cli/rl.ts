// CLI commands of the rl area: flag parsing only, the work is done in src/rl/.

import { Option, type Command } from 'commander';
import { REWARD_MODES, type RewardMode } from '../config.ts';

export function registerRl(program: Command): void {
  registerReward(program);
}

/** `pr-rl reward`: score any model's completions with the SWE-RL reward. */
function registerReward(program: Command): void {
  program.command('reward')
    .description('score completions with the SWE-RL reward: per-output reward (−1 = format error), then mean, format-valid % and exact %')
    .requiredOption('--tasks <tasks.jsonl>', 'the tasks the completions answer')
    .requiredOption('--outputs <outputs.jsonl>', 'one JSON line per completion: {"id", "text"} or {"task_id", "completion"}')
    .option('--out <scores.jsonl>', 'write one JSON record per output here instead of printing a line each')
    .addOption(new Option('--mode <mode>', `output format: ${REWARD_MODES.join('|')}`).choices(REWARD_MODES).default('search_replace'))
    .action(async (o: { tasks: string; outputs: string; out?: string; mode: RewardMode }) => {
      const { runReward } = await import('../rl/reward.ts');
      await runReward(o);
    });
}

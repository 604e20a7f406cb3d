// CLI commands of the data area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';
import { addConfigOptions, configFrom } from './options.ts';
import { SYNTH_DEFAULTS, type SynthConfig } from '../data/synth.ts';

export function registerData(program: Command): void {
  registerSynth(program);
  registerSplit(program);
}

// ---- synth and split (src/data/synth.ts, src/data/split.ts) ----

const SYNTH_HELP: { [K in keyof SynthConfig]: string } = {
  seed: 'random seed: the same commit and seed give the same tasks',
  count: 'tasks to make (fewer when the code offers fewer distinct bugs)',
  window: 'what each task shows: function (enclosing function, capped at --window-lines) | lines | file',
  windowLines: 'most lines in a window',
  maxWindowBytes: 'largest window in bytes, cut down around the bug (0 = no limit)',
  rev: 'commit whose files are mutated',
  include: 'comma-separated path globs to mutate, e.g. "src/**/*.ts" (empty = all JS/TS/Python files)',
  kinds: 'comma-separated bug kinds: operator,bound,negate,swap,variable,delete,literal (or all)',
  maxFileBytes: 'skip files larger than this',
  repoName: 'repo name written into the tasks (empty = the folder name)',
};

function registerSynth(program: Command): void {
  const cmd = program.command('synth <repo>')
    .description('synthetic repair tasks: inject one small bug per task into the code at --rev; the original is the oracle')
    .option('--out <file>', 'output tasks JSONL', 'synth.jsonl');
  addConfigOptions(cmd, SYNTH_DEFAULTS, SYNTH_HELP).action(async (repo: string, o: { out: string }) => {
    const { synthesize } = await import('../data/synth.ts');
    const { writeJsonlAtomic } = await import('../util/fsx.ts');
    const t0 = Date.now();
    const { tasks, summary } = synthesize(repo, configFrom(cmd, SYNTH_DEFAULTS));
    writeJsonlAtomic(o.out, tasks);
    const kinds = Object.entries(summary.byKind).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stderr.write(`synth: ${tasks.length} tasks → ${o.out} (${kinds}) from ${summary.files} files, ${summary.candidates} candidate bugs, ${summary.rejected} rejected, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });
}

function registerSplit(program: Command): void {
  program.command('split <tasks>')
    .description('split tasks into train and held-out files with no shared change or task text across them')
    .option('--heldout <size>', 'held-out size: percentage, fraction or count', '10%')
    .option('--by <how>', 'time (newest held out) | repo | file | random', 'time')
    .option('--seed <n>', 'random seed (repo/file/random)', '1')
    .option('--out-train <file>', 'train output (default: <tasks>.train.jsonl)')
    .option('--out-heldout <file>', 'held-out output (default: <tasks>.heldout.jsonl)')
    .option('--on-bad-line <policy>', 'skip|stop on a corrupt input line', 'stop')
    .action(async (file: string, o: { heldout: string; by: string; seed: string; outTrain?: string; outHeldout?: string; onBadLine: string }) => {
      const { splitTasks, parseHeldout } = await import('../data/split.ts');
      const { readTasks } = await import('../data/task.ts');
      const { writeJsonlAtomic } = await import('../util/fsx.ts');
      const { UserError } = await import('../util/errors.ts');
      if (!['time', 'repo', 'file', 'random'].includes(o.by)) throw new UserError(`--by must be time|repo|file|random (got "${o.by}")`);
      if (!['skip', 'stop'].includes(o.onBadLine)) throw new UserError(`--on-bad-line must be skip|stop (got "${o.onBadLine}")`);
      const seed = Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed must be a non-negative integer (got "${o.seed}")`);
      const stem = file.replace(/\.jsonl$/, '');
      const outTrain = o.outTrain ?? `${stem}.train.jsonl`;
      const outHeldout = o.outHeldout ?? `${stem}.heldout.jsonl`;
      const tasks = await readTasks(file, o.onBadLine as 'skip' | 'stop');
      const r = splitTasks(tasks, { heldout: parseHeldout(o.heldout), by: o.by as 'time', seed });
      writeJsonlAtomic(outTrain, r.train);
      writeJsonlAtomic(outHeldout, r.heldout);
      process.stderr.write(`split: ${tasks.length} tasks → train ${r.train.length} (${outTrain}), held-out ${r.heldout.length} (${outHeldout}), by ${o.by}; ` +
        `leakage fixed: ${r.sharedChange} shared change, ${r.sharedText} shared text → ${r.moved} moved to train, ${r.dropped} dropped\n`);
      if (r.heldout.length === 0) process.stderr.write('split: warning: the held-out set is empty\n');
    });
}

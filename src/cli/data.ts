// CLI commands of the data area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';
import { addConfigOptions, configFrom } from './options.ts';
import { SYNTH_DEFAULTS, type SynthConfig } from '../data/synth.ts';
import { MINE_DEFAULTS, type MineConfig } from '../data/mine.ts';
import { IMPORT_DEFAULTS, type ImportConfig } from '../data/import.ts';

export function registerData(program: Command): void {
  registerMine(program);
  registerImport(program);
  registerSynth(program);
  registerSplit(program);
}

// ---- mine and import (src/data/mine.ts, src/data/import.ts) ----

const RETRIEVE_HELP = {
  contextFiles: 'most relevant unchanged files per task (BM25 + import graph; 0 = none)',
  contextBytes: 'byte budget for those files per task',
  indexMaxBytes: 'files larger than this are not indexed for retrieval',
  indexMaxFiles: 'most files indexed per task (nearest to the changed files by path first)',
};

const MINE_HELP: { [K in keyof MineConfig]: string } = {
  sources: 'comma-separated sources: merge (PR merge commits: "Merge pull request #N", GitLab\'s "See merge request", or a merge titled "… (#N)"), squash (a commit titled "… (#N)"), commit (plain commits)',
  rev: 'revision whose history is walked',
  maxCommits: 'most commits read per repo, newest first (0 = all)',
  maxChangedLines: 'drop tasks with more changed lines (added + removed)',
  minChangedLines: 'drop tasks with fewer changed lines',
  maxFiles: 'drop tasks that change more files (after skipped files; a commit of over 4× as many is dropped unread)',
  maxFileBytes: 'skip changed files larger than this (checked before reading them)',
  maxPromptTokens: 'drop tasks whose task text + old files exceed this many tokens (≈ bytes/4; 0 = no limit); context files are chosen within what is left',
  ...RETRIEVE_HELP,
  renames: 'rename detection similarity in percent (git -M)',
  explain: 'print a line for each commit dropped (drop), passed over (pass) or with files left out (skip), and why (stdout)',
  onBadLine: 'skip|stop on a commit whose files cannot be read (a missing or corrupt blob); a history git log cannot walk (a missing commit or tree) stops either way',
};

function registerMine(program: Command): void {
  const cmd = program.command('mine <repo...>')
    .description('mine PR merges, squash merges and commits of local git repositories into tasks (JSONL)')
    .option('--out <file>', 'output tasks JSONL (written atomically)', 'tasks.jsonl');
  addConfigOptions(cmd, MINE_DEFAULTS, MINE_HELP).action(async (repos: string[], o: { out: string }) => {
    const { mine } = await import('../data/mine.ts');
    const { JsonlThreadWriter } = await import('../util/jsonlthread.ts');
    const { checkOutputFile } = await import('../util/fsx.ts');
    checkOutputFile(o.out); // before the run, not at its end
    const cfg = configFrom(cmd, MINE_DEFAULTS);
    // Tasks are written as they are mined (as JSON on a worker thread), to a temp file renamed over --out
    // only when all went well.
    const out = new JsonlThreadWriter(o.out);
    let r;
    try {
      r = await mine(repos, cfg, (t) => out.write(t));
      await out.close();
    } catch (e) {
      out.abort();
      throw e;
    }
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const line of r.stats.explanations) process.stdout.write(line + '\n');
    process.stderr.write(`mine: ${r.commits} commits → ${o.out}: ${r.stats.summary()}; ${(out.count / Math.max(r.seconds, 1e-3)).toFixed(1)} tasks/s, ${r.seconds.toFixed(1)} s\n`);
  });
}

const IMPORT_HELP: { [K in keyof ImportConfig]: string } = {
  repo: 'local clone the records\' base commits are read from',
  maxFileBytes: 'drop records that touch a file larger than this, before or after the patch (counted, like a file that is not text, no change or no text)',
  onBadLine: 'skip|stop on a bad line (invalid JSON, missing field, unknown commit, patch that does not apply, binary patch)',
  ...RETRIEVE_HELP,
};

function registerImport(program: Command): void {
  const cmd = program.command('import <records>')
    .description('turn SWE-bench / SWE-Gym records (instance_id, base_commit, problem_statement, patch) into tasks')
    .option('--out <file>', 'output tasks JSONL (written atomically)', 'tasks.jsonl');
  addConfigOptions(cmd, IMPORT_DEFAULTS, IMPORT_HELP).action(async (file: string, o: { out: string }) => {
    const { importRecords } = await import('../data/import.ts');
    const { checkOutputFile, writeJsonlAtomic } = await import('../util/fsx.ts');
    checkOutputFile(o.out, { '<records>': file });
    const r = await importRecords(file, configFrom(cmd, IMPORT_DEFAULTS));
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    await writeJsonlAtomic(o.out, r.tasks);
    const drops = [...r.stats.dropped].filter(([k]) => k !== 'unreadable').map(([k, v]) => `${k} ${v}`).join(', ');
    process.stderr.write(`import: ${r.tasks.length} tasks → ${o.out}${drops ? `, dropped ${drops}` : ''}, ${r.bad} bad lines skipped; ${r.seconds.toFixed(1)} s\n`);
  });
}

// ---- synth and split (src/data/synth.ts, src/data/split.ts) ----

const SYNTH_HELP: { [K in keyof SynthConfig]: string } = {
  seed: 'random seed, 0 to 2^32 - 1: the same commit and seed give the same tasks',
  count: 'tasks to make (fewer when the code offers fewer distinct bugs)',
  window: 'what each task shows: function (enclosing function, capped at --window-lines) | lines | file',
  windowLines: 'most lines in a window',
  maxWindowBytes: 'largest window in bytes, cut down around the bug (0 = no limit)',
  rev: 'commit whose files are mutated',
  include: 'comma-separated path globs to mutate, e.g. "src/**/*.ts" (empty = all JS/TS/Python files)',
  kinds: 'comma-separated bug kinds: operator,bound,negate,swap,variable,delete,literal (or all)',
  maxFileBytes: 'skip files larger than this',
  repoName: 'repo name written into the tasks (empty = the name mine gives the repository)',
};

function registerSynth(program: Command): void {
  const cmd = program.command('synth <repo>')
    .description('synthetic repair tasks: inject one small bug per task into the code at --rev; the original is the oracle')
    .option('--out <file>', 'output tasks JSONL', 'synth.jsonl');
  addConfigOptions(cmd, SYNTH_DEFAULTS, SYNTH_HELP).action(async (repo: string, o: { out: string }) => {
    const { synthesize } = await import('../data/synth.ts');
    const { checkOutputFile, writeJsonlAtomic } = await import('../util/fsx.ts');
    checkOutputFile(o.out);
    const t0 = Date.now();
    const { tasks, summary } = synthesize(repo, configFrom(cmd, SYNTH_DEFAULTS));
    await writeJsonlAtomic(o.out, tasks);
    const kinds = Object.entries(summary.byKind).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stderr.write(`synth: ${tasks.length} tasks → ${o.out} (${kinds}) from ${summary.files} files, ${summary.candidates} candidate bugs, ${summary.rejected} rejected, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    if (tasks.length === 0) {
      process.stderr.write(`synth: warning: no tasks: ${summary.files === 0 ? 'no JavaScript, TypeScript or Python file matched (see --include, --rev, --max-file-bytes)' : 'no mutation fit the files (see --window, --max-window-bytes, --kinds)'}\n`);
    }
  });
}

function registerSplit(program: Command): void {
  program.command('split <tasks>')
    .description('split tasks into train and held-out files with no shared change, task text or PR across them')
    .option('--heldout <size>', 'held-out size: percentage, fraction or count', '10%')
    .option('--by <how>', 'time (newest held out) | repo | file (no train task changes a held-out file) | random', 'time')
    .option('--seed <n>', 'random seed (repo/file/random), 0 to 2^32 - 1', '1')
    .option('--out-train <file>', 'train output (default: <tasks>.train.jsonl)')
    .option('--out-heldout <file>', 'held-out output (default: <tasks>.heldout.jsonl)')
    .option('--on-bad-line <policy>', 'skip|stop on a corrupt input line', 'stop')
    .action(async (file: string, o: { heldout: string; by: string; seed: string; outTrain?: string; outHeldout?: string; onBadLine: string }) => {
      const { splitTasks, parseHeldout, checkSplitPaths, shortfallWarning, timeWarning } = await import('../data/split.ts');
      const { readTasks } = await import('../data/task.ts');
      const { checkOutputFile, writeJsonlFilesAtomic } = await import('../util/fsx.ts');
      const { UserError } = await import('../util/errors.ts');
      if (!['time', 'repo', 'file', 'random'].includes(o.by)) throw new UserError(`--by must be time|repo|file|random (got "${o.by}")`);
      if (!['skip', 'stop'].includes(o.onBadLine)) throw new UserError(`--on-bad-line must be skip|stop (got "${o.onBadLine}")`);
      const seed = o.seed.trim() === '' ? NaN : Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new UserError(`--seed must be an integer from 0 to ${2 ** 32 - 1} (got "${o.seed}")`);
      const stem = file.replace(/\.jsonl$/, '');
      const outTrain = o.outTrain ?? `${stem}.train.jsonl`;
      const outHeldout = o.outHeldout ?? `${stem}.heldout.jsonl`;
      checkSplitPaths(outTrain, outHeldout);
      checkOutputFile(outTrain, { input: file }, [], '--out-train');
      checkOutputFile(outHeldout, { input: file }, [], '--out-heldout');
      const heldout = parseHeldout(o.heldout);
      const tasks = await readTasks(file, o.onBadLine as 'skip' | 'stop');
      const r = splitTasks(tasks, { heldout, by: o.by as 'time', seed });
      await writeJsonlFilesAtomic([[outTrain, r.train], [outHeldout, r.heldout]]); // both or neither
      process.stderr.write(`split: ${tasks.length} tasks → train ${r.train.length} (${outTrain}), held-out ${r.heldout.length} (${outHeldout}), by ${o.by}; ` +
        `leakage fixed: ${r.sharedChange} shared change, ${r.sharedText} shared text, ${r.sharedGroup} shared PR → ${r.moved} moved to train, ${r.dropped} dropped${r.lostWithPr ? ` (${r.lostWithPr} of them with their PR)` : ''}` +
        `${o.by === 'file' ? `; ${r.overlap} on neither side (they change held-out and train files)` : ''}\n`);
      for (const w of [shortfallWarning(r, o.by as 'time'), o.by === 'time' ? timeWarning(r) : undefined]) if (w) process.stderr.write(w + '\n');
    });
}

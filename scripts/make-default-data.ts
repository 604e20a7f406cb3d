// Regenerates the embedded default task set in data/default/ from this clone alone:
//   node --import tsx scripts/make-default-data.ts [--root .] [--out data/default] [--seed 1] [--rev R] [--mined-rev R | --skip-mined]
// train.jsonl / heldout.jsonl: small synthetic repair tasks from src/**/*.ts (what a tiny CPU model can
// learn), held out at random by task (--split-by file for a harder split), plus any mined task small enough for the demo; mined.jsonl: tasks mined
// from this project's git history up to --mined-rev (`pr-rl mine`). Deterministic for the same revs and flags.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { synthesize } from '../src/data/synth.ts';
import { splitTasks, leaks } from '../src/data/split.ts';
import { readTasks, type Task } from '../src/data/task.ts';
import { writeJsonlAtomic, writeJsonAtomic } from '../src/util/fsx.ts';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string', default: path.join(import.meta.dirname, '..') },
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    train: { type: 'string', default: '600' },
    heldout: { type: 'string', default: '100' },
    'window-lines': { type: 'string', default: '5' },
    'prompt-bytes': { type: 'string', default: '400' },
    'split-by': { type: 'string', default: 'random' },
    rev: { type: 'string' },
    'skip-mined': { type: 'boolean', default: false },
    'mined-bytes': { type: 'string', default: '700000' },
    'mined-rev': { type: 'string' },
  },
});
const root = path.resolve(args.root!);
const outDir = path.resolve(args.out ?? path.join(root, 'data', 'default'));
const seed = Number(args.seed);
const nTrain = Number(args.train);
const nHeld = Number(args.heldout);
const promptBytes = Number(args['prompt-bytes']);
const log = (s: string) => process.stderr.write(s + '\n');
const git = (...a: string[]) => execFileSync('git', ['-C', root, ...a], { encoding: 'utf8' }).trim();

// Prompt size as the policy will see it: the real prompt builder when it exists, else its layout.
let promptOf: (t: Task) => string = (t) => `${t.text}\n\n### ${t.changes[0].path}\n${t.changes[0].old ?? ''}\n<solution>\n`;
try {
  const { buildPrompt } = (await import('../src/data/prompt.ts' as string)) as { buildPrompt?: (t: Task) => string };
  if (typeof buildPrompt === 'function') promptOf = buildPrompt;
} catch { /* prompt.ts not there yet: the layout above approximates it */ }
const fits = (t: Task) => Buffer.byteLength(promptOf(t)) <= promptBytes;

// 1. Synthetic tasks from --rev, by default the last commit that touched src/, so that committing data/
// does not change them (manifest.json records the rev: pass it to reproduce the committed set).
const rev = args.rev ? git('rev-parse', '--verify', `${args.rev}^{commit}`) : git('log', '-1', '--format=%H', '--', 'src');
if (!rev) throw new Error(`${root}: no commit touches src/; commit the sources first`);
const { tasks: synth, summary } = synthesize(root, {
  rev, seed, count: Math.ceil((nTrain + nHeld) * 1.6), include: 'src/**/*.ts', window: 'function',
  windowLines: Number(args['window-lines']), maxWindowBytes: promptBytes - 150, repoName: 'pr-rl',
});
const small = synth.filter(fits);
log(`synth: ${synth.length} tasks from ${summary.files} files at ${rev.slice(0, 12)} (${summary.candidates} candidate bugs); ${small.length} fit in ${promptBytes} prompt bytes`);

// 2. Mined tasks from this clone's history up to --mined-rev (by default HEAD; manifest.json records it, so
// its command reproduces mined.jsonl too, however far the history has gone since), through `pr-rl mine`.
let mined: Task[] = [];
const minedRev = args['skip-mined'] ? null : git('rev-parse', '--verify', `${args['mined-rev'] ?? 'HEAD'}^{commit}`);
if (minedRev) {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prrl-default-')), 'mined.jsonl');
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'pr-rl.js'), 'mine', root, '--rev', minedRev, '--out', tmp], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
  process.stderr.write(r.stderr ?? '');
  if (r.status !== 0) throw new Error(`pr-rl mine failed (exit ${r.status}); rerun with --skip-mined to build the synthetic part only`);
  // The clone's folder name must not leak into ids: a fresh clone may be named anything.
  mined = (await readTasks(tmp)).map((t) => ({ ...t, repo: 'pr-rl', id: t.id.startsWith(t.repo) ? 'pr-rl' + t.id.slice(t.repo.length) : t.id }));
  mined.sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || (a.id < b.id ? -1 : 1));
}
const minedSmall = mined.filter(fits);

// 3. Demo sets: held-out synthetic tasks come from files never seen in training (no memorized originals).
const splitBy = args['split-by'] as 'file' | 'random';
// Ask for more than needed: whole files go to held-out, so the greedy fill lands below its target.
const s = splitTasks(small, { heldout: Math.min(Math.ceil(nHeld * 1.5), small.length - nTrain), by: splitBy, seed });
const train = s.train.slice(0, nTrain);
const heldout = s.heldout.slice(0, nHeld);
if (minedSmall.length >= 2) {
  const m = splitTasks(minedSmall, { heldout: 0.1, by: 'time', seed });
  train.push(...m.train);
  heldout.push(...m.heldout);
} else train.push(...minedSmall);
const leaked = leaks(train, heldout);
if (leaked.length) throw new Error(`leakage between train and held-out: ${leaked.slice(0, 3).join('; ')}`);

// 4. The rest of the mined tasks, largest records left out so data/ stays small.
const minedRest: Task[] = [];
let bytes = 0;
for (const t of mined.filter((t) => !fits(t)).sort((a, b) => JSON.stringify(a).length - JSON.stringify(b).length || (a.id < b.id ? -1 : 1))) {
  const n = Buffer.byteLength(JSON.stringify(t)) + 1;
  if (bytes + n > Number(args['mined-bytes'])) break;
  minedRest.push(t);
  bytes += n;
}
minedRest.sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || (a.id < b.id ? -1 : 1));

fs.mkdirSync(outDir, { recursive: true });
writeJsonlAtomic(path.join(outDir, 'train.jsonl'), train);
writeJsonlAtomic(path.join(outDir, 'heldout.jsonl'), heldout);
writeJsonlAtomic(path.join(outDir, 'mined.jsonl'), minedRest);
const kinds = (ts: Task[]) => Object.fromEntries([...new Set(ts.map((t) => t.source))].map((k) => [k, ts.filter((t) => t.source === k).length]));
writeJsonAtomic(path.join(outDir, 'manifest.json'), {
  command: `node --import tsx scripts/make-default-data.ts --rev ${rev.slice(0, 12)}${minedRev ? ` --mined-rev ${minedRev.slice(0, 12)}` : ' --skip-mined'} --seed ${seed} --window-lines ${args['window-lines']} --prompt-bytes ${promptBytes} --split-by ${splitBy}`,
  synthRev: rev, minedRev, seed, splitBy, promptBytes, windowLines: Number(args['window-lines']),
  train: { count: train.length, sources: kinds(train) },
  heldout: { count: heldout.length, sources: kinds(heldout), files: [...new Set(heldout.map((t) => t.changes[0].path))].sort() },
  mined: { count: minedRest.length, found: mined.length, inDemoSets: minedSmall.length },
});
log(`default data → ${path.relative(process.cwd(), outDir) || '.'}: train ${train.length}, held-out ${heldout.length} ` +
  `(by ${splitBy}; ${s.moved} moved, ${s.dropped} dropped for leakage), mined ${minedRest.length} of ${mined.length} (${minedSmall.length} small enough for the demo sets)`);
if (train.length < nTrain || heldout.length < nHeld) log(`warning: fewer tasks than asked (train ${train.length}/${nTrain}, held-out ${heldout.length}/${nHeld}); the source offers too few small windows`);

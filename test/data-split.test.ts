// Run: node --import tsx --test test/data-split.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitTasks, parseHeldout, leaks, changeKey, textKey, shortfallWarning } from '../src/data/split.ts';
import { Rng } from '../src/util/rng.ts';
import type { Task } from '../src/data/task.ts';
import { UserError } from '../src/util/errors.ts';
import { tempDir } from './helpers/tmp.ts';

function task(id: string, o: { time?: number; repo?: string; text?: string; old?: string; new?: string; path?: string; group?: string } = {}): Task {
  return {
    id, repo: o.repo ?? 'r', base: 'b', source: 'commit', time: o.time, ...(o.group ? { group: o.group } : {}), text: o.text ?? `task ${id}`,
    changes: [{ path: o.path ?? `${id}.ts`, old: o.old ?? `const ${id} = 1;\n`, new: o.new ?? `const ${id} = 2;\n` }],
    context: [], stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 10, language: 'typescript' },
  };
}

test('parseHeldout: percentages, fractions and counts; nonsense refused', () => {
  assert.equal(parseHeldout('10%'), 0.1);
  assert.equal(parseHeldout('0.25'), 0.25);
  assert.equal(parseHeldout('100'), 100);
  for (const bad of ['0', '-5%', 'abc', '1.5', '100%']) assert.throws(() => parseHeldout(bad), UserError, bad);
});

test('keys: whitespace and path do not hide a shared change; text compares normalized', () => {
  const a = task('a', { old: 'if (x <  1) go();\n', new: 'if (x <= 1) go();\n', path: 'p/a.ts' });
  const b = task('b', { old: 'if (x < 1) go();\n', new: 'if (x <= 1)  go();\n', path: 'q/b.ts' });
  assert.equal(changeKey(a), changeKey(b));
  assert.notEqual(changeKey(a), changeKey(task('c')));
  assert.equal(textKey(task('x', { text: 'Fix  the\nBug' })), textKey(task('y', { text: 'fix the bug ' })));
  // A change of two files is one change whichever order its files come in (mine sorts them by path, import keeps the patch's order).
  const two = task('m');
  two.changes.push(task('n').changes[0]);
  const swapped = { ...two, id: 'swapped', changes: [...two.changes].reverse() };
  assert.equal(changeKey(two), changeKey(swapped));
  assert.notEqual(changeKey(two), changeKey(task('m')));
  // The same lines added, which the diff aligns otherwise (a blank line before or after the new one): one change (psf/requests' docs).
  const intro = task('i', { old: 'Title\n\nBody\n', new: 'Title\n\n.. image:: logo.png\n\nBody\n', path: 'docs/intro.rst' });
  const index = task('j', { old: 'Title\nBody\n', new: 'Title\n\n  .. image:: logo.png\nBody\n', path: 'docs/index.rst' });
  assert.equal(changeKey(intro), changeKey(index));
});

test('split by time: newest held out; tasks sharing a change or text with train are moved to train', () => {
  const tasks = Array.from({ length: 20 }, (_, i) => task(`t${String(i).padStart(2, '0')}`, { time: 1000 + i }));
  // Held-out candidates (newest four: t16..t19) that collide with train tasks:
  tasks[19] = task('t19', { time: 1019, text: tasks[2].text }); // same text as an old task
  tasks[18] = task('t18', { time: 1018, old: tasks[3].changes[0].old!, new: tasks[3].changes[0].new!, path: 'elsewhere.ts' }); // same change
  // t17 collides only with t19 (a held-out task that leaks): it must leave held-out too.
  tasks[17] = task('t17', { time: 1017, old: tasks[19].changes[0].old!, new: tasks[19].changes[0].new! });
  const r = splitTasks(tasks, { heldout: 0.2, by: 'time', seed: 1 });
  assert.deepEqual(r.heldout.map((t) => t.id), ['t16']);
  assert.equal(r.train.length, 19);
  assert.equal(r.moved, 3);
  assert.equal(r.dropped, 0);
  assert.equal(r.sharedChange, 1);
  assert.equal(r.sharedText, 1);
  assert.deepEqual(leaks(r.train, r.heldout), []);
  // Without the fix-up there would have been leaks: the check itself works.
  assert.ok(leaks(tasks.slice(0, 16), tasks.slice(16)).length >= 2);
});

test('split by repo: whole repos held out; colliding held-out tasks are dropped, not moved', () => {
  const tasks: Task[] = [];
  for (const repo of ['a', 'b', 'c', 'd', 'e']) for (let i = 0; i < 4; i++) tasks.push(task(`${repo}${i}`, { repo }));
  // Every repo has one task with the same text as a task of repo "a".
  for (const repo of ['b', 'c', 'd', 'e']) tasks[tasks.findIndex((t) => t.id === `${repo}0`)].text = 'task a0';
  const r = splitTasks(tasks, { heldout: 4, by: 'repo', seed: 3 });
  const heldRepos = new Set(r.heldout.map((t) => t.repo));
  const trainRepos = new Set(r.train.map((t) => t.repo));
  for (const repo of heldRepos) assert.ok(!trainRepos.has(repo), `repo ${repo} on both sides`);
  assert.equal(heldRepos.size, 1);
  assert.equal(r.heldout.length, 3);
  assert.equal(r.dropped, 1);
  assert.equal(r.train.length + r.heldout.length + r.dropped, tasks.length);
  assert.deepEqual(leaks(r.train, r.heldout), []);
  assert.throws(() => splitTasks(tasks.filter((t) => t.repo === 'a'), { heldout: 0.5, by: 'repo', seed: 1 }), UserError);
});

test('split by time: a PR (Task.group: a merge and the commits it brought in) goes whole to one side, held out at its merge\'s time', () => {
  const tasks = Array.from({ length: 20 }, (_, i) => task(`t${String(i).padStart(2, '0')}`, { time: 1000 + i }));
  // t19 merged a PR whose commits t03 and t05 were written long before: they landed with it, newest.
  for (const i of [3, 5, 19]) tasks[i].group = 'pr19';
  // The PR of t10, t16 and t17 is at the boundary: 4 + 3 tasks is further from 5 than 4, so it stays in train whole.
  for (const i of [10, 16, 17]) tasks[i].group = 'pr17';
  // The same sha in another repo is another PR.
  tasks[0] = task('t00', { time: 1000, repo: 'other', group: 'pr19' });
  const r = splitTasks(tasks, { heldout: 5, by: 'time', seed: 1 });
  assert.deepEqual(r.heldout.map((t) => t.id), ['t03', 't05', 't18', 't19']);
  assert.deepEqual([r.picked, r.moved, r.sharedGroup, r.sharedChange, r.sharedText], [4, 0, 0, 0, 0]);
  // 6 asked: 4 + 3 is nearer than 4, so that PR is held out whole.
  assert.deepEqual(splitTasks(tasks, { heldout: 6, by: 'time', seed: 1 }).heldout.map((t) => t.id), ['t03', 't05', 't10', 't16', 't17', 't18', 't19']);
  assert.ok(r.train.some((t) => t.id === 't00'));
  assert.deepEqual(leaks(r.train, r.heldout), []);
  assert.equal(shortfallWarning(r, 'time'), undefined);
  // The check sees a PR on both sides.
  assert.deepEqual(leaks(tasks.filter((t) => t.id !== 't05'), [tasks[5]]), ['t05: PR pr19 also in train']);
});

test('split by repo, file and random: a PR stays on one side; random picks whole PRs, and without PRs the same tasks as before', () => {
  // By repo: PRs of the same sha in two repos are two PRs, so each repo goes whole where it is picked.
  const tasks: Task[] = [];
  for (const repo of ['a', 'b', 'c', 'd']) for (let i = 0; i < 4; i++) tasks.push(task(`${repo}${i}`, { repo, group: i < 2 ? 'pr' : undefined }));
  const r = splitTasks(tasks, { heldout: 4, by: 'repo', seed: 3 });
  assert.equal(r.heldout.length, 4);
  assert.equal(new Set(r.heldout.map((t) => t.repo)).size, 1);
  assert.deepEqual([r.dropped, r.sharedGroup], [0, 0]);
  assert.deepEqual(leaks(r.train, r.heldout), []);
  // By file: a held-out file's task whose PR touched another file in train is dropped, and counted.
  const files = Array.from({ length: 40 }, (_, i) => task(`f${i}`, { path: `p${i % 10}.ts`, group: i === 1 || i === 2 ? 'pr' : undefined }));
  let split = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const byFile = splitTasks(files, { heldout: 0.1, by: 'file', seed });
    assert.deepEqual(leaks(byFile.train, byFile.heldout), []);
    const held = byFile.heldout.length + byFile.dropped === 4 && ['p1.ts', 'p2.ts'].includes(byFile.heldout[0].changes[0].path);
    if (held) split++;
    assert.deepEqual([byFile.dropped, byFile.sharedGroup], held ? [1, 1] : [0, 0], `seed ${seed}`);
  }
  assert.ok(split > 0, 'some seed holds out a file of the PR');
  // Random: 50 PRs of 4 tasks; 10 % is 5 whole PRs, nothing moved (task by task, most PRs would straddle).
  const prs = Array.from({ length: 200 }, (_, i) => task(`u${i}`, { group: `pr${i % 50}` }));
  for (const seed of [1, 2, 3]) {
    const x = splitTasks(prs, { heldout: 0.1, by: 'random', seed });
    assert.deepEqual([x.heldout.length, x.moved, x.sharedGroup], [20, 0, 0], `seed ${seed}`);
    assert.equal(new Set(x.heldout.map((t) => t.group)).size, 5);
    assert.deepEqual(leaks(x.train, x.heldout), []);
  }
  // Tasks of no PR are picked as they were: the seeded shuffle of all tasks, its first 10 %.
  const clean = Array.from({ length: 200 }, (_, i) => task(`v${i}`));
  const want = new Rng(7).shuffle([...clean.keys()]).slice(0, 20).sort((a, b) => a - b).map((i) => clean[i].id);
  assert.deepEqual(splitTasks(clean, { heldout: 0.1, by: 'random', seed: 7 }).heldout.map((t) => t.id), want);
});

test('split by time and random: a PR larger than the held-out size asked is held out whole, not moved to train leaving nothing', () => {
  // Like a mined history: each PR is a merge and its two commits, with a mainline commit between PRs.
  const tasks: Task[] = [];
  for (let p = 0; p < 5; p++) {
    tasks.push(task(`main${p}`, { time: 100 * p }));
    for (let k = 0; k < 3; k++) tasks.push(task(`pr${p}-${k}`, { time: 100 * p + 10 + k, group: `m${p}` }));
  }
  for (const heldout of [1, 2, 0.1]) {
    const r = splitTasks(tasks, { heldout, by: 'time', seed: 1 });
    assert.deepEqual(r.heldout.map((t) => t.id), ['pr4-0', 'pr4-1', 'pr4-2'], `--heldout ${heldout}`);
    assert.deepEqual([r.moved, r.sharedGroup], [0, 0]);
  }
  assert.match(shortfallWarning(splitTasks(tasks, { heldout: 1, by: 'time', seed: 1 }), 'time') ?? '', /held out 3 tasks, asked for 1: --by time holds out whole PRs/);
  for (let seed = 1; seed <= 10; seed++) {
    const r = splitTasks(tasks, { heldout: 3, by: 'random', seed });
    assert.equal(r.heldout.length, 3, `seed ${seed}`);
    assert.deepEqual([r.moved, r.sharedGroup], [0, 0]);
    assert.deepEqual(leaks(r.train, r.heldout), []);
    const one = splitTasks(tasks, { heldout: 1, by: 'random', seed });
    assert.equal(one.heldout.length, 1, `seed ${seed}`);
    assert.equal(one.heldout[0].group, undefined);
  }
  // The merge's change is also an imported task's in train: its commits go to train with it, and the warning names the PR.
  const imported = [...tasks, task('imp', { time: 1, old: tasks[17].changes[0].old!, new: tasks[17].changes[0].new! })];
  const moved = splitTasks(imported, { heldout: 3, by: 'time', seed: 1 });
  assert.deepEqual([moved.heldout.length, moved.moved, moved.sharedChange, moved.sharedGroup, moved.lostWithPr], [0, 3, 1, 0, 3]);
  assert.match(shortfallWarning(moved, 'time') ?? '', /held-out set is empty, asked for 3: 3 shared a change, task text or PR with train and were moved to train: no change, task text or PR is on both sides/);
  // No task outside a PR: the smallest PR, whole.
  const prs = tasks.filter((t) => t.group);
  assert.equal(splitTasks(prs, { heldout: 1, by: 'random', seed: 1 }).heldout.length, 3);
  // One PR of all tasks is never held out whole: nothing would be left to train on.
  for (const by of ['time', 'random'] as const) {
    const one = splitTasks(prs.slice(0, 3), { heldout: 1, by, seed: 1 });
    assert.deepEqual([one.train.length, one.heldout.length], [3, 0], by);
  }
});

test('split --by file: no train task changes a held-out file; a task changing held-out and train files is on neither side, a rename\'s old path counts', () => {
  // Tasks of one to three of 12 files; every fifth a rename from a file of its own.
  const multi = (id: string, paths: string[], oldPath?: string): Task => ({
    ...task(id), changes: paths.map((p, j) => ({ path: p, ...(j === 0 && oldPath ? { oldPath } : {}), old: `${id} ${p} 1\n`, new: `${id} ${p} 2\n` })),
  });
  const tasks = Array.from({ length: 120 }, (_, i) => multi(`m${i}`, [...new Set([`f${i % 12}.ts`, `f${(i * 7) % 12}.ts`, `f${(i * 5) % 12}.ts`].slice(0, 1 + (i % 3)))], i % 5 === 0 ? `old${i % 4}.ts` : undefined));
  const files = (t: Task) => t.changes.flatMap((c) => (c.oldPath ? [c.path, c.oldPath] : [c.path]));
  let overlaps = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const r = splitTasks(tasks, { heldout: 0.15, by: 'file', seed });
    const held = new Set(r.heldout.flatMap(files));
    assert.ok(r.heldout.length > 0, `seed ${seed}`);
    assert.deepEqual(r.train.filter((t) => files(t).some((f) => held.has(f))).map((t) => t.id), [], `seed ${seed}: train tasks change held-out files`);
    const off = tasks.filter((t) => !r.train.includes(t) && !r.heldout.includes(t));
    assert.equal(off.length, r.overlap + r.dropped, `seed ${seed}`);
    for (const t of off) assert.ok(files(t).some((f) => held.has(f)) || r.dropped > 0, `seed ${seed}: ${t.id} left out without a held-out file`);
    assert.deepEqual(leaks(r.train, r.heldout), []);
    overlaps += r.overlap;
  }
  assert.ok(overlaps > 0, 'some seed leaves a task that changes held-out and train files on neither side');
  // The same task set with one file each: nothing is on neither side.
  assert.equal(splitTasks(tasks.map((t) => ({ ...t, changes: t.changes.slice(0, 1).map(({ oldPath, ...c }) => (void oldPath, c)) })), { heldout: 0.15, by: 'file', seed: 1 }).overlap, 0);
  // Every task changes the same two files: nothing can be held out with a train set left.
  // No train set left (every task changes a file the held-out ones change): refused, for every seed.
  const noTrain = /every task changes a file that others change too, so no files can be held out with tasks left to train on/;
  for (const set of [[multi('a', ['x', 'y']), multi('b', ['x', 'y'])], [multi('a', ['a']), multi('b', ['a', 'b'])], [multi('a', ['x', 'y']), multi('b', ['y', 'z']), multi('c', ['z', 'x'])]])
    for (let seed = 1; seed <= 5; seed++) assert.throws(() => splitTasks(set, { heldout: 0.1, by: 'file', seed }), (e: Error) => e instanceof UserError && noTrain.test(e.message), `seed ${seed}`);
  // A file changed along with many others (a changelog) is not taken to complete one task: that would put
  // the tasks of all those other files on neither side.
  const log = [multi('c0', ['CHANGES.md']), ...Array.from({ length: 100 }, (_, i) => multi(`c${i + 1}`, ['CHANGES.md', `src${i}.ts`])), ...Array.from({ length: 100 }, (_, i) => multi(`s${i}`, [`lib${i}.ts`]))];
  for (let seed = 1; seed <= 12; seed++) {
    const r = splitTasks(log, { heldout: 0.1, by: 'file', seed });
    assert.deepEqual([r.heldout.length, r.overlap], [20, 0], `seed ${seed}`);
  }
  // A task on neither side links nothing: a held-out task whose text only such a task shares stays held out.
  // (h shares o's text; t makes o's change, in files b and c: changeKey leaves paths out.)
  const o = { ...multi('o', ['a', 'b']), text: 'same text' };
  const linked = [{ ...multi('h', ['a']), text: 'same text' }, o, { ...multi('t', ['b', 'c']), changes: o.changes.map((c, j) => ({ ...c, path: ['b', 'c'][j] })) },
    ...Array.from({ length: 6 }, (_, i) => multi(`u${i}`, [`u${i}.ts`]))];
  assert.equal(changeKey(linked[1]), changeKey(linked[2]));
  let seen = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const r = splitTasks(linked, { heldout: 1, by: 'file', seed });
    if (!r.heldout.some((t) => t.id === 'h') && r.dropped === 0) continue;
    seen++;
    assert.deepEqual([r.heldout.map((t) => t.id), r.dropped], [['h'], 0], `seed ${seed}`);
  }
  assert.ok(seen > 0, 'some seed holds out file a');
});

test('split random and file: seeded, sized, leak-free on a set full of collisions', () => {
  const tasks = Array.from({ length: 200 }, (_, i) =>
    task(`t${i}`, { text: `fix ${i % 37}`, old: `x = ${i % 53};\n`, new: `x = ${(i % 53) + 1};\n`, path: `f${i % 9}.ts` }));
  const a = splitTasks(tasks, { heldout: 0.1, by: 'random', seed: 5 });
  const b = splitTasks(tasks, { heldout: 0.1, by: 'random', seed: 5 });
  assert.deepEqual(a.heldout.map((t) => t.id), b.heldout.map((t) => t.id));
  assert.deepEqual(leaks(a.train, a.heldout), []);
  assert.equal(a.train.length + a.heldout.length, 200);
  const clean = Array.from({ length: 200 }, (_, i) => task(`u${i}`, { path: `f${i % 10}.ts` }));
  const f = splitTasks(clean, { heldout: 0.1, by: 'file', seed: 2 });
  assert.equal(f.heldout.length, 20);
  const heldFiles = new Set(f.heldout.map((t) => t.changes[0].path));
  assert.ok(f.train.every((t) => !heldFiles.has(t.changes[0].path)));
  const r = splitTasks(clean, { heldout: 0.1, by: 'random', seed: 2 });
  assert.equal(r.heldout.length, 20);
  assert.notDeepEqual(r.heldout.map((t) => t.id), splitTasks(clean, { heldout: 0.1, by: 'random', seed: 3 }).heldout.map((t) => t.id));
});

/** `tasks` as dir/tasks.jsonl, and `pr-rl split` run in a folder. */
const ROOT = path.join(import.meta.dirname, '..');
function writeTasks(dir: string, tasks: Task[]): string {
  const f = path.join(dir, 'tasks.jsonl');
  fs.writeFileSync(f, tasks.map((t) => JSON.stringify(t) + '\n').join(''));
  return f;
}
const cli = (cwd: string, ...args: string[]) => spawnSync('node', [path.join(ROOT, 'bin/pr-rl.js'), 'split', ...args], { cwd, encoding: 'utf8' });

test('split CLI: default output names, counts printed', () => {
  const dir = tempDir('prrl-split-');
  const tasks = Array.from({ length: 10 }, (_, i) => task(`t${i}`, { time: i, text: i === 9 ? 'task t0' : undefined, group: i === 1 || i === 7 ? 'pr' : undefined }));
  writeTasks(dir, tasks);
  const r = cli(dir, 'tasks.jsonl', '--heldout', '30%');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /train 9 .*held-out 1 .*0 shared change, 1 shared text, 0 shared PR → 1 moved to train, 0 dropped/);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Task);
  assert.deepEqual(read('tasks.heldout.jsonl').map((t) => t.id), ['t8']);
  assert.equal(read('tasks.train.jsonl').length, 9);
  // t9 shares its text with t0 and takes its PR (t8) to train with it: the summary says why t8 went.
  writeTasks(dir, tasks.map((t, i) => ({ ...t, group: i >= 8 ? 'pr2' : undefined })));
  const g = cli(dir, 'tasks.jsonl', '--heldout', '30%');
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stderr, /held-out 1 .*0 shared change, 1 shared text, 0 shared PR → 2 moved to train, 0 dropped \(2 of them with their PR\)/);
  assert.deepEqual(read('tasks.heldout.jsonl').map((t) => t.id), ['t7']);
});

test('split CLI: outputs that are the same file, or the input, are refused before anything is written', () => {
  const dir = tempDir('prrl-split-');
  const input = writeTasks(dir, Array.from({ length: 10 }, (_, i) => task(`t${i}`, { time: i })));
  const before = fs.readFileSync(input, 'utf8');
  for (const outs of [['a.jsonl', 'a.jsonl'], ['./a.jsonl', 'a.jsonl'], [path.join(dir, 'a.jsonl'), 'sub/../a.jsonl'], ['tasks.jsonl', 'h.jsonl'], ['t.jsonl', './tasks.jsonl']]) {
    const r = cli(dir, 'tasks.jsonl', '--out-train', outs[0], '--out-heldout', outs[1]);
    assert.equal(r.status, 1, `${outs}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /same file|input file/);
    assert.deepEqual(fs.readdirSync(dir), ['tasks.jsonl'], String(outs));
    assert.equal(fs.readFileSync(input, 'utf8'), before);
  }
  // Through links: a link to the input, or the input through a linked folder, is the input; two names of one new file are one file.
  fs.symlinkSync('tasks.jsonl', path.join(dir, 'link.jsonl'));
  fs.symlinkSync('.', path.join(dir, 'alias'));
  for (const args of [['link.jsonl', '--out-train', 'tasks.jsonl'], ['alias/tasks.jsonl', '--out-heldout', 'tasks.jsonl'], ['tasks.jsonl', '--out-train', 'n.jsonl', '--out-heldout', 'alias/n.jsonl']]) {
    const r = cli(dir, ...args);
    assert.equal(r.status, 1, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /^pr-rl: (split: --out-train and --out-heldout are the same file|--out-(train|heldout) .* is the input file)/, String(args));
    assert.equal(fs.readFileSync(input, 'utf8'), before);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['alias', 'link.jsonl', 'tasks.jsonl'], String(args));
  }
  assert.equal(cli(dir, 'tasks.jsonl', '--out-train', 'a.jsonl', '--out-heldout', 'b.jsonl').status, 0);
});

test('split CLI --by time: tasks of one time parted by id, or with no time, are warned about', () => {
  const dir = tempDir('prrl-split-');
  writeTasks(dir, Array.from({ length: 10 }, (_, i) => task(`t${i}`, { time: i < 6 ? i : 6 })));
  const r = cli(dir, 'tasks.jsonl', '--heldout', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /split: warning: --by time: 2 tasks left in train have the time the held-out set starts at, so those were parted by id; --by random/);
  writeTasks(dir, Array.from({ length: 10 }, (_, i) => task(`t${i}`, { time: i < 3 ? undefined : i })));
  const u = cli(dir, 'tasks.jsonl', '--heldout', '2');
  assert.match(u.stderr, /split: warning: --by time: 3 tasks have no time \(taken as the oldest\); --by random/);
  assert.ok(!/tasks left in train/.test(u.stderr), u.stderr);
  writeTasks(dir, Array.from({ length: 10 }, (_, i) => task(`t${i}`, { time: i })));
  assert.doesNotMatch(cli(dir, 'tasks.jsonl', '--heldout', '2').stderr, /warning/);
});

test('split CLI: Ctrl-C while the outputs are written ends the run by SIGINT, leaving the old outputs and no temp file', { skip: process.platform === 'win32' && 'POSIX signals' }, async () => {
  const dir = tempDir('prrl-split-');
  const files = ['train.jsonl', 'heldout.jsonl'].map((f) => path.join(dir, f));
  for (const f of files) fs.writeFileSync(f, 'old\n');
  // Records that take a while to write, and a SIGINT sent while the first file is being written.
  const script = `import { writeJsonlFilesAtomic } from ${JSON.stringify(path.join(ROOT, 'src/util/fsx.ts'))};
    function* slow() { for (let i = 0; i < 400; i++) { if (i === 10) process.kill(process.pid, 'SIGINT'); const t = Date.now(); while (Date.now() - t < 2); yield { i }; } }
    await writeJsonlFilesAtomic([[${JSON.stringify(files[0])}, slow()], [${JSON.stringify(files[1])}, [{ h: 1 }]]]);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.signal, 'SIGINT', `status ${r.status}: ${r.stderr}`);
  for (const f of files) assert.equal(fs.readFileSync(f, 'utf8'), 'old\n');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['heldout.jsonl', 'train.jsonl'], 'no temp file');
});

test('split CLI: the two outputs are written both or neither; an empty --seed is refused', () => {
  const dir = tempDir('prrl-split-');
  writeTasks(dir, Array.from({ length: 40 }, (_, i) => task(`t${i}`, { time: i })));
  assert.equal(cli(dir, 'tasks.jsonl', '--by', 'random', '--seed', '1').status, 0);
  const files = ['tasks.train.jsonl', 'tasks.heldout.jsonl'];
  const before = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  // The held-out output cannot be written (a file stands where its folder would be): the train file stays the old one too.
  const r = cli(dir, 'tasks.jsonl', '--by', 'random', '--seed', '2', '--out-heldout', 'tasks.heldout.jsonl/x');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr.trim(), /^pr-rl: cannot write .*tasks\.heldout\.jsonl\/x/);
  assert.deepEqual(files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), before);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['tasks.heldout.jsonl', 'tasks.jsonl', 'tasks.train.jsonl'], 'no temp file left');
  // A folder as an output: refused before any work, nothing replaced, no temp file.
  fs.mkdirSync(path.join(dir, 'adir'));
  const folder = cli(dir, 'tasks.jsonl', '--by', 'random', '--seed', '2', '--out-heldout', 'adir');
  assert.equal(folder.status, 1, folder.stderr);
  assert.equal(folder.stderr, 'pr-rl: --out-heldout adir is a folder; give a file to write\n');
  assert.deepEqual(files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), before);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['adir', 'tasks.heldout.jsonl', 'tasks.jsonl', 'tasks.train.jsonl']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'adir')), []);
  // A folder that does not exist yet (a trailing slash) or an empty name: refused before any work too, so
  // that the train file is not renamed into place before the held-out file's rename fails.
  for (const [flag, out, msg] of [['--out-heldout', 'newdir/', '--out-heldout newdir/ is a folder'], ['--out-heldout', '', '--out-heldout is empty'], ['--out-train', 'x/', '--out-train x/ is a folder'], ['--out-heldout', 'nd/.', '--out-heldout nd/. is a folder'], ['--out-heldout', 'nd/..', '--out-heldout nd/.. is a folder']]) {
    const r = cli(dir, 'tasks.jsonl', '--by', 'random', '--seed', '3', '--out-train', 'fresh.train.jsonl', flag, out);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `pr-rl: ${msg}; give a file to write\n`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['adir', 'tasks.heldout.jsonl', 'tasks.jsonl', 'tasks.train.jsonl'], `${flag} "${out}": nothing written`);
  }
  const empty = cli(dir, 'tasks.jsonl', '--seed', '');
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /--seed must be an integer from 0 to 4294967295 \(got ""\)/);
  // Past 2^32 − 1 a seed would name the same stream as a smaller one (the generator takes 32 bits).
  assert.match(cli(dir, 'tasks.jsonl', '--seed', '4294967296').stderr, /^pr-rl: --seed must be an integer from 0 to 4294967295 \(got "4294967296"\)$/m);
});

test('split: a held-out count not below the number of tasks is refused, naming both', () => {
  const tasks = Array.from({ length: 34 }, (_, i) => task(`t${i}`, { time: i }));
  for (const heldout of [1000, 34])
    assert.throws(() => splitTasks(tasks, { heldout, by: 'time', seed: 1 }), (e: Error) => e instanceof UserError && e.message.includes(String(heldout)) && e.message.includes('34'));
  assert.equal(splitTasks(tasks, { heldout: 33, by: 'time', seed: 1 }).heldout.length, 33);
  assert.equal(splitTasks(tasks, { heldout: parseHeldout('10%'), by: 'time', seed: 1 }).heldout.length, 3);
  // A large fraction still leaves a train set.
  assert.equal(splitTasks(tasks.slice(0, 2), { heldout: 0.9, by: 'time', seed: 1 }).train.length, 1);
});

test('split: a held-out set far smaller than asked is warned about, with the reason', () => {
  // Like `pr-rl synth` output: the same few old→new edits repeated across 30 files; only one task per file
  // (the first 30) has an edit of its own, so each held-out file keeps one task.
  const tasks = Array.from({ length: 300 }, (_, i) => task(`t${i}`, {
    path: `f${i % 30}.ts`, ...(i < 30 ? { old: `y = ${i};\n`, new: `y = ${i + 1};\n` } : { old: `x = ${i % 4};\n`, new: `x = ${(i % 4) + 1};\n` }),
  }));
  const r = splitTasks(tasks, { heldout: 0.2, by: 'file', seed: 1 });
  assert.deepEqual([r.target, r.heldout.length, r.dropped], [60, 6, 54]);
  const w = shortfallWarning(r, 'file');
  assert.match(w ?? '', /held out 6 tasks, asked for 60: 54 shared a change or task text with train and were dropped \(moving them to train would split their file\): no change or task text is on both sides/);
  // Far more than asked (whole files, none small enough) is warned about too.
  const two = Array.from({ length: 33 }, (_, i) => task(`w${i}`, { path: `g${i % 2}.ts`, old: `z = ${i};\n`, new: `z = ${i + 1};\n` }));
  const over = splitTasks(two, { heldout: 0.1, by: 'file', seed: 1 });
  assert.ok(over.heldout.length > 2 * over.target, `${over.heldout.length} of ${over.target}`);
  assert.match(shortfallWarning(over, 'file') ?? '', new RegExp(`held out ${over.heldout.length} tasks, asked for ${over.target}: --by file holds out whole files`));
  // Empty still warns; a clean split does not.
  const empty = splitTasks(tasks.slice(30), { heldout: 0.2, by: 'file', seed: 1 });
  assert.match(shortfallWarning(empty, 'file') ?? '', /held-out set is empty, asked for 54/);
  const clean = Array.from({ length: 200 }, (_, i) => task(`u${i}`, { path: `f${i % 10}.ts` }));
  assert.equal(shortfallWarning(splitTasks(clean, { heldout: 0.1, by: 'file', seed: 2 }), 'file'), undefined);

  const dir = tempDir('prrl-split-');
  writeTasks(dir, tasks);
  const c = cli(dir, 'tasks.jsonl', '--heldout', '20%', '--by', 'file');
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stderr, /warning: held out 6 tasks, asked for 60: .*no change or task text is on both sides/);
});

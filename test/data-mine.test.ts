// Run: node --import tsx --test test/data-mine.test.ts
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mine, classify, uniqueNames } from '../src/data/mine.ts';
import { importRecords } from '../src/data/import.ts';
import { validateTask, type Task } from '../src/data/task.ts';
import { diffArrays, structuredPatch } from 'diff';
import { diffLines, fileDiff } from '../src/data/linediff.ts';
import { diffCommit } from '../src/data/diffpool.ts';
import { COMMIT_FILTERS, decodeText, pathReason } from '../src/data/filter.ts';
import { gitRaw, LogParser, logArgs, parseLog, streamCommits } from '../src/data/git.ts';
import { Rng } from '../src/util/rng.ts';
import { fixture, gitEnv, processes, tick, tmpDir } from './data-gitfixture.ts';
import { readPrGroups } from '../src/data/prgroups.ts';

const byText = (tasks: Task[], text: string) => tasks.find((t) => t.text.startsWith(text));

test('merge, squash and commit sources give the right text, base and changes', async () => {
  const f = fixture();
  f.write('src/a.ts', 'export const a = 1;\n');
  f.write('old.txt', 'to be removed\n');
  f.write('src/name.ts', 'export function name() {\n  return "x";\n}\n// padding so that rename detection sees a similar file\n// more padding\n');
  const root = f.commit('initial');
  f.write('src/a.ts', 'export const a = 2;\n');
  f.commit('Change a to two\n\nBecause two is better.\n\nSigned-off-by: Ada <ada@example.com>');
  const beforeSquash = f.git('rev-parse', 'HEAD');
  f.rm('old.txt');
  f.commit('Remove old file (#12)\n\nIt was unused.');
  // A PR branch with an added file and a rename with an edit, merged with --no-ff.
  f.git('checkout', '-q', '-b', 'feature');
  f.write('src/b.ts', 'export const b = 3;\n');
  f.git('mv', 'src/name.ts', 'src/names.ts');
  f.write('src/names.ts', 'export function name() {\n  return "y";\n}\n// padding so that rename detection sees a similar file\n// more padding\n');
  f.commit('wip');
  f.git('checkout', '-q', 'main');
  const firstParent = f.git('rev-parse', 'HEAD');
  tick();
  f.git('merge', '-q', '--no-ff', 'feature', '-m', 'Merge pull request #7 from ada/feature\n\nAdd b and rename name\n\nThe body of the PR.');
  const merge = f.git('rev-parse', 'HEAD');

  const { tasks, stats } = await mine([f.dir], { contextFiles: 0 });
  for (const t of tasks) validateTask(JSON.parse(JSON.stringify(t)), t.id);

  const m = tasks.find((t) => t.source === 'merge')!;
  assert.equal(m.text, 'Add b and rename name\n\nThe body of the PR.');
  assert.equal(m.base, firstParent);
  assert.equal(m.id.endsWith(merge.slice(0, 12)), true);
  const added = m.changes.find((c) => c.path === 'src/b.ts')!;
  assert.equal(added.old, null);
  assert.equal(added.new, 'export const b = 3;\n');
  const renamed = m.changes.find((c) => c.path === 'src/names.ts')!;
  assert.equal(renamed.oldPath, 'src/name.ts');
  assert.match(renamed.old!, /return "x"/);
  assert.match(renamed.new!, /return "y"/);
  assert.deepEqual({ added: m.stats.added, removed: m.stats.removed, files: m.stats.files, hunks: m.stats.hunks, language: m.stats.language },
    { added: 2, removed: 1, files: 2, hunks: 2, language: 'typescript' });
  assert.ok(m.stats.promptTokens > 0);

  const s = tasks.find((t) => t.source === 'squash')!;
  assert.equal(s.text, 'Remove old file\n\nIt was unused.');
  assert.equal(s.base, beforeSquash);
  assert.deepEqual(s.changes, [{ path: 'old.txt', old: 'to be removed\n', new: null }]);

  const c = byText(tasks, 'Change a to two')!;
  assert.equal(c.source, 'commit');
  assert.equal(c.text, 'Change a to two\n\nBecause two is better.', 'trailers are dropped');
  assert.deepEqual(c.changes, [{ path: 'src/a.ts', old: 'export const a = 1;\n', new: 'export const a = 2;\n' }]);

  // The PR's only commit makes the same change as its merge: kept once (the merge, seen first).
  assert.equal(stats.dropped.get('duplicate'), 1);
  assert.equal(stats.dropped.get('root-commit'), 1);
  assert.equal(tasks.some((t) => t.id.endsWith(root.slice(0, 12))), false);

  const only = await mine([f.dir], { sources: 'merge', contextFiles: 0, explain: true });
  assert.deepEqual(only.tasks.map((t) => t.source), ['merge']);
  // Every commit is accounted for: kept, dropped, or no candidate (here: of a source left out).
  const total = (r: typeof only) => r.stats.kept + r.stats.droppedTotal + [...r.stats.passed.values()].reduce((a, b) => a + b, 0);
  assert.equal(total(only), only.commits);
  assert.equal(only.stats.passed.get('source-not-chosen'), only.commits - 1 - only.stats.droppedTotal);
  assert.ok(only.stats.explanations.some((e) => /^pass .*"Change a to two": not a candidate \(source-not-chosen\)/.test(e)));
  assert.match(only.stats.summary(), /; not candidates: source-not-chosen \d+; files skipped: /);
  const noMerge = await mine([f.dir], { sources: 'squash,commit', contextFiles: 0 });
  assert.equal(noMerge.tasks.some((t) => t.text === 'wip'), true, 'without merges the PR commit is no longer a duplicate');
  await assert.rejects(mine([f.dir], { sources: 'merge,rebase' }), /unknown source "rebase"/);
  const limited = await mine([f.dir], { maxCommits: 1, contextFiles: 0 });
  assert.equal(limited.commits, 1);
});

test('a merge of no PR is no candidate: counted and explained apart from the drops', async () => {
  const f = fixture();
  f.write('a.txt', '1\n');
  f.commit('initial');
  f.git('checkout', '-q', '-b', 'topic');
  f.write('b.txt', 'b\n');
  f.commit('Add b');
  f.git('checkout', '-q', 'main');
  f.write('a.txt', '2\n');
  f.commit('Set a to 2');
  f.git('merge', '-q', '--no-ff', 'topic', '-m', "Merge branch 'topic'");
  const r = await mine([f.dir], { contextFiles: 0, explain: true });
  assert.deepEqual(r.tasks.map((t) => t.text).sort(), ['Add b', 'Set a to 2']);
  assert.equal(r.commits, 4);
  assert.deepEqual([...r.stats.passed], [['merge-of-no-pr', 1]]);
  assert.equal(r.stats.kept + r.stats.droppedTotal + 1, r.commits);
  assert.ok(r.stats.explanations.some((e) => /"Merge branch 'topic'": not a candidate \(merge-of-no-pr\)/.test(e)), r.stats.explanations.join('\n'));
});

test('group: every commit a PR merge brought in, and the merge itself, carry the merge\'s sha; mainline commits and those of a merge of no PR do not', async () => {
  const f = fixture();
  const head = () => f.git('rev-parse', 'HEAD');
  const merge = (branch: string, message: string) => { tick(); f.git('merge', '-q', '--no-ff', branch, '-m', message); return head(); };
  const commit = (file: string, message: string) => { f.write(file, `${file}\n`); return f.commit(message); };
  commit('base.txt', 'initial');
  commit('m1.txt', 'Main one');
  // PR #1: two commits, with main merged into the branch between them.
  f.git('checkout', '-q', '-b', 'feature');
  commit('f1.txt', 'Feature one');
  f.git('checkout', '-q', 'main');
  commit('m2.txt', 'Main two');
  f.git('checkout', '-q', 'feature');
  merge('main', "Merge branch 'main' into feature");
  commit('f2.txt', 'Feature two');
  f.git('checkout', '-q', 'main');
  const pr1 = merge('feature', 'Merge pull request #1 from ada/feature\n\nThe feature');
  // One branch merged twice: each PR claims only what it brought (the older merge first).
  f.git('checkout', '-q', '-b', 'twice');
  commit('t1.txt', 'Twice one');
  f.git('checkout', '-q', 'main');
  const pr2 = merge('twice', 'Merge pull request #2 from ada/twice\n\nFirst part');
  f.git('checkout', '-q', 'twice');
  commit('t2.txt', 'Twice two');
  f.git('checkout', '-q', 'main');
  const pr3 = merge('twice', 'Merge pull request #3 from ada/twice\n\nSecond part');
  // A long-lived branch merged by a merge of no PR: its own commits stay apart, the PR merged into it is a group.
  f.git('checkout', '-q', '-b', 'develop');
  commit('d1.txt', 'Develop one');
  f.git('checkout', '-q', '-b', 'topic');
  commit('g1.txt', 'Topic one');
  f.git('checkout', '-q', 'develop');
  const pr4 = merge('topic', 'Merge pull request #4 from ada/topic\n\nThe topic');
  f.git('checkout', '-q', 'main');
  merge('develop', "Merge branch 'develop'");
  commit('m3.txt', 'Main three (#5)');
  // A PR merged with its own title (a merge queue): a PR merge like the others.
  f.git('checkout', '-q', '-b', 'queued');
  commit('q1.txt', 'Queued one');
  commit('q2.txt', 'Queued two');
  f.git('checkout', '-q', 'main');
  const pr6 = merge('queued', 'The queued change (#6)');

  const groups = (tasks: Task[]) => Object.fromEntries(tasks.map((t) => [t.text, t.group]));
  const want = {
    'Queued two': pr6, 'Queued one': pr6, 'Main three': undefined, 'Develop one': undefined, 'Topic one': pr4, 'Twice two': pr3, 'Twice one': pr2,
    'Feature two': pr1, 'Main two': undefined, 'Feature one': pr1, 'Main one': undefined,
  };
  // The commits alone (with merges, a one-commit PR's commit is the merge's duplicate and dropped).
  const commits = await mine([f.dir], { sources: 'squash,commit', contextFiles: 0 });
  assert.deepEqual(groups(commits.tasks), want);
  const all = await mine([f.dir], { contextFiles: 0 });
  assert.deepEqual(groups(all.tasks.filter((t) => t.source === 'merge')), { 'The queued change': pr6, 'The feature': pr1, 'First part': pr2, 'Second part': pr3, 'The topic': pr4 });
  for (const t of all.tasks) {
    if (t.source !== 'merge') assert.equal(t.group, want[t.text as keyof typeof want], t.text);
    assert.equal(validateTask(JSON.parse(JSON.stringify(t)), t.id).group, t.group);
    if (!t.group) assert.equal('group' in t, false, 'no key at all where there is no group');
  }
  // A --max-commits window gives its commits the groups the whole history gives them.
  const window = await mine([f.dir], { sources: 'squash,commit', contextFiles: 0, maxCommits: 6 });
  assert.ok(window.tasks.length >= 3 && window.tasks.length < commits.tasks.length);
  for (const t of window.tasks) assert.equal(t.group, want[t.text as keyof typeof want], t.text);
});

test('readPrGroups: an abort ends the walk at once (its git process killed) and rejects, rather than waiting for the graph', async () => {
  const f = fixture();
  f.write('a.txt', 'a\n');
  f.commit('one');
  const groups = await readPrGroups(f.dir, {}, () => true);
  assert.equal(groups.size, 0); // no merge, no group
  const stop = new AbortController();
  const walk = readPrGroups(f.dir, {}, () => true, stop.signal);
  stop.abort();
  await assert.rejects(walk, (e: Error) => e.name === 'AbortError');
});

test('repos of one folder name are told apart by their parent folders', async () => {
  const info = (root: string) => ({ root, name: path.basename(root), head: 'h', shallow: false });
  const names = (...roots: string[]) => uniqueNames(roots.map(info)).map((x) => x.name);
  assert.deepEqual(names('/w/a/r1', '/w/b/r1', '/w/c/r2'), ['a/r1', 'b/r1', 'r2']);
  assert.deepEqual(names('/p/x/r1', '/q/x/r1', '/q/y/r1'), ['p/x/r1', 'q/x/r1', 'y/r1']);
  assert.deepEqual(names('/w/r1', '/w/r1'), ['r1', 'r1'], 'one repo given twice keeps its name');
  const top = tmpDir();
  for (const d of ['a', 'b']) {
    const f = fixture(path.join(top, d, 'repo'));
    f.write('a.txt', '1\n');
    f.commit('initial');
    f.write('a.txt', `${d}\n`);
    f.commit(`Set a to ${d}`);
  }
  const r = await mine([path.join(top, 'a', 'repo'), path.join(top, 'b', 'repo')], { contextFiles: 0 });
  assert.deepEqual(r.tasks.map((t) => [t.repo, t.text, t.id.split('@')[0]]), [['a/repo', 'Set a to a', 'a/repo'], ['b/repo', 'Set a to b', 'b/repo']]);
  // A bare clone "repo.git" is named "repo", so it clashes with a work tree "repo" and both get their parent folder.
  execFileSync('git', ['clone', '-q', '--bare', path.join(top, 'b', 'repo'), path.join(top, 'c', 'repo.git')], { env: gitEnv() });
  const bare = await mine([path.join(top, 'a', 'repo'), path.join(top, 'c', 'repo.git')], { contextFiles: 0 });
  assert.deepEqual(bare.tasks.map((t) => t.repo), ['a/repo', 'c/repo']);
  // Beside its work tree (the usual `git clone --bare repo repo.git`): the folder names tell them apart.
  execFileSync('git', ['clone', '-q', '--bare', path.join(top, 'b', 'repo'), path.join(top, 'a', 'repo.git')], { env: gitEnv() });
  const beside = await mine([path.join(top, 'a', 'repo'), path.join(top, 'a', 'repo.git')], { contextFiles: 0 });
  assert.deepEqual(beside.tasks.map((t) => t.repo), ['repo', 'repo.git']);
  // One repository given as its folder, its .git folder and with a trailing slash: mined once, with a warning.
  const a = path.join(top, 'a', 'repo');
  const once = await mine([a, path.join(a, '.git'), a + '/'], { contextFiles: 0 });
  assert.deepEqual(once.tasks.map((t) => [t.repo, t.text]), [['repo', 'Set a to a']]);
  assert.equal(once.commits, 2);
  assert.deepEqual(once.warnings, [`${path.join(a, '.git')} is ${a} again: mined once`, `${a}/ is ${a} again: mined once`]);
});

test('classify: GitHub and GitLab merges, merges titled "… (#N)", squash titles, other merges ignored', () => {
  assert.deepEqual(classify({ parents: ['a', 'b'], message: 'Merge pull request #3 from x/y\n\nFix it' }), { source: 'merge', text: 'Fix it', title: 'Merge pull request #3 from x/y\nFix it' });
  // The bot filter reads a PR's merge line and title, not its description.
  const pr = classify({ parents: ['a', 'b'], message: 'Merge pull request #5 from alice/fix\n\nFix the parser\n\nAlso bumped the test timeout.' })!;
  assert.equal(pr.title, 'Merge pull request #5 from alice/fix\nFix the parser');
  assert.ok(!COMMIT_FILTERS.some((f) => f.drop({ authorName: 'Alice', authorEmail: 'a@x', title: pr.title })), 'a PR whose description says "bumped" is no bot');
  const dep = classify({ parents: ['a', 'b'], message: 'Merge pull request #6 from dependabot/npm_and_yarn/lodash-4.17.21\n\nBump lodash' })!;
  assert.ok(COMMIT_FILTERS.some((f) => f.drop({ authorName: 'Alice', authorEmail: 'a@x', title: dep.title })), 'a dependabot branch merged by a person is a bot');
  const gl = classify({ parents: ['a', 'b'], message: "Merge branch 'fix' into 'main'\n\nFix the thing\n\nRenovate-style words below: bump\n\nSee merge request grp/proj!42" })!;
  assert.equal(gl.title, "Merge branch 'fix' into 'main'\nFix the thing");
  assert.equal(classify({ parents: ['a', 'b'], message: "Merge branch 'main' into feature" }), null);
  assert.deepEqual(classify({ parents: ['a', 'b'], message: 'Fix the parser (#12)\n\nIt lost the last token.' }), { source: 'merge', text: 'Fix the parser\n\nIt lost the last token.', title: 'Fix the parser (#12)' });
  assert.equal(classify({ parents: ['a', 'b'], message: "Merge branch 'fix' into 'main'\n\nFix the thing\n\nSee merge request grp/proj!42" })!.text, 'Fix the thing');
  assert.equal(classify({ parents: ['a'], message: 'Speed up parser (#120)' })!.source, 'squash');
  assert.equal(classify({ parents: ['a'], message: 'Speed up parser #120' })!.source, 'commit');
  // A merge's line on a commit of one parent is no task text: what follows it is, if anything.
  assert.deepEqual(classify({ parents: ['a'], message: 'Merge pull request from GHSA-j8r2-6x86-q33q\n\n' }), { source: 'commit', text: '', title: 'Merge pull request from GHSA-j8r2-6x86-q33q\n' });
  assert.deepEqual(classify({ parents: ['a'], message: 'Merge pull request #150 from bo/fix\n\nFix the parser\n\nIt lost a token.' }),
    { source: 'commit', text: 'Fix the parser\n\nIt lost a token.', title: 'Merge pull request #150 from bo/fix\nFix the parser' });
  // A GitHub squash: its commits' list, a line of dashes, the trailers; the dashes go with the trailers.
  assert.equal(classify({ parents: ['a'], message: 'Fix the lexer (#7)\n\n* Fix the lexer\n\n* Add a test\n\n---------\n\nCo-authored-by: Bo <bo@x>\nSigned-off-by: Ada <a@x>' })!.text,
    'Fix the lexer\n\n* Fix the lexer\n\n* Add a test');
  assert.equal(classify({ parents: ['a'], message: 'Docs\n\nA table:\n---------\nrow' })!.text, 'Docs\n\nA table:\n---------\nrow', 'dashes inside a text stay');
});

test('each filter drops what it should, counted under its name', async () => {
  const f = fixture();
  f.write('src/main.js', 'let x = 1;\n');
  f.write('notes.txt', 'a\n');
  f.commit('initial');
  const bot = { name: 'dependabot[bot]', email: '49699333+dependabot[bot]@users.noreply.github.com' };
  f.write('src/main.js', 'let x = 2;\n');
  f.commit('Update x', bot);
  f.write('src/main.js', 'let x = 3;\n');
  f.commit('Bump lodash from 4.17.20 to 4.17.21');
  f.write('package-lock.json', '{"lockfileVersion": 3}\n');
  f.commit('Refresh the lockfile');
  f.write('vendor/lib.js', 'var v = 1;\n');
  f.write('src/main.js', 'let x = 4;\n');
  f.commit('Use the vendored lib');
  f.write('dist/app.min.js', 'x'.repeat(3000) + '\n');
  f.commit('Rebuild the bundle');
  f.write('src/gen.ts', '// Code generated by protoc. DO NOT EDIT.\nexport const g = 1;\n');
  f.commit('Regenerate the protocol');
  f.write('logo.dat', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]));
  f.commit('Add a logo');
  f.write('big.txt', 'line\n'.repeat(30_000));
  f.commit('Add a big text file');
  f.write('src/many.js', Array.from({ length: 500 }, (_, i) => `f(${i});`).join('\n') + '\n');
  f.commit('Add many calls');
  for (let i = 0; i < 10; i++) f.write(`src/m${i}.js`, `export const m${i} = ${i};\n`);
  f.commit('Add ten modules');
  // Ten changed files, two of them skipped for their content: eight count, within --max-files 8.
  for (let i = 0; i < 8; i++) f.write(`src/k${i}.js`, `export const k${i} = ${i};\n`);
  for (let i = 0; i < 2; i++) f.write(`blob${i}.dat`, Buffer.from([0, 1, 2, i]));
  f.commit('Add eight modules and two blobs');
  for (let i = 0; i < 33; i++) f.write(`src/w${i}.js`, `export const w${i} = ${i};\n`);
  f.commit('Add thirty-three modules');
  f.commit('Nothing at all');
  f.write('notes.txt', 'a\nb\n');
  f.commit('Add b to notes');
  f.write('notes.txt', 'a\n');
  f.commit('Remove b from notes');
  f.write('notes.txt', 'a\nb\n');
  f.commit('Add b to notes again');
  // A PR merge whose only change is the conflict resolution: both sides edited line 2 differently.
  f.write('conf.txt', '1\n2\n3\n');
  f.commit('Add conf');
  f.git('checkout', '-q', '-b', 'pr');
  f.write('conf.txt', '1\n2-feature\n3\n');
  f.commit('Feature edit');
  f.git('checkout', '-q', 'main');
  f.write('conf.txt', '1\n2-main\n3\n');
  f.commit('Main edit');
  tick();
  try { f.git('merge', '-q', '--no-ff', 'pr', '-m', 'x'); } catch { /* conflict expected */ }
  f.write('conf.txt', '1\n2-resolved\n3\n');
  f.git('add', 'conf.txt');
  f.git('commit', '-q', '-m', 'Merge pull request #9 from ada/pr\n\nEdit line two');

  const { tasks, stats } = await mine([f.dir], { contextFiles: 0, explain: true, maxFileBytes: 100_000, maxChangedLines: 400, maxFiles: 8 });
  const d = Object.fromEntries(stats.dropped);
  assert.equal(d.bot, 2, 'bot author and "bump" title');
  assert.equal(d['only-lockfile'], 1);
  assert.equal(d['only-minified'], 1);
  assert.equal(d['only-generated'], 1);
  assert.equal(d['only-binary'], 1);
  assert.equal(d['only-too-large'], 1);
  assert.equal(d['too-many-lines'], 1);
  assert.equal(d['too-many-files'], 2, 'ten modules (read), thirty-three (over 4× --max-files: not read)');
  assert.ok(stats.explanations.some((e) => /thirty-three.*too-many-files.*33 files, not read/.test(e)), stats.explanations.join('\n'));
  assert.equal(byText(tasks, 'Add eight modules and two blobs')?.changes.length, 8, 'files skipped for their content do not count');
  assert.equal(d.empty, 1);
  assert.equal(d.duplicate, 1);
  assert.equal(d['conflict-only'], 1);
  assert.equal(stats.filesSkipped.get('vendored'), 1);
  const vend = byText(tasks, 'Use the vendored lib')!;
  assert.deepEqual(vend.changes.map((c) => c.path), ['src/main.js'], 'the vendored file is left out, the rest kept');
  assert.ok(byText(tasks, 'Add b to notes again'), 'the newest of two identical changes is kept');
  assert.equal(byText(tasks, 'Add b to notes\n') ?? tasks.find((t) => t.text === 'Add b to notes'), undefined);
  assert.ok(stats.explanations.some((e) => /^drop .*Bump lodash.*: bot/.test(e)));
  assert.ok(stats.explanations.some((e) => /^skip .*"package-lock\.json" left out of the task: lockfile/.test(e)));
  assert.match(stats.summary(), /^kept \d+, dropped \d+ \(.*bot 2.*\); files skipped: /);
});

test('an empty file added or deleted is part of the change (mine and import); a mode-only change is not', async () => {
  const f = fixture();
  f.write('pkg/m.py', 'x = 1\n');
  f.write('old/empty.cfg', '');
  f.write('run.sh', 'echo hi\n');
  const base = f.commit('initial');
  f.write('pkg/__init__.py', '');
  f.write('pkg/m.py', 'x = 2\n');
  fs.chmodSync(path.join(f.dir, 'run.sh'), 0o755);
  f.commit('Make pkg a package');
  f.rm('old/empty.cfg'); // apart: git would take an empty file deleted and one added for a rename
  f.write('pkg/m.py', 'x = 3\n');
  f.commit('Drop the old config');
  const added = [{ path: 'pkg/__init__.py', old: null, new: '' }, { path: 'pkg/m.py', old: 'x = 1\n', new: 'x = 2\n' }];
  const { tasks } = await mine([f.dir], { contextFiles: 0 });
  assert.deepEqual(tasks.map((t) => [t.text, t.changes, t.stats.files]), [
    ['Drop the old config', [{ path: 'old/empty.cfg', old: '', new: null }, { path: 'pkg/m.py', old: 'x = 2\n', new: 'x = 3\n' }], 2],
    ['Make pkg a package', added, 2],
  ]);
  const patch = 'diff --git a/pkg/__init__.py b/pkg/__init__.py\nnew file mode 100644\nindex 0000000..e69de29\n' +
    'diff --git a/pkg/m.py b/pkg/m.py\n--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n' +
    'diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n';
  const deleted = 'diff --git a/old/empty.cfg b/old/empty.cfg\ndeleted file mode 100644\nindex e69de29..0000000\n' + patch.slice(patch.indexOf('diff --git a/pkg/m.py'));
  const file = path.join(tmpDir(), 'swe.jsonl');
  fs.writeFileSync(file, [patch, deleted].map((p, i) => JSON.stringify({ instance_id: `p-${i}`, base_commit: base, problem_statement: 'Make pkg a package', patch: p })).join('\n') + '\n');
  assert.deepEqual((await importRecords(file, { repo: f.dir, contextFiles: 0 })).tasks.map((t) => t.changes),
    [added, [{ path: 'old/empty.cfg', old: '', new: null }, added[1]]]);
});

test('import: a SWE-bench record becomes a task at its base commit', async () => {
  const f = fixture();
  f.write('pkg/calc.py', 'def add(a, b):\n    return a - b\n');
  f.write('pkg/__init__.py', '');
  const base = f.commit('initial');
  f.write('pkg/calc.py', 'def add(a, b):\n    return a + b + 0\n');
  f.commit('later change');
  const patch = 'diff --git a/pkg/calc.py b/pkg/calc.py\n--- a/pkg/calc.py\n+++ b/pkg/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n' +
    'diff --git a/pkg/test_calc.py b/pkg/test_calc.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/test_calc.py\n@@ -0,0 +1 @@\n+from pkg.calc import add\n';
  const file = path.join(tmpDir(), 'swe.jsonl');
  fs.writeFileSync(file, JSON.stringify({ instance_id: 'ada__calc-1', repo: 'ada/calc', base_commit: base, problem_statement: 'add() subtracts\n', patch, created_at: '2024-01-02T03:04:05Z' }) + '\n');
  const { tasks } = await importRecords(file, { repo: f.dir });
  assert.equal(tasks.length, 1);
  const t = tasks[0];
  assert.deepEqual({ id: t.id, repo: t.repo, base: t.base, source: t.source, text: t.text, time: t.time },
    { id: 'ada__calc-1', repo: 'ada/calc', base, source: 'import', text: 'add() subtracts', time: 1704164645 });
  assert.deepEqual(t.changes, [
    { path: 'pkg/calc.py', old: 'def add(a, b):\n    return a - b\n', new: 'def add(a, b):\n    return a + b\n' },
    { path: 'pkg/test_calc.py', old: null, new: 'from pkg.calc import add\n' },
  ]);
  assert.deepEqual([t.stats.added, t.stats.removed, t.stats.files, t.stats.language], [2, 1, 2, 'python']);
});

test('fileDiff counts the same added/removed lines as the diff package on random edits, and nearly always the same hunks', () => {
  const rng = new Rng(5);
  let hunkMismatch = 0;
  const pool = ['a', 'b', 'c', 'x = 1', '', '}'];
  for (let t = 0; t < 600; t++) {
    const a = Array.from({ length: rng.int(30) }, () => rng.pick(pool));
    const b = a.slice();
    for (let k = rng.int(5); k > 0; k--) {
      const at = rng.int(b.length + 1);
      const op = rng.int(3);
      if (op === 0) b.splice(at, 0, rng.pick(['a', 'new', ''])); else if (op === 1) b.splice(at, 1); else b[at] = 'changed';
    }
    const A = a.length ? a.join('\n') + (rng.next() < 0.2 ? '' : '\n') : '';
    const B = b.length ? b.join('\n') + (rng.next() < 0.2 ? '' : '\n') : '';
    const p = structuredPatch('a', 'b', A, B, '', '', { context: 3 });
    const lines = p.hunks.flatMap((h) => h.lines);
    const d = fileDiff(A, B)!;
    assert.deepEqual([d.added, d.removed], [lines.filter((l) => l[0] === '+').length, lines.filter((l) => l[0] === '-').length], JSON.stringify({ A, B }));
    // Hunks can differ when equally short diffs align a repeated line differently (a tie, not an error).
    if (d.hunks !== p.hunks.length) { hunkMismatch++; assert.ok(Math.abs(d.hunks - p.hunks.length) <= 1); }
    // A cap gives null exactly when the diff needs more edits than it (the line-multiset bound is only a bound).
    const cap = rng.int(8);
    assert.equal(fileDiff(A, B, cap) === null, d.added + d.removed > cap, JSON.stringify({ A, B, cap }));
  }
  assert.ok(hunkMismatch <= 12, `${hunkMismatch} of 600 hunk counts differ`);
  assert.equal(fileDiff('a\n'.repeat(50), 'b\n'.repeat(50), 20), null, 'over maxEdits');
});

test('diffLines gives the diff package\'s diffArrays script exactly, and null where a cap makes it give up', () => {
  const rng = new Rng(21);
  let capped = 0;
  let long = 0;
  for (let t = 0; t < 3000; t++) {
    // Few distinct lines, so that ties between equally short scripts are everywhere; some long inputs.
    const pool = ['a', 'b', 'c', '', '}', 'x = 1'].slice(0, 2 + rng.int(5));
    const n = t % 50 === 0 ? 200 + rng.int(400) : rng.int(40);
    const a = Array.from({ length: n }, () => rng.pick(pool));
    const b = rng.next() < 0.5 ? Array.from({ length: rng.int(n + 10) }, () => rng.pick(pool)) : a.slice();
    for (let k = rng.int(8); k > 0; k--) {
      const at = rng.int(b.length + 1);
      if (rng.next() < 0.5) b.splice(at, 0, rng.pick([...pool, 'new'])); else b.splice(at, 1 + rng.int(3));
    }
    const cap = rng.next() < 0.3 ? rng.int(n + 4) : undefined;
    const want = cap === undefined ? diffArrays(a, b) : diffArrays(a, b, { maxEditLength: cap });
    const got = diffLines(a, b, cap);
    const plain = (ps: { added: boolean; removed: boolean; value: string[] }[] | undefined | null) => ps?.map((p) => ({ added: p.added, removed: p.removed, value: p.value })) ?? null;
    assert.deepEqual(plain(got), plain(want), JSON.stringify({ a, b, cap }));
    if (got === null) capped++;
    if (n >= 200) long++;
  }
  assert.ok(capped > 100 && long >= 50, `${capped} capped, ${long} long`);
});

test('a commit\'s diffs, on the worker thread and on this one, equal fileDiff file by file, each within what the files before it left of the cap', async () => {
  const rng = new Rng(8);
  const line = () => rng.pick(['a', 'b', 'x = 1', '', '}', 'é ünï', '\u{1F600}']);
  const text = (n: number) => (n === 0 && rng.next() < 0.3 ? null : Array.from({ length: n }, line).join('\n') + (rng.next() < 0.2 ? '' : '\n'));
  for (let c = 0; c < 60; c++) {
    const files = Array.from({ length: 1 + rng.int(4) }, () => [text(rng.int(40)), text(rng.int(40))] as [string | null, string | null]);
    const cap = rng.int(60);
    const got = await diffCommit(files, cap, true);
    assert.deepEqual(await diffCommit(files, cap, false), got, `commit ${c} on this thread`);
    let budget = cap;
    const want = files.map(([a, b]) => {
      const d = budget < 0 ? null : fileDiff(a, b, budget);
      budget = d ? budget - d.added - d.removed : -1;
      return d;
    });
    assert.deepEqual(got, want, `commit ${c}`);
  }
});

test('the streamed log equals the whole log parsed at once, and in chunks of any size (0x1e in messages and at the start of paths, 0x1f in names)', async () => {
  const f = fixture();
  for (let i = 0; i < 120; i++) {
    f.write(`src/f${i % 7}.ts`, `export const v = ${i};\n`);
    if (i % 10 === 3) f.write(`\x1er${i}.ts`, `export const r = ${i};\n`); // a path that starts with the record mark
    f.commit(`Change ${i}\n\n${'a long body line with a \x1e record separator in it; '.repeat(30)}`, i % 10 === 5 ? { name: 'Ann\x1fLee', email: 'ann@example.com' } : undefined);
  }
  const raw = gitRaw(f.dir, logArgs());
  const whole = parseLog(raw);
  assert.ok(raw.length > 3 * 65536, 'the log spans several pipe chunks');
  const streamed = [];
  for await (const c of streamCommits(f.dir)) streamed.push(c);
  assert.equal(streamed.length, 120);
  assert.deepEqual(streamed, whole);
  assert.ok(streamed[5].message.includes('\x1e'));
  const marked = whole.find((c) => c.message.startsWith('Change 3\n'))!;
  assert.deepEqual(marked.changes.map((ch) => ch.path).sort(), ['\x1er3.ts', 'src/f3.ts']);
  const named = whole.find((c) => c.message.startsWith('Change 5\n'))!;
  assert.equal(named.authorName, 'Ann\x1fLee');
  assert.equal(named.authorEmail, 'ann@example.com');
  assert.ok(named.time > 1_600_000_000);
  // Fed in chunks of 1 byte to 64 KB, cut anywhere (inside fields, between a record's changes, at a 0x1e in a path).
  const rng = new Rng(4);
  for (const most of [1, 7, 300, 65536]) {
    const p = new LogParser();
    const got = [];
    for (let i = 0; i < raw.length;) {
      const n = 1 + rng.int(most);
      got.push(...p.push(raw.subarray(i, i + n)));
      i += n;
    }
    got.push(...p.end());
    assert.deepEqual(got, whole, `chunks of up to ${most} bytes`);
  }
  const cut = new LogParser();
  cut.push(raw.subarray(0, 100));
  assert.throws(() => cut.end(), /output ends inside a record/);
  // A revision git cannot read fails the stream with git's message.
  await assert.rejects(async () => { for await (const _ of streamCommits(f.dir, { rev: 'no-such-branch' })) void _; }, /failed \(exit 128\)/);
});

test('generated: a file that says so at a line start or with a tool mark; a mention inside a sentence is no mark', () => {
  const gen = (t: string) => { const d = decodeText(Buffer.from(t + '\nx = 1\n')); return 'reason' in d && d.reason === 'generated'; };
  for (const t of ['// Code generated by protoc. DO NOT EDIT.', '# Auto-generated file', '/* This file was automatically generated by tool */',
    '# This file is autogenerated by pip-compile', '// @generated', '# Autogenerated by Thrift Compiler (0.9.3)',
    '// Generated by the protocol buffer compiler.  DO NOT EDIT!', '# generated by the release script'])
    assert.ok(gen(t), t);
  for (const t of ['# Note that not all possible configuration values are present in this\n# autogenerated file.',
    '# Sphinx conf: present in this autogenerated file.', '// the generated code is checked in CI', '# regenerate with make',
    '* It then takes the **response** generated by the application (by some *path operation*).'])
    assert.ok(!gen(t), t);
});

test('minified: a line over 5 000 characters or over 300 a line on average (texts over 2 000), at every boundary', () => {
  const rng = new Rng(9);
  let minified = 0;
  for (let k = 0; k < 3000; k++) {
    const long = rng.next() < 0.5 ? 0.02 : 0.3; // mostly code-like lines, or mostly long ones
    const lens = Array.from({ length: 1 + rng.int(120) }, () => rng.next() < long
      ? Math.max(0, rng.pick([299, 300, 301, 4999, 5000, 5001, 7000]) + rng.int(3) - 1) : rng.int(120));
    const t = lens.map((l) => 'x'.repeat(l)).join('\n') + (rng.next() < 0.5 ? '\n' : '');
    const lines = t.split('\n');
    const want = t.length > 2000 && (lines.some((l) => l.length > 5000) || t.length / lines.length > 300);
    const d = decodeText(Buffer.from(t));
    assert.equal('reason' in d && d.reason === 'minified', want, JSON.stringify(lens));
    if (want) minified++;
  }
  assert.ok(minified > 500 && minified < 2500, `${minified} of 3000 minified: both kinds should be common`);
});

test('decodeText reads bytes as TextDecoder (UTF-8, fatal, BOM kept) does: ASCII, valid and invalid UTF-8', () => {
  const rng = new Rng(4);
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  // Pieces that make valid text, invalid sequences (lone continuation, truncated, overlong, surrogate, > U+10FFFF), a BOM.
  const pieces = [[0x61], [0x0a], [0x7e], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbb, 0xbf],
    [0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]];
  const kinds = { ascii: 0, utf8: 0, bad: 0, bom: 0 };
  for (let k = 0; k < 4000; k++) {
    const n = rng.int(12);
    const bytes = [...(rng.next() < 0.2 ? [0xef, 0xbb, 0xbf] : [])];
    for (let i = 0; i < n; i++) bytes.push(...pieces[rng.next() < 0.6 ? rng.int(3) : rng.int(pieces.length)]);
    const b = Buffer.from(bytes);
    let want: string | null;
    try { want = fatal.decode(b); } catch { want = null; }
    const got = decodeText(b);
    assert.deepEqual(got, want === null ? { reason: 'non-utf8' } : { text: want }, JSON.stringify(bytes));
    if (want === null) kinds.bad++; else if (bytes.every((x) => x < 0x80)) kinds.ascii++; else kinds.utf8++;
    if (bytes[0] === 0xef && want !== null) kinds.bom++;
  }
  for (const [k, v] of Object.entries(kinds)) assert.ok(v > 100, `${k}: ${v} cases`);
  // A decoded view into a larger buffer reads only its own bytes.
  const big = Buffer.from('xxhello\u00e9yy');
  assert.deepEqual(decodeText(big.subarray(2, big.length - 2)), { text: 'hello\u00e9' });
});

test('a commit that only adds or removes a UTF-8 BOM is a change with the BOM in its texts; a file\'s BOM stays in later tasks', async () => {
  const f = fixture();
  f.write('a.py', 'x = 1\n');
  f.write('b.py', '\ufeffy = 1\n');
  f.commit('initial');
  f.write('a.py', '\ufeffx = 1\n');
  f.commit('Add a BOM to a.py');
  f.write('b.py', 'y = 1\n');
  f.commit('Remove the BOM from b.py');
  f.write('a.py', '\ufeffx = 2\n');
  f.commit('Set x to 2');
  assert.equal(fs.readFileSync(path.join(f.dir, 'a.py')).subarray(0, 3).toString('hex'), 'efbbbf');
  const r = await mine([f.dir], { contextFiles: 0 });
  assert.deepEqual(r.tasks.map((t) => [t.text, t.changes, t.stats.added, t.stats.removed]), [
    ['Set x to 2', [{ path: 'a.py', old: '\ufeffx = 1\n', new: '\ufeffx = 2\n' }], 1, 1],
    ['Remove the BOM from b.py', [{ path: 'b.py', old: '\ufeffy = 1\n', new: 'y = 1\n' }], 1, 1],
    ['Add a BOM to a.py', [{ path: 'a.py', old: 'x = 1\n', new: '\ufeffx = 1\n' }], 1, 1],
  ]);
  assert.equal(r.stats.dropped.get('empty'), undefined);
});

test('--max-changed-lines counts the whole change: files under it alone but over it together drop the task; exactly at it is kept', async () => {
  const f = fixture();
  f.write('a.txt', 'x\n');
  f.write('b.txt', 'x\n');
  f.commit('initial');
  const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} ${i}\n`).join('');
  f.write('a.txt', 'x\n' + lines(200, 'a'));
  f.write('b.txt', 'x\n' + lines(200, 'b'));
  f.commit('Exactly at the cap');
  f.write('c.txt', lines(201, 'c'));
  f.write('d.txt', lines(200, 'd'));
  f.commit('One over the cap, split across two files');
  const { tasks, stats } = await mine([f.dir], { contextFiles: 0, maxChangedLines: 400 });
  const at = tasks.find((t) => t.text === 'Exactly at the cap')!;
  assert.equal(at.stats.added, 400);
  assert.equal(tasks.find((t) => t.text.startsWith('One over')), undefined);
  assert.equal(stats.dropped.get('too-many-lines'), 1);
});

test('a sink that fails (a full disk) ends the run with its own error, not as an unreadable commit; a sink may make mining wait', async () => {
  const f = fixture();
  f.write('a.txt', 'x\n');
  f.commit('initial');
  for (let i = 0; i < 4; i++) { f.write('a.txt', `x\n${i}\n`); f.commit(`Change ${i}`); }
  await assert.rejects(mine([f.dir], { onBadLine: 'skip' }, () => { throw new Error('ENOSPC: no space left on device'); }),
    (e: Error) => e.message === 'ENOSPC: no space left on device');
  await assert.rejects(mine([f.dir], {}, async () => { await new Promise((r) => setTimeout(r, 1)); throw new Error('late failure'); }), /late failure/);
  // A sink that waits: tasks still arrive in history order, each after the one before was taken.
  const seen: string[] = [];
  let busy = false;
  const r = await mine([f.dir], {}, async (t) => {
    assert.equal(busy, false, 'the next task came while the sink was still busy');
    busy = true;
    await new Promise((res) => setTimeout(res, 2));
    seen.push(t.text);
    busy = false;
  });
  assert.deepEqual(seen, ['Change 3', 'Change 2', 'Change 1', 'Change 0']);
  assert.equal(r.stats.kept, 4);
});

test('mine, import and the streamed log return only once their git processes have ended, after a failure or an early stop too', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  // 3 000 commits (git fast-import): a run that fails at its first task leaves git log with most of the
  // history still to write, so it has to be stopped, not merely left to finish.
  const f = fixture();
  f.importCommits(Array.from({ length: 3000 }, (_, c) => ({ message: `Set x ${String(c).padStart(4, '0')} \n`, path: 'a.py', text: `import os\nx = ${c}\n` })));
  // This process's git children, running or ended and not yet reaped, that were not there before.
  const gitChildren = () => processes().filter((p) => p.ppid === process.pid && p.comm === 'git').map((p) => p.pid);
  const before = gitChildren();
  const left = () => gitChildren().filter((p) => !before.includes(p));
  assert.equal((await mine([f.dir], { maxCommits: 20 })).stats.kept, 20);
  assert.deepEqual(left(), [], 'after a run');
  await assert.rejects(mine([f.dir], {}, () => { throw new Error('ENOSPC: no space left on device'); }), /ENOSPC/);
  assert.deepEqual(left(), [], 'after a failed run');
  for await (const c of streamCommits(f.dir)) { assert.equal(c.message.trim(), 'Set x 2999'); break; }
  assert.deepEqual(left(), [], 'after the log was left early');
  const patch = 'diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n import os\n-x = 2998\n+x = 2999\n';
  const file = path.join(tmpDir(), 'swe.jsonl');
  fs.writeFileSync(file, JSON.stringify({ instance_id: 'x__y-1', repo: 'x/y', base_commit: f.git('rev-parse', 'HEAD~1'), problem_statement: 'Set x to 2', patch }) + '\n');
  assert.equal((await importRecords(file, { repo: f.dir })).tasks.length, 1);
  assert.deepEqual(left(), [], 'after an import');
});

test('filters by name: bot authors and titles, lockfiles, vendored, minified, generated and binary paths; look-alikes kept', () => {
  const bot = (authorName: string, title = 'Fix the parser', authorEmail = 'a@example.com') => COMMIT_FILTERS.some((f) => f.drop({ authorName, authorEmail, title }));
  for (const name of ['dependabot[bot]', 'renovate[bot]', 'Renovate Bot', 'github-actions[bot]', 'automerge', 'pre-commit-ci[bot]']) assert.ok(bot(name), name);
  assert.ok(bot('Ada', 'Fix', '49699333+dependabot[bot]@users.noreply.github.com'), 'bot email');
  for (const title of ['Bump lodash from 4.17.20 to 4.17.21', 'bumps: deps', 'Bumped version', 'chore(deps): update dependency x (renovate)', '[bot] sync', 'Automerge release branch',
    '[pre-commit.ci] pre-commit autoupdate', 'Merge pull request #5041 from pallets/pre-commit-ci-update-config\n[pre-commit.ci] pre-commit autoupdate'])
    assert.ok(bot('Ada', title), title);
  for (const title of ['Fix bumper collision', 'Handle bumpy input', 'Robot arm: fix the gripper', 'Merge pull request #3 from ada/feature'])
    assert.ok(!bot('Ada Lovelace', title), `kept: ${title}`);
  const cases: [string, string | null][] = [
    ['package-lock.json', 'lockfile'], ['web/yarn.lock', 'lockfile'], ['Cargo.lock', 'lockfile'], ['uv.lock', 'lockfile'], ['go.sum', 'lockfile'],
    ['vendor/lib/x.go', 'vendored'], ['a/node_modules/b/index.js', 'vendored'], ['third_party/z.c', 'vendored'],
    ['static/app.min.js', 'minified'], ['static/app-bundle.js', 'minified'], ['dist/bundle.js', 'generated'], ['app.js.map', 'minified'],
    ['dist/index.js', 'generated'], ['api/x.pb.go', 'generated'], ['proto/m_pb2.py', 'generated'], ['src/__generated__/q.ts', 'generated'],
    ['img/logo.png', 'binary'], ['model.onnx', 'binary'], ['fonts/a.woff2', 'binary'],
    ['src/lock.ts', null], ['src/vendor.ts', null], ['src/generated.ts', null], ['src/minify.js', null], ['docs/binary-search.md', null], ['package.json', null],
  ];
  assert.deepEqual(cases.map(([p]) => [p, pathReason(p)]), cases);
});

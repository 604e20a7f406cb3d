// Run: node --import tsx --test test/rl-format.test.ts
// The completion format: prompt layout, parsing (the procedural parser equals SWE-RL's regex),
// SWE-RL apply semantics, and the oracle: applying oracleCompletion(task) reproduces the new files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.ts';
import { buildPrompt, oracleCompletion, promptFiles, searchReplaceBlocks } from '../src/data/prompt.ts';
import { BLOCK_RE, applyEdits, extractAnswer, parseCompletion, parseSearchReplace, pyStrip } from '../src/rl/format.ts';
import { reward } from '../src/rl/reward.ts';
import { randomTask } from './rl-randomtask.ts';

test('prompt: task text, every file as a ### section sorted by path, answer marker last', () => {
  const task = randomTask(new Rng(1), 't');
  task.changes[0].old = 'old content\n';
  const p = buildPrompt(task);
  assert.ok(p.startsWith('Fix the bug.\n\n### '));
  const headers = [...p.matchAll(/^### (src\/\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(headers, promptFiles(task).map((f) => f.path));
  assert.deepEqual([...headers].sort(), headers);
  assert.ok(p.includes('### src/f0.py\nold content\n'));
  assert.ok(p.endsWith('Answer with SEARCH/REPLACE blocks in <solution></solution>.\n'));
  assert.ok(buildPrompt(task, { mode: 'whole_file' }).endsWith('full new content of each file you change in <solution></solution>.\n'));
});

test('oracle: applying oracleCompletion reproduces every new file exactly and scores 1.0, exact (500 random tasks)', () => {
  const rng = new Rng(7);
  for (let k = 0; k < 500; k++) {
    const task = randomTask(rng, `t${k}`);
    const completion = oracleCompletion(task);
    const parsed = parseCompletion(completion);
    assert.ok(parsed.ok, `task ${k}: ${!parsed.ok && parsed.error}`);
    const files = new Map(promptFiles(task).map((f) => [f.path, f.content]));
    const applied = applyEdits(files, parsed.edits);
    assert.ok(applied.ok, `task ${k}: ${!applied.ok && applied.error}`);
    for (const c of task.changes) assert.equal(applied.files.get(c.path) ?? c.old ?? '', c.new ?? '', `task ${k} ${c.path}`);
    const r = reward(task, completion);
    assert.deepEqual([r.reward, r.formatOk, r.exact], [1, true, true], `task ${k}: ${JSON.stringify(r)}`);
  }
});

test('oracle: whole-file mode scores 1.0; exact unless a file changes its final-newline convention', () => {
  const rng = new Rng(8);
  for (let k = 0; k < 300; k++) {
    const task = randomTask(rng, `t${k}`);
    const r = reward(task, oracleCompletion(task, { mode: 'whole_file' }), { mode: 'whole_file' });
    assert.equal(r.reward, 1, `task ${k}: ${JSON.stringify(r)}`);
    const keeps = (s: string) => s === '' || s.endsWith('\n');
    const representable = task.changes.every((c) => !c.new || keeps(c.old ?? '') === c.new.endsWith('\n'));
    if (representable) assert.ok(r.exact, `task ${k}`);
  }
});

test('oracle blocks: minimal, unique, one per hunk; added file = empty SEARCH; deletion keeps a context line', () => {
  assert.deepEqual(searchReplaceBlocks('a\nb\nc\n', 'a\nB\nc\n'), [{ search: 'b', replace: 'B' }]);
  assert.deepEqual(searchReplaceBlocks('', 'x\ny\n'), [{ search: '', replace: 'x\ny\n' }]);
  assert.deepEqual(searchReplaceBlocks('a\nb\nc\n', 'a\nc\n'), [{ search: 'a\nb', replace: 'a' }]);
  assert.deepEqual(searchReplaceBlocks('a\n', 'z\na\n'), [{ search: 'a', replace: 'z\na' }]);
  // "x" is not unique: widened by the preceding line first.
  assert.deepEqual(searchReplaceBlocks('x\na\nx\n', 'x\na\ny\n'), [{ search: 'a\nx', replace: 'a\ny' }]);
  const many = Array.from({ length: 40 }, (_, i) => `line ${i}`);
  const edited = many.slice();
  edited[5] = 'five';
  edited[30] = 'thirty';
  assert.equal(searchReplaceBlocks(many.join('\n'), edited.join('\n')).length, 2);
});

test('parser: the procedural block parser equals SWE-RL-style regex findall on 3000 random texts', () => {
  const rng = new Rng(3);
  const parts = ['### a.py\n', '### b\n', '<<<<<<< SEARCH\n', '\n=======\n', '=======\n', '\n>>>>>>> REPLACE', '>>>>>>> REPLACE\n', '```\n', '```py\n', '\n```', 'x', 'y\n', '\n', ' ', '### ', '<<<<<<< SEARCH'];
  for (let k = 0; k < 3000; k++) {
    let s = '';
    const n = 1 + rng.int(30);
    for (let i = 0; i < n; i++) s += rng.pick(parts);
    const want = [...s.matchAll(BLOCK_RE)].map((m) => ({ path: pyStrip(m[1]), search: m[2], replace: m[3] }));
    assert.deepEqual(parseSearchReplace(s), want, JSON.stringify(s));
  }
});

test('parser: fences optional, think/solution optional, path trimmed', () => {
  const blk = '### a.py \n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE';
  for (const text of [blk, '```python\n' + blk + '\n```', `<think>plan</think>\n<solution>\n${blk}\n</solution>`, `<solution>${blk}</solution>`]) {
    const p = parseCompletion(text);
    assert.ok(p.ok, text);
    assert.deepEqual(p.edits, [{ path: 'a.py', search: 'x', replace: 'y' }]);
  }
  assert.deepEqual(extractAnswer('<think> a </think> rest '), { ok: true, thought: 'a', answer: 'rest' });
  assert.equal(pyStrip('\x1c\x85 a \u3000'), 'a');
  assert.equal(pyStrip('\ufeffa'), '\ufeffa'); // not whitespace to Python
});

test('apply: SWE-RL semantics — line-start anchoring, replace-all, and each error', () => {
  const files = new Map([['a.py', 'xa\na\nb\na\n'], ['c.py', '']]);
  const ok = (edits: { path: string; search: string; replace: string }[]) => {
    const r = applyEdits(files, edits);
    assert.ok(r.ok, !r.ok ? r.error : '');
    return r.files;
  };
  assert.equal(ok([{ path: 'a.py', search: 'a', replace: 'A' }]).get('a.py'), 'xa\nA\nb\nA\n');
  assert.equal(ok([{ path: 'c.py', search: '', replace: 'new\n' }]).get('c.py'), 'new\n');
  assert.equal(ok([{ path: 'a.py', search: 'b', replace: 'B' }, { path: 'a.py', search: 'B', replace: 'C' }]).get('a.py'), 'xa\na\nC\na\n');
  const err = (edits: { path: string; search: string; replace: string }[], re: RegExp) => {
    const r = applyEdits(files, edits);
    assert.ok(!r.ok);
    assert.match(r.error, re);
  };
  err([{ path: 'a.py', search: 'q', replace: 'r' }], /not found/);
  err([{ path: 'a.py', search: 'a', replace: 'a' }], /identical/);
  err([{ path: '/a.py', search: 'a', replace: 'b' }], /absolute/);
  err([{ path: 'C:\\a.py', search: 'a', replace: 'b' }], /absolute/);
  err([{ path: 'x/../a.py', search: 'a', replace: 'b' }], /\.\./);
  err([{ path: 'b.py', search: 'a', replace: 'b' }], /not one of the prompt's files/);
  assert.equal(files.get('a.py'), 'xa\na\nb\na\n'); // inputs untouched
});

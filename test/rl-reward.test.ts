// Run: node --import tsx --test test/rl-reward.test.ts
// The SWE-RL reward against CPython: fixtures from scripts/make-reward-fixtures.py (difflib ratio,
// SWE-RL's unified diffs, full rewards), every format-error class, a fuzz over mutated outputs, and
// the `pr-rl reward` file runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../src/util/rng.ts';
import type { Task } from '../src/data/task.ts';
import { oracleCompletion } from '../src/data/prompt.ts';
import { matchSize, pySplitlines, ratio, sweDiff } from '../src/rl/difflib.ts';
import { CharMatcher } from '../src/rl/lcs.ts';
import { reward, runReward } from '../src/rl/reward.ts';
import { randomTask } from './rl-randomtask.ts';
import { UserError } from '../src/util/errors.ts';
import { tempDir } from './helpers/tmp.ts';

interface Fixtures {
  ratio: { name: string; a: string; b: string; ratio: number }[];
  diff: { name: string; old: string; new: string; diff: string }[];
  reward: { name: string; task: Task; completion: string; mode: 'search_replace' | 'whole_file'; reward: number; formatOk: boolean; exact: boolean; files: Record<string, number> }[];
}
const FX: Fixtures = JSON.parse(fs.readFileSync(new URL('./fixtures/reward-cases.json', import.meta.url), 'utf8'));

test('fixtures: difflib SequenceMatcher(autojunk=False).ratio() equals CPython to 1e-9', () => {
  assert.ok(FX.ratio.length >= 30);
  for (const c of FX.ratio) assert.ok(Math.abs(ratio(c.a, c.b) - c.ratio) <= 1e-9, `${c.name}: ${ratio(c.a, c.b)} vs ${c.ratio}`);
  // Code points, not UTF-16 units: 😀 and 😁 share their high surrogate but have nothing in common.
  assert.equal(ratio('😀', '😁'), 0);
});

test("fixtures: SWE-RL's generate_unified_diff (headers dropped, splitlines, autojunk lines) equals CPython", () => {
  for (const c of FX.diff) assert.equal(sweDiff(c.old, c.new), c.diff, c.name);
  assert.deepEqual(pySplitlines('a\r\nb\rc\x0cd\u2028e\n'), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(pySplitlines(''), []);
  assert.deepEqual(pySplitlines('\n\n'), ['', '']);
});

test('fixtures: full reward, per-file similarity, format and exact flags equal the Python reference (≥ 40 cases)', () => {
  assert.ok(FX.reward.length >= 40);
  for (const c of FX.reward) {
    const r = reward(c.task, c.completion, { mode: c.mode });
    assert.ok(Math.abs(r.reward - c.reward) <= 1e-9, `${c.name}: ${r.reward} vs ${c.reward} (${r.error ?? ''})`);
    assert.equal(r.formatOk, c.formatOk, c.name);
    assert.equal(r.exact, c.exact, c.name);
    const got = Object.fromEntries(r.files.map((f) => [f.path, f.similarity]));
    assert.deepEqual(Object.keys(got).sort(), Object.keys(c.files).sort(), c.name);
    for (const [p, s] of Object.entries(c.files)) assert.ok(Math.abs(got[p] - s) <= 1e-9, `${c.name} ${p}`);
  }
});

test('CharMatcher: the same block as brute force (longest, then earliest in a, then in b) on 30 000 random ranges', () => {
  const rng = new Rng(5);
  const out = new Int32Array(3);
  for (let t = 0; t < 6000; t++) {
    const sym = 1 + rng.int(3);
    const A = Int32Array.from({ length: rng.int(40) }, () => (rng.next() < 0.05 ? -1 : rng.int(sym))); // −1: absent from b
    const B = Int32Array.from({ length: rng.int(40) }, () => rng.int(sym));
    const cm = new CharMatcher(A, B, sym);
    for (let q = 0; q < 5; q++) {
      const alo = rng.int(A.length + 1);
      const ahi = alo + rng.int(A.length - alo + 1);
      const blo = rng.int(B.length + 1);
      const bhi = blo + rng.int(B.length - blo + 1);
      let want = [alo, blo, 0];
      for (let i = alo; i < ahi; i++) {
        for (let j = blo; j < bhi; j++) {
          let k = 0;
          while (i + k < ahi && j + k < bhi && A[i + k] === B[j + k]) k++;
          if (k > want[2]) want = [i, j, k];
        }
      }
      cm.longest(alo, ahi, blo, bhi, out);
      assert.deepEqual([...out], want, `${A.join(',')} | ${B.join(',')} | ${[alo, ahi, blo, bhi]}`);
    }
  }
});

test('ratio: the fast matcher equals the plain CPython DP on repetitive and random text', () => {
  const rng = new Rng(6);
  const alphabets = ['ab', 'a b\n', 'abcdefgh  \n', 'x😀😁 '];
  for (let t = 0; t < 600; t++) {
    const al = [...rng.pick(alphabets)];
    const base = Array.from({ length: rng.int(300) }, () => rng.pick(al)).join('');
    const b = t % 2 ? base.slice(rng.int(50)) + Array.from({ length: rng.int(30) }, () => rng.pick(al)).join('') : Array.from({ length: rng.int(300) }, () => rng.pick(al)).join('');
    assert.deepEqual(matchSize(base, b), matchSize(base, b, { plainDp: true }));
  }
});

const TASK: Task = {
  id: 't', repo: 'r', base: '0', source: 'synthetic', text: 'fix add',
  changes: [{ path: 'src/a.py', old: 'def add(a, b):\n    return a - b\n', new: 'def add(a, b):\n    return a + b\n' }],
  context: [{ path: 'src/b.py', content: 'X = 1\n', reason: 'bm25' }],
  stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 0, language: 'python' },
};
const GOOD = '### src/a.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE';
const sol = (body: string) => `<solution>\n${body}\n</solution>`;

test('every format-error class gives −1 with a reason', () => {
  const cases: [string, string, 'search_replace' | 'whole_file'][] = [
    ['two <solution>', `<solution>${sol(GOOD)}`, 'search_replace'],
    ['two </think>', `<think>a</think></think>${sol(GOOD)}`, 'search_replace'],
    ['unpaired <think>', `<think>a ${sol(GOOD)}`, 'search_replace'],
    ['unpaired </solution>', `${GOOD}\n</solution>`, 'search_replace'],
    ['end tag first', `</solution>${GOOD}<solution>`, 'search_replace'],
    ['empty think', `<think>\n \t</think>${sol(GOOD)}`, 'search_replace'],
    ['no block', sol('I would change the minus to a plus.'), 'search_replace'],
    ['block outside solution', `${GOOD}\n<solution>\n</solution>`, 'search_replace'],
    ['SEARCH == REPLACE', sol(GOOD.replace('a + b', 'a - b')), 'search_replace'],
    ['SEARCH not found', sol(GOOD.replace('a - b\n===', 'a * b\n===')), 'search_replace'],
    ['absolute path', sol(GOOD.replace('src/a.py', '/src/a.py')), 'search_replace'],
    ['.. in path', sol(GOOD.replace('src/a.py', 'src/../src/a.py')), 'search_replace'],
    ['file not in the prompt', sol(GOOD.replace('src/a.py', 'src/c.py')), 'search_replace'],
    ['whole file: no section', sol('def add(a, b):\n    return a + b'), 'whole_file'],
    ['whole file: unknown path', sol('### /etc/passwd\nroot'), 'whole_file'],
    ['whole file: unclosed fence', sol('### src/a.py\n```\nx'), 'whole_file'],
    ['whole file: file twice', sol('### src/a.py\nx\n### src/a.py\ny'), 'whole_file'],
  ];
  for (const [name, text, mode] of cases) {
    const r = reward(TASK, text, { mode });
    assert.deepEqual([r.reward, r.formatOk, r.exact, r.files], [-1, false, false, []], name);
    assert.ok(r.error && !r.error.includes('\n'), name);
  }
  const ok = reward(TASK, `<think>swap the sign</think>\n${sol('```python\n' + GOOD + '\n```')}`);
  assert.deepEqual([ok.reward, ok.formatOk, ok.exact], [1, true, true]);
  assert.deepEqual(ok.files, [{ path: 'src/a.py', similarity: 1 }]);
  // Editing an unchanged context file adds a path scored 0: the mean halves.
  const extra = reward(TASK, sol(`${GOOD}\n### src/b.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE`));
  assert.deepEqual([extra.reward, extra.formatOk, extra.exact], [0.5, true, false]);
});

test('fuzz: 4000 random and mutated outputs never throw and always score in [−1, 1]', () => {
  const rng = new Rng(11);
  const tasks = Array.from({ length: 20 }, (_, i) => randomTask(rng, `f${i}`));
  const bits = ['<think>', '</think>', '<solution>', '</solution>', '<<<<<<< SEARCH\n', '\n=======\n', '\n>>>>>>> REPLACE', '### ', 'src/f0.py', '/abs', '../', '```\n', '\n', '😀', '\ud800', ' ', 'x'];
  let valid = 0;
  for (let k = 0; k < 4000; k++) {
    const task = tasks[k % tasks.length];
    const mode = rng.next() < 0.2 ? 'whole_file' : 'search_replace';
    let text = k % 10 === 0 ? '' : oracleCompletion(task, { mode });
    const edits = rng.int(6);
    for (let e = 0; e < edits; e++) {
      const i = rng.int(text.length + 1);
      const op = rng.next();
      if (op < 0.4) text = text.slice(0, i) + rng.pick(bits) + text.slice(i);
      else if (op < 0.7) text = text.slice(0, i) + text.slice(i + 1 + rng.int(20));
      else if (op < 0.85) text = text.slice(0, i) + text.slice(rng.int(text.length + 1));
      else text += Array.from({ length: rng.int(50) }, () => String.fromCharCode(rng.int(0x3000))).join('');
    }
    const r = reward(task, text, { mode });
    assert.ok(r.reward >= -1 && r.reward <= 1 && !Number.isNaN(r.reward), JSON.stringify(text));
    if (r.formatOk) {
      assert.ok(r.reward >= 0 && r.error === undefined);
      assert.ok(r.files.every((f) => f.similarity >= 0 && f.similarity <= 1));
      valid++;
    } else assert.ok(r.reward === -1 && typeof r.error === 'string' && !r.exact);
  }
  assert.ok(valid > 400 && valid < 3800, `valid ${valid}`); // the fuzz reaches both sides
});

test('degenerate outputs (long runs of spaces, thousands of unterminated blocks) are format errors and finish (a quadratic scan of 400 k spaces would run into the timeout)', { timeout: 60_000 }, () => {
  const spaces = ' '.repeat(200_000) + 'x' + ' '.repeat(200_000);
  const open = '### src/a.py\n<<<<<<< SEARCH\nx\n=======\n'.repeat(5000);
  for (const text of [spaces, open, sol(spaces), sol(open)]) {
    const r = reward(TASK, text);
    assert.equal(r.reward, -1);
    assert.match(r.error ?? '', /no valid SEARCH\/REPLACE block/);
  }
});

test('runReward: {id,text} and {task_id,completion} lines, JSONL out, summary, unknown id is one clear error', async () => {
  const dir = tempDir('prrl-reward-');
  const tasks = path.join(dir, 'tasks.jsonl');
  const outputs = path.join(dir, 'outputs.jsonl');
  fs.writeFileSync(tasks, JSON.stringify(TASK) + '\n');
  fs.writeFileSync(outputs, [{ id: 't', text: sol(GOOD) }, { task_id: 't', completion: 'nothing' }].map((x) => JSON.stringify(x)).join('\n') + '\n');
  const lines: string[] = [];
  const s = await runReward({ tasks, outputs, mode: 'search_replace', print: (l) => lines.push(l) });
  assert.deepEqual(s, { n: 2, mean: 0, formatOk: 0.5, exact: 0.5 });
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^t\t1\.0000\tformat-ok\texact$/);
  assert.match(lines[2], /2 outputs \| reward mean 0\.0000 \| format-valid 50\.0% \| exact 50\.0%/);
  const out = path.join(dir, 'scores.jsonl');
  await runReward({ tasks, outputs, out, mode: 'search_replace', print: () => {} });
  const recs = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(recs.map((r) => [r.id, r.reward, r.formatOk]), [['t', 1, true], ['t', -1, false]]);
  // --out may not be an input: it would be replaced by the scores.
  const kept = fs.readFileSync(outputs, 'utf8');
  for (const [flag, f] of [['--outputs', outputs], ['--tasks', path.join(dir, '.', 'tasks.jsonl')]]) {
    await assert.rejects(runReward({ tasks, outputs, out: f, mode: 'search_replace', print: () => {} }), new RegExp(`--out .* is the ${flag} file; give another file to write`));
  }
  assert.equal(fs.readFileSync(outputs, 'utf8'), kept);
  fs.mkdirSync(path.join(dir, 'adir'));
  await assert.rejects(runReward({ tasks, outputs, out: path.join(dir, 'adir'), mode: 'search_replace', print: () => {} }), /--out .*adir is a folder/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('tmp')), [], 'no temp file');
  const { runEval } = await import('../src/eval/evaluate.ts');
  await assert.rejects(runEval({ model: dir, data: tasks, out: tasks, config: {}, log: () => {} }), /--out .*tasks\.jsonl is the --data file/);
  await assert.rejects(runEval({ model: dir, data: tasks, out: path.join(tasks, 'e.json'), config: {}, log: () => {} }), /cannot write .*e\.json \(.*tasks\.jsonl is a file, not a folder\)/);
  assert.equal(fs.readFileSync(tasks, 'utf8'), JSON.stringify(TASK) + '\n');
  fs.writeFileSync(outputs, JSON.stringify({ id: 'nope', text: '' }) + '\n');
  await assert.rejects(runReward({ tasks, outputs, mode: 'search_replace', print: () => {} }), /record 1: task id "nope" is not in/);
  fs.rmSync(dir, { recursive: true });
});

test('runReward: an empty outputs file is one clear error, not a summary of 0 outputs', async () => {
  const dir = tempDir('prrl-reward-');
  const tasks = path.join(dir, 'tasks.jsonl');
  const outputs = path.join(dir, 'empty.jsonl');
  fs.writeFileSync(tasks, JSON.stringify(TASK) + '\n');
  fs.writeFileSync(outputs, '\n');
  const lines: string[] = [];
  const out = path.join(dir, 'scores.jsonl');
  await assert.rejects(runReward({ tasks, outputs, out, mode: 'search_replace', print: (l) => lines.push(l) }),
    (e: Error) => e instanceof UserError && e.message === `${outputs}: no outputs`);
  assert.deepEqual(lines, []);
  assert.ok(!fs.existsSync(out));
  fs.rmSync(dir, { recursive: true });
});

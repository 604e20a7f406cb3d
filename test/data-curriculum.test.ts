// Run: node --import tsx --test test/data-curriculum.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderTasks, pacing, pacedPrefix, curriculumWindow, AdaptiveSampler, difficulty, type PacingKind } from '../src/data/curriculum.ts';
import type { Task } from '../src/data/task.ts';
import { Rng } from '../src/util/rng.ts';

function task(id: string, added: number, removed: number, files = 1, promptTokens = 100): Task {
  return {
    id, repo: 'r', base: 'b', source: 'commit', text: id, changes: [{ path: 'a', old: 'x', new: 'y' }], context: [],
    stats: { added, removed, files, hunks: 1, promptTokens, language: 'typescript' },
  };
}

const tasks = [task('d', 5, 5, 1, 40), task('b', 1, 0, 3, 900), task('a', 1, 0, 2, 300), task('c', 0, 3, 1, 10), task('e', 2, 2, 2, 10)];

test('size ordering: ascending changed lines, ties broken by id, input untouched', () => {
  const before = tasks.map((t) => t.id);
  const sorted = orderTasks(tasks, 'size', new Rng(1));
  assert.deepEqual(sorted.map((t) => t.id), ['a', 'b', 'c', 'e', 'd']);
  assert.deepEqual(tasks.map((t) => t.id), before);
  assert.deepEqual(sorted.map((t) => difficulty(t, 'size')), [1, 1, 3, 4, 10]);
});

test('files and tokens orderings; ties by prompt tokens, then id, regardless of input order', () => {
  assert.deepEqual(orderTasks(tasks, 'files', new Rng(1)).map((t) => t.id), ['c', 'd', 'e', 'a', 'b']);
  assert.deepEqual(orderTasks(tasks, 'tokens', new Rng(1)).map((t) => t.id), ['c', 'e', 'd', 'a', 'b']);
  const reversed = tasks.slice().reverse();
  assert.deepEqual(orderTasks(reversed, 'tokens', new Rng(1)).map((t) => t.id), ['c', 'e', 'd', 'a', 'b']);
});

test('none keeps the input order; random is a seeded permutation', () => {
  assert.deepEqual(orderTasks(tasks, 'none', new Rng(1)).map((t) => t.id), tasks.map((t) => t.id));
  const many = Array.from({ length: 50 }, (_, i) => task(`t${i}`, i, 0));
  const r1 = orderTasks(many, 'random', new Rng(7)).map((t) => t.id);
  const r2 = orderTasks(many, 'random', new Rng(7)).map((t) => t.id);
  const r3 = orderTasks(many, 'random', new Rng(8)).map((t) => t.id);
  assert.deepEqual(r1, r2);
  assert.notDeepEqual(r1, r3);
  assert.deepEqual(r1.slice().sort(), many.map((t) => t.id).sort());
});

test('pacing: starts at start, never decreases, reaches 1.0 at p = 1 (or at fullAt)', () => {
  for (const kind of ['linear', 'root', 'step'] as PacingKind[]) {
    for (const start of [0, 0.1, 0.25, 1]) {
      const opts = { kind, start };
      assert.ok(Math.abs(pacing(0, opts) - start) < 1e-12, `${kind} start ${start}`);
      assert.equal(pacing(1, opts), 1);
      let prev = -1;
      for (let i = 0; i <= 200; i++) {
        const f = pacing(i / 200, opts);
        assert.ok(f >= prev - 1e-12 && f >= 0 && f <= 1, `${kind} monotone in [0,1] at ${i}`);
        prev = f;
      }
    }
    assert.equal(pacing(0.5, { kind, start: 0.2, fullAt: 0.5 }), 1);
    assert.equal(pacing(2, { kind, start: 0.2 }), 1); // clamped past the end
    assert.equal(pacing(-1, { kind, start: 0.2 }), pacing(0, { kind, start: 0.2 }));
  }
  assert.equal(pacing(0.5, { kind: 'linear', start: 0 }), 0.5);
  assert.ok(pacing(0.25, { kind: 'root', start: 0 }) > pacing(0.25, { kind: 'linear', start: 0 }), 'root opens faster early');
  assert.equal(pacing(0.3, { kind: 'step', start: 0, steps: 4 }), 0.25);
  // Past the end is the end, Infinity too; exactly 1 there whatever the start and the steps; NaN options are refused.
  for (const kind of ['linear', 'root', 'step'] as PacingKind[]) {
    assert.equal(pacing(Infinity, { kind, start: 0.3 }), 1, kind);
    assert.equal(pacing(-Infinity, { kind, start: 0.3 }), pacing(0, { kind, start: 0.3 }), kind);
    assert.equal(pacing(NaN, { kind, start: 0.3 }), pacing(0, { kind, start: 0.3 }), kind);
    assert.throws(() => pacing(0.5, { kind, start: NaN }), /NaN/);
  }
  for (const steps of [3, 5, 7]) for (let k = 0; k <= 1000; k++) assert.equal(pacing(1, { kind: 'step', start: k / 1000, steps }), 1, `steps ${steps}, start ${k / 1000}`);
  assert.throws(() => pacing(0.5, { kind: 'step', start: 0, steps: NaN }), /NaN/);
  assert.throws(() => pacedPrefix([1, 2, 3], NaN), /NaN/);
});

test('curriculumWindow: the available prefix grows to all tasks, never below min', () => {
  const sorted = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(curriculumWindow(sorted, 0, { kind: 'linear', start: 0.25 }), [0, 1, 2]);
  assert.deepEqual(curriculumWindow(sorted, 0, { kind: 'linear', start: 0 }), [0]);
  assert.deepEqual(curriculumWindow(sorted, 0, { kind: 'linear', start: 0 }, 4), [0, 1, 2, 3]);
  assert.deepEqual(curriculumWindow(sorted, 1, { kind: 'root', start: 0.1 }), sorted);
  assert.deepEqual(curriculumWindow([], 0.5, { kind: 'linear', start: 0.5 }), []);
});

test('adaptive: explores unseen tasks in order, then prefers the largest reward spread', () => {
  const s = new AdaptiveSampler(6);
  assert.deepEqual(s.sample(3, new Rng(1)), [0, 1, 2]); // nothing seen yet: unseen in index order
  s.update(0, [0, 0, 0, 0]); // always the same reward: no gradient
  s.update(1, [-1, 1, -1, 1]); // the sweet spot
  s.update(2, [0.2, 0.2, 0.3, 0.2]);
  for (const i of [3, 4, 5]) s.update(i, [1, 1, 1, 1]);
  const rng = new Rng(3);
  const counts = new Array(6).fill(0);
  for (let k = 0; k < 400; k++) for (const i of s.sample(1, rng)) counts[i]++;
  assert.ok(counts[1] > 300, `high-spread task picked most: ${counts}`);
  assert.ok(counts[2] > counts[0] && counts[2] > counts[3], `some spread beats none: ${counts}`);
  assert.ok(counts[0] > 0, `zero-spread tasks are still revisited: ${counts}`);
  const picks = s.sample(6, new Rng(4));
  assert.equal(new Set(picks).size, 6, 'distinct picks while k ≤ n');
  assert.equal(s.sample(9, new Rng(4)).length, 9);
});

test('adaptive: while no group has shown a reward spread, every pick explores a new task; after one does, a quarter do', () => {
  const s = new AdaptiveSampler(40);
  const rng = new Rng(7);
  // A fresh policy: every group all format errors (−1), or all equal in float dust (0.1 × 3 sums to 0.30000000000000004).
  const picked: number[] = [];
  for (let step = 0; step < 5; step++) {
    const p = s.sample(4, rng);
    picked.push(...p);
    for (const i of p) s.update(i, i % 2 ? [-1, -1, -1] : [0.1, 0.1, 0.1]);
  }
  assert.deepEqual(picked, Array.from({ length: 20 }, (_, i) => i), 'a zero-spread task was revisited while unseen ones were left');
  assert.equal(s.spreadOf(0), 0, 'equal rewards have no spread');
  // One group with spread: now most picks exploit it, about a quarter still explore.
  s.update(3, [-1, 1, -1, 1]);
  let explored = 0;
  let onSpread = 0;
  for (let k = 0; k < 400; k++) {
    const [i] = new AdaptiveSampler(40, s.state()).sample(1, rng);
    if (i >= 20) explored++;
    if (i === 3) onSpread++;
  }
  assert.ok(explored > 60 && explored < 140, `explored ${explored} of 400 (explore 0.25)`);
  // Its weight 0.5 + floor against 19 × floor: ¾ · 0.52 / 0.9 of the picks ≈ 173 of 400.
  assert.ok(onSpread > 130 && onSpread < 220, `the task with spread picked ${onSpread} of 400`);
});

test('adaptive: state survives JSON and continues identically; wrong size is refused', () => {
  const a = new AdaptiveSampler(20);
  const rng = new Rng(5);
  for (let step = 0; step < 10; step++) for (const i of a.sample(4, rng)) a.update(i, [rng.next(), rng.next(), rng.next()]);
  const saved = JSON.parse(JSON.stringify(a.state()));
  const b = new AdaptiveSampler(20, saved);
  assert.deepEqual(b.state(), a.state());
  const ra = new Rng(rng.state());
  const rb = new Rng(rng.state());
  for (let step = 0; step < 10; step++) {
    const pa = a.sample(4, ra);
    assert.deepEqual(b.sample(4, rb), pa);
    for (const i of pa) {
      a.update(i, [i / 20, 1]);
      b.update(i, [i / 20, 1]);
    }
  }
  assert.throws(() => new AdaptiveSampler(21, saved));
  assert.deepEqual(new AdaptiveSampler(0).sample(3, new Rng(1)), []);
});

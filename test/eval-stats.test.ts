// Run: node --import tsx --test test/eval-stats.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { covariance, meanCI, pairedCompare, passAtK, proportionCI, tQuantile, variance, wilson } from '../src/eval/stats.ts';
import { formatComparison } from '../src/eval/compare.ts';

const close = (a: number | null, b: number, tol = 1e-6, what = '') =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${what}: expected ${b}, got ${a}`);

test('t quantiles match the printed table', () => {
  // Student t, two-sided 95 %: t(0.975, df) from any statistics table.
  close(tQuantile(0.975, 1), 12.706204736, 1e-6, 'df=1');
  close(tQuantile(0.975, 3), 3.182446305, 1e-8, 'df=3');
  close(tQuantile(0.975, 10), 2.228138852, 1e-8, 'df=10');
  close(tQuantile(0.975, 30), 2.042272456, 1e-8, 'df=30');
  close(tQuantile(0.975, 1e7), 1.959964, 1e-5, 'df→∞ is the normal 1.96');
});

test('meanCI on [1, 2, 3, 4] by hand', () => {
  // mean = 10/4 = 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; s² = 5/3;
  // se = sqrt((5/3)/4) = sqrt(0.4166667) = 0.6454972; half = t(0.975, 3)·se = 3.1824463·0.6454972 = 2.0542603
  const iv = meanCI([1, 2, 3, 4]);
  assert.equal(iv.n, 4);
  assert.equal(iv.mean, 2.5);
  close(variance([1, 2, 3, 4]), 5 / 3, 1e-12, 'variance');
  close(iv.se, 0.6454972, 1e-7, 'se');
  close(iv.lo, 2.5 - 2.0542603, 1e-6, 'lo');
  close(iv.hi, 2.5 + 2.0542603, 1e-6, 'hi');
  assert.equal(iv.method, 't');
});

test('meanCI with one task has no interval; constant values never give a zero-width one', () => {
  const one = meanCI([0.7]);
  assert.deepEqual([one.n, one.mean, one.se, one.lo, one.hi], [1, 0.7, null, null, null]);
  // s = 0: the t interval would be the point 0.5. Without a range there is no interval (0.1 + 0.2 ≠ 0.3 by rounding only).
  const flat = meanCI([0.5, 0.5, 0.5]);
  assert.deepEqual([flat.mean, flat.lo, flat.hi], [0.5, null, null]);
  assert.equal(meanCI([0.1 + 0.2, 0.3, 0.3]).lo, null);
  // With the reward's range [−1, 1]: the Wilson interval of (x + 1)/2, mapped back. Reference values from scipy 1.17:
  // binomtest(0, 6).proportion_ci(0.95, method='wilson') = [0, 0.3903342879021653] → [−1, −1 + 2·0.39033…];
  // binomtest(3, 4) → [0.30064184258240184, 0.9544127391902995] for 0.5 = (0.75 − 0.5)·2 on four tasks.
  const junk = meanCI(Array(6).fill(-1), [-1, 1]);
  assert.equal(junk.method, 'wilson');
  assert.equal(junk.lo, -1);
  close(junk.hi, -0.21933142419566942, 1e-12, 'all −1, n=6');
  const half = meanCI([0.5, 0.5, 0.5, 0.5], [-1, 1]);
  close(half.lo, -0.3987163148351963, 1e-12, 'all 0.5 lo');
  close(half.hi, 0.9088254783805989, 1e-12, 'all 0.5 hi');
  // Values that differ keep the t interval.
  assert.equal(meanCI([-1, -1, -0.5], [-1, 1]).method, 't');
});

test('Wilson interval by hand: 0 of 10 and 5 of 10', () => {
  // z = 1.959964, z² = 3.841459. 0/10: centre = (0 + z²/20)/(1 + z²/10) = 0.1920729/1.3841459 = 0.1387664;
  // half = z·sqrt(0 + z²/400)/(1 + z²/10) = 1.959964·0.0979982/1.3841459 = 0.1387664 → [0, 0.2775328].
  const [lo0, hi0] = wilson(0, 10);
  close(lo0, 0, 1e-12, 'lo 0/10');
  close(hi0, 0.2775328, 1e-6, 'hi 0/10');
  // 5/10: centre = (0.5 + 0.1920729)/1.3841459 = 0.5; half = 1.959964·sqrt(0.025 + 0.0096036)/1.3841459
  //   = 1.959964·0.1860206/1.3841459 = 0.2634069 → [0.2365931, 0.7634069].
  const [lo5, hi5] = wilson(0.5, 10);
  close(lo5, 0.2365931, 1e-6, 'lo 5/10');
  close(hi5, 0.7634069, 1e-6, 'hi 5/10');
  // proportionCI over 10 tasks that are each 0 or 1 is exactly that interval, and does not collapse at 0.
  const iv = proportionCI([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(iv.method, 'wilson');
  close(iv.hi, 0.2775328, 1e-6, 'proportionCI all zero');
  // Every rate, the all-zero and all-one ones too, lies inside its own interval (rounding left 0 above lo 2.8e-17).
  for (let n = 1; n <= 200; n++) {
    for (let c = 0; c <= n; c += c < 2 || c > n - 3 ? 1 : Math.max(1, Math.floor(n / 7))) {
      const r = proportionCI(Array.from({ length: n }, (_, i) => (i < c ? 1 : 0)));
      assert.ok(r.lo! <= r.mean && r.mean <= r.hi!, `${c}/${n}: [${r.lo}, ${r.hi}] around ${r.mean}`);
    }
    assert.equal(proportionCI(Array(n).fill(0)).lo, 0, `0/${n}`);
    assert.equal(proportionCI(Array(n).fill(1)).hi, 1, `${n}/${n}`);
  }
});

/** pass@k by enumeration: the share of all k-subsets of n samples (c correct) holding ≥ 1 correct one. */
function passAtKBrute(n: number, c: number, k: number): number {
  let subsets = 0;
  let hit = 0;
  const rec = (start: number, left: number, anyCorrect: boolean) => {
    if (left === 0) {
      subsets++;
      if (anyCorrect) hit++;
      return;
    }
    for (let i = start; i <= n - left; i++) rec(i + 1, left - 1, anyCorrect || i < c); // samples 0..c−1 are correct
  };
  rec(0, k, false);
  return hit / subsets;
}

test('pass@k equals brute-force enumeration for every n ≤ 9', () => {
  for (let n = 1; n <= 9; n++)
    for (let c = 0; c <= n; c++)
      for (let k = 1; k <= n; k++) close(passAtK(n, c, k), passAtKBrute(n, c, k), 1e-12, `n=${n} c=${c} k=${k}`);
  // By hand: n=5, c=2, k=2: 1 − C(3,2)/C(5,2) = 1 − 3/10 = 0.7.
  close(passAtK(5, 2, 2), 0.7, 1e-15, 'n=5 c=2 k=2');
  // pass@1 is c/n.
  close(passAtK(8, 3, 1), 3 / 8, 1e-15, 'pass@1');
});

test('pass@k is stable for large n (no overflowing binomials)', () => {
  // 1 − C(180, 100)/C(200, 100) = 1 − Π_{i=181}^{200} (1 − 100/i); the product form stays in [0, 1].
  const p = passAtK(200, 20, 100);
  assert.ok(p > 0.999 && p <= 1, `got ${p}`);
  assert.equal(passAtK(1000, 0, 10), 0);
  assert.equal(passAtK(1000, 995, 10), 1);
  assert.throws(() => passAtK(4, 1, 5), /k ≤ n/);
});

test('paired SE by hand: A = [.2 .5 .1 .4], B = [.4 .6 .4 .5]', () => {
  const a = [0.2, 0.5, 0.1, 0.4];
  const b = [0.4, 0.6, 0.4, 0.5];
  // Var A: mean .3, deviations −.1 .2 −.2 .1 → (.01+.04+.04+.01)/3 = .1/3 = .0333333
  // Var B: mean .475, deviations −.075 .125 −.075 .025 → (.005625+.015625+.005625+.000625)/3 = .0275/3 = .0091667
  // Cov:   (−.1·−.075 + .2·.125 + −.2·−.075 + .1·.025)/3 = (.0075+.025+.015+.0025)/3 = .05/3 = .0166667
  // Var A + Var B − 2 Cov = (.1 + .0275 − .1)/3 = .0275/3 = .0091667; SE = sqrt(.0091667/4) = .0478714
  // diff = .475 − .3 = .175; half = t(0.975, 3)·SE = 3.1824463·.0478714 = .1523480 → [.0226520, .3273480]
  close(variance(a), 0.1 / 3, 1e-12, 'var A');
  close(variance(b), 0.0275 / 3, 1e-12, 'var B');
  close(covariance(a, b), 0.05 / 3, 1e-12, 'cov');
  const p = pairedCompare(a, b);
  assert.equal(p.n, 4);
  close(p.diff, 0.175, 1e-12, 'diff');
  close(p.se, 0.0478714, 1e-7, 'se');
  close(p.lo, 0.0226520, 1e-6, 'lo');
  close(p.hi, 0.3273480, 1e-6, 'hi');
  assert.equal(p.verdict, 'B better');
  // Swapping A and B mirrors the interval and the verdict.
  const q = pairedCompare(b, a);
  close(q.hi, -0.0226520, 1e-6, 'mirrored hi');
  assert.equal(q.verdict, 'A better');
});

test('paired comparison: pairing removes the task-difficulty variance; noise gives no verdict', () => {
  // Tasks differ a lot in difficulty, B is uniformly a bit better: the unpaired SE would swamp the gain.
  const a = [0.0, 0.9, 0.1, 0.8, 0.3, 0.6];
  const b = a.map((x, i) => x + 0.05 + (i % 2 ? 0.01 : -0.01));
  const p = pairedCompare(a, b);
  assert.equal(p.verdict, 'B better');
  const unpairedSe = Math.sqrt((variance(a) + variance(b)) / a.length);
  assert.ok(p.se! < unpairedSe / 10, `paired ${p.se} vs unpaired ${unpairedSe}`);
  assert.equal(pairedCompare([0.1, 0.5, 0.3], [0.3, 0.3, 0.3]).verdict, 'no detectable difference');
  assert.equal(pairedCompare([0.2, 0.4], [0.2, 0.4]).verdict, 'no detectable difference');
  const single = pairedCompare([0], [1]);
  assert.equal(single.se, null);
  assert.equal(single.verdict, 'no detectable difference');
});

test('paired comparison: B − A the same on every task gives no zero-width interval, and a verdict only from n = 6', () => {
  // Two tasks, both 0 → 1: the t interval would be [+1, +1] and "B better"; two coin flips cannot show that.
  const two = pairedCompare([0, 0], [1, 1]);
  assert.deepEqual([two.diff, two.lo, two.hi, two.verdict], [1, null, null, 'no detectable difference']);
  // Sign test, scipy 1.17: binomtest(5, 5).pvalue = 0.0625, binomtest(6, 6).pvalue = 0.03125.
  assert.equal(pairedCompare(Array(5).fill(0), Array(5).fill(1)).verdict, 'no detectable difference');
  const six = pairedCompare(Array(6).fill(0.5), Array(6).fill(0.25));
  assert.deepEqual([six.lo, six.hi, six.verdict], [null, null, 'A better']);
  // Equal up to rounding is no difference, however many tasks.
  assert.equal(pairedCompare(Array(50).fill(0.3), Array(50).fill(0.1 + 0.2)).verdict, 'no detectable difference');
  const lines = formatComparison({ a: 'a', b: 'b', shared: 6, onlyA: 0, onlyB: 0, configDiffs: [], metrics: [{ metric: 'exact', ...six }] });
  assert.match(lines.join('\n'), /exact: B − A is the same on every task/);
  assert.match(lines[lines.length - 1], /none\s+A better$/);
});

test('paired SE of nearly equal A and B comes from the differences, not a cancelling Var A + Var B − 2 Cov', () => {
  const a = [0.1, 0.5, 0.9, 0.3];
  const b = [0.100000001, 0.500000002, 0.899999999, 0.300000003];
  // scipy 1.17: stats.sem(b − a) = 8.539125660891716e-10;
  // stats.ttest_rel(b, a).confidence_interval(0.95) = (-1.4675308638881835e-09, 3.967530918083445e-09).
  const p = pairedCompare(a, b);
  close(p.se, 8.539125660891716e-10, 1e-15, 'se');
  close(p.lo, -1.4675308638881835e-09, 1e-14, 'lo');
  close(p.hi, 3.967530918083445e-09, 1e-14, 'hi');
});

test('meanCI with a range cuts the t interval to it: a mean reward near −1 has no CI end below −1', () => {
  const xs = [-1, -1, -1, -1, 1]; // mean −0.6, s = 0.894, t(0.975, 4) = 2.776 (scipy.stats.t.ppf): ± 1.110
  const free = meanCI(xs);
  assert.ok(Math.abs(free.lo! - -1.7104) < 1e-3 && Math.abs(free.hi! - 0.5104) < 1e-3, `${free.lo} ${free.hi}`);
  const cut = meanCI(xs, [-1, 1]);
  assert.deepEqual([cut.lo, cut.hi, cut.method], [-1, free.hi, 't']);
});

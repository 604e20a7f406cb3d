// Statistics for evaluation: a mean with a 95 % confidence interval over tasks, proportions with a
// Wilson interval, the unbiased pass@k estimator and the paired comparison of two evaluations.
// Everything here is plain numbers in, plain numbers out; it knows nothing about models or files.
// Formulas (stated once, used everywhere):
//   mean CI:    x̄ ± t(0.975, n−1) · s/√n, s the sample std (n−1); Student t, not normal (n is small),
//               cut to the values' range where one is given;
//               s = 0 (all tasks equal): Wilson over the values' range, never a zero-width interval.
//   proportion: Wilson score interval with z = 1.96 and n = tasks (each task's value in [0,1] counts once).
//   pass@k:     1 − C(n−c, k)/C(n, k) = 1 − Π_{i=n−c+1}^{n} (1 − k/i)   (Chen et al. 2021, product form).
//   paired:     d = B − A per task; SE = sqrt((Var A + Var B − 2 Cov(A,B))/n) = s_d/√n; CI with t(0.975, n−1);
//               s_d = 0 (every task moved alike): no interval, the sign test's verdict (p = 2^(1−n)).

/** Two-sided 95 % normal critical value. */
export const Z95 = 1.959963984540054;

export interface Interval {
  /** Number of tasks. */
  n: number;
  mean: number;
  /** Standard error of the mean over tasks (null when n < 2). */
  se: number | null;
  /** 95 % interval; null when it cannot be estimated (n < 2 for the t interval, n = 0 for Wilson). */
  lo: number | null;
  hi: number | null;
  /** Which formula gave lo/hi. */
  method: 't' | 'wilson';
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample variance with the n−1 denominator (NaN for n < 2). */
export function variance(xs: readonly number[]): number {
  return covariance(xs, xs);
}

/** Sample covariance with the n−1 denominator (NaN for n < 2). */
export function covariance(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error(`covariance: lengths differ (${xs.length} vs ${ys.length})`);
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = mean(xs);
  const my = mean(ys);
  let s = 0;
  for (let i = 0; i < n; i++) s += (xs[i] - mx) * (ys[i] - my);
  return s / (n - 1);
}

// ---- Student t quantile: bisection on the CDF, which comes from the regularized incomplete beta ----

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta (modified Lentz), as in Numerical Recipes' betacf. */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lbt) * betaCf(a, b, x)) / a;
  return 1 - (Math.exp(lbt) * betaCf(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

const tCache = new Map<string, number>();

/** Quantile of Student's t: the t with P(T ≤ t) = p, for 0.5 ≤ p < 1. */
export function tQuantile(p: number, df: number): number {
  if (!(df > 0)) throw new Error(`tQuantile: df must be > 0, got ${df}`);
  if (!(p >= 0.5 && p < 1)) throw new Error(`tQuantile: p must be in [0.5, 1), got ${p}`);
  const key = `${p}:${df}`;
  const hit = tCache.get(key);
  if (hit !== undefined) return hit;
  let lo = 0;
  let hi = 2;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  const q = (lo + hi) / 2;
  tCache.set(key, q);
  return q;
}

// ---- intervals ----

/**
 * Mean over tasks with a 95 % Student-t interval x̄ ± t(0.975, n−1)·s/√n; no interval for n < 2.
 * When every task has the same value (s = 0) that interval is the point x̄, certainty claimed from n
 * tasks; then, given the `range` the values can take, the Wilson interval of the values rescaled to
 * [0, 1] is used, as proportionCI does for rates (without a range there is no interval).
 */
export function meanCI(xs: readonly number[], range?: readonly [number, number]): Interval {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) return { n, mean: m, se: null, lo: null, hi: null, method: 't' };
  const se = Math.sqrt(variance(xs) / n);
  if (se * Math.sqrt(n) <= roundingOf(xs)) {
    if (!range) return { n, mean: m, se, lo: null, hi: null, method: 't' };
    const [a, b] = range;
    const [lo, hi] = wilson(Math.min(1, Math.max(0, (m - a) / (b - a))), n);
    return { n, mean: m, se, lo: a + lo * (b - a), hi: a + hi * (b - a), method: 'wilson' };
  }
  const half = tQuantile(0.975, n - 1) * se;
  // Given the values' range, the interval is cut to it: the mean of rewards in [−1, 1] is never below −1.
  const [a, b] = range ?? [-Infinity, Infinity];
  return { n, mean: m, se, lo: Math.max(a, m - half), hi: Math.min(b, m + half), method: 't' };
}

/** What counts as 0 next to values like `xs` (a std at most this: all equal; 0.1 + 0.2 and 0.3 are the same value). */
function roundingOf(xs: readonly number[]): number {
  let scale = 1;
  for (const x of xs) scale = Math.max(scale, Math.abs(x));
  return 1e-12 * scale;
}

/**
 * A rate over tasks (values in [0,1], one per task) with the 95 % Wilson score interval for n = tasks.
 * Wilson rather than the t interval because rates are often 0 or 1 on small sets, where s/√n is 0 and
 * the t interval collapses to a point; for per-task fractions (k samples) it is conservative, since
 * the variance of values in [0,1] with mean p is at most p(1−p).
 */
export function proportionCI(xs: readonly number[]): Interval {
  const n = xs.length;
  const p = mean(xs);
  const se = n >= 2 ? Math.sqrt(variance(xs) / n) : null;
  if (n === 0) return { n, mean: p, se, lo: null, hi: null, method: 'wilson' };
  const [lo, hi] = wilson(p, n);
  return { n, mean: p, se, lo, hi, method: 'wilson' };
}

/** Wilson score interval for a rate p observed over n trials, z = 1.96. */
export function wilson(p: number, n: number, z = Z95): [number, number] {
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // Clamped to hold p itself: at p = 0 or 1 the bound is p exactly, where rounding left it 1e-17 off.
  return [Math.min(p, Math.max(0, center - half)), Math.max(p, Math.min(1, center + half))];
}

/** Half-width of an interval (null when there is none); what logs print as "± h". */
export function halfWidth(iv: Interval): number | null {
  return iv.lo === null || iv.hi === null ? null : (iv.hi - iv.lo) / 2;
}

// ---- pass@k ----

/**
 * Unbiased pass@k for one task from n samples of which c are correct: 1 − C(n−c, k)/C(n, k),
 * computed as 1 − Π_{i=n−c+1}^{n} (1 − k/i), which never forms a large binomial coefficient.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k))) throw new Error('passAtK: integers expected');
  if (k < 1 || k > n) throw new Error(`passAtK: need 1 ≤ k ≤ n, got k=${k}, n=${n}`);
  if (c < 0 || c > n) throw new Error(`passAtK: need 0 ≤ c ≤ n, got c=${c}, n=${n}`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

// ---- paired comparison ----

export type Verdict = 'B better' | 'A better' | 'no detectable difference';

export interface Paired {
  /** Tasks both evaluations share. */
  n: number;
  meanA: number;
  meanB: number;
  /** mean(B) − mean(A). */
  diff: number;
  /** sqrt((Var A + Var B − 2 Cov(A,B))/n); null for n < 2. */
  se: number | null;
  /** 95 % interval of the difference, diff ± t(0.975, n−1)·se; null for n < 2 and when B − A is the same on every task. */
  lo: number | null;
  hi: number | null;
  /** Higher is better for every metric pr-rl reports. From the interval (lo > 0: B better, hi < 0: A better);
   *  without one, the sign test when B − A is the same nonzero amount on all n ≥ 6 tasks, else no difference. */
  verdict: Verdict;
}

/** Paired comparison of per-task values a[i], b[i] (the same task at index i in both). */
export function pairedCompare(a: readonly number[], b: readonly number[]): Paired {
  if (a.length !== b.length) throw new Error(`pairedCompare: lengths differ (${a.length} vs ${b.length})`);
  const n = a.length;
  const meanA = mean(a);
  const meanB = mean(b);
  const diff = meanB - meanA;
  if (n < 2) return { n, meanA, meanB, diff, se: null, lo: null, hi: null, verdict: 'no detectable difference' };
  // s_d itself rather than Var A + Var B − 2 Cov (the same number): that sum cancels when A and B are close.
  const d = b.map((x, i) => x - a[i]);
  const sd = Math.sqrt(variance(d));
  const se = sd / Math.sqrt(n);
  if (sd <= roundingOf(d)) {
    // Every task moved by the same amount: the t interval would be the point diff, certainty from n tasks.
    // No interval then, and the sign test's verdict: n differences of one sign have p = 2^(1−n) (< 0.05 from n = 6).
    const moved = Math.abs(diff) > roundingOf(d) && 2 ** (1 - n) < 0.05;
    return { n, meanA, meanB, diff, se, lo: null, hi: null, verdict: !moved ? 'no detectable difference' : diff > 0 ? 'B better' : 'A better' };
  }
  const half = tQuantile(0.975, n - 1) * se;
  const lo = diff - half;
  const hi = diff + half;
  const verdict: Verdict = lo > 0 ? 'B better' : hi < 0 ? 'A better' : 'no detectable difference';
  return { n, meanA, meanB, diff, se, lo, hi, verdict };
}

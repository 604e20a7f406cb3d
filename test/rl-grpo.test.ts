// Run: node --import tsx --test test/rl-grpo.test.ts
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { advantages, grpoLoss, readStats, LOSSES, LOSS_TYPES, type GrpoLossInput, type LossType } from '../src/rl/grpo.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-5, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const closeAll = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, what = '') => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) close(a[i], b[i], tol, `${what}[${i}]`);
};

// ------------------------------------------------------------------------------------------------
// Advantages. Rewards: group 0 = [1, 0, 0.5], group 1 = [0.2, 0.2, 0.2] (no spread).

const R = [1, 0, 0.5, 0.2, 0.2, 0.2];

test('advantages: group std (sample, n−1) scaling; a zero-spread group gives exactly 0 and is counted', () => {
  // group 0: mean 0.5, deviations [0.5, −0.5, 0], var = (0.25 + 0.25 + 0)/2 = 0.25, std 0.5 → [1, −1, 0]
  const a = advantages(R, 3, { scaleStd: true, level: 'group', eps: 0 });
  assert.deepEqual(a.adv, [1, -1, 0, 0, 0, 0]);
  assert.equal(a.zeroStdGroups, 1);
  assert.equal(a.fracZeroStd, 0.5);
  // with eps = 1e-4: 0.5 / (0.5 + 1e-4)
  const b = advantages(R, 3, { scaleStd: true, level: 'group', eps: 1e-4 });
  closeAll(b.adv, [0.5 / 0.5001, -0.5 / 0.5001, 0, 0, 0, 0], 1e-12);
});

test('advantages: without std scaling (Dr. GRPO) rewards are only centred per group', () => {
  const a = advantages(R, 3, { scaleStd: false, level: 'group', eps: 1e-4 });
  closeAll(a.adv, [0.5, -0.5, 0, 0, 0, 0], 1e-12);
  assert.equal(a.fracZeroStd, 0.5);
  // level does not matter without scaling
  assert.deepEqual(advantages(R, 3, { scaleStd: false, level: 'batch', eps: 1e-4 }).adv, a.adv);
});

test('advantages: batch level keeps the group mean and divides by the batch std', () => {
  // all six: mean 2.1/6 = 0.35; deviations 0.65 −0.35 0.15 −0.15 −0.15 −0.15;
  // squares 0.4225 + 0.1225 + 0.0225 + 3·0.0225 = 0.635; var = 0.635/5 = 0.127
  const a = advantages(R, 3, { scaleStd: true, level: 'batch', eps: 0 });
  const s = Math.sqrt(0.127);
  closeAll(a.adv, [0.5 / s, -0.5 / s, 0, 0, 0, 0], 1e-12);
  assert.equal(a.zeroStdGroups, 1);
});

test('advantages: all-format-error groups, float-noisy equal rewards, and bad input', () => {
  // 0.1 three times: mean is 0.10000000000000002 in float64, yet the advantages must be exactly 0
  const a = advantages([-1, -1, 0.1, 0.1, 0.1, 0.3], 2);
  assert.deepEqual(a.adv.slice(0, 4), [0, 0, 0, 0]);
  assert.equal(a.zeroStdGroups, 2);
  close(a.fracZeroStd, 2 / 3, 1e-15);
  assert.ok(a.adv[4] < 0 && a.adv[5] > 0);
  assert.throws(() => advantages([1, 2, 3], 2), /do not split/);
  assert.throws(() => advantages([1, NaN], 2), /not finite/);
});

// ------------------------------------------------------------------------------------------------
// Loss. N = 2, T = 3. d = logp − oldLogp is chosen so that ρ = exp(d) is round:
//   row 0 (Â = +1): ρ = [1, 1.5, 0.5]
//   row 1 (Â = −2): ρ = [0.5, 1.5, e^100 (masked: would be inf in float32)]
// clip range [1 − 0.2, 1 + 0.28] = [0.8, 1.28]. Per-token −min(ρÂ, clip(ρ)Â):
//   row 0: ρ=1 → −1;  ρ=1.5 → −min(1.5, 1.28) = −1.28 (high clip);  ρ=0.5 → −min(0.5, 0.8) = −0.5 (no clip)
//   row 1: ρ=0.5 → −min(−1, −1.6) = 1.6 (low clip);  ρ=1.5 → −min(−3, −2.56) = 3 (no clip)
// sums: row 0 = −2.78 over 3 tokens, row 1 = 4.6 over 2 tokens.
//   grpo    = (−2.78/3 + 4.6/2) / 2            = 0.686666…
//   dapo    = (−2.78 + 4.6) / 5                = 0.364
//   dr_grpo = (−2.78 + 4.6) / (2 · maxLen 4)   = 0.2275
// k3 with r = ref − logp: row 0 r = [0, ln2, −ln2], row 1 r = [ln2, 0, masked 200]
//   k3(0) = 0, k3(ln2) = 2 − ln2 − 1 = 0.306853, k3(−ln2) = 0.5 + ln2 − 1 = 0.193147
//   row 0 KL sum = 0.5, row 1 KL sum = 1 − ln2; mean KL = (1.5 − ln2)/5 = 0.161371

const LN2 = Math.log(2);
const LOGP = [[-1.0, -2.0, -0.5], [-1.5, -0.2, 0.0]];
const D = [[0, Math.log(1.5), Math.log(0.5)], [Math.log(0.5), Math.log(1.5), 100]];
const RREF = [[0, LN2, -LN2], [LN2, 0, 200]];
const MASK = [[1, 1, 1], [1, 1, 0]];

function inputs(extra: Partial<GrpoLossInput> = {}): GrpoLossInput {
  return {
    logp: tf.tensor2d(LOGP),
    oldLogp: tf.tensor2d(LOGP.map((r, i) => r.map((x, t) => x - D[i][t]))),
    refLogp: tf.tensor2d(LOGP.map((r, i) => r.map((x, t) => x + RREF[i][t]))),
    adv: [1, -2],
    mask: tf.tensor2d(MASK),
    clipLow: 0.2,
    clipHigh: 0.28,
    beta: 0,
    lossType: 'dapo',
    maxLen: 4,
    ...extra,
  };
}

async function run(extra: Partial<GrpoLossInput>) {
  const inp = inputs(extra);
  const { loss, stats } = grpoLoss(inp);
  const value = (await loss.data())[0];
  loss.dispose();
  tf.dispose([inp.logp, inp.oldLogp!, inp.refLogp!, inp.mask]);
  return { value, stats: await readStats(stats) };
}

test('grpoLoss: hand-computed values for grpo / dapo / dr_grpo, clipping on both sides with εlow ≠ εhigh', async () => {
  const want: Record<LossType, number> = { grpo: (-2.78 / 3 + 4.6 / 2) / 2, dapo: 1.82 / 5, dr_grpo: 1.82 / 8 };
  for (const lossType of LOSS_TYPES) {
    const { value, stats } = await run({ lossType });
    close(value, want[lossType], 2e-6, lossType);
    close(stats.lowClip, 0.2, 1e-6, 'lowClip'); // row 1 token 0 only (ρ = 0.5 < 0.8 with Â < 0)
    close(stats.highClip, 0.2, 1e-6, 'highClip'); // row 0 token 1 only (ρ = 1.5 > 1.28 with Â > 0)
    close(stats.clipRatio, 0.4, 1e-6, 'clipRatio');
    close(stats.ratio, 1.0, 1e-6, 'ratio'); // (1 + 1.5 + 0.5 + 0.5 + 1.5) / 5
    assert.equal(stats.tokens, 5);
    close(stats.kl, (1.5 - LN2) / 5, 1e-6, 'kl'); // reported even with beta = 0
  }
});

test('grpoLoss: the εs are used as given (symmetric 0.2 would clip row 0 token 1 at 1.2, not 1.28)', async () => {
  const { value } = await run({ lossType: 'dapo', clipHigh: 0.2 });
  close(value, (-2.7 + 4.6) / 5, 2e-6); // row 0: −1 − 1.2 − 0.5
});

test('grpoLoss: k3 KL to the reference weighted by β', async () => {
  const beta = 0.1;
  const kl0 = 0.5; // row 0 KL sum
  const kl1 = 1 - LN2; // row 1 KL sum
  const want: Record<LossType, number> = {
    grpo: ((-2.78 + beta * kl0) / 3 + (4.6 + beta * kl1) / 2) / 2, // 0.70267132
    dapo: (1.82 + beta * (kl0 + kl1)) / 5, // 0.38013706
    dr_grpo: (1.82 + beta * (kl0 + kl1)) / 8, // 0.23758566
  };
  for (const lossType of LOSS_TYPES) {
    const { value, stats } = await run({ lossType, beta });
    close(value, want[lossType], 2e-6, lossType);
    close(stats.kl, (1.5 - LN2) / 5, 1e-6);
  }
  assert.throws(() => grpoLoss({ ...inputs({ beta }), refLogp: undefined }), /needs refLogp/);
});

test('grpoLoss: truncated completions are masked out only when the flag is on', async () => {
  const truncated = [false, true];
  const want: Record<LossType, number> = { grpo: -2.78 / 3 / 2, dapo: -2.78 / 3, dr_grpo: -2.78 / 8 };
  for (const lossType of LOSS_TYPES) {
    const on = await run({ lossType, truncated, maskTruncated: true });
    close(on.value, want[lossType], 2e-6, lossType);
    assert.equal(on.stats.tokens, 3);
    close(on.stats.lowClip, 0, 1e-7);
    close(on.stats.highClip, 1 / 3, 1e-6);
    const off = await run({ lossType, truncated, maskTruncated: false });
    close(off.value, { grpo: (-2.78 / 3 + 2.3) / 2, dapo: 0.364, dr_grpo: 0.2275 }[lossType], 2e-6);
  }
});

test('grpoLoss: μ = 1 (no oldLogp) means ρ = 1 and ∂loss/∂logp = −Â·(aggregation weight)', async () => {
  const logp = tf.tensor2d(LOGP);
  const mask = tf.tensor2d(MASK);
  const base = { adv: [1, -2], mask, clipLow: 0.2, clipHigh: 0.28, beta: 0, maxLen: 4 };
  const want: Record<LossType, { loss: number; grad: number[] }> = {
    // dapo: per-token −Â / 5 tokens
    dapo: { loss: (-3 + 4) / 5, grad: [-0.2, -0.2, -0.2, 0.4, 0.4, 0] },
    // grpo: −Â / (len_i · N): row 0 −1/6, row 1 2/4
    grpo: { loss: (-1 + 2) / 2, grad: [-1 / 6, -1 / 6, -1 / 6, 0.5, 0.5, 0] },
    // dr_grpo: −Â / (N · maxLen) = −Â / 8
    dr_grpo: { loss: (-3 + 4) / 8, grad: [-0.125, -0.125, -0.125, 0.25, 0.25, 0] },
  };
  for (const lossType of LOSS_TYPES) {
    let stats!: ReturnType<typeof grpoLoss>['stats'];
    let value = NaN;
    const g = tf.grad((x: tf.Tensor) => {
      const r = grpoLoss({ ...base, logp: x as tf.Tensor2D, lossType });
      stats = r.stats;
      value = r.loss.dataSync()[0];
      return r.loss;
    })(logp);
    close(value, want[lossType].loss, 1e-6, `${lossType} loss`);
    closeAll(await g.data(), want[lossType].grad, 1e-6, `${lossType} grad`);
    const s = await readStats(stats);
    assert.equal(s.ratio, 1);
    assert.equal(s.clipRatio, 0);
    g.dispose();
  }
  tf.dispose([logp, mask]);
});

// ------------------------------------------------------------------------------------------------

const D3 = [[0.05, 0.5, -0.4], [-0.5, 0.4, 0.1], [0.0, -0.1, 0.15]]; // all ≥ 0.05 away from ln 0.8, ln 1.28
const L3 = [[-1.2, -0.3, -2.0], [-0.7, -1.1, -0.4], [-2.5, -0.9, -1.6]];
const R3 = [[0.3, -0.2, 0.1], [0.0, 0.25, -0.35], [0.1, 0.2, -0.1]];
const M3 = [[1, 1, 1], [1, 1, 0], [1, 0, 1]];
const A3 = [0.7, -1.3, 0.4];

function lossFn(lossType: LossType, beta: number, rows = [0, 1, 2], batch?: { seqs: number; tokens: number }) {
  const pick = (m: number[][]) => tf.tensor2d(rows.map((r) => m[r]));
  const old = pick(L3.map((r, i) => r.map((x, t) => x - D3[i][t])));
  const ref = pick(L3.map((r, i) => r.map((x, t) => x + R3[i][t])));
  const mask = pick(M3);
  const f = (logp: tf.Tensor2D) => {
    const { loss, stats } = grpoLoss({ logp, oldLogp: old, refLogp: ref, adv: rows.map((r) => A3[r]), mask, clipLow: 0.2, clipHigh: 0.28, beta, lossType, maxLen: 5, batch });
    tf.dispose(Object.values(stats));
    return loss;
  };
  return { f, dispose: () => tf.dispose([old, ref, mask]) };
}

test('grpoLoss: gradient w.r.t. logp matches central finite differences (every loss type, with KL)', () => {
  const h = 1e-2;
  for (const lossType of LOSS_TYPES) {
    for (const beta of [0, 0.1]) {
      const { f, dispose } = lossFn(lossType, beta);
      const x = tf.tensor2d(L3);
      const g = tf.grad((t: tf.Tensor) => f(t as tf.Tensor2D))(x).dataSync();
      for (let k = 0; k < 9; k++) {
        const at = (dx: number) => {
          const v = L3.flat();
          v[k] += dx;
          const t = tf.tensor2d(v, [3, 3]);
          const l = f(t);
          const out = l.dataSync()[0];
          tf.dispose([t, l]);
          return out;
        };
        close(g[k], (at(h) - at(-h)) / (2 * h), 3e-4, `${lossType} β=${beta} d/dlogp[${k}]`);
      }
      if (beta === 0) {
        // clipped tokens give no gradient: row 0 token 1 (ρ = e^0.5 > 1.28, Â > 0), row 1 token 0 (ρ = e^−0.5 < 0.8, Â < 0)
        assert.equal(g[1], 0);
        assert.equal(g[3], 0);
      }
      assert.equal(g[5], 0); // masked
      tf.dispose(x);
      dispose();
    }
  }
});

test('grpoLoss: micro-batches with whole-batch counts sum to the full-batch loss', () => {
  for (const lossType of LOSS_TYPES) {
    const full = lossFn(lossType, 0.1);
    const x = tf.tensor2d(L3);
    const lw = full.f(x);
    const whole = lw.dataSync()[0];
    lw.dispose();
    const batch = { seqs: 3, tokens: 7 };
    const a = lossFn(lossType, 0.1, [0, 1], batch);
    const b = lossFn(lossType, 0.1, [2], batch);
    const xa = tf.tensor2d(L3.slice(0, 2));
    const xb = tf.tensor2d(L3.slice(2));
    const [la, lb] = [a.f(xa), b.f(xb)];
    close(la.dataSync()[0] + lb.dataSync()[0], whole, 1e-6, lossType);
    [full, a, b].forEach((p) => p.dispose());
    tf.dispose([x, xa, xb, la, lb]);
  }
});

test('grpoLoss: works inside variableGrads, stats survive it, tensor count is flat', async () => {
  const v = tf.variable(tf.tensor2d(LOGP));
  const step = async () => {
    const inp = inputs({ lossType: 'grpo', beta: 0.1 });
    let stats!: ReturnType<typeof grpoLoss>['stats'];
    const { value, grads } = tf.variableGrads(() => {
      const r = grpoLoss({ ...inp, logp: tf.add(v, 0) as tf.Tensor2D, oldLogp: undefined });
      stats = r.stats;
      return r.loss;
    });
    const s = await readStats(stats);
    tf.dispose([value, ...Object.values(grads), inp.logp, inp.oldLogp!, inp.refLogp!, inp.mask]);
    return s;
  };
  await step(); // warm-up, then the count must not grow
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const s = await step();
    assert.equal(s.tokens, 5);
    assert.equal(s.ratio, 1);
    close(s.kl, (1.5 - LN2) / 5, 1e-6);
  }
  assert.equal(tf.memory().numTensors, n0);
  v.dispose();
  assert.deepEqual(Object.keys(LOSSES).sort(), ['dapo', 'dr_grpo', 'grpo']);
});

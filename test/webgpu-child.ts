// Child process of test/webgpu.test.ts (Dawn needs LD_LIBRARY_PATH before node starts, so the test
// spawns this with the lavapipe env). Runs a tiny Transformer on the webgpu backend — forward logits,
// gradients of a tokenLogprobs loss, greedy sampling with the KV cache, a few GRPO + AdamW steps — then
// the same on cpu from the same host weights, and prints one JSON line of differences for the parent
// to assert. It asserts nothing itself. Usage: node --import tsx test/webgpu-child.ts

import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.ts';
import { generate } from '../src/model/sample.ts';
import { tokenLogprobs, Transformer, type LlamaConfig } from '../src/model/transformer.ts';
import { AdamW, clipGradNorm } from '../src/model/optim.ts';
import { grpoLoss, readStats } from '../src/rl/grpo.ts';
import { Rng } from '../src/util/rng.ts';

const CONFIG: LlamaConfig = {
  hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64,
  vocab_size: 96, rope_theta: 10000, max_position_embeddings: 32, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  bos_token_id: 0, eos_token_id: 1, pad_token_id: 2,
};
const B = 4;
const T = 12;
const GRPO_STEPS = 3;

type Host = Map<string, { shape: number[]; data: Float32Array }>;

interface RunResult {
  logits: Float32Array;
  grads: Map<string, Float32Array>;
  greedy: number[][];
  losses: number[];
  after: Map<string, Float32Array>;
  /** Tensors alive after each GRPO step: flat when nothing leaks per step. */
  tensorsPerStep: number[];
  buffersPerStep: number[];
}

/** Everything we compare, on the current backend, starting from `weights`. All reads are async. */
async function run(weights: Host, ids: number[][], completionMask: number[][], adv: number[]): Promise<RunResult> {
  const model = Transformer.init(CONFIG, 1);
  for (const [name, v] of model.params) {
    const w = weights.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')));
  }
  const idsT = tf.tensor2d(ids, [B, T], 'int32'); // [B, T]
  const logitsT = tf.tidy(() => model.logits(idsT)); // [B, T, V]
  const logits = (await logitsT.data()) as Float32Array;
  logitsT.dispose();

  const vars = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tokenLogprobs(model, idsT))) as tf.Scalar, vars);
  const gradHost = new Map<string, Float32Array>();
  // Keyed by parameter name: tfjs variable names need not match across two model instances.
  for (const [name, v] of model.params) if (grads[v.name]) gradHost.set(name, (await grads[v.name].data()) as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);

  const out = await generate(model, [[0, 5, 6, 7, 8], [0, 9, 3], [0, 40, 41, 42, 43, 44]], {
    maxNewTokens: 6, temperature: 0, topP: 1, topK: 0, stopTokens: [], rng: new Rng(7),
  });

  // GRPO: fixed rollouts (the sampled ids do not matter here), old/ref log-probs from the start
  // policy so that ratio, clipping and the k3 KL all take part; two μ passes per step.
  const mask = tf.tensor2d(completionMask, [B, T - 1]); // [B, T-1]
  const start = tf.tidy(() => tokenLogprobs(model, idsT)); // [B, T-1]
  const opt = new AdamW(vars, { lr: 3e-3, weightDecay: 0.01 });
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  const buffersPerStep: number[] = [];
  for (let step = 0; step < GRPO_STEPS; step++) {
    const buffers0 = createdBuffers;
    const old = tf.tidy(() => tokenLogprobs(model, idsT)); // [B, T-1]
    for (let pass = 0; pass < 2; pass++) {
      let stats: Awaited<ReturnType<typeof grpoLoss>>['stats'] | undefined;
      const { value: loss, grads: g } = tf.variableGrads(() => {
        const r = grpoLoss({
          logp: tokenLogprobs(model, idsT), oldLogp: old, refLogp: start, adv, mask,
          clipLow: 0.2, clipHigh: 0.28, beta: 0.04, lossType: 'grpo',
        });
        stats = r.stats;
        return r.loss;
      }, vars);
      opt.step(g);
      losses.push((await loss.data())[0]);
      await readStats(stats!);
      tf.dispose([loss, ...Object.values(g)]);
    }
    old.dispose();
    tensorsPerStep.push(tf.memory().numTensors);
    buffersPerStep.push(createdBuffers - buffers0);
  }
  const after = new Map<string, Float32Array>();
  for (const [name, v] of model.params) after.set(name, (await v.data()) as Float32Array);
  tf.dispose([idsT, mask, start]);
  opt.dispose();
  model.dispose();
  return { logits, grads: gradHost, greedy: out.tokens, losses, after, tensorsPerStep, buffersPerStep };
}

/** max |a − b| and that divided by max |b| (b is the cpu reference). */
function diff(a: Float32Array, b: Float32Array): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { abs, rel: abs / Math.max(scale, 1e-30) };
}

function worst(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { name: string; abs: number; rel: number } {
  let w = { name: '', abs: 0, rel: 0 };
  for (const [name, x] of a) {
    const d = diff(x, b.get(name)!);
    if (d.rel >= w.rel) w = { name, ...d };
  }
  return w;
}

const t0 = performance.now();
const rng = new Rng(3);
const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(CONFIG.vocab_size)));
const completionMask = ids.map((_, b) => Array.from({ length: T - 1 }, (_, t) => (t >= 3 && t < T - 1 - b ? 1 : 0)));
const adv = [1.2, -0.4, 0.7, -1.5];

// Backend first (installs navigator.gpu and registers the tfjs webgpu backend), then weights on it.
const info = await initBackend('webgpu', () => {});
// Run every op on the GPU, small ones included, so a stray dataSync cannot hide behind CPU forwarding.
tf.env().set('WEBGPU_CPU_FORWARD', false);
// Count GPU buffer creations: after the first step, the buffer pool (and fastUploads) should serve all.
let createdBuffers = 0;
const device = (tf.backend() as unknown as { device: { createBuffer: (d: unknown) => unknown } }).device;
const createBuffer = device.createBuffer.bind(device);
device.createBuffer = (d: unknown) => (createdBuffers++, createBuffer(d));
const init = Transformer.init(CONFIG, 1);
const weights: Host = new Map();
for (const [name, v] of init.params) weights.set(name, { shape: [...v.shape], data: ((await v.data()) as Float32Array).slice() });
init.dispose();
const gpu = await run(weights, ids, completionMask, adv);
const gpuSeconds = (performance.now() - t0) / 1000;

/** Five AdamW steps from fixed values (fused kernels on webgpu, the composite on cpu); params and moments. */
async function adamw(): Promise<Float32Array> {
  const rngA = new Rng(9);
  const host = (n: number) => Float32Array.from({ length: n }, () => rngA.next() * 2 - 1);
  const vars = [tf.variable(tf.tensor(host(37 * 5), [37, 5])), tf.variable(tf.tensor(host(7), [7]))];
  const opt = new AdamW(vars, { lr: 1e-2, weightDecay: 0.1 });
  for (let s = 0; s < 5; s++) {
    const g = vars.map((v) => tf.tensor(host(v.size), v.shape));
    opt.step(g, 1e-2 * (1 + s));
    tf.dispose(g);
  }
  const st = await opt.state();
  const out = [...(await Promise.all(vars.map((v) => v.data()))), ...st.m, ...st.v].flatMap((a) => Array.from(a as Float32Array));
  opt.dispose();
  tf.dispose(vars);
  return Float32Array.from(out);
}
const gpuAdamw = await adamw();

/** Gradient clipping over more tensors than a shader stage may bind (its norm sums them all). */
async function clipped(): Promise<Float32Array> {
  const rngC = new Rng(11);
  const grads = Array.from({ length: 20 }, (_, i) => tf.tensor(Array.from({ length: 3 + i }, () => rngC.next() - 0.5)));
  const { grads: out, norm } = clipGradNorm(grads, 0.5);
  const values = [...(await norm.data()), ...(await Promise.all(out.map((g) => g!.data()))).flatMap((a) => Array.from(a))];
  tf.dispose([...grads, ...(out as tf.Tensor[]), norm]);
  return Float32Array.from(values);
}
const gpuClip = await clipped();

await tf.setBackend('cpu');
const cpu = await run(weights, ids, completionMask, adv);
const cpuAdamw = await adamw();
const cpuClip = await clipped();

process.stdout.write(JSON.stringify({
  backend: info.backend,
  adapter: info.adapter,
  logits: diff(gpu.logits, cpu.logits),
  grads: worst(gpu.grads, cpu.grads),
  gradCount: { webgpu: gpu.grads.size, cpu: cpu.grads.size },
  greedy: { webgpu: gpu.greedy, cpu: cpu.greedy },
  losses: { webgpu: gpu.losses, cpu: cpu.losses },
  paramsAfter: worst(gpu.after, cpu.after),
  moved: diff(cpu.after.get('model.layers.0.self_attn.q_proj.weight')!, weights.get('model.layers.0.self_attn.q_proj.weight')!.data).abs,
  tensorsPerStep: gpu.tensorsPerStep,
  buffersPerStep: gpu.buffersPerStep,
  adamw: diff(gpuAdamw, cpuAdamw),
  clip: diff(gpuClip, cpuClip),
  webgpuSeconds: gpuSeconds,
  seconds: (performance.now() - t0) / 1000,
}) + '\n');
process.exit(0);

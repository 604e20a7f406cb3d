// Training and sampling throughput of the tfjs policy against PyTorch on this machine: the same
// Llama-style shape (V4096, D256, L4, H4, B8, T256; Adam) in tfjs (wasm by default) and in PyTorch eager
// fp32 (bench/train_torch.py, when `import torch` works), alternating the two sides `--rounds` times
// because the cores may be shared. Prints tokens/s (wall and per CPU-second, which shared cores disturb
// less), the ratios, peak RSS. Run: npm run bench:train [-- --backend wasm --rounds 2 --steps 4]
// What limits wasm: training is GEMM-bound (~80% of a step in BatchMatMul) and XNNPACK on 128-bit wasm
// SIMD without FMA, single-threaded under Node, reaches 20–29 GFLOP/s where PyTorch's AVX-512 kernels
// reach ~135 on one core here; sampling (batch 8) is matmul-bound too (BatchMatMul ~2/3 of kernel time,
// the KV cache's per-step concat ~1/5). Multi-threaded wasm (its pthread build forced on
// under Node) was tried and dropped: it hung at this shape and ran slower on 2 shared cores.
// The `onnx` row is onnx.ts's sampler (onnxruntime-node CPU, MLAS kernels) on the same weights and prompts,
// at intraOpNumThreads 1 like the single-threaded wasm side; compare its thread count with torch's line.
// Its training columns are onnxtrain.ts's hand-derived backward graph on the same ids and loss (mean
// next-token NLL), then a plain Adam step in JS over the Float32Arrays; `onnx×2` is that at 2 threads.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initBackend, type BackendKind } from '../src/model/backend.ts';
import { Transformer, tokenLogprobs, type LlamaConfig } from '../src/model/transformer.ts';
import { generate, type SampleOptions } from '../src/model/sample.ts';
import { OnnxPolicy } from '../src/model/onnx.ts';
import { OnnxTrainer } from '../src/model/onnxtrain.ts';
import { Rng } from '../src/util/rng.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const S = {
  backend: arg('backend', 'wasm') as BackendKind,
  vocab: +arg('vocab', '4096'), dim: +arg('dim', '256'), layers: +arg('layers', '4'), heads: +arg('heads', '4'),
  ffn: +arg('ffn', '688'), batch: +arg('batch', '8'), seq: +arg('seq', '256'), steps: +arg('steps', '4'),
  rounds: +arg('rounds', '2'), sampleBatch: +arg('sample-batch', '8'), prompt: +arg('prompt', '16'), newTokens: +arg('new-tokens', '128'),
  torch: arg('torch', 'auto'),
};

interface Result { train_tok_s: number; train_tok_cpu_s: number; sample_tok_s: number; sample_tok_cpu_s: number; peak_rss_mb: number }

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

/** The sampling workload both JS sides run: random prompts, temperature 1, no stop token. */
function sampleWork(): { prompts: number[][]; opts: () => SampleOptions } {
  const rng = new Rng(3);
  const prompts = Array.from({ length: S.sampleBatch }, () => Array.from({ length: S.prompt }, () => rng.int(S.vocab)));
  return { prompts, opts: () => ({ maxNewTokens: S.newTokens, temperature: 1, topP: 1, topK: 0, stopTokens: [], rng: new Rng(2) }) };
}

/** Sampling tok/s (wall, CPU) of `gen` on sampleWork(), after a short warm-up run. */
async function timeSampling(gen: (prompts: number[][], opts: SampleOptions) => Promise<{ tokens: number[][] }>): Promise<{ wall: number; cpu: number }> {
  const { prompts, opts } = sampleWork();
  await gen(prompts, { ...opts(), maxNewTokens: 4 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await gen(prompts, opts());
  const n = out.tokens.reduce((a, t) => a + t.length, 0);
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / cpuSeconds(process.cpuUsage(c0)) };
}

async function onnxSide(model: Transformer): Promise<{ sample_tok_s: number; sample_tok_cpu_s: number }> {
  const policy = await OnnxPolicy.create(model, { threads: 1 });
  try {
    const r = await timeSampling((p, o) => policy.generate(p, o));
    return { sample_tok_s: r.wall, sample_tok_cpu_s: r.cpu };
  } finally {
    await policy.release();
  }
}

/** Training tok/s (wall, CPU) of OnnxTrainer + a JS Adam step (lr 1e-3) on tfjsSide's ids and loss. */
async function onnxTrainSide(model: Transformer, threads: number): Promise<{ train_tok_s: number; train_tok_cpu_s: number }> {
  const { batch: B, seq: T } = S;
  const rng = new Rng(1);
  const flat = Array.from({ length: B * T }, () => rng.int(S.vocab));
  const ids = Array.from({ length: B }, (_, b) => flat.slice(b * T, (b + 1) * T));
  const targets = ids.map((row) => [...row.slice(1), 0]); // tokenLogprobs: position t scores ids[t+1]
  const w = new Float32Array(B * T); // d(−mean logp)/d logp; 0 at the last position
  for (let b = 0; b < B; b++) w.fill(-1 / (B * (T - 1)), b * T, (b + 1) * T - 1);
  const params = new Map([...model.params].map(([n, v]) => [n, (v.dataSync() as Float32Array).slice()]));
  const adam = new Map([...params].map(([n, p]) => [n, { m: new Float32Array(p.length), v: new Float32Array(p.length) }]));
  const [lr, b1, b2, eps] = [1e-3, 0.9, 0.999, 1e-8];
  let t = 0;
  const trainer = await OnnxTrainer.create(model.config, { threads });
  const step = async () => {
    const { grads } = await trainer.run(params, ids, targets, w);
    t++;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (const [n, p] of params) {
      const g = grads.get(n)!;
      const { m, v } = adam.get(n)!;
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
  };
  try {
    // Two warm-up steps: ORT's second run sets up its memory pattern and faults that memory in (~1 s of sys time), once.
    for (let i = 0; i < 2; i++) await step();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < S.steps; i++) await step();
    const wall = (performance.now() - t0) / 1000 / S.steps;
    const cpu = cpuSeconds(process.cpuUsage(c0)) / S.steps;
    return { train_tok_s: (B * T) / wall, train_tok_cpu_s: (B * T) / cpu };
  } finally {
    await trainer.release();
  }
}

async function tfjsSide(model: Transformer): Promise<Result> {
  const { batch: B, seq: T } = S;
  const rng = new Rng(1);
  const ids = tf.tensor2d(Int32Array.from({ length: B * T }, () => rng.int(S.vocab)), [B, T], 'int32');
  const opt = tf.train.adam(1e-3);
  const step = async () => {
    const loss = tf.tidy(() => opt.minimize(() => tf.neg(tf.mean(tokenLogprobs(model, ids))) as tf.Scalar, true, model.trainableVariables())!);
    await loss.data();
    loss.dispose();
  };
  await step(); // warm-up (kernels, allocator)
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < S.steps; i++) await step();
  const trainWall = (performance.now() - t0) / 1000 / S.steps;
  const trainCpu = cpuSeconds(process.cpuUsage(c0)) / S.steps;
  if (tf.memory().numTensors !== before) console.error(`warning: tensor count moved ${before} → ${tf.memory().numTensors} during training`);
  opt.dispose();
  ids.dispose();

  const sampling = await timeSampling((p, o) => generate(model, p, o));
  return {
    train_tok_s: (B * T) / trainWall, train_tok_cpu_s: (B * T) / trainCpu,
    sample_tok_s: sampling.wall, sample_tok_cpu_s: sampling.cpu,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

/** python3 with torch: the PATH one, else Debian's (python3-torch installs for /usr/bin/python3). */
function torchPython(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

function torchSide(py: string): Result & { torch: string; threads: number } {
  const script = path.join(import.meta.dirname, 'train_torch.py');
  const args = [script, '--vocab', S.vocab, '--dim', S.dim, '--layers', S.layers, '--heads', S.heads, '--ffn', S.ffn, '--batch', S.batch,
    '--seq', S.seq, '--steps', S.steps, '--warmup', 1, '--sample-batch', S.sampleBatch, '--prompt', S.prompt, '--new-tokens', S.newTokens].map(String);
  const r = spawnSync(py, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train_torch.py failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const fmt = (x: number) => x.toFixed(0).padStart(7);

async function main(): Promise<void> {
  const info = await initBackend(S.backend);
  const config: LlamaConfig = {
    hidden_size: S.dim, num_hidden_layers: S.layers, num_attention_heads: S.heads, num_key_value_heads: S.heads,
    intermediate_size: S.ffn, vocab_size: S.vocab, rope_theta: 10000, max_position_embeddings: Math.max(1024, S.seq, S.prompt + S.newTokens),
    rms_norm_eps: 1e-5, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 1,
  };
  const model = Transformer.init(config, 0);
  const py = S.torch === 'off' ? null : torchPython();
  console.log(`shape V${S.vocab} D${S.dim} L${S.layers} H${S.heads} F${S.ffn} | train B${S.batch}×T${S.seq} Adam | sample B${S.sampleBatch}, prompt ${S.prompt}, ${S.newTokens} new | ${(model.numParams() / 1e6).toFixed(2)} M params`);
  console.log(`tfjs ${info.backend}${info.adapter ? ` (${info.adapter})` : ''} vs ${py ? `PyTorch (${py})` : 'no PyTorch (python3 -c "import torch" failed)'}`);
  console.log('side    round  train tok/s  train tok/cpu-s  sample tok/s  sample tok/cpu-s');
  const tfjs: Result[] = [];
  const onnx: Awaited<ReturnType<typeof onnxSide>>[] = [];
  const onnxTrain: Awaited<ReturnType<typeof onnxTrainSide>>[][] = [[], []]; // 1 thread, 2 threads
  const torch: Result[] = [];
  for (let r = 0; r < S.rounds; r++) {
    const a = await tfjsSide(model);
    tfjs.push(a);
    console.log(`tfjs    ${r + 1}      ${fmt(a.train_tok_s)}      ${fmt(a.train_tok_cpu_s)}        ${fmt(a.sample_tok_s)}      ${fmt(a.sample_tok_cpu_s)}`);
    const o = await onnxSide(model);
    onnx.push(o);
    const [o1, o2] = [await onnxTrainSide(model, 1), await onnxTrainSide(model, 2)];
    onnxTrain[0].push(o1);
    onnxTrain[1].push(o2);
    console.log(`onnx    ${r + 1}      ${fmt(o1.train_tok_s)}      ${fmt(o1.train_tok_cpu_s)}        ${fmt(o.sample_tok_s)}      ${fmt(o.sample_tok_cpu_s)}   (onnxruntime-node ${ort.env.versions.node}, 1 thread)`);
    console.log(`onnx×2  ${r + 1}      ${fmt(o2.train_tok_s)}      ${fmt(o2.train_tok_cpu_s)}              -            -   (2 threads; training only)`);
    if (py) {
      const b = torchSide(py);
      torch.push(b);
      console.log(`torch   ${r + 1}      ${fmt(b.train_tok_s)}      ${fmt(b.train_tok_cpu_s)}        ${fmt(b.sample_tok_s)}      ${fmt(b.sample_tok_cpu_s)}   (torch ${b.torch}, ${b.threads} thread${b.threads > 1 ? 's' : ''})`);
    }
  }
  const best = (xs: Result[], k: keyof Result) => Math.max(...xs.map((x) => x[k]));
  console.log(`peak RSS: tfjs ${best(tfjs, 'peak_rss_mb').toFixed(0)} MB${torch.length ? `, torch ${best(torch, 'peak_rss_mb').toFixed(0)} MB` : ''}`);
  const bestOnnx = (i: number, k: 'train_tok_s' | 'train_tok_cpu_s') => Math.max(...onnxTrain[i].map((x) => x[k]));
  for (const k of ['train_tok_s', 'train_tok_cpu_s'] as const) {
    console.log(`ratio onnx/tfjs  ${k.padEnd(17)} ${(bestOnnx(0, k) / best(tfjs, k)).toFixed(2)}× (1 thread), ${(bestOnnx(1, k) / best(tfjs, k)).toFixed(2)}× (2 threads)  (best of ${S.rounds} rounds each)`);
  }
  for (const k of ['sample_tok_s', 'sample_tok_cpu_s'] as const) {
    console.log(`ratio onnx/tfjs  ${k.padEnd(17)} ${(Math.max(...onnx.map((x) => x[k])) / best(tfjs, k)).toFixed(2)}×  (best of ${S.rounds} rounds each)`);
  }
  if (torch.length) {
    for (const k of ['train_tok_s', 'train_tok_cpu_s', 'sample_tok_s', 'sample_tok_cpu_s'] as const) {
      console.log(`ratio tfjs/torch ${k.padEnd(17)} ${(best(tfjs, k) / best(torch, k)).toFixed(2)}×  (best of ${S.rounds} rounds each)`);
    }
    for (const k of ['train_tok_s', 'train_tok_cpu_s'] as const) {
      console.log(`ratio onnx/torch ${k.padEnd(17)} ${(bestOnnx(0, k) / best(torch, k)).toFixed(2)}× (1 thread), ${(bestOnnx(1, k) / best(torch, k)).toFixed(2)}× (2 threads)  (best of ${S.rounds} rounds each)`);
    }
    for (const k of ['sample_tok_s', 'sample_tok_cpu_s'] as const) {
      console.log(`ratio onnx/torch ${k.padEnd(17)} ${(Math.max(...onnx.map((x) => x[k])) / best(torch, k)).toFixed(2)}×  (best of ${S.rounds} rounds each)`);
    }
  }
  model.dispose();
}

await main();

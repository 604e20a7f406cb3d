// Run: npm run bench:webgpu [-- --presets small,base --batch 8 --seq 256 --steps 5]
// Training and sampling tokens/s of the model presets on the webgpu backend, and of the same model in
// PyTorch fp32 eager (bench/webgpu_torch.py, on CUDA when torch sees a GPU) measured in the same run;
// prints the ratio webgpu / torch. Also tfjs kernels and real GPU dispatches per training step, which with
// the step time give the average cost of one dispatch: the usual limit of tfjs on a fast GPU.
// Not a test. Needs a Vulkan GPU (see docs): on lavapipe it only proves the script runs (--presets tiny).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendKind } from '../src/model/backend.ts';
import { UserError } from '../src/util/errors.ts';
import { AdamW } from '../src/model/optim.ts';
import { generate } from '../src/model/sample.ts';
import { tokenLogprobs, Transformer, type LlamaConfig } from '../src/model/transformer.ts';
import { presetFile } from '../src/model/weights.ts';
import { Rng } from '../src/util/rng.ts';

const { values: a } = parseArgs({
  options: {
    presets: { type: 'string', default: 'small,base' },
    vocab: { type: 'string', default: '4096' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '256' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    'sample-batch': { type: 'string', default: '8' },
    prompt: { type: 'string', default: '32' },
    new: { type: 'string', default: '32' },
    backend: { type: 'string', default: 'webgpu' },
    // "auto": python3 (or /usr/bin/python3) when it imports torch; "off"; or a python executable.
    torch: { type: 'string', default: 'auto' },
    'torch-device': { type: 'string', default: '' },
  },
});
const n = (k: keyof typeof a) => Number(a[k]);
const B = n('batch'), T = n('seq'), STEPS = n('steps'), WARMUP = n('warmup');
const SB = n('sample-batch'), P = n('prompt'), NEW = n('new');

function presetConfig(name: string): LlamaConfig {
  const raw = JSON.parse(fs.readFileSync(presetFile(name), 'utf8')) as Partial<LlamaConfig>;
  return {
    rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 1, pad_token_id: 2,
    ...raw,
    num_key_value_heads: raw.num_key_value_heads ?? raw.num_attention_heads!,
    vocab_size: n('vocab'),
    max_position_embeddings: Math.max(raw.max_position_embeddings ?? 0, T, P + NEW),
  } as LlamaConfig;
}

interface Result { params: number; trainTokS: number; trainStepS: number; kernelsPerStep: number; dispatchesPerStep: number; sampleTokS: number }

async function benchTfjs(config: LlamaConfig): Promise<Result> {
  const model = Transformer.init(config, 0);
  const params = [...model.params.values()].reduce((s, v) => s + v.size, 0);
  const rng = new Rng(1);
  const ids = tf.tensor2d(Array.from({ length: B * T }, () => rng.int(config.vocab_size)), [B, T], 'int32'); // [B, T]
  const vars = model.trainableVariables();
  const opt = new AdamW(vars, { lr: 1e-4, weightDecay: 0.01 });
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tokenLogprobs(model, ids))) as tf.Scalar, vars);
    opt.step(grads);
    await value.data(); // one readback per step, as the trainer logs the loss
    tf.dispose([value, ...Object.values(grads)]);
  };
  for (let i = 0; i < WARMUP; i++) await step();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await step();
  const trainStepS = (performance.now() - t0) / 1000 / STEPS;
  const prof = await tf.profile(step);
  // GPU dispatches: tf.profile also lists kernels that dispatch nothing (Reshape, Identity, same-type Cast).
  const be = tf.backend() as unknown as { recordAndSubmit?: (...a: unknown[]) => unknown };
  let dispatches = 0;
  if (typeof be.recordAndSubmit === 'function') {
    const record = be.recordAndSubmit;
    be.recordAndSubmit = function (this: unknown, ...args: unknown[]) { dispatches++; return record.apply(this, args); };
    await step();
    be.recordAndSubmit = record;
  }
  const prompts = Array.from({ length: SB }, () => Array.from({ length: P }, () => rng.int(config.vocab_size)));
  const sample = () => generate(model, prompts, { maxNewTokens: NEW, temperature: 1, topP: 1, topK: 0, stopTokens: [], rng: new Rng(2) });
  await sample();
  const t1 = performance.now();
  const out = await sample();
  const sampleS = (performance.now() - t1) / 1000;
  const sampled = out.tokens.reduce((s, t) => s + t.length, 0);
  tf.dispose(ids);
  opt.dispose();
  model.dispose();
  return { params, trainTokS: (B * (T - 1)) / trainStepS, trainStepS, kernelsPerStep: prof.kernels.length, dispatchesPerStep: dispatches, sampleTokS: sampled / sampleS };
}

function findPython(): string | null {
  if (a.torch === 'off') return null;
  const candidates = a.torch === 'auto' ? ['python3', '/usr/bin/python3'] : [a.torch!];
  for (const py of candidates) if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  return null;
}

function benchTorch(py: string, config: LlamaConfig): { device: string; torch: string; train_tok_s: number; sample_tok_s: number } | { error: string } {
  const args = [path.join(import.meta.dirname, 'webgpu_torch.py'), '--config', JSON.stringify(config), '--batch', `${B}`, '--seq', `${T}`,
    '--steps', `${STEPS}`, '--warmup', `${WARMUP}`, '--sample-batch', `${SB}`, '--prompt', `${P}`, '--new', `${NEW}`];
  if (a['torch-device']) args.push('--device', a['torch-device']);
  const r = spawnSync(py, args, { encoding: 'utf8', timeout: 3_600_000 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.status}` };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const info = await initBackend(a.backend as BackendKind, (l) => console.log(l)).catch((e: unknown) => {
  if (!(e instanceof UserError)) throw e;
  process.stderr.write(`bench:webgpu: ${e.message}\n`); // no GPU here: one line, as the CLI says it
  process.exit(1);
});

/** Host cost of one kernel: a chain of 2000 adds on a 256-float tensor, one readback at the end. */
async function dispatchFloorUs(): Promise<number> {
  const x = tf.zeros([256]);
  const chain = async (n: number) => {
    let y: tf.Tensor = x;
    for (let i = 0; i < n; i++) {
      const z = tf.add(y, x);
      if (y !== x) y.dispose();
      y = z;
    }
    await y.data();
    y.dispose();
  };
  await chain(200);
  const t = performance.now();
  await chain(2000);
  const us = ((performance.now() - t) * 1000) / 2000;
  x.dispose();
  return us;
}
console.log(`dispatch floor: ${(await dispatchFloorUs()).toFixed(1)} µs per kernel (a chain of 2000 small adds)`);
const py = findPython();
console.log(`shape: B${B} T${T} (train), ${SB} prompts × ${P} tokens + ${NEW} new (sample); vocab ${n('vocab')}; fp32; AdamW`);
console.log(`peer: ${py ? `PyTorch fp32 eager via ${py}` : 'none (no python with torch; --torch <python> to name one)'}`);
const rows: Record<string, unknown>[] = [];
for (const name of a.presets!.split(',').map((s) => s.trim()).filter(Boolean)) {
  let config: LlamaConfig;
  try {
    config = presetConfig(name);
  } catch (e) {
    console.log(`${name}: skipped (${(e as Error).message})`);
    continue;
  }
  const mine = await benchTfjs(config);
  const peer = py ? benchTorch(py, config) : null;
  const ratio = (x: number, k: 'train_tok_s' | 'sample_tok_s') => (peer && !('error' in peer) ? (x / peer[k]).toFixed(2) + '×' : '—');
  const perDispatchUs = (mine.trainStepS * 1e6) / Math.max(1, mine.dispatchesPerStep);
  console.log(
    `${name}: ${(mine.params / 1e6).toFixed(1)} M params | train ${mine.trainTokS.toFixed(0)} tok/s (${(mine.trainStepS * 1000).toFixed(0)} ms/step, ` +
      `${mine.kernelsPerStep} tfjs kernels, ${mine.dispatchesPerStep} GPU dispatches/step, ${perDispatchUs.toFixed(0)} µs/dispatch) | sample ${mine.sampleTokS.toFixed(1)} tok/s` +
      (peer ? ('error' in peer ? ` | torch failed: ${peer.error}` : ` | torch (${peer.device}) train ${peer.train_tok_s.toFixed(0)} tok/s, sample ${peer.sample_tok_s.toFixed(1)} tok/s | ratio train ${ratio(mine.trainTokS, 'train_tok_s')}, sample ${ratio(mine.sampleTokS, 'sample_tok_s')}`) : ''),
  );
  rows.push({ preset: name, backend: info.backend, adapter: info.adapter, ...mine, torch: peer });
}
console.log(JSON.stringify({ tfjsFlags: process.env.PRRL_TFJS_FLAGS ?? '', rows }));
process.exit(0);

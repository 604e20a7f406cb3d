// Run: node --import tsx --test test/model-import.test.ts
// Model folders in Hugging Face layout, written by the test itself (no network): a 2-layer GQA Llama
// (F32, untied), a tied BF16 one, a sharded F16 one and a Qwen2-style one with q/k/v biases load into
// the tfjs Transformer and give the logits of the independent float64 forward in reference.ts;
// save → load is exact; broken folders give one-line errors; `pr-rl init` + `generate` run end to end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { writeSafetensors } from '../src/model/safetensors.ts';
import { referenceLogits, logSoftmax } from '../src/model/reference.ts';
import { initModelFolder, loadModel, saveModel } from '../src/model/weights.ts';
import { resolveTaskRef } from '../src/model/generate.ts';
import { buildPrompt } from '../src/data/prompt.ts';
import { tokenLogprobs } from '../src/model/transformer.ts';
import { resolveBpeConfig, trainTokenizer, saveTokenizer } from '../src/tokenizer/bpe.ts';
import { UserError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { tempDir } from './helpers/tmp.ts';

const root = tempDir('prrl-import-');
after(() => fs.rmSync(root, { recursive: true, force: true }));
const tokDir = path.join(root, 'tokenizer');
let V = 0;

before(async () => {
  await tf.setBackend('cpu');
  const cfg = resolveBpeConfig({ vocabSize: 300, minFrequency: 2 });
  const texts = Array.from({ length: 40 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`);
  saveTokenizer(tokDir, trainTokenizer(texts, cfg).bpe, cfg);
  V = 300;
});

type Hf = Record<string, unknown> & { hidden_size: number; num_hidden_layers: number; num_attention_heads: number; num_key_value_heads: number; intermediate_size: number; vocab_size: number; tie_word_embeddings: boolean };

const llamaConfig = (over: Partial<Hf> = {}): Hf => ({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', torch_dtype: 'bfloat16',
  hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 24,
  vocab_size: V + 4, rope_theta: 10000, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  bos_token_id: 0, eos_token_id: 1, ...over,
});

/** Random HF-named parameters (norm gains around 1) for a config; biases when `bias`. */
function hfParams(c: Hf, seed: number, bias = false): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = new Rng(seed);
  const D = c.hidden_size, hd = D / c.num_attention_heads, KV = c.num_key_value_heads * hd, F = c.intermediate_size;
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], gain = false) =>
    m.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (gain ? 1 + 0.1 * rng.normal() : 0.3 * rng.normal())) });
  put('model.embed_tokens.weight', [c.vocab_size, D]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    put(p + 'input_layernorm.weight', [D], true);
    put(p + 'self_attn.q_proj.weight', [D, D]);
    put(p + 'self_attn.k_proj.weight', [KV, D]);
    put(p + 'self_attn.v_proj.weight', [KV, D]);
    if (bias) {
      put(p + 'self_attn.q_proj.bias', [D]);
      put(p + 'self_attn.k_proj.bias', [KV]);
      put(p + 'self_attn.v_proj.bias', [KV]);
    }
    put(p + 'self_attn.o_proj.weight', [D, D]);
    put(p + 'post_attention_layernorm.weight', [D], true);
    put(p + 'mlp.gate_proj.weight', [F, D]);
    put(p + 'mlp.up_proj.weight', [F, D]);
    put(p + 'mlp.down_proj.weight', [D, F]);
  }
  put('model.norm.weight', [D], true);
  if (!c.tie_word_embeddings) put('lm_head.weight', [c.vocab_size, D]);
  return m;
}

/** Writes a model folder as HF would: config.json, tokenizer files, one or more safetensors files. */
function writeFolder(name: string, c: Hf, params: Map<string, { shape: number[]; data: Float32Array }>, opts: { dtype?: 'F32' | 'BF16'; shards?: number } = {}): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tokDir, f), path.join(dir, f));
  const shards = opts.shards ?? 1;
  if (shards === 1) {
    fs.writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(params, { dtype: opts.dtype, metadata: { format: 'pt' } }));
    return dir;
  }
  const names = [...params.keys()];
  const weight_map: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = new Map(names.filter((_, i) => i % shards === s).map((n) => [n, params.get(n)!]));
    for (const n of part.keys()) weight_map[n] = file;
    fs.writeFileSync(path.join(dir, file), writeSafetensors(part, { dtype: opts.dtype }));
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map }));
  return dir;
}

/** F16 writing is not part of safetensors.ts: hand-encode (exact for the values we feed it). */
function writeF16(file: string, params: Map<string, { shape: number[]; data: Float32Array }>): Map<string, Float32Array> {
  const decoded = new Map<string, Float32Array>();
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const [n, t] of params) {
    const u = new Uint16Array(t.data.length);
    const back = new Float32Array(t.data.length);
    t.data.forEach((x, i) => {
      const q = Math.round(x * 1024) / 1024; // multiples of 2⁻¹⁰ with |x| < 4 are exact in f16
      back[i] = q;
      u[i] = toF16(q);
    });
    decoded.set(n, back);
    header[n] = { dtype: 'F16', shape: t.shape, data_offsets: [at, at + u.byteLength] };
    at += u.byteLength;
    chunks.push(new Uint8Array(u.buffer));
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const c of chunks) (out.set(c, pos), (pos += c.length));
  fs.writeFileSync(file, out);
  return decoded;
}
function toF16(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24); // subnormal
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) (m = 0), e++;
  return sign | ((e + 15) << 10) | m;
}

const IDS = [[0, 5, 17, 42, 99, 3, 250, 7], [0, 1, 2, 260, 261, 33, 44, 55]];
const TOL = 1e-4; // |tfjs float32 − reference float64| ≤ TOL·max(1, |ref|) on every logit

/** Loads `dir`, runs logits on IDS and compares with the reference forward on `params`. */
async function expectMatchesReference(dir: string, c: Hf, params: Map<string, ArrayLike<number>>): Promise<Float32Array> {
  const { model, tokenizer } = await loadModel(dir);
  try {
    assert.equal(tokenizer.vocabSize, V);
    assert.equal(model.config.vocab_size, c.vocab_size);
    const ids = tf.tensor2d(IDS, [2, IDS[0].length], 'int32');
    const logits = model.logits(ids); // [B, T, V]
    const lp = tokenLogprobs(model, ids); // [B, T-1]
    const got = (await logits.data()) as Float32Array;
    const gotLp = await lp.data();
    tf.dispose([ids, logits, lp]);
    const ref = referenceLogits(c, params, IDS);
    const T = IDS[0].length;
    let worst = 0;
    ref.forEach((r, b) => {
      for (let i = 0; i < r.data.length; i++) worst = Math.max(worst, Math.abs(got[b * r.data.length + i] - r.data[i]) / Math.max(1, Math.abs(r.data[i])));
      for (let t = 0; t + 1 < T; t++) {
        const want = logSoftmax(r.data.subarray(t * r.V, (t + 1) * r.V))[IDS[b][t + 1]];
        assert.ok(Math.abs(gotLp[b * (T - 1) + t] - want) <= TOL * Math.max(1, Math.abs(want)), `logprob [${b},${t}] ${gotLp[b * (T - 1) + t]} vs ${want}`);
      }
    });
    assert.ok(worst <= TOL, `max relative logit error ${worst} > ${TOL}`);
    return got;
  } finally {
    model.dispose();
  }
}

const asRef = (p: Map<string, { data: Float32Array }>) => new Map([...p].map(([k, v]) => [k, v.data]));
/** What BF16 storage does to the values: the reference must see the rounded weights. */
const bf16 = (x: Float32Array) => {
  const u = new Uint32Array(Float32Array.from(x).buffer);
  for (let i = 0; i < u.length; i++) u[i] = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer);
};

test('HF Llama folder (2 layers, GQA 4/2, untied, F32) loads and matches the reference forward', async () => {
  const c = llamaConfig();
  const p = hfParams(c, 1);
  await expectMatchesReference(writeFolder('llama-f32', c, p), c, asRef(p));
});

test('tied embeddings, BF16 weights: matches the reference on the bf16-rounded values', async () => {
  const c = llamaConfig({ tie_word_embeddings: true, num_key_value_heads: 1 });
  const p = hfParams(c, 2);
  await expectMatchesReference(writeFolder('llama-tied-bf16', c, p, { dtype: 'BF16' }), c, new Map([...p].map(([k, v]) => [k, bf16(v.data)])));
});

test('sharded model.safetensors.index.json (3 shards) loads; F16 shards too', async () => {
  const c = llamaConfig();
  const p = hfParams(c, 3);
  await expectMatchesReference(writeFolder('llama-sharded', c, p, { shards: 3 }), c, asRef(p));
  const dir = writeFolder('llama-f16', c, p, { shards: 2 });
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  const decoded = new Map<string, Float32Array>();
  for (const file of new Set(Object.values(index.weight_map) as string[])) {
    const part = new Map([...p].filter(([n]) => index.weight_map[n] === file));
    for (const [n, d] of writeF16(path.join(dir, file), part)) decoded.set(n, d);
  }
  await expectMatchesReference(dir, c, decoded);
});

test('Qwen2-style folder (q/k/v biases, tied) loads, matches the reference, and saves back as qwen2', async () => {
  const c = llamaConfig({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], tie_word_embeddings: true, rope_theta: 1e6 });
  const p = hfParams(c, 4, true);
  const dir = writeFolder('qwen2', c, p);
  const before = await expectMatchesReference(dir, c, asRef(p));
  const { model } = await loadModel(dir);
  const out = path.join(root, 'qwen2-saved');
  await saveModel(out, model, dir);
  model.dispose();
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.model_type, cfg.architectures[0], cfg.attention_bias], ['qwen2', 'Qwen2ForCausalLM', undefined]);
  assert.deepEqual(Buffer.from((await expectMatchesReference(out, c, asRef(p))).buffer), Buffer.from(before.buffer));
  const llamaBias = llamaConfig({ attention_bias: true });
  await expectBroken(writeFolder('llama-bias', llamaBias, hfParams(llamaBias, 4, true)), /attention_bias: true \(q\/k\/v\/o biases\) is not supported/);
});

test('save → load round trip gives identical logits and an HF config.json', async () => {
  const c = llamaConfig();
  const src = writeFolder('llama-rt-src', c, hfParams(c, 5));
  const { model } = await loadModel(src);
  const ids = tf.tensor2d(IDS, [2, IDS[0].length], 'int32');
  const before = await model.logits(ids).data();
  const out = path.join(root, 'llama-rt-out');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'sft-metrics.jsonl'), '{}\n');
  await saveModel(out, model, src);
  await saveModel(out, model, out); // saving again in place keeps the tokenizer and other files
  model.dispose();
  assert.deepEqual(fs.readdirSync(out).sort(), ['config.json', 'model.safetensors', 'sft-metrics.jsonl', 'tokenizer.json', 'tokenizer_config.json']);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.architectures, ['LlamaForCausalLM']);
  assert.equal(cfg.model_type, 'llama');
  assert.equal(cfg.torch_dtype, 'float32');
  for (const k of ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'vocab_size', 'rope_theta', 'rms_norm_eps', 'tie_word_embeddings']) assert.equal(cfg[k], c[k], k);
  const { model: again } = await loadModel(out);
  const after2 = await again.logits(ids).data();
  again.dispose();
  ids.dispose();
  assert.deepEqual(Buffer.from(after2.buffer), Buffer.from(before.buffer));
});

/** Expects loadModel(dir) to fail with a one-line UserError matching `re`. */
async function expectBroken(dir: string, re: RegExp): Promise<void> {
  await assert.rejects(loadModel(dir), (e: unknown) => {
    assert.ok(e instanceof UserError, `not a UserError: ${(e as Error).stack}`);
    assert.ok(!e.message.includes('\n'), e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('broken folders: missing/extra tensors, wrong shapes, missing shard or config give one-line UserErrors', async () => {
  const c = llamaConfig();
  const p = hfParams(c, 6);
  const missing = new Map(p);
  missing.delete('model.layers.1.mlp.up_proj.weight');
  await expectBroken(writeFolder('bad-missing', c, missing), /1 tensor\(s\) missing.*model\.layers\.1\.mlp\.up_proj\.weight/);
  const extra = new Map(p).set('model.layers.0.self_attn.o_proj.bias', { shape: [16], data: new Float32Array(16) });
  await expectBroken(writeFolder('bad-extra', c, extra), /unexpected tensor.*o_proj\.bias/);
  const shape = new Map(p).set('model.layers.0.self_attn.k_proj.weight', { shape: [16, 16], data: new Float32Array(256) });
  await expectBroken(writeFolder('bad-shape', c, shape), /k_proj\.weight has shape \[16, 16\] but config\.json implies \[8, 16\]/);
  const sharded = writeFolder('bad-shard', c, p, { shards: 2 });
  fs.rmSync(path.join(sharded, 'model-00002-of-00002.safetensors'));
  await expectBroken(sharded, /shard model-00002-of-00002\.safetensors .*missing/);
  const noCfg = writeFolder('bad-config', c, p);
  fs.rmSync(path.join(noCfg, 'config.json'));
  await expectBroken(noCfg, /no config\.json/);
  await expectBroken(writeFolder('bad-rope', llamaConfig({ rope_scaling: { type: 'llama3', factor: 8 } }), p), /rope_scaling .* not supported/);
  const trunc = writeFolder('bad-trunc', c, p);
  const f = path.join(trunc, 'model.safetensors');
  fs.truncateSync(f, fs.statSync(f).size - 10);
  await expectBroken(trunc, /model\.safetensors: .*truncated/);
});

test('initModelFolder: preset + tokenizer → a loadable folder with the tokenizer vocab and special ids', async () => {
  const preset = path.join(root, 'preset.json');
  fs.writeFileSync(preset, JSON.stringify({ hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, rope_theta: 10000, max_position_embeddings: 128, rms_norm_eps: 1e-5, tie_word_embeddings: true }));
  const out = path.join(root, 'init');
  const { config, params } = await initModelFolder({ preset, tokenizer: tokDir, out, seed: 1, vocabSize: 320 });
  assert.equal(config.vocab_size, 320);
  assert.equal(params, 320 * 32 + 32 + 32 * 32 * 2 + 16 * 32 * 2 + 64 * 32 * 3 + 32 + 32);
  const { model, tokenizer } = await loadModel(out);
  assert.deepEqual([model.config.bos_token_id, model.config.eos_token_id, model.config.pad_token_id], [tokenizer.bosId, tokenizer.eosId, tokenizer.padId]);
  model.dispose();
  await assert.rejects(initModelFolder({ preset: 'no-such-preset', tokenizer: tokDir, out, seed: 1 }), /preset "no-such-preset" not found/);
  // A preset too large to hold is one clear error, before anything is allocated or written.
  const huge = path.join(root, 'huge.json');
  fs.writeFileSync(huge, JSON.stringify({ hidden_size: 1_000_000, num_hidden_layers: 1, num_attention_heads: 1000, intermediate_size: 1_000_000, max_position_embeddings: 128 }));
  await assert.rejects(initModelFolder({ preset: huge, tokenizer: tokDir, out: path.join(root, 'huge'), seed: 1 }),
    (e: Error) => e instanceof UserError && /huge\.json: [\d.]+ G parameters .* cannot be held here .*; use a smaller preset$/.test(e.message));
  assert.ok(!fs.existsSync(path.join(root, 'huge')));
});

/** A file standing where a folder is asked for. */
const tasksFile = () => { const f = path.join(root, 'a-file.jsonl'); fs.writeFileSync(f, '\n'); return f; };

test('saveModel: a weights write that fails leaves the model that was there loadable', async () => {
  const preset = path.join(root, 'preset-keep.json');
  fs.writeFileSync(preset, JSON.stringify({ hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64 }));
  const out = path.join(root, 'keep');
  await initModelFolder({ preset, tokenizer: tokDir, out, seed: 1 });
  const config = fs.readFileSync(path.join(out, 'config.json'));
  // The weights' rename fails: a folder holding a file stands where the new file would go.
  const weights = path.join(out, 'model.safetensors');
  fs.renameSync(weights, weights + '.bak');
  fs.mkdirSync(weights);
  fs.writeFileSync(path.join(weights, 'x'), '');
  const { model } = await loadModel(path.join(root, 'init'));
  await assert.rejects(saveModel(out, model, tokDir), (e: Error) => e instanceof UserError && /^cannot write .*model\.safetensors/.test(e.message));
  model.dispose();
  assert.deepEqual(fs.readFileSync(path.join(out, 'config.json')), config, 'config.json (the completion mark) is back');
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.includes('.tmp-')), []);
  // Weights a killed save left half written are removed by the next save.
  fs.rmSync(weights, { recursive: true });
  fs.writeFileSync(path.join(out, '.model.safetensors.tmp-123-456'), 'half');
  const again = (await loadModel(path.join(root, 'init'))).model;
  await saveModel(out, again, tokDir);
  again.dispose();
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.includes('.tmp-')), []);
});

test('CLI: pr-rl init, then generate on raw text and on a tasks.jsonl line; a bad --task is a one-line error', () => {
  const preset = path.join(root, 'preset-cli.json');
  fs.writeFileSync(preset, JSON.stringify({ hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 1024 }));
  const out = path.join(root, 'cli-model');
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8' });
  const init = cli('init', '--preset', preset, '--tokenizer', tokDir, '--out', out, '--seed', '3');
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, /init: 0\.01 M parameters/);
  assert.equal(cli('init', '--preset', preset, '--tokenizer', tokDir, '--out', out).stderr.trim(), `pr-rl: ${out} already holds a model (use --force to overwrite)`);
  assert.equal(cli('init', '--preset', preset, '--tokenizer', tokDir, '--out', out, '--force', '--seed', '4294967296').stderr.trim(),
    'pr-rl: --seed expects an integer from 0 to 4294967295, got "4294967296"', 'a seed that would wrap to 0');
  assert.equal(cli('init', '--preset', preset, '--tokenizer', tokDir, '--out', tasksFile()).stderr.trim(), `pr-rl: ${tasksFile()}: a file, not a folder; give --out a folder`);
  const under = cli('init', '--preset', preset, '--tokenizer', tokDir, '--out', path.join(tasksFile(), 'sub'));
  assert.equal(under.status, 1);
  assert.match(under.stderr, /^pr-rl: cannot write .*a-file\.jsonl\/sub \(ENOTDIR[^\n]*\)\n$/m);
  assert.doesNotMatch(under.stderr, /^\s+at /m, 'no stack trace');
  const gen = cli('generate', '--model', out, '--task', 'def f(x):', '--max-new-tokens', '5', '--backend', 'cpu', '--temperature', '0');
  assert.equal(gen.status, 0, gen.stderr);
  assert.match(gen.stderr, /generate: \d+ tokens after a \d+-token prompt/);
  assert.doesNotMatch(gen.stderr, /is used as the prompt text/);
  // A task id without --data is still a prompt, but the user is told how to look it up.
  const idAsText = cli('generate', '--model', out, '--task', 'r@1', '--max-new-tokens', '1', '--backend', 'cpu');
  assert.equal(idAsText.status, 0, idAsText.stderr);
  assert.match(idAsText.stderr, /generate: --task "r@1" is used as the prompt text; to look it up as a task id, give --data <tasks\.jsonl>/);
  const tasks = path.join(root, 'cli-tasks.jsonl');
  fs.writeFileSync(tasks, JSON.stringify({ id: 'r@1', repo: 'r', base: 'abc', source: 'commit', text: 'Make x two', changes: [{ path: 'a.py', old: 'x = 1\n', new: 'x = 2\n' }],
    context: [], stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 10, language: 'python' } }) + '\n');
  const fromTask = cli('generate', '--model', out, '--task', `${tasks}:1`, '--show-prompt', '--max-new-tokens', '3', '--backend', 'cpu', '--temperature', '1', '--seed', '7');
  assert.equal(fromTask.status, 0, fromTask.stderr);
  assert.ok(fromTask.stdout.startsWith(buildPrompt(JSON.parse(fs.readFileSync(tasks, 'utf8')))), fromTask.stdout);
  // The prompt asks for the answer format the model was trained with.
  const whole = cli('generate', '--model', out, '--task', `${tasks}:1`, '--show-prompt', '--max-new-tokens', '1', '--backend', 'cpu', '--reward-mode', 'whole_file');
  assert.equal(whole.status, 0, whole.stderr);
  const wholePrompt = buildPrompt(JSON.parse(fs.readFileSync(tasks, 'utf8')), { mode: 'whole_file' });
  assert.notEqual(wholePrompt, buildPrompt(JSON.parse(fs.readFileSync(tasks, 'utf8'))));
  assert.ok(whole.stdout.startsWith(wholePrompt), whole.stdout);
  const bad = cli('generate', '--model', out, '--task', path.join(root, 'nope.jsonl') + ':2', '--backend', 'cpu');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^pr-rl: --task .*nope\.jsonl:2: .*no such file\n$/);
});

test('generate --task: file.jsonl:LINE, an id with --data, or raw text', async () => {
  const task = (id: string) => ({ id, repo: 'r', base: 'abc', source: 'commit', text: `fix ${id}`, changes: [{ path: 'a.py', old: 'x = 1\n', new: 'x = 2\n' }], context: [],
    stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 10, language: 'python' } });
  const file = path.join(root, 'tasks.jsonl');
  fs.writeFileSync(file, [JSON.stringify(task('t1')), JSON.stringify(task('t2')), '', '{oops'].join('\n') + '\n');
  assert.deepEqual(await resolveTaskRef(`${file}:2`), { task: task('t2') });
  const ok = path.join(root, 'tasks-ok.jsonl');
  fs.writeFileSync(ok, JSON.stringify(task('t1')) + '\n');
  assert.deepEqual(await resolveTaskRef('t1', ok), { task: task('t1') });
  assert.deepEqual(await resolveTaskRef('def f(x):'), { text: 'def f(x):' });
  await assert.rejects(resolveTaskRef(`${file}:3`), /has no task on line 3 \(3 records\)/);
  await assert.rejects(resolveTaskRef(`${file}:4`), /tasks\.jsonl:4: not valid JSON/);
  await assert.rejects(resolveTaskRef(`${file}:9`), /has no task on line 9/);
  await assert.rejects(resolveTaskRef('t9', ok), /no task with that id .* \(1 tasks; ids look like "t1"\)/);
});

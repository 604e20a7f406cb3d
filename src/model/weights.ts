// The model folder, in Hugging Face layout: config.json + model.safetensors (or a sharded
// model.safetensors.index.json) + tokenizer files. Loads Llama / Qwen2 / SmolLM folders (F32/F16/BF16)
// into a Transformer, saves one (F32) crash-safely, and initialises a new one from a preset.
// The network itself is transformer.ts's; tokenizers are src/tokenizer/'s.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Transformer, paramShapes, type LlamaConfig } from './transformer.ts';
import { runMarks } from './open.ts';
import { iterSafetensorsFile, readSafetensorsHeader, writeSafetensorsFile } from './safetensors.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/load.ts';
import { cannotWrite, makeDir, readJson, writeFileAtomic, writeJsonAtomic } from '../util/fsx.ts';
import { UserError } from '../util/errors.ts';

/** Tokenizer files copied into a model folder when present (the first two are required). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
/** Checkpoint tensors that are buffers, not parameters, in some HF exports: skipped when loading. */
const IGNORED = /\.rotary_emb\.inv_freq$/;

// ------------------------------------------------------------------------------------------- config

/** Reads and checks `dir/config.json` (HF Llama, Qwen2 or SmolLM) as a LlamaConfig. */
export function loadConfig(dir: string): LlamaConfig {
  const file = path.join(dir, 'config.json');
  // A GRPO run folder holds a config.json too (the run's settings): name what it is.
  if (runMarks(dir).length && !fs.existsSync(path.join(dir, 'model.safetensors'))) {
    throw new UserError(`${dir}: a GRPO run folder, not a model folder; give ${path.join(dir, 'final')} (or one of its checkpoints to eval/generate)`);
  }
  if (!fs.existsSync(file)) {
    throw new UserError(`${dir}: no config.json (not a model folder, or a save was interrupted; make one with \`pr-rl init\`)`);
  }
  return toLlamaConfig(readJson<Record<string, unknown>>(file), file);
}

/** HF config.json fields → LlamaConfig, refusing what transformer.ts cannot run. */
export function toLlamaConfig(raw: Record<string, unknown>, where: string): LlamaConfig {
  const bad = (what: string): never => {
    throw new UserError(`${where}: ${what}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('not a JSON object');
  const type = (raw.model_type as string | undefined) ?? 'llama';
  if (!['llama', 'qwen2'].includes(type)) bad(`model_type "${type}" is not supported (pr-rl runs llama, qwen2 and SmolLM (llama) models)`);
  const int = (k: string, def?: number): number => {
    const v = raw[k] ?? def;
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) bad(`"${k}" must be a positive integer (got ${JSON.stringify(raw[k])})`);
    return v as number;
  };
  const pos = (k: string, def: number): number => {
    const v = raw[k] ?? def;
    if (!(typeof v === 'number' && v > 0 && isFinite(v))) bad(`"${k}" must be a positive number (got ${JSON.stringify(raw[k])})`);
    return v as number;
  };
  const tokenId = (k: string): number | undefined => {
    const v = Array.isArray(raw[k]) ? (raw[k] as unknown[])[0] : raw[k]; // Llama 3 lists several eos ids
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
  };
  if ((raw.hidden_act ?? 'silu') !== 'silu') bad(`hidden_act "${raw.hidden_act}" is not supported (SwiGLU with silu only)`);
  if (raw.rope_scaling != null) bad(`rope_scaling ${JSON.stringify(raw.rope_scaling)} is not supported (plain RoPE only)`);
  if (raw.mlp_bias === true) bad('mlp_bias is not supported');
  // Llama's attention_bias also puts a bias on o_proj; Qwen2's q/k/v-only biases are what we run.
  if (type === 'llama' && raw.attention_bias === true) bad('attention_bias: true (q/k/v/o biases) is not supported for llama models; only Qwen2-style q/k/v biases are');
  if (raw.use_sliding_window === true) bad('sliding-window attention is not supported (use_sliding_window: true)');
  const H = int('num_attention_heads');
  const D = int('hidden_size');
  const KV = int('num_key_value_heads', H);
  if (D % H !== 0) bad(`hidden_size ${D} is not a multiple of num_attention_heads ${H}`);
  if (H % KV !== 0) bad(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${KV}`);
  if (raw.head_dim != null && raw.head_dim !== D / H) bad(`head_dim ${raw.head_dim} ≠ hidden_size / num_attention_heads = ${D / H} is not supported`);
  if ((D / H) % 2 !== 0) bad(`head dimension ${D / H} must be even for rotary embeddings`);
  const eos = tokenId('eos_token_id');
  const cfg: LlamaConfig = {
    hidden_size: D,
    num_hidden_layers: int('num_hidden_layers'),
    num_attention_heads: H,
    num_key_value_heads: KV,
    intermediate_size: int('intermediate_size'),
    vocab_size: int('vocab_size'),
    rope_theta: pos('rope_theta', 10000),
    max_position_embeddings: int('max_position_embeddings', 2048),
    rms_norm_eps: pos('rms_norm_eps', 1e-6),
    tie_word_embeddings: raw.tie_word_embeddings === true,
    bos_token_id: tokenId('bos_token_id') ?? eos ?? 0,
    eos_token_id: eos ?? 0,
  };
  const pad = tokenId('pad_token_id');
  if (pad !== undefined) cfg.pad_token_id = pad;
  if (type === 'qwen2') cfg.attention_bias = true; // Qwen2 always has q/k/v biases (no config flag)
  return cfg;
}

/** config.json as written by saveModel: HF fields, so transformers' AutoModelForCausalLM can load it. */
export function hfConfigJson(cfg: LlamaConfig): Record<string, unknown> {
  const { attention_bias: qwen, ...fields } = cfg; // q/k/v biases: a Qwen2 model
  return {
    architectures: [qwen ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: qwen ? 'qwen2' : 'llama',
    torch_dtype: 'float32',
    hidden_act: 'silu',
    ...(qwen ? { use_sliding_window: false } : { attention_bias: false, mlp_bias: false }),
    attention_dropout: 0,
    initializer_range: 0.02,
    rope_scaling: null,
    use_cache: true,
    ...fields,
    head_dim: cfg.hidden_size / cfg.num_attention_heads,
  };
}

// ---------------------------------------------------------------------------------------- load

/** Loads a model folder: config, weights (single or sharded safetensors), tokenizer. */
export async function loadModel(dir: string): Promise<{ model: Transformer; tokenizer: Tokenizer }> {
  const config = loadConfig(dir);
  const tokenizer = await loadTokenizer(dir);
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new UserError(`${dir}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocab_size} (vocab_size in config.json); they do not belong together`);
  }
  return { model: await loadWeights(dir, config), tokenizer };
}

/** Which file holds each tensor: model.safetensors, else the shards named by model.safetensors.index.json. */
export function weightFiles(dir: string): Map<string, string> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const where = new Map<string, string>();
  if (fs.existsSync(single)) {
    for (const name of readSafetensorsHeader(single).tensors.keys()) where.set(name, single);
    return where;
  }
  if (!fs.existsSync(index)) throw new UserError(`${dir}: no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)`);
  const map = readJson<{ weight_map?: Record<string, unknown> }>(index).weight_map;
  if (typeof map !== 'object' || map === null) throw new UserError(`${index}: no "weight_map" object`);
  const shards = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) throw new UserError(`${index}: weight_map["${name}"] must be a file name in the folder`);
    const file = path.join(dir, shard);
    if (!shards.has(file)) {
      if (!fs.existsSync(file)) throw new UserError(`${index}: shard ${shard} (for ${name}) is missing from the folder`);
      shards.set(file, new Set(readSafetensorsHeader(file).tensors.keys()));
    }
    if (!shards.get(file)!.has(name)) throw new UserError(`${index}: ${name} is mapped to ${shard} but that file has no such tensor`);
    where.set(name, file);
  }
  return where;
}

/**
 * Builds the Transformer for `config` with every parameter read from the folder's safetensors (no
 * random init first). Variables get tfjs's unique auto names, so several models can coexist.
 */
export async function loadWeights(dir: string, config: LlamaConfig): Promise<Transformer> {
  const where = weightFiles(dir);
  const model = new Transformer(config);
  try {
    const want = new Map(paramShapes(config));
    const missing = [...want.keys()].filter((n) => !where.has(n));
    if (missing.length) throw new UserError(`${dir}: ${missing.length} tensor(s) missing from the weights, e.g. ${missing.slice(0, 3).join(', ')} (does config.json match the weights?)`);
    const skip = (n: string) => IGNORED.test(n) || (n === 'lm_head.weight' && config.tie_word_embeddings);
    const extra = [...where.keys()].filter((n) => !want.has(n) && !skip(n));
    if (extra.length) {
      const hint = extra.some((n) => n.endsWith('.bias')) ? ' (biases: is model_type right?)' : '';
      throw new UserError(`${dir}: ${extra.length} unexpected tensor(s) in the weights, e.g. ${extra.slice(0, 3).join(', ')}${hint}`);
    }
    const byFile = new Map<string, Set<string>>();
    for (const name of want.keys()) {
      const file = where.get(name)!;
      if (!byFile.has(file)) byFile.set(file, new Set());
      byFile.get(file)!.add(name);
    }
    for (const [file, names] of byFile) {
      for (const [name, t] of iterSafetensorsFile(file, names)) {
        const shape = want.get(name)!;
        if (t.shape.join() !== shape.join()) {
          throw new UserError(`${file}: ${name} has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`);
        }
        const value = tf.tensor(t.data, shape, 'float32');
        model.params.set(name, tf.variable(value, true));
        value.dispose();
      }
    }
    // Insertion order = paramShapes order, as Transformer.init makes it (optimizer state is by position).
    const loaded = new Map(model.params);
    model.params.clear();
    for (const name of want.keys()) model.params.set(name, loaded.get(name)!);
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------- save

/**
 * Writes `model` into `dir` as config.json + model.safetensors (F32), copying the tokenizer files from
 * `tokenizerDir` (which may be `dir` itself). Crash-safe with config.json as the completion marker: it
 * is removed first and written last, each file goes through a temp file + rename, and other files in
 * `dir` (metrics, logs) are left alone.
 */
export async function saveModel(dir: string, model: Transformer, tokenizerDir?: string): Promise<void> {
  const tokFiles = new Map<string, Buffer>();
  if (tokenizerDir !== undefined) {
    for (const f of TOKENIZER_FILES) {
      const src = path.join(tokenizerDir, f);
      if (fs.existsSync(src)) tokFiles.set(f, fs.readFileSync(src));
      else if (f !== 'special_tokens_map.json') throw new UserError(`${tokenizerDir}: no ${f} to copy into ${dir}`);
    }
  }
  try { makeDir(dir); } catch (e) { throw cannotWrite(dir, e); }
  // Weights an earlier save left half written (a Ctrl-C, a kill) are of no use: removed.
  for (const f of fs.readdirSync(dir)) if (/^\.model\.safetensors\.tmp-\d+-\d+$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  const configFile = path.join(dir, 'config.json');
  const oldConfig = fs.existsSync(configFile) ? fs.readFileSync(configFile) : null;
  fs.rmSync(configFile, { force: true });
  const shapes = new Map<string, number[]>([...model.params].map(([n, v]) => [n, v.shape]));
  try {
    await writeSafetensorsFile(path.join(dir, 'model.safetensors'), shapes, async (n) => (await model.params.get(n)!.data()) as Float32Array, { metadata: { format: 'pt' } });
  } catch (e) {
    // The weights file was not replaced (temp file + rename): the old model, if any, is whole again.
    if (oldConfig) try { writeFileAtomic(configFile, oldConfig); } catch { /* the disk is full: the folder stays unmarked */ }
    throw cannotWrite(path.join(dir, 'model.safetensors'), e);
  }
  removeShards(dir);
  for (const [f, bytes] of tokFiles) {
    if (path.resolve(tokenizerDir!, f) !== path.resolve(dir, f)) writeFileAtomic(path.join(dir, f), bytes);
  }
  writeJsonAtomic(path.join(dir, 'config.json'), hfConfigJson(model.config));
}

/** A sharded checkpoint replaced by a single file: its index and shards would shadow or confuse. */
function removeShards(dir: string): void {
  const index = path.join(dir, 'model.safetensors.index.json');
  if (!fs.existsSync(index)) return;
  let shards: string[] = [];
  try {
    shards = [...new Set(Object.values(JSON.parse(fs.readFileSync(index, 'utf8')).weight_map ?? {}) as string[])];
  } catch {
    // unreadable index: remove it alone
  }
  fs.rmSync(index);
  for (const s of shards) if (typeof s === 'string' && !s.includes('/')) fs.rmSync(path.join(dir, s), { force: true });
}

// ---------------------------------------------------------------------------------------- init

export interface InitOptions {
  /** Preset name (models/<name>.json) or a path to a JSON file of config.json fields. */
  preset: string;
  /** Tokenizer folder: sets vocab_size and bos/eos/pad ids, and is copied into the model folder. */
  tokenizer: string;
  /** Model folder to write. */
  out: string;
  /** Seed for the random initialisation. */
  seed: number;
  /** Vocabulary size; 0 or absent = the tokenizer's. Larger pads the embedding (e.g. to a multiple of 64). */
  vocabSize?: number;
  /** config.json fields that override the preset (e.g. max_position_embeddings). */
  overrides?: Partial<LlamaConfig>;
}

/** Writes a randomly initialised model folder; returns its config and parameter count. */
export async function initModelFolder(opts: InitOptions): Promise<{ config: LlamaConfig; params: number }> {
  const tokenizer = await loadTokenizer(opts.tokenizer);
  const vocab = opts.vocabSize || tokenizer.vocabSize;
  if (vocab < tokenizer.vocabSize) throw new UserError(`--vocab-size ${vocab} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`);
  const config = presetConfig(opts.preset, { ...opts.overrides, vocab_size: vocab, bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId });
  const model = Transformer.init(config, opts.seed);
  try {
    await saveModel(opts.out, model, opts.tokenizer);
    const params = [...model.params.values()].reduce((n, v) => n + v.size, 0);
    return { config, params };
  } finally {
    model.dispose();
  }
}

/** The name of a parameter holding NaN or ±Infinity (a diverged run), or null: checked before a model or checkpoint is written. */
export async function nonFiniteParam(model: Transformer): Promise<string | null> {
  for (const [name, v] of model.params) {
    const bad = tf.tidy(() => tf.logicalNot(tf.isFinite(v)).any());
    const any = (await bad.data())[0];
    bad.dispose();
    if (any) return name;
  }
  return null;
}

/**
 * A preset's config with these fields set over it (vocabulary, special ids, overrides), checked: valid, and
 * small enough to hold in memory as float32 (the largest tensor in one typed array, at most 2^32 - 1 elements).
 */
export function presetConfig(preset: string, fields: Record<string, unknown>): LlamaConfig {
  const file = presetFile(preset);
  const config = toLlamaConfig({ ...readJson<Record<string, unknown>>(file), ...fields }, file);
  const sizes = paramShapes(config).map(([, s]) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.some((n) => n > 2 ** 32 - 1) || total * 4 > os.totalmem()) {
    throw new UserError(`${file}: ${(total / 1e9).toFixed(2)} G parameters (${(total * 4 / 2 ** 30).toFixed(1)} GiB as float32) cannot be held here (${(os.totalmem() / 2 ** 30).toFixed(0)} GiB of memory); use a smaller preset`);
  }
  return config;
}

/** The preset file for a name ("tiny" → models/tiny.json, here or in the package) or a path. */
export function presetFile(preset: string): string {
  if (fs.existsSync(preset) && fs.statSync(preset).isFile()) return preset;
  const dirs = [path.resolve('models'), path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models')];
  for (const d of dirs) {
    const f = path.join(d, `${preset}.json`);
    if (fs.existsSync(f)) return f;
  }
  const known = [...new Set(dirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d) : [])))].filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  throw new UserError(`preset "${preset}" not found (known: ${known.join(', ') || 'none'}; or give a path to a JSON file of config.json fields)`);
}

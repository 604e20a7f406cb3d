// Run: npm run bench:model-load [-- --layers 30 --backend wasm]
// Loads a SmolLM-135M-shaped Hugging Face folder (random BF16 weights written to a temp dir) and
// times each stage against a peer measured in the same run: a plain fs.readFileSync of the same
// bytes. Also saveModel (F32) and peak RSS. Not a test: numbers depend on the disk and page cache.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/model/safetensors.ts';
import { resolveBpeConfig, saveTokenizer, trainTokenizer } from '../src/tokenizer/bpe.ts';

const { values: args } = parseArgs({ options: { layers: { type: 'string', default: '30' }, backend: { type: 'string', default: 'wasm' } } });
const L = Number(args.layers);
// SmolLM-135M (HuggingFaceTB/SmolLM-135M config.json), layer count adjustable.
const config = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', torch_dtype: 'bfloat16', hidden_size: 576, num_hidden_layers: L,
  num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, vocab_size: 49152, rope_theta: 10000, max_position_embeddings: 2048,
  rms_norm_eps: 1e-5, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0,
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prrl-bench-load-'));
try {
  const D = config.hidden_size, F = config.intermediate_size, kv = (D / config.num_attention_heads) * config.num_key_value_heads;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [config.vocab_size, D]], ['model.norm.weight', [D]]]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    for (const [n, s] of [['input_layernorm.weight', [D]], ['post_attention_layernorm.weight', [D]], ['self_attn.q_proj.weight', [D, D]], ['self_attn.k_proj.weight', [kv, D]],
      ['self_attn.v_proj.weight', [kv, D]], ['self_attn.o_proj.weight', [D, D]], ['mlp.gate_proj.weight', [F, D]], ['mlp.up_proj.weight', [F, D]], ['mlp.down_proj.weight', [D, F]]] as const)
      shapes.set(p + n, [...s]);
  }
  const nParams = [...shapes.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  let seed = 1;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.04);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const cfg = resolveBpeConfig({ vocabSize: 300 });
  saveTokenizer(dir, trainTokenizer(['def f(x):\n    return x\n'.repeat(50)], cfg).bpe, cfg);
  const file = path.join(dir, 'model.safetensors');
  await writeSafetensorsFile(file, shapes, (n) => rand(shapes.get(n)!.reduce((a, b) => a * b, 1)), { dtype: 'BF16' });
  const mb = fs.statSync(file).size / 2 ** 20;
  console.log(`folder: ${(nParams / 1e6).toFixed(1)} M params, model.safetensors ${mb.toFixed(0)} MB (BF16), ${L} layers`);

  const time = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const r = await f();
    return [r, (performance.now() - t0) / 1000];
  };
  fs.readFileSync(file); // warm the page cache for both sides
  const [, raw] = await time(() => fs.readFileSync(file).length);
  const [, decode] = await time(() => readSafetensorsFile(file).size);
  const { initBackend } = await import('../src/model/backend.ts');
  await initBackend(args.backend as 'wasm', () => {});
  const { loadModel, saveModel } = await import('../src/model/weights.ts');
  const [{ model }, load] = await time(() => loadModel(dir));
  const [, save] = await time(() => saveModel(path.join(dir, 'saved'), model, dir));
  model.dispose();
  const row = (what: string, s: number) => console.log(`${what.padEnd(44)} ${s.toFixed(2).padStart(6)} s  ${(mb / s).toFixed(0).padStart(5)} MB/s  ${(s / raw).toFixed(1).padStart(5)}× peer`);
  row('peer: fs.readFileSync (page cache warm)', raw);
  row('readSafetensorsFile (BF16 → F32)', decode);
  row(`loadModel (tokenizer + weights → ${args.backend})`, load);
  row('saveModel (F32, fsync)', save);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (F32 weights alone: ${((nParams * 4) / 2 ** 20).toFixed(0)} MB)`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

// Run: node --import tsx --test test/model-weights.test.ts
// safetensors against the spec (hand-built files, exact dtype decoding, one-line errors for corrupt
// files) and the plain-JS reference forward on cases small enough to check by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, readSafetensorsFile, readSafetensorsHeader, toBf16Bits, writeSafetensors, writeSafetensorsFile } from '../src/model/safetensors.ts';
import { referenceLogits, type ReferenceConfig } from '../src/model/reference.ts';
import { UserError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { tempDir } from './helpers/tmp.ts';

const tmp = tempDir('prrl-weights-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** A safetensors file from a header object and raw data bytes, exactly as the spec lays it out. */
function craft(header: object, data: Uint8Array | number[], headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const u16le = (xs: number[]) => new Uint8Array(new Uint16Array(xs).buffer);

test('F32 round trip is bit-exact, sorted by name, header padded to 8 bytes, metadata kept', () => {
  const a = new Float32Array([1.5, -0, NaN, Infinity, 3.4028234663852886e38, 1e-45]);
  const b = new Float32Array([7]);
  const bytes = writeSafetensors(new Map([['z.w', { shape: [2, 3], data: a }], ['a.b', { shape: [], data: b }]]), { metadata: { format: 'pt' } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(Object.keys(header), ['__metadata__', 'a.b', 'z.w']);
  assert.deepEqual(header['a.b'], { dtype: 'F32', shape: [], data_offsets: [0, 4] });
  assert.deepEqual(header['z.w'].data_offsets, [4, 28]);
  const back = readSafetensors(bytes);
  assert.deepEqual(back.get('z.w')!.shape, [2, 3]);
  assert.deepEqual(Buffer.from(back.get('z.w')!.data.buffer), Buffer.from(a.buffer));
  assert.deepEqual([...back.get('a.b')!.data], [7]);
  const file = path.join(tmp, 'rt.safetensors');
  fs.writeFileSync(file, bytes);
  assert.deepEqual(readSafetensorsHeader(file).metadata, { format: 'pt' });
  assert.deepEqual(Buffer.from(readSafetensorsFile(file).get('z.w')!.data.buffer), Buffer.from(a.buffer));
  assert.deepEqual([...readSafetensorsFile(file, new Set(['a.b'])).keys()], ['a.b']);
});

test('the streaming file writer produces the same bytes as the in-memory one (F32 and BF16)', async () => {
  const t = { w: { shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6.1]) }, b: { shape: [1], data: new Float32Array([-1]) } };
  for (const dtype of ['F32', 'BF16'] as const) {
    const file = path.join(tmp, `stream-${dtype}.safetensors`);
    await writeSafetensorsFile(file, new Map(Object.entries(t).map(([k, v]) => [k, v.shape])), async (k) => t[k as 'w' | 'b'].data, { dtype, metadata: { format: 'pt' } });
    assert.deepEqual(fs.readFileSync(file), Buffer.from(writeSafetensors(t, { dtype, metadata: { format: 'pt' } })));
  }
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')), []);
});

test('BF16 decodes exactly on known bit patterns', () => {
  const bits = [0x3f80, 0xc000, 0x3f00, 0x4049, 0x7f80, 0xff80, 0x0001, 0x8000, 0x7f7f];
  const want = [1, -2, 0.5, 3.140625, Infinity, -Infinity, 2 ** -133, -0, 3.3895313892515355e38];
  const t = readSafetensors(craft({ x: { dtype: 'BF16', shape: [9], data_offsets: [0, 18] } }, u16le(bits))).get('x')!;
  assert.equal(t.dtype, 'BF16');
  assert.deepEqual([...t.data], want);
  assert.ok(Object.is(t.data[7], -0));
});

test('F16 decodes exactly on known bit patterns (normals, subnormals, inf, NaN)', () => {
  const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x7c00, 0xfc00, 0x8000, 0x7e00];
  const want = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, Infinity, -Infinity, -0, NaN];
  const t = readSafetensors(craft({ x: { dtype: 'F16', shape: [11], data_offsets: [0, 22] } }, u16le(bits))).get('x')!;
  assert.deepEqual([...t.data], want);
});

test('F64, I32, I64 decode to float32; BF16 writing rounds to nearest even', () => {
  const f64 = new Uint8Array(new Float64Array([0.1, -3]).buffer);
  const i32 = new Uint8Array(new Int32Array([-7, 2 ** 30]).buffer);
  const i64 = new Uint8Array(new BigInt64Array([-5n, 1n << 40n]).buffer);
  const data = new Uint8Array([...f64, ...i32, ...i64]);
  const m = readSafetensors(craft({
    a: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
    b: { dtype: 'I32', shape: [2], data_offsets: [16, 24] },
    c: { dtype: 'I64', shape: [2, 1], data_offsets: [24, 40] },
  }, data));
  assert.deepEqual([...m.get('a')!.data], [Math.fround(0.1), -3]);
  assert.deepEqual([...m.get('b')!.data], [-7, 2 ** 30]);
  assert.deepEqual([...m.get('c')!.data], [-5, 2 ** 40]);
  // 1 + 2⁻⁸ is halfway between 0x3F80 and 0x3F81 → even 0x3F80; 1 + 3·2⁻⁸ → even 0x3F82.
  const x = new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -2, NaN, 3.4e38]);
  assert.deepEqual([...toBf16Bits(x)].slice(0, 4), [0x3f80, 0x3f82, 0x3f81, 0xc000]);
  assert.ok(Number.isNaN(readSafetensors(writeSafetensors({ x: { shape: [6], data: x } }, { dtype: 'BF16' })).get('x')!.data[4]));
  const back = readSafetensors(writeSafetensors({ x: { shape: [6], data: x } }, { dtype: 'BF16' })).get('x')!;
  assert.equal(back.dtype, 'BF16');
  assert.deepEqual([...back.data.slice(0, 4)], [1, 1 + 2 ** -6, 1 + 2 ** -7, -2]);
});

/** Writes `bytes` to a file and expects readSafetensorsFile to fail with one line naming the file and matching `re`. */
function expectCorrupt(name: string, bytes: Uint8Array, re: RegExp): void {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  for (const read of [() => readSafetensorsFile(file), () => readSafetensors(fs.readFileSync(file), file)]) {
    assert.throws(read, (e: unknown) => {
      assert.ok(e instanceof UserError, `${name}: not a UserError: ${e}`);
      assert.ok(!e.message.includes('\n'), `${name}: more than one line: ${e.message}`);
      assert.ok(e.message.startsWith(file + ': '), `${name}: does not name the file: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  }
}

test('corrupt and truncated files give a one-line UserError naming the file', () => {
  const good = writeSafetensors({ a: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }, b: { shape: [3], data: new Float32Array(3) } });
  expectCorrupt('empty.safetensors', new Uint8Array(0), /truncated/);
  expectCorrupt('short.safetensors', good.subarray(0, 5), /truncated/);
  expectCorrupt('cut-header.safetensors', good.subarray(0, 20), /header length \d+ exceeds/);
  expectCorrupt('cut-data.safetensors', good.subarray(0, good.length - 3), /run past the \d+-byte data section \(truncated file\?\)/);
  expectCorrupt('trailing.safetensors', new Uint8Array([...good, 0, 0, 0, 0]), /data section has \d+ bytes but the tensors cover/);
  expectCorrupt('huge-n.safetensors', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x7b, 0x7d]), /exceeds/);
  expectCorrupt('bad-json.safetensors', craft({}, [], '{"a": {"dtype": "F32",'), /not valid UTF-8 JSON/);
  expectCorrupt('not-object.safetensors', craft({}, [], '[1, 2]'), /not a JSON object/);
  expectCorrupt('no-offsets.safetensors', craft({ a: { dtype: 'F32', shape: [1] } }, [0, 0, 0, 0]), /"a".*needs dtype, shape and data_offsets/);
  expectCorrupt('dtype.safetensors', craft({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, [0]), /unsupported dtype F8_E4M3/);
  expectCorrupt('size.safetensors', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /hold 4 bytes but F32 × \[2\] needs 8/);
  expectCorrupt('range.safetensors', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(8)), /run past/);
  expectCorrupt('overlap.safetensors', craft({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
  }, new Uint8Array(8)), /"a" and "b" overlap/);
  expectCorrupt('gap.safetensors', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /unused bytes before tensor "a"/);
  expectCorrupt('neg-shape.safetensors', craft({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /not a list of non-negative integers/);
  expectCorrupt('meta.safetensors', craft({ __metadata__: { a: 1 } }, []), /__metadata__/);
  assert.throws(() => readSafetensorsFile(path.join(tmp, 'nope.safetensors')), /no such file/);
});

// ---------------------------------------------------------------------------------- reference forward

test('reference: with no layers, logits are the normalised embedding times the head (by hand)', () => {
  const cfg: ReferenceConfig = { hidden_size: 2, num_hidden_layers: 0, num_attention_heads: 1, intermediate_size: 1, vocab_size: 2, rms_norm_eps: 0, tie_word_embeddings: true };
  // embed rows: [3, 4] → rms = √12.5; normalised × w=[1, 2] = [3, 8]/√12.5; row [0, 1] → rms = √0.5 → [0, 2]/√0.5
  const params = new Map([['model.embed_tokens.weight', [3, 4, 0, 1]], ['model.norm.weight', [1, 2]]]);
  const [out] = referenceLogits(cfg, params, [[0, 1]]);
  const r1 = Math.sqrt(12.5);
  const r2 = Math.sqrt(0.5);
  const want = [(3 * 3 + 8 * 4) / r1, (3 * 0 + 8 * 1) / r1, (0 * 3 + 2 * 4) / r2, (0 * 0 + 2 * 1) / r2];
  want.forEach((w, i) => assert.ok(Math.abs(out.data[i] - w) < 1e-12, `${i}: ${out.data[i]} vs ${w}`));
});

test('reference: causal (a later token never changes earlier logits) and one-token attention is the value path', () => {
  const cfg: ReferenceConfig = { hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 12, vocab_size: 11, rope_theta: 10000, rms_norm_eps: 1e-5 };
  const rng = new Rng(3);
  const shapes: Record<string, number> = { 'model.embed_tokens.weight': 88, 'model.norm.weight': 8, 'lm_head.weight': 88 };
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.`;
    Object.assign(shapes, { [p + 'input_layernorm.weight']: 8, [p + 'post_attention_layernorm.weight']: 8, [p + 'self_attn.q_proj.weight']: 64, [p + 'self_attn.k_proj.weight']: 32,
      [p + 'self_attn.v_proj.weight']: 32, [p + 'self_attn.o_proj.weight']: 64, [p + 'mlp.gate_proj.weight']: 96, [p + 'mlp.up_proj.weight']: 96, [p + 'mlp.down_proj.weight']: 96 });
  }
  const params = new Map(Object.entries(shapes).map(([k, n]) => [k, Array.from({ length: n }, () => rng.normal())]));
  const [a, b] = referenceLogits(cfg, params, [[1, 5, 7], [1, 5, 7, 2, 9]]);
  for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i] - b.data[i]) < 1e-12);
  // Changing q/k cannot matter for a single token (softmax over one key is 1): RoPE/attention-score bugs show up elsewhere.
  const noQK = new Map(params);
  for (let l = 0; l < 2; l++) noQK.set(`model.layers.${l}.self_attn.q_proj.weight`, new Array(64).fill(0));
  const [c] = referenceLogits(cfg, noQK, [[4]]);
  const [d] = referenceLogits(cfg, params, [[4]]);
  for (let i = 0; i < c.data.length; i++) assert.ok(Math.abs(c.data[i] - d.data[i]) < 1e-12);
});

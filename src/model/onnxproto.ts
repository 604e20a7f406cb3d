// A minimal ONNX writer: protobuf wire encoding (varints, length-delimited fields, packed int64s) for the
// few onnx.proto messages a float32 inference graph needs, and a GraphBuilder that names nodes and
// collects initializers. Field numbers are onnx.proto's. What the graph computes is onnx.ts's business.

import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { UserError } from '../util/errors.ts';

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;
/** AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Protobuf message bytes built field by field. */
class Msg {
  private parts: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.len += b.length;
  }

  /** A base-128 varint; negative int64s as their 64-bit two's complement (10 bytes). */
  private varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: 0 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, n: number): this {
    this.tag(field, 0);
    this.varint(n);
    return this;
  }

  float(field: number, x: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Msg): this {
    return this.bytes(field, m.finish());
  }

  /** Packed repeated int64. */
  ints(field: number, ns: readonly number[]): this {
    const m = new Msg();
    for (const n of ns) m.varint(n);
    return this.bytes(field, m.finish());
  }

  /** Packed repeated float. */
  floats(field: number, xs: readonly number[]): this {
    const b = new Uint8Array(4 * xs.length);
    const dv = new DataView(b.buffer);
    xs.forEach((x, i) => dv.setFloat32(4 * i, x, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

/** AttributeProto: integers and integer lists are INT/INTS; {float}/{floats} mark float ones. */
function attribute(name: string, v: AttrValue): Msg {
  const m = new Msg().str(1, name);
  if (typeof v === 'number') return m.int(3, v).int(20, ATTR.INT);
  if (typeof v === 'string') return m.str(4, v).int(20, ATTR.STRING);
  if (Array.isArray(v)) return m.ints(8, v).int(20, ATTR.INTS);
  if ('float' in v) return m.float(2, v.float).int(20, ATTR.FLOAT);
  return m.floats(7, v.floats).int(20, ATTR.FLOATS);
}

/** TensorProto with little-endian raw_data. */
function tensor(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): Msg {
  if (os.endianness() !== 'LE') throw new Error('onnx: raw_data is written from host memory, which must be little-endian');
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Msg().ints(1, dims).int(2, data instanceof Float32Array ? FLOAT : INT64).str(8, name).bytes(9, raw);
}

/** ValueInfoProto of a tensor; a string dim is symbolic (dim_param). */
function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): Msg {
  const shape = new Msg();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().str(2, d));
  const tensorType = new Msg().int(1, elemType).msg(2, shape);
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
}

/** Collects nodes, initializers and graph inputs/outputs; `bytes()` gives a serialized ModelProto. */
export class GraphBuilder {
  private nodes: Msg[] = [];
  private inits: Msg[] = [];
  private inputs: Msg[] = [];
  private outputs: Msg[] = [];
  private consts = new Map<string, string>();
  private n = 0;

  input(name: string, elemType: number, dims: readonly (number | string)[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: readonly (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initializer. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.inits.push(tensor(name, dims, data));
    return name;
  }

  /** A small int64 constant (shapes, axes, indices), shared between uses; dims [] for a scalar. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_i64_${this.consts.size}`;
      this.inits.push(tensor(name, dims, BigInt64Array.from(values, BigInt)));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant, shared between uses. */
  scalar(x: number): string {
    const key = `f32:${x}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_f32_${this.consts.size}`;
      this.inits.push(tensor(name, [], Float32Array.of(x)));
      this.consts.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its output names (fresh unless given in `outputs`). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const id = this.n++;
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => `${opType}_${id}_${i}`) : outputs;
    const m = new Msg();
    for (const i of inputs) m.str(1, i);
    for (const o of outs) m.str(2, o);
    m.str(3, `${opType}_${id}`).str(4, opType);
    for (const [k, v] of Object.entries(attrs)) m.msg(5, attribute(k, v));
    this.nodes.push(m);
    return outs;
  }

  /** Single-output shorthand of op(). */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.op(opType, inputs, attrs, output ? [output] : 1)[0];
  }

  /** ModelProto bytes: ir_version 8, default-domain opset 17. */
  bytes(graphName: string): Uint8Array {
    const g = new Msg();
    for (const n of this.nodes) g.msg(1, n);
    g.str(2, graphName);
    for (const t of this.inits) g.msg(5, t);
    for (const i of this.inputs) g.msg(11, i);
    for (const o of this.outputs) g.msg(12, o);
    return new Msg().int(1, 8).str(2, 'pr-rl').msg(7, g).msg(8, new Msg().str(1, '').int(2, 17)).finish();
  }
}

/** A CPU session on ModelProto bytes; where onnxruntime-node is absent (the GPU bundle), one clear error. */
export async function cpuSession(bytes: Uint8Array, threads: number, extra?: Record<string, unknown>): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
      graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3, ...(extra ? { extra } : {}),
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'PRRL_NO_ORT') throw new UserError('--engine onnx needs onnxruntime-node, which the GPU bundle leaves out: use --engine tfjs');
    throw e;
  }
}

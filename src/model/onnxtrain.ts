// One training step's forward AND hand-derived backward as a plain ONNX graph (opset 17) for
// onnxruntime-node, which has no training API: parameters are graph inputs (HF names and shapes, as
// transformer.ts's params Map), so one session serves every optimizer step. It returns the picked
// log-probs and the gradient of L = Σ weights·logp for every parameter; the loss that sets `weights`
// (dL/dlogp) and the optimizer are the caller's. transformer.ts stays the model's definition (tests
// hold these gradients to tfjs autodiff).

import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { dims, paramShapes, type LlamaConfig, type Transformer } from './transformer.ts';
import { cpuSession, FLOAT, GraphBuilder, INT64 } from './onnxproto.ts';
import { ropeRows } from './onnx.ts';

/** Additive attention bias of a future position (exp underflows to exactly 0). */
const MASKED = -1e9;

/**
 * ModelProto bytes of a training step. Inputs: every parameter (HF name, HF shape; Linear [out, in]);
 * input_ids, targets int64 [B, T]; from int64 [1]; weights float [B, T−from]; cos, sin [T, hd] (HF
 * rotate_half layout). Outputs: logp [B, T−from] = log_softmax(logits)[targets] at positions from…T−1
 * (the output head, V wide, runs only there: prompts need no logits); `grad.<name>` per parameter, of
 * Σ weights·logp. Activations are [N, ·] rows (N = B·T) so every Linear is one Gemm (transA/transB, no
 * transposes).
 */
export function exportTrainGraph(c: LlamaConfig): Uint8Array {
  const { D, H, KV, G, hd, F, V } = dims(c);
  if (!Number.isInteger(hd) || hd % 2 || !Number.isInteger(G)) throw new Error(`onnxtrain: hidden_size ${D}, ${H} heads, ${KV} kv heads do not split into even head dims and whole groups`);
  const g = new GraphBuilder();
  const shapes = new Map(paramShapes(c));
  for (const [name, shape] of shapes) g.input(name, FLOAT, shape);
  const grad = (name: string) => {
    g.output(`grad.${name}`, FLOAT, shapes.get(name)!);
    return `grad.${name}`;
  };

  const ids = g.input('input_ids', INT64, ['B', 'T']);
  const targets = g.input('targets', INT64, ['B', 'T']);
  const from = g.input('from', INT64, [1]);
  const weights = g.input('weights', FLOAT, ['B', 'S']);
  const cos = g.input('cos', FLOAT, ['T', hd]);
  const sin = g.input('sin', FLOAT, ['T', hd]);
  const bt = g.op1('Shape', [ids]); // [2] = (B, T)
  const col = (x: string) => g.op1('Reshape', [x, g.int64([-1, 1])]); // [B, T] → [N, 1]

  // Causal bias [G·T, T] built from T: rows are (query head g, position t), g-major, as onnx.ts's.
  const T = g.op1('Gather', [bt, g.int64([1], [])], { axis: 0 }); // scalar
  const pos = g.op1('Range', [g.int64([0], []), T, g.int64([1], [])]); // [T]
  const future = g.op1('Greater', [g.op1('Unsqueeze', [pos, g.int64([0])]), g.op1('Unsqueeze', [pos, g.int64([1])])]); // [T, T]: key > query
  const causal = g.op1('Where', [future, g.scalar(MASKED), g.scalar(0)]); // [T, T]
  const mask = G > 1 ? g.op1('Tile', [causal, g.int64([G, 1])]) : causal; // [G·T, T]
  const rot = g.weight('rotate_half', [hd, hd], rotateHalf(hd, false)); // x·R = [−x₂, x₁]
  const rotT = g.weight('rotate_half_T', [hd, hd], rotateHalf(hd, true)); // Rᵀ, for the backward
  const scale = g.scalar(1 / Math.sqrt(hd));

  // x·Wᵀ, dy·W and dyᵀ·x for a Linear weight W [out, in].
  const lin = (x: string, w: string) => g.op1('Gemm', [x, w], { transB: 1 }); // [N, out]
  const linBack = (dy: string, w: string) => g.op1('Gemm', [dy, w]); // [N, in]
  const linGrad = (dy: string, x: string, w: string) => g.op1('Gemm', [dy, x], { transA: 1 }, grad(w)); // [out, in]
  const sumRows = (x: string, out?: string) => g.op1('ReduceSum', [x, g.int64([0])], { keepdims: 0 }, out); // [·]
  const toHeads = (y: string, heads: number) => g.op1('Transpose', [g.op1('Reshape', [y, g.op1('Concat', [bt, g.int64([heads, hd])], { axis: 0 })])], { perm: [0, 2, 1, 3] }); // [N, heads·hd] → [B, heads, T, hd]
  const fromHeads = (y: string, heads: number) => g.op1('Reshape', [g.op1('Transpose', [y], { perm: [0, 2, 1, 3] }), g.int64([-1, heads * hd])]); // → [N, heads·hd]
  const rope = (x: string) => g.op1('Add', [g.op1('Mul', [x, cos]), g.op1('Mul', [g.op1('MatMul', [x, rot]), sin])]);
  // y = x·cos + (x·R)·sin  ⇒  dx = dy·cos + (dy·sin)·Rᵀ.
  const ropeBack = (dy: string) => g.op1('Add', [g.op1('Mul', [dy, cos]), g.op1('MatMul', [g.op1('Mul', [dy, sin]), rotT])]);

  // RMSNorm y = x·r·gain, r = 1/√(mean(x²)+eps); keeps r and x·r for the backward.
  const rms = (x: string, gain: string) => {
    const ms = g.op1('ReduceMean', [g.op1('Mul', [x, x])], { axes: [-1], keepdims: 1 }); // [N, 1]
    const r = g.op1('Reciprocal', [g.op1('Sqrt', [g.op1('Add', [ms, g.scalar(c.rms_norm_eps)])])]); // [N, 1]
    const xn = g.op1('Mul', [x, r]); // [N, D]
    return { r, xn, gain, y: g.op1('Mul', [xn, gain]) };
  };
  // dx = r·(gain·dy − xn·mean(xn·gain·dy)); dgain = Σ_rows xn·dy.
  const rmsBack = (dy: string, s: ReturnType<typeof rms>) => {
    sumRows(g.op1('Mul', [s.xn, dy]), grad(s.gain));
    const gdy = g.op1('Mul', [dy, s.gain]); // [N, D]
    const m = g.op1('ReduceMean', [g.op1('Mul', [s.xn, gdy])], { axes: [-1], keepdims: 1 }); // [N, 1]
    return g.op1('Mul', [g.op1('Sub', [gdy, g.op1('Mul', [s.xn, m])]), s.r]); // [N, D]
  };

  // ---- forward, keeping what the backward reads
  const flatIds = g.op1('Reshape', [ids, g.int64([-1, 1])]); // [N, 1]
  let x = g.op1('Gather', ['model.embed_tokens.weight', g.op1('Reshape', [ids, g.int64([-1])])], { axis: 0 }); // [N, D]
  const layers = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const a = p + 'self_attn.';
    const n1 = rms(x, p + 'input_layernorm.weight');
    const proj = (name: string, heads: number) => {
      const y = lin(n1.y, a + name + '.weight'); // [N, heads·hd]
      return toHeads(c.attention_bias ? g.op1('Add', [y, a + name + '.bias']) : y, heads); // [B, heads, T, hd]
    };
    const q = g.op1('Reshape', [g.op1('Mul', [rope(proj('q_proj', H)), scale]), g.int64([0, KV, -1, hd])]); // [B, KV, G·T, hd], 1/√hd folded in
    const k = rope(proj('k_proj', KV)); // [B, KV, T, hd]
    const v = proj('v_proj', KV); // [B, KV, T, hd]
    const scores = g.op1('MatMul', [q, g.op1('Transpose', [k], { perm: [0, 1, 3, 2] })]); // [B, KV, G·T, T]
    const probs = g.op1('Softmax', [g.op1('Add', [scores, mask])], { axis: -1 }); // [B, KV, G·T, T]
    const att = g.op1('Reshape', [g.op1('MatMul', [probs, v]), g.int64([0, H, -1, hd])]); // [B, H, T, hd]
    const merged = fromHeads(att, H); // [N, D]
    const x1 = g.op1('Add', [x, lin(merged, a + 'o_proj.weight')]); // [N, D]
    const n2 = rms(x1, p + 'post_attention_layernorm.weight');
    const gate = lin(n2.y, p + 'mlp.gate_proj.weight'); // [N, F]
    const up = lin(n2.y, p + 'mlp.up_proj.weight'); // [N, F]
    const sg = g.op1('Sigmoid', [gate]); // [N, F]
    const silu = g.op1('Mul', [gate, sg]); // [N, F]
    const act = g.op1('Mul', [silu, up]); // [N, F]
    layers.push({ p, a, n1, q, k, v, probs, merged, n2, gate, up, sg, silu, act });
    x = g.op1('Add', [x1, lin(act, p + 'mlp.down_proj.weight')]); // [N, D]
  }
  const nf = rms(x, 'model.norm.weight');
  // The head on positions from…T−1 only: rows [B, T, D] sliced to [B, S, D] (S = T − from), M = B·S rows.
  const sliceT = (y: string) => g.op1('Slice', [y, from, g.int64([2 ** 53]), g.int64([1])]); // axis 1 from `from`
  const bsd = g.op1('Concat', [bt, g.int64([D])], { axis: 0 });
  const ysBSD = sliceT(g.op1('Reshape', [nf.y, bsd])); // [B, S, D]
  const ys = g.op1('Reshape', [ysBSD, g.int64([-1, D])]); // [M, D]
  const tgtBS = sliceT(targets); // [B, S]
  const head = c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const logsm = g.op1('LogSoftmax', [lin(ys, head)], { axis: -1 }); // [M, V]
  const tgt = g.op1('Reshape', [tgtBS, g.int64([-1, 1])]); // [M, 1]
  g.op1('Reshape', [g.op1('GatherElements', [logsm, tgt], { axis: 1 }), g.op1('Shape', [tgtBS])], {}, 'logp'); // [B, S]
  g.output('logp', FLOAT, ['B', 'S']);

  // ---- backward of L = Σ w·logp
  // dlogits = w·(onehot(target) − softmax): −w·softmax, then w added at each row's target.
  const wcol = col(weights); // [M, 1]
  const dlogits = g.op1('ScatterElements', [g.op1('Mul', [g.op1('Exp', [logsm]), g.op1('Neg', [wcol])]), tgt, wcol], { axis: 1, reduction: 'add' }); // [M, V]
  const headGrad = c.tie_word_embeddings ? g.op1('Gemm', [dlogits, ys], { transA: 1 }) : linGrad(dlogits, ys, head); // [V, D]
  // dL/dy is zero at the prompt positions: the head's [M, D] back into [N, D] rows, zero-padded in front.
  const pads = g.op1('Concat', [g.int64([0]), from, g.int64([0, 0, 0, 0])], { axis: 0 }); // [B, S, D] → [B, T, D]
  const dys = g.op1('Reshape', [g.op1('Pad', [g.op1('Reshape', [linBack(dlogits, head), g.op1('Shape', [ysBSD])]), pads]), g.int64([-1, D])]);
  let dx = rmsBack(dys, nf); // [N, D]
  for (let l = c.num_hidden_layers - 1; l >= 0; l--) {
    const s = layers[l];
    // MLP: act = silu(gate)·up; silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
    linGrad(dx, s.act, s.p + 'mlp.down_proj.weight');
    const dact = linBack(dx, s.p + 'mlp.down_proj.weight'); // [N, F]
    const dup = g.op1('Mul', [dact, s.silu]); // [N, F]
    const dsilu = g.op1('Mul', [g.op1('Add', [g.scalar(1), g.op1('Mul', [s.gate, g.op1('Sub', [g.scalar(1), s.sg])])]), s.sg]); // [N, F]
    const dgate = g.op1('Mul', [g.op1('Mul', [dact, s.up]), dsilu]); // [N, F]
    linGrad(dgate, s.n2.y, s.p + 'mlp.gate_proj.weight');
    linGrad(dup, s.n2.y, s.p + 'mlp.up_proj.weight');
    const dh2 = g.op1('Add', [linBack(dgate, s.p + 'mlp.gate_proj.weight'), linBack(dup, s.p + 'mlp.up_proj.weight')]); // [N, D]
    const dx1 = g.op1('Add', [dx, rmsBack(dh2, s.n2)]); // [N, D]
    // Attention: P = softmax(S) ⇒ dS = P·(dP − Σ P·dP).
    linGrad(dx1, s.merged, s.a + 'o_proj.weight');
    const datt = g.op1('Reshape', [toHeads(linBack(dx1, s.a + 'o_proj.weight'), H), g.int64([0, KV, -1, hd])]); // [B, KV, G·T, hd]
    const dP = g.op1('MatMul', [datt, g.op1('Transpose', [s.v], { perm: [0, 1, 3, 2] })]); // [B, KV, G·T, T]
    const dv = g.op1('MatMul', [g.op1('Transpose', [s.probs], { perm: [0, 1, 3, 2] }), datt]); // [B, KV, T, hd]
    const dS = g.op1('Mul', [s.probs, g.op1('Sub', [dP, g.op1('ReduceSum', [g.op1('Mul', [s.probs, dP]), g.int64([-1])], { keepdims: 1 })])]); // [B, KV, G·T, T]
    const dq = g.op1('Reshape', [g.op1('Mul', [g.op1('MatMul', [dS, s.k]), scale]), g.int64([0, H, -1, hd])]); // [B, H, T, hd]
    const dk = g.op1('MatMul', [g.op1('Transpose', [dS], { perm: [0, 1, 3, 2] }), s.q]); // [B, KV, T, hd]
    let dh: string | null = null;
    for (const [name, d, heads] of [['q_proj', ropeBack(dq), H], ['k_proj', ropeBack(dk), KV], ['v_proj', dv, KV]] as const) {
      const dy = fromHeads(d, heads); // [N, heads·hd]
      if (c.attention_bias) sumRows(dy, grad(s.a + name + '.bias'));
      linGrad(dy, s.n1.y, s.a + name + '.weight');
      const back = linBack(dy, s.a + name + '.weight'); // [N, D]
      dh = dh ? g.op1('Add', [dh, back]) : back;
    }
    dx = g.op1('Add', [dx1, rmsBack(dh!, s.n1)]); // [N, D]
  }
  // Embedding rows: ScatterND with reduction "add" sums the rows of repeated ids.
  const zeros = g.op1('ConstantOfShape', [g.int64([V, D])]); // [V, D]
  const embedName = 'model.embed_tokens.weight';
  const embedGrad = c.tie_word_embeddings ? undefined : grad(embedName);
  const scattered = g.op1('ScatterND', [zeros, flatIds, dx], { reduction: 'add' }, embedGrad); // [V, D]
  if (c.tie_word_embeddings) g.op1('Add', [scattered, headGrad], {}, grad(embedName));
  return g.bytes('pr-rl-train');
}

/** R (or Rᵀ = −R) with x·R = rotate_half(x) = [−x₂, x₁]. */
function rotateHalf(hd: number, transpose: boolean): Float32Array {
  const half = hd / 2;
  const s = transpose ? -1 : 1;
  const r = new Float32Array(hd * hd);
  for (let i = 0; i < half; i++) {
    r[(half + i) * hd + i] = -s;
    r[i * hd + half + i] = s;
  }
  return r;
}


export interface OnnxTrainOptions {
  /** ORT intra-op threads; 0 = ORT's default (one per physical core). */
  threads?: number;
}

export interface TrainStepResult {
  /** [B·(T−from)] log_softmax(logits)[b, t, targets[b][t]] for t ≥ from, row-major. */
  logp: Float32Array;
  /** d(Σ weights·logp)/d(parameter), HF names and shapes (row-major): the trainer's buffers, overwritten by its next run. */
  grads: Map<string, Float32Array>;
}

/** A CPU session on exportTrainGraph(config): parameters come in with every run, so it never goes stale. */
export class OnnxTrainer {
  private rope = new Map<number, { cos: ort.Tensor; sin: ort.Tensor }>();
  private readonly shapes: [string, number[]][];

  /** Gradient buffers, reused by every run. */
  private readonly grads: Map<string, Float32Array>;

  private constructor(private session: ort.InferenceSession, readonly config: Readonly<LlamaConfig>) {
    this.shapes = paramShapes(config);
    this.grads = new Map(this.shapes.map(([name, shape]) => [name, new Float32Array(shape.reduce((a, b) => a * b, 1))]));
  }

  static async create(config: LlamaConfig, opts: OnnxTrainOptions = {}): Promise<OnnxTrainer> {
    // Idle pool threads sleep instead of spinning: on 2 shared cores, 2 spinning threads ran a step in
    // ~0.98 s against ~0.69 s without (1 thread: ~0.61 s either way).
    const session = await cpuSession(exportTrainGraph(config), opts.threads ?? 0, { session: { intra_op: { allow_spinning: '0' } } });
    return new OnnxTrainer(session, { ...config });
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /**
   * logp [B, T−from] at positions from…T−1 and the gradients of L = Σ weights·logp for ids, targets
   * [B][T] and weights [B·(T−from)] (dL/dlogp; 0 off the loss). transformer.ts's tokenLogprobs(ids, from)
   * is this with targets[b][t] = ids[b][t+1], less the last position.
   */
  async run(params: Map<string, Float32Array>, ids: number[][], targets: number[][], weights: Float32Array, from = 0): Promise<TrainStepResult> {
    const c = this.config;
    const B = ids.length;
    const T = ids[0]?.length ?? 0;
    if (B === 0 || T === 0) throw new Error('onnxtrain: empty batch');
    if (T > c.max_position_embeddings) throw new Error(`onnxtrain: ${T} positions exceed max_position_embeddings ${c.max_position_embeddings}`);
    const rowsOk = (m: number[][]) => m.length === B && m.every((r) => r.length === T && r.every((t) => Number.isInteger(t) && t >= 0 && t < c.vocab_size));
    if (!rowsOk(ids) || !rowsOk(targets)) throw new Error(`onnxtrain: ids and targets must both be ${B}×${T} token ids in [0, ${c.vocab_size})`);
    if (!Number.isInteger(from) || from < 0 || from >= T) throw new Error(`onnxtrain: from must be an integer in [0, ${T}) (got ${from})`);
    const S = T - from;
    if (weights.length !== B * S) throw new Error(`onnxtrain: weights has ${weights.length} entries, want B·(T−from) = ${B * S}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, shape] of this.shapes) {
      const data = params.get(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== n) throw new Error(`onnxtrain: parameter ${name} needs ${n} floats ([${shape}]), got ${data?.length ?? 'none'}`);
      feeds[name] = new ort.Tensor('float32', data, shape);
    }
    const hd = c.hidden_size / c.num_attention_heads;
    let rope = this.rope.get(T);
    if (!rope) {
      const { cos, sin } = ropeRows(0, T, hd, c.rope_theta);
      rope = { cos: new ort.Tensor('float32', cos, [T, hd]), sin: new ort.Tensor('float32', sin, [T, hd]) };
      this.rope.set(T, rope);
    }
    const int64 = (m: number[][]) => new ort.Tensor('int64', BigInt64Array.from(m.flat(), BigInt), [B, T]);
    Object.assign(feeds, {
      input_ids: int64(ids), targets: int64(targets), from: new ort.Tensor('int64', BigInt64Array.of(BigInt(from)), [1]),
      weights: new ort.Tensor('float32', weights, [B, S]), ...rope,
    });
    // ORT writes into preallocated outputs: no per-step allocation (and page faults) for 4·P bytes of grads.
    const logp = new Float32Array(B * S);
    const fetches: Record<string, ort.Tensor> = { logp: new ort.Tensor('float32', logp, [B, S]) };
    for (const [name, shape] of this.shapes) fetches[`grad.${name}`] = new ort.Tensor('float32', this.grads.get(name)!, shape);
    await this.session.run(feeds, fetches);
    return { logp, grads: this.grads };
  }
}

/**
 * OnnxTrainer bound to a tfjs model: reads its current weights, scores a packed batch from position
 * `from` on (tokenLogprobs' layout: position t predicts ids[t+1]) and returns the gradients as tfjs
 * tensors keyed like tf.variableGrads, so clipping, AdamW and checkpoints stay the tfjs ones.
 */
export class OnnxGradients {
  private constructor(private readonly trainer: OnnxTrainer) {}

  static async create(model: Transformer, opts: OnnxTrainOptions = {}): Promise<OnnxGradients> {
    return new OnnxGradients(await OnnxTrainer.create(model.config, opts));
  }

  /**
   * logp [B, T-1-from] of ids [B, T] and, with `weights` [B, T-1-from] (dL/dlogp), the gradients of
   * L = Σ weights·logp (the caller disposes them); `weights` null gives logp alone.
   */
  async run(model: Transformer, ids: tf.Tensor2D, from: number, weights: Float32Array | null): Promise<{ logp: Float32Array; grads: tf.NamedTensorMap | null }> {
    const [B, T] = ids.shape;
    const W = T - 1 - from;
    const S = T - from;
    const rows = (await ids.array()) as number[][];
    const targets = rows.map((r) => [...r.slice(1), 0]);
    const w = new Float32Array(B * S); // position T-1 predicts nothing: weight 0
    if (weights) for (let b = 0; b < B; b++) w.set(weights.subarray(b * W, (b + 1) * W), b * S);
    const params = new Map<string, Float32Array>();
    for (const [name, v] of model.params) params.set(name, (await v.data()) as Float32Array);
    const out = await this.trainer.run(params, rows, targets, w, from);
    const logp = new Float32Array(B * W);
    for (let b = 0; b < B; b++) logp.set(out.logp.subarray(b * S, b * S + W), b * W);
    if (!weights) return { logp, grads: null };
    const grads: tf.NamedTensorMap = {};
    // Copied here: the trainer reuses its buffers, and the cpu backend keeps the array it is given.
    for (const [name, v] of model.params) grads[v.name] = tf.tensor(out.grads.get(name)!.slice(), v.shape, 'float32');
    return { logp, grads };
  }

  /**
   * A loss of the token log-probs [B, T-1-from] and its parameter gradients: one run for logp, dL/dlogp
   * by tfjs autodiff on that small tensor, a second run for the gradients of Σ (dL/dlogp)·logp, which
   * are the loss's (the chain rule through logp). For losses that are not a fixed weighting of logp (GRPO).
   * `valueFree`: the loss, its gradient and whatever it records do not depend on logp's values (GRPO with
   * μ = 1 and no KL: ρ = exp(logp − stopGradient(logp)) = 1), so it is taken at logp = 0 and one run does.
   * That holds only for finite logp: where the run's logp holds NaN or ±Infinity (weights that are not
   * numbers), the value is NaN, as tfjs's would be (ρ = exp(NaN − NaN)), not the loss at logp = 0.
   */
  async lossGrads(model: Transformer, ids: tf.Tensor2D, from: number, loss: (logp: tf.Tensor2D) => tf.Scalar, valueFree = false): Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> {
    const [B, T] = ids.shape;
    const W = T - 1 - from;
    const logp = valueFree ? tf.zeros([B, W]) as tf.Tensor2D : tf.tensor2d((await this.run(model, ids, from, null)).logp, [B, W]);
    const { value, grad } = tf.valueAndGrad(loss)(logp);
    const w = (await grad.data()) as Float32Array;
    tf.dispose([logp, grad]);
    const out = await this.run(model, ids, from, w);
    if (valueFree && !out.logp.every(Number.isFinite)) {
      value.dispose();
      return { value: tf.scalar(NaN), grads: out.grads! };
    }
    return { value, grads: out.grads! };
  }

  async release(): Promise<void> {
    await this.trainer.release();
  }
}

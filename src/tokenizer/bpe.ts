// Byte-level BPE: the trainer (word counts → merges) and a plain reference encoder. Splitting text
// into pre-tokens is pretokenize.ts's job, writing the Hugging Face files save.ts's, loading them
// for use load.ts's (through transformers.js), reading training files corpus.ts's.
// Vocabulary layout: <|bos|> = 0, <|eos|> = 1, <|pad|> = 2, byte b = 3 + b, then merges in order.

import { UserError } from '../util/errors.ts';
import { BYTE_TO_UNICODE, FIRST_BYTE_ID, SPECIAL_TOKENS, forEachPiece } from './pretokenize.ts';

export { saveTokenizer } from './save.ts'; // so one import gives train + save

/** Adds the pre-tokens of `text` to `counts` (pre-token → occurrences). */
export function countWords(text: string, counts: Map<string, number>): void {
  forEachPiece(text, (piece) => counts.set(piece, (counts.get(piece) ?? 0) + 1));
}

export interface BpeConfig {
  /** Vocabulary size including the 3 special tokens and the 256 byte tokens. */
  vocabSize: number;
  /** Stop merging when the most frequent pair occurs fewer times than this. */
  minFrequency: number;
  /** model_max_length written to tokenizer_config.json (informational; pr-rl never truncates through it). */
  modelMaxLength: number;
}

export const BPE_DEFAULTS: BpeConfig = { vocabSize: 4096, minFrequency: 2, modelMaxLength: 4096 };

export function resolveBpeConfig(p: Partial<BpeConfig> = {}): Readonly<BpeConfig> {
  const c = { ...BPE_DEFAULTS, ...p };
  const min = FIRST_BYTE_ID + 256;
  if (!Number.isInteger(c.vocabSize) || c.vocabSize < min || c.vocabSize > 1 << 20) {
    throw new UserError(`--vocab-size must be an integer in [${min}, ${1 << 20}] (3 special + 256 byte tokens + merges), got ${c.vocabSize}`);
  }
  if (!Number.isInteger(c.minFrequency) || c.minFrequency < 1) throw new UserError(`--min-frequency must be an integer ≥ 1, got ${c.minFrequency}`);
  if (!Number.isInteger(c.modelMaxLength) || c.modelMaxLength < 1) throw new UserError(`--model-max-length must be a positive integer, got ${c.modelMaxLength}`);
  return Object.freeze(c);
}

export interface TrainedBpe {
  /** id → token string (byte-level alphabet); specials first. */
  vocab: string[];
  /** Merges in rank order, as token-string pairs. */
  merges: [string, string][];
}

/**
 * Learns merges until the vocabulary has `vocabSize` entries or no pair occurs `minFrequency` times.
 * Incremental: pair counts are kept up to date from the words each merge touches (pair → words
 * index), and the best pair comes from a max-heap with lazy re-checks (count desc, then ids asc).
 */
export function trainBpe(counts: Map<string, number>, cfg: Readonly<BpeConfig>, log?: (msg: string) => void): TrainedBpe & { tokenCount: number } {
  const vocab: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_UNICODE];
  const tokenId = new Map(vocab.map((t, i) => [t, i]));
  const merges: [string, string][] = [];

  // All words' symbols in one flat array; each word owns [start, start + byteLength) and shrinks in place.
  const nWords = counts.size;
  const freq = new Float64Array(nWords);
  const start = new Int32Array(nWords);
  const len = new Int32Array(nWords);
  let total = 0;
  let w = 0;
  for (const [word, f] of counts) {
    freq[w] = f;
    start[w] = total;
    len[w] = Buffer.byteLength(word, 'utf8');
    total += len[w++];
  }
  const sym = new Int32Array(total);
  const bytes = Buffer.allocUnsafe(total);
  w = 0;
  for (const word of counts.keys()) bytes.write(word, start[w++], 'utf8');
  for (let i = 0; i < total; i++) sym[i] = FIRST_BYTE_ID + bytes[i];

  // Pair tables, indexed by pair id. key = a * K + b with K > any id.
  const K = cfg.vocabSize;
  const pairOf = new Map<number, number>();
  const pairA: number[] = [];
  const pairB: number[] = [];
  const pairCount: number[] = [];
  const where: number[][] = [];
  const touchedAt: number[] = []; // merge index at which the pair last gained count
  let mergeNo = -1;
  const touched: number[] = [];
  const add = (a: number, b: number, delta: number, word: number) => {
    const key = a * K + b;
    let p = pairOf.get(key);
    if (p === undefined) {
      p = pairA.length;
      pairOf.set(key, p);
      pairA.push(a);
      pairB.push(b);
      pairCount.push(0);
      where.push([]);
      touchedAt.push(-2);
    }
    pairCount[p] += delta;
    if (delta > 0) {
      const ws = where[p];
      if (ws[ws.length - 1] !== word) ws.push(word);
      if (touchedAt[p] !== mergeNo) {
        touchedAt[p] = mergeNo;
        touched.push(p);
      }
    }
  };
  for (w = 0; w < nWords; w++) {
    for (let i = start[w], end = start[w] + len[w] - 1; i < end; i++) add(sym[i], sym[i + 1], freq[w], w);
  }

  const heap = new PairHeap(pairA, pairB);
  for (const p of touched) heap.push(p, pairCount[p]);
  touched.length = 0;

  const seen = new Int32Array(nWords).fill(-1);
  const recorded = new Set<number>(); // a pair can re-form after its merge (same string, new path): record it once
  const t0 = Date.now();
  const logEvery = Math.max(1000, Math.ceil((cfg.vocabSize - vocab.length) / 10000) * 1000); // ≤ ~10 lines
  while (vocab.length < cfg.vocabSize) {
    const p = heap.popBest(pairCount, cfg.minFrequency);
    if (p < 0) break;
    mergeNo++;
    const a = pairA[p];
    const b = pairB[p];
    const text = vocab[a] + vocab[b];
    let c = tokenId.get(text);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(text);
      tokenId.set(text, c);
    }
    if (!recorded.has(a * K + b)) {
      recorded.add(a * K + b);
      merges.push([vocab[a], vocab[b]]);
    }
    for (const wd of where[p]) {
      if (seen[wd] === mergeNo) continue;
      seen[wd] = mergeNo;
      // Replace every non-overlapping (a, b), left to right, fixing the neighbours' pair counts.
      const s = start[wd];
      const end = s + len[wd];
      const f = freq[wd];
      let r = s;
      let o = s;
      while (r < end) {
        if (r + 1 < end && sym[r] === a && sym[r + 1] === b) {
          if (o > s) {
            add(sym[o - 1], a, -f, wd);
            add(sym[o - 1], c, f, wd);
          }
          if (r + 2 < end) {
            add(b, sym[r + 2], -f, wd);
            add(c, sym[r + 2], f, wd);
          }
          sym[o++] = c;
          r += 2;
        } else sym[o++] = sym[r++];
      }
      len[wd] = o - s;
    }
    pairCount[p] = 0;
    where[p] = [];
    // Counts only grow for pairs touching c; give each a fresh heap entry (stale ones are re-checked on pop).
    for (const q of touched) if (pairCount[q] > 0) heap.push(q, pairCount[q]);
    touched.length = 0;
    if (log && mergeNo % logEvery === logEvery - 1) log(`${merges.length} merges, vocab ${vocab.length}, ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  let tokenCount = 0; // the training text's length in tokens, free from the final word states
  for (w = 0; w < nWords; w++) tokenCount += freq[w] * len[w];
  return { vocab, merges, tokenCount };
}

export interface TrainStats {
  docs: number;
  bytes: number;
  /** Pre-tokens in the text, and distinct ones. */
  words: number;
  uniqueWords: number;
  /** Length of the training text in tokens after training. */
  tokens: number;
  countSeconds: number;
  mergeSeconds: number;
}

/** Pre-tokenizes and counts `texts`, then trains. */
export function trainTokenizer(texts: Iterable<string>, cfg: Readonly<BpeConfig>, log?: (msg: string) => void): { bpe: TrainedBpe; stats: TrainStats } {
  const t0 = performance.now();
  const counts = new Map<string, number>();
  let docs = 0;
  let bytes = 0;
  for (const text of texts) {
    docs++;
    bytes += Buffer.byteLength(text, 'utf8');
    countWords(text, counts);
  }
  if (counts.size === 0) throw new UserError('the training data has no text; pass non-empty files, folders or tasks.jsonl');
  let words = 0;
  for (const f of counts.values()) words += f;
  const t1 = performance.now();
  log?.(`counted ${words} pre-tokens (${counts.size} distinct) in ${docs} documents, ${(bytes / 1e6).toFixed(1)} MB, ${((t1 - t0) / 1000).toFixed(1)}s`);
  const { tokenCount, ...bpe } = trainBpe(counts, cfg, log);
  const t2 = performance.now();
  return { bpe, stats: { docs, bytes, words, uniqueWords: counts.size, tokens: tokenCount, countSeconds: (t1 - t0) / 1000, mergeSeconds: (t2 - t1) / 1000 } };
}

/** Binary max-heap of (pair, count-when-pushed); ties go to the smaller (a, b). */
class PairHeap {
  private pair: number[] = [];
  private count: number[] = [];
  constructor(private readonly pa: number[], private readonly pb: number[]) {}

  private above(i: number, j: number): boolean {
    const ci = this.count[i];
    const cj = this.count[j];
    if (ci !== cj) return ci > cj;
    const pi = this.pair[i];
    const pj = this.pair[j];
    return this.pa[pi] !== this.pa[pj] ? this.pa[pi] < this.pa[pj] : this.pb[pi] < this.pb[pj];
  }

  private swap(i: number, j: number): void {
    [this.pair[i], this.pair[j]] = [this.pair[j], this.pair[i]];
    [this.count[i], this.count[j]] = [this.count[j], this.count[i]];
  }

  push(p: number, c: number): void {
    let i = this.pair.length;
    this.pair.push(p);
    this.count.push(c);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.above(i, up)) break;
      this.swap(i, up);
      i = up;
    }
  }

  private pop(): void {
    const last = this.pair.length - 1;
    this.swap(0, last);
    this.pair.pop();
    this.count.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.above(l, m)) m = l;
      if (r < last && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  /**
   * The pair with the highest current count, or -1 when it is below `minCount`. Stored counts are
   * never below the current ones, so an entry whose count is still current is the true maximum.
   */
  popBest(current: number[], minCount: number): number {
    while (this.pair.length > 0) {
      const p = this.pair[0];
      const stored = this.count[0];
      this.pop();
      const now = current[p];
      if (now === stored) {
        if (now < minCount) return -1;
        return p;
      }
      if (now > 0) this.push(p, now);
    }
    return -1;
  }
}

/**
 * A direct encoder for a trained BPE (no transformers.js): applies the lowest-rank merge, all its
 * occurrences left to right, until none applies. Tests use it to check that HF reproduces our
 * segmentation; the bench compares its speed with transformers.js's.
 */
export class BpeEncoder {
  private readonly rank = new Map<number, number>(); // a * K + b → merge rank
  private readonly result: number[] = []; // merge rank → merged id
  private readonly K: number;
  private readonly cache = new Map<string, number[]>();
  private readonly byteIds: number[];

  constructor(bpe: TrainedBpe) {
    const id = new Map(bpe.vocab.map((t, i) => [t, i]));
    this.K = bpe.vocab.length;
    this.byteIds = BYTE_TO_UNICODE.map((ch) => id.get(ch)!);
    bpe.merges.forEach(([a, b], r) => {
      const key = id.get(a)! * this.K + id.get(b)!;
      if (!this.rank.has(key)) this.rank.set(key, r);
      this.result.push(id.get(a + b)!);
    });
  }

  encode(text: string): number[] {
    const out: number[] = [];
    forEachPiece(
      text,
      (piece) => {
        let ids = this.cache.get(piece);
        if (!ids) {
          ids = this.encodeWord(piece);
          if (this.cache.size < 100_000) this.cache.set(piece, ids);
        }
        for (const t of ids) out.push(t);
      },
      (special) => out.push(special),
    );
    return out;
  }

  private encodeWord(piece: string): number[] {
    let ids = Array.from(Buffer.from(piece, 'utf8'), (b) => this.byteIds[b]);
    for (;;) {
      let best = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.rank.get(ids[i] * this.K + ids[i + 1]);
        if (r !== undefined && r < best) best = r;
      }
      if (best === Infinity) return ids;
      const [a, b] = this.pairOfRank(best, ids);
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(this.result[best]);
          i++;
        } else next.push(ids[i]);
      }
      ids = next;
    }
  }

  private pairOfRank(r: number, ids: number[]): [number, number] {
    for (let i = 0; i + 1 < ids.length; i++) if (this.rank.get(ids[i] * this.K + ids[i + 1]) === r) return [ids[i], ids[i + 1]];
    throw new Error('unreachable: rank not found');
  }
}

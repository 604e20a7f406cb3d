// Lexical scoring for retrieval: an identifier-aware tokenizer that counts terms by hash, compact
// per-document term counts, and BM25F with wink-bm25-text-search's formula. wink itself rebuilds its
// whole index for every corpus, O(repo tokens) per task (the first miner, with a wink index per task,
// took 207 s end to end on psf/requests' 6 489 commits; ~9 s now), so scores are computed from cached
// counts here; test/data-retrieve.test.ts checks they equal wink's. Knows nothing about git or files.

const STOP_WORDS = ['the', 'and', 'for', 'this', 'that', 'with', 'from', 'import', 'export', 'const', 'let', 'var',
  'return', 'function', 'def', 'self', 'true', 'false', 'null', 'none', 'undefined', 'new', 'not', 'are', 'was', 'but',
  'use', 'has', 'have', 'into', 'when', 'then', 'else', 'what', 'which', 'will', 'can', 'should', 'its', 'our', 'you'];

// Tokens are counted as 32-bit FNV-1a hashes of their lowercased text, computed while scanning: no
// substring is made per token. Two different terms sharing a hash (~1 pair in a 50 000-term corpus)
// only merge their counts; tokenize() gives the strings themselves for tests and debugging.
const FNV0 = 0x811c9dc5;
const fnv = (h: number, c: number) => Math.imul(h ^ c, 0x01000193);

/** The hash a token (already lowercase) is counted under. */
export function tokenHash(token: string): number {
  let h = FNV0;
  for (let i = 0; i < token.length; i++) h = fnv(h, token.charCodeAt(i));
  return h;
}

const STOP = new Set(STOP_WORDS.map(tokenHash));

type Emit = (hash: number, start: number, end: number) => void;

/**
 * Identifier-aware tokens: words ([A-Za-z][A-Za-z0-9_]*) lowercased, and for compound words also their
 * parts split at underscores and case changes ("parseHTTPHeader" → parsehttpheader, parse, http, header).
 * Words of 2–30 characters (compounds up to 40), stop words left out. Hand-written: the regex version
 * was a third of mining time with retrieval on.
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  scanTokens(text, (_, s, e) => out.push(text.slice(s, e).toLowerCase()));
  return out;
}

/** Token counts (by hash) of a text and its token count, without building the token list. */
export function countTokens(text: string): { tf: Map<number, number>; len: number } {
  const tf = new Map<number, number>();
  let len = 0;
  scanTokens(text, (h) => { tf.set(h, (tf.get(h) ?? 0) + 1); len++; });
  return { tf, len };
}

export function tokenHashes(text: string): number[] {
  const out: number[] = [];
  scanTokens(text, (h) => out.push(h));
  return out;
}

const isUpper = (c: number) => c >= 65 && c <= 90;
const isLowerOrDigit = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);

function scanTokens(text: string, emit: Emit): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) { i++; continue; }
    const start = i;
    let simple = c >= 97; // only lowercase letters and digits: nothing to split
    let h = fnv(FNV0, c | 32);
    for (i++; i < n; i++) {
      const d = text.charCodeAt(i);
      if ((d >= 97 && d <= 122) || (d >= 48 && d <= 57)) { h = fnv(h, d); continue; }
      if (d >= 65 && d <= 90) { simple = false; h = fnv(h, d | 32); continue; }
      if (d === 95) { simple = false; h = fnv(h, d); continue; }
      break;
    }
    if (simple) {
      if (i - start >= 2 && i - start <= 30 && !STOP.has(h)) emit(h, start, i);
    } else wordParts(text, start, i, h, emit);
  }
}

function wordParts(text: string, start: number, end: number, whole: number, emit: Emit): void {
  const bounds: number[] = [];
  let from = start;
  for (let k = start; k <= end; k++) {
    const c = k < end ? text.charCodeAt(k) : 95;
    if (c === 95) { if (k > from) bounds.push(from, k); from = k + 1; continue; }
    if (k > from && isUpper(c)) {
      const p = text.charCodeAt(k - 1);
      const next = k + 1 < end ? text.charCodeAt(k + 1) : 0;
      if (isLowerOrDigit(p) || (isUpper(p) && next >= 97 && next <= 122)) { bounds.push(from, k); from = k; }
    }
  }
  if (bounds.length > 2 && end - start <= 40 && !STOP.has(whole)) emit(whole, start, end);
  for (let b = 0; b < bounds.length; b += 2) {
    const [s, e] = [bounds[b], bounds[b + 1]];
    if (e - s < 2 || e - s > 30) continue;
    let h = FNV0;
    for (let k = s; k < e; k++) h = fnv(h, text.charCodeAt(k) | (isUpper(text.charCodeAt(k)) ? 32 : 0));
    if (!STOP.has(h)) emit(h, s, e);
  }
}

/** Term counts as sorted hashes and counts (compact: ~8 bytes a distinct term), looked up by binary search. */
export class Counts {
  constructor(readonly terms: Int32Array, readonly counts: Int32Array, readonly len: number) {}

  static of(text: string): Counts {
    const { tf, len } = countTokens(text);
    const terms = Int32Array.from(tf.keys()).sort();
    const counts = new Int32Array(terms.length);
    terms.forEach((h, i) => { counts[i] = tf.get(h)!; });
    return new Counts(terms, counts, len);
  }

  get(h: number): number | undefined {
    const t = this.terms;
    let lo = 0;
    let hi = t.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid] === h) return this.counts[mid];
      if (t[mid] < h) lo = mid + 1; else hi = mid - 1;
    }
    return undefined;
  }
}

export function termCounts<K>(tokens: K[]): Map<K, number> {
  const tf = new Map<K, number>();
  for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}

export interface Bm25Doc<K> { id: string; fields: { weight: number; tf: { get(k: K): number | undefined }; len: number }[] }

/**
 * BM25F scores as wink-bm25-text-search computes them: a field's counts and length are multiplied by its
 * weight; idf = ln((N − n + 0.5) / (n + 0.5) + k); each (doc, term) score is rounded to 4 decimals; the
 * query's tokens are summed with repetition. Only documents with a score are returned.
 */
export function bm25Scores<K>(docs: Bm25Doc<K>[], query: K[], k1 = 1.2, b = 0.75, k = 1): Map<string, number> {
  const scores = new Map<string, number>();
  const qcount = termCounts(query);
  const uniq = [...qcount.keys()];
  const N = docs.length;
  if (N === 0 || uniq.length === 0) return scores;
  const lens = new Float64Array(N);
  const freq = new Float64Array(N * uniq.length); // [doc, term]: Σ field weight × count
  let total = 0;
  for (let i = 0; i < N; i++) {
    for (const f of docs[i].fields) {
      lens[i] += f.len * Math.abs(f.weight);
      for (let j = 0; j < uniq.length; j++) {
        const c = f.tf.get(uniq[j]);
        if (c) freq[i * uniq.length + j] += c * f.weight;
      }
    }
    total += lens[i];
  }
  const avg = total / N;
  const idf = uniq.map((_, j) => {
    let n = 0;
    for (let i = 0; i < N; i++) if (freq[i * uniq.length + j] !== 0) n++;
    return Math.log((N - n + 0.5) / (n + 0.5) + k);
  });
  for (let i = 0; i < N; i++) {
    const norm = 1 - b + b * (lens[i] / avg);
    let sum = 0;
    let hit = false;
    for (let j = 0; j < uniq.length; j++) {
      const f = freq[i * uniq.length + j];
      if (f === 0) continue;
      hit = true;
      sum += qcount.get(uniq[j])! * Math.sign(f) * round4(Math.abs((f * (k1 + 1)) / (k1 * norm + f)) * idf[j]);
    }
    if (hit) scores.set(docs[i].id, sum);
  }
  return scores;
}

/** Number(x.toFixed(4)) (wink's rounding) without toFixed's cost, which it only pays near a tie. */
function round4(x: number): number {
  const y = x * 1e4;
  const frac = y - Math.floor(y);
  return Math.abs(frac - 0.5) < 1e-6 ? Number(x.toFixed(4)) : Math.round(y) / 1e4;
}


// Lexical scoring for retrieval: an identifier-aware tokenizer that counts terms by hash, compact
// per-document term counts (edited, not recounted, from one version of a file to the next), and BM25F
// with wink-bm25-text-search's formula. wink itself rebuilds its whole index for every corpus, O(repo
// tokens) per task (the first miner, with a wink index per task, took 207 s end to end on psf/requests'
// 6 489 commits; ~3 s now), so scores are computed from cached counts here; test/data-retrieve.test.ts
// checks they equal wink's. Knows nothing about git or files.

import { changedRanges } from './linediff.ts';

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
// A 4096-bit filter in front of STOP: most tokens are ruled out by one bit test, not a Set lookup.
const STOP_BITS = new Int32Array(128);
for (const h of STOP) STOP_BITS[(h >>> 5) & 127] |= 1 << (h & 31);
const isStop = (h: number) => (STOP_BITS[(h >>> 5) & 127] & (1 << (h & 31))) !== 0 && STOP.has(h);

/**
 * Identifier-aware tokens: words ([A-Za-z][A-Za-z0-9_]*) lowercased, and for compound words also their
 * parts split at underscores and case changes ("parseHTTPHeader" → parsehttpheader, parse, http, header).
 * Words of 2–30 characters (compounds up to 40), stop words left out. Hand-written: the regex version
 * was a third of mining time with retrieval on.
 */
export function tokenize(text: string): string[] {
  const n = scanTokens(text);
  const out: string[] = [];
  for (let t = 0; t < n; t++) out.push(text.slice(scan.start[t], scan.end[t]).toLowerCase());
  return out;
}

/** Token counts (by hash) of a text and its token count, without building the token list. */
export function countTokens(text: string): { tf: Map<number, number>; len: number } {
  const c = Counts.of(text);
  return { tf: new Map(c.entries()), len: c.len };
}

export function tokenHashes(text: string): number[] {
  return Array.from(scan.hash.subarray(0, scanTokens(text)));
}

const isUpper = (c: number) => c >= 65 && c <= 90;
const isLowerOrDigit = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);

/**
 * The scanner's output, reused by every call (mining tokenizes ~70 MB of blobs for a 6 500-commit repo:
 * one token list per blob was a fifth of the time, in allocation and GC): hash, start and end of each
 * token, valid up to the count scanTokens returns and until the next call.
 */
const scan = { n: 0, hash: new Int32Array(1 << 16), start: new Int32Array(1 << 16), end: new Int32Array(1 << 16) };

function push(h: number, s: number, e: number): void {
  const n = scan.n++;
  if (n === scan.hash.length) {
    scan.hash = grow(scan.hash); scan.start = grow(scan.start); scan.end = grow(scan.end);
  }
  scan.hash[n] = h; scan.start[n] = s; scan.end[n] = e;
}

/** A copy of `a`, `length` long (twice as long by default), zeros after. */
export function grow<T extends Int32Array | Float64Array>(a: T, length = a.length * 2): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** Characters tokenized so far (all calls): how mining tells edits from whole files. */
export const scanned = { chars: 0 };

/**
 * Tokenizes text[from, to) into `scan` (after the tokens already there when `append`); returns the token
 * count. `from` and `to` must not cut a word (mining passes line starts and line ends).
 */
function scanTokens(text: string, from = 0, to = text.length, append = false): number {
  const len = to;
  scanned.chars += to - from;
  if (!append) scan.n = 0;
  let i = from;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (!(c >= 97 && c <= 122)) {
      if (c >= 65 && c <= 90) { i = compound(text, i); continue; }
      i++;
      continue;
    }
    // Lowercase letters and digits only: one token, nothing to split. Otherwise start over as a compound.
    const start = i;
    let h = fnv(FNV0, c);
    for (i++; i < len; i++) {
      const d = text.charCodeAt(i);
      if ((d >= 97 && d <= 122) || (d >= 48 && d <= 57)) { h = fnv(h, d); continue; }
      break;
    }
    const d = text.charCodeAt(i);
    if ((d >= 65 && d <= 90) || d === 95) { i = compound(text, start); continue; }
    if (i - start >= 2 && i - start <= 30 && !isStop(h)) push(h, start, i);
  }
  return scan.n;
}

/** The parts of the compound word being scanned: `count` of them, the first `kept` of which are tokens. */
const parts = { count: 0, kept: 0, hash: new Int32Array(64), start: new Int32Array(64), end: new Int32Array(64) };

/**
 * A word with capitals or underscores, from `start`: the whole word (when it has two or more parts), then
 * its parts split at underscores and case changes ("HTTPHeader" → http, header), in one pass.
 * Returns where the word ends.
 */
function compound(text: string, start: number): number {
  let h = FNV0;
  let ph = FNV0;
  let from = start;
  parts.count = 0;
  parts.kept = 0;
  let k = start;
  for (; k < text.length; k++) {
    const d = text.charCodeAt(k);
    if ((d >= 97 && d <= 122) || (d >= 48 && d <= 57)) { h = fnv(h, d); ph = fnv(ph, d); continue; }
    if (d >= 65 && d <= 90) {
      if (k > from) {
        const p = text.charCodeAt(k - 1);
        const next = text.charCodeAt(k + 1); // NaN past the end, a non-word character past the word
        if (isLowerOrDigit(p) || (isUpper(p) && next >= 97 && next <= 122)) { part(from, k, ph); from = k; ph = FNV0; }
      }
      h = fnv(h, d | 32); ph = fnv(ph, d | 32);
      continue;
    }
    if (d === 95) {
      if (k > from) part(from, k, ph);
      from = k + 1; ph = FNV0; h = fnv(h, d);
      continue;
    }
    break;
  }
  if (k > from) part(from, k, ph);
  if (parts.count >= 2 && k - start <= 40 && !isStop(h)) push(h, start, k);
  for (let j = 0; j < parts.kept; j++) push(parts.hash[j], parts.start[j], parts.end[j]);
  return k;
}

/** Notes a part of the compound being scanned; keeps it when it is a token (2–30 characters, no stop word). */
function part(s: number, e: number, hash: number): void {
  parts.count++;
  if (e - s < 2 || e - s > 30 || isStop(hash)) return;
  const j = parts.kept++;
  if (j === parts.hash.length) {
    parts.hash = grow(parts.hash); parts.start = grow(parts.start); parts.end = grow(parts.end);
  }
  parts.hash[j] = hash; parts.start[j] = s; parts.end[j] = e;
}

/** Scratch counter for Counts.of: open addressing, hash → count, count 0 = empty slot. */
let scratch = { keys: new Int32Array(1 << 12), counts: new Int32Array(1 << 12) };

const slot = (h: number, mask: number) => (h ^ (h >>> 15)) & mask;

/**
 * Term counts of one text as an open-addressing table, hash and count side by side in one Int32Array
 * ([h0, c0, h1, c1, …]; count 0 = empty slot, −1 = a term gone): a lookup touches one cache line. Slots in
 * use stay at most half the table. 8–16 bytes a distinct term. Counts made by `edit` share their base's
 * table and keep only the terms whose counts differ from it (`over`, the same layout): copying every
 * version's whole table was most of the cost of counting a file's next version (pallets/flask: 159 MB in
 * 5 333 copies); once the differences pass an eighth of the terms, the table is made afresh.
 */
export class Counts {
  private constructor(private readonly table: Int32Array, readonly distinct: number, readonly len: number,
    /** A 4096-bit filter of the terms (bit h mod 4096; a superset after edits): a term it lacks is ruled
     *  out by one bit test, and FilterRows finds the docs that may hold a term without asking each. */
    readonly bits: Int32Array,
    /** The terms whose counts differ from `table`'s, with their counts here (−1: none), or null. */
    private readonly over: Int32Array | null = null,
    private readonly overTerms = 0) {}

  static of(text: string): Counts {
    const n = scanTokens(text);
    // Counted in a scratch table sized for the tokens (the distinct count is not known yet), then moved
    // into one sized for the distinct terms; the scratch is cleared behind.
    let size = 64;
    while (size < 2 * n) size *= 2;
    if (scratch.keys.length < size) scratch = { keys: new Int32Array(size), counts: new Int32Array(size) };
    const { keys, counts } = scratch;
    const hash = scan.hash;
    const mask = size - 1;
    let distinct = 0;
    for (let t = 0; t < n; t++) {
      const h = hash[t];
      let j = slot(h, mask);
      while (counts[j] !== 0 && keys[j] !== h) j = (j + 1) & mask;
      if (counts[j] === 0) { keys[j] = h; distinct++; }
      counts[j]++;
    }
    const table = new Int32Array(2 * capacityFor(distinct));
    for (let j = 0; j < size; j++) {
      if (counts[j] === 0) continue;
      place(table, keys[j], counts[j]);
      counts[j] = 0;
    }
    const bits = new Int32Array(BITS);
    for (let j = 0; j < table.length; j += 2) if (table[j + 1] !== 0) setBit(bits, table[j]);
    return new Counts(table, distinct, n, bits);
  }

  /**
   * The counts of `b`, given that these are the counts of `a`: only the lines that differ are tokenized
   * (no token crosses a line end, so counts add up line by line; linediff.ts finds the regions by string
   * compares; `r`, when the caller has them). Mining counts every version of every indexed file, and
   * versions mostly differ by a few lines. Null when counting `b` whole is as cheap, or when the edit does
   * not fit these counts (`a` was not their text).
   */
  edit(a: string, b: string, r = changedRanges(a, b)): Counts | null {
    let chars = 0;
    for (let k = 0; k < r.length; k += 4) chars += r[k + 1] - r[k] + r[k + 3] - r[k + 2];
    if (chars >= b.length) return null;
    scan.n = 0;
    for (let k = 0; k < r.length; k += 4) scanTokens(a, r[k], r[k + 1], true);
    const nr = scan.n;
    for (let k = 0; k < r.length; k += 4) scanTokens(b, r[k + 2], r[k + 3], true);
    return this.apply(nr, scan.n);
  }

  /** These counts less the terms scan.hash[0, nr) and plus scan.hash[nr, n). */
  private apply(nr: number, n: number): Counts | null {
    // Written into: the differences so far, with room for these tokens (each adds at most one term), or,
    // past the bound, a table of the counts so far with room for the added terms, which then needs none.
    const fresh = this.overTerms + n > Math.max(64, this.distinct >> 3);
    const base = fresh ? this.flat(n - nr) : this.table;
    const over = fresh ? base : new Int32Array(2 * capacityFor(this.overTerms + n));
    if (!fresh && this.over) for (let j = 0; j < this.over.length; j += 2) if (this.over[j + 1] !== 0) place(over, this.over[j], this.over[j + 1]);
    let overTerms = this.overTerms;
    /** Term h's slot in `over`, entered with its count so far (−1: none) when it had none. */
    const slotOf = (h: number): number => {
      const j = find(over, h);
      if (over[2 * j + 1] === 0) { over[2 * j] = h; over[2 * j + 1] = (fresh ? 0 : valueAt(base, h)) || -1; overTerms++; }
      return j;
    };
    let distinct = this.distinct;
    const hash = scan.hash;
    for (let t = nr; t < n; t++) {
      const j = slotOf(hash[t]);
      const c = over[2 * j + 1];
      if (c < 0) { over[2 * j + 1] = 1; distinct++; } else over[2 * j + 1] = c + 1;
    }
    for (let t = 0; t < nr; t++) {
      const j = slotOf(hash[t]);
      const c = over[2 * j + 1];
      if (c < 0) return null;
      if (c === 1) { over[2 * j + 1] = -1; distinct--; } else over[2 * j + 1] = c - 1;
    }
    const bits = this.bits.slice(); // removed terms keep their bits: a superset only costs a lookup
    for (let t = nr; t < n; t++) setBit(bits, hash[t]);
    return new Counts(base, distinct, this.len + n - 2 * nr, bits, fresh ? null : over, fresh ? 0 : overTerms);
  }

  /** How many times the term occurs (0 when it does not). */
  count(h: number): number {
    if ((this.bits[(h >>> 5) & (BITS - 1)] & (1 << (h & 31))) === 0) return 0;
    if (this.over !== null) {
      const c = this.over[2 * find(this.over, h) + 1];
      if (c !== 0) return c > 0 ? c : 0;
    }
    return valueAt(this.table, h);
  }

  /** [hash, count] of every distinct term. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    this.each(pushPair, out);
    return out;
  }

  /** A table of these counts with room for `more` terms. */
  private flat(more: number): Int32Array {
    const t = new Int32Array(2 * capacityFor(this.distinct + more));
    this.each(place, t);
    return t;
  }

  /**
   * Calls f(to, term, count) for each distinct term: the table's (as the differences have them), then the
   * terms only the differences have. `f` is a module function, not a closure made per call: each closure is
   * a new call target, and V8 threw away and recompiled its optimized code 11 times on psf/requests.
   */
  private each<T>(f: (to: T, h: number, c: number) => void, to: T): void {
    const { table, over } = this;
    for (let j = 0; j < table.length; j += 2) {
      if (table[j + 1] <= 0) continue;
      const c = over ? over[2 * find(over, table[j]) + 1] : 0;
      if (c === 0) f(to, table[j], table[j + 1]); else if (c > 0) f(to, table[j], c);
    }
    if (over) for (let j = 0; j < over.length; j += 2) if (over[j + 1] > 0 && valueAt(table, over[j]) === 0) f(to, over[j], over[j + 1]);
  }
}

/** The count of term h in a table (0 when absent or gone). */
function valueAt(table: Int32Array, h: number): number {
  const c = table[2 * find(table, h) + 1];
  return c > 0 ? c : 0;
}

const BITS = 128; // Int32s in a Counts filter: 4096 bits
export const FILTER_INTS = BITS;

function setBit(bits: Int32Array, h: number): void {
  bits[(h >>> 5) & (BITS - 1)] |= 1 << (h & 31);
}

/** Slots for `n` distinct terms: a power of two, at least 2n. */
function capacityFor(n: number): number {
  let cap = 4;
  while (cap < 2 * n) cap *= 2;
  return cap;
}

/** The slot of term h in a table: where it is (live or deleted), else the empty slot where it would go. */
function find(table: Int32Array, h: number): number {
  const mask = (table.length >> 1) - 1;
  let j = slot(h, mask);
  while (table[2 * j + 1] !== 0 && table[2 * j] !== h) j = (j + 1) & mask;
  return j;
}

/** Appends [term, count] to a list (entries()). */
const pushPair = (out: [number, number][], h: number, c: number) => { out.push([h, c]); };

/** Puts a term known to be absent into a table with room. */
function place(table: Int32Array, h: number, c: number): void {
  const mask = (table.length >> 1) - 1;
  let i = slot(h, mask);
  while (table[2 * i + 1] !== 0) i = (i + 1) & mask;
  table[2 * i] = h; table[2 * i + 1] = c;
}

export function termCounts<K>(tokens: K[]): Map<K, number> {
  const tf = new Map<K, number>();
  for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}

/** A document as BM25F sees it: the term counts of its path (weight 2) and of its content (weight 1). */
export interface Bm25Doc { path: Counts; content: Counts }

const PATH_WEIGHT = 2;

/**
 * BM25F scores, aligned with `docs` (0 = no query term), as wink-bm25-text-search computes them with field
 * weights path 2, content 1: a field's counts and length are multiplied by its weight; idf = ln((N − n +
 * 0.5) / (n + 0.5) + k); each (doc, term) score is rounded to 4 decimals; the query's tokens are summed with
 * repetition. The retriever computes the same from postings (postings.ts); this is the plain version.
 */
export function bm25Scores(docs: readonly Bm25Doc[], query: readonly number[]): Float64Array {
  const N = docs.length;
  const scores = new Float64Array(N);
  const { terms, reps } = queryTerms(query);
  const Q = terms.length;
  if (N === 0 || Q === 0) return scores;
  const freq = new Float64Array(N * Q); // [doc, term]: Σ field weight × count
  const df = new Int32Array(Q);
  let total = 0;
  for (let i = 0; i < N; i++) {
    total += docLength(docs[i]);
    for (let j = 0; j < Q; j++) {
      const f = termFrequency(docs[i], terms[j]);
      if (f !== 0) { freq[i * Q + j] = f; df[j]++; }
    }
  }
  const idf = bm25Idf(N, df);
  for (let i = 0; i < N; i++) scores[i] = bm25Score(freq, i * Q, reps, idf, docLength(docs[i]), total / N);
  return scores;
}

/** The distinct terms of a query, in order of first use, and how many times each occurs. */
export function queryTerms(query: readonly number[]): { terms: number[]; reps: number[] } {
  const terms: number[] = [];
  const reps: number[] = [];
  for (const h of query) {
    const j = terms.indexOf(h);
    if (j < 0) { terms.push(h); reps.push(1); } else reps[j]++;
  }
  return { terms, reps };
}

/** A doc's BM25F length: its fields' token counts times their weights. */
export const docLength = (d: Bm25Doc) => PATH_WEIGHT * d.path.len + d.content.len;

/** A term's BM25F frequency in a doc: its fields' counts times their weights. */
export const termFrequency = (d: Bm25Doc, h: number) => PATH_WEIGHT * d.path.count(h) + d.content.count(h);

const K1 = 1.2;
const B = 0.75;
const K = 1;

/** idf of each query term from its document frequency in a corpus of N docs. */
export function bm25Idf(N: number, df: Int32Array): Float64Array {
  const idf = new Float64Array(df.length);
  for (let j = 0; j < df.length; j++) idf[j] = Math.log((N - df[j] + 0.5) / (df[j] + 0.5) + K);
  return idf;
}

/** One doc's score from its term frequencies freq[off, off + Q), its length and the corpus's average length. */
export function bm25Score(freq: Float64Array, off: number, reps: readonly number[], idf: Float64Array, len: number, avg: number): number {
  const norm = 1 - B + B * (len / avg);
  let sum = 0;
  for (let j = 0; j < reps.length; j++) {
    const f = freq[off + j];
    if (f !== 0) sum += reps[j] * round4(((f * (K1 + 1)) / (K1 * norm + f)) * idf[j]);
  }
  return sum;
}

/** Number(x.toFixed(4)) (wink's rounding) without toFixed's cost, which it only pays near a tie. */
function round4(x: number): number {
  const y = x * 1e4;
  const frac = y - Math.floor(y);
  return Math.abs(frac - 0.5) < 1e-6 ? Number(x.toFixed(4)) : Math.round(y) / 1e4;
}


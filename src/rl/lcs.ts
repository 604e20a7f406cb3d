// find_longest_match for junk-free sequences (difflib with autojunk=False and no isjunk, as the
// reward's character-level ratio uses it), giving exactly CPython's block while visiting far fewer
// pairs than its row-by-row DP. difflib.ts owns the recursion and everything else; this file only
// answers "the longest block in a[alo:ahi] × b[blo:bhi]".
//
// Why it is exact: CPython's DP reports the first (row-major) pair (i, j) at which a run of equal
// elements reaches the maximal length K, i.e. of all blocks of length K the one that starts earliest
// in a, then earliest in b (a block of length K cannot be the tail of a longer one). So we scan start
// pairs row by row, j ascending, and only look at pairs whose next best+1 elements match: candidates
// come from a hash index of b's windows of length 2^level ≤ best+1 (built once per level for all of
// b, shared by every call of the recursion), then are checked by hash and element by element (a hash
// collision costs time, never a wrong answer). Each hit is extended to its full length, becomes the
// new best, and the row scan goes on after it with the longer window.
//
// Buffers are pooled at module level: only the most recently constructed CharMatcher may be used.

const HASH_BASE = 0x01000193;

/** b's windows of one length 2^level, bucketed by hash: bucket h holds pos[start[h] .. start[h+1]). */
interface Level {
  mask: number;
  start: Int32Array;
  pos: Int32Array;
  /** The CharMatcher generation that built it; older ones are stale. */
  owner: number;
}

/** Grow-only scratch (the scorer runs millions of times; fresh typed arrays would feed the GC). */
const pool: Record<'occStart' | 'occPos' | 'ha' | 'hb' | 'hs', Int32Array> = { occStart: new Int32Array(64), occPos: new Int32Array(64), ha: new Int32Array(64), hb: new Int32Array(64), hs: new Int32Array(64) };
let pow: Int32Array = new Int32Array([1]);
const levelPool: Level[] = [];
let generation = 0;

function grow(buf: Int32Array, n: number): Int32Array {
  return buf.length >= n ? buf : new Int32Array(Math.max(n, 2 * buf.length));
}

export class CharMatcher {
  private readonly occStart: Int32Array;
  private readonly occPos: Int32Array;
  /** Polynomial prefix hashes mod 2^32: h[i] covers x[0..i). */
  private readonly ha: Int32Array;
  private readonly hb: Int32Array;
  private readonly gen = ++generation;

  /** a, b: symbol ids; b's are 0..nsym-1, a's symbols absent from b are −1. */
  constructor(private readonly a: Int32Array, private readonly b: Int32Array, nsym: number) {
    const start = (pool.occStart = grow(pool.occStart, nsym + 1));
    start.fill(0, 0, nsym + 1);
    for (let j = 0; j < b.length; j++) start[b[j] + 1]++;
    for (let s = 0; s < nsym; s++) start[s + 1] += start[s];
    const pos = (pool.occPos = grow(pool.occPos, b.length));
    for (let j = 0; j < b.length; j++) pos[start[b[j]]++] = j;
    for (let s = nsym; s > 0; s--) start[s] = start[s - 1]; // the fill pass moved each start to its end
    start[0] = 0;
    this.occStart = start;
    this.occPos = pos;
    this.ha = prefixHash(a, (pool.ha = grow(pool.ha, a.length + 1)));
    this.hb = prefixHash(b, (pool.hb = grow(pool.hb, b.length + 1)));
    const need = Math.max(a.length, b.length) + 1;
    if (pow.length < need) {
      const pw = new Int32Array(Math.max(need, 2 * pow.length));
      pw[0] = 1;
      for (let t = 1; t < pw.length; t++) pw[t] = Math.imul(pw[t - 1], HASH_BASE);
      pow = pw;
    }
  }

  /** Writes CPython's find_longest_match(alo, ahi, blo, bhi) as [i, j, size] into `out`. */
  longest(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
    const { a, b, occPos, occStart } = this;
    let best = 0;
    let besti = alo;
    let bestj = blo;
    // Until the first hit every pair of equal elements is a candidate: the first row holding an
    // element of b[blo:bhi] decides the first best; its longest run (earliest j on ties) wins the row.
    let i = alo;
    for (; i < ahi && best === 0; i++) {
      const s = a[i];
      if (s < 0) continue;
      const end = occStart[s + 1];
      for (let p = lowerBound(occPos, occStart[s], end, blo); p < end; p++) {
        const j = occPos[p];
        if (j >= bhi) break;
        if (j + best >= bhi || i + best >= ahi || a[i + best] !== b[j + best]) continue;
        const n = this.run(i, j, ahi, bhi);
        if (n > best) {
          best = n;
          besti = i;
          bestj = j;
        }
      }
    }
    // Then only pairs whose windows of length best + 1 match can beat it.
    for (; best > 0 && i + best < ahi; i++) {
      for (let from = blo; i + best < ahi; ) {
        const j = this.firstWindow(i, best + 1, from, bhi);
        if (j < 0) break;
        best = this.run(i, j, ahi, bhi);
        besti = i;
        bestj = j;
        from = j + 1;
      }
    }
    out[0] = besti;
    out[1] = bestj;
    out[2] = best;
  }

  /**
   * The first j in [from, bhi − w] with b[j:j+w] == a[i:i+w], or −1. Candidates come from the index
   * of b's windows of length 2^level ≤ w (a prefix of the window), checked at the window's far end,
   * then by hash and element by element.
   */
  private firstWindow(i: number, w: number, from: number, bhi: number): number {
    const level = 31 - Math.clz32(w);
    const ix = this.level(level);
    const g = 1 << level;
    const hg = this.hashA(i, g);
    const end = ix.start[(hg & ix.mask) + 1];
    const jmax = bhi - w;
    const { a, b } = this;
    const last = a[i + w - 1];
    const hw = this.hashA(i, w);
    for (let p = lowerBound(ix.pos, ix.start[hg & ix.mask], end, from); p < end; p++) {
      const j = ix.pos[p];
      if (j > jmax) break;
      if (b[j + w - 1] === last && this.hashB(j, w) === hw && this.equal(i, j, w)) return j;
    }
    return -1;
  }

  /** Buckets all windows b[j:j+2^level] by hash, j ascending in each bucket. */
  private level(level: number): Level {
    const pooled = levelPool[level];
    if (pooled && pooled.owner === this.gen) return pooled;
    const w = 1 << level;
    const n = Math.max(0, this.b.length - w + 1);
    let size = 16;
    while (size < 2 * n) size *= 2;
    const mask = size - 1;
    const start = grow(pooled?.start ?? new Int32Array(0), size + 1);
    start.fill(0, 0, size + 1);
    const hs = (pool.hs = grow(pool.hs, n));
    for (let j = 0; j < n; j++) start[((hs[j] = this.hashB(j, w)) & mask) + 1]++;
    for (let h = 0; h < size; h++) start[h + 1] += start[h];
    const pos = grow(pooled?.pos ?? new Int32Array(0), n);
    for (let j = 0; j < n; j++) pos[start[hs[j] & mask]++] = j;
    for (let h = size; h > 0; h--) start[h] = start[h - 1]; // the fill pass moved each start to its end
    start[0] = 0;
    return (levelPool[level] = { mask, start, pos, owner: this.gen });
  }

  /** Length of the run of equal elements from (i, j), within the ranges. */
  private run(i: number, j: number, ahi: number, bhi: number): number {
    const { a, b } = this;
    let n = 0;
    while (i + n < ahi && j + n < bhi && a[i + n] === b[j + n]) n++;
    return n;
  }

  private equal(i: number, j: number, w: number): boolean {
    const { a, b } = this;
    for (let t = w - 1; t >= 0; t--) if (a[i + t] !== b[j + t]) return false;
    return true;
  }

  private hashA(i: number, w: number): number {
    return (this.ha[i + w] - Math.imul(this.ha[i], pow[w])) | 0;
  }

  private hashB(j: number, w: number): number {
    return (this.hb[j + w] - Math.imul(this.hb[j], pow[w])) | 0;
  }
}

function prefixHash(x: Int32Array, h: Int32Array): Int32Array {
  h[0] = 0;
  for (let t = 0; t < x.length; t++) h[t + 1] = (Math.imul(h[t], HASH_BASE) + x[t] + 2) | 0;
  return h;
}

/** First index p in [lo, hi) with pos[p] ≥ x (pos ascending). */
function lowerBound(pos: Int32Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pos[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Where the terms are, for BM25 over a changing set of docs held in numbered slots: the docs' Counts
// filters turned sideways (FilterRows) and per-term postings kept up to date as docs come and go
// (Postings). Scores themselves are bm25.ts's; which docs are in a task's corpus is retrieve.ts's.

import { FILTER_INTS, grow, termFrequency, type Bm25Doc } from './bm25.ts';

/**
 * The Counts filters of a set of docs turned sideways: for each of the 4096 filter bits, a bitset of the
 * slots whose filter (path's or content's) has it. The docs that may hold a term are then one row, read
 * in a few words, instead of a filter test per doc: with thousands of files, BM25 per task cost the
 * scan of every filter (a cache miss each) more than all else. A slot keeps its filter until set anew,
 * and only the bits that differ are written: the next version of a file, in the slot its last one left,
 * costs its change (a slot left empty keeps stale bits: callers find no doc there).
 */
export class FilterRows {
  private words = 1; // Int32s per row
  private rows = new Int32Array(4096);
  private filters = new Int32Array(32 * FILTER_INTS);

  /** Sets slot s's filter to the union of two filters. */
  set(s: number, a: Int32Array, b: Int32Array): void {
    if (s >= this.words * 32) this.grow(s);
    const w = s >>> 5;
    const bit = 1 << (s & 31);
    const f = this.filters;
    for (let k = 0; k < FILTER_INTS; k++) {
      const u = a[k] | b[k];
      let d = u ^ f[s * FILTER_INTS + k];
      if (d === 0) continue;
      f[s * FILTER_INTS + k] = u;
      while (d !== 0) {
        const low = d & -d;
        const r = ((k << 5) | (31 - Math.clz32(low))) * this.words + w;
        if (u & low) this.rows[r] |= bit; else this.rows[r] &= ~bit;
        d ^= low;
      }
    }
  }

  /** The slots whose filters have term h's bit, into out (returns how many). */
  slots(h: number, out: number[]): number {
    let n = 0;
    const base = (h & 4095) * this.words;
    for (let w = 0; w < this.words; w++) {
      let x = this.rows[base + w];
      while (x !== 0) {
        const low = x & -x;
        out[n++] = (w << 5) | (31 - Math.clz32(low));
        x ^= low;
      }
    }
    return n;
  }

  /** How many slots' filters have term h's bit: the docs a fresh posting list probes. */
  count(h: number): number {
    let n = 0;
    const base = (h & 4095) * this.words;
    for (let w = 0; w < this.words; w++) {
      let x = this.rows[base + w];
      x -= (x >>> 1) & 0x55555555; // popcount
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      n += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
    }
    return n;
  }

  private grow(s: number): void {
    let words = this.words;
    while (s >= words * 32) words *= 2;
    const rows = new Int32Array(4096 * words);
    for (let r = 0; r < 4096; r++) rows.set(this.rows.subarray(r * this.words, (r + 1) * this.words), r * words);
    const filters = grow(this.filters, 32 * words * FILTER_INTS);
    this.rows = rows;
    this.filters = filters;
    this.words = words;
  }
}

/**
 * Per-term postings of the docs in FilterRows' slots: (slot, BM25F frequency, slot version) triples for
 * each term asked for, kept across queries. A slot's version goes up when its doc comes or goes (a log of
 * the changed slots is kept). A list is brought up to date by dropping the entries whose version is no
 * longer their slot's and probing the slots changed since it was last asked: while fewer slots changed
 * than a list made afresh would probe (the slots whose filters have the term's bit), else it is made
 * afresh. Past `maxHeld` numbers held, the least recently asked lists are dropped down to half. Where
 * every doc holds a term, this turns a table probe per doc (a cache miss each) into a sequential read.
 */
export class Postings {
  private readonly log = new Int32Array(LOG);
  private seq = 0;
  private ver = new Int32Array(1024);
  private readonly lists = new Map<number, PostingList>();
  private held = 0;
  private clock = 0;
  private readonly slotList: number[] = [];
  private readonly changedSlots = new Set<number>();

  constructor(private readonly rows: FilterRows, private readonly docAt: (slot: number) => Bm25Doc | undefined, private readonly maxHeld = 6_000_000) {}

  /** Notes that the doc in slot s changed (came or went). */
  changed(s: number): void {
    if (s >= this.ver.length) this.ver = grow(this.ver, Math.max(2 * this.ver.length, s + 1));
    this.ver[s]++;
    this.log[this.seq++ % LOG] = s;
  }

  /** The triples [slot, frequency, version, …], up to n, of the docs holding term h now, a slot once; do not keep. */
  get(h: number): PostingList {
    let list = this.lists.get(h);
    const since = list ? this.seq - list.seq : 0;
    if (list && (since === 0 || (since <= LOG && since <= this.rows.count(h)))) {
      if (since) this.update(h, list);
    } else {
      if (list) this.held -= list.t.length;
      list = this.make(h);
      this.lists.set(h, list);
      this.held += list.t.length;
      if (this.held > this.maxHeld) this.evict(list);
    }
    list.used = ++this.clock;
    return list;
  }

  /** Drops the least recently asked lists (never `keep`) until half of maxHeld is held. */
  private evict(keep: PostingList): void {
    for (const [t, l] of [...this.lists].sort((a, b) => a[1].used - b[1].used)) {
      if (this.held <= this.maxHeld / 2) break;
      if (l === keep) continue;
      this.lists.delete(t);
      this.held -= l.t.length;
    }
  }

  private make(h: number): PostingList {
    const n = this.rows.slots(h, this.slotList);
    const list: PostingList = { t: new Int32Array(Math.max(12, 3 * n)), n: 0, seq: this.seq, used: 0 };
    for (let i = 0; i < n; i++) this.add(list, this.slotList[i], h);
    return list;
  }

  /** Drops the entries of the slots changed since the list was last brought up to date (their versions are not theirs any more), then appends those slots as they are now. */
  private update(h: number, list: PostingList): void {
    const { t, n } = list;
    let kept = 0;
    for (let i = 0; i < n; i += 3) {
      if (t[i + 2] !== this.ver[t[i]]) continue;
      t[kept] = t[i]; t[kept + 1] = t[i + 1]; t[kept + 2] = t[i + 2];
      kept += 3;
    }
    list.n = kept;
    const changed = this.changedSlots;
    changed.clear();
    for (let q = list.seq; q < this.seq; q++) changed.add(this.log[q % LOG]);
    for (const s of changed) this.add(list, s, h);
    list.seq = this.seq;
  }

  private add(list: PostingList, s: number, h: number): void {
    const d = this.docAt(s);
    const f = d ? termFrequency(d, h) : 0;
    if (f === 0) return;
    if (list.n + 3 > list.t.length) { this.held += list.t.length; list.t = grow(list.t); }
    list.t[list.n++] = s; list.t[list.n++] = f; list.t[list.n++] = this.ver[s];
  }
}

interface PostingList { t: Int32Array; n: number; seq: number; used: number }

const LOG = 4096; // changed slots remembered; a list last brought up to date more changes ago is made afresh

// A port of the parts of Python's difflib that the SWE-RL reward uses, equal to CPython 3.11 to the
// bit: SequenceMatcher (find_longest_match ties, get_matching_blocks recursion, the autojunk
// "popular" heuristic), ratio(), get_grouped_opcodes() and unified_diff(), plus str.splitlines().
// Sequences are integer-coded (code points for text, interned ids for lines) and scanned with typed
// arrays; character blocks come from lcs.ts's faster exact search. Nothing here knows about rewards.

import { CharMatcher } from './lcs.ts';

const LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;
const RARE_BREAK = /[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

/**
 * Python's `s.splitlines()`: splits at \n, \r\n, \r, \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029,
 * keeps no terminators and gives no trailing empty line. (Native split('\n') when only \n occurs.)
 */
export function pySplitlines(s: string): string[] {
  if (s === '') return [];
  const parts = s.split(RARE_BREAK.test(s) ? LINE_BREAK : '\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

// ---- scratch space, reused across calls (the scorer is called millions of times in training) ----

let lenBuf = [new Int32Array(1024), new Int32Array(1024)]; // j2len of the previous / current row, at j + 1
let stampBuf = [new Int32Array(1024), new Int32Array(1024)]; // row stamp saying the len entry is live
let gen = 2; // row stamp; 0 never matches (gen - 1 ≥ 1)
/** Code point → dense symbol id (−1 = unseen), 4.4 MB made on first use; entries are reset after each call. */
let cpId: Int32Array | null = null;
/** Pooled code buffers of the two texts (codeText's results are used before the next call). */
let textA = new Int32Array(256);
let textB = new Int32Array(256);

function ensureRows(n: number): void {
  if (lenBuf[0].length >= n + 1 && gen < 0x3fffffff) return;
  const size = Math.max(n + 1, lenBuf[0].length);
  lenBuf = [new Int32Array(size), new Int32Array(size)];
  stampBuf = [new Int32Array(size), new Int32Array(size)];
  gen = 2;
}

/** Python's b2j as compressed rows: positions of symbol s in b are pos[start[s] .. start[s+1]). */
interface Index {
  start: Int32Array;
  pos: Int32Array;
  /** 1 = popular (autojunk): dropped from b2j but still matched when extending a block. */
  popular: Uint8Array;
}

function indexB(b: Int32Array, nsym: number, autojunk: boolean): Index {
  const start = new Int32Array(nsym + 1);
  for (let j = 0; j < b.length; j++) start[b[j] + 1]++;
  for (let s = 0; s < nsym; s++) start[s + 1] += start[s];
  const fill = start.slice(0, nsym);
  const pos = new Int32Array(b.length);
  for (let j = 0; j < b.length; j++) pos[fill[b[j]]++] = j;
  const popular = new Uint8Array(nsym);
  const n = b.length;
  if (autojunk && n >= 200) {
    const ntest = Math.floor(n / 100) + 1;
    for (let s = 0; s < nsym; s++) if (start[s + 1] - start[s] > ntest) popular[s] = 1;
  }
  return { start, pos, popular };
}

/**
 * find_longest_match(alo, ahi, blo, bhi) with no isjunk: the longest block, earliest in a, then
 * earliest in b. a holds −1 for symbols absent from b. Writes [i, j, k] into `out`.
 */
function longestMatch(a: Int32Array, b: Int32Array, ix: Index, alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  const { start, pos, popular } = ix;
  let besti = alo;
  let bestj = blo;
  let bestsize = 0;
  for (let i = alo; i < ahi; i++) {
    const g = gen++;
    const s = a[i];
    if (s < 0 || popular[s]) continue; // empty row: nothing carries over to i + 1
    const cur = g & 1;
    const curLen = lenBuf[cur];
    const curStamp = stampBuf[cur];
    const prevLen = lenBuf[cur ^ 1];
    const prevStamp = stampBuf[cur ^ 1];
    let lo = start[s];
    let hi = start[s + 1];
    // Python skips j < blo one by one; a binary search lands on the same first j.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pos[mid] < blo) lo = mid + 1;
      else hi = mid;
    }
    const end = start[s + 1];
    const pg = g - 1;
    for (let p = lo; p < end; p++) {
      const j = pos[p];
      if (j >= bhi) break;
      const k = (prevStamp[j] === pg ? prevLen[j] : 0) + 1; // j2len[j - 1] lives at index j
      curLen[j + 1] = k;
      curStamp[j + 1] = g;
      if (k > bestsize) {
        besti = i - k + 1;
        bestj = j - k + 1;
        bestsize = k;
      }
    }
  }
  // Extend by popular elements (not in b2j, not junk) on both ends; a no-op without autojunk.
  while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) {
    besti--;
    bestj--;
    bestsize++;
  }
  while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) bestsize++;
  gen++; // the next call must not see this call's last row
  out[0] = besti;
  out[1] = bestj;
  out[2] = bestsize;
}

/**
 * get_matching_blocks() before sorting: the raw blocks found by the recursion, as flat triples.
 * Without autojunk the faster CharMatcher finds each block (the same one); `plainDp` forces the
 * row-by-row DP, kept as the reference the tests compare it with.
 */
function rawBlocks(a: Int32Array, b: Int32Array, nsym: number, autojunk: boolean, plainDp = false): number[] {
  let longest: (alo: number, ahi: number, blo: number, bhi: number, out: Int32Array) => void;
  if (autojunk || plainDp) {
    ensureRows(b.length);
    const ix = indexB(b, nsym, autojunk);
    longest = (alo, ahi, blo, bhi, out) => longestMatch(a, b, ix, alo, ahi, blo, bhi, out);
  } else {
    const cm = new CharMatcher(a, b, nsym);
    longest = (alo, ahi, blo, bhi, out) => cm.longest(alo, ahi, blo, bhi, out);
  }
  const blocks: number[] = [];
  const queue: number[] = [0, a.length, 0, b.length];
  const m = new Int32Array(3);
  while (queue.length) {
    const bhi = queue.pop()!;
    const blo = queue.pop()!;
    const ahi = queue.pop()!;
    const alo = queue.pop()!;
    longest(alo, ahi, blo, bhi, m);
    const i = m[0];
    const j = m[1];
    const k = m[2];
    if (k) {
      blocks.push(i, j, k);
      if (alo < i && blo < j) queue.push(alo, i, blo, j);
      if (i + k < ahi && j + k < bhi) queue.push(i + k, ahi, j + k, bhi);
    }
  }
  return blocks;
}

/** Code points of `s` as symbol ids; b's symbols are 0..n-1, a's symbols missing from b are −1. */
function codeText(a: string, b: string): { ca: Int32Array; cb: Int32Array; nsym: number } {
  const CP_ID = (cpId ??= new Int32Array(0x110000).fill(-1));
  if (textA.length < a.length) textA = new Int32Array(Math.max(a.length, 2 * textA.length));
  if (textB.length < b.length) textB = new Int32Array(Math.max(b.length, 2 * textB.length));
  const cb = textB;
  const touched: number[] = [];
  let nb = 0;
  let nsym = 0;
  for (let u = 0; u < b.length; u++) {
    const cp = b.codePointAt(u)!;
    if (cp > 0xffff) u++;
    let id = CP_ID[cp];
    if (id < 0) {
      id = CP_ID[cp] = nsym++;
      touched.push(cp);
    }
    cb[nb++] = id;
  }
  const ca = textA;
  let na = 0;
  for (let u = 0; u < a.length; u++) {
    const cp = a.codePointAt(u)!;
    if (cp > 0xffff) u++;
    ca[na++] = CP_ID[cp];
  }
  for (const cp of touched) CP_ID[cp] = -1;
  return { ca: ca.subarray(0, na), cb: cb.subarray(0, nb), nsym };
}

/** Total size of the matching blocks of SequenceMatcher(None, a, b, autojunk=False) over code points. */
export function matchSize(a: string, b: string, opts: { plainDp?: boolean } = {}): { matches: number; length: number } {
  if (a === b && !opts.plainDp) {
    const n = codePointLength(a);
    return { matches: n, length: 2 * n };
  }
  const { ca, cb, nsym } = codeText(a, b);
  const blocks = rawBlocks(ca, cb, nsym, false, opts.plainDp);
  let matches = 0;
  for (let t = 2; t < blocks.length; t += 3) matches += blocks[t];
  return { matches, length: ca.length + cb.length };
}

/** `difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()`, Python's float exactly. */
export function ratio(a: string, b: string): number {
  const { matches, length } = matchSize(a, b);
  return length ? (2.0 * matches) / length : 1.0;
}

function codePointLength(s: string): number {
  let n = s.length;
  for (let u = 0; u < s.length; u++) {
    const c = s.charCodeAt(u);
    if (c >= 0xd800 && c <= 0xdbff && u + 1 < s.length) {
      const d = s.charCodeAt(u + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        u++;
      }
    }
  }
  return n;
}

/** Lines interned as ids; b's distinct lines are 0..n-1, a's lines missing from b are −1. */
function codeLines(a: string[], b: string[]): { ca: Int32Array; cb: Int32Array; nsym: number } {
  const ids = new Map<string, number>();
  const cb = new Int32Array(b.length);
  for (let j = 0; j < b.length; j++) {
    let id = ids.get(b[j]);
    if (id === undefined) ids.set(b[j], (id = ids.size));
    cb[j] = id;
  }
  const ca = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) ca[i] = ids.get(a[i]) ?? -1;
  return { ca, cb, nsym: ids.size };
}

export type Opcode = ['equal' | 'replace' | 'delete' | 'insert', number, number, number, number];

/** SequenceMatcher(None, a, b) (autojunk=True, as unified_diff uses it) .get_opcodes() over lines. */
export function lineOpcodes(a: string[], b: string[]): Opcode[] {
  const { ca, cb, nsym } = codeLines(a, b);
  const raw = rawBlocks(ca, cb, nsym, true);
  const order: number[] = [];
  for (let t = 0; t < raw.length; t += 3) order.push(t);
  order.sort((x, y) => raw[x] - raw[y] || raw[x + 1] - raw[y + 1] || raw[x + 2] - raw[y + 2]);
  // Collapse adjacent blocks, then append the (la, lb, 0) sentinel, as get_matching_blocks does.
  const blocks: number[] = [];
  let i1 = 0;
  let j1 = 0;
  let k1 = 0;
  for (const t of order) {
    const i2 = raw[t];
    const j2 = raw[t + 1];
    const k2 = raw[t + 2];
    if (i1 + k1 === i2 && j1 + k1 === j2) k1 += k2;
    else {
      if (k1) blocks.push(i1, j1, k1);
      i1 = i2;
      j1 = j2;
      k1 = k2;
    }
  }
  if (k1) blocks.push(i1, j1, k1);
  blocks.push(a.length, b.length, 0);
  const codes: Opcode[] = [];
  let i = 0;
  let j = 0;
  for (let t = 0; t < blocks.length; t += 3) {
    const ai = blocks[t];
    const bj = blocks[t + 1];
    const size = blocks[t + 2];
    if (i < ai && j < bj) codes.push(['replace', i, ai, j, bj]);
    else if (i < ai) codes.push(['delete', i, ai, j, bj]);
    else if (j < bj) codes.push(['insert', i, ai, j, bj]);
    i = ai + size;
    j = bj + size;
    if (size) codes.push(['equal', ai, i, bj, j]);
  }
  return codes;
}

/** get_grouped_opcodes(n). */
export function groupedOpcodes(codesIn: Opcode[], n = 3): Opcode[][] {
  const codes = codesIn.length ? codesIn.map((c) => c.slice() as Opcode) : [['equal', 0, 1, 0, 1] as Opcode];
  const first = codes[0];
  if (first[0] === 'equal') codes[0] = ['equal', Math.max(first[1], first[2] - n), first[2], Math.max(first[3], first[4] - n), first[4]];
  const last = codes[codes.length - 1];
  if (last[0] === 'equal') codes[codes.length - 1] = ['equal', last[1], Math.min(last[2], last[1] + n), last[3], Math.min(last[4], last[3] + n)];
  const nn = n + n;
  const groups: Opcode[][] = [];
  let group: Opcode[] = [];
  for (const [tag, i1In, i2, j1In, j2] of codes) {
    let i1 = i1In;
    let j1 = j1In;
    if (tag === 'equal' && i2 - i1 > nn) {
      group.push([tag, i1, Math.min(i2, i1 + n), j1, Math.min(j2, j1 + n)]);
      groups.push(group);
      group = [];
      i1 = Math.max(i1, i2 - n);
      j1 = Math.max(j1, j2 - n);
    }
    group.push([tag, i1, i2, j1, j2]);
  }
  if (group.length && !(group.length === 1 && group[0][0] === 'equal')) groups.push(group);
  return groups;
}

function formatRange(start: number, stop: number): string {
  let beginning = start + 1;
  const length = stop - start;
  if (length === 1) return `${beginning}`;
  if (!length) beginning -= 1;
  return `${beginning},${length}`;
}

/** `difflib.unified_diff(a, b, fromfile, tofile, lineterm='', n=n)` as a list of lines. */
export function unifiedDiff(a: string[], b: string[], fromfile = '', tofile = '', n = 3): string[] {
  const out: string[] = [];
  for (const group of groupedOpcodes(lineOpcodes(a, b), n)) {
    if (!out.length) out.push(`--- ${fromfile}`, `+++ ${tofile}`);
    const first = group[0];
    const last = group[group.length - 1];
    out.push(`@@ -${formatRange(first[1], last[2])} +${formatRange(first[3], last[4])} @@`);
    for (const [tag, i1, i2, j1, j2] of group) {
      if (tag === 'equal') {
        for (let i = i1; i < i2; i++) out.push(' ' + a[i]);
        continue;
      }
      if (tag === 'replace' || tag === 'delete') for (let i = i1; i < i2; i++) out.push('-' + a[i]);
      if (tag === 'replace' || tag === 'insert') for (let j = j1; j < j2; j++) out.push('+' + b[j]);
    }
  }
  return out;
}

/**
 * SWE-RL's generate_unified_diff(old, new): the unified diff of old.splitlines() → new.splitlines()
 * with 3 context lines, the `---`/`+++` header lines dropped, joined by "\n"; "" when equal.
 */
export function sweDiff(oldText: string, newText: string): string {
  if (oldText === newText) return '';
  const lines = unifiedDiff(pySplitlines(oldText), pySplitlines(newText), 'old', 'new', 3);
  return lines.slice(2).join('\n');
}

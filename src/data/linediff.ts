// Line-diff statistics of one file (added, removed, hunks, the changed lines) for task stats and
// duplicate detection. The common head and tail are stripped first and only the middle goes through Myers
// (diffLines: the `diff` package's diffArrays, same script, over typed arrays), so a 3-line edit in a
// 3 000-line file costs a compare of the lines, not a diff. Hunks are counted as unified diff with 3 lines
// of context counts them (changes separated by at most 6 unchanged lines share a hunk). A missing final
// newline counts as a changed line, as it does in git.

/** `changed`: the changed lines in order, each as "+line" or "-line", right-trimmed and ended with "\n" (what duplicate detection compares). */
export interface FileDiff { added: number; removed: number; hunks: number; changed: string }

const NO_EOL = '\uFFFF'; // marks a last line without "\n", so that adding the newline is a change

function splitLines(text: string | null): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

/** Length of the common head of a[a0…] and b[b0…], up to max, compared in blocks (string compares are memcmp in V8). */
function headLength(a: string, a0: number, b: string, b0: number, max: number): number {
  let i = 0;
  for (let step = 4096; step >= 1; step >>= 4) while (i + step <= max && a.substr(a0 + i, step) === b.substr(b0 + i, step)) i += step;
  return i;
}

/** Length of the common tail of a[…a1) and b[…b1), up to max. */
function tailLength(a: string, a1: number, b: string, b1: number, max: number): number {
  let i = 0;
  for (let step = 4096; step >= 1; step >>= 4) while (i + step <= max && a.substr(a1 - i - step, step) === b.substr(b1 - i - step, step)) i += step;
  return i;
}

/** Whether `at` starts a line of s, counting `start` (a line start) as one. */
function lineStart(s: string, start: number, at: number): boolean {
  return at === start || s.charCodeAt(at - 1) === 10;
}

/**
 * The common head and tail of a[a0, a1) and b[b0, b1) (both starting at line starts), each cut back to
 * whole lines: a[a0 + head, a1 − tail) → b[b0 + head, b1 − tail) is the edit. Found with block compares
 * on the raw text (memcmp speed), not by splitting lines.
 */
function commonLines(a: string, a0: number, a1: number, b: string, b0: number, b1: number): { head: number; tail: number } {
  const h = headLength(a, a0, b, b0, Math.min(a1 - a0, b1 - b0));
  const head = h === 0 ? 0 : Math.max(0, a.lastIndexOf('\n', a0 + h - 1) + 1 - a0);
  let tail = tailLength(a, a1, b, b1, Math.min(a1 - a0, b1 - b0) - head);
  // The tail must start a line in both texts; inside the common tail a newline in one is one in the other.
  if (tail > 0 && !(lineStart(a, a0 + head, a1 - tail) && lineStart(b, b0 + head, b1 - tail))) {
    const nl = a.indexOf('\n', a1 - tail);
    tail = nl < 0 || nl >= a1 ? 0 : a1 - nl - 1;
  }
  return { head, tail };
}

/**
 * The regions where b differs from a, as whole lines, [a0, a1, b0, b1, …]: outside them the texts agree
 * (common head and tail, then, while a region is over `small` characters, a run of b's lines found in a
 * by indexOf splits it, and each side is narrowed again). Not a minimal diff, but every character outside
 * the regions is checked equal; edits at both ends of a file give two small regions, not one whole file.
 */
export function changedRanges(a: string, b: string, small = 4096): number[] {
  const out: number[] = [];
  narrow(a, 0, a.length, b, 0, b.length, small, out, 0);
  return out;
}

function narrow(a: string, a0: number, a1: number, b: string, b0: number, b1: number, small: number, out: number[], depth: number): void {
  const { head, tail } = commonLines(a, a0, a1, b, b0, b1);
  a0 += head; b0 += head; a1 -= tail; b1 -= tail;
  if (a0 === a1 && b0 === b1) return;
  if (a1 - a0 + b1 - b0 > small && depth < 24 && a1 > a0) {
    for (const f of [0.5, 0.25, 0.75]) {
      const m = anchor(a, a0, a1, b, b0 + Math.floor((b1 - b0) * f), b1);
      if (!m) continue;
      narrow(a, a0, m.a, b, b0, m.b, small, out, depth + 1);
      narrow(a, m.a + m.len, a1, b, m.b + m.len, b1, small, out, depth + 1);
      return;
    }
  }
  out.push(a0, a1, b0, b1);
}

/**
 * Whole lines of b from the first line start at or after `from` (at least 48 characters, ending in a
 * newline, within b1), found at a line start in a[a0, a1): their positions and length, or null.
 */
function anchor(a: string, a0: number, a1: number, b: string, from: number, b1: number): { a: number; b: number; len: number } | null {
  const ls = b.charCodeAt(from - 1) === 10 ? from : b.indexOf('\n', from) + 1;
  if (ls <= 0 || ls >= b1) return null;
  let le = ls;
  while (le - ls < 48) {
    const nl = b.indexOf('\n', le);
    if (nl < 0 || nl >= b1) return null;
    le = nl + 1;
  }
  const run = b.slice(ls, le);
  for (let i = a.indexOf(run, a0), tries = 0; i >= 0 && i + run.length <= a1 && tries < 8; i = a.indexOf(run, i + 1), tries++) {
    if (i === a0 || a.charCodeAt(i - 1) === 10) return { a: i, b: ls, len: run.length };
  }
  return null;
}

/**
 * Lines of a and b that no line of the other side can match, counted by length alone (multisets of line
 * lengths): a lower bound on added + removed lines, and cheap (no hashing of the text).
 */
function unmatchedLines(a: string[], b: string[]): number {
  let max = 0;
  for (const l of a) if (l.length > max) max = l.length;
  for (const l of b) if (l.length > max) max = l.length;
  const c = new Int32Array(max + 1);
  for (const l of a) c[l.length]++;
  for (const l of b) c[l.length]--;
  let n = 0;
  for (let i = 0; i <= max; i++) n += Math.abs(c[i]);
  return n;
}

/** Null when the diff needs more than `maxEdits` added + removed lines (cut short, cheaply). */
export function fileDiff(oldText: string | null, newText: string | null, maxEdits = Infinity): FileDiff | null {
  const [a, b] = middles(oldText, newText);
  return middleDiff(a, b, maxEdits);
}

/** The two texts less their common head and tail lines: all that fileDiff needs of them. */
export function middles(oldText: string | null, newText: string | null): [string, string] {
  const A = oldText ?? '';
  const B = newText ?? '';
  const { head: p, tail } = commonLines(A, 0, A.length, B, 0, B.length);
  return [A.slice(p, A.length - tail), B.slice(p, B.length - tail)];
}

/** fileDiff of two middles (from middles()). */
export function middleDiff(a: string, b: string, maxEdits = Infinity): FileDiff | null {
  const ma = splitLines(a);
  const mb = splitLines(b);
  const d: FileDiff = { added: 0, removed: 0, hunks: 0, changed: '' };
  if (ma.length === 0 && mb.length === 0) return d;
  if (Math.abs(ma.length - mb.length) > maxEdits) return null;
  // Myers gives up only after trying every script up to maxEdits (~10 ms for a 400-line cap on a large
  // file); lines of one side missing from the other must all be edited, so their count rules most out first.
  if (ma.length + mb.length > maxEdits && unmatchedLines(ma, mb) > maxEdits) return null;
  const parts = ma.length === 0 || mb.length === 0
    ? [{ removed: ma.length > 0, added: mb.length > 0, value: ma.length ? ma : mb }]
    : diffLines(ma, mb, maxEdits);
  if (!parts) return null;
  let gap = -1; // unchanged lines since the last change; -1 before the first
  for (const part of parts) {
    if (!part.added && !part.removed) { gap = gap < 0 ? -1 : gap + part.value.length; continue; }
    if (gap < 0 || gap > 6) d.hunks++;
    gap = 0;
    const sign = part.added ? '+' : '-';
    for (const l of part.value) d.changed += (sign + (l.endsWith(NO_EOL) ? l.slice(0, -1) + '\n\\ No newline at end of file' : l)).trimEnd() + '\n';
    if (part.added) d.added += part.value.length; else d.removed += part.value.length;
  }
  if (d.added + d.removed > maxEdits) return null;
  return d;
}

/** A run of diffLines' script: lines kept, added (from b) or removed (from a). */
export interface LinePart { added: boolean; removed: boolean; value: string[] }

// Component pool for diffLines: each path's script is a linked list of runs sharing its prefix with the
// paths it branched from (count, kind 0 kept / 1 added / 2 removed, previous run or −1), reused by all calls.
let runCount = new Int32Array(1 << 14);
let runKind = new Int8Array(1 << 14);
let runPrev = new Int32Array(1 << 14);

/**
 * The `diff` package's diffArrays(a, b, { maxEditLength }) (v9: greedy Myers from the start, the same
 * choice between a removal and an addition at each diagonal, the same pruning at the edges of the edit
 * graph), giving the same script, or null where it gives undefined (more than maxEdits edits). Written
 * out because diffArrays allocates two objects per step and keeps paths in an array indexed by negative
 * diagonals (a dictionary): 5–10× slower, and the mining's diff thread spent 0.5 s of a 2.4 s run in it.
 * Lines are compared as numbers (equal lines get one id). test/data-mine.test.ts checks both agree.
 */
export function diffLines(a: string[], b: string[], maxEdits = Infinity): LinePart[] | null {
  const oldLen = a.length, newLen = b.length;
  const ids = new Map<string, number>();
  const A = new Int32Array(oldLen), B = new Int32Array(newLen);
  for (let i = 0; i < oldLen; i++) { let id = ids.get(a[i]); if (id === undefined) ids.set(a[i], id = ids.size); A[i] = id; }
  for (let j = 0; j < newLen; j++) { const id = ids.get(b[j]); B[j] = id === undefined ? -1 : id; }
  const maxEditLength = Math.min(oldLen + newLen, maxEdits);
  const off = maxEditLength + 2; // diagonal k (old position − new position, |k| ≤ edits + 1) lives at k + off
  const pos = new Int32Array(2 * off + 1).fill(-2); // a path's old position on each diagonal; −2: none
  const last = new Int32Array(2 * off + 1);
  let runs = 0;
  const run = (count: number, kind: number, prev: number): number => {
    if (runs === runCount.length) {
      const n = runs * 2;
      const c = new Int32Array(n); c.set(runCount); runCount = c;
      const k = new Int8Array(n); k.set(runKind); runKind = k;
      const p = new Int32Array(n); p.set(runPrev); runPrev = p;
    }
    runCount[runs] = count; runKind[runs] = kind; runPrev[runs] = prev;
    return runs++;
  };
  // Follows diagonal k from old position o while the lines agree; returns the new position reached.
  const common = (k: number, o: number): number => {
    let n = o - k, c = 0;
    while (n + 1 < newLen && o + 1 < oldLen && A[o + 1] === B[n + 1]) { n++; o++; c++; }
    if (c) last[k + off] = run(c, 0, last[k + off]);
    pos[k + off] = o;
    return n;
  };
  pos[off] = -1;
  last[off] = -1;
  let newPos = common(0, -1);
  if (pos[off] + 1 >= oldLen && newPos + 1 >= newLen) return parts(last[off], a, b);
  let minK = -Infinity, maxK = Infinity;
  for (let e = 1; e <= maxEditLength; e++) {
    for (let k = Math.max(minK, -e); k <= Math.min(maxK, e); k += 2) {
      const rm = pos[k - 1 + off], ad = pos[k + 1 + off];
      const rmLast = last[k - 1 + off];
      if (rm !== -2) pos[k - 1 + off] = -2;
      const canAdd = ad !== -2 && ad - k >= 0 && ad - k < newLen;
      const canRemove = rm !== -2 && rm + 1 < oldLen;
      if (!canAdd && !canRemove) { pos[k + off] = -2; continue; }
      let o: number, l: number, kind: number;
      if (!canRemove || (canAdd && rm < ad)) { o = ad; l = last[k + 1 + off]; kind = 1; } else { o = rm + 1; l = rmLast; kind = 2; }
      last[k + off] = l >= 0 && runKind[l] === kind ? run(runCount[l] + 1, kind, runPrev[l]) : run(1, kind, l);
      newPos = common(k, o);
      const op = pos[k + off];
      if (op + 1 >= oldLen && newPos + 1 >= newLen) return parts(last[k + off], a, b);
      if (op + 1 >= oldLen) maxK = Math.min(maxK, k - 1);
      if (newPos + 1 >= newLen) minK = Math.max(minK, k + 1);
    }
  }
  return null;
}

/** The script of run list `r` (last run first) as parts with their lines. */
function parts(r: number, a: string[], b: string[]): LinePart[] {
  const rs: number[] = [];
  for (; r >= 0; r = runPrev[r]) rs.push(r);
  const out: LinePart[] = [];
  let i = 0, j = 0;
  for (let q = rs.length - 1; q >= 0; q--) {
    const n = runCount[rs[q]], kind = runKind[rs[q]];
    if (kind === 2) { out.push({ added: false, removed: true, value: a.slice(i, i + n) }); i += n; continue; }
    out.push({ added: kind === 1, removed: false, value: b.slice(j, j + n) });
    j += n;
    if (kind === 0) i += n;
  }
  return out;
}

// Line-diff statistics of one file (added, removed, hunks, the changed lines) for task stats and
// duplicate detection. The common head and tail are stripped first and only the middle goes through the
// `diff` package's Myers (diffArrays on whole lines), so a 3-line edit in a 3 000-line file costs a compare
// of the lines, not a diff. Hunks are counted as unified diff with 3 lines of context counts them (changes
// separated by at most 6 unchanged lines share a hunk). A missing final newline counts as a changed line,
// as it does in git.

import { diffArrays } from 'diff';

export interface FileDiff { added: number; removed: number; hunks: number; lines: string[] }

const NO_EOL = '\uFFFF'; // marks a last line without "\n", so that adding the newline is a change

function splitLines(text: string | null): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

/** Length of the common head of a and b, compared in blocks (string compares are memcmp in V8). */
function headLength(a: string, b: string, max: number): number {
  let i = 0;
  for (let step = 4096; step >= 1; step >>= 4) while (i + step <= max && a.substr(i, step) === b.substr(i, step)) i += step;
  return i;
}

function tailLength(a: string, b: string, max: number): number {
  let i = 0;
  for (let step = 4096; step >= 1; step >>= 4) while (i + step <= max && a.substr(a.length - i - step, step) === b.substr(b.length - i - step, step)) i += step;
  return i;
}

/** Null when the diff needs more than `maxEdits` added + removed lines (cut short, cheaply). */
export function fileDiff(oldText: string | null, newText: string | null, maxEdits = Infinity): FileDiff | null {
  const A = oldText ?? '';
  const B = newText ?? '';
  // Common head and tail found on the raw text, then moved to line boundaries: only the middle is split.
  const head = headLength(A, B, Math.min(A.length, B.length));
  const p = head === 0 ? 0 : A.lastIndexOf('\n', head - 1) + 1;
  let tail = tailLength(A, B, Math.min(A.length, B.length) - p);
  // The tail must start a line in both texts; inside the common tail a newline in one is one in the other.
  const lineStart = (s: string, at: number) => at === p || s.charCodeAt(at - 1) === 10;
  if (tail > 0 && !(lineStart(A, A.length - tail) && lineStart(B, B.length - tail))) {
    const nl = A.indexOf('\n', A.length - tail);
    tail = nl < 0 ? 0 : A.length - nl - 1;
  }
  const ma = splitLines(A.slice(p, A.length - tail));
  const mb = splitLines(B.slice(p, B.length - tail));
  const d: FileDiff = { added: 0, removed: 0, hunks: 0, lines: [] };
  if (ma.length === 0 && mb.length === 0) return d;
  if (Math.abs(ma.length - mb.length) > maxEdits) return null;
  const parts = ma.length === 0 || mb.length === 0
    ? [{ removed: ma.length > 0, added: mb.length > 0, value: ma.length ? ma : mb }]
    : Number.isFinite(maxEdits) ? diffArrays(ma, mb, { maxEditLength: maxEdits }) : diffArrays(ma, mb);
  if (!parts) return null;
  let gap = -1; // unchanged lines since the last change; -1 before the first
  for (const part of parts) {
    if (!part.added && !part.removed) { gap = gap < 0 ? -1 : gap + part.value.length; continue; }
    if (gap < 0 || gap > 6) d.hunks++;
    gap = 0;
    const sign = part.added ? '+' : '-';
    for (const l of part.value) d.lines.push(sign + (l.endsWith(NO_EOL) ? l.slice(0, -1) + '\n\\ No newline at end of file' : l));
    if (part.added) d.added += part.value.length; else d.removed += part.value.length;
  }
  if (d.added + d.removed > maxEdits) return null;
  return d;
}

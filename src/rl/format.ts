// Reading a completion: the optional <think>/<solution> wrapper, SEARCH/REPLACE blocks (or whole
// files), and applying them to the prompt's files with SWE-RL's semantics. Every malformed output is
// a result with ok=false and a one-line reason (reward.ts turns it into −1); nothing throws on
// any text and nothing outside the given files is ever read or written. Rendering lives in prompt.ts.
//
// Departures from SWE-RL's parser (src/swerl/core/reward.py), all of them more lenient: <think> and
// <solution> are optional (but each at most once, paired, and a present <think> must not be empty);
// the ``` fence around a block is optional; a `### path` line must start a line and its path is
// trimmed. Applying is theirs exactly: "\n" is prepended to the file and to SEARCH and REPLACE, every
// occurrence is replaced (str.replace), SEARCH == REPLACE and a SEARCH not found are errors.

import {
  SOLUTION_END, SOLUTION_START, THINK_END, THINK_START, keepsFinalNewline, type OutputMode,
} from '../data/prompt.ts';

export { oracleCompletion } from '../data/prompt.ts';

export interface Edit {
  path: string;
  search: string;
  replace: string;
}

/** A whole-file section: the file's lines, without the final newline's empty piece. */
export interface FileOutput {
  path: string;
  lines: string[];
}

export type Parsed =
  | { ok: true; thought: string | null; edits: Edit[]; files: FileOutput[] }
  | { ok: false; error: string };

export type Applied = { ok: true; files: Map<string, string> } | { ok: false; error: string };

/** SWE-RL's block regex with the fence optional and the header anchored at a line start (the spec). */
export const BLOCK_RE = /(?<![^\n])(?:```[^\n]*\n)?### ([^\n]*)\n<<<<<<< SEARCH\n([\s\S]*?)\n=======\n([\s\S]*?)\n>>>>>>> REPLACE(?:\n```)?(?![^\n])/g;

/** Python str.isspace() (what str.strip() removes); JS trim() differs at \x1c-\x1f, \x85 and \ufeff. */
export function isPySpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c === 0x85 || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** Python str.strip(), in linear time (a regex /\s+$/ is quadratic on long inner runs of spaces). */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPySpace(s.charCodeAt(a))) a++;
  while (b > a && isPySpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function count(text: string, tag: string): number {
  let n = 0;
  for (let p = text.indexOf(tag); p >= 0; p = text.indexOf(tag, p + tag.length)) n++;
  return n;
}

/** The answer part of a completion (inside <solution> if present, else after </think>), stripped. */
export function extractAnswer(text: string): { ok: true; thought: string | null; answer: string } | { ok: false; error: string } {
  const counts = [THINK_START, THINK_END, SOLUTION_START, SOLUTION_END].map((t) => count(text, t));
  for (const [i, t] of [THINK_START, THINK_END, SOLUTION_START, SOLUTION_END].entries()) {
    if (counts[i] > 1) return { ok: false, error: `${t} appears ${counts[i]} times` };
  }
  if (counts[0] !== counts[1]) return { ok: false, error: `${THINK_START} and ${THINK_END} must come as a pair` };
  if (counts[2] !== counts[3]) return { ok: false, error: `${SOLUTION_START} and ${SOLUTION_END} must come as a pair` };
  let thought: string | null = null;
  let rest = text;
  if (counts[0]) {
    const s = text.indexOf(THINK_START);
    const e = text.indexOf(THINK_END);
    if (e < s) return { ok: false, error: `${THINK_END} before ${THINK_START}` };
    thought = pyStrip(text.slice(s + THINK_START.length, e));
    if (!thought) return { ok: false, error: 'thought is empty' };
    rest = text.slice(e + THINK_END.length);
  }
  if (counts[2]) {
    const s = text.indexOf(SOLUTION_START);
    const e = text.indexOf(SOLUTION_END);
    if (e < s) return { ok: false, error: `${SOLUTION_END} before ${SOLUTION_START}` };
    rest = text.slice(s + SOLUTION_START.length, e);
  }
  return { ok: true, thought, answer: pyStrip(rest) };
}

/**
 * SEARCH/REPLACE blocks of an answer, in order: exactly what `re.findall(BLOCK_RE, answer)` finds,
 * computed without backtracking. A block starting at a line start takes the first "\n=======\n"
 * after its SEARCH line and then the first REPLACE terminator after that; if there is none, no later
 * separator can have one either, which is why the regex's backtracking never finds another split.
 * Lookups are memoised "next at or after x" scans, so degenerate outputs stay linear.
 */
export function parseSearchReplace(answer: string): Edit[] {
  const edits: Edit[] = [];
  const nextSep = nextFinder(answer, SEP, () => true);
  const nextEnd = nextFinder(answer, END, (q) => endLength(answer, q) > 0);
  let p = 0;
  while (p < answer.length) {
    const m = blockAt(answer, p, nextSep, nextEnd);
    if (m) {
      edits.push(m.edit);
      p = m.end;
    }
    const nl = answer.indexOf('\n', p);
    if (nl < 0) break;
    p = nl + 1;
  }
  return edits;
}

const SEARCH_LINE = '<<<<<<< SEARCH\n';
const SEP = '\n=======\n';
const END = '\n>>>>>>> REPLACE';

/** Characters the terminator at q takes (with an optional closing fence), or 0 if it is not at a line end. */
function endLength(s: string, q: number): number {
  const after = q + END.length;
  if (s.startsWith('\n```', after) && (after + 4 === s.length || s.charCodeAt(after + 4) === 10)) return END.length + 4;
  return after === s.length || s.charCodeAt(after) === 10 ? END.length : 0;
}

/** next(x): first position ≥ x where `needle` occurs and ok() holds, or −1; queries may go in any order. */
function nextFinder(s: string, needle: string, ok: (q: number) => boolean): (x: number) => number {
  let from = Infinity;
  let found = -1;
  return (x) => {
    if (x >= from && (found < 0 || found >= x)) return found;
    let q = s.indexOf(needle, x);
    while (q >= 0 && !ok(q)) q = s.indexOf(needle, q + 1);
    from = x;
    found = q;
    return q;
  };
}

/** The block whose match starts at line start p (an optional ``` line, then `### path`), or null. */
function blockAt(s: string, p: number, nextSep: (x: number) => number, nextEnd: (x: number) => number): { edit: Edit; end: number } | null {
  if (s.startsWith('```', p)) {
    const nl = s.indexOf('\n', p);
    const m = nl < 0 ? null : headerBlock(s, nl + 1, nextSep, nextEnd);
    if (m) return m;
  }
  return headerBlock(s, p, nextSep, nextEnd);
}

function headerBlock(s: string, h: number, nextSep: (x: number) => number, nextEnd: (x: number) => number): { edit: Edit; end: number } | null {
  if (!s.startsWith('### ', h)) return null;
  const eol = s.indexOf('\n', h);
  if (eol < 0 || !s.startsWith(SEARCH_LINE, eol + 1)) return null;
  const searchStart = eol + 1 + SEARCH_LINE.length;
  const sep = nextSep(searchStart);
  if (sep < 0) return null;
  const replaceStart = sep + SEP.length;
  const q = nextEnd(replaceStart);
  if (q < 0) return null;
  const edit = { path: pyStrip(s.slice(h + 4, eol)), search: s.slice(searchStart, sep), replace: s.slice(replaceStart, q) };
  return { edit, end: q + endLength(s, q) };
}

/**
 * Whole-file sections: a `### path` line, then the content either fenced (``` or longer; up to the
 * first line equal to the opening fence) or unfenced (up to the next `### ` line, trailing blank
 * lines dropped). Text between a closing fence and the next header is ignored.
 */
export function parseWholeFiles(answer: string): { ok: true; files: FileOutput[] } | { ok: false; error: string } {
  const lines = answer.split('\n');
  const files: FileOutput[] = [];
  let i = 0;
  while (i < lines.length) {
    if (!lines[i].startsWith('### ')) {
      i++;
      continue;
    }
    const path = pyStrip(lines[i].slice(4));
    i++;
    const fence = i < lines.length ? /^(`{3,})[^`]*$/.exec(lines[i]) : null;
    const body: string[] = [];
    if (fence) {
      for (i++; i < lines.length && lines[i] !== fence[1]; i++) body.push(lines[i]);
      if (i >= lines.length) return { ok: false, error: `unclosed ${fence[1]} fence in the section of ${path}` };
      i++;
    } else {
      for (; i < lines.length && !lines[i].startsWith('### '); i++) body.push(lines[i]);
      while (body.length && pyStrip(body[body.length - 1]) === '') body.pop();
    }
    files.push({ path, lines: body });
  }
  return { ok: true, files };
}

/** Parses a completion in either output mode; never throws. */
export function parseCompletion(text: string, mode: OutputMode = 'search_replace'): Parsed {
  const ex = extractAnswer(text);
  if (!ex.ok) return ex;
  if (mode === 'whole_file') {
    const wf = parseWholeFiles(ex.answer);
    if (!wf.ok) return wf;
    if (!wf.files.length) return { ok: false, error: 'no `### path` file section found' };
    return { ok: true, thought: ex.thought, edits: [], files: wf.files };
  }
  const edits = parseSearchReplace(ex.answer);
  if (!edits.length) return { ok: false, error: 'no valid SEARCH/REPLACE block found' };
  return { ok: true, thought: ex.thought, edits, files: [] };
}

/** Why `path` may not be edited, or null: it must be one of the prompt's files, relative, without "..". */
export function pathError(path: string, files: ReadonlyMap<string, string>): string | null {
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return `absolute path "${path}"`;
  if (path.split(/[\\/]/).includes('..')) return `path "${path}" contains ".."`;
  if (!files.has(path)) return `"${path}" is not one of the prompt's files`;
  return null;
}

/**
 * SWE-RL's apply_code_change over the prompt's files (path → old content): returns the new content
 * of every file an edit touched. Blocks of one path apply in order.
 */
export function applyEdits(files: ReadonlyMap<string, string>, edits: readonly Edit[]): Applied {
  const out = new Map<string, string>();
  for (const e of edits) {
    const bad = pathError(e.path, files);
    if (bad) return { ok: false, error: bad };
    if (e.search === e.replace) return { ok: false, error: `SEARCH and REPLACE are identical (${e.path})` };
    const content = out.get(e.path) ?? '\n' + files.get(e.path)!;
    const search = '\n' + e.search;
    if (!content.includes(search)) return { ok: false, error: `SEARCH not found in ${e.path}` };
    out.set(e.path, content.split(search).join('\n' + e.replace));
  }
  for (const [p, c] of out) out.set(p, c.slice(1));
  return { ok: true, files: out };
}

/** Whole-file mode: the new content of every file given, each keeping its old final-newline convention. */
export function applyWholeFiles(files: ReadonlyMap<string, string>, outputs: readonly FileOutput[]): Applied {
  const out = new Map<string, string>();
  for (const f of outputs) {
    const bad = pathError(f.path, files);
    if (bad) return { ok: false, error: bad };
    if (out.has(f.path)) return { ok: false, error: `"${f.path}" is given twice` };
    const text = f.lines.join('\n');
    out.set(f.path, f.lines.length === 0 ? '' : keepsFinalNewline(files.get(f.path)!) ? text + '\n' : text);
  }
  return { ok: true, files: out };
}

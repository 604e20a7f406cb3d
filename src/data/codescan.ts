// A light, parser-free scan of JS/TS/Python source for the mutator: which characters are code (not
// strings or comments), where functions start and end, and which lines are type declarations.
// Heuristic by design (regex literals, multi-line signatures are approximated); mutate.ts decides
// what to change, synth.ts what to cut out.

export type Lang = 'typescript' | 'javascript' | 'python';

const EXT: Record<string, Lang> = {
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript', py: 'python',
};

/** The language the mutator handles for a path, by extension; null when unsupported. */
export function langOf(path: string): Lang | null {
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  return m ? EXT[m[1].toLowerCase()] ?? null : null;
}

export interface FnRange {
  name: string;
  /** Header line and last line (inclusive), 0-based. */
  start: number;
  end: number;
  /** The header's last line (its parameters can run over several lines): the body starts after it, or on it. */
  head: number;
}

export interface Scan {
  lang: Lang;
  lines: string[];
  /** Per line, per character: 1 = code, 0 = inside a string or comment. */
  mask: Uint8Array[];
  fns: FnRange[];
  /** Lines only type checkers read (TS interface/type/enum/declare; Python's `if TYPE_CHECKING:` and `@overload` stubs), never mutated. */
  typeLines: Set<number>;
  /** Names the file's imports bind (`import os`, `from m import a as b`, `import * as path`, `const x = require(…)`): never a wrong variable. */
  imported: Set<string>;
}

export function scan(text: string, lang: Lang): Scan {
  const lines = text.split('\n');
  const mask = lang === 'python' ? maskPython(lines) : maskJs(lines);
  const js = lang === 'python' ? [] : lines.map((l, i) => [...l].map((c, k) => (mask[i][k] ? c : ' ')).join('')); // code only, once for both
  const fns = lang === 'python' ? pythonFns(lines, mask) : jsFns(js);
  const typeLines = lang === 'python' ? pyTypeLines(lines, mask) : jsTypeLines(js);
  const s: Scan = { lang, lines, mask, fns, typeLines, imported: new Set() };
  s.imported = importedNames(lines.map((_, i) => codeOnly(s, i)).join('\n'), lang === 'python');
  return s;
}

/**
 * The names that the import statements of a file's code (strings and comments blanked) bind. Python:
 * `import a.b` (a), `import a as b`, `from m import x, y as z` (one line, or in parentheses). JS/TS: a
 * default import, `* as ns`, `{ a, b as c }` (over lines too), `import x = require(…)`, and
 * `const x = require(…)` or `const { a, b: c } = require(…)`.
 */
function importedNames(code: string, py: boolean): Set<string> {
  const out = new Set<string>();
  const bind = (clause: string) => {
    for (let part of clause.split(',')) {
      part = part.replace(/^\s*type\s+(?=[\w$])/, '').trim();
      const m = /(?:\sas\s+|:\s*)([A-Za-z_$][\w$]*)$/.exec(part) ?? /^\*?\s*([A-Za-z_$][\w$]*)/.exec(part);
      if (m) out.add(m[1]);
    }
  };
  if (py) {
    for (const m of code.matchAll(/^[ \t]*import[ \t]+([^\n;]+)/gm)) bind(m[1].replace(/\.[\w.]*/g, ''));
    for (const m of code.matchAll(/^[ \t]*from[ \t]+\S+[ \t]+import[ \t]*(\([^)]*\)|[^\n;]+)/gm)) bind(m[1].replace(/[()\\]/g, ' '));
  } else {
    for (const m of code.matchAll(/\bimport\s+(?:type\s+)?([\w$*{][^;'"`]*?)\s+from\b/g)) bind(m[1].replace(/[{}]/g, ','));
    for (const m of code.matchAll(/\bimport\s+([A-Za-z_$][\w$]*)\s*=\s*require\b/g)) out.add(m[1]);
    for (const m of code.matchAll(/\b(?:const|let|var)\s+(\{[^}]*\}|[A-Za-z_$][\w$]*)\s*=\s*require\s*\(/g)) bind(m[1].replace(/[{}]/g, ','));
  }
  return out;
}

/** True when every character of line[i].slice(a, b) is code. */
export function isCode(s: Scan, i: number, a: number, b: number): boolean {
  const m = s.mask[i];
  for (let k = a; k < b; k++) if (!m[k]) return false;
  return true;
}

/** The line with strings and comments blanked out (same length), for structural matching. */
export function codeOnly(s: Scan, i: number): string {
  const m = s.mask[i];
  let out = '';
  for (let k = 0; k < s.lines[i].length; k++) out += m[k] ? s.lines[i][k] : ' ';
  return out;
}

/** The innermost function whose body strictly contains line i. */
export function enclosingFn(s: Scan, i: number): FnRange | null {
  let best: FnRange | null = null;
  for (const f of s.fns) if (f.start < i && i <= f.end && (!best || f.end - f.start < best.end - best.start)) best = f;
  return best;
}

const REGEX_BEFORE = new Set('(,=:[!&|?{};+-*%<>~^'.split(''));

function maskJs(lines: string[]): Uint8Array[] {
  const out = lines.map((l) => new Uint8Array(l.length));
  let block = false; // inside /* */
  // Template literals (they span lines and nest): TEXT for a template's text, else a `${…}`'s braces open
  // within it (its code is code); empty: plain code.
  const nest: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const m = out[i];
    let prev = ''; // last significant code character on this line
    let k = 0;
    while (k < l.length) {
      const c = l[k];
      if (block) {
        if (c === '*' && l[k + 1] === '/') { block = false; k += 2; } else k++;
        continue;
      }
      const top = nest.length - 1;
      if (nest[top] === TEXT) {
        if (c === '\\') k += 2;
        else if (c === '`') { nest.pop(); k++; }
        else if (c === '$' && l[k + 1] === '{') { nest.push(0); prev = '('; k += 2; }
        else k++;
        continue;
      }
      if (c === '/' && l[k + 1] === '/') break;
      if (c === '/' && l[k + 1] === '*') { block = true; k += 2; continue; }
      if (c === '`') { nest.push(TEXT); k++; continue; }
      if (c === '"' || c === "'") {
        k = skipQuoted(l, k, c);
        continue;
      }
      if (c === '/' && (prev === '' || REGEX_BEFORE.has(prev) || /\b(return|typeof|case)\s*$/.test(l.slice(0, k)))) {
        const end = regexEnd(l, k);
        if (end > 0) { k = end; prev = '/'; continue; }
      }
      if (top >= 0 && c === '}' && nest[top] === 0) { nest.pop(); k++; continue; } // the `${…}` ends: back to the template's text
      if (top >= 0 && (c === '{' || c === '}')) nest[top] += c === '{' ? 1 : -1;
      m[k] = 1;
      if (c !== ' ' && c !== '\t' && c !== '\ufeff') prev = c; // a file's BOM (kept in its text) is no operand before a regex
      k++;
    }
  }
  return out;
}

/** maskJs's mark for a template literal's text. */
const TEXT = -1;

function skipQuoted(l: string, k: number, q: string): number {
  k++;
  while (k < l.length && l[k] !== q) k += l[k] === '\\' ? 2 : 1;
  return k + 1;
}

/** End index (exclusive) of a regex literal starting at k, or -1 when the line has none. */
function regexEnd(l: string, k: number): number {
  let cls = false;
  for (let j = k + 1; j < l.length; j++) {
    const c = l[j];
    if (c === '\\') { j++; continue; }
    if (cls) { if (c === ']') cls = false; continue; }
    if (c === '[') cls = true;
    else if (c === '/') {
      let e = j + 1;
      while (e < l.length && /[a-z]/.test(l[e])) e++;
      return e;
    }
  }
  return -1;
}

function maskPython(lines: string[]): Uint8Array[] {
  const out = lines.map((l) => new Uint8Array(l.length));
  let triple: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const m = out[i];
    let k = 0;
    while (k < l.length) {
      if (triple) {
        if (l.startsWith(triple, k)) { k += 3; triple = null; } else k += l[k] === '\\' ? 2 : 1;
        continue;
      }
      const c = l[k];
      if (c === '#') break;
      if (c === '"' || c === "'") {
        if (l.startsWith(c.repeat(3), k)) { triple = c.repeat(3); k += 3; continue; }
        k = skipQuoted(l, k, c);
        continue;
      }
      // String prefixes (r, b, f, u, rb, …) belong to the string.
      const pre = /^[rbfuRBFU]{1,2}(?=["'])/.exec(l.slice(k));
      if (pre && (k === 0 || !/[\w]/.test(l[k - 1]))) { k += pre[0].length; continue; }
      m[k] = 1;
      k++;
    }
  }
  return out;
}

const NOT_FN = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'function', 'with', 'typeof', 'new', 'await', 'super', 'import']);

const FN_HEADERS: RegExp[] = [
  /\bfunction\s*\*?\s*([A-Za-z_$][\w$]*)\s*(?:<[^(]*>)?\s*\(/,
  /\b([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s+)?function\b[^(]*\(/,
  /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:<[^(]*>)?\s*\(/,
  /^\s*(?:(?:public|private|protected|static|async|readonly|override|get|set)\s+)*\*?\s*([A-Za-z_$][\w$]*)\s*(?:<[^(]*>)?\s*\(/,
  /^\s*(?:(?:public|private|protected|static|readonly|override)\s+)*([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:<[^(]*>)?\s*\(/, // a class's arrow property
  /^\s*(?:[\w$]+\.)*([A-Za-z_$][\w$]*)\s*(?::|=(?!=))\s*(?:async\s+)?(?:<[^(]*>)?\s*\(/, // an object's arrow (`key: (x) => {`), one set on a member (`b.upload = (x) => {`)
];

function jsFns(code: string[]): FnRange[] {
  const fns: FnRange[] = [];
  for (let i = 0; i < code.length; i++) {
    if (code[i].length > 1000 || code[i].trim() === '') continue; // long lines make the header regexes quadratic
    for (const re of FN_HEADERS) {
      const m = re.exec(code[i]);
      if (!m || NOT_FN.has(m[1])) continue;
      const open = m.index + m[0].length - 1; // the '(' of the parameter list
      const body = findBody(code, i, open);
      if (!body) {
        const end = arrowEnd(code, i, open);
        if (end > i) { fns.push({ name: m[1], start: i, end, head: i }); break; }
        continue;
      }
      const end = matchBrace(code, body.line, body.col);
      if (end < 0) continue;
      fns.push({ name: m[1], start: i, end, head: body.line });
      break;
    }
  }
  return fns;
}

/**
 * After the parameter list opened at (line, col): the body's '{' (the last code character of its
 * line), when only a return type and/or `=>` come between — a call like `f(x).then(() => {` has none.
 */
function findBody(code: string[], line: number, col: number): { line: number; col: number } | null {
  const end = Math.min(code.length, line + 12);
  const close = closeOf(code, line, col, end);
  if (!close) return null;
  let after = ''; // what comes after the parameters, an object type's braces (`: { a: T; b: U }`) left out
  let inType = 0;
  for (let i = close.line; i < end; i++) {
    for (let k = i === close.line ? close.col + 1 : 0; k < code[i].length; k++) {
      const c = code[i][k];
      if (c === '{' && inType === 0 && /^\}?\s*$/.test(code[i].slice(k + 1))) { // `{` ends the line, or `{}` does (an empty body)
        // Nothing, a return type (`: T`, `: () => void`, `: T =>`), or arrows (`=> (v: T): U =>`, curried).
        const a = after.trim();
        const ok = a === '' || (a.startsWith(':') && !a.endsWith('(')) || /^=>(?:\s*(?:async\s+)?\([^;]*?\)\s*(?::[^;]*?)?=>)*$/.test(a);
        return ok ? { line: i, col: k } : null; // not `=> ({` (an object), nor `=> xs.map((x) => {` (a callback's body)
      }
      if (c === '{' || c === '}') { inType += c === '{' ? 1 : -1; continue; }
      if (inType > 0) continue;
      after += c;
      if (after.includes(';')) return null;
    }
    after += ' ';
  }
  return null;
}

/**
 * The line that ends an arrow function with an expression body, `(…) => expr;` (a return type, and more
 * arrows, may come between), whose parameter list opens at (line, col): the line of the `;` that closes
 * it, or -1 (no arrow, or no end within 50 lines).
 */
function arrowEnd(code: string[], line: number, col: number): number {
  const end = Math.min(code.length, line + 50);
  const close = closeOf(code, line, col, end);
  if (!close) return -1;
  let depth = 0;
  let arrow = false;
  let after = ''; // between the parameters and the `=>`
  for (let i = close.line; i < end; i++) {
    for (let k = i === close.line ? close.col + 1 : 0; k < code[i].length; k++) {
      const c = code[i][k];
      if (!arrow) {
        after += c;
        if (after.endsWith('=>')) {
          if (!/^\s*(:[^=;{]*)?=>$/.test(after)) return -1;
          arrow = true;
        } else if (c === ';' || c === '{') return -1;
      } else if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c) && --depth < 0) return -1;
      else if (c === ';' && depth === 0) return i;
    }
  }
  return -1;
}

/** The line of the `}` that closes the `{` at (line, col), or -1. */
function matchBrace(code: string[], line: number, col: number): number {
  return closeOf(code, line, col, code.length)?.line ?? -1;
}

/** Where the bracket of its own kind closes the one at (line, col) (`(` or `{`; other kinds not counted), before line `end`; or null. */
function closeOf(code: string[], line: number, col: number, end: number): { line: number; col: number } | null {
  const open = code[line][col];
  const shut = open === '(' ? ')' : '}';
  let depth = 0;
  for (let i = line; i < end; i++) {
    for (let k = i === line ? col : 0; k < code[i].length; k++) {
      if (code[i][k] === open) depth++;
      else if (code[i][k] === shut && --depth === 0) return { line: i, col: k };
    }
  }
  return null;
}

/**
 * Python lines that only type checkers read: an `if TYPE_CHECKING:` block, and an `@overload` stub (the
 * decorator, the signature, its `...`). A change there changes no behaviour.
 */
function pyTypeLines(lines: string[], mask: Uint8Array[]): Set<number> {
  const out = new Set<number>();
  const indent = (l: string) => l.length - l.trimStart().length;
  const code = (j: number) => mask[j].some((x) => x === 1);
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:if\s+(?:\w+\.)?TYPE_CHECKING\s*:|@(?:\w+\.)?overload\s*$)/.exec(lines[i]);
    if (!m || !code(i)) continue;
    let j = i;
    if (lines[i].trimStart().startsWith('@')) { // through the def's line: the block is what follows it
      while (j + 1 < lines.length && !/^\s*(async\s+)?def\b/.test(lines[j])) out.add(j++);
    }
    out.add(j);
    for (j++; j < lines.length; j++) {
      if (lines[j].trim() !== '' && code(j) && indent(lines[j]) <= m[1].length && !/^\s*[)\]]/.test(lines[j])) break;
      out.add(j);
    }
  }
  return out;
}

function jsTypeLines(code: string[]): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < code.length; i++) {
    if (!/^\s*(export\s+)?(declare\s+)?(interface|type|enum|declare)\b/.test(code[i])) continue;
    out.add(i);
    const k = code[i].indexOf('{');
    if (k < 0) continue;
    const end = matchBrace(code, i, k);
    for (let j = i; j <= (end < 0 ? i : end); j++) out.add(j);
  }
  return out;
}

function pythonFns(lines: string[], mask: Uint8Array[]): FnRange[] {
  const fns: FnRange[] = [];
  const indent = (l: string) => l.length - l.trimStart().length;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(lines[i]);
    if (!m || !mask[i][m[1].length]) continue;
    const base = m[1].length;
    // The header ends at its colon, after the parameter list and any return annotation: a signature over
    // several lines ends at the def's own indentation (`):`, `) -> T:`, an annotation's `]:`), which is no
    // end of the block.
    let head = -1;
    for (let j = i, depth = 0, params = false; j < Math.min(lines.length, i + 1000) && head < 0; j++) {
      for (let k = j === i ? m[0].length - 1 : 0; k < lines[j].length; k++) {
        if (!mask[j][k]) continue;
        const c = lines[j][k];
        if ('([{'.includes(c)) depth++;
        else if (')]}'.includes(c)) { if (--depth === 0) params = true; }
        else if (c === ':' && params && depth === 0) { head = j; break; }
      }
    }
    if (head < 0) continue;
    let end = head;
    for (let j = head + 1; j < lines.length; j++) {
      if (lines[j].trim() === '') continue;
      // Lines inside a multi-line string are code-masked out entirely; they never end a block.
      if (mask[j].every((x) => !x) && !lines[j].trimStart().startsWith('#')) { end = j; continue; }
      if (indent(lines[j]) <= base && !lines[j].trimStart().startsWith('#')) break;
      end = j;
    }
    if (end > head) fns.push({ name: m[2], start: i, end, head });
  }
  return fns;
}

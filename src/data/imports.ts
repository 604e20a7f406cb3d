// The import graph's raw material: import specifiers parsed from JS/TS and Python files, the repo paths a
// specifier can name (resolved against a set of paths), and the names by which an import and a file are
// matched. Knows nothing about BM25 or git.

import * as path from 'node:path';

const JS_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const JS_IMPORT = /(?:\bimport|\bexport)\s[^;'"`]*?\bfrom\s*['"]([^'"\n]+)['"]|\bimport\s*\(?\s*['"]([^'"\n]+)['"]|\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;
const PY_IMPORT = /^\ufeff?[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^\n#)]*)|import[ \t]+([\w. \t,]+))/gm;

export type Lang = 'js' | 'py' | '';
export const langOf = (file: string): Lang => (JS_EXT.test(file) ? 'js' : file.endsWith('.py') ? 'py' : '');

/** Raw import specifiers of a JS/TS/Python file (Python: dotted names, `from x import a, b` gives x, x.a, x.b). */
export function parseImports(file: string, text: string): string[] {
  const out: string[] = [];
  if (JS_EXT.test(file)) {
    for (const m of text.matchAll(JS_IMPORT)) out.push(m[1] ?? m[2] ?? m[3]);
  } else if (file.endsWith('.py')) {
    for (const m of pyImportMatches(text)) {
      if (m[3] !== undefined) {
        for (const n of m[3].split(',')) { const name = n.trim().split(/\s+/)[0]; if (name) out.push(name); }
      } else {
        const mod = m[1];
        out.push(mod);
        for (const n of m[2].split(',')) {
          const name = n.trim().split(/\s+/)[0];
          if (/^\w+$/.test(name)) out.push(mod.endsWith('.') ? mod + name : `${mod}.${name}`);
        }
      }
    }
  }
  return out;
}

const PY_IMPORT_AT = new RegExp(PY_IMPORT.source, 'my');
const isLineEnd = (c: number) => c === 10 || c === 13 || c === 0x2028 || c === 0x2029; // where a /m ^ can match after

/**
 * The matches of PY_IMPORT (global, multiline) without trying the regex at every line start: a match
 * holds the word "import" on its first line, so only the lines that do are tried (sticky, at their
 * start; a line before the previous match's end is passed over, as the global regex would).
 * Measured 3× faster on psf/requests' blobs, where the plain regex was 6 % of mining time.
 */
function* pyImportMatches(text: string): Generator<RegExpExecArray> {
  let last = 0;
  let tried = -1;
  for (let i = text.indexOf('import'); i >= 0; i = text.indexOf('import', i + 1)) {
    let ls = i;
    while (ls > 0 && !isLineEnd(text.charCodeAt(ls - 1))) ls--;
    if (ls === tried || ls < last) continue;
    tried = ls;
    PY_IMPORT_AT.lastIndex = ls;
    const m = PY_IMPORT_AT.exec(text);
    if (m) { last = PY_IMPORT_AT.lastIndex; yield m; }
  }
}

const JS_TRY = ['', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts', '/index.ts', '/index.tsx', '/index.js', '/index.jsx', '/index.mjs'];

/** The repo path an import specifier names, or null (packages, missing files). */
export function resolveImport(from: string, spec: string, files: Set<string>): string | null {
  return firstIn(importCandidates(from, spec), files);
}

/** The first candidate path that exists: what an import resolves to. */
export function firstIn(cands: readonly string[], files: Set<string>): string | null {
  for (const c of cands) if (files.has(c)) return c;
  return null;
}

/** From path → specifier → candidates (two levels: no key string to build and hash per call). */
const candidateCache = new Map<string, Map<string, string[]>>();
let cachedCount = 0;

/**
 * The paths an import specifier can name, in the order they are tried. They depend on the two strings
 * only, so they are cached: a task resolves the imports of every indexed file, and path arithmetic was
 * most of that cost.
 */
export function importCandidates(from: string, spec: string): string[] {
  let bySpec = candidateCache.get(from);
  let out = bySpec?.get(spec);
  if (out) return out;
  out = [];
  if (JS_EXT.test(from)) {
    if (spec.startsWith('.')) {
      // '../' and './lib/' name folders; '..' from a top-level folder names the repo root (its index file).
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\/+$/, '');
      if (base === '.' || base === '') {
        for (const e of JS_TRY) if (e.startsWith('/')) out.push(e.slice(1));
      } else if (!base.startsWith('../') && base !== '..') {
        const stems = [base];
        const js = /\.(m|c)?jsx?$/.exec(base); // TS sources import './x.js' meaning './x.ts'
        if (js) stems.push(base.slice(0, -js[0].length));
        for (const s of stems) for (const e of JS_TRY) out.push(s + e);
      }
    }
  } else if (from.endsWith('.py')) {
    const dots = /^\.*/.exec(spec)![0].length;
    const rest = spec.slice(dots).split('.').filter(Boolean).join('/');
    const roots: string[] = [];
    if (dots > 0) {
      let dir = path.posix.dirname(from);
      for (let i = 1; i < dots; i++) dir = path.posix.dirname(dir);
      roots.push(dir === '.' ? '' : dir + '/');
    } else {
      roots.push('', 'src/', 'lib/');
      const top = from.split('/')[0];
      if (from.includes('/')) roots.push(top + '/');
    }
    for (const r of roots) {
      if (!rest) out.push(`${r}__init__.py`);
      else out.push(`${r}${rest}.py`, `${r}${rest}/__init__.py`);
    }
  }
  if (cachedCount >= 200_000) { candidateCache.clear(); cachedCount = 0; bySpec = undefined; }
  if (!bySpec) candidateCache.set(from, bySpec = new Map());
  bySpec.set(spec, out);
  cachedCount++;
  return out;
}

const STRIP_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs|py)$/;

/** The names an import can end with to reach a file: its stem, and its folder for index/__init__ files. */
export function importKeysOfPath(p: string): string[] {
  const parts = p.replace(STRIP_EXT, '').split('/');
  const last = parts[parts.length - 1];
  return (last === 'index' || last === '__init__') && parts.length > 1 ? [last, parts[parts.length - 2]] : [last];
}

/** The last name of an import specifier ('./lexer.js' → lexer, 'pkg.models' → models, '.' → *). */
function importKeyOfSpec(spec: string): string {
  const parts = spec.replace(STRIP_EXT, '').split(/[/.]/).filter((x) => x !== '');
  return parts.length ? parts[parts.length - 1] : '*';
}

/** Imports' indexes by their last name ('*' for none): which imports can reach a file is looked up by its names. */
export function byLastName(imports: string[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  imports.forEach((spec, i) => {
    const k = importKeyOfSpec(spec);
    const ix = byKey.get(k);
    if (ix) ix.push(i); else byKey.set(k, [i]);
  });
  return byKey;
}

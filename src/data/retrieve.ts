// Relevant *unchanged* files for a task: BM25F (path weight 2, content 1, bm25.ts) over the text files
// of the repo at the base commit against the task text, interleaved with files that the changed files
// import or that import them (JS/TS, Python), top-k within a byte budget. Term counts and imports are
// cached per blob sha across tasks, since neighbouring commits share most blobs. Reads blobs through
// blobcache.ts; knows nothing about filters beyond "is this path indexable" (filter.ts).

import * as path from 'node:path';
import type { TreeEntry } from './git.ts';
import type { BlobTexts } from './blobcache.ts';
import { pathReason } from './filter.ts';
import { Counts, bm25Scores, tokenHashes } from './bm25.ts';
import type { ContextFile } from './task.ts';

export interface RetrieveOptions {
  /** Most context files per task (0 = none, and no index is built). */
  contextFiles: number;
  /** Most bytes of context per task; a file that does not fit is passed over for a smaller one. */
  contextBytes: number;
  /** Files larger than this are not indexed. */
  indexMaxBytes: number;
  /** Most files indexed per task; the ones nearest (by path) to the changed files are preferred. */
  indexMaxFiles: number;
}

// ---- imports ----------------------------------------------------------------------------------

const JS_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const JS_IMPORT = /(?:\bimport|\bexport)\s[^;'"`]*?\bfrom\s*['"]([^'"\n]+)['"]|\bimport\s*\(?\s*['"]([^'"\n]+)['"]|\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;
const PY_IMPORT = /^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^\n#)]*)|import[ \t]+([\w. \t,]+))/gm;

/** Raw import specifiers of a JS/TS/Python file (Python: dotted names, `from x import a, b` gives x, x.a, x.b). */
export function parseImports(file: string, text: string): string[] {
  const out: string[] = [];
  if (JS_EXT.test(file)) {
    for (const m of text.matchAll(JS_IMPORT)) out.push(m[1] ?? m[2] ?? m[3]);
  } else if (file.endsWith('.py')) {
    for (const m of text.matchAll(PY_IMPORT)) {
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

const JS_TRY = ['', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts', '/index.ts', '/index.tsx', '/index.js', '/index.jsx', '/index.mjs'];

/** The repo path an import specifier names, or null (packages, missing files). */
export function resolveImport(from: string, spec: string, files: Set<string>): string | null {
  if (JS_EXT.test(from)) {
    if (!spec.startsWith('.')) return null;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    const stems = [base];
    const js = /\.(m|c)?jsx?$/.exec(base); // TS sources import './x.js' meaning './x.ts'
    if (js) stems.push(base.slice(0, -js[0].length));
    for (const s of stems) for (const e of JS_TRY) if (files.has(s + e)) return s + e;
    return null;
  }
  if (from.endsWith('.py')) {
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
      if (!rest) { if (files.has(`${r}__init__.py`)) return `${r}__init__.py`; continue; }
      if (files.has(`${r}${rest}.py`)) return `${r}${rest}.py`;
      if (files.has(`${r}${rest}/__init__.py`)) return `${r}${rest}/__init__.py`;
    }
  }
  return null;
}

// ---- the retriever ------------------------------------------------------------------------------

/** A counted blob: its term counts and its imports (with the last name of each, for a quick match). */
interface Doc { counts: Counts; imports: string[]; keys: string[] }

/** The indexable files of one tree, their blobs read and counted: the part of retrieval that can run ahead. */
export interface Corpus { files: Set<string>; docs: TreeEntry[]; counted: Map<string, Doc> }

interface Entry { doc: Doc | null; seen: number }

export class Retriever {
  /** Blob sha → counts and imports (null = not a text file worth indexing), with the corpus number that last used it. */
  private readonly cache = new Map<string, Entry>();
  /** Distinct terms held by the cache, bounded by maxTerms (least recently used docs go first). */
  private terms = 0;
  private readonly pending = new Map<string, Promise<Doc | null>>();
  /** Blobs tokenized so far and their characters (each blob once while it stays cached). */
  readonly counted = { blobs: 0, chars: 0 };
  private readonly pathCounts = new Map<string, Counts>();
  private readonly pathOk = new Map<string, boolean>();
  private gen = 0;

  constructor(private readonly texts: BlobTexts, private readonly o: RetrieveOptions, private readonly maxTerms = 16_000_000) {}

  /** Reads and counts the indexable files of `tree` (all but `exclude`); safe to run for several commits at once. */
  async corpus(tree: readonly TreeEntry[], exclude: string[]): Promise<Corpus> {
    const gen = ++this.gen;
    const skip = new Set(exclude);
    const files = new Set<string>();
    let cands: TreeEntry[] = [];
    for (const e of tree) {
      if (e.type !== 'blob') continue;
      files.add(e.path);
      if ((e.mode === '100644' || e.mode === '100755') && e.size <= this.o.indexMaxBytes && !skip.has(e.path) && this.indexable(e.path)) cands.push(e);
    }
    if (cands.length > this.o.indexMaxFiles) {
      const near = (p: string) => Math.max(...exclude.map((c) => commonPrefix(p, c)));
      cands = cands.map((e) => ({ e, n: near(e.path) })).sort((a, b) => b.n - a.n || (a.e.path < b.e.path ? -1 : 1))
        .slice(0, this.o.indexMaxFiles).map((x) => x.e);
    }
    // Each blob is counted once, even when several read-ahead corpora ask for it at the same time.
    const counted = new Map<string, Doc>();
    const waits: Promise<void>[] = [];
    for (const e of cands) {
      const hit = this.cache.get(e.sha);
      if (hit) { hit.seen = gen; if (hit.doc) counted.set(e.sha, hit.doc); continue; }
      let p = this.pending.get(e.sha);
      if (!p) {
        p = this.texts.get(e.sha).then((dec) => {
          const doc = 'text' in dec ? makeDoc(e.path, dec.text) : null;
          if ('text' in dec) { this.counted.blobs++; this.counted.chars += dec.text.length; }
          this.cache.set(e.sha, { doc, seen: gen });
          this.terms += doc ? doc.counts.terms.length : 0;
          return doc;
        }).finally(() => this.pending.delete(e.sha));
        this.pending.set(e.sha, p);
      }
      waits.push(p.then((doc) => { if (doc) counted.set(e.sha, doc); }));
    }
    await Promise.all(waits);
    if (this.terms > this.maxTerms) this.evict(gen);
    return { files, docs: cands.filter((e) => counted.has(e.sha)), counted };
  }

  private indexable(p: string): boolean {
    let ok = this.pathOk.get(p);
    if (ok === undefined) {
      if (this.pathOk.size > 200_000) this.pathOk.clear();
      ok = pathReason(p) === null;
      this.pathOk.set(p, ok);
    }
    return ok;
  }

  /** Drops the least recently used docs (never the current corpus's) until the cache holds 3/4 of maxTerms. */
  private evict(gen: number): void {
    const old = [...this.cache].filter(([, v]) => v.seen < gen).sort((a, b) => a[1].seen - b[1].seen);
    for (const [k, v] of old) {
      if (this.terms <= this.maxTerms * 0.75) break;
      this.cache.delete(k);
      this.terms -= v.doc ? v.doc.counts.terms.length : 0;
    }
  }

  /** Context files for a task: graph neighbours and BM25 hits interleaved, top-k within the byte budget. */
  async select(corpus: Corpus, changed: { path: string; oldPath?: string; old: string | null; new: string | null }[], text: string): Promise<ContextFile[]> {
    if (this.o.contextFiles <= 0 || this.o.contextBytes <= 0 || corpus.docs.length === 0) return [];
    const { files, docs, counted } = corpus;
    const byPath = new Map(docs.map((d) => [d.path, d]));
    // Import graph: what the changed files import, and which indexed files import them.
    const imports: string[] = [];
    for (const c of changed) {
      const from = c.oldPath ?? c.path;
      for (const spec of parseImports(from, c.old ?? c.new ?? '')) {
        const r = resolveImport(from, spec, files);
        if (r && byPath.has(r) && !imports.includes(r)) imports.push(r);
      }
    }
    const basePaths = new Set(changed.filter((c) => c.old !== null).map((c) => c.oldPath ?? c.path));
    const stems = new Set([...basePaths].flatMap(importKeysOfPath));
    const importedBy: string[] = [];
    for (const d of docs) {
      const doc = counted.get(d.sha)!;
      // Only specifiers whose last name matches a changed file's stem can reach it: resolve just those.
      if (doc.imports.some((spec, i) => {
        if (doc.keys[i] !== '*' && !stems.has(doc.keys[i])) return false;
        const r = resolveImport(d.path, spec, files);
        return r !== null && basePaths.has(r);
      })) importedBy.push(d.path);
    }

    const scores = this.bm25(docs, counted, text);
    const byScore = (a: string, b: string) => (scores.get(b) ?? 0) - (scores.get(a) ?? 0) || (a < b ? -1 : 1);
    const graph: { path: string; reason: ContextFile['reason'] }[] = [
      ...imports.sort(byScore).map((p) => ({ path: p, reason: 'imports' as const })),
      ...importedBy.sort(byScore).map((p) => ({ path: p, reason: 'imported-by' as const })),
    ];
    const ranked = topK(scores, Math.max(32, 8 * this.o.contextFiles)).map((p) => ({ path: p, reason: 'bm25' as const }));
    // Interleave graph neighbours and BM25 hits so that neither crowds the other out; sizes are known
    // from the tree, so the choice is made first and the chosen files are read in one round trip.
    const chosen: { e: TreeEntry; reason: ContextFile['reason'] }[] = [];
    const taken = new Set<string>();
    let budget = this.o.contextBytes;
    for (let i = 0; i < Math.max(graph.length, ranked.length) && chosen.length < this.o.contextFiles; i++) {
      for (const c of [graph[i], ranked[i]]) {
        if (!c || chosen.length >= this.o.contextFiles || taken.has(c.path)) continue;
        const e = byPath.get(c.path)!;
        if (e.size > budget) continue;
        taken.add(c.path);
        budget -= e.size;
        chosen.push({ e, reason: c.reason });
      }
    }
    const decs = await Promise.all(chosen.map((c) => this.texts.get(c.e.sha)));
    return chosen.map((c, i) => {
      const score = scores.get(c.e.path);
      const dec = decs[i];
      return { path: c.e.path, content: 'text' in dec ? dec.text : '', reason: c.reason, ...(score ? { score: Math.round(score * 1000) / 1000 } : {}) };
    });
  }

  /** BM25F scores (path weight 2, content 1) of the docs against the task text. */
  private bm25(docs: TreeEntry[], counted: Map<string, Doc>, text: string): Map<string, number> {
    if (this.pathCounts.size > 100_000) this.pathCounts.clear();
    return bm25Scores(docs.map((d) => {
      let p = this.pathCounts.get(d.path);
      if (!p) { p = Counts.of(d.path); this.pathCounts.set(d.path, p); }
      const body = counted.get(d.sha)!.counts;
      return { id: d.path, fields: [{ weight: 2, tf: p, len: p.len }, { weight: 1, tf: body, len: body.len }] };
    }), tokenHashes(text));
  }
}

function makeDoc(path: string, text: string): Doc {
  // Imports are parsed with the path the blob is first met at (a blob rarely changes language).
  const imports = parseImports(path, text);
  return { counts: Counts.of(text), imports, keys: imports.map(importKeyOfSpec) };
}

const STRIP_EXT = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs|py)$/;

/** The names an import can end with to reach a file: its stem, and its folder for index/__init__ files. */
function importKeysOfPath(p: string): string[] {
  const parts = p.replace(STRIP_EXT, '').split('/');
  const last = parts[parts.length - 1];
  return (last === 'index' || last === '__init__') && parts.length > 1 ? [last, parts[parts.length - 2]] : [last];
}

/** The last name of an import specifier ('./lexer.js' → lexer, 'pkg.models' → models, '.' → *). */
function importKeyOfSpec(spec: string): string {
  const parts = spec.replace(STRIP_EXT, '').split(/[/.]/).filter((x) => x !== '');
  return parts.length ? parts[parts.length - 1] : '*';
}

/** The k best-scored ids (score > 0), best first, ties by id: a bounded insertion, not a sort of all. */
function topK(scores: Map<string, number>, k: number): string[] {
  const best: [string, number][] = [];
  const better = (a: [string, number], b: [string, number]) => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0]);
  for (const e of scores) {
    if (e[1] <= 0 || (best.length === k && !better(e, best[k - 1]))) continue;
    let i = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(e);
    while (i > 0 && better(e, best[i - 1])) { best[i] = best[i - 1]; i--; }
    best[i] = e;
  }
  return best.map((e) => e[0]);
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

// Relevant *unchanged* files for a task: BM25F (path weight 2, content 1, bm25.ts) over the text files
// of the repo at the base commit against the task text, interleaved with files that the changed files
// import or that import them (JS/TS, Python), top-k within a byte budget. The index follows the base
// commit from task to task by tree differences (trees.ts); blobs are counted by docs.ts, found by term
// through postings.ts, linked by imports.ts. Knows nothing about filters beyond "is this path
// indexable" (filter.ts).

import { isRegularFile, type TreeEntry } from './git.ts';
import type { TreeChange, TreeReader } from './trees.ts';
import type { BlobTexts } from './blobcache.ts';
import { pathReason } from './filter.ts';
import { Counts, bm25Idf, bm25Score, docLength, grow, queryTerms, tokenHashes, type Bm25Doc } from './bm25.ts';
import { Docs, type Doc } from './docs.ts';
import { firstIn, importCandidates, importKeysOfPath, langOf, parseImports, resolveImport } from './imports.ts';
import { FilterRows, Postings } from './postings.ts';
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

/**
 * An indexable file of the tree the index is at: its entry and its blob's doc once counted (null: not a
 * text file worth indexing). A text file holds a slot in the index (`slot`, −1 before) with its BM25F
 * fields; what the doc needs at this path (the paths each import can name, the index of its imports
 * with no last name) is filled as asked.
 */
interface Live { e: TreeEntry; doc: Doc | null | undefined; slot: number; bm25?: Bm25Doc; cands: (string[] | undefined)[]; star?: Map<string, number[]> }

/**
 * Retrieval over a live index of one tree, moved from tree to tree by their difference (tree shas
 * compared level by level): a task's base commit is usually a neighbour of the last one, so a move costs
 * the change, not the tree. Scoring and the importer search start from the query's terms and the changed
 * files' names (postings, an index of imports by last name), not from every file: with thousands of
 * files, a scan of all of them per task cost more than everything else.
 */
export class Retriever {
  private readonly docs: Docs;
  private readonly pathOk = new Map<string, boolean>();
  /** The tree the index is at, the paths of its blobs, and its indexable files (those not yet counted apart). */
  private tree: string | null = null;
  private readonly files = new Set<string>();
  private readonly live = new Map<string, Live>();
  private readonly uncounted = new Set<Live>();
  /** The text files by slot, the free slots, their filters sideways, their total BM25F length. */
  private readonly slots: (Live | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly rows = new FilterRows();
  private readonly postings = new Postings(this.rows, (s) => this.slots[s]?.bm25);
  private textLen = 0;
  /** Distinct terms of the docs in slots (a doc in two slots counted twice): Docs keeps at least twice this. */
  private slotTerms = 0;
  /** By slot, in typed arrays for the scoring loop: BM25F length, the task that left it out (or, capped,
   *  took it in), the task whose query touched it, its place among those touched, and its score. */
  private sLen = new Float64Array(256);
  private sOut = new Int32Array(256);
  private sIn = new Int32Array(256);
  private sQ = new Int32Array(256);
  private sQi = new Int32Array(256);
  private sScore = new Float64Array(256);
  /** bm25()'s frequencies, by touched doc and query term: kept from task to task (made and grown anew for each, 0.30 s of an 8 s profile on pytest). */
  private freq = new Float64Array(1 << 14);
  /** The slots the current task's query touched. */
  private touched: number[] = [];
  /** Text files by the last names of their imports ('*': an import with none). */
  private readonly importersByKey = new Map<string, Set<Live>>();
  /** The current task: its number, whether its corpus is capped, its size and length. */
  private task = 0;
  private capped = false;
  private N = 0;
  private total = 0;

  constructor(private readonly trees: TreeReader, private readonly texts: BlobTexts, private readonly o: RetrieveOptions, maxTerms?: number) {
    this.docs = new Docs(texts, maxTerms);
  }

  /** Blobs of base trees left out of the index because the repository does not have them. */
  get missing(): number { return this.trees.missing.size; }

  /**
   * Reads and counts, ahead of time, what a task on tree `to` will index that a task on tree `from` did
   * not: the files that differ between the trees, and those of `before` (the paths the task on `from` left
   * out, with their entries at `from`: the same at `to` unless the difference says otherwise), less
   * `exclude` (the paths this task leaves out). Called for every commit of a walk in turn, this keeps
   * select() from waiting on git. Only saves time: select() counts whatever is missing. A difference
   * larger than the index cap (a first tree) is left to select(), which counts only what a task indexes.
   */
  async warm(from: string | null, to: string, before: readonly TreeChange[], exclude: string[]): Promise<void> {
    const d = await this.trees.diff(from, to);
    const entries = d.map((c) => c.entry);
    if (from !== null) {
      const moved = new Set(d.map((c) => c.path));
      for (const b of before) if (!moved.has(b.path)) entries.push(b.entry);
    }
    const todo = entries.filter((e) => e && this.candidate(e) && !this.docs.has(e.sha) && !exclude.includes(e.path)) as TreeEntry[];
    if (todo.length <= this.o.indexMaxFiles) await Promise.all(todo.map((e) => this.docs.count(e)));
  }

  /**
   * Context files for a task whose base commit has tree `tree` (from TreeReader.root): graph neighbours and
   * BM25 hits interleaved, top-k within the byte budget. `exclude`: the changed paths, never context. `room`:
   * bytes of paths and contents the files may take at most (the prompt's token limit, less the rest of the
   * prompt). Calls must not overlap (each moves the index).
   */
  async select(tree: string, exclude: string[], changed: Changed[], text: string, room = Infinity): Promise<ContextFile[]> {
    if (this.o.contextFiles <= 0 || this.o.contextBytes <= 0) return [];
    await this.moveTo(tree);
    await this.corpus(exclude);
    const picks = this.pick(changed, text, room);
    const decs = await Promise.all(picks.map((p) => this.texts.get(p.sha)));
    return picks.map((p, i) => {
      const dec = decs[i];
      return { path: p.path, content: 'text' in dec ? dec.text : '', reason: p.reason, ...(p.score !== null ? { score: p.score } : {}) };
    });
  }

  /** Moves the index to tree `tree` without choosing anything (a commit with no task): the next move is then one commit's difference. */
  async follow(tree: string): Promise<void> {
    if (this.o.contextFiles > 0 && this.o.contextBytes > 0) await this.moveTo(tree);
  }

  /** BM25F scores (path weight 2, content 1) of the files of the tree but `exclude` against `text`, positive only (for tests). */
  async scores(tree: string, exclude: string[], text: string): Promise<Map<string, number>> {
    await this.moveTo(tree);
    await this.corpus(exclude);
    this.bm25(text);
    return new Map(this.touched.filter((s) => this.sScore[s] > 0).map((s) => [this.slots[s]!.e.path, this.sScore[s]]));
  }

  /** Moves the index to `tree`: the difference is read first, then applied at once (a failed read leaves the index where it was). */
  private async moveTo(tree: string): Promise<void> {
    if (tree === this.tree) return;
    const d = await this.trees.diff(this.tree, tree);
    for (const { path, entry } of d) {
      if (entry?.type === 'blob') this.files.add(path); else this.files.delete(path);
      const old = this.live.get(path);
      if (old) { this.detach(old); this.live.delete(path); }
      if (!entry || !this.candidate(entry)) continue;
      const x: Live = { e: entry, doc: undefined, slot: -1, cands: [], star: undefined };
      this.live.set(path, x);
      const doc = this.docs.get(entry.sha);
      if (doc === undefined) this.uncounted.add(x); else this.attach(x, doc);
    }
    this.tree = tree;
  }

  /** Gives a file its doc and, for a text file, a slot, its filter bits, its imports' names and its length. */
  private attach(x: Live, doc: Doc | null): void {
    x.doc = doc;
    this.uncounted.delete(x);
    if (!doc) return;
    const bm = x.bm25 = { path: pathCounts(x.e.path), content: doc.counts };
    x.slot = this.free.pop() ?? this.slots.length;
    if (x.slot >= this.sLen.length) this.growSlots();
    this.slots[x.slot] = x;
    this.sLen[x.slot] = docLength(bm);
    this.sOut[x.slot] = this.sIn[x.slot] = this.sQ[x.slot] = 0;
    this.rows.set(x.slot, bm.path.bits, bm.content.bits);
    this.postings.changed(x.slot);
    this.textLen += this.sLen[x.slot];
    this.slotTerms += doc.counts.distinct;
    for (const k of doc.byKey.keys()) {
      let set = this.importersByKey.get(k);
      if (!set) this.importersByKey.set(k, set = new Set());
      set.add(x);
    }
  }

  /** Takes a file out of the index (undoes attach; its filter bits stay until the slot is taken again). */
  private detach(x: Live): void {
    this.uncounted.delete(x);
    if (x.slot < 0) return;
    this.postings.changed(x.slot);
    this.slots[x.slot] = undefined;
    this.free.push(x.slot);
    this.textLen -= this.sLen[x.slot];
    this.slotTerms -= x.doc!.counts.distinct;
    x.slot = -1;
    for (const k of x.doc!.byKey.keys()) {
      const set = this.importersByKey.get(k)!;
      set.delete(x);
      if (set.size === 0) this.importersByKey.delete(k);
    }
  }

  /**
   * Sets up the corpus of a task: the text files of the current tree but `exclude` (when more than
   * indexMaxFiles files, the ones nearest by path to the excluded, i.e. changed, files), their blobs
   * counted first; its size and total length.
   */
  private async corpus(exclude: string[]): Promise<void> {
    const task = ++this.task;
    this.docs.now = task;
    const skip = new Set(exclude);
    let present = 0;
    for (const p of skip) if (this.live.has(p)) present++;
    this.capped = this.live.size - present > this.o.indexMaxFiles;
    let xs: Live[] = [];
    if (this.capped) {
      for (const x of this.live.values()) if (!skip.has(x.e.path)) xs.push(x);
      const near = (p: string) => Math.max(...exclude.map((c) => commonPrefix(p, c)));
      xs = xs.map((x) => ({ x, n: near(x.e.path) })).sort((a, b) => b.n - a.n || (a.x.e.path < b.x.e.path ? -1 : 1))
        .slice(0, this.o.indexMaxFiles).map((y) => y.x);
      await this.countAll(xs.filter((x) => x.doc === undefined));
      this.N = this.total = 0;
      for (const x of xs) if (x.slot >= 0) { this.sIn[x.slot] = task; this.N++; this.total += this.sLen[x.slot]; }
    } else {
      await this.countAll([...this.uncounted].filter((x) => !skip.has(x.e.path)));
      this.N = this.slots.length - this.free.length; // text files in the index
      this.total = this.textLen;
      for (const p of skip) {
        const x = this.live.get(p);
        if (x && x.slot >= 0) { this.sOut[x.slot] = task; this.N--; this.total -= this.sLen[x.slot]; }
      }
    }
    this.docs.trim(2 * this.slotTerms);
  }

  private async countAll(xs: Live[]): Promise<void> {
    const docs = await Promise.all(xs.map((x) => this.docs.count(x.e)));
    xs.forEach((x, i) => { if (x.doc === undefined) this.attach(x, docs[i]); });
  }

  /** Whether a file is in the current task's corpus. */
  private inCorpus(x: Live): boolean {
    return x.slot >= 0 && this.inSlot(x.slot);
  }

  private inSlot(s: number): boolean {
    return this.capped ? this.sIn[s] === this.task : this.sOut[s] !== this.task;
  }

  private growSlots(): void {
    this.sLen = grow(this.sLen); this.sOut = grow(this.sOut); this.sIn = grow(this.sIn); this.sQ = grow(this.sQ); this.sQi = grow(this.sQi); this.sScore = grow(this.sScore);
  }

  /** The current task's BM25F score of a path (0: none, or not in the corpus). */
  private scoreOf(p: string): number {
    const x = this.live.get(p);
    return x && x.slot >= 0 && this.sQ[x.slot] === this.task ? this.sScore[x.slot] : 0;
  }

  /** The entry of a file of the current task's corpus, else undefined. */
  private indexed(p: string): TreeEntry | undefined {
    const x = this.live.get(p);
    return x && this.inCorpus(x) ? x.e : undefined;
  }

  /** Whether a tree entry is indexed: a regular file within the size limit on an indexable path. */
  private candidate(e: TreeEntry): boolean {
    return isRegularFile(e.mode) && e.size <= this.o.indexMaxBytes && this.indexable(e.path);
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

  /**
   * The choice itself, synchronous: sizes are known from the tree, so the files are chosen first and
   * read in one round trip. (Kept apart from the reading and in small functions: as one async function
   * V8 recompiled it ~9 times at ~90 ms each, more CPU than the work.)
   */
  private pick(changed: Changed[], text: string, room: number): ContextPick[] {
    if (this.N === 0) return [];
    this.bm25(text);
    const byScore = (a: string, b: string) => this.scoreOf(b) - this.scoreOf(a) || (a < b ? -1 : 1);
    const graph: Candidate[] = [
      ...this.imported(changed).sort(byScore).map((p) => ({ path: p, reason: 'imports' as const })),
      ...this.importers(changed).sort(byScore).map((p) => ({ path: p, reason: 'imported-by' as const })),
    ];
    const ranked = this.topK(Math.max(32, 8 * this.o.contextFiles)).map((p) => ({ path: p, reason: 'bm25' as const }));
    return interleave(graph, ranked, (p) => this.indexed(p), this.o, room).map((c) => {
      const score = this.scoreOf(c.e.path);
      return { path: c.e.path, sha: c.e.sha, reason: c.reason, score: score ? Math.round(score * 1000) / 1000 : null };
    });
  }

  /**
   * BM25F scores of the corpus against the text: bm25.ts's bm25Scores over the corpus, computed from the
   * postings of the query's terms (the other docs score 0), into sScore for the slots in `touched`.
   */
  private bm25(text: string): void {
    const touched: number[] = this.touched = [];
    const { terms, reps } = queryTerms(tokenHashes(text));
    const Q = terms.length;
    if (Q === 0 || this.N === 0) return;
    const df = new Int32Array(Q);
    let freq = this.freq;
    const q = this.task;
    for (let j = 0; j < Q; j++) {
      const list = this.postings.get(terms[j]);
      for (let k = 0; k < list.n; k += 3) {
        const s = list.t[k];
        if (!this.inSlot(s)) continue;
        df[j]++;
        if (this.sQ[s] !== q) {
          this.sQ[s] = q;
          this.sQi[s] = touched.length;
          touched.push(s);
          const end = touched.length * Q;
          if (end > freq.length) freq = this.freq = grow(freq, Math.max(2 * freq.length, end));
          freq.fill(0, end - Q, end);
        }
        freq[this.sQi[s] * Q + j] = list.t[k + 1];
      }
    }
    const idf = bm25Idf(this.N, df);
    for (let i = 0; i < touched.length; i++) this.sScore[touched[i]] = bm25Score(freq, i * Q, reps, idf, this.sLen[touched[i]], this.total / this.N);
  }

  /** The paths of the k best-scored docs (score > 0), best first, ties by path: a bounded insertion, not a sort of all. */
  private topK(k: number): string[] {
    const best: number[] = [];
    const better = (a: number, b: number) => this.sScore[a] > this.sScore[b] || (this.sScore[a] === this.sScore[b] && this.slots[a]!.e.path < this.slots[b]!.e.path);
    for (const s of this.touched) {
      if (this.sScore[s] <= 0 || (best.length === k && !better(s, best[k - 1]))) continue;
      let i = best.length === k ? k - 1 : best.length;
      if (best.length < k) best.push(s);
      while (i > 0 && better(s, best[i - 1])) { best[i] = best[i - 1]; i--; }
      best[i] = s;
    }
    return best.map((s) => this.slots[s]!.e.path);
  }

  /**
   * Indexed files that the changed files import: a changed file's old version is usually in the index (left
   * out of the corpus), its imports and their candidate paths cached there; else they come from the blob
   * cache when counted before, else from its text.
   */
  private imported(changed: Changed[]): string[] {
    const out: string[] = [];
    const add = (r: string | null) => { if (r && this.indexed(r) && !out.includes(r)) out.push(r); };
    for (const c of changed) {
      const from = c.oldPath ?? c.path;
      const x = c.old !== null ? this.live.get(from) : undefined;
      if (x?.doc && x.e.sha === c.oldSha && x.doc.lang === langOf(from)) {
        for (let i = 0; i < x.doc.imports.length; i++) add(firstIn(candidatesAt(x, i), this.files));
        continue;
      }
      const cached = c.old !== null && c.oldSha ? this.docs.get(c.oldSha) : undefined;
      const specs = cached && cached.lang === langOf(from) ? cached.imports : parseImports(from, c.old ?? c.new ?? '');
      for (const spec of specs) add(resolveImport(from, spec, this.files));
    }
    return out;
  }

  /** Indexed files that import a changed file: only those with an import named like one (or with no name) can. */
  private importers(changed: Changed[]): string[] {
    const basePaths = new Set(changed.filter((c) => c.old !== null).map((c) => c.oldPath ?? c.path));
    const stems = new Set([...basePaths].flatMap(importKeysOfPath));
    const asked = new Set<Live>();
    const out: string[] = [];
    for (const k of [...stems, '*']) {
      for (const x of this.importersByKey.get(k) ?? []) {
        if (asked.has(x)) continue;
        asked.add(x);
        if (this.inCorpus(x) && importsAny(x, stems, basePaths, this.files)) out.push(x.e.path);
      }
    }
    return out;
  }
}

/** A changed file as retrieval sees it; `oldSha`, when given, lets its imports come from the blob cache. */
export interface Changed { path: string; oldPath?: string; old: string | null; new: string | null; oldSha?: string }

/** A chosen context file, before its text is read. */
export interface ContextPick { path: string; sha: string; reason: ContextFile['reason']; score: number | null }

type Candidate = { path: string; reason: ContextFile['reason'] };

/** Whether the file imports one of `targets`; only specifiers whose last name is one of `stems` (or none) can. */
function importsAny(x: Live, stems: Set<string>, targets: Set<string>, files: Set<string>): boolean {
  const byKey = x.doc!.byKey;
  const star = byKey.has('*') ? starKeys(x) : null;
  for (const s of stems) {
    if (importsOf(x, byKey.get(s), targets, files)) return true;
    if (star && importsOf(x, star.get(s), targets, files)) return true;
  }
  return false;
}

/**
 * The file's imports with no last name ('.', '../'), indexed by the names of the paths they can resolve
 * to (cached): a file that imports its package root is asked about only when an index or __init__ file
 * changes, not on every task.
 */
function starKeys(x: Live): Map<string, number[]> {
  if (x.star) return x.star;
  const m = new Map<string, number[]>();
  for (const i of x.doc!.byKey.get('*')!) {
    for (const c of candidatesAt(x, i)) {
      for (const k of importKeysOfPath(c)) {
        const ix = m.get(k);
        if (!ix) m.set(k, [i]); else if (!ix.includes(i)) ix.push(i);
      }
    }
  }
  return x.star = m;
}

/** Whether one of the file's imports numbered `ix` resolves to one of `targets`. */
function importsOf(x: Live, ix: number[] | undefined, targets: Set<string>, files: Set<string>): boolean {
  if (ix) for (const i of ix) { const r = firstIn(candidatesAt(x, i), files); if (r !== null && targets.has(r)) return true; }
  return false;
}

/** The paths import i of the file can name (cached). */
function candidatesAt(x: Live, i: number): string[] {
  return x.cands[i] ??= importCandidates(x.e.path, x.doc!.imports[i]);
}

/** Graph neighbours and BM25 hits taken in turn so that neither crowds the other out, within the file and byte budgets (and `room`, for paths and contents). */
function interleave(graph: Candidate[], ranked: Candidate[], indexed: (p: string) => TreeEntry | undefined, o: RetrieveOptions, room: number): { e: TreeEntry; reason: ContextFile['reason'] }[] {
  const chosen: { e: TreeEntry; reason: ContextFile['reason'] }[] = [];
  const taken = new Set<string>();
  let budget = o.contextBytes;
  for (let i = 0; i < Math.max(graph.length, ranked.length) && chosen.length < o.contextFiles; i++) {
    for (const c of [graph[i], ranked[i]]) {
      if (!c || chosen.length >= o.contextFiles || taken.has(c.path)) continue;
      const e = indexed(c.path)!;
      const cost = room === Infinity ? 0 : e.size + Buffer.byteLength(c.path);
      if (e.size > budget || cost > room) continue;
      taken.add(c.path);
      budget -= e.size;
      room -= cost;
      chosen.push({ e, reason: c.reason });
    }
  }
  return chosen;
}

const pathCountCache = new Map<string, Counts>();

/** Term counts of a path (its BM25F field), cached: a path recurs in every version of its file. */
function pathCounts(path: string): Counts {
  let c = pathCountCache.get(path);
  if (!c) {
    if (pathCountCache.size >= 200_000) pathCountCache.clear();
    c = Counts.of(path);
    pathCountCache.set(path, c);
  }
  return c;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

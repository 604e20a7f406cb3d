// Counted blobs: each text blob's term counts (bm25.ts) and imports (imports.ts), by sha, counted once
// and kept, least recently used first out, within a bound on the terms held. A new version of a file is
// counted from the counts of the version last counted at its path. Reads through blobcache.ts; what is
// indexed, and when, is retrieve.ts's.

import type { TreeEntry } from './git.ts';
import type { BlobTexts } from './blobcache.ts';
import { Counts } from './bm25.ts';
import { changedRanges } from './linediff.ts';
import { byLastName, langOf, parseImports, type Lang } from './imports.ts';

/** A counted blob: its term counts and its imports (parsed as `lang`; `byKey` indexes them by their last name, '*' for none, for a quick match). */
export interface Doc { counts: Counts; lang: Lang; imports: string[]; byKey: Map<string, number[]> }

export class Docs {
  /** Blob sha → doc (null = not a text file worth indexing), with the `now` that last used it. */
  private readonly cache = new Map<string, { doc: Doc | null; seen: number }>();
  /** Distinct terms held, bounded by maxTerms or trim()'s floor (16–32 bytes a term). */
  private terms = 0;
  private readonly pending = new Map<string, Promise<Doc | null>>();
  /** The blob last counted at each path: the next version there is counted from its edit. */
  private readonly lastAt = new Map<string, string>();
  /** The caller's clock (a task number): what trim() keeps is what was used at it. */
  now = 0;

  constructor(private readonly texts: BlobTexts, private readonly maxTerms = 2_000_000) {}

  /** The doc of a blob when counted before, else undefined. */
  get(sha: string): Doc | null | undefined {
    const hit = this.cache.get(sha);
    if (!hit) return undefined;
    hit.seen = this.now;
    return hit.doc;
  }

  has(sha: string): boolean { return this.cache.has(sha); }

  /** The doc of the blob `e` names, counted once even when several callers ask at the same time. */
  count(e: TreeEntry): Promise<Doc | null> {
    const hit = this.get(e.sha);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = this.pending.get(e.sha);
    if (!p) {
      p = this.texts.get(e.sha).then((dec) => {
        const doc = 'text' in dec ? this.countAt(e.path, e.sha, dec.text) : null;
        this.cache.set(e.sha, { doc, seen: this.now });
        this.terms += doc ? doc.counts.distinct : 0;
        return doc;
      }).finally(() => this.pending.delete(e.sha));
      this.pending.set(e.sha, p);
    }
    return p;
  }

  /**
   * The doc of `text`, the blob `sha` at `path`, from the doc of the version last counted at that path
   * when it and its text are still cached: only the lines that differ are tokenized (a commit changes a
   * few lines of a file; counting every version whole was a third of mining time), and a Python file's
   * imports are kept when no changed line holds "import" (its import statements are one line each).
   */
  private countAt(path: string, sha: string, text: string): Doc {
    const prev = this.lastAt.get(path);
    if (this.lastAt.size > 200_000) this.lastAt.clear();
    this.lastAt.set(path, sha);
    const before = prev === undefined ? undefined : this.cache.get(prev)?.doc;
    const old = before ? this.texts.peek(prev!) : undefined;
    if (!before || old === undefined) return makeDoc(path, text, Counts.of(text));
    const r = changedRanges(old, text);
    const counts = before.counts.edit(old, text, r) || Counts.of(text);
    if (langOf(path) === 'py' && before.lang === 'py' && !touches(old, text, r, 'import')) return { ...before, counts };
    return makeDoc(path, text, counts);
  }

  /**
   * When over the bound (maxTerms, or `floor` when larger: the Retriever passes twice the terms its index
   * holds, so that a big tree's next versions still find their last ones), drops the least recently used
   * docs (not those used now) until 3/4 of it is held (docs a caller still holds stay alive there).
   */
  trim(floor = 0): void {
    const bound = Math.max(this.maxTerms, floor);
    if (this.terms <= bound) return;
    const old = [...this.cache].filter(([, v]) => v.seen < this.now).sort((a, b) => a[1].seen - b[1].seen);
    for (const [k, v] of old) {
      if (this.terms <= bound * 0.75) break;
      this.cache.delete(k);
      this.terms -= v.doc ? v.doc.counts.distinct : 0;
    }
  }
}

/** Whether a changed region of either text ([a0, a1, b0, b1, …] of changedRanges) holds `word`. */
function touches(a: string, b: string, r: number[], word: string): boolean {
  for (let k = 0; k < r.length; k += 4) {
    if (a.substring(r[k], r[k + 1]).includes(word) || b.substring(r[k + 2], r[k + 3]).includes(word)) return true;
  }
  return false;
}

function makeDoc(path: string, text: string, counts: Counts): Doc {
  // Imports are parsed with the path the blob is first met at (a blob rarely changes language).
  const imports = parseImports(path, text);
  return { counts, lang: langOf(path), imports, byKey: byLastName(imports) };
}

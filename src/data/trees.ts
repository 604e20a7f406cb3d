// Trees through git.ts's BlobReader: the difference between two trees (from the empty tree: a whole
// tree), each tree object parsed once and cached by sha. The retriever moves its index by these differences;
// this file knows nothing about what the files hold.

import { isAbsent, isGitlink, MissingObject, type BlobReader, type RawChange, type TreeEntry } from './git.ts';

/** One entry of one tree object: subtrees have type 'tree' and size -1, gitlinks type 'commit' and size 0, a blob the repository lacks Infinity. */
interface LevelEntry { mode: string; type: string; name: string; sha: string; size: number }

/** A difference between two trees: the entry at `path` in the newer one, or null where it has none. */
export interface TreeChange { path: string; entry: TreeEntry | null }

/**
 * Reads trees through the BlobReader (no process per commit), each tree object parsed once (with the
 * sizes of its blobs) and cached by sha: neighbouring commits share almost all of them, so walking a long
 * history reads only what changed. Gives the difference between two trees, entering only subtrees whose
 * sha differs. The caches are dropped wholesale when they hold more than `maxHeld` entries.
 */
export class TreeReader {
  /** Tree objects by sha: their entries once read, a promise of them while being read. */
  private readonly levels = new Map<string, LevelEntry[] | Promise<LevelEntry[]>>();
  /** The last 256 differences asked for (shared: do not modify them). */
  private readonly diffs = new Map<string, Promise<TreeChange[]>>();
  private held = 0;
  private hashBytes = 20;
  /** Blobs the trees name that the repository does not have (a damaged clone): size Infinity, so never read as a file of the tree. */
  readonly missing = new Set<string>();

  constructor(private readonly reader: BlobReader, private readonly maxHeld = 5_000_000) {}

  /** The sha of a commit's tree; `tree`, when already known, saves a round trip. */
  async root(rev: string, tree?: string): Promise<string> {
    if (this.held > this.maxHeld) { this.levels.clear(); this.diffs.clear(); this.held = 0; }
    const root = tree ?? (await this.reader.info(`${rev}^{tree}`)).sha;
    this.hashBytes = root.length / 2; // 20 (SHA-1) or 32 (SHA-256)
    return root;
  }

  /**
   * What differs from tree `from` to tree `to` (null: the empty tree; both from root()), recursively:
   * each blob or gitlink added or changed (its entry in `to`) or removed (null), in no particular order;
   * from null, every entry of `to` (blob sizes filled in).
   * Subtrees with equal shas are not entered, so the cost is that of the change, not of the tree.
   */
  async diff(from: string | null, to: string | null): Promise<readonly TreeChange[]> {
    const key = `${from}:${to}`;
    const d = this.diffs.get(key); // the miner asks for each difference twice: to read ahead, then to move its index
    return d ?? this.keep(key, (async () => { const out: TreeChange[] = []; await this.diffInto(from, to, '', out); return out; })());
  }

  /**
   * Seeds diff(from, to) with a difference known without reading trees: walking a history newest first,
   * the index mostly moves from a commit's tree to its parent's, and git has already found what differs
   * there (the commit's first-parent diff, turned around by parentSide()).
   */
  seed(from: string, to: string, d: Promise<TreeChange[]>): void {
    const key = `${from}:${to}`;
    if (!this.diffs.has(key)) this.keep(key, d);
  }

  /**
   * The entries that a commit's first-parent diff names, as they are in the parent's tree (null where a
   * path is absent there): the difference from the commit's tree to its parent's. Blob sizes from info()
   * (known already for most).
   */
  async parentSide(changes: readonly RawChange[]): Promise<TreeChange[]> {
    const out: TreeChange[] = [];
    const sized: Promise<void>[] = [];
    for (const ch of changes) {
      if (ch.status === 'R' || ch.status === 'C') {
        out.push({ path: ch.path, entry: null }); // the new path; a copy's source is the same in both trees
        if (ch.status === 'C') continue;
      }
      const path = ch.status === 'R' ? ch.oldPath! : ch.path;
      if (isAbsent(ch.oldMode)) { out.push({ path, entry: null }); continue; }
      const type = typeOf(ch.oldMode);
      const e: TreeEntry = { mode: ch.oldMode, type, sha: ch.oldSha, size: type === 'commit' ? 0 : this.knownSize(ch.oldSha), path };
      if (e.size < 0) sized.push(this.size(e));
      out.push({ path, entry: e });
    }
    await Promise.all(sized);
    return out;
  }

  private keep(key: string, d: Promise<TreeChange[]>): Promise<TreeChange[]> {
    d.catch(() => this.diffs.delete(key));
    if (this.diffs.size >= 256) this.diffs.delete(this.diffs.keys().next().value!);
    this.diffs.set(key, d);
    return d;
  }

  /** Appends the difference to `out`; synchronous (null) when every tree it needs was read before, which is the common case. */
  private diffInto(from: string | null, to: string | null, prefix: string, out: TreeChange[]): Promise<void> | null {
    if (from === to) return null;
    const a = from === null ? NO_ENTRIES : this.levels.get(from);
    const b = to === null ? NO_ENTRIES : this.levels.get(to);
    if (!Array.isArray(a) || !Array.isArray(b)) {
      return Promise.all([from && this.level(from), to && this.level(to)]).then(() => this.diffInto(from, to, prefix, out) ?? undefined);
    }
    const waits: Promise<void>[] = [];
    const sub = (x: string | null, y: string | null, p: string) => { const w = this.diffInto(x, y, p, out); if (w) waits.push(w); };
    const changed = (o: LevelEntry | undefined, e: LevelEntry) => {
      if (o && o.sha === e.sha && o.mode === e.mode) return;
      const p = prefix + e.name;
      const oldTree = o?.type === 'tree' ? o.sha : null;
      if (e.type === 'tree') {
        sub(oldTree, e.sha, p + '/');
        if (o && !oldTree) out.push({ path: p, entry: null });
      } else {
        if (oldTree) sub(oldTree, null, p + '/');
        out.push({ path: p, entry: entryAt(e, p) });
      }
    };
    const removed = (o: LevelEntry) => {
      if (o.type === 'tree') sub(o.sha, null, `${prefix}${o.name}/`); else out.push({ path: prefix + o.name, entry: null });
    };
    // Neighbouring versions of a tree mostly hold the same names in the same order: walked in step
    // until the names part, then matched by name.
    let i = 0;
    while (i < a.length && i < b.length && a[i].name === b[i].name) { changed(a[i], b[i]); i++; }
    if (i < a.length || i < b.length) {
      const old = new Map<string, LevelEntry>();
      for (let k = i; k < a.length; k++) old.set(a[k].name, a[k]);
      for (let k = i; k < b.length; k++) { const o = old.get(b[k].name); old.delete(b[k].name); changed(o, b[k]); }
      for (const o of old.values()) removed(o);
    }
    return waits.length === 0 ? null : Promise.all(waits).then(() => undefined);
  }

  /** The entries of one tree object, the sizes of blobs not seen before asked for in one pipelined round trip. */
  private async level(tree: string): Promise<LevelEntry[]> {
    let p = this.levels.get(tree);
    if (!p) {
      p = this.readLevel(tree);
      this.levels.set(tree, p);
      p.catch(() => this.levels.delete(tree));
    }
    return p;
  }

  private async readLevel(tree: string): Promise<LevelEntry[]> {
    const buf = await this.reader.contents(tree);
    const entries: LevelEntry[] = [];
    const sized: Promise<void>[] = [];
    for (let i = 0; i < buf.length;) {
      const sp = buf.indexOf(0x20, i);
      const nul = buf.indexOf(0, sp);
      // Zero-padded modes ('040000', written by some old tools; git fsck warns) mean the same.
      const mode = buf.toString('latin1', i, sp).padStart(6, '0');
      const sha = buf.toString('hex', nul + 1, nul + 1 + this.hashBytes);
      const type = typeOf(mode);
      const e: LevelEntry = { mode, type, name: buf.toString('utf8', sp + 1, nul), sha, size: type === 'tree' ? -1 : type === 'commit' ? 0 : this.knownSize(sha) };
      if (e.size < 0 && type === 'blob') sized.push(this.size(e));
      entries.push(e);
      i = nul + 1 + this.hashBytes;
    }
    await Promise.all(sized);
    this.held += entries.length;
    this.levels.set(tree, entries);
    return entries;
  }

  private knownSize(sha: string): number {
    return this.missing.has(sha) ? Infinity : this.reader.knownSize(sha) ?? -1;
  }

  /** Fills in a blob's size; a blob the repository lacks gets Infinity (no caller reads a file that large). */
  private size(e: { sha: string; size: number }): Promise<void> {
    return this.reader.info(e.sha).then((x) => { e.size = x.size; }, (err) => {
      if (!(err instanceof MissingObject)) throw err;
      this.missing.add(e.sha);
      e.size = Infinity;
    });
  }
}

const NO_ENTRIES: LevelEntry[] = [];
/** An entry's type by its (six-digit) mode. */
const typeOf = (mode: string) => (mode === '040000' ? 'tree' : isGitlink(mode) ? 'commit' : 'blob');
const entryAt = (e: LevelEntry, path: string): TreeEntry => ({ mode: e.mode, type: e.type, sha: e.sha, size: e.size, path });

// Decoded blob texts by sha, least recently used first out, bounded by total characters. Walking a
// history newest first, a commit's old blob is usually the next commit's new blob, and context files
// repeat from task to task: the cache halves what is read from git and decoded. Reading goes through
// git.ts's BlobReader; what counts as text is filter.ts's decodeText.

import type { BlobReader } from './git.ts';
import { decodeText, type FileReason } from './filter.ts';

export type Decoded = { text: string } | { reason: FileReason };

export class BlobTexts {
  private readonly map = new Map<string, Decoded>();
  private readonly pending = new Map<string, Promise<Decoded>>();
  private chars = 0;

  constructor(private readonly reader: BlobReader, private readonly maxChars = 16_000_000) {}

  /** The blob's text, or why it is not text (binary, non-UTF-8, minified, generated). */
  async get(sha: string): Promise<Decoded> {
    const hit = this.map.get(sha);
    if (hit) {
      this.map.delete(sha); // re-insert: Map order is the recency order
      this.map.set(sha, hit);
      return hit;
    }
    const inFlight = this.pending.get(sha);
    if (inFlight) return inFlight;
    const p = this.reader.contents(sha).then((b) => { const d = decodeText(b); this.put(sha, d); return d; })
      .finally(() => this.pending.delete(sha));
    this.pending.set(sha, p);
    return p;
  }

  /** The blob's text when it is cached (its recency unchanged), else undefined: nothing is read. */
  peek(sha: string): string | undefined {
    const hit = this.map.get(sha);
    return hit && 'text' in hit ? hit.text : undefined;
  }

  private put(sha: string, d: Decoded): void {
    if (this.map.has(sha)) return;
    const n = 'text' in d ? d.text.length : 0;
    if (n > this.maxChars / 4) return;
    this.map.set(sha, d);
    this.chars += n;
    for (const [k, v] of this.map) {
      if (this.chars <= this.maxChars) break;
      this.map.delete(k);
      this.chars -= 'text' in v ? v.text.length : 0;
    }
  }
}

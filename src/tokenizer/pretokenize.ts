// Pre-tokenization shared by the trainer, the reference encoder and the tokenizer.json we write:
// special tokens and their ids, the split pattern, and GPT-2's byte → character table.
// What happens to the pieces (counting, merging) is bpe.ts's business.

export const SPECIAL_TOKENS = ['<|bos|>', '<|eos|>', '<|pad|>'] as const;
export const BOS_ID = 0;
export const EOS_ID = 1;
export const PAD_ID = 2;
export const FIRST_BYTE_ID = SPECIAL_TOKENS.length;

/**
 * Pre-tokenization as declared in tokenizer.json (Oniguruma/Rust syntax): Llama-3's split without
 * its English contractions (they cut quoted code strings like 'src'), digits in runs of 1-3,
 * punctuation runs keep a trailing newline, whitespace runs stay whole so indentation compresses.
 */
export const PRETOKENIZE_PATTERN = String.raw`[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
// The same pattern in JS: `\s` means Unicode White_Space in Oniguruma and in transformers.js's
// rewrite of it, while JS's own \s differs (adds U+FEFF, misses U+0085). A test checks equality.
const PRETOKENIZE_REGEX = new RegExp(PRETOKENIZE_PATTERN.replaceAll(String.raw`\s`, String.raw`\p{White_Space}`).replaceAll(String.raw`\S`, String.raw`\P{White_Space}`), 'gu');
const SPECIAL_SPLIT = new RegExp(SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, '\\|')).join('|'), 'g');

/** GPT-2's byte → printable character table (bytes that print as themselves keep their code point). */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(keep(b) ? b : 256 + n++));
  return out;
})();

/**
 * Calls `onPiece` for each pre-token of `text` in order, exactly as HF's Split(Isolated) cuts it,
 * after cutting out special-token text first (reported by id to `onSpecial`), as HF's added-token
 * splitter does.
 */
export function forEachPiece(text: string, onPiece: (piece: string) => void, onSpecial?: (id: number) => void): void {
  for (const part of splitSpecial(text)) {
    const special = (SPECIAL_TOKENS as readonly string[]).indexOf(part);
    if (special >= 0) {
      onSpecial?.(special);
      continue;
    }
    let prev = 0;
    for (const m of part.matchAll(PRETOKENIZE_REGEX)) {
      if (m.index > prev) onPiece(part.slice(prev, m.index)); // unmatched gap: none with this pattern, kept for fidelity
      onPiece(m[0]);
      prev = m.index + m[0].length;
    }
    if (prev < part.length) onPiece(part.slice(prev));
  }
}

/** The pre-tokens of `text` (special-token text dropped). */
export function preTokenize(text: string): string[] {
  const out: string[] = [];
  forEachPiece(text, (p) => out.push(p));
  return out;
}

function splitSpecial(text: string): string[] {
  if (!text.includes('<|')) return [text];
  const parts: string[] = [];
  let prev = 0;
  for (const m of text.matchAll(SPECIAL_SPLIT)) {
    if (m.index > prev) parts.push(text.slice(prev, m.index));
    parts.push(m[0]);
    prev = m.index + m[0].length;
  }
  if (prev < text.length) parts.push(text.slice(prev));
  return parts;
}

// Writes a trained BPE as a Hugging Face tokenizer folder: tokenizer.json (BPE model with vocab and
// merges, Split + ByteLevel pre-tokenizer, ByteLevel decoder, special added tokens) and
// tokenizer_config.json (bos/eos/pad, PreTrainedTokenizerFast). Loading is load.ts's job.

import * as path from 'node:path';
import { writeJsonAtomic } from '../util/fsx.ts';
import type { BpeConfig, TrainedBpe } from './bpe.ts';
import { BOS_ID, EOS_ID, PAD_ID, PRETOKENIZE_PATTERN, SPECIAL_TOKENS } from './pretokenize.ts';

/** The Hugging Face tokenizer.json for a trained BPE. */
export function tokenizerJson(bpe: TrainedBpe): object {
  const vocab: Record<string, number> = {};
  bpe.vocab.forEach((t, i) => (vocab[t] = i));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: PRETOKENIZE_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      // Byte-level tokens never contain a plain space, so the classic "a b" form is unambiguous.
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

export function tokenizerConfigJson(cfg: Readonly<BpeConfig>): object {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: SPECIAL_TOKENS[BOS_ID],
    eos_token: SPECIAL_TOKENS[EOS_ID],
    pad_token: SPECIAL_TOKENS[PAD_ID],
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: cfg.modelMaxLength,
    added_tokens_decoder: Object.fromEntries(
      SPECIAL_TOKENS.map((content, id) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
  };
}

/**
 * Writes tokenizer_config.json and tokenizer.json into `dir` (each atomically), tokenizer.json last: it is
 * what marks a folder as holding a tokenizer, so a save that failed half way (a full disk) leaves none.
 */
export function saveTokenizer(dir: string, bpe: TrainedBpe, cfg: Readonly<BpeConfig>): void {
  writeJsonAtomic(path.join(dir, 'tokenizer_config.json'), tokenizerConfigJson(cfg));
  writeJsonAtomic(path.join(dir, 'tokenizer.json'), tokenizerJson(bpe));
}

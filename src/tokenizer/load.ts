// Loads a Hugging Face tokenizer folder (tokenizer.json + tokenizer_config.json: ours from bpe.ts
// or a downloaded one) through transformers.js, offline, behind pr-rl's small Tokenizer interface.
// encode adds no BOS/EOS; decode keeps spaces as they are, so decode(encode(x)) === x for our
// tokenizers. Text equal to a special token ("<|eos|>") encodes to that token's id, as in HF.
// Note: importing transformers.js also loads onnxruntime-node's binding (~0.2 s, ~45 MB RSS).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { readJson } from '../util/fsx.ts';

export interface Tokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** One past the largest token id (model vocab and added tokens). */
  vocabSize: number;
  bosId: number;
  eosId: number;
  padId: number;
}

/** Loads the tokenizer in `dir`. Missing bos/pad fall back to eos (GPT-2-style tokenizers have one special). */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const abs = path.resolve(dir); // absolute, so transformers.js never reads it as a hub model id
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!fs.existsSync(path.join(abs, f))) {
      throw new UserError(`${dir}: no ${f} (a tokenizer folder needs tokenizer.json and tokenizer_config.json; make one with \`pr-rl tokenizer train\`)`);
    }
  }
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.useBrowserCache = false;
  let tok: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  try {
    tok = await AutoTokenizer.from_pretrained(abs, { local_files_only: true });
  } catch (e) {
    // transformers.js quotes a file that is not JSON in its error, an empty one as whatever its buffer held: said plainly.
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) readJson(path.join(dir, f));
    throw new UserError(`${dir}: transformers.js could not load the tokenizer (${(e as Error).message.split('\n')[0]})`);
  }

  let maxId = -1;
  for (const id of tok.get_vocab().values()) if (id > maxId) maxId = id;
  const idOf = (t: string): number | undefined => {
    const id = tok.convert_tokens_to_ids(t);
    return typeof id === 'number' ? id : undefined;
  };
  const eosId = num(tok.eos_token_id) ?? idOf('<|eos|>') ?? idOf('<|endoftext|>');
  if (eosId === undefined) throw new UserError(`${dir}: tokenizer has no eos token; set "eos_token" in tokenizer_config.json`);
  const bosId = num(tok.bos_token_id) ?? idOf('<|bos|>') ?? eosId;
  const padId = num(tok.pad_token_id) ?? idOf('<|pad|>') ?? eosId;

  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }),
    decode: (ids) => (ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false })),
    vocabSize: maxId + 1,
    bosId,
    eosId,
    padId,
  };
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isInteger(x) ? x : undefined);

// CLI commands of the model area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';
import { addConfigOptions, configFrom } from './options.ts';
import { BPE_DEFAULTS, type BpeConfig } from '../tokenizer/bpe.ts';

export function registerModel(program: Command): void {
  registerTokenizer(program);
}

const BPE_HELP: { [K in keyof BpeConfig]: string } = {
  vocabSize: 'vocabulary size: 3 special + 256 byte tokens + merges',
  minFrequency: 'stop merging when the best pair occurs fewer times',
  modelMaxLength: 'model_max_length written to tokenizer_config.json',
};

/** `pr-rl tokenizer train`: byte-level BPE → tokenizer.json + tokenizer_config.json. */
function registerTokenizer(program: Command): void {
  const tokenizer = program.command('tokenizer').description('byte-level BPE tokenizers in Hugging Face format');
  const train = tokenizer
    .command('train')
    .description('train a byte-level BPE (<|bos|>=0, <|eos|>=1, <|pad|>=2) and write tokenizer.json + tokenizer_config.json')
    .requiredOption('--data <paths...>', 'text files, folders (walked; binary files skipped) or tasks .jsonl files')
    .option('--out <dir>', 'output folder', 'models/tokenizer');
  addConfigOptions(train, BPE_DEFAULTS, BPE_HELP);
  train.action(async (opts: { data: string[]; out: string }) => {
    const { resolveBpeConfig, trainTokenizer } = await import('../tokenizer/bpe.ts');
    const { saveTokenizer } = await import('../tokenizer/save.ts');
    const { corpusTexts } = await import('../tokenizer/corpus.ts');
    const cfg = resolveBpeConfig(configFrom(train, BPE_DEFAULTS));
    const log = (m: string) => process.stderr.write(`tokenizer: ${m}\n`);
    const { bpe, stats } = trainTokenizer(corpusTexts(opts.data), cfg, log);
    saveTokenizer(opts.out, bpe, cfg);
    const secs = stats.countSeconds + stats.mergeSeconds;
    if (bpe.vocab.length < cfg.vocabSize) log(`warning: only ${bpe.vocab.length} tokens: no pair left with ≥ ${cfg.minFrequency} occurrences (more data or a lower --min-frequency)`);
    process.stdout.write(
      `tokenizer: ${bpe.vocab.length} tokens (${bpe.merges.length} merges) from ${(stats.bytes / 1e6).toFixed(2)} MB in ${stats.docs} documents, ` +
        `${(stats.bytes / stats.tokens).toFixed(2)} bytes/token, ${secs.toFixed(1)}s (${(stats.bytes / 1e6 / secs).toFixed(1)} MB/s) → ${opts.out}\n`,
    );
  });
}

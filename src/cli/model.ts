// CLI commands of the model area: flag parsing only, the work is done in src/.

import type { Command } from 'commander';
import { addConfigOptions, configFrom, MODEL_REF_HELP, wholeNumber } from './options.ts';
import { BACKENDS, REWARD_MODES } from '../config.ts';
import { BPE_DEFAULTS, type BpeConfig } from '../tokenizer/bpe.ts';
import { GENERATE_DEFAULTS, type GenerateConfig } from '../model/generate.ts';
import { UserError } from '../util/errors.ts';

export function registerModel(program: Command): void {
  registerTokenizer(program);
  registerInit(program);
  registerGenerate(program);
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
    .option('--out <dir>', 'output folder', 'models/tokenizer')
    .option('--force', 'write over a tokenizer already in --out', false);
  addConfigOptions(train, BPE_DEFAULTS, BPE_HELP);
  train.action(async (opts: { data: string[]; out: string; force: boolean }) => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { resolveBpeConfig, trainTokenizer } = await import('../tokenizer/bpe.ts');
    const { saveTokenizer } = await import('../tokenizer/save.ts');
    const { corpusTexts } = await import('../tokenizer/corpus.ts');
    const cfg = resolveBpeConfig(configFrom(train, BPE_DEFAULTS));
    const { refuseFileAsFolder } = await import('../util/fsx.ts');
    refuseFileAsFolder(opts.out); // before the training, not at the save
    const { refuseRunOrModel } = await import('../model/open.ts');
    refuseRunOrModel(opts.out, 'tokenizer', true);
    if (!opts.force && fs.existsSync(path.join(opts.out, 'tokenizer.json'))) {
      throw new UserError(`tokenizer: ${opts.out} already holds a tokenizer; give --out a new folder, or --force to write over it`);
    }
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

/** `pr-rl init`: a randomly initialised model folder from a preset and a tokenizer. */
function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a randomly initialised model folder (config.json, model.safetensors, tokenizer files)')
    .option('--preset <name|file>', 'models/<name>.json preset or a JSON file of config.json fields', 'tiny')
    .requiredOption('--tokenizer <dir>', 'tokenizer folder (sets vocab_size and bos/eos/pad ids; copied into the model folder)')
    .requiredOption('--out <dir>', 'model folder to write, e.g. models/my-tiny')
    .option('--seed <n>', 'initialisation seed (0 to 2^32 - 1)', wholeNumber('--seed', 2 ** 32 - 1), 0)
    .option('--vocab-size <n>', "vocabulary size (0 = the tokenizer's; larger pads the embedding)", wholeNumber('--vocab-size'), 0)
    .option('--force', 'overwrite an existing model folder', false)
    .action(async (opts: { preset: string; tokenizer: string; out: string; seed: number; vocabSize: number; force: boolean }) => {
      const fs = await import('node:fs');
      const path = await import('node:path');
      const { refuseFileAsFolder } = await import('../util/fsx.ts');
      refuseFileAsFolder(opts.out);
      const { refuseRunOrModel } = await import('../model/open.ts');
      refuseRunOrModel(opts.out, 'init', false);
      if (!opts.force && fs.existsSync(path.join(opts.out, 'config.json'))) throw new UserError(`${opts.out} already holds a model (use --force to overwrite)`);
      const { initBackend } = await import('../model/backend.ts');
      await initBackend('cpu');
      const { initModelFolder } = await import('../model/weights.ts');
      const { config, params } = await initModelFolder({ preset: opts.preset, tokenizer: opts.tokenizer, out: opts.out, seed: opts.seed, vocabSize: opts.vocabSize });
      const c = config;
      process.stdout.write(
        `init: ${(params / 1e6).toFixed(2)} M parameters (D${c.hidden_size} L${c.num_hidden_layers} H${c.num_attention_heads}/${c.num_key_value_heads} ` +
          `F${c.intermediate_size} V${c.vocab_size} ctx ${c.max_position_embeddings}${c.tie_word_embeddings ? ', tied head' : ''}) → ${opts.out}\n`,
      );
    });
}

const GENERATE_HELP: { [K in keyof GenerateConfig]: string } = {
  maxNewTokens: 'most tokens to generate (stops earlier at eos)',
  temperature: 'sampling temperature; 0 = greedy',
  topP: 'nucleus sampling probability mass (1 = off)',
  topK: 'keep only the k most likely tokens (0 = off)',
  seed: 'sampling seed',
  backend: `tfjs backend: ${BACKENDS.join('|')} (auto = webgpu on a real GPU, else wasm)`,
  engine: 'sampler: tfjs (on --backend) or onnx (onnxruntime CPU, all cores)',
  rewardMode: `answer format a task's prompt asks for: ${REWARD_MODES.join('|')} (use what the model was trained with)`,
};

/** `pr-rl generate`: print one completion for a task or a text. */
function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('print the completion of a model for a task (tasks.jsonl:LINE, or a task id with --data) or for raw text')
    .requiredOption('--model <dir>', MODEL_REF_HELP)
    .requiredOption('--task <ref>', 'file.jsonl:N (1-based line), a task id (with --data), or text used as the prompt')
    .option('--data <file>', 'tasks .jsonl file in which --task is an id')
    .option('--show-prompt', 'print the prompt before the completion', false);
  addConfigOptions(cmd, GENERATE_DEFAULTS, GENERATE_HELP);
  cmd.action(async (opts: { model: string; task: string; data?: string; showPrompt: boolean }) => {
    const { runGenerate } = await import('../model/generate.ts');
    const log = (l: string) => process.stderr.write(l + '\n');
    const r = await runGenerate({ model: opts.model, task: opts.task, data: opts.data, config: configFrom(cmd, GENERATE_DEFAULTS), log });
    if (opts.showPrompt) process.stdout.write(r.prompt + '\n');
    process.stdout.write(r.completion + '\n');
    log(`generate: ${r.newTokens} tokens after a ${r.promptTokens}-token prompt in ${r.seconds.toFixed(2)}s (${(r.newTokens / Math.max(r.seconds, 1e-9)).toFixed(1)} tok/s)${r.truncated ? ', stopped at the token limit' : ''}`);
  });
}

// Test fixtures shared by the SFT, trainer and demo tests: small synthetic repair tasks and a tiny
// model folder (tokenizer trained on those tasks + a randomly initialised 2-layer Llama).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Task } from '../../src/data/task.ts';
import { writeJsonlAtomic } from '../../src/util/fsx.ts';
import { tempDir } from './tmp.ts';

const FUNCS = [
  ['add', 'a + b', 'a - b'],
  ['sub', 'a - b', 'a + b'],
  ['mul', 'a * b', 'a / b'],
  ['max', 'a > b ? a : b', 'a < b ? a : b'],
  ['min', 'a < b ? a : b', 'a > b ? a : b'],
  ['same', 'a === b', 'a !== b'],
  ['diff', 'a !== b', 'a === b'],
  ['both', 'a && b', 'a || b'],
  ['either', 'a || b', 'a && b'],
  ['inc', 'a + 1', 'a + 2'],
  ['dec', 'a - 1', 'a - 2'],
  ['half', 'a / 2', 'a / 3'],
] as const;

/** n small one-line repair tasks (buggy body → fixed body), deterministic. */
export function tinyTasks(n: number, offset = 0): Task[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    const [name, good, bad] = FUNCS[i % FUNCS.length];
    const v = Math.floor(i / FUNCS.length);
    const fn = (body: string) => `export function ${name}${v}(a, b) {\n  const x = ${v};\n  return ${body};\n}\n`;
    return {
      id: `tiny#${i}`,
      repo: 'tiny',
      base: '0'.repeat(40),
      source: 'synthetic',
      text: `Fix the bug in function ${name}${v}.`,
      time: 1_700_000_000 + i,
      changes: [{ path: `src/f${i}.ts`, old: fn(bad), new: fn(good) }],
      context: [],
      stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 20 + (i % 7), language: 'typescript' },
    } satisfies Task;
  });
}

export { tempDir as tmpDir };

/** Writes tasks.jsonl, trains a tokenizer on it and initialises a tiny model; returns their paths. */
export async function tinySetup(dir: string, nTasks = 24, layers = 1): Promise<{ data: string; model: string; tasks: Task[] }> {
  const tasks = tinyTasks(nTasks);
  const data = path.join(dir, 'tasks.jsonl');
  writeJsonlAtomic(data, tasks);
  const { corpusTexts } = await import('../../src/tokenizer/corpus.ts');
  const { trainTokenizer, saveTokenizer, resolveBpeConfig } = await import('../../src/tokenizer/bpe.ts');
  const cfg = resolveBpeConfig({ vocabSize: 400 });
  const { bpe } = trainTokenizer(corpusTexts([data]), cfg);
  saveTokenizer(path.join(dir, 'tok'), bpe, cfg);
  const preset = path.join(dir, 'preset.json');
  fs.writeFileSync(preset, JSON.stringify({
    hidden_size: 32, num_hidden_layers: layers, num_attention_heads: 2, num_key_value_heads: 2, intermediate_size: 64,
    rope_theta: 10000, max_position_embeddings: 256, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  }));
  const { initModelFolder } = await import('../../src/model/weights.ts');
  await initModelFolder({ preset, tokenizer: path.join(dir, 'tok'), out: path.join(dir, 'model'), seed: 3 });
  return { data, model: path.join(dir, 'model'), tasks };
}

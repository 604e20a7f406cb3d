// Training text for the tokenizer: plain text files, folders of them (walked in sorted order; binary
// files, dot-folders, node_modules and tokenizer or model folders skipped), and tasks JSONL files (task
// text, old and new file contents, context files, and the SEARCH/REPLACE markers the policy will write).

import * as fs from 'node:fs';
import { constants } from 'node:buffer';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { readJsonl } from '../util/fsx.ts';
import { validateTask, type Task } from '../data/task.ts';

/** Yields the training documents found in `paths`, in a fixed order. */
export function* corpusTexts(paths: string[]): Generator<string> {
  if (paths.length === 0) throw new UserError('no training data: pass --data <files, folders or tasks.jsonl>...');
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new UserError(`${p}: no such file or folder`);
    if (fs.statSync(p).isDirectory()) {
      for (const f of walk(p)) {
        const text = readText(f);
        if (text !== null) yield text;
      }
    } else if (p.endsWith('.jsonl')) {
      const raw = readJsonl<unknown>(p);
      for (let i = 0; i < raw.length; i++) yield* taskTexts(validateTask(raw[i], `${p}: record ${i + 1}`));
    } else {
      const text = readText(p);
      if (text === null) throw new UserError(`${p}: looks binary (has NUL bytes); pass text files, folders or tasks.jsonl`);
      yield text;
    }
  }
}

/** The texts of one task, roughly as a prompt and its oracle answer show them. */
export function* taskTexts(t: Task): Generator<string> {
  if (t.text) yield t.text;
  for (const c of t.changes) {
    if (c.old !== null) yield `### ${c.oldPath ?? c.path}\n${c.old}`;
    if (c.new !== null) yield `### ${c.path}\n${c.new}`;
    yield `<solution>\n\`\`\`\n### ${c.path}\n<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE\n\`\`\`\n</solution>\n`;
  }
  for (const f of t.context) yield `### ${f.path}\n${f.content}`;
}

/** Tokenizer files: vocabularies, not text (a tokenizer or model folder inside --data, e.g. an earlier --out). */
const TOKENIZER_FILES = new Set(['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']);

function* walk(dir: string, top = true): Generator<string> {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tokenizerHere = entries.some((e) => e.name === 'tokenizer.json');
  if (tokenizerHere && !top) return;
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules' || (tokenizerHere && TOKENIZER_FILES.has(e.name))) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(full, false);
    else if (e.isFile()) yield full;
  }
}

/** File text, or null when the file looks binary. */
function readText(file: string): string | null {
  const head = Buffer.alloc(8192);
  const fd = fs.openSync(file, 'r');
  let size: number;
  try {
    if (head.subarray(0, fs.readSync(fd, head, 0, head.length, 0)).includes(0)) return null;
    size = fs.fstatSync(fd).size;
  } finally { fs.closeSync(fd); }
  if (size > constants.MAX_STRING_LENGTH) throw new UserError(`${file}: ${size} bytes, more text than one string holds; split it into smaller files`);
  return fs.readFileSync(file).toString('utf8');
}

// Run: node --import tsx --test test/tokenizer.test.ts
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BpeEncoder, countWords, resolveBpeConfig, trainBpe, trainTokenizer } from '../src/tokenizer/bpe.ts';
import { BYTE_TO_UNICODE, SPECIAL_TOKENS, preTokenize } from '../src/tokenizer/pretokenize.ts';
import { saveTokenizer, tokenizerJson } from '../src/tokenizer/save.ts';
import { corpusTexts } from '../src/tokenizer/corpus.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { UserError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { tempDir } from './helpers/tmp.ts';

const dirs: string[] = [];
const tmp = () => {
  dirs.push(tempDir('prrl-tok-'));
  return dirs[dirs.length - 1];
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

// A code-like corpus with indentation, numbers, CRLF, tabs and a little non-ASCII text.
function corpus(n = 300): string[] {
  const rng = new Rng(7);
  const names = ['value', 'count', 'items', 'result', 'parseLine', 'self', 'config', 'données', '名前', 'i'];
  const docs: string[] = [];
  for (let d = 0; d < n; d++) {
    const syl = () => rng.pick(['ka', 'lo', 'mi', 'nu', 'ter', 'vex', 'zo', 'qua', 'ré', 'si']);
    const a = rng.next() < 0.5 ? rng.pick(names) : syl() + syl() + syl();
    const b = rng.next() < 0.5 ? rng.pick(names) : syl() + syl();
    const k = rng.int(100000);
    docs.push(
      `def ${a}_${d % 7}(${b}, n=${k}):\n    # compute ${a} from ${b} ✓\n    if ${b} > ${k % 100}:\n        return ${a} + ${b}  \n` +
        `\tfor x in range(${k % 17}):\r\n\t\tprint("${a} — ${b} 😀", x)\r\n    return None\n\n`,
      `export function ${a}(${b}: number): string {\n  const s = \`\${${b}}\`;\n  return s.padStart(${k % 9}, ' ');\n}\n`,
    );
  }
  return docs;
}

const SAMPLES = [
  '',
  ' ',
  '\n',
  'hello world',
  'def f(x):\n\treturn x  # trailing   \r\n\r\n    pass\n',
  'naïve café résumé — Ångström; cafe\u0301 (NFD)',
  '日本語のテキスト、中文字符。한국어 텍스트',
  'emoji 😀👩‍💻🇫🇷 and ZWJ 👨‍👩‍👧',
  'tabs\t\tand\tspaces    mixed \t \n\t\n',
  'CRLF line\r\nnext line\r\n\r\n',
  'odd spaces: a\u00a0b\u2003c\u3000d\u0085e\ufeff f\u200bg',
  'x\u0085\u0085y \ufeff\ufeff z\u00a0\u00a0w\u2028\u2029v\u000b\u000c\u001cu',
  'numbers 1234567890 3.14159 0xDEADbeef 1e-9',
  'text with <|eos|> inside and <|bos|><|pad|> specials, and <|eos| broken',
  '    '.repeat(10) + 'deep indentation\n' + ' '.repeat(33) + '\n',
  '/* comment */ a+=b; c=>d; x!==y && z||w ?? v; `tpl ${x}` \\\\ \' " ',
];

let trained: { dir: string; bpe: ReturnType<typeof trainTokenizer>['bpe'] } | undefined;
function trainedTokenizer() {
  if (!trained) {
    const cfg = resolveBpeConfig({ vocabSize: 600 });
    const { bpe } = trainTokenizer(corpus(), cfg);
    const dir = tmp();
    saveTokenizer(dir, bpe, cfg);
    trained = { dir, bpe };
  }
  return trained;
}

test('special tokens: ids 0,1,2, loaded ids right, "<|eos|>" text encodes to the eos id', async () => {
  const { dir, bpe } = trainedTokenizer();
  assert.deepEqual(bpe.vocab.slice(0, 3), [...SPECIAL_TOKENS]);
  const tok = await loadTokenizer(dir);
  assert.deepEqual([tok.bosId, tok.eosId, tok.padId], [0, 1, 2]);
  assert.deepEqual(tok.encode('<|eos|>'), [1]);
  const ids = tok.encode('a<|eos|>b');
  assert.equal(ids.filter((t) => t === 1).length, 1);
  assert.equal(tok.decode(ids), 'a<|eos|>b');
  assert.equal(tok.decode([0, 1, 2]), '<|bos|><|eos|><|pad|>');
  assert.ok(!tok.encode('hello').includes(0), 'encode adds no BOS');
});

test('vocab size respected; training is deterministic', () => {
  const cfg = resolveBpeConfig({ vocabSize: 600 });
  const a = trainTokenizer(corpus(), cfg).bpe;
  const b = trainTokenizer(corpus(), cfg).bpe;
  assert.equal(a.vocab.length, 600);
  assert.equal(new Set(a.vocab).size, 600);
  assert.equal(JSON.stringify(tokenizerJson(a)), JSON.stringify(tokenizerJson(b)));
  // Too little data: stops early at minFrequency, never exceeds the requested size.
  const small = trainTokenizer(['tiny text, tiny text'], resolveBpeConfig({ vocabSize: 5000 })).bpe;
  assert.ok(small.vocab.length > 259 && small.vocab.length < 5000);
  assert.throws(() => resolveBpeConfig({ vocabSize: 100 }), UserError);
});

test('round trip decode(encode(x)) === x through transformers.js, on unicode, tabs, CRLF, trailing spaces', async () => {
  const { dir } = trainedTokenizer();
  const tok = await loadTokenizer(dir);
  assert.equal(tok.vocabSize, 600);
  for (const s of [...SAMPLES, ...corpus(20)]) {
    const ids = tok.encode(s);
    assert.ok(ids.every((t) => Number.isInteger(t) && t >= 0 && t < tok.vocabSize));
    assert.equal(tok.decode(ids), s, JSON.stringify(s));
  }
});

test('transformers.js reproduces our segmentation and merges exactly', async () => {
  const { dir, bpe } = trainedTokenizer();
  const tok = await loadTokenizer(dir);
  // Pre-tokens first (odd Unicode whitespace is where JS's \s and Oniguruma's disagree).
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const hf = await AutoTokenizer.from_pretrained(path.resolve(dir), { local_files_only: true });
  const byteLevel = (s: string) => Array.from(Buffer.from(s, 'utf8'), (b) => BYTE_TO_UNICODE[b]).join('');
  for (const s of SAMPLES.filter((x) => !x.includes('<|'))) assert.deepEqual(preTokenize(s).map(byteLevel), hf._tokenizer.pre_tokenizer!.pre_tokenize(s), JSON.stringify(s));
  const ours = new BpeEncoder(bpe);
  for (const s of [...SAMPLES, ...corpus(40)]) assert.deepEqual(ours.encode(s), tok.encode(s), JSON.stringify(s));
  // Merges are used: common code compresses well below one token per byte.
  const text = corpus(5).join('');
  assert.ok(tok.encode(text).length < Buffer.byteLength(text) / 2.5);
});

// Reference trainer: recounts every pair at every step (same tie-break: count desc, then ids asc).
function naiveTrain(counts: Map<string, number>, vocabSize: number, minFrequency: number) {
  const vocab: string[] = [...SPECIAL_TOKENS, ...BYTE_TO_UNICODE];
  const id = new Map(vocab.map((t, i) => [t, i]));
  const words = [...counts].map(([w, f]) => ({ f, s: Array.from(Buffer.from(w, 'utf8'), (b) => 3 + b) }));
  const merges: string[] = [];
  while (vocab.length < vocabSize) {
    const pc = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.s.length; i++) pc.set(`${w.s[i]},${w.s[i + 1]}`, (pc.get(`${w.s[i]},${w.s[i + 1]}`) ?? 0) + w.f);
    let best: [number, number, number] | null = null;
    for (const [k, c] of pc) {
      const [a, b] = k.split(',').map(Number);
      if (!best || c > best[2] || (c === best[2] && (a < best[0] || (a === best[0] && b < best[1])))) best = [a, b, c];
    }
    if (!best || best[2] < minFrequency) break;
    const [a, b] = best;
    const text = vocab[a] + vocab[b];
    if (!id.has(text)) id.set(text, vocab.push(text) - 1);
    const m = `${vocab[a]} ${vocab[b]}`;
    if (!merges.includes(m)) merges.push(m);
    const c = id.get(text)!;
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.s.length; i++) {
        if (i + 1 < w.s.length && w.s[i] === a && w.s[i + 1] === b) out.push(c), i++;
        else out.push(w.s[i]);
      }
      w.s = out;
    }
  }
  return { vocab, merges };
}

test('incremental trainer equals a recount-everything reference (overlapping runs like "aaaa")', () => {
  // Hand-checked: (a,b) 7× → "ab"; (ab,ab) 3× → "abab"; tie (x,y) vs (y,ab) at 1× → smaller ids first.
  const hand = trainBpe(new Map([['abab', 3], ['xyab', 1]]), resolveBpeConfig({ vocabSize: 1000, minFrequency: 1 }));
  assert.deepEqual(hand.merges, [['a', 'b'], ['ab', 'ab'], ['x', 'y'], ['xy', 'ab']]);
  const rng = new Rng(3);
  for (let trial = 0; trial < 4; trial++) {
    const counts = new Map<string, number>();
    const parts = ['a', 'b', 'ab', 'ba', 'aaa', ' ', 'c', 'é'];
    let text = '';
    for (let i = 0; i < 3000; i++) text += rng.pick(parts) + (rng.next() < 0.2 ? ' ' : '');
    countWords(text, counts);
    const cfg = resolveBpeConfig({ vocabSize: 259 + 60, minFrequency: 1 + trial });
    const fast = trainBpe(counts, cfg);
    const slow = naiveTrain(counts, cfg.vocabSize, cfg.minFrequency);
    assert.deepEqual(fast.vocab, slow.vocab);
    assert.deepEqual(fast.merges.map(([a, b]) => `${a} ${b}`), slow.merges);
  }
});

test('loads a downloaded-style GPT-2 tokenizer folder and a Llama-3-style one (no BOS added by encode)', async () => {
  const enc = (s: string) => Array.from(Buffer.from(s, 'utf8'), (b) => BYTE_TO_UNICODE[b]).join('');
  const vocab: Record<string, number> = {};
  BYTE_TO_UNICODE.forEach((ch, i) => (vocab[ch] = i));
  const merges = [['h', 'e'], ['l', 'l'], ['he', 'll'], ['Ġ', 'w'], ['hell', 'o']];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const eot = Object.keys(vocab).length; // 261
  const json = (pre: object, post: object | null, content: string) => ({
    version: '1.0', truncation: null, padding: null, normalizer: null, pre_tokenizer: pre, post_processor: post,
    added_tokens: [{ id: eot, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: { ...vocab, [content]: eot }, merges: merges.map((m) => m.join(' ')) },
  });
  const gpt2 = tmp();
  fs.writeFileSync(path.join(gpt2, 'tokenizer.json'), JSON.stringify(json({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, { type: 'ByteLevel', trim_offsets: false }, '<|endoftext|>')));
  fs.writeFileSync(path.join(gpt2, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024 }));
  const g = await loadTokenizer(path.relative(process.cwd(), gpt2)); // a relative path must not be taken for a hub id
  assert.deepEqual([g.bosId, g.eosId, g.padId, g.vocabSize], [eot, eot, eot, eot + 1]);
  assert.deepEqual(g.encode('hello world'), [vocab['hello'], vocab['Ġw'], vocab[enc('o')], vocab[enc('r')], vocab[enc('l')], vocab[enc('d')]]);
  assert.equal(g.decode(g.encode('hello world<|endoftext|> ünï 😀\r\n')), 'hello world<|endoftext|> ünï 😀\r\n');

  const llama = tmp();
  const split = { type: 'Split', pattern: { Regex: String.raw`(?i:'s|'t)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` }, behavior: 'Isolated', invert: false };
  const template = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [eot], tokens: ['<|begin_of_text|>'] } } };
  fs.writeFileSync(path.join(llama, 'tokenizer.json'), JSON.stringify(json({ type: 'Sequence', pretokenizers: [split, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] }, template, '<|begin_of_text|>')));
  fs.writeFileSync(path.join(llama, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<|begin_of_text|>', eos_token: '<|begin_of_text|>' }));
  const l = await loadTokenizer(llama);
  assert.equal(l.bosId, eot);
  assert.deepEqual(l.encode('hello'), [vocab['hello']]);
  assert.equal(l.decode(l.encode("it's\tok\r\n")), "it's\tok\r\n");
});

test('errors a user can act on: missing folder or files', async () => {
  await assert.rejects(loadTokenizer(path.join(tmp(), 'nope')), (e: Error) => e instanceof UserError && /tokenizer\.json/.test(e.message));
  assert.throws(() => [...corpusTexts([path.join(tmp(), 'missing.txt')])], UserError);
});

test('corpus: folders walked in order (binary skipped), tasks.jsonl gives text, old/new and context', () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'b.ts'), 'B');
  fs.writeFileSync(path.join(dir, 'src', 'a.ts'), 'A');
  fs.writeFileSync(path.join(dir, 'src', 'img.png'), Buffer.from([0x89, 0, 1, 2]));
  const task = { id: 't1', repo: 'r', base: 'x', source: 'commit', text: 'Fix the bug', changes: [{ path: 'f.py', old: 'OLD', new: 'NEW' }], context: [{ path: 'g.py', content: 'CTX', reason: 'bm25' }], stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 1, language: 'python' } };
  fs.writeFileSync(path.join(dir, 'tasks.jsonl'), JSON.stringify(task) + '\n');
  const texts = [...corpusTexts([path.join(dir, 'src'), path.join(dir, 'tasks.jsonl')])];
  assert.deepEqual(texts.slice(0, 2), ['A', 'B']);
  const rest = texts.slice(2).join('\n');
  for (const s of ['Fix the bug', '### f.py\nOLD', '### f.py\nNEW', '<<<<<<< SEARCH', '### g.py\nCTX']) assert.ok(rest.includes(s), s);
  // A tokenizer written inside the data folder (an earlier --out, or a model folder) is no training text.
  fs.mkdirSync(path.join(dir, 'src', 'tok'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'notes.txt']) fs.writeFileSync(path.join(dir, 'src', 'tok', f), '{}');
  fs.writeFileSync(path.join(dir, 'src', 'tokenizer.json'), '{}');
  fs.writeFileSync(path.join(dir, 'src', 'tokenizer_config.json'), '{}');
  assert.deepEqual([...corpusTexts([path.join(dir, 'src')])], ['A', 'B']);
  // A text file of more bytes than one string holds is one line, not ERR_STRING_TOO_LONG's stack (text at its
  // start, the rest sparse: no disk used); one that looks binary is passed over in a folder as before.
  const huge = path.join(dir, 'huge.txt');
  fs.writeFileSync(huge, 'text\n'.repeat(2000));
  fs.truncateSync(huge, 600 * 2 ** 20);
  assert.throws(() => [...corpusTexts([huge])], (e: Error) => e instanceof UserError && e.message === `${huge}: 629145600 bytes, more text than one string holds; split it into smaller files`);
  const bins = path.join(dir, 'bins');
  fs.mkdirSync(bins);
  fs.writeFileSync(path.join(bins, 'a.txt'), 'A');
  fs.closeSync(fs.openSync(path.join(bins, 'big.bin'), 'w'));
  fs.truncateSync(path.join(bins, 'big.bin'), 600 * 2 ** 20);
  assert.deepEqual([...corpusTexts([bins])], ['A']);
});

test('cli: pr-rl tokenizer train writes a loadable folder; bad flags give one line', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'code.txt'), corpus(50).join(''));
  const out = path.join(dir, 'tok');
  const ok = spawnSync(process.execPath, ['bin/pr-rl.js', 'tokenizer', 'train', '--data', path.join(dir, 'code.txt'), '--vocab-size', '400', '--out', out], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /400 tokens/);
  assert.equal((await loadTokenizer(out)).vocabSize, 400);
  const bad = spawnSync(process.execPath, ['bin/pr-rl.js', 'tokenizer', 'train', '--data', path.join(dir, 'code.txt'), '--vocab-size', '12', '--out', out], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.trim(), /^pr-rl: --vocab-size must be/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  // A trained tokenizer is written over only when asked.
  const before = fs.readFileSync(path.join(out, 'tokenizer.json'));
  const again = ['bin/pr-rl.js', 'tokenizer', 'train', '--data', path.join(dir, 'code.txt'), '--vocab-size', '300', '--out', out];
  const kept = spawnSync(process.execPath, again, { encoding: 'utf8' });
  assert.equal(kept.status, 1);
  assert.match(kept.stderr.trim(), /^pr-rl: tokenizer: .* already holds a tokenizer; .*--force/);
  assert.equal(kept.stderr.trim().split('\n').length, 1);
  assert.deepEqual(fs.readFileSync(path.join(out, 'tokenizer.json')), before);
  const forced = spawnSync(process.execPath, [...again, '--force'], { encoding: 'utf8' });
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal((await loadTokenizer(out)).vocabSize, 300);
  // A file as --out: one line, before any training.
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'hi\n');
  const onFile = spawnSync(process.execPath, ['bin/pr-rl.js', 'tokenizer', 'train', '--data', path.join(dir, 'code.txt'), '--out', file], { encoding: 'utf8' });
  assert.equal(onFile.status, 1);
  assert.equal(onFile.stderr, `pr-rl: ${file}: a file, not a folder; give --out a folder\n`);
});

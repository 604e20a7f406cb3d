// Benchmark (run by hand: npm run bench:tokenizer): BPE training speed on ~10 MB of JavaScript
// from node_modules (sorted walk, *.min.js skipped), then encode/decode throughput of the
// tokenizer loaded through transformers.js against our direct encoder on held-out files.
// Peer: when $PYTHON (default python3) has the `tokenizers` package, HF's Rust trainer on the same
// text with the same pre-tokenizer and vocab size, timed in the same run; its encoding is also
// compared with ours. Env: BENCH_MB (training MB, default 10), VOCAB (default 4096).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BpeEncoder, resolveBpeConfig, trainTokenizer } from '../src/tokenizer/bpe.ts';
import { PRETOKENIZE_PATTERN, SPECIAL_TOKENS } from '../src/tokenizer/pretokenize.ts';
import { saveTokenizer } from '../src/tokenizer/save.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';

const trainMb = Number(process.env.BENCH_MB ?? 10);
const vocabSize = Number(process.env.VOCAB ?? 4096);
const python = process.env.PYTHON ?? 'python3';

function collect(root: string, budget: number, skip: Set<string>): string[] {
  const files: string[] = [];
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      if (bytes >= budget) return;
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile() && name.endsWith('.js') && !name.endsWith('.min.js') && st.size < 2e6 && !skip.has(full)) {
        files.push(full);
        bytes += st.size;
      }
    }
  };
  walk(root);
  return files;
}

const mb = (b: number) => b / 1e6;
const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
};

const trainFiles = collect('node_modules', trainMb * 1e6, new Set());
const texts = trainFiles.map((f) => fs.readFileSync(f, 'utf8'));
const heldFiles = collect('node_modules', 2e6, new Set(trainFiles));
const held = heldFiles.map((f) => fs.readFileSync(f, 'utf8'));
const heldBytes = held.reduce((s, t) => s + Buffer.byteLength(t), 0);
console.log(`data: ${trainFiles.length} files for training, ${heldFiles.length} held-out files (${mb(heldBytes).toFixed(2)} MB) for encoding`);

const cfg = resolveBpeConfig({ vocabSize });
const rss0 = process.memoryUsage().rss;
const [{ bpe, stats }, trainSecs] = time(() => trainTokenizer(texts, cfg));
const trainRss = process.resourceUsage().maxRSS * 1024;
console.log(
  `train (ours, vocab ${vocabSize}): ${mb(stats.bytes).toFixed(2)} MB, ${stats.words} pre-tokens (${stats.uniqueWords} distinct) → ` +
    `count ${stats.countSeconds.toFixed(2)}s + merges ${stats.mergeSeconds.toFixed(2)}s = ${trainSecs.toFixed(2)}s, ${(mb(stats.bytes) / trainSecs).toFixed(2)} MB/s, ` +
    `${(stats.bytes / stats.tokens).toFixed(2)} bytes/token on the training text; peak RSS ${mb(trainRss).toFixed(0)} MB (${mb(rss0).toFixed(0)} MB before)`,
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prrl-bench-tok-'));
saveTokenizer(dir, bpe, cfg);
const tLoad = performance.now();
const tok = await loadTokenizer(dir);
const loadSecs = (performance.now() - tLoad) / 1000;
console.log(`load through transformers.js (import + parse): ${loadSecs.toFixed(2)}s`);

const ours = new BpeEncoder(bpe);
const [idsOurs, oursSecs] = time(() => held.map((t) => ours.encode(t)));
const [idsHf, hfSecs] = time(() => held.map((t) => tok.encode(t)));
const [decoded, decSecs] = time(() => idsHf.map((ids) => tok.decode(ids)));
const nTok = idsHf.reduce((s, x) => s + x.length, 0);
const same = idsOurs.filter((x, i) => x.length === idsHf[i].length && x.every((v, j) => v === idsHf[i][j])).length;
const exact = decoded.filter((d, i) => d === held[i]).length;
console.log(`encode held-out: transformers.js ${(mb(heldBytes) / hfSecs).toFixed(2)} MB/s (${Math.round(nTok / hfSecs)} tokens/s), ours ${(mb(heldBytes) / oursSecs).toFixed(2)} MB/s; ratio ours/transformers.js ${(hfSecs / oursSecs).toFixed(2)}×`);
console.log(`held-out: ${(heldBytes / nTok).toFixed(2)} bytes/token; identical ids ${same}/${held.length} files; decode ${(mb(heldBytes) / decSecs).toFixed(2)} MB/s, exact round trip ${exact}/${held.length} files`);

// Peer: Hugging Face tokenizers (Rust) trainer, same text, same pre-tokenizer, same vocab size.
const probe = spawnSync(python, ['-c', 'import tokenizers; print(tokenizers.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.log(`peer: skipped (${python} has no "tokenizers" package; set PYTHON=/path/to/python with it)`);
} else {
  const corpus = path.join(dir, 'corpus.json');
  fs.writeFileSync(corpus, JSON.stringify({ train: texts, held }));
  const script = `
import json, sys, time
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex
d = json.load(open(sys.argv[1]))
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(sys.argv[2]), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
tr = trainers.BpeTrainer(vocab_size=int(sys.argv[3]), min_frequency=2, special_tokens=${JSON.stringify(SPECIAL_TOKENS)}, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
t0 = time.perf_counter(); tok.train_from_iterator(d["train"], tr); t1 = time.perf_counter()
ours = Tokenizer.from_file(sys.argv[4])
t2 = time.perf_counter(); enc = ours.encode_batch(d["held"], add_special_tokens=False); t3 = time.perf_counter()
print(json.dumps({"train": t1 - t0, "encode": t3 - t2, "ids": [e.ids for e in enc], "threads": __import__("os").cpu_count()}))
`;
  const r = spawnSync(python, ['-c', script, corpus, PRETOKENIZE_PATTERN, String(vocabSize), path.join(dir, 'tokenizer.json')], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) console.log(`peer: failed: ${r.stderr.trim().split('\n').pop()}`);
  else {
    const out = JSON.parse(r.stdout) as { train: number; encode: number; ids: number[][]; threads: number };
    const sameRust = out.ids.filter((x, i) => x.length === idsHf[i].length && x.every((v, j) => v === idsHf[i][j])).length;
    console.log(`peer HF tokenizers ${probe.stdout.trim()} (Rust, ${out.threads} threads): train ${out.train.toFixed(2)}s (${(mb(stats.bytes) / out.train).toFixed(2)} MB/s); ratio ours/Rust time ${(trainSecs / out.train).toFixed(2)}×`);
    console.log(`peer encode (Rust, batch) of our tokenizer.json: ${(mb(heldBytes) / out.encode).toFixed(2)} MB/s; identical ids to transformers.js ${sameRust}/${held.length} files`);
  }
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

// Run: node --import tsx --test test/data-retrieve.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { changedPaths, mine } from '../src/data/mine.ts';
import { Retriever, type RetrieveOptions } from '../src/data/retrieve.ts';
import { byLastName, parseImports, resolveImport } from '../src/data/imports.ts';
import { BlobReader, streamCommits, type TreeEntry } from '../src/data/git.ts';
import { TreeReader } from '../src/data/trees.ts';
import { BlobTexts } from '../src/data/blobcache.ts';
import { tokenize, tokenHash, countTokens, termCounts, bm25Scores, Counts, scanned, termFrequency, type Bm25Doc } from '../src/data/bm25.ts';
import { FilterRows, Postings } from '../src/data/postings.ts';
import { Docs } from '../src/data/docs.ts';
import { changedRanges } from '../src/data/linediff.ts';
import { Rng } from '../src/util/rng.ts';
import { fixture, tick } from './data-gitfixture.ts';

test('BM25F scores equal wink-bm25-text-search on the same corpus (path weight 2, content 1)', () => {
  const corpus: Record<string, string> = {
    'src/lexer.ts': 'export function lex(s) { return s.split(whitespace); } // tokenizer whitespace handling',
    'src/parser.ts': 'import { lex } from "./lexer"; export function parseExpr(tokens) { return tokens.length; }',
    'docs/tokenizer.md': 'The tokenizer splits input on whitespace. Whitespace runs count once.',
    'src/colors.ts': 'export const red = 1; export const green = 2;',
    'README.md': 'A parser and a tokenizer for a tiny language. See docs/tokenizer.md',
  };
  const query = 'Tokenizer: whitespace runs should count once in the parser (whitespace, not tabs)';
  const wink = (createRequire(import.meta.url)('wink-bm25-text-search') as () => {
    defineConfig(c: object): void; definePrepTasks(t: ((x: string) => string[])[]): void; addDoc(d: object, id: string): void; consolidate(): void; search(q: string, n: number): [string, number][];
  })();
  wink.defineConfig({ fldWeights: { path: 2, body: 1 }, bm25Params: { k1: 1.2, b: 0.75, k: 1 } });
  wink.definePrepTasks([tokenize]);
  for (const [p, body] of Object.entries(corpus)) wink.addDoc({ path: p, body }, p);
  wink.consolidate();
  const expected = new Map(wink.search(query, 10));
  const ids = Object.keys(corpus);
  const ours = bm25Scores(ids.map((p) => ({ path: Counts.of(p), content: Counts.of(corpus[p]) })), tokenize(query).map(tokenHash));
  assert.equal(ours.filter((x) => x > 0).length, expected.size);
  for (const [id, v] of expected) assert.ok(Math.abs(ours[ids.indexOf(id)] - v) < 1e-9, `${id}: ${ours[ids.indexOf(id)]} vs wink ${v}`);
  // Counting by hash is counting the tokens themselves.
  const text = Object.values(corpus).join('\n');
  assert.deepEqual(countTokens(text).tf, termCounts(tokenize(text).map(tokenHash)));
});

test('tokenize splits identifiers; imports parse and resolve for JS/TS and Python', () => {
  assert.deepEqual(tokenize('parseHTTPHeader snake_case_name x'), ['parsehttpheader', 'parse', 'http', 'header', 'snake_case_name', 'snake', 'case', 'name']);
  const ts = `import { a } from './lexer.js';\nimport type { T } from "../types";\nexport * from './re-export';\nconst fs = require('node:fs');\nawait import('./lazy.ts');\nimport './side-effect';`;
  assert.deepEqual(parseImports('src/p.ts', ts), ['./lexer.js', '../types', './re-export', 'node:fs', './lazy.ts', './side-effect']);
  const files = new Set(['src/lexer.ts', 'types/index.ts', 'src/lazy.ts', 'pkg/b.py', 'pkg/c/__init__.py', 'pkg/__init__.py', 'src/mod/x.py']);
  assert.equal(resolveImport('src/p.ts', './lexer.js', files), 'src/lexer.ts');
  assert.equal(resolveImport('src/p.ts', '../types', files), 'types/index.ts');
  assert.equal(resolveImport('src/p.ts', 'node:fs', files), null);
  const py = 'import os, pkg.b as bee\nfrom pkg import c\nfrom . import b\nfrom .. import thing\n  from mod.x import (y, z)\n';
  assert.deepEqual(parseImports('pkg/a.py', py), ['os', 'pkg.b', 'pkg', 'pkg.c', '.', '.b', '..', '..thing', 'mod.x', 'mod.x.y', 'mod.x.z']);
  assert.equal(resolveImport('pkg/a.py', 'pkg.b', files), 'pkg/b.py');
  assert.equal(resolveImport('pkg/a.py', 'pkg.c', files), 'pkg/c/__init__.py');
  assert.equal(resolveImport('pkg/a.py', '.b', files), 'pkg/b.py');
  assert.equal(resolveImport('pkg/a.py', '.', files), 'pkg/__init__.py');
  assert.equal(resolveImport('src/mod/y.py', 'mod.x', files), 'src/mod/x.py');
});

test('tokenizer and Python import scanner edge cases', () => {
  // A compound of 100 parts (more than the scanner's first buffer) keeps every part; the whole is over 40 characters.
  const long = Array.from({ length: 100 }, (_, i) => `p${String.fromCharCode(97 + (i % 26))}`).join('_');
  assert.deepEqual(tokenize(long), long.split('_'));
  assert.deepEqual(tokenize('getHTTPResponse2XX __init__ A_b x_yz'), ['gethttpresponse2xx', 'get', 'http', 'response2', 'xx', 'init', 'a_b', 'x_yz', 'yz']);
  // Counts look up what they counted, and nothing else.
  const text = 'alpha beta alpha gammaDelta';
  const c = countTokens(text);
  assert.deepEqual([...c.tf.entries()].sort(), [...termCounts(tokenize(text).map(tokenHash)).entries()].sort());
  assert.equal(c.len, 6); // alpha beta alpha gammadelta gamma delta
  // Python imports: CR and CRLF line ends, two "import" words on a line, an import word inside another line.
  const py = 'import os\r\nfrom a import b\rx = importlib.import_module("z")\n  import sys, re  # import x\n';
  assert.deepEqual(parseImports('m.py', py), ['os', 'a', 'a.b', 'sys', 're']);
  assert.deepEqual(parseImports('m.py', '\ufeff' + py), ['os', 'a', 'a.b', 'sys', 're'], 'a file\'s BOM (kept in its text) hides no import');
});

/** Writes `text` into the repo's object store as a blob and gives its tree entry at `file`. */
function blobEntry(dir: string, file: string, text: string): TreeEntry {
  const sha = execFileSync('git', ['-C', dir, 'hash-object', '-w', '--stdin'], { input: text, encoding: 'utf8' }).trim();
  return { path: file, sha, mode: '100644', type: 'blob', size: text.length };
}

/** A text of n random code-like lines (camelCase, snake_case, CRLF, unicode, blank and repeated lines). */
function codeLines(rng: Rng, n: number): string[] {
  const words = ['parseHeader', 'user_id', 'retryCount', 'HTTPClient', 'x', 'the', 'naïve', 'ß_value', '__init__', 'getURL2'];
  return Array.from({ length: n }, () => (rng.next() < 0.1 ? '' : Array.from({ length: 1 + rng.int(6) }, () => rng.pick(words)).join(rng.pick([' ', '.', '(', ' = ']))
    + (rng.next() < 0.05 ? '\r' : '')));
}

test('Counts.edit gives the counts of the new text (random edits anywhere, moved blocks, no final newline)', () => {
  const rng = new Rng(11);
  // Same terms and counts, and count() finds each (through the term filter, which edits must keep up).
  const same = (x: Counts, y: Counts) => x.len === y.len && x.distinct === y.distinct && JSON.stringify([...x.entries()].sort()) === JSON.stringify([...y.entries()].sort()) &&
    [...y.entries()].every(([h, c]) => x.count(h) === c);
  let edited = 0;
  for (let t = 0; t < 300; t++) {
    const a = codeLines(rng, rng.int(400));
    const b = a.slice();
    for (let k = 1 + rng.int(6); k > 0; k--) {
      const at = rng.int(b.length + 1);
      const op = rng.int(4);
      if (op === 0) b.splice(at, 0, ...codeLines(rng, 1 + rng.int(3)));
      else if (op === 1) b.splice(at, 1 + rng.int(3));
      else if (op === 2) b[Math.min(at, b.length - 1)] = codeLines(rng, 1)[0];
      else b.splice(rng.int(b.length + 1), 0, ...b.splice(at, 1 + rng.int(20))); // a moved block
    }
    const A = a.join('\n') + (rng.next() < 0.2 ? '' : '\n');
    const B = b.join('\n') + (rng.next() < 0.2 ? '' : '\n');
    const e = Counts.of(A).edit(A, B);
    if (e) { edited++; assert.ok(same(e, Counts.of(B)), JSON.stringify({ A, B })); }
    // A chain of edits stays exact (deleted terms leave marks in the table that later edits must step over).
    const back = (e ?? Counts.of(B)).edit(B, A);
    if (back) assert.ok(same(back, Counts.of(A)));
  }
  assert.ok(edited > 200, `only ${edited} of 300 edits were applied`);
  // Edits at both ends of a large file: two small regions are tokenized, not the file.
  const big = codeLines(rng, 5000);
  const A = big.join('\n') + '\n';
  const B = ['import os', ...big.slice(1, -1), 'tail = naïveEdit'].join('\n') + '\n';
  const before = scanned.chars;
  const e = Counts.of(A).edit(A, B)!;
  const tokenized = scanned.chars - before - A.length;
  assert.ok(same(e, Counts.of(B)));
  assert.ok(tokenized < A.length / 50, `${tokenized} of ${A.length} characters tokenized`);
  // Counts that are not of the old text are caught when the edit removes a term they lack.
  assert.equal(Counts.of('alpha beta\n').edit('alpha zeta\n', 'alpha beta\n'), null);
});

test('Counts.edit stays exact along a file\'s history of many small edits (differences kept apart, then folded in)', () => {
  const rng = new Rng(5);
  // Many distinct terms (so that the differences outgrow their bound and are folded into a new table).
  const line = () => `${codeLines(rng, 1)[0]} id${rng.int(3000)} = value${rng.int(3000)}`;
  const some = (n: number) => Array.from({ length: n }, line);
  let lines = some(120);
  let text = lines.join('\n') + '\n';
  let counts = Counts.of(text);
  let edited = 0;
  for (let v = 0; v < 400; v++) {
    const at = rng.int(lines.length);
    const op = rng.int(3);
    const next = lines.slice();
    if (op === 0) next.splice(at, 0, ...some(1 + rng.int(2)));
    else if (op === 1 && next.length > 20) next.splice(at, 1);
    else next[at] = line();
    const nextText = next.join('\n') + '\n';
    const e = counts.edit(text, nextText);
    if (e) edited++;
    counts = e ?? Counts.of(nextText);
    const fresh = Counts.of(nextText);
    assert.equal(counts.len, fresh.len, `v${v} length`);
    assert.equal(counts.distinct, fresh.distinct, `v${v} distinct`);
    assert.deepEqual([...counts.entries()].sort(), [...fresh.entries()].sort(), `v${v} terms`);
    for (const [h, c] of fresh.entries()) assert.equal(counts.count(h), c);
    for (const w of ['zzz', 'absent', 'nothere']) assert.equal(counts.count(tokenHash(w)), 0);
    [lines, text] = [next, nextText];
  }
  assert.ok(edited > 380, `only ${edited} of 400 versions counted from their edit`);
});

test('Docs: each version of a file, counted from the version before it, has its own text\'s counts and imports', async () => {
  const f = fixture();
  const rng = new Rng(12);
  const reader = new BlobReader(f.dir);
  const docs = new Docs(new BlobTexts(reader));
  // Python lines: imports of each form, code, and lines that only mention "import" or look like one.
  const py = ['import os', 'import a.b as c, d', 'from . import x, y', 'from ..pkg.mod import (name,', '    other)', 'from m import *',
    'x = 1', 'def f(a):', '    return a + 1', 's = "import q"', '# import z', 'print(important)', 'if x:\r    import late'];
  const js = ['import x from "./x.js";', 'const y = require(\'../y\');', 'export { z } from "./z";', 'let n = 1;', 'f(n);'];
  try {
    for (const [file, lines] of [['pkg/mod.py', py], ['src/app.ts', js]] as const) {
      let text = Array.from({ length: 12 }, () => rng.pick(lines)).join('\n') + '\n';
      let carried = 0;
      for (let v = 0; v < 80; v++) {
        const ls = text.split('\n');
        const at = rng.int(ls.length);
        // A small edit: a line replaced, added or removed (one that may or may not hold an import).
        const op = rng.next();
        if (op < 0.4) ls[at] = rng.pick(lines); else if (op < 0.7) ls.splice(at, 0, rng.pick(lines)); else if (ls.length > 3) ls.splice(at, 1);
        const next = ls.join('\n');
        if (next === text) continue;
        const before = parseImports(file, text);
        text = next;
        const doc = (await docs.count(blobEntry(f.dir, file, text)))!;
        assert.deepEqual(doc.imports, parseImports(file, text), `${file} v${v}`);
        assert.deepEqual(doc.byKey, byLastName(doc.imports));
        assert.deepEqual([...doc.counts.entries()].sort(), [...Counts.of(text).entries()].sort(), `${file} v${v} counts`);
        if (doc.imports.join() === before.join()) carried++;
      }
      assert.ok(carried > 20, `${file}: ${carried} versions with the imports of the one before (the carried case is exercised)`);
    }
  } finally { reader.close(); }
});

test('Docs.trim: past its bound the least recently used docs go (not those used now), down to 3/4 of it; a larger floor keeps them', async () => {
  const f = fixture();
  const reader = new BlobReader(f.dir);
  try {
    const terms = (i: number) => Array.from({ length: 10 }, (_, k) => `term${i}x${k}`).join(' ') + '\n'; // 10 distinct terms
    const es = Array.from({ length: 10 }, (_, i) => blobEntry(f.dir, `f${i}.txt`, terms(i)));
    const docs = new Docs(new BlobTexts(reader), 40);
    for (const [i, e] of es.entries()) { docs.now = i; await docs.count(e); }
    docs.trim(200); // 100 terms held, under the floor
    assert.ok(es.every((e) => docs.has(e.sha)), 'nothing dropped under the floor');
    docs.trim();
    // 100 > 40: the oldest go until 30 terms are left; the doc used now (9) stays.
    assert.deepEqual(es.map((e) => docs.has(e.sha)), [false, false, false, false, false, false, false, true, true, true]);
  } finally { reader.close(); }
});

test('changedRanges: the texts agree outside the regions, which start and end at line boundaries', () => {
  const rng = new Rng(3);
  for (let t = 0; t < 200; t++) {
    const a = codeLines(rng, 50 + rng.int(600));
    const b = a.slice();
    for (let k = 1 + rng.int(8); k > 0; k--) b.splice(rng.int(b.length + 1), rng.int(3), ...codeLines(rng, rng.int(3)));
    const A = a.join('\n') + '\n';
    const B = b.join('\n') + (rng.next() < 0.2 ? '' : '\n');
    const r = changedRanges(A, B, rng.pick([0, 64, 4096]));
    let pa = 0;
    let pb = 0;
    for (let k = 0; k < r.length; k += 4) {
      assert.ok(r[k] >= pa && r[k + 2] >= pb && r[k] <= r[k + 1] && r[k + 2] <= r[k + 3], 'regions in order');
      assert.equal(A.slice(pa, r[k]), B.slice(pb, r[k + 2]), 'equal between regions');
      for (const [s, i] of [[A, r[k]], [A, r[k + 1]], [B, r[k + 2]], [B, r[k + 3]]] as const) assert.ok(i === 0 || i === s.length || s[i - 1] === '\n', 'line boundary');
      pa = r[k + 1];
      pb = r[k + 3];
    }
    assert.equal(A.slice(pa), B.slice(pb));
  }
});

test('context: import neighbours and BM25 hits, never the changed files, within the byte budget', async () => {
  const f = fixture();
  f.write('src/parser.ts', "import { lex } from './lexer.js';\nexport function parse(s: string) { return lex(s).length; }\n");
  f.write('src/lexer.ts', 'export function lex(s: string) { return s.split(" "); }\n');
  f.write('src/cli.ts', "import { parse } from './parser.ts';\nconsole.log(parse(process.argv[2]));\n");
  f.write('docs/whitespace-tokenizer.md', 'The tokenizer splits on whitespace. Tabs and whitespace runs are one separator in the tokenizer.\n');
  f.write('src/colors.ts', 'export const red = "#f00";\nexport const green = "#0f0";\n');
  f.write('src/big-whitespace.ts', '// whitespace tokenizer whitespace\n' + 'export const pad = 0;\n'.repeat(3000));
  for (let i = 0; i < 6; i++) f.write(`src/misc${i}.ts`, `export const m${i} = ${i}; // unrelated module number ${i}\n`);
  const base = f.commit('initial');
  f.write('src/parser.ts', "import { lex } from './lexer.js';\nexport function parse(s: string) { return lex(s.trim()).length; }\n");
  f.commit('Tokenizer: treat whitespace runs as one separator');

  const { tasks } = await mine([f.dir], { contextFiles: 3, contextBytes: 4000 });
  const t = tasks[0];
  assert.equal(t.base, base);
  const got = Object.fromEntries(t.context.map((c) => [c.path, c.reason]));
  assert.deepEqual(got, { 'src/lexer.ts': 'imports', 'docs/whitespace-tokenizer.md': 'bm25', 'src/cli.ts': 'imported-by' });
  assert.ok(!t.context.some((c) => c.path === 'src/parser.ts'));
  assert.ok(!t.context.some((c) => c.path === 'src/big-whitespace.ts'), 'over the byte budget');
  assert.ok(t.context.find((c) => c.reason === 'bm25')!.score! > 0);
  assert.equal(t.context.find((c) => c.path === 'src/lexer.ts')!.content, 'export function lex(s: string) { return s.split(" "); }\n');
  assert.ok(t.stats.promptTokens > (t.text.length + t.changes[0].old!.length) / 4, 'context counts in the prompt tokens');

  const none = await mine([f.dir], { contextFiles: 0 });
  assert.deepEqual(none.tasks[0].context, []);
  const one = await mine([f.dir], { contextFiles: 1 });
  assert.equal(one.tasks[0].context.length, 1);

  // --max-prompt-tokens bounds the whole prompt: context files are chosen within what the text and old files leave.
  const bare = none.tasks[0].stats.promptTokens;
  for (const extra of [0, 20, 40, 1000]) {
    const max = bare + extra;
    const r = (await mine([f.dir], { contextFiles: 3, contextBytes: 4000, maxPromptTokens: max })).tasks[0];
    assert.ok(r.stats.promptTokens <= max, `${r.stats.promptTokens} tokens over --max-prompt-tokens ${max}`);
    assert.ok(r.context.reduce((a, c) => a + Buffer.byteLength(c.path) + Buffer.byteLength(c.content), 0) <= 4 * extra);
    assert.deepEqual(r.context.map((c) => c.path), { 0: [], 20: ['src/lexer.ts'], 40: ['src/lexer.ts', 'src/cli.ts'], 1000: t.context.map((c) => c.path) }[extra], `room for ${extra} tokens`);
  }
});

test('imports of a folder or the repo root (\'..\', \'./\') resolve to its index file and link importers to it', async () => {
  const files = new Set(['index.js', 'lib/index.js', 'lib/sub/index.ts', 'lib/a.js']);
  assert.equal(resolveImport('test/app.js', '..', files), 'index.js');
  assert.equal(resolveImport('test/app.js', '../', files), 'index.js');
  assert.equal(resolveImport('lib/a.js', './', files), 'lib/index.js');
  assert.equal(resolveImport('lib/a.js', './sub/', files), 'lib/sub/index.ts');
  assert.equal(resolveImport('test/app.js', '../..', files), null, 'outside the repo');
  const f = fixture();
  f.write('index.js', "module.exports = require('./lib/app');\n");
  f.write('lib/app.js', 'module.exports = function app() { return 1; };\n');
  f.write('test/app.test.js', "var app = require('..');\nassert(app() === 1);\n");
  f.write('test/other.test.js', "var x = require('./helper');\n");
  f.write('test/helper.js', 'module.exports = 2;\n');
  f.commit('initial');
  f.write('index.js', "module.exports = require('./lib/app.js');\n");
  f.commit('Point the entry at the app module explicitly');
  const { tasks } = await mine([f.dir], { contextFiles: 3 });
  const got = Object.fromEntries(tasks[0].context.map((c) => [c.path, c.reason]));
  assert.equal(got['test/app.test.js'], 'imported-by');
  assert.equal(got['lib/app.js'], 'imports');
});

test('Python import graph and a tiny corpus (fewer than 3 indexable files) work', async () => {
  const f = fixture();
  f.write('pkg/__init__.py', '');
  f.write('pkg/models.py', 'class User:\n    name = ""\n');
  f.write('pkg/views.py', 'from pkg.models import User\n\ndef show(u: User):\n    return u.name\n');
  f.write('pkg/urls.py', 'from . import views\n');
  f.commit('initial');
  f.write('pkg/views.py', 'from pkg.models import User\n\ndef show(u: User):\n    return u.name.title()\n');
  f.commit('Show user names in title case');
  const t = (await mine([f.dir], { contextFiles: 5 })).tasks[0];
  const got = Object.fromEntries(t.context.map((c) => [c.path, c.reason]));
  assert.equal(got['pkg/models.py'], 'imports');
  assert.equal(got['pkg/urls.py'], 'imported-by');

  const g = fixture();
  g.write('a.md', 'alpha notes about the parser\n');
  g.write('b.md', 'beta\n');
  g.commit('initial');
  g.write('b.md', 'beta\ngamma\n');
  g.commit('Mention the parser in beta');
  const tiny = (await mine([g.dir], { contextFiles: 3 })).tasks[0];
  assert.deepEqual(tiny.context.map((c) => [c.path, c.reason]), [['a.md', 'bm25']]);
});

/** A repo of ~30 random commits: JS and Markdown files that import each other, added, edited, removed, renamed, and paths that turn from file to folder and back. */
function randomHistory(seed: number): { dir: string; commits: string[]; f: ReturnType<typeof fixture> } {
  const rng = new Rng(seed);
  const f = fixture();
  const words = ['parser', 'lexer', 'token', 'whitespace', 'render', 'cache', 'route', 'handler', 'config', 'session', 'user', 'retry'];
  const dirs = ['', 'src/', 'src/util/', 'lib/', 'docs/'];
  const live = new Set<string>();
  const text = (p: string) => {
    const lines = Array.from({ length: 1 + rng.int(12) }, () => Array.from({ length: 1 + rng.int(6) }, () => rng.pick(words)).join(' '));
    if (p.endsWith('.js')) {
      const others = [...live].filter((x) => x.endsWith('.js') && x !== p);
      for (let k = rng.int(3); k > 0 && others.length; k--) {
        const to = rng.pick(others);
        let rel = path.posix.relative(path.posix.dirname(p), to.replace(/\.js$/, ''));
        if (!rel.startsWith('.')) rel = './' + rel;
        lines.unshift(`const m${k} = require('${rng.next() < 0.2 ? '..' : rel}');`);
      }
    }
    return lines.join('\n') + '\n';
  };
  const clashes = (p: string) => [...live].some((x) => x.startsWith(p + '/') || p.startsWith(x + '/'));
  const commits: string[] = [];
  for (let c = 0; c < 30; c++) {
    const ops = c === 0 ? 12 : 1 + rng.int(4);
    for (let k = 0; k < ops; k++) {
      const op = rng.next();
      const existing = [...live];
      if (op < 0.45 || existing.length < 3) {
        const p = rng.pick(dirs) + rng.pick(words) + (rng.next() < 0.6 ? '.js' : '.md');
        if (clashes(p)) continue;
        f.write(p, text(p)); live.add(p);
      } else if (op < 0.75) {
        const p = rng.pick(existing); f.write(p, text(p));
      } else if (op < 0.88) {
        const p = rng.pick(existing); f.rm(p); live.delete(p);
      } else if (op < 0.95) {
        const p = rng.pick(existing); const q = rng.pick(dirs) + rng.pick(words) + '-moved' + path.posix.extname(p);
        if (live.has(q) || clashes(q)) continue;
        f.write(q, fs.readFileSync(path.join(f.dir, p))); f.rm(p); live.delete(p); live.add(q);
      } else {
        // A folder becomes a file of the same name, or a file a folder.
        const d = rng.pick(['lib', 'src/util']);
        const inside = existing.filter((x) => x.startsWith(d + '/'));
        if (inside.length) { fs.rmSync(path.join(f.dir, d), { recursive: true }); for (const x of inside) live.delete(x); f.write(d, text(d)); live.add(d); }
        else if (live.has(d)) { f.rm(d); live.delete(d); const p = `${d}/${rng.pick(words)}.js`; f.write(p, text(p)); live.add(p); }
      }
    }
    commits.push(f.commit(`commit ${c}`));
  }
  return { dir: f.dir, commits, f };
}

/** Every entry of a tree, by path: its difference from the empty tree. */
async function treeFiles(trees: TreeReader, tree: string): Promise<TreeEntry[]> {
  return (await trees.diff(null, tree)).map((c) => c.entry!).sort((a, b) => (a.path < b.path ? -1 : 1));
}

test('TreeReader.diff equals git diff-tree between any two commits (files turned folders and back, renames, removals)', async () => {
  const { dir, commits } = randomHistory(11);
  const rng = new Rng(3);
  const reader = new BlobReader(dir);
  const trees = new TreeReader(reader);
  try {
    for (let k = 0; k < 40; k++) {
      const [a, b] = [rng.pick(commits), rng.pick(commits)];
      const got = (await trees.diff(k % 7 === 0 ? null : await trees.root(a), await trees.root(b))).map((c) => `${c.entry?.sha ?? '-'} ${c.entry?.size ?? ''} ${c.path}`).sort();
      const args = k % 7 === 0 ? ['ls-tree', '-r', '-l', b] : ['diff-tree', '-r', '--no-renames', a, b];
      const want = execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => {
        const [meta, p] = l.split('\t');
        const f = meta.split(/ +/);
        if (k % 7 === 0) return `${f[2]} ${f[3]} ${p}`;
        const sha = f[3];
        return /^0+$/.test(sha) ? `- ${''} ${p}` : `${sha} ${execFileSync('git', ['-C', dir, 'cat-file', '-s', sha], { encoding: 'utf8' }).trim()} ${p}`;
      }).sort();
      assert.deepEqual(got, want, `${a.slice(0, 7)}..${b.slice(0, 7)}`);
    }
  } finally { reader.close(); }
});

/** randomHistory with side branches forked from older commits and merged back (--no-ff, as pull requests). */
function historyWithMerges(seed: number): string {
  const { f, commits } = randomHistory(seed);
  const rng = new Rng(seed + 100);
  for (let k = 1; k <= 4; k++) {
    f.git('checkout', '-q', '-b', `side${k}`, commits[5 + rng.int(20)]);
    for (let j = 0; j <= rng.int(3); j++) {
      f.write(`side${k}/parser${j}.js`, `const p = require('../side${k}/parser0');\nparse lexer token ${rng.int(100)}\n`);
      if (j > 0) f.write(`side${k}/parser0.js`, `parse token whitespace ${j}\n`);
      f.commit(`Side ${k}: parser ${j}`);
    }
    f.git('checkout', '-q', 'main');
    tick();
    f.git('merge', '-q', '--no-ff', '-m', `Merge pull request #${k} from ada/side${k}\n\nParse tokens on side ${k}`, `side${k}`);
    f.write(`after${k}.md`, `route handler ${k}\n`);
    f.commit(`After merge ${k}: route handler`);
  }
  return f.dir;
}

test('TreeReader.parentSide (a commit\'s git log --raw diff turned around) equals the tree walk from its tree to its first parent\'s', async () => {
  const dir = historyWithMerges(13);
  const reader = new BlobReader(dir);
  const trees = new TreeReader(reader);
  const key = (c: { path: string; entry: TreeEntry | null }) => `${c.path} ${c.entry ? `${c.entry.mode} ${c.entry.type} ${c.entry.sha} ${c.entry.size}` : '-'}`;
  let renames = 0;
  let merges = 0;
  try {
    for await (const c of streamCommits(dir)) {
      if (c.parents.length === 0) continue;
      renames += c.changes.filter((x) => x.status === 'R').length;
      if (c.parents.length > 1) merges++;
      const got = (await trees.parentSide(c.changes)).map(key).sort();
      const want = (await trees.diff(c.tree, await trees.root(c.parents[0]))).map(key).sort();
      assert.deepEqual(got, want, c.sha.slice(0, 7));
    }
  } finally { reader.close(); }
  assert.ok(renames > 0 && merges === 4, `renames ${renames}, merges ${merges}`);
});

test('mined context equals what a fresh retriever picks at each task\'s base (the index follows the history through merges)', async () => {
  const dir = historyWithMerges(17);
  const { tasks } = await mine([dir], { contextFiles: 3 });
  assert.ok(tasks.length > 30 && tasks.some((t) => t.source === 'merge'), `${tasks.length} tasks`);
  const reader = new BlobReader(dir);
  const trees = new TreeReader(reader);
  const texts = new BlobTexts(reader);
  const o: RetrieveOptions = { contextFiles: 3, contextBytes: 24_000, indexMaxBytes: 100_000, indexMaxFiles: 5000 }; // mine()'s defaults
  let picked = 0;
  try {
    for (const t of tasks) {
      const fresh = await new Retriever(trees, texts, o).select(await trees.root(t.base), changedPaths(t.changes), t.changes, t.text);
      assert.deepEqual(t.context, fresh, t.id);
      picked += fresh.length;
    }
  } finally { reader.close(); }
  assert.ok(picked > tasks.length, `${picked} context files`);
});

test('a tree entry with a zero-padded mode (040000, from old tools) is a folder', async () => {
  const f = fixture();
  f.write('docs/guide.md', 'guide\n');
  f.write('README', 'readme\n');
  f.commit('initial');
  const sub = f.git('rev-parse', 'HEAD:docs');
  const readme = f.git('rev-parse', 'HEAD:README');
  // git itself writes 40000; build the padded tree object by hand.
  const raw = Buffer.concat([Buffer.from('100644 README\0'), Buffer.from(readme, 'hex'), Buffer.from('040000 docs\0'), Buffer.from(sub, 'hex')]);
  const padded = execFileSync('git', ['-C', f.dir, 'hash-object', '-t', 'tree', '--literally', '-w', '--stdin'], { input: raw, encoding: 'utf8' }).trim();
  const reader = new BlobReader(f.dir);
  try {
    const trees = new TreeReader(reader);
    assert.deepEqual((await treeFiles(trees, padded)).map((e) => [e.path, e.type]), [['README', 'blob'], ['docs/guide.md', 'blob']]);
    assert.deepEqual(await trees.diff(padded, await trees.root('HEAD')), [], 'the same files as the tree git wrote');
  } finally { reader.close(); }
});

test('the retriever moved from tree to tree (warmed or not) picks what a fresh one picks at each tree', async () => {
  const { dir, commits } = randomHistory(5);
  const rng = new Rng(9);
  const reader = new BlobReader(dir);
  const trees = new TreeReader(reader);
  const texts = new BlobTexts(reader);
  const words = ['parser', 'lexer', 'token', 'whitespace', 'render', 'cache', 'route', 'handler', 'config', 'session', 'user', 'retry'];
  try {
    // Docs' term bound at its default, and at 1: the cache then keeps only twice what the index holds.
    for (const [indexMaxFiles, maxTerms] of [[5000, undefined], [6, undefined], [5000, 1]] as const) {
      const o: RetrieveOptions = { contextFiles: 4, contextBytes: 24_000, indexMaxBytes: 100_000, indexMaxFiles };
      const moved = new Retriever(trees, texts, o, maxTerms);
      let prev: string | null = null;
      let picked = 0;
      for (let k = 0; k < 60; k++) {
        const tree = await trees.root(k % 3 === 0 ? rng.pick(commits) : commits[Math.min(commits.length - 1, Math.max(0, commits.indexOf(rng.pick(commits)) + rng.int(3) - 1))]);
        const files = (await treeFiles(trees, tree)).filter((e) => e.type === 'blob');
        const c = rng.pick(files);
        const old = (await texts.get(c.sha) as { text: string }).text;
        const changed = [{ path: c.path, old, new: old + 'more\n', oldSha: c.sha }];
        const exclude = [c.path, ...(rng.next() < 0.3 ? [rng.pick(files).path] : [])];
        const query = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(words)).join(' ');
        if (rng.next() < 0.5) await moved.warm(prev, tree, [], exclude);
        const got = await moved.select(tree, exclude, changed, query);
        const want = await new Retriever(trees, texts, o).select(tree, exclude, changed, query);
        assert.deepEqual(got, want, `step ${k}`);
        if (indexMaxFiles > files.length) {
          // The index's scores are bm25Scores over the corpus counted afresh.
          const corpus = files.filter((e) => !exclude.includes(e.path));
          const docs = await Promise.all(corpus.map(async (e) => ({ path: Counts.of(e.path), content: Counts.of((await texts.get(e.sha) as { text: string }).text) })));
          const plain = bm25Scores(docs, tokenize(query).map(tokenHash));
          const expected = new Map(corpus.map((e, i) => [e.path, plain[i]] as const).filter(([, v]) => v > 0));
          assert.deepEqual(await moved.scores(tree, exclude, query), expected, `scores at step ${k}`);
        }
        picked += got.length;
        prev = tree;
      }
      assert.ok(picked > 60, 'context was picked');
    }
  } finally { reader.close(); }
});

test('Postings: a term\'s entries are the docs holding it, each once, as docs come and go in slots (lists updated, remade, evicted)', () => {
  for (const maxHeld of [600, 1_000_000]) { // lists evicted all the time, and never
    const rng = new Rng(21);
    const words = Array.from({ length: 40 }, (_, i) => `w${i}x`);
    const rows = new FilterRows();
    const docs: (Bm25Doc | undefined)[] = [];
    const post = new Postings(rows, (s) => docs[s], maxHeld);
    const text = () => Array.from({ length: rng.int(30) }, () => rng.pick(words)).join(' ');
    const set = (s: number, d: Bm25Doc | undefined) => {
      docs[s] = d;
      if (d) rows.set(s, d.path.bits, d.content.bits);
      post.changed(s);
    };
    for (let step = 0; step < 600; step++) {
      // Mostly a few hot slots (as a repo's busiest files), so that lists are often brought up to date
      // after changes to slots they hold (their entries dropped, the slots probed anew), and in bursts
      // made afresh (more changes than a fresh list would probe).
      const burst = step % 100 >= 50;
      for (let k = rng.int(burst ? 60 : 4); k > 0; k--) {
        set(burst || rng.next() < 0.7 ? rng.int(4) : rng.int(70), rng.next() < 0.2 ? undefined : { path: Counts.of(rng.pick(words)), content: Counts.of(text()) });
      }
      const h = tokenHash(rng.pick(words));
      assert.equal(rows.count(h), rows.slots(h, []), 'count: the slots a fresh list probes');
      const list = post.get(h);
      const got = new Map<number, number>();
      for (let i = 0; i < list.n; i += 3) { assert.ok(!got.has(list.t[i]), 'one entry a slot'); got.set(list.t[i], list.t[i + 1]); }
      const want = new Map<number, number>();
      docs.forEach((d, s) => { const f = d ? termFrequency(d, h) : 0; if (f) want.set(s, f); });
      assert.deepEqual([...got].sort((a, b) => a[0] - b[0]), [...want].sort((a, b) => a[0] - b[0]), `maxHeld ${maxHeld}, step ${step}`);
    }
  }
});

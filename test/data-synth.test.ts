// Run: node --import tsx --test test/data-synth.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthesize, globToRegex } from '../src/data/synth.ts';
import { scan } from '../src/data/codescan.ts';
import { lineMutations, MUTATION_KINDS } from '../src/data/mutate.ts';
import { validateTask } from '../src/data/task.ts';
import { UserError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { tempDir } from './helpers/tmp.ts';

const TS = `import { x } from './x.ts';

// A comment with a == b and i < n that must never change.
export function clamp(v: number, lo: number, hi: number): number {
  const msg = "lo == hi && v < lo";
  if (v < lo) return lo;
  if (v > hi) return hi;
  return v;
}

export function sumTo(xs: number[], limit: number): number {
  let total = 0;
  for (let i = 0; i < xs.length; i++) {
    if (total + xs[i] > limit && limit !== 0) break;
    total += xs[i];
  }
  done(total, limit);
  return total;
}

export class Box {
  private open = false;
  toggle(flag: boolean): void {
    if (!flag) return;
    this.open = !this.open;
    log(this.open, flag);
  }
}
`;

const PY = `"""Module docstring: x == y and a < b stay."""


def window(items, start, size):
    # comment: i <= n
    end = start + size
    if end > len(items):
        end = len(items)
    out = []
    for i in range(start, end):
        out.append(items[i])
    return out


def is_ready(flag, count):
    if flag and count == 0:
        return True
    return False
`;

const JS = `function pick(rows, key) {
  const seen = new Set();
  for (const r of rows) {
    if (seen.has(r[key])) continue;
    seen.add(r[key]);
  }
  return [...seen].slice(0, 10);
}
module.exports = { pick };
`;

function repo(files: Record<string, string>): string {
  const dir = tempDir('prrl-synth-');
  const g = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { stdio: 'pipe' });
  g('init', '-q');
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
  }
  g('add', '-A');
  g('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init');
  return dir;
}

const FILES = { 'src/util.ts': TS, 'lib/win.py': PY, 'web/pick.js': JS, 'README.md': 'a == b\n' };
const dir = repo(FILES);
const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD']).toString().trim();

/** The lines of `a` that `b` lacks (or differs in). */
function changedLines(a: string, b: string): string[] {
  const bl = new Set(b.split('\n'));
  return a.split('\n').filter((l) => !bl.has(l));
}

test('synth: every task is a real, unique, one-bug change of working code with a valid record', () => {
  const { tasks, summary } = synthesize(dir, { count: 60, seed: 1 });
  assert.ok(tasks.length >= 30, `got ${tasks.length} tasks`);
  assert.equal(new Set(tasks.map((t) => t.id)).size, tasks.length);
  assert.equal(new Set(tasks.map((t) => JSON.stringify([t.changes[0].path, t.changes[0].old, t.changes[0].new]))).size, tasks.length);
  for (const t of tasks) {
    validateTask(JSON.parse(JSON.stringify(t)), t.id);
    const c = t.changes[0];
    assert.equal(t.source, 'synthetic');
    assert.equal(t.base, head);
    assert.equal(t.changes.length, 1);
    assert.notEqual(c.old, c.new);
    assert.ok(c.path !== 'README.md');
    // new is the original text of the window, verbatim.
    const orig = FILES[c.path as keyof typeof FILES].split('\n');
    assert.ok(c.window, 'function windows are set');
    assert.equal(c.new, orig.slice(c.window!.start, c.window!.start + c.new!.split('\n').length - 1).join('\n') + '\n');
    assert.ok(c.new!.split('\n').length - 1 <= 16);
    // One line changed or deleted, and never inside a string or comment.
    const removedLines = changedLines(c.new!, c.old!);
    assert.equal(removedLines.length, 1, `${t.id}: ${JSON.stringify(removedLines)}`);
    assert.ok(!/A comment|docstring|# comment/.test(removedLines[0]), removedLines[0]);
    if (removedLines[0].includes('const msg')) assert.ok(c.old!.includes('"lo == hi && v < lo"'));
    // The text names the file and the symptom, not the line.
    assert.ok(t.text.includes(c.path), t.text);
    assert.ok(!t.text.includes(removedLines[0].trim()), t.text);
    assert.equal(t.stats.files, 1);
    assert.ok(t.stats.added + t.stats.removed >= 1 && t.stats.added <= 1 && t.stats.removed <= 1);
    assert.ok(t.stats.promptTokens > 0);
    assert.ok(['typescript', 'python', 'javascript'].includes(t.stats.language));
  }
  for (const k of MUTATION_KINDS) assert.ok(summary.byKind[k] > 0, `kind ${k} produced: ${JSON.stringify(summary.byKind)}`);
  assert.deepEqual(new Set(tasks.map((t) => t.stats.language)), new Set(['typescript', 'python', 'javascript']));
});

test('synth: deterministic for a seed, different for another', () => {
  const a = synthesize(dir, { count: 25, seed: 7 }).tasks;
  const b = synthesize(dir, { count: 25, seed: 7 }).tasks;
  const c = synthesize(dir, { count: 25, seed: 8 }).tasks;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((t) => t.id), c.map((t) => t.id));
});

test('synth: strings and comments are never mutated', () => {
  const s = scan('const s = "a == b" + x; // i < n && ok\nconst t = `${a} < ${b}`;\nconst r = /a+1/.test(q) || z;\n', 'typescript');
  const muts = [0, 1, 2].flatMap((i) => lineMutations(s, i, new Rng(1)));
  assert.ok(muts.length > 0);
  for (const m of muts) {
    if (m.text === null) continue;
    if (m.line === 0) assert.ok(m.text.includes('"a == b"') && m.text.endsWith('// i < n && ok'), m.text);
    if (m.line === 1) assert.ok(/`\$\{\w+\} < \$\{\w+\}`/.test(m.text), m.text); // the code inside ${…} may change, the text not
    if (m.line === 2) assert.ok(m.text.includes('/a+1/'), m.text);
    // Those lines have no comparison or logical operator outside strings, comments and regexes.
    if (m.line < 2) assert.ok(!/comparison|logical/.test(m.symptom), `${m.symptom}: ${m.text}`);
  }
  // A template literal inside a ${…}: its text is text, the code around it code, and the lines after it too.
  const nested = scan('const u = `${xs.map((v) => `<i>${v} == ${w}</i>`).join(k > 1 ? "," : "")} && y`;\nif (n < m) run(n);\n', 'typescript');
  const inner = lineMutations(nested, 0, new Rng(1));
  assert.ok(inner.some((m) => m.text?.includes('k >= 1')), 'code inside ${…} is code');
  for (const m of inner) assert.ok(m.text === null || (m.text.includes('</i>`') && m.text.includes('${w}</i>') && m.text.endsWith(' && y`;') && / == /.test(m.text)), m.text!);
  assert.ok(lineMutations(nested, 1, new Rng(1)).some((m) => m.text === 'if (n <= m) run(n);'), 'the next line is code');
  const py = scan('x = "a == b"  # i < n and ok\ny = """\nz == 1 and w\n"""\n', 'python');
  for (let i = 0; i < py.lines.length; i++) for (const m of lineMutations(py, i, new Rng(1))) {
    assert.notEqual(m.line, 2, 'inside a triple-quoted string');
    if (m.text) assert.ok(m.text.includes('"a == b"  # i < n and ok') || m.line !== 0, m.text);
  }
});

test('synth: each bug kind on a known line', () => {
  const s = scan(TS, 'typescript');
  const line = (needle: string) => s.lines.findIndex((l) => l.includes(needle));
  const all = (needle: string) => lineMutations(s, line(needle), new Rng(2));
  const texts = (needle: string, kind: string) => all(needle).filter((m) => m.kind === kind).map((m) => m.text);
  assert.ok(texts('i < xs.length', 'operator').includes('  for (let i = 0; i <= xs.length; i++) {'));
  assert.ok(texts('if (v < lo)', 'negate').includes('  if (!(v < lo)) return lo;'));
  assert.ok(texts('i < xs.length', 'bound').includes('  for (let i = 0; i < xs.length + 1; i++) {'));
  assert.ok(texts('limit !== 0', 'operator').includes('    if (total + xs[i] > limit || limit !== 0) break;'));
  assert.ok(texts('done(total, limit)', 'swap').includes('  done(limit, total);'));
  assert.ok(texts('done(total, limit)', 'delete').includes(null));
  assert.ok(texts('let total = 0', 'literal').includes('  let total = 1;'));
  assert.ok(texts('private open = false', 'literal').includes('  private open = true;'));
  assert.ok(texts('if (!flag) return', 'negate').includes('    if (flag) return;'));
  assert.ok(texts('total += xs[i]', 'variable').length > 0);
  assert.equal(all('import { x }').length, 0, 'imports are left alone');
  const p = scan(PY, 'python');
  const pl = (needle: string) => lineMutations(p, p.lines.findIndex((l) => l.includes(needle)), new Rng(2));
  assert.ok(pl('if flag and count == 0').some((m) => m.text === '    if flag or count == 0:'));
  assert.ok(pl('if flag and count == 0').some((m) => m.text === '    if not (flag and count == 0):'));
  assert.ok(pl('end = start + size').some((m) => m.text === '    end = start - size'));
  assert.ok(pl('return True').some((m) => m.text === '        return False'));
  // The only statement of a Python block cannot be deleted (syntax error); a statement with siblings can,
  // but not a name's first assignment (its declaration: reading it would fail at once).
  assert.ok(!pl('out.append(items[i])').some((m) => m.kind === 'delete'));
  assert.ok(!pl('end = start + size').some((m) => m.kind === 'delete'));
  const q = scan('def f(xs):\n    total = 0\n    total = total + len(xs)\n    log(total)\n    return total\n', 'python');
  const del = (needle: string) => lineMutations(q, q.lines.findIndex((l) => l.includes(needle)), new Rng(2)).some((m) => m.kind === 'delete');
  assert.deepEqual(['total = 0', 'total = total', 'log(total)'].map(del), [false, true, true]);
  // What only type checkers read is left alone: an `if TYPE_CHECKING:` block, an `@overload` stub.
  const typed = scan('from typing import TYPE_CHECKING, overload\nif TYPE_CHECKING:\n    Z = int\n    N = 1\n\n@overload\ndef f(a: int = 1) -> int: ...\n@typing.overload\ndef f(\n    a: str = "",\n' +
    '    b: bool = False,\n) -> str:\n    ...\ndef f(a=1, b=False):\n    return a + 1\n', 'python');
  assert.deepEqual(typed.lines.map((_, i) => lineMutations(typed, i, new Rng(1)).length > 0).flatMap((x, i) => (x ? [i] : [])), [13, 14]);
  // A line of an expression in brackets is no statement (`and isinstance(…)`), nor is a class's field.
  const cont = scan('def f(x, y):\n    if (\n        check(x)\n        and isinstance(y, int)\n    ):\n        go(x)\n        go(y)\n    return x\n', 'python');
  assert.ok(!lineMutations(cont, 3, new Rng(2)).some((m) => m.kind === 'delete'));
  assert.ok(lineMutations(cont, 5, new Rng(2)).some((m) => m.kind === 'delete'), 'a statement still is');
  const fields = scan('export class K {\n  private seen = 0;\n  kept = 0;\n  run(): void {\n    this.kept = 1;\n    tick();\n  }\n}\n', 'typescript');
  assert.deepEqual([1, 2, 4, 5].filter((i) => lineMutations(fields, i, new Rng(2)).some((m) => m.kind === 'delete')), [4, 5]);
  // A comment after a block's only statement does not make it one of two.
  const cq = scan('def f(ctx):\n    rv = {}\n    if ctx.ok:\n        rv["a"] = ctx.a\n        # a comment on what follows\n\n    return rv\n', 'python');
  assert.ok(!lineMutations(cq, 3, new Rng(2)).some((m) => m.kind === 'delete'));
  // Nor an assignment an inner function's `nonlocal` needs; and a generator argument is not split at its `for k, v`.
  const nl = scan('def outer(xs):\n    count = 0\n    count = len(xs)\n\n    def inner():\n        nonlocal count\n        count += 1\n    keys = frozenset(k for k, v in xs.items())\n    return inner, keys\n', 'python');
  const at = (needle: string) => lineMutations(nl, nl.lines.findIndex((l) => l.includes(needle)), new Rng(2));
  assert.ok(!at('count = len(xs)').some((m) => m.kind === 'delete'));
  assert.ok(!at('frozenset(').some((m) => m.kind === 'swap'));
});

test('synth: no mutant that is no bug of its kind or no valid code (QA finds on psf/requests and this repo)', () => {
  const kinds = (src: string, lang: 'typescript' | 'python', needle: string, kind: string) => {
    const s = scan(src, lang);
    const i = s.lines.findIndex((l) => l.includes(needle));
    assert.ok(i >= 0, needle);
    return [0, 1, 2, 3].flatMap((seed) => lineMutations(s, i, new Rng(seed))).filter((m) => m.kind === kind).map((m) => m.text);
  };
  // Wrong variable: not a keyword argument's name, a def's or lambda's parameter, an arrow's or function's parameter.
  const py = 'def send(request, data, timeout, json):\n    r = post(request.url, data=request.data, timeout=timeout)\n    handler = lambda sock: sock.recv(data)\n    q = post(\n        json=json,\n    )\n    return r, json, handler, q\n';
  for (const m of kinds(py, 'python', 'post(', 'variable')) assert.ok(/, data=\w+\.data, timeout=\w+\)$/.test(m!), m!);
  assert.deepEqual(kinds(py, 'python', 'def send', 'variable'), []);
  for (const m of kinds(py, 'python', 'lambda', 'variable')) assert.ok(m!.includes('lambda sock:'), m!);
  for (const m of kinds(py, 'python', 'json=json', 'variable')) assert.ok(m!.startsWith('        json='), m!);
  assert.ok(kinds(py, 'python', 'json=json', 'variable').length > 0, 'the value is still mutated');
  const ts = 'function collect(special: string, ids: number[], out: string[]) {\n  ids.forEach((special) => out.push(special));\n  const f = function (ids, out) { return ids + out; };\n  return special + f;\n}\n';
  for (const m of kinds(ts, 'typescript', 'forEach', 'variable')) assert.ok(m!.includes('((special) =>'), m!);
  for (const m of kinds(ts, 'typescript', 'function (ids', 'variable')) assert.ok(m!.includes('function (ids, out)'), m!);
  assert.ok(kinds(ts, 'typescript', 'forEach', 'variable').length > 0, 'the body\'s names are still mutated');
  // Wrong variable: a name line i can use there, not one declared later, bound in an inner scope (a
  // comprehension, lambda or arrow, a closed block, a loop header), a class field, a type's key, or the
  // one the statement itself declares.
  const swapped = (src: string, lang: 'typescript' | 'python', needle: string) => {
    const s = scan(src, lang);
    const i = s.lines.findIndex((l) => l.includes(needle));
    assert.ok(i >= 0, needle);
    const words = (t: string) => t.match(/[\w$]+/g)!;
    const names = new Set(Array.from({ length: 24 }, (_, seed) => lineMutations(s, i, new Rng(seed))).flat()
      .filter((m) => m.kind === 'variable').map((m) => words(m.text!).find((w, k) => w !== words(s.lines[i])[k])!));
    return [...names].sort();
  };
  const scopes = 'def f(items, limit):\n    total = 0\n    for item in items:\n        seen = [part for part in item.parts if part]\n        key = lambda row: row.id\n' +
    '        total += len(seen) + key(item)\n    result = total + limit\n    later = result * 2\n    return later\n';
  assert.deepEqual(swapped(scopes, 'python', 'result = total'), ['item', 'items', 'limit', 'total']);
  assert.deepEqual(swapped(scopes, 'python', 'seen = ['), ['items', 'limit', 'total'], 'not the comprehension\'s part');
  const blocks = 'class Box {\n  private size = 0;\n  grow(xs: number[], opts: { step?: number }) {\n    for (const item of xs) {\n      const doubled = item * 2;\n      this.size += doubled;\n    }\n' +
    '    const ys = xs.map((val) => val + 1);\n    const total = sum(\n      ys,\n      opts,\n    );\n    return total + ys.length;\n  }\n}\n';
  assert.deepEqual(swapped(blocks, 'typescript', 'return total'), ['total', 'xs', 'ys']); // (a name typed `opts:` is passed over, as an object's key)
  assert.deepEqual(swapped(blocks, 'typescript', '  ys,'), ['xs'], 'not total, in its own initializer');
  assert.deepEqual(swapped(blocks, 'typescript', 'this.size += doubled'), ['item', 'xs'], 'the loop\'s item inside the loop');
  // A header over several lines is the function's (its body is mutated, as that function's); its parameters are not renamed.
  const header = scan('def g(\n    alpha, beta,\n) -> int:\n    if alpha > beta:\n        return alpha\n    return beta\n', 'python');
  assert.deepEqual(header.fns.map((f) => [f.name, f.start, f.head, f.end]), [['g', 0, 2, 5]]);
  assert.deepEqual(lineMutations(header, 1, new Rng(1)).filter((m) => m.kind === 'variable'), []);
  const objType = scan('export function f(a: number): { x: number; y: number } {\n  if (a > 1) return { x: a, y: a };\n  return { x: 0, y: 0 };\n}\n', 'typescript');
  assert.deepEqual(objType.fns.map((f) => [f.name, f.start, f.end]), [['f', 0, 3]]);
  // A function type as the return type, a class's arrow property, a curried arrow; an arrow returning an
  // object and one whose expression runs over lines are functions to their `;` (a callback's `{` is no body).
  const heads = scan('export function lock(out: string): () => void {\n  return () => {};\n}\nclass C {\n  private readonly share = (s: string): number | undefined => {\n    return s.length;\n  };\n}\n' +
    'export const whole = (flag: string) => (v: string): number => {\n  return Number(v);\n};\nconst obj = (id: string): T => ({\n  id,\n});\nconst rows = (run: string) =>\n  read(run).map((l) => {\n    return l;\n  });\n', 'typescript');
  assert.deepEqual(heads.fns.map((f) => [f.name, f.start, f.end]), [['lock', 0, 2], ['share', 4, 6], ['whole', 8, 10], ['obj', 11, 13], ['rows', 14, 17]]);
  // A Python signature of over 60 lines (parameters documented in place) is its function's header.
  const longDef = scan(`def enc(\n${Array.from({ length: 70 }, (_, k) => `    p${k}: int = 0,\n`).join('')}) -> int:\n    return p0\n`, 'python');
  assert.deepEqual(longDef.fns.map((f) => [f.name, f.start, f.head, f.end]), [['enc', 0, 71, 72]]);
  // Not a shorthand key, a method's parameter, `asserts`; an assignment's target becomes a variable assigned
  // above (not a const; in Python not a module, which the assignment would make local, nor an except's name).
  const methods = 'class C {\n  tick(done: number, extra = 1, more = 2): string {\n    const files = [done];\n    let bytes = extra;\n    let total = more;\n' +
    '    bytes += total;\n    check(files, bytes);\n    return { files, bytes, total };\n  }\n}\nfunction check(cond: unknown, note: unknown): asserts cond {\n  if (!cond) throw new Error(String(note));\n}\n';
  assert.deepEqual(swapped(methods, 'typescript', 'tick('), []);
  assert.deepEqual(swapped(methods, 'typescript', 'return { files'), []);
  const mq = scan(methods, 'typescript');
  const targets = Array.from({ length: 24 }, (_, seed) => lineMutations(mq, 5, new Rng(seed))).flat().filter((m) => m.kind === 'variable').map((m) => m.text!.trim().split(' ')[0]);
  assert.ok(targets.length > 0 && !targets.includes('files'), `files is a const: ${targets}`);
  assert.ok(!swapped(methods, 'typescript', 'if (!cond)').includes('asserts'));
  const py2 = 'import sys\n\ndef k(tb, data):\n    sys.stdout.write("x")\n    try:\n        body = dumps(data)\n    except ValueError as err:\n        raise Bad(err)\n' +
    '    *parts, tail = body.split("_")\n    tb = tb.tb_next\n    return body, tail, parts\n';
  const pq = scan(py2, 'python');
  const pyTargets = Array.from({ length: 24 }, (_, seed) => lineMutations(pq, 9, new Rng(seed))).flat().filter((m) => m.kind === 'variable').map((m) => m.text!.trim().split(' ')[0]);
  assert.ok(pq.lines[9].includes('tb = tb.tb_next') && !pyTargets.includes('sys'), `a module as a target would be local: ${pyTargets}`);
  assert.ok(!swapped(py2, 'python', 'return body').includes('err'), 'an except\'s name is unbound after its handler');
  assert.ok(!swapped(py2, 'python', '*parts, tail').includes('parts'), 'a starred target is bound by its own line');
  // Not a name an import binds, a built-in or a dunder: a module, an imported name, `bytes` or `__file__` is no wrong variable (`os.path.join(base)` → `base.path…`, `return t`).
  const pyImports = 'import os.path\nimport typing as t\nfrom pkg import (\n    alpha,\n    beta as gamma,\n)\n\ndef h(base, name):\n    full = os.path.join(base, name or __file__)\n' +
    '    full = t.cast(str, full)\n    return gamma(alpha, full, base, bytes)\n';
  assert.deepEqual([...scan(pyImports, 'python').imported].sort(), ['alpha', 'gamma', 'os', 't']);
  assert.deepEqual(swapped(pyImports, 'python', 'return gamma'), ['base', 'full', 'name']);
  assert.deepEqual(swapped(pyImports, 'python', 't.cast'), ['base', 'name']);
  const tsImports = "import * as path from 'node:path';\nimport fs, { readFileSync as rf, type Stats } from 'node:fs';\nimport {\n  join,\n  sep,\n} from 'node:path';\n" +
    "const { spawn: sp } = require('node:child_process');\nexport function load(dir: string, name: string) {\n  const file = path.join(dir, name);\n  return rf(file, sp, fs, join, sep, dir);\n}\n";
  assert.deepEqual([...scan(tsImports, 'typescript').imported].sort(), ['Stats', 'fs', 'join', 'path', 'rf', 'sep', 'sp']);
  assert.deepEqual(swapped(tsImports, 'typescript', 'return rf'), ['dir', 'file', 'name']);
  assert.deepEqual(swapped(tsImports, 'typescript', 'path.join'), ['dir', 'name']);
  // Not a parameter property's name; `x++` is an assignment (to a variable assigned above, not a const).
  const incs = 'export class K {\n  kept = 0;\n  seen = 1;\n  constructor(private readonly explain = false) {}\n  run(xs: number[]) {\n    const first = xs[0];\n' +
    '    let count = 0;\n    let steps = first;\n    count++;\n    --steps;\n    return count + steps;\n  }\n}\n';
  assert.deepEqual(swapped(incs, 'typescript', 'constructor('), []);
  assert.deepEqual(swapped(incs, 'typescript', 'count++'), ['steps']);
  assert.deepEqual(swapped(incs, 'typescript', '--steps'), ['count']);
  // Not a boundary flip against sys.version_info: it never equals a shorter tuple (`>=` and `>` agree).
  assert.deepEqual(kinds('import sys\nif sys.version_info >= (3, 11):\n    x = 1\n', 'python', 'version_info', 'operator'), []);
  // An off-by-one on a bound, not on the first operand of a product or quotient.
  const bound = 'function f(n: number, max: number, rows: number[]) {\n  if (n > max / 4) return 1;\n  if (n >= max * rows.length) return 2;\n  if (n < max) return 3;\n  return 0;\n}\n';
  assert.deepEqual(kinds(bound, 'typescript', 'max / 4', 'bound'), []);
  assert.deepEqual(kinds(bound, 'typescript', 'max * rows', 'bound'), []);
  assert.ok(kinds(bound, 'typescript', 'n < max', 'bound').includes('  if (n < max + 1) return 3;'));
  // Python: a range's stop and a slice's ends (plain operands; not a number, a step, a type parameter's bound).
  const pyBound = 'def f(xs, n, lo):\n    for i in range(len(xs)):\n        pass\n    for j in range(lo, n, 2):\n        pass\n    head = xs[lo : lo + n]\n' +
    '    tail = xs[1:-1] + xs[::2]\n    return "x[a:b]", head, tail\n\ndef g[T: int](x: T) -> T:\n    return x\n';
  const b = (needle: string) => [...new Set(kinds(pyBound, 'python', needle, 'bound'))].sort();
  const oneOf = (got: (string | null)[], ...allowed: string[][]) => {
    for (const g of got) assert.ok(allowed.flat().includes(g!), g!);
    for (const side of allowed) assert.ok(got.some((g) => side.includes(g!)), `none of ${side}`);
  };
  oneOf(b('range(len'), ['    for i in range(len(xs) + 1):', '    for i in range(len(xs) - 1):']);
  oneOf(b('range(lo'), ['    for j in range(lo, n + 1, 2):', '    for j in range(lo, n - 1, 2):']);
  oneOf(b('head ='), ['    head = xs[lo + 1 : lo + n]', '    head = xs[lo - 1 : lo + n]'], ['    head = xs[lo : lo + n + 1]', '    head = xs[lo : lo + n - 1]']);
  for (const needle of ['tail =', 'return "x', 'def g']) assert.deepEqual(b(needle), [], needle);
  // Deleting `if (…) x;` before an `else` leaves the else dangling; the closing line of a Python string is no statement.
  const dangling = 'function g(c: string, d: number) {\n  if (c === "(") d++;\n  else if (c === ")") d--;\n  d += 2;\n  return d;\n}\n';
  assert.deepEqual(kinds(dangling, 'typescript', 'c === "("', 'delete'), []);
  assert.ok(kinds(dangling, 'typescript', 'd += 2', 'delete').includes(null));
  const doc = 'def h():\n    text = """\n    a line\n    """.strip()\n    print(text)\n    return text\n';
  assert.deepEqual(kinds(doc, 'python', '""".strip()', 'delete'), []);
  assert.ok(kinds(doc, 'python', 'print(text)', 'delete').includes(null));
});

test('synth: no mutant that is no bug of its kind or no valid code (QA finds on fastapi, flask and this repo, second pass)', () => {
  const texts = (src: string, lang: 'typescript' | 'python', needle: string, kind: string) => {
    const s = scan(src, lang);
    const i = s.lines.findIndex((l) => l.includes(needle));
    assert.ok(i >= 0, needle);
    return [...new Set(Array.from({ length: 24 }, (_, seed) => lineMutations(s, i, new Rng(seed))).flat().filter((m) => m.kind === kind).map((m) => m.text))];
  };
  // A def whose return annotation runs over lines ends its header at `]:`, not the block (fastapi's get_definitions).
  const ann = scan('def get_defs(\n    *,\n    fields: list,\n) -> tuple[\n    dict,\n    dict,\n]:\n    out = {}\n    return out, fields\n', 'python');
  assert.deepEqual(ann.fns.map((f) => [f.name, f.start, f.head, f.end]), [['get_defs', 0, 6, 8]]);
  // Arguments that commute are not swapped.
  const calls = 'def f(a, b, xs):\n    x = IsOneOf(a, b) or gcd(a, b)\n    y = os.path.samefile(a, b)\n    return keep(a, b)\n';
  assert.deepEqual(texts(calls, 'python', 'IsOneOf', 'swap'), []);
  assert.deepEqual(texts(calls, 'python', 'samefile', 'swap'), []);
  assert.deepEqual(texts(calls, 'python', 'keep', 'swap'), ['    return keep(b, a)']);
  // A `continue` with nothing after it in its loop does nothing: not deleted. One that skips code is.
  const loops = 'def f(xs):\n    for x in xs:\n        if x:\n            log(x)\n            continue\n        use(x)\n    for y in xs:\n        if y:\n            log(y)\n            continue\n    for z in xs:\n' +
    '        if z:\n            log(z)\n            continue\n        elif not z:\n            return z\n        else:\n            use(z)\n    return xs\n';
  const py = scan(loops, 'python');
  const deletes = (s: ReturnType<typeof scan>) => s.lines.flatMap((l, i) => (l.trim().startsWith('continue') && lineMutations(s, i, new Rng(1)).some((m) => m.kind === 'delete') ? [i] : []));
  assert.deepEqual(deletes(py), [4]);
  const js = scan('function f(xs: number[]) {\n  for (const x of xs) {\n    if (x) {\n      log(x);\n      continue;\n    }\n    use(x);\n  }\n  while (xs.length) {\n    if (xs.pop()) {\n      log(xs);\n      continue;\n    }\n  }\n}\n', 'typescript');
  assert.deepEqual(deletes(js), [4]);
  // ` in ` on the last line of a `for (…)` header is the loop's, not a test.
  const header = 'def f(pairs, seen):\n    for (\n        key,\n        value,\n    ) in pairs:\n        if key in seen:\n            return value\n';
  assert.deepEqual(texts(header, 'python', ') in pairs', 'operator'), []);
  assert.deepEqual(texts(header, 'python', 'if key in seen', 'operator'), ['        if key not in seen:']);
  // A comprehension's `for` clause: its iterable is read before its targets are bound.
  const comp = 'def f(expr, limit):\n    kwargs = {\n        kw.arg: kw.value\n        for kw in expr.keywords\n    }\n    return kwargs, limit\n';
  assert.deepEqual(texts(comp, 'python', 'for kw in', 'variable'), ['        for kw in limit.keywords']);
  // Nor any comprehension target in a first iterable over lines (fastapi: `for fields in (⏎ dependency_data.path_params,`).
  const comp2 = 'def f(data, limit):\n    params = [\n        p\n        for group in (\n            data.path,\n            data.query,\n        )\n        for p in group\n    ]\n    return params, limit\n';
  const inIterable = texts(comp2, 'python', 'data.query', 'variable');
  assert.ok(inIterable.length > 0 && inIterable.every((t) => !/group|\bp\./.test(t!)), String(inIterable));
  // Not a name that an earlier `a = b` made the same value (fastapi: `use_annotation = annotation`).
  const alias = 'def f(annotation, value):\n    use_annotation = annotation\n    if get_origin(use_annotation) is Annotated:\n        return value\n';
  assert.deepEqual(texts(alias, 'python', 'if get_origin', 'variable'), ['    if get_origin(value) is Annotated:']);
  // A class of the file (`_Sentinel`) and a JS global (`performance`, `setImmediate`) are no wrong variable.
  const cls = 'class _Sentinel:\n    pass\n\ndef f(first, second):\n    if first is _Sentinel:\n        first = second\n    return first, second\n';
  assert.deepEqual(texts(cls, 'python', 'return first', 'variable').map((t) => /_Sentinel/.test(t!)), [false, false]);
  const glob = 'export function f(file: string, dir: string) {\n  const t0 = performance.now();\n  setImmediate(() => undefined);\n  return join(dir, file, t0);\n}\n';
  for (const t of texts(glob, 'typescript', 'return join', 'variable')) assert.ok(!/performance|setImmediate/.test(t!), t!);
  // TS: shorthand keys on lines of a multi-line object are keys too; a declarator's name is not renamed;
  // a name declared on the line is unbound there.
  const objs = 'export function f(sha: string, tree: string, time: number) {\n  const rec = {\n    sha, tree,\n    time,\n    when: time,\n  };\n' +
    '  let count = 0;\n  let lo = 0, hi = sha.length;\n  const [head, ...rest] = tree.split(sha);\n  const ids = rest;\n  let idx = count;\n  for (const id of ids) {\n    const idx = ids.indexOf(id);\n    lo += idx;\n  }\n  return { rec, lo, hi, head, idx };\n}\n';
  assert.deepEqual(texts(objs, 'typescript', '    sha, tree,', 'variable'), []);
  assert.deepEqual(texts(objs, 'typescript', '    time,', 'variable'), []);
  assert.ok(texts(objs, 'typescript', 'when: time', 'variable').length > 0, 'a value is still mutated');
  for (const t of texts(objs, 'typescript', 'let lo', 'variable')) assert.ok(/let lo = 0, hi = \w+\.length/.test(t!) && !t!.includes('hi.length'), t!);
  for (const t of texts(objs, 'typescript', 'const [head', 'variable')) assert.ok(t!.includes('const [head, ...rest] = '), t!);
  for (const t of texts(objs, 'typescript', 'const idx', 'variable')) assert.ok(!t!.includes('idx.indexOf') && t!.startsWith('    const idx = '), t!);
  // The targets of a destructuring assignment are assignment targets: never a const (`len`).
  const pat = 'export function f(lo: number, hi: number) {\n  const len = hi - lo;\n  let ws: number;\n  let we: number;\n  if (len > 2) [ws, we] = [lo, hi];\n  return ws + we + len;\n}\n';
  assert.ok(texts(pat, 'typescript', '[ws, we] =', 'variable').length > 0);
  for (const t of texts(pat, 'typescript', '[ws, we] =', 'variable')) assert.ok(t!.includes('[ws, we] = '), t!);
  // A `let x;` is unassigned on the line that gives it its first value (`text = f(text)` fails tsc); one assigned above is not.
  const unassigned = 'export function f(buf: string, head: string) {\n  let text: string;\n  if (head) text = buf.trim();\n  else text = head;\n  let done = 0;\n  done = done + buf.length;\n  return text + done;\n}\n';
  const firstSet = texts(unassigned, 'typescript', 'if (head) text', 'variable');
  assert.ok(firstSet.length > 0 && firstSet.every((t) => !/\(text\)|text\.trim/.test(t!)), String(firstSet));
  assert.ok(texts(unassigned, 'typescript', 'done = done', 'variable').some((t) => t!.includes('done.length')));
  // TS literals in types are not changed; a default value is.
  const types = 'class W {\n  private tag(field: number, wire: 0 | 2 = 2): void {\n    this.put(field, wire);\n  }\n}\nexport function parse(a: string): { ok: true; v: string } | { ok: false } {\n' +
    '  on((m: { ack?: true }) => m);\n  const p = args as Parameters<typeof parse>[0];\n  return a ? { ok: true, v: p } : { ok: false };\n}\n';
  assert.deepEqual(texts(types, 'typescript', 'private tag', 'literal').sort(), ['  private tag(field: number, wire: 0 | 2 = 1): void {', '  private tag(field: number, wire: 0 | 2 = 3): void {']);
  assert.deepEqual(texts(types, 'typescript', 'export function parse', 'literal'), []);
  assert.deepEqual(texts(types, 'typescript', 'ack?', 'literal'), []);
  assert.deepEqual(texts(types, 'typescript', 'Parameters<', 'literal'), []);
  assert.equal(texts(types, 'typescript', 'return a ?', 'literal').length, 2);
  // A constructor with an empty body, an expression-bodied arrow over lines, an object's arrow and one set on a member are functions.
  const fns = scan('class B {\n  constructor(\n    private readonly over = 0) {}\n}\nexport const int = (min: number) => (v: unknown) =>\n  Number.isInteger(v) && (v as number) >= min ? undefined : "bad";\n' +
    'const L = {\n  dr: (x: number) => {\n    return x;\n  },\n};\nb.up = async (id: string) => {\n  return id;\n};\n', 'typescript');
  assert.deepEqual(fns.fns.map((f) => [f.name, f.start, f.end]), [['constructor', 1, 2], ['int', 4, 5], ['dr', 7, 9], ['up', 11, 13]]);
});

test('synth: a wrong variable is in scope and has a value where it is put (tsc over every TypeScript variable mutant of this repo, pyflakes over Python\'s, third pass)', () => {
  const texts = (src: string, needle: string, lang: 'typescript' | 'python' = 'typescript') => {
    const s = scan(src, lang);
    const i = s.lines.findIndex((l) => l.includes(needle));
    assert.ok(i >= 0, needle);
    return [...new Set(Array.from({ length: 32 }, (_, seed) => lineMutations(s, i, new Rng(seed))).flat().filter((m) => m.kind === 'variable').map((m) => m.text!))];
  };
  const uses = (ts: string[], name: string) => ts.filter((t) => new RegExp(`(?<![\\w$.])${name}(?![\\w$])`).test(t));
  // A `let x;` has a value only once a statement of its own block gave it one: not after a branch's, a `try`'s or a one-line `if`'s.
  const lets = 'export function g(buf: string, ok: boolean) {\n  let text: string;\n  let sha: string;\n  let m: number;\n  m = buf.length;\n  try {\n    sha = buf.trim();\n  } catch {\n' +
    '    throw new Error(`${buf}: no commit ${ok}`);\n  }\n  if (ok) text = buf.toLowerCase();\n  else text = buf.toUpperCase();\n  const n = buf.length + m;\n  return text + n + sha;\n}\n';
  const thrown = texts(lets, 'no commit');
  assert.ok(thrown.length > 0 && uses(thrown, 'sha').length === 0 && uses(thrown, 'text').length === 0, String(thrown));
  const other = texts(lets, 'else text');
  assert.ok(other.length > 0 && uses(other, 'text').every((t) => t.includes('else text = ') && !t.includes('text.toUpperCase')), String(other));
  assert.ok(uses(texts(lets, 'const n ='), 'm').length > 0); // m was given a value by its block's own statement
  // A method's parameters are not seen after it; nor a `let` of a block that opens and closes on its line; nor an arrow's typed parameters.
  const scopes = 'export function h(ids: Map<string, number>, a: string[], size: number) {\n  const policy = new Set<number>();\n  const backup = new Set<number>();\n' +
    '  const api = {\n    sample(task, greedy) {\n      return greedy ? task : a[0];\n    },\n    close: () => policy.clear(),\n  };\n' +
    '  for (let i = 0; i < a.length; i++) { let id = ids.get(a[i]); if (id === undefined) id = size; backup.add(id); }\n  const p = (name: string): number => name.length + size;\n' +
    '  const total = a.length + size;\n  return [api, p, total];\n}\n';
  const close = texts(scopes, 'close: ()');
  assert.ok(uses(close, 'backup').length > 0 && uses(close, 'greedy').length + uses(close, 'task').length === 0, String(close));
  const total = texts(scopes, 'const total');
  assert.ok(total.length > 0 && uses(total, 'id').length === 0, String(total));
  assert.equal(uses(total, 'name').length, 0, String(total));
  // A name a `const` declares is not bound yet inside its own initializer (`const [norm, ...rest] = tidy(() => {`).
  const tdz = 'export function k(entries: number[], tidy: (f: () => number[]) => number[]) {\n  const scale = 2;\n  const [norm, ...scaled] = tidy(() => {\n    const sq = entries.map((g) => g * scale);\n    return sq;\n  });\n  return norm + scaled.length;\n}\n';
  const inner = texts(tdz, 'const sq');
  assert.ok(inner.length > 0 && uses(inner, 'norm').length + uses(inner, 'scaled').length === 0, String(inner));
  // Python: the name a statement over lines assigns is unbound on its later lines (`number = (⏎ …⏎ ) or settings.number`).
  const py = 'def f(event, settings):\n    number = (\n        event.pull_request and event.number\n    ) or settings.number\n    if number is None:\n        return settings\n    return number\n';
  const cont = texts(py, ') or settings', 'python');
  assert.ok(cont.length > 0 && uses(cont, 'number').length === 0, String(cont));
  assert.ok(texts(py, 'if number', 'python').length > 0);
});

test('synth: lines and file windows, byte cap, kinds filter, repo name', () => {
  const lines = synthesize(dir, { count: 20, seed: 3, window: 'lines', windowLines: 5 }).tasks;
  for (const t of lines) assert.ok(t.changes[0].new!.split('\n').length - 1 <= 5);
  const files = synthesize(dir, { count: 10, seed: 3, window: 'file' }).tasks;
  for (const t of files) {
    assert.equal(t.changes[0].window, undefined);
    assert.equal(t.changes[0].new, FILES[t.changes[0].path as keyof typeof FILES]);
  }
  const small = synthesize(dir, { count: 20, seed: 3, maxWindowBytes: 120, kinds: 'operator,literal', repoName: 'demo' }).tasks;
  for (const t of small) {
    assert.ok(Buffer.byteLength(t.changes[0].new!) <= 120 && Buffer.byteLength(t.changes[0].old!) <= 120);
    assert.ok(/operator|constant/.test(t.text), t.text);
    assert.ok(t.id.startsWith('demo#synth-') && t.repo === 'demo');
  }
  // Without --repo-name, the name mine gives the repository, from its git folder or a subfolder too.
  for (const at of [dir, path.join(dir, '.git'), path.join(dir, 'lib')]) {
    assert.deepEqual(new Set(synthesize(at, { count: 5, seed: 3 }).tasks.map((t) => t.repo)), new Set([path.basename(dir)]), at);
  }
  const only = synthesize(dir, { count: 50, seed: 3, include: 'lib/**/*.py' }).tasks;
  assert.ok(only.length > 0 && only.every((t) => t.changes[0].path === 'lib/win.py'));
  assert.ok(globToRegex('src/**/*.ts').test('src/a/b.ts') && globToRegex('src/**/*.ts').test('src/b.ts') && !globToRegex('src/*.ts').test('src/a/b.ts'));
});

test('synth: a file window over --max-window-bytes is skipped, not used whole', () => {
  // util.ts (650 bytes) cannot fit; win.py (359) and pick.js (203) can.
  const { tasks, summary } = synthesize(dir, { count: 100, seed: 3, window: 'file', maxWindowBytes: 400 });
  assert.ok(tasks.length > 0);
  assert.equal(summary.files, 2, 'a file too large for its window is not even scanned');
  for (const t of tasks) {
    assert.notEqual(t.changes[0].path, 'src/util.ts');
    assert.ok(Buffer.byteLength(t.changes[0].old!) <= 400 && Buffer.byteLength(t.changes[0].new!) <= 400, t.id);
  }
  assert.equal(synthesize(dir, { count: 10, window: 'file', maxWindowBytes: 50 }).tasks.length, 0);
});

test('synth: --max-window-bytes holds for the buggy window too, not only the original', () => {
  // The function is exactly 57 bytes: a bug that lengthens a line (<=, !(…), + 1) must cut the window, not overflow it.
  const fn = 'function inc(n, lim) {\n  if (n < lim) n++;\n  return n;\n}\n';
  assert.equal(Buffer.byteLength(fn), 57);
  const tasks = synthesize(repo({ 'inc.js': fn }), { count: 50, seed: 1, maxWindowBytes: 57 }).tasks;
  for (const t of tasks) {
    const c = t.changes[0];
    assert.ok(Buffer.byteLength(c.old!) <= 57 && Buffer.byteLength(c.new!) <= 57, `${Buffer.byteLength(c.old!)} bytes: ${JSON.stringify(c.old)}`);
  }
  assert.ok(tasks.some((t) => t.changes[0].old!.includes('n <= lim')), 'a lengthening bug still makes a (shorter) task');
});

test('synth: boundary flips that cannot change behaviour are not offered', () => {
  const src = `function max(a, b) {
  return a > b ? a : b;
}
function min(a, b) {
  return a <= b ? a : b;
}
function clamp(x, lo, hi) {
  if (x < lo) return lo;
  if (hi < x) { return hi; }
  if (x >= hi)
    x = hi;
  return x;
}
function pick(a, b, c) {
  if (a > b) return c;
  return a > b ? c : b;
}
`;
  const s = scan(src, 'javascript');
  const flips = (needle: string) => lineMutations(s, s.lines.findIndex((l) => l.includes(needle)), new Rng(1))
    .filter((m) => m.kind === 'operator' && /comparison/.test(m.symptom)).map((m) => m.text);
  for (const n of ['a > b ? a : b', 'a <= b ? a : b', 'x < lo', 'hi < x', 'x >= hi']) assert.deepEqual(flips(n), [], n);
  // Other bugs on those lines stay, and so do flips where the boundary matters.
  assert.ok(lineMutations(s, s.lines.findIndex((l) => l.includes('x < lo')), new Rng(1)).some((m) => m.text === '  if (!(x < lo)) return lo;'));
  assert.deepEqual(flips('a > b) return c'), ['  if (a >= b) return c;']);
  assert.deepEqual(flips('a > b ? c : b'), ['  return a >= b ? c : b;']);
  const py = scan('def clamp(x, hi):\n    if x > hi:\n        x = hi\n    return x if x < hi else hi\n', 'python');
  for (const i of [1, 3]) assert.ok(!lineMutations(py, i, new Rng(1)).some((m) => m.text && /[<>]=/.test(m.text)), py.lines[i]);
  // The same holds end to end (the TS fixture's clamp included), and the seed still decides everything.
  const tasks = synthesize(repo({ 'm.js': src, 'src/util.ts': TS }), { count: 200, seed: 5, kinds: 'operator' }).tasks;
  const olds = tasks.map((t) => t.changes[0].old!);
  for (const bad of ['a >= b ? a : b', 'a < b ? a : b', 'x <= lo) return lo', 'hi <= x)', 'x > hi)\n', 'v <= lo) return lo', 'v >= hi) return hi'])
    assert.ok(!olds.some((o) => o.includes(bad)), bad);
  assert.ok(olds.some((o) => o.includes('if (a >= b) return c;')));
});

test('synth: a file that starts with a UTF-8 BOM keeps it in its texts, as mine does; functions, windows and line numbers are those of the file without it', () => {
  const PY0 = 'def f(a, b):\n    if a > b:\n        return a - 1\n    return b\n\n\ndef g(x):\n    return x + 2\n';
  const plain = { 'web/pick.js': JS, 'lib/f.py': PY0, 'src/util.ts': TS };
  const bom = Object.fromEntries(Object.entries(plain).map(([p, c]) => [p, '\ufeff' + c]));
  const [a, b] = [repo(bom), repo(plain)];
  for (const window of ['function', 'lines', 'file'] as const) {
    const withBom = synthesize(a, { count: 200, seed: 2, window, windowLines: 4, repoName: 'r' }).tasks;
    const without = synthesize(b, { count: 200, seed: 2, window, windowLines: 4, repoName: 'r' }).tasks;
    assert.ok(withBom.length >= 10, `${window}: ${withBom.length} tasks`);
    assert.equal(withBom.length, without.length, window);
    let first = 0;
    withBom.forEach((t, k) => {
      const [c, d] = [t.changes[0], without[k].changes[0]];
      assert.deepEqual([c.path, c.window, t.text], [d.path, d.window, without[k].text], `${window} ${k}`);
      const atTop = (c.window?.start ?? 0) === 0;
      const add = (x: string) => (atTop ? '\ufeff' + x : x);
      assert.deepEqual([c.old, c.new], [add(d.old!), add(d.new!)], `${window} ${k}: the BOM on the file's first line only`);
      if (window === 'file') assert.equal(c.new, bom[c.path]);
      if (atTop) first++;
    });
    assert.ok(first > 0, `${window}: some task shows the file's first line`);
  }
  // The BOM's line may change but is never deleted (the BOM would go with it); a regex right after a BOM is a regex.
  const s = scan('\ufeffsetup(a, b);\nrun(a + 1);\n', 'javascript');
  assert.deepEqual(lineMutations(s, 0, new Rng(1)).map((m) => [m.kind, m.text]), [['swap', '\ufeffsetup(b, a);']]);
  assert.ok(lineMutations(s, 1, new Rng(1)).some((m) => m.kind === 'delete'));
  const r = scan('\ufeff/a < b/.test(s) && go();\n', 'javascript');
  assert.deepEqual(lineMutations(r, 0, new Rng(1)).filter((m) => /comparison/.test(m.symptom)), [], 'no flip inside the regex');
});

test('synth: bad input gives one-line user errors', () => {
  const notRepo = tempDir('prrl-norepo-');
  assert.throws(() => synthesize(notRepo), (e: Error) => e instanceof UserError && /not a git repository/.test(e.message));
  execFileSync('git', ['-C', notRepo, 'init', '-q']);
  assert.throws(() => synthesize(notRepo), (e: Error) => e instanceof UserError && /names no commit/.test(e.message));
  assert.throws(() => synthesize(dir, { window: 'fn' as 'file' }), UserError);
  assert.throws(() => synthesize(dir, { kinds: 'typo' }), UserError);
  assert.throws(() => synthesize(dir, { seed: 2 ** 32 }), (e: Error) => e instanceof UserError && /--seed must be an integer from 0 to 4294967295/.test(e.message), 'past 32 bits a seed names a smaller one\'s stream');
  // Files mine would not show are not mutated either: binary, and generated (filter.ts's decodeText).
  const bin = repo({ 'a.ts': 'export const x = 1;\n', 'b.ts': Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('latin1'), 'gen.ts': '// @generated\nexport function g(a: number) {\n  return a - 1;\n}\n', 'my dir/ü ñ.ts': 'export function f(a: number) {\n  return a + 1;\n}\n' });
  const t = synthesize(bin, { count: 10 }).tasks;
  assert.ok(t.length > 0 && t.every((x) => x.changes[0].path === 'my dir/ü ñ.ts'));
});

test('synth CLI writes the tasks file', () => {
  const out = path.join(tempDir('prrl-out-'), 'synth.jsonl');
  execFileSync('node', ['bin/pr-rl.js', 'synth', dir, '--out', out, '--count', '12', '--seed', '4', '--window-lines', '8'], { stdio: 'pipe', cwd: path.join(import.meta.dirname, '..') });
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.length, 12);
  for (const l of lines) assert.ok(JSON.parse(l).changes[0].new.split('\n').length - 1 <= 8);
});

test('make-default-data: deterministic, leak-free, small prompts, from a clone of project sources', () => {
  const root = path.join(import.meta.dirname, '..');
  const files: Record<string, string> = {};
  for (const f of ['src/util/rng.ts', 'src/util/fsx.ts', 'src/util/errors.ts', 'src/util/progress.ts', 'src/data/task.ts', 'src/data/curriculum.ts', 'src/data/split.ts'])
    files[f] = fs.readFileSync(path.join(root, f), 'utf8');
  const clone = repo(files);
  const run = (out: string, ...extra: string[]) => execFileSync('node', ['--import', 'tsx', 'scripts/make-default-data.ts', '--root', clone, '--out', out, '--skip-mined', '--train', '60', '--heldout', '15', ...extra],
    { cwd: root, stdio: 'pipe' });
  const a = tempDir('prrl-dd-');
  const b = tempDir('prrl-dd-');
  run(a);
  run(b, '--rev', 'HEAD'); // --rev pins the source commit; the default is the last commit touching src/
  for (const f of ['train.jsonl', 'heldout.jsonl', 'manifest.json']) assert.equal(fs.readFileSync(path.join(a, f), 'utf8'), fs.readFileSync(path.join(b, f), 'utf8'), f);
  const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const train = read(a, 'train.jsonl');
  const held = read(a, 'heldout.jsonl');
  assert.equal(train.length, 60);
  assert.ok(held.length > 0 && held.length <= 15);
  // Default split: random by task, and no change or task text on both sides.
  const change = (t: { changes: { path: string; old: string; new: string }[] }) => JSON.stringify(t.changes.map((c) => [c.path, c.old, c.new]));
  const trainChanges = new Set(train.map(change));
  const trainTexts = new Set(train.map((t) => t.text));
  for (const t of held) assert.ok(!trainChanges.has(change(t)) && !trainTexts.has(t.text), `held-out ${t.id} leaks into training`);
  for (const t of [...train, ...held]) assert.ok(Buffer.byteLength(t.text + t.changes[0].old) <= 400);
  const manifest = JSON.parse(fs.readFileSync(path.join(a, 'manifest.json'), 'utf8'));
  assert.match(manifest.command, /--rev [0-9a-f]{12} --skip-mined --seed 1 --window-lines 5 --prompt-bytes 400 --split-by random/);
  // --split-by file: held-out files are never shown in training.
  const c = tempDir('prrl-dd-');
  run(c, '--split-by', 'file');
  const trainFiles = new Set(read(c, 'train.jsonl').map((t) => t.changes[0].path));
  for (const t of read(c, 'heldout.jsonl')) assert.ok(!trainFiles.has(t.changes[0].path), 'held-out files unseen in training');
});

test('make-default-data: the manifest\'s command reproduces every file, mined.jsonl included, after the history has grown', () => {
  const root = path.join(import.meta.dirname, '..');
  const clone = repo({ 'src/a.ts': 'export function add(a: number, b: number) {\n  return a - b;\n}\n', 'src/b.ts': TS });
  const g = (...a: string[]) => execFileSync('git', ['-C', clone, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { stdio: 'pipe' }).toString().trim();
  fs.writeFileSync(path.join(clone, 'src/a.ts'), 'export function add(a: number, b: number) {\n  return a + b;\n}\n');
  g('commit', '-qam', 'Fix add: it subtracted');
  const script = (args: string[]) => execFileSync('node', ['--import', 'tsx', 'scripts/make-default-data.ts', '--root', clone, '--train', '10', '--heldout', '3', ...args], { cwd: root, stdio: 'pipe' });
  const a = tempDir('prrl-dd-');
  script(['--out', a]);
  const files = ['train.jsonl', 'heldout.jsonl', 'mined.jsonl', 'manifest.json'];
  const manifest = JSON.parse(fs.readFileSync(path.join(a, 'manifest.json'), 'utf8'));
  assert.equal(manifest.minedRev, g('rev-parse', 'HEAD'));
  assert.ok(manifest.mined.found >= 1, JSON.stringify(manifest.mined));
  // A later commit, and the manifest's command run again: the same bytes.
  fs.writeFileSync(path.join(clone, 'src/a.ts'), 'export function add(a: number, b: number) {\n  return b + a;\n}\n');
  g('commit', '-qam', 'Swap the operands of add');
  const b = tempDir('prrl-dd-');
  script([...manifest.command.split(' ').slice(4), '--out', b]);
  for (const f of files) assert.equal(fs.readFileSync(path.join(b, f), 'utf8'), fs.readFileSync(path.join(a, f), 'utf8'), f);
});

test('synth CLI: no task at all is said, with why (no file matched)', () => {
  const dir = tempDir('prrl-synth-none-');
  fs.writeFileSync(path.join(dir, 'm.py'), 'def f(a):\n    return a + 1\n');
  execFileSync('git', ['-C', dir, 'init', '-q'], { stdio: 'ignore' });
  execFileSync('git', ['-C', dir, 'add', '.']);
  execFileSync('git', ['-C', dir, '-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-qm', 'init']);
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'pr-rl.js'), 'synth', dir, '--include', 'nothing/**', '--out', path.join(dir, 'out.jsonl')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^synth: 0 tasks → .*\nsynth: warning: no tasks: no JavaScript, TypeScript or Python file matched \(see --include/);
});

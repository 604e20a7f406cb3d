// Bug injection for synthetic repair tasks: every way to put one small, realistic bug into one line
// of working JS/TS/Python code (operator flip, off-by-one bound, negated condition, swapped
// arguments, wrong variable, deleted statement, changed literal). Token/regex based on top of
// codescan.ts, never inside strings or comments. Choosing among mutations and cutting windows is synth.ts's job.

import { codeOnly, enclosingFn, isCode, type FnRange, type Scan } from './codescan.ts';
import type { Rng } from '../util/rng.ts';

export type MutationKind = 'operator' | 'bound' | 'negate' | 'swap' | 'variable' | 'delete' | 'literal';
export const MUTATION_KINDS: readonly MutationKind[] = ['operator', 'bound', 'negate', 'swap', 'variable', 'delete', 'literal'];

export interface Mutation {
  kind: MutationKind;
  /** 0-based line in the original file. */
  line: number;
  /** The buggy line, or null when the line is deleted. */
  text: string | null;
  /** Symptom class for the task text, e.g. "a comparison operator is wrong". */
  symptom: string;
}

/** Longest line the mutator touches; long lines make windows (and prompts) large. */
const MAX_LINE = 160;

const JS_WORDS = 'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await async of as any unknown never number string boolean object symbol bigint undefined type readonly keyof declare namespace abstract is infer satisfies asserts override get set from constructor arguments require module exports console Math JSON Object Array Number String Promise process';
const PY_WORDS = 'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield self cls print len range int str float list dict set tuple bool super isinstance type';
const KEYWORDS = { js: new Set(JS_WORDS.split(' ')), py: new Set(PY_WORDS.split(' ')) };
/** Built-in names (Python's builtins, JS's lower-case globals): a wrong variable is never one (`isinstance(data, bytes)` → `isinstance(bytes, bytes)`). */
const BUILTINS = {
  py: new Set(('abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex copyright credits ' +
    'delattr dict dir divmod enumerate eval exec exit filter float format frozenset getattr globals hasattr hash help hex id input int ' +
    'isinstance issubclass iter len license list locals map max memoryview min next object oct open ord pow print property quit range ' +
    'repr reversed round set setattr slice sorted staticmethod str sum super tuple type vars zip').split(' ')),
  js: new Set(('globalThis window document navigator self global performance fetch structuredClone queueMicrotask setTimeout setInterval ' +
    'setImmediate clearTimeout clearInterval clearImmediate atob btoa encodeURIComponent decodeURIComponent encodeURI decodeURI ' +
    'isNaN isFinite parseInt parseFloat escape unescape').split(' ')),
};

/**
 * Calls whose arguments commute: swapping them is not a bug. Maths (`gcd`, `fmax`), the `operator`
 * module's symmetric functions, equality checks and assertions (a swap changes a failure's message at
 * most), dirty-equals' `IsOneOf`.
 */
const COMMUTATIVE = new RegExp('^(' + ('max min fmax fmin hypot dist gcd lcm add mul multiply maximum minimum isclose allclose union intersection isdisjoint ' +
  'samefile eq ne is_ is_not and_ or_ xor equal notEqual deepEqual strictEqual notStrictEqual deepStrictEqual isEqual compare_digest ' +
  'assertEqual assertNotEqual assertIs assertIsNot assertAlmostEqual assertNotAlmostEqual assertCountEqual assert_equal assert_not_equal IsOneOf').split(' ').join('|') + ')$');

/** All mutations of line i (which must be code inside the scanned file). */
export function lineMutations(s: Scan, i: number, rng: Rng): Mutation[] {
  const line = s.lines[i];
  if (line.length > MAX_LINE || s.typeLines.has(i)) return [];
  const code = codeOnly(s, i);
  if (code.trim() === '' || /^\s*(import|export\s+\*|export\s+\{|from\s+\S+\s+import|@)/.test(code)) return [];
  if (/\brequire\s*\(/.test(code)) return [];
  const py = s.lang === 'python';
  const out: Mutation[] = [];
  const add = (kind: MutationKind, text: string | null, symptom: string) => {
    if (text !== line) out.push({ kind, line: i, text, symptom });
  };
  const at = (re: RegExp, f: (m: RegExpExecArray) => void) => {
    const g = new RegExp(re.source, 'g');
    for (let m = g.exec(line); m; m = g.exec(line)) if (isCode(s, i, m.index, m.index + m[0].length)) f(m);
  };
  const splice = (a: number, b: number, t: string) => line.slice(0, a) + t + line.slice(b);

  // Operators: flips with spaces around them, so generics, arrows and unary signs stay untouched.
  const CMP: Record<string, string> = { '===': '!==', '!==': '===', '==': '!=', '!=': '==', '<': '<=', '<=': '<', '>': '>=', '>=': '>' };
  at(/ (===|!==|==|!=|<=|>=|<|>) /, (m) => {
    const [a, b] = [m.index + 1, m.index + 1 + m[1].length];
    if (BOUNDARY.has(m[1]) && boundaryFlipIsMoot(s, i, a, b)) return;
    // `sys.version_info >= (3, 11)`: the version (five parts) never equals the shorter tuple, so `>` is the same.
    if (BOUNDARY.has(m[1]) && /\bversion_info\s*$/.test(code.slice(0, a).trimEnd()) && /^\s*\(/.test(code.slice(b))) return;
    add('operator', splice(a, b, CMP[m[1]]), 'a comparison operator is wrong');
  });
  at(/ ([+-]=?) (?!['"`])/, (m) => {
    if (/['"`]\s*$/.test(line.slice(0, m.index))) return; // string concatenation
    const flip = m[1].replace(/[+-]/, (c) => (c === '+' ? '-' : '+'));
    add('operator', splice(m.index + 1, m.index + 1 + m[1].length, flip), 'an arithmetic operator is wrong');
  });
  if (py) {
    at(/ (and|or) /, (m) => add('operator', splice(m.index + 1, m.index + 1 + m[1].length, m[1] === 'and' ? 'or' : 'and'), 'a logical operator is wrong'));
    at(/ (is not|is|not in|in) (?=\S)/, (m) => {
      if (/\bfor\b/.test(code) || inForHeader(s, i)) return; // `for x in y`, comprehensions
      const flip: Record<string, string> = { 'is not': 'is', is: 'is not', 'not in': 'in', in: 'not in' };
      add('operator', splice(m.index + 1, m.index + 1 + m[1].length, flip[m[1]]), 'a comparison operator is wrong');
    });
  } else {
    at(/ (&&|\|\|) /, (m) => add('operator', splice(m.index + 1, m.index + 3, m[1] === '&&' ? '||' : '&&'), 'a logical operator is wrong'));
  }

  // Off-by-one in a bound: drop an existing ±1, or add one to the right side of a comparison.
  const OFF = 'an off-by-one error in a bound';
  if (/ (<=?|>=?) |\b(slice|substring|substr|range|splice|subarray)\(|\[[^\]]*[+-] 1\]/.test(code)) {
    at(/ [+-] 1\b(?!\.)/, (m) => add('bound', splice(m.index, m.index + m[0].length, ''), OFF));
    at(/ (<=?|>=?) ([A-Za-z_$][\w$.]*)(?=[\s);\]:,]|$)/, (m) => {
      const end = m.index + m[0].length;
      // `x < n / 4` + 1 on n would be n - 1/4 (precedence), not an off-by-one.
      if (m[2].endsWith('.') || /^\s*(\*|\/|%)/.test(line.slice(end))) return;
      add('bound', splice(end, end, m[1].startsWith('<') ? ' + 1' : ' - 1'), OFF);
    });
  }
  if (py) {
    // Python's bounds are mostly a range's stop and a slice's ends (`range(len(xs))`, `xs[i:n]`), seldom a
    // comparison: one past or one short of a plain operand there (`n`, `len(xs)`, `i + k`; a number is the
    // literal kind's).
    const plain = (t: string) => /^[A-Za-z_][\w.]*(\([\w., ]*\))?( [+-] [A-Za-z_][\w.]*)?$/.test(t) && !KEYWORDS.py.has(t);
    const shift = (a: number, b: number) => {
      const t = line.slice(a, b).trim();
      if (!plain(t)) return;
      const end = a + line.slice(a, b).indexOf(t) + t.length;
      add('bound', splice(end, end, rng.next() < 0.5 ? ' - 1' : ' + 1'), OFF);
    };
    at(/\brange\(/, (m) => {
      const open = m.index + m[0].length - 1;
      const close = matchParen(code, open);
      const args = close < 0 ? [] : splitArgs(line, code, open + 1, close);
      if (args.length >= 1 && args.length <= 3) shift(...args[args.length === 1 ? 0 : 1]);
    });
    if (!/^\s*(def|class|type)\s/.test(code)) at(/(?<=[\w)\]])\[([^[\]:]*):([^[\]:]*)\]/, (m) => { // not `def f[T: int]`
      const colon = m.index + 1 + m[1].length;
      shift(m.index + 1, colon);
      shift(colon + 1, colon + 1 + m[2].length);
    });
  }

  // Negated condition.
  const NEG = 'a condition is inverted';
  if (py) {
    const m = /^(\s*(?:if|elif|while)\s+)(.+?)(:\s*(?:#.*)?)$/.exec(line);
    if (m && isCode(s, i, m[1].length - 1, m[1].length)) {
      const cond = m[2];
      const neg = cond.startsWith('not ') && !/\b(and|or)\b/.test(cond) ? cond.slice(4) : /^[\w.()\[\]]+$/.test(cond) ? `not ${cond}` : `not (${cond})`;
      add('negate', m[1] + neg + m[3], NEG);
    }
  } else {
    at(/\b(if|while) ?\(/, (m) => {
      const open = m.index + m[0].length - 1;
      const close = matchParen(code, open);
      if (close < 0) return;
      const cond = line.slice(open + 1, close);
      let neg: string;
      if (/^![\w$.]+$/.test(cond)) neg = cond.slice(1);
      else if (/^!\(.*\)$/.test(cond) && matchParen(cond, 1) === cond.length - 1) neg = cond.slice(2, -1);
      else if (/^[\w$.]+(\([^()]*\))?$/.test(cond)) neg = `!${cond}`;
      else neg = `!(${cond})`;
      add('negate', splice(open + 1, close, neg), NEG);
    });
  }

  // Swapped arguments of a call with two or three plain arguments (not a declaration).
  if (!/\b(function|def|class|constructor)\b/.test(code)) {
    at(/([A-Za-z_$][\w$]*)\(/, (m) => {
      const name = m[1];
      if ((py ? KEYWORDS.py : KEYWORDS.js).has(name) && !['range', 'isinstance', 'super'].includes(name)) return;
      if (COMMUTATIVE.test(name) || /^(if|for|while|switch|catch|return)$/.test(name)) return;
      const open = m.index + m[0].length - 1;
      const close = matchParen(code, open);
      if (close < 0) return;
      if (!py && /\{\s*$/.test(code.slice(close)) && /^\s*[\w$]+\s*\($/.test(code.slice(0, open + 1))) return; // method header
      const args = splitArgs(line, code, open + 1, close);
      if (args.length < 2 || args.length > 3) return;
      const texts = args.map(([a, b]) => line.slice(a, b));
      if (texts.some((t) => t.trim() === '' || /=|\.\.\.|\*|:|\bawait\b/.test(t))) return;
      if (py && texts.some((t) => /\bfor\b/.test(t))) return; // a generator's `for k, v in …`: its comma is no argument's
      for (let k = 0; k + 1 < args.length; k++) {
        const [x, y] = [texts[k].trim(), texts[k + 1].trim()];
        if (x === y) continue;
        const a = args[k][0] + texts[k].indexOf(x);
        const b = args[k + 1][0] + texts[k + 1].indexOf(y);
        add('swap', line.slice(0, a) + y + line.slice(a + x.length, b) + x + line.slice(b + y.length), 'two arguments are passed in the wrong order');
      }
    });
  }

  // Wrong variable: a bare identifier replaced by another one used nearby in the same function.
  const words = py ? KEYWORDS.py : KEYWORDS.js;
  const fn = enclosingFn(s, i);
  const { names: nearby, assigned, aliases } = nearbyVariables(s, i, words, fn);
  // Not on a header's own lines (parameters over several lines): renaming one is no wrong variable.
  if (nearby.length > 1 && !(fn && i <= fn.head)) {
    const iterable = py ? iterableTargets(s, i) : []; // the line is in a comprehension's first iterable: its targets are unbound
    at(/(?<![\w$.])([a-z_][\w$]*)(?![\w$])/, (m) => {
      const name = m[1];
      const after = line.slice(m.index + name.length);
      const before = line.slice(0, m.index);
      if (words.has(name) || /^\s*\(/.test(after) || /^\??:(?!:)/.test(after) || /^\s*=>/.test(after)) return;
      if (/\b(const|let|var|function|class|def|interface|type|for|as|private|public|protected|readonly)\s+$/.test(before) || /\?\.$/.test(before)) return;
      // Not a name that only names: a keyword argument (`f(timeout=1)`), a parameter (`def f(a, b)`,
      // `(a, b) =>`, `function f(a, b)`): renaming those is no wrong variable, and often no valid code.
      if (py && isKeywordArg(before, after)) return;
      if (isParameter(py, before, after)) return;
      if (!py && /(^|[{,])\s*$/.test(before) && /^\s*(,|\}|$)/.test(after)) {
        // `{ a, b }`: a key too (the object opened on this line or an earlier one)
        if (inObjectLiteral(s, i, m.index)) return;
      }
      // A name a declaration binds: a second declarator (`let a = 0, b = 1`), a destructured one (`const [x, …y] =`).
      if (!py && ((/\b(const|let|var)\b.*,\s*$/.test(before) && /^\s*=(?!=)/.test(after)) || inPattern(before))) return;
      // An assignment's target (`x = `, `x += `, `x++`) becomes another variable the code assigns (not a
      // const, a module or a global: Python would make that name local to the function, unbound where it
      // was read before).
      const target = /^\s*(?:[-+*/%&|^]|\*\*|<<|>>>?|\?\?|&&|\|\|)?=(?!=)/.test(after) || (!py && (/^\s*(\+\+|--)/.test(after) || /(\+\+|--)\s*$/.test(before) || assignedPattern(code, m.index)));
      // In a `for … in` clause's iterable (`for kw in expr.keywords`), its own targets are not bound yet.
      const clause = py ? /\bfor\s+([\w\s,()]+?)\s+in\b(?!.*\b(?:if|for)\b)[^]*$/.exec(before) : null;
      const unbound = new Set([...(clause?.[1].match(/\w+/g) ?? []), ...iterable]);
      const others = nearby.filter((v) => v !== name && (!target || assigned.has(v)) && !unbound.has(v) && !aliases.has(`${name} ${v}`) && !aliases.has(`${v} ${name}`));
      if (others.length === 0 || !nearby.includes(name)) return;
      add('variable', splice(m.index, m.index + name.length, rng.pick(others)), 'the wrong variable is used');
    });
  }

  // Deleted statement: a complete one-line statement with an effect. Not the line that carries the file's
  // BOM: deleting it would take the BOM too, a second change.
  if (!line.startsWith('\ufeff') && deletable(s, i, code)) add('delete', null, 'a statement is missing');

  // Changed literal: integers ±1, booleans flipped; not in a TS type (`wire: 0 | 2`, `{ ok: true; … }`, `Parameters<F>[0]`).
  const inType = (m: RegExpExecArray) => !py && typeLiteral(s, i, code, m.index, m.index + m[1].length);
  at(/(?<![\w$.])(\d+)(?![\w$.]|\.\d)/, (m) => {
    if (/^0\d/.test(m[1]) || m[1].length > 6 || inType(m)) return;
    const v = Number(m[1]);
    const nv = v === 0 ? 1 : rng.next() < 0.5 ? v - 1 : v + 1;
    add('literal', splice(m.index, m.index + m[1].length, String(nv)), 'a numeric constant has the wrong value');
  });
  const [T, F] = py ? ['True', 'False'] : ['true', 'false'];
  at(new RegExp(`\\b(${T}|${F})\\b`), (m) => inType(m) || add('literal', splice(m.index, m.index + m[1].length, m[1] === T ? F : T), 'a boolean constant is flipped'));
  return out;
}

/**
 * Whether the JS literal at [a, b) of line i (`code`: the line's code) stands in a type: on a function's
 * header lines after a `:` rather than a default's `=` (`wire: 0 | 2`, `): { ok: true }`), a member of an
 * object type (`{ ok: true; … }`, `{ ack?: true }`), or a type's index (`Parameters<F>[0]`).
 */
function typeLiteral(s: Scan, i: number, code: string, a: number, b: number): boolean {
  const before = code.slice(0, a);
  if (/>\[\s*$/.test(before) || /\?:\s*$/.test(before)) return true;
  if (/[\w$]:\s*$/.test(before) && /^\s*;/.test(code.slice(b)) && openBracket(code, a) === '{') return true;
  return s.fns.some((f) => f.start <= i && i <= f.head) && before.lastIndexOf(':') > before.lastIndexOf('=');
}

/** Index of the ')' matching the '(' at `open` in a code-only string, or -1. */
function matchParen(code: string, open: number): number {
  let depth = 0;
  for (let k = open; k < code.length; k++) {
    if (code[k] === '(') depth++;
    else if (code[k] === ')' && --depth === 0) return k;
  }
  return -1;
}

/** Top-level comma-separated argument spans [a, b) between from and to. */
function splitArgs(line: string, code: string, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let start = from;
  for (let k = from; k < to; k++) {
    const c = code[k];
    if ('([{<'.includes(c)) depth++;
    else if (')]}>'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      out.push([start, k]);
      start = k + 1;
    }
  }
  if (line.slice(start, to).trim() !== '' || out.length) out.push([start, to]);
  return out;
}

/**
 * Whether the Python name between `before` and `after` on its line is a keyword argument's: `f(a, name=…`, or
 * `name=…` opening a line of a call spread over lines (an assignment has spaces around its `=`, PEP 8).
 */
function isKeywordArg(before: string, after: string): boolean {
  return (/[(,]\s*$/.test(before) && /^\s*=(?!=)/.test(after)) || (/^\s*$/.test(before) && /^=(?!=)/.test(after));
}

/** Whether the name between `before` and `after` on its line is a parameter: of `def f(…)` or `lambda …:` (Python), of `function f(…)` or `(…) =>` (JS). */
function isParameter(py: boolean, before: string, after: string): boolean {
  if (py) return /^\s*(async\s+)?def\s/.test(before) || /\blambda\b[^:]*$/.test(before);
  if (/\bfunction\b[^(]*\([^)]*$/.test(before)) return true;
  // A method's header: `name(a, b) {`, `async name(a: T): R {` (in a class or an object literal).
  if (/^\s*(?:(?:async|static|get|set|private|public|protected|readonly|override)\s+)*(?!(?:if|for|while|switch|catch|with)\b)[\w$]+\s*(?:<[^>]*>)?\s*\([^)]*$/.test(before) && /\)\s*(?::[^{]*)?\{\s*$/.test(after)) return true;
  return /^[^()]*\)\s*=>/.test(after) && /\(\s*[\w$\s,]*$/.test(before);
}

/**
 * Lower-case identifiers that line i can use: those on line i and on the 8 lines above it (inside the
 * enclosing function when there is one), as values. Not a name on a later line (declared after line i:
 * no valid code, or an UnboundLocalError), nor one in a block that closed before line i (by indentation:
 * a `const` of an inner block, a nested def's locals), nor one that only an inner scope binds (a
 * lambda's, arrow's or inner function's parameter, a comprehension's target, a `for (let …)` of a loop
 * that line i is not in), nor the name that line i itself declares or assigns (not bound yet where its
 * value is computed); nor module paths of imports, nor a name an import binds (a module, an imported
 * class or function), a class of the file's own (`_Sentinel`), a built-in (`bytes`, `setTimeout`) or a dunder (`__file__`): a realistic wrong variable is
 * another value of the code's own (and not one that an earlier `a = b` made the same value). Some names that Python would still see (one assigned in a closed `if`
 * block) are passed over: fewer candidates, none out of scope.
 */
function nearbyVariables(s: Scan, i: number, words: Set<string>, fn: FnRange | null): { names: string[]; assigned: Set<string>; aliases: Set<string> } {
  const assigned = new Set<string>(); // of those, names an earlier line assigns with `=` (not a const)
  const aliases = new Set<string>(); // "a b" where an earlier line is `a = b`: the two hold one value, and one for the other is no bug
  const lo = Math.max(fn ? fn.start : 0, i - 8);
  const py = s.lang === 'python';
  const seen = new Set<string>();
  const fnNames = new Set(s.fns.map((f) => f.name));
  const classes = classNames(s);
  // Walking up from line i: `floor` is the least indentation of the code lines after j up to i. Line j is
  // on i's path when its indentation is at most that (its block is still open at i), and i is within the
  // block that j opens when less.
  let floor = indentOf(s, i);
  for (let j = i; j >= lo; j--) {
    const code = codeOnly(s, j);
    if (code.trim() === '' || indentOf(s, j) > floor) continue;
    const within = j < i && indentOf(s, j) < floor;
    floor = indentOf(s, j);
    if (/^\s*(import\s|from\s+\S+\s+import\s|export\s.*\sfrom\s)/.test(code)) continue;
    const hidden = innerNames(code, py, within, j === i || within || runsOn(s, j, i));
    const set = j < i ? /^\s*(?:let\s+|var\s+)?([A-Za-z_$][\w$]*)\s*(?:[-+*/%&|^]|\*\*)?=(?!=)/.exec(code) : null;
    if (set && !hidden.has(set[1])) assigned.add(set[1]);
    const alias = j < i ? /^\s*(?:const\s+|let\s+|var\s+)?([A-Za-z_$][\w$]*)\s*=\s*([A-Za-z_$][\w$]*)\s*;?\s*$/.exec(code) : null;
    if (alias) aliases.add(`${alias[1]} ${alias[2]}`);
    for (const m of code.matchAll(/(?<![\w$.])([a-z_][\w$]*)(?![\w$])(?!\s*\()(?!\??:[^:])/g)) {
      if (words.has(m[1]) || (py ? BUILTINS.py : BUILTINS.js).has(m[1]) || fnNames.has(m[1]) || classes.has(m[1]) || s.imported.has(m[1]) || m[1].length < 2 || /^__\w+__$/.test(m[1]) || hidden.has(m[1])) continue;
      if (py && isKeywordArg(code.slice(0, m.index), code.slice(m.index + m[1].length))) continue;
      seen.add(m[1]);
    }
  }
  // A JS name that line i declares is unbound on all of it (`const id = ids.get(k)`: not `id.get(k)`).
  if (!py) {
    const code = codeOnly(s, i);
    for (const m of code.matchAll(/\b(?:const|let)\s+([\w$\s,{}[\]:.]+?)\s*(?:=(?!=)|\bof\b|\bin\b)/g)) for (const n of m[1].matchAll(/[\w$]+/g)) seen.delete(n[0]);
    if (/\b(?:const|let)\s/.test(code)) for (const m of code.matchAll(/,\s*([A-Za-z_$][\w$]*)\s*=(?!=)/g)) seen.delete(m[1]); // `let a = 0, b = a`
    // A `let x;` is a value only once a statement of its own block has assigned it: not on the line that
    // gives it its first value (`text = f(text)`), nor after a value given in a branch, a loop or a `try`.
    for (const v of seen) if (unassignedAt(s, i, v, fn)) seen.delete(v);
  }
  return { names: [...seen].sort(), assigned, aliases };
}

/**
 * Whether column `at` of JS line i stands in an object literal (or a destructuring pattern), opened on this
 * line or an earlier one: the innermost bracket open there is a `{` on its line's start or after `=`, `(`,
 * `,`, `:`, `[`, `?` or `return`, not a block's.
 */
function inObjectLiteral(s: Scan, i: number, at: number): boolean {
  let depth = 0;
  for (let j = i; j >= Math.max(0, i - 200); j--) {
    const code = codeOnly(s, j);
    for (let k = (j === i ? at : code.length) - 1; k >= 0; k--) {
      const c = code[k];
      if (')]}'.includes(c)) depth++;
      else if ('([{'.includes(c) && depth-- === 0) return c === '{' && /(?:^|[=(,:[?]|\breturn)\s*$/.test(code.slice(0, k));
    }
  }
  return false;
}

const classesOf = new WeakMap<Scan, Set<string>>();

/** The names the file's `class` statements bind (`_Sentinel`: lower-case to the name pattern, a class all the same), once per scan. */
function classNames(s: Scan): Set<string> {
  let out = classesOf.get(s);
  if (!out) {
    out = new Set();
    for (let j = 0; j < s.lines.length; j++) {
      const m = /^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/.exec(s.lines[j]);
      if (m && isCode(s, j, m.index + m[0].length - m[1].length, m.index + m[0].length)) out.add(m[1]);
    }
    classesOf.set(s, out);
  }
  return out;
}

/** Whether column `at` of a JS line's code stands in a destructuring assignment's pattern (`[ws, we] = [lo, hi]`, `({ a } = o)`): a target. */
function assignedPattern(code: string, at: number): boolean {
  const k = openBracketAt(code, at);
  if (k < 0 || code[k] === '(' || !/(?:^|[;{}()]|\belse)\s*$/.test(code.slice(0, k))) return false;
  const close = matchBracketAny(code, k);
  return close > 0 && /^\s*=(?![=>])/.test(code.slice(close + 1));
}

/** Index of the bracket (any of `([{`) that closes the one opened at `open`, or -1. */
function matchBracketAny(code: string, open: number): number {
  let depth = 0;
  for (let k = open; k < code.length; k++) {
    if ('([{'.includes(code[k])) depth++;
    else if (')]}'.includes(code[k]) && --depth === 0) return k;
  }
  return -1;
}

/** The lines of a JS file that may declare a `let` with no value (`let text: string;`, `let a, b;`), found once per file. */
const bareLetLines = new WeakMap<Scan, number[]>();

/**
 * Whether JS name `v` is, at line i, a `let` declared with no value above it (in its function) that no
 * statement of the declaration's own block (same indentation, starting with `v =` or a destructuring
 * `[…, v, …] =`) has assigned on the lines between: tsc reads it as used before being assigned (a value
 * given only in an `if` branch, a loop, a `try` or a one-line `if`, or on line i itself).
 */
function unassignedAt(s: Scan, i: number, v: string, fn: FnRange | null): boolean {
  let bare = bareLetLines.get(s);
  if (!bare) {
    bare = [];
    for (let j = 0; j < s.lines.length; j++) if (/\blet\s+[\w$]+\s*(?::[^=;]*)?[;,]/.test(codeOnly(s, j))) bare.push(j);
    bareLetLines.set(s, bare);
  }
  const from = Math.max(fn ? fn.start : 0, i - 200);
  let k = bare.length - 1;
  while (k >= 0 && bare[k] >= i) k--;
  if (k < 0 || bare[k] < from) return false; // no such `let` in reach: most names, most lines
  const name = v.replace(/\$/g, '\\$');
  const decl = new RegExp(`\\blet\\s+(?:[\\w$]+\\s*(?::[^=;,]*)?,\\s*)*${name}\\s*(?::[^=;,]*)?[;,]`);
  let d = -1;
  for (; k >= 0 && bare[k] >= from; k--) if (decl.test(codeOnly(s, bare[k]))) { d = bare[k]; break; }
  if (d < 0) return false;
  const statement = new RegExp(`^\\s*(?:${name}|\\[[^\\]]*(?<![\\w$.])${name}(?![\\w$])[^\\]]*\\])\\s*=(?![=>])`);
  for (let j = d + 1; j < i; j++) if (indentOf(s, j) === indentOf(s, d) && statement.test(codeOnly(s, j))) return false;
  return true;
}

/** Whether a JS name after `before` stands in a declaration's destructuring pattern (`const [a, …b] =`, `for (const { x } of`): its bracket is still open. */
function inPattern(before: string): boolean {
  const m = [...before.matchAll(/\b(?:const|let|var)\s+([[{])/g)].pop();
  return m !== undefined && matchBracketAny(before, m.index + m[0].length - 1) < 0;
}

/** The innermost bracket open at `at` in a line's code, or '' (it opened on an earlier line, or none). */
function openBracket(code: string, at: number): string {
  const k = openBracketAt(code, at);
  return k < 0 ? '' : code[k];
}

/** Index of the innermost bracket open at `at` in a line's code, or -1. */
function openBracketAt(code: string, at: number): number {
  let depth = 0;
  for (let k = at - 1; k >= 0; k--) {
    const c = code[k];
    if (')]}'.includes(c)) depth++;
    else if ('([{'.includes(c) && depth-- === 0) return k;
  }
  return -1;
}

/**
 * Names a line of code binds that a later line cannot see there: parameters of a lambda (always), of an
 * arrow, a function or a def, a `for (let …)` or `catch (e)` variable (unless `within`: line i is inside
 * that block), a comprehension's targets, a class's fields (`this.x` outside their line); and `own`
 * (line i, or a line whose statement runs on to line i: `const x = f(` …) what it declares or assigns
 * (not bound yet while its value is computed).
 */
function innerNames(code: string, py: boolean, within: boolean, own: boolean): Set<string> {
  const out = new Set<string>();
  const names = (t: string) => { for (const m of t.matchAll(/[A-Za-z_$][\w$]*/g)) out.add(m[0]); };
  const each = (re: RegExp) => { for (const m of code.matchAll(re)) names(m[1]); };
  if (py) {
    each(/\blambda\b([^:]*):/g);
    each(/\S.*?\bfor\s+([\w\s,()]+?)\s+in\b/g); // a comprehension's `for` (not the line's own statement)
    if (!within) each(/^\s*(?:async\s+)?def\s+\w+\s*\(([^)]*)/g);
    if (!within) each(/^\s*except\b.*\bas\s+(\w+)/g); // unbound again once the handler ends
    if (own) {
      // The names `a = b = …` or `a, (b, c) = …` assigns (not an attribute's or an item's: `x.y = `, `x[k] = `).
      const targets = /^\s*((?:[\w\s,.()*]+=(?!=)\s*)+)/.exec(code)?.[1] ?? '';
      for (const t of targets.split(/[=,]/)) if (/^[A-Za-z_]\w*$/.test(t.replace(/[\s()*]/g, ''))) out.add(t.replace(/[\s()*]/g, ''));
      each(/(\w+)\s*:=/g);
    }
    if (own && !within) {
      each(/^\s*(?:async\s+)?for\s+([\w\s,()]+?)\s+in\b/g);
      each(/\bas\s+(\(?[\w\s,]+)/g);
    }
  } else {
    if (!within) {
      each(/\(([^()]*)\)\s*(?::[^=()]*)?=>/g); // `(name: string): T =>` too
      each(/([A-Za-z_$][\w$]*)\s*=>/g);
      each(/\bfunction\b[^(]*\(([^)]*)/g);
      each(/\bfor\s*\(\s*(?:let|const|var)\s+([^;=]*?)\s+(?:of|in|=)/g);
      each(/\bcatch\s*\(([^)]*)\)/g);
      // A method's parameters (`async sample(task, n, greedy) {`, `constructor(a) {`): not an `if (…) {`.
      each(/^\s*(?:(?:async|static|get|set|public|private|protected|override)\s+)*\*?#?(?!(?:if|for|while|switch|catch|with|return|function)\b)[\w$]+\s*\(([^()]*)\)\s*(?::[^{}]*)?\{\s*$/g);
      // A `let`/`const` in a block opened and closed on the line (`for (…) { let id = …; A[i] = id; }`).
      for (const m of code.matchAll(/\{[^{}]*\}/g)) for (const d of m[0].matchAll(/\b(?:let|const)\s+([\w$]+)/g)) out.add(d[1]);
    }
    each(/^\s*(?:(?:private|public|protected|readonly|static|override|declare|accessor)\s+)+#?([\w$]+)/g);
    if (own) each(/\b(?:const|let|var)\s+([\w$\s,{}[\]:.]+?)\s*=(?!=)/g); // `const [norm, ...rest] = f(() => {` too
  }
  return out;
}

/** The indentation of line j (its leading white space). */
function indentOf(s: Scan, j: number): number {
  return s.lines[j].length - s.lines[j].trimStart().length;
}

/** Whether the statement of line j runs on to line i: a bracket it opens is still open at the end of every line up to line i (`number = (⏎ …⏎ ) or x.number`). */
function runsOn(s: Scan, j: number, i: number): boolean {
  const open = openAt(s);
  for (let k = j + 1; k <= i; k++) if (open[k] <= open[j]) return false;
  return j < i;
}

/** Whether `name` stands in the code of a line above line i, within its function (or 200 lines). */
function usedBefore(s: Scan, i: number, name: string): boolean {
  const re = new RegExp(`(?<![\\w.])${name}(?!\\w)`);
  const fn = enclosingFn(s, i);
  for (let j = i - 1; j >= Math.max(fn ? fn.start : 0, i - 200); j--) if (re.test(codeOnly(s, j))) return true;
  return false;
}

function deletable(s: Scan, i: number, code: string): boolean {
  const t = code.trim();
  if (!balanced(t)) return false;
  const prevIdx = prevCodeLine(s, i);
  if (s.lang === 'python') {
    if (openAt(s)[i] > 0) return false; // a line of an expression in brackets (`and isinstance(x, T)`), no statement
    if (/[:,\\([{]$/.test(t) || /^(def|class|import|from|return|pass|else|elif|except|finally|try|with|for|while|if|@|global|nonlocal|\)|\.)/.test(t)) return false;
    if (!(/\w\(.*\)$/.test(t) || /^[\w.[\]'" ]+\s*([+\-*/]?=)\s*\S/.test(t) || /^(break|continue)$/.test(t))) return false;
    const ind = (l: string) => l.length - l.trimStart().length;
    const nextIdx = nextCodeLine(s, i); // not a comment's line
    const next = nextIdx < 0 ? undefined : s.lines[nextIdx];
    const prev = prevIdx >= 0 ? codeOnly(s, prevIdx).trim() : '';
    // The only statement of a block: deleting it would be a syntax error.
    if (prev.endsWith(':') && (next === undefined || ind(next) < ind(s.lines[i]))) return false;
    // The first assignment of a name (in Python, its declaration): without it, reading the name fails at once.
    const set = /^([A-Za-z_]\w*)\s*=(?!=)/.exec(t);
    if (set && !usedBefore(s, i, set[1])) return false;
    // A name an inner function declares nonlocal needs its binding here (else: "no binding for nonlocal").
    if (set && s.lines.some((l) => new RegExp(`^\\s*nonlocal\\b.*\\b${set[1]}\\b`).test(l))) return false;
    if (t === 'continue' && lastInLoop(s, i)) return false;
    return prevIdx < 0 || !/[,\\([{]$/.test(prev);
  }
  if (!t.endsWith(';') || /^(const|let|var|import|export|return|throw|type|interface|function|class|enum|declare|case|default|yield|private|public|protected|readonly|static|abstract|override|accessor|\}|\)|\]|\.|\?|:)/.test(t)) return false;
  if (inClassBody(s, i)) return false; // a field (`kept = 0;`), no statement
  if (!(/[\w$)\]]\(.*\);$/.test(t) || /[^=!<>]=[^=>]|\+\+|--|[+\-*/|&]=/.test(t) || /^(break|continue);$/.test(t))) return false;
  const prev = prevIdx >= 0 ? codeOnly(s, prevIdx).trim() : '';
  const nextIdx = nextCodeLine(s, i);
  if (nextIdx >= 0 && /^else\b/.test(codeOnly(s, nextIdx).trim())) return false; // `if (…) x;` then `else`: deleting it leaves the else dangling
  if (t === 'continue;' && lastInLoop(s, i)) return false;
  return prev === '' || /[;{}]$/.test(prev);
}

/**
 * Whether nothing of its loop's body runs after line i (a `continue` there does nothing): the innermost
 * `for`/`while` header above it (by indentation) is followed, after line i, by a line indented no deeper
 * than the header (Python, past the `elif`/`else` branches of an `if` that line i ends a branch of), or by
 * the brace that closes the loop (JS: only `}` lines, the last at the header's indentation).
 */
function lastInLoop(s: Scan, i: number): boolean {
  const py = s.lang === 'python';
  let floor = indentOf(s, i);
  let header = -1;
  for (let j = i - 1; j >= 0 && header < 0; j--) {
    const c = codeOnly(s, j);
    if (c.trim() === '' || indentOf(s, j) >= floor) continue;
    floor = indentOf(s, j);
    if (py ? /^\s*(async\s+)?(for|while)\b/.test(c) : /^\s*(\}\s*)?(for|while|do)\b/.test(c)) header = j;
    else if (py ? /^\s*(async\s+)?(def|class)\b/.test(c) : /\b(function|class)\b|=>/.test(c)) return false;
  }
  if (header < 0) return false;
  let j = nextCodeLine(s, i);
  if (py) {
    // The other branches of an `if` that line i ends a branch of do not run after it: passed over.
    while (j >= 0 && indentOf(s, j) < indentOf(s, i) && indentOf(s, j) > indentOf(s, header) && /^\s*(elif|else)\b/.test(codeOnly(s, j))) {
      const top = indentOf(s, j);
      do j = nextCodeLine(s, j); while (j >= 0 && indentOf(s, j) > top);
    }
    return j < 0 || indentOf(s, j) <= indentOf(s, header);
  }
  for (; ; j = nextCodeLine(s, j)) {
    if (j < 0) return false;
    if (codeOnly(s, j).trim() !== '}') return false;
    if (indentOf(s, j) <= indentOf(s, header)) return true;
  }
}

const opens = new WeakMap<Scan, Int32Array>();

/** Per line, the brackets open where it starts (code only, from the top of the file); made once per scan. */
function openAt(s: Scan): Int32Array {
  let out = opens.get(s);
  if (out) return out;
  out = new Int32Array(s.lines.length);
  let depth = 0;
  for (let i = 0; i < s.lines.length; i++) {
    out[i] = depth;
    const line = s.lines[i];
    const m = s.mask[i];
    for (let k = 0; k < line.length; k++) {
      if (!m[k]) continue;
      const c = line.charCodeAt(k);
      if (c === 40 || c === 91 || c === 123) depth++; // ( [ {
      else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
    }
  }
  opens.set(s, out);
  return out;
}

/**
 * Where Python line i is inside a comprehension's iterable whose bracket opened at the end of an earlier
 * line (`for fields in (⏎ data.path_params,`), the targets of every `for … in` of that statement: none is
 * bound while the iterable is read (those of earlier clauses would be, and are left out all the same).
 */
function iterableTargets(s: Scan, i: number): string[] {
  const open = openAt(s);
  let floor = open[i];
  let inIterable = false;
  let j = i - 1;
  for (; j >= 0 && open[j + 1] > 0; j--) {
    if (!inIterable && open[j + 1] <= floor && open[j + 1] === open[j] + 1 && /\bfor\s+[\w\s,()]+?\s+in\s*[([{]\s*$/.test(codeOnly(s, j))) inIterable = true;
    floor = Math.min(floor, open[j]);
  }
  if (!inIterable) return [];
  const out: string[] = [];
  for (let k = j + 1; k < s.lines.length && (k === j + 1 || open[k] > 0); k++) {
    for (const m of codeOnly(s, k).matchAll(/\bfor\s+([\w\s,()]+?)\s+in\b/g)) out.push(...(m[1].match(/\w+/g) ?? []));
  }
  return out;
}

/** Whether Python line i continues (inside brackets) a statement that starts with `for`: `) in items:` of a `for (a, b)` header. */
function inForHeader(s: Scan, i: number): boolean {
  const open = openAt(s);
  let j = i;
  while (j > 0 && open[j] > 0) j--;
  return j < i && /^\s*(async\s+)?for\b/.test(codeOnly(s, j));
}

/** Whether JS line i stands right in a class's body (no method between): a field's line, not a statement's. */
function inClassBody(s: Scan, i: number): boolean {
  for (let j = i - 1; j >= 0; j--) {
    const c = codeOnly(s, j);
    if (c.trim() === '' || indentOf(s, j) >= indentOf(s, i)) continue;
    return /\bclass\b[^(]*\{\s*$/.test(c);
  }
  return false;
}

function prevCodeLine(s: Scan, i: number): number {
  for (let j = i - 1; j >= 0; j--) if (codeOnly(s, j).trim() !== '') return j;
  return -1;
}

function balanced(t: string): boolean {
  let d = 0;
  for (const c of t) {
    if ('([{'.includes(c)) d++;
    else if (')]}'.includes(c) && --d < 0) return false;
  }
  return d === 0;
}

// ---- equivalent boundary flips -----------------------------------------------------------------
// `<` ↔ `<=` and `>` ↔ `>=` only change the outcome where the two operands are equal. Some code yields
// the same either way there (`a > b ? a : b`, `if (x > hi) return hi;`, `if (n > max) n = max;`), and
// a "bug" no test can see is no task. Operands are simple ones (names, members, calls, indexes,
// parenthesized groups), compared as text; anything harder to read keeps the mutation.

const BOUNDARY = new Set(['<', '<=', '>', '>=']);

/** What may stand right before a comparison's left operand: nothing there binds tighter than the comparison. */
const LOOSER_BEFORE = /(?:^|[([{,;?:]|[^<>=!]=|[=!]==?|=>|&&|\|\||\b(?:return|yield|case|if|elif|while|and|or|not|else))\s*$/;

type Span = [number, number];

/** True when flipping the boundary of the comparison at [a, b) of line i cannot change what the code does. */
function boundaryFlipIsMoot(s: Scan, i: number, a: number, b: number): boolean {
  const code = codeOnly(s, i);
  const l = operandBefore(code, a);
  const r = operandAfter(code, b);
  if (!l || !r || !LOOSER_BEFORE.test(code.slice(0, l[0]))) return false;
  const ops: Operands = [textOf(s, i, l), textOf(s, i, r)];
  return s.lang === 'python'
    ? pyPicksOperand(s, i, code, l, r, ops) || pyGuardsOperand(s, i, code, l, r, ops)
    : jsPicksOperand(s, i, code, r, ops) || jsGuardsOperand(s, i, code, l, r, ops);
}

type Operands = readonly [string, string];
const textOf = (s: Scan, i: number, [a, b]: Span) => s.lines[i].slice(a, b).replace(/\s+/g, '');
const isPair = (x: string, y: string, [p, q]: Operands) => (x === p && y === q) || (x === q && y === p);

/** `A op B ? A : B` (or `? B : A`): where A equals B both branches give the same value. */
function jsPicksOperand(s: Scan, i: number, code: string, r: Span, ops: Operands): boolean {
  const q = /^\s*\?(?![?.])/.exec(code.slice(r[1]));
  const yes = q && operandAfter(code, r[1] + q[0].length);
  const colon = yes && /^\s*:/.exec(code.slice(yes[1]));
  const no = yes && colon && operandAfter(code, yes[1] + colon[0].length);
  if (!yes || !no || !/^\s*(?:$|[)\]},;:])/.test(code.slice(no[1]))) return false;
  return isPair(textOf(s, i, yes), textOf(s, i, no), ops);
}

/** Python's `A if A op B else B`. */
function pyPicksOperand(s: Scan, i: number, code: string, l: Span, r: Span, ops: Operands): boolean {
  const kw = /\bif\s*$/.exec(code.slice(0, l[0]));
  const els = /^\s*else\b/.exec(code.slice(r[1]));
  const yes = kw && operandBefore(code, kw.index);
  const no = els && operandAfter(code, r[1] + els[0].length);
  if (!yes || !no || !LOOSER_BEFORE.test(code.slice(0, yes[0])) || !/^\s*(?:$|[)\]},:]|for\b)/.test(code.slice(no[1]))) return false;
  return isPair(textOf(s, i, yes), textOf(s, i, no), ops);
}

/** `if (X op Y) return Y;` or `if (X op Y) X = Y;` with no else: where X equals Y, taking the branch changes nothing. */
function jsGuardsOperand(s: Scan, i: number, code: string, l: Span, r: Span, ops: Operands): boolean {
  if (!/\bif\s*\(\s*$/.test(code.slice(0, l[0]))) return false;
  const close = matchParen(code, code.lastIndexOf('(', l[0] - 1));
  if (close < 0 || code.slice(r[1], close).trim() !== '') return false;
  const rest = code.slice(close + 1).trim();
  let stmt = codeText(s, i, close + 1).replace(/^\{(.*)\}$/, '$1').trim();
  let last = i;
  if (rest === '' || rest === '{') {
    last = nextCodeLine(s, i);
    if (last < 0) return false;
    stmt = codeText(s, last, 0);
    if (rest === '{') {
      last = nextCodeLine(s, last);
      if (last < 0 || codeOnly(s, last).trim() !== '}') return false;
    }
  }
  const after = nextCodeLine(s, last);
  // An else branch, or an expression running on, would make the guard more than it looks.
  if (after >= 0 && /^\s*(?:else\b|[-+*/%&|^<>=?.:,[(])/.test(codeOnly(s, after))) return false;
  return onlyYieldsOperand(stmt, ops);
}

/** Python's `if x > hi: return hi` / `if x > hi:` + a one-statement block, with no else/elif. */
function pyGuardsOperand(s: Scan, i: number, code: string, l: Span, r: Span, ops: Operands): boolean {
  const colon = /^\s*:/.exec(code.slice(r[1]));
  if (!colon || !/^\s*(?:el)?if\s+$/.test(code.slice(0, l[0]))) return false;
  let stmt = codeText(s, i, r[1] + colon[0].length);
  let last = i;
  if (stmt === '') {
    last = nextCodeLine(s, i);
    if (last < 0 || indentOf(s, last) <= indentOf(s, i)) return false;
    stmt = codeText(s, last, 0);
  }
  const after = nextCodeLine(s, last);
  if (after >= 0 && (indentOf(s, after) > indentOf(s, i) || /^\s*(?:else|elif)\b/.test(codeOnly(s, after)))) return false;
  return onlyYieldsOperand(stmt, ops);
}

/** `return Y` or `X = Y` (a trailing `;` allowed) where X and Y are the compared operands. */
function onlyYieldsOperand(stmt: string, ops: Operands): boolean {
  const squash = (t: string) => t.replace(/\s+/g, '');
  const ret = /^return\s+(.+?)\s*;?$/.exec(stmt);
  if (ret) return ops.includes(squash(ret[1]));
  const set = /^(.+?)\s*=(?!=)\s*(.+?)\s*;?$/.exec(stmt);
  return !!set && isPair(squash(set[1]), squash(set[2]), ops);
}

/** The simple operand ending just before `at` (spaces skipped), or null. */
function operandBefore(code: string, at: number): Span | null {
  const end = code.slice(0, at).trimEnd().length;
  let p = end;
  while (p > 0) {
    const c = code[p - 1];
    if (c === ')' || c === ']') p = matchBracket(code, p - 1);
    else if (/[\w$]/.test(c)) p--;
    else if (c === '.') p -= code[p - 2] === '?' ? 2 : 1;
    else break;
    if (p < 0) return null;
  }
  return p < end && /[\w$([]/.test(code[p]) ? [p, end] : null;
}

/** The simple operand starting at `at` (spaces skipped), or null. */
function operandAfter(code: string, at: number): Span | null {
  const start = code.length - code.slice(at).trimStart().length;
  let p = start;
  while (p < code.length) {
    const c = code[p];
    if (c === '(' || c === '[') {
      const e = matchBracket(code, p);
      if (e < 0) return null;
      p = e + 1;
    } else if (/[\w$.]/.test(c)) p++;
    else if (c === '?' && code[p + 1] === '.') p += 2;
    else break;
  }
  return p > start && code[start] !== '.' ? [start, p] : null;
}

/** Index of the bracket matching the one at k, looking the way it opens; -1 when unmatched. */
function matchBracket(code: string, k: number): number {
  const dir = '(['.includes(code[k]) ? 1 : -1;
  let depth = 0;
  for (let j = k; j >= 0 && j < code.length; j += dir) {
    if ('(['.includes(code[j])) depth += dir;
    else if (')]'.includes(code[j])) depth -= dir;
    if (depth === 0) return j;
  }
  return -1;
}

/** Line i's text from `from` to its last code character (a trailing comment or string left out), trimmed. */
function codeText(s: Scan, i: number, from: number): string {
  return s.lines[i].slice(from, codeOnly(s, i).trimEnd().length).trim();
}

function nextCodeLine(s: Scan, i: number): number {
  for (let j = i + 1; j < s.lines.length; j++) if (codeOnly(s, j).trim() !== '') return j;
  return -1;
}

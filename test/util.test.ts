// Run: node --import tsx --test test/util.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../src/util/rng.ts';
import { readJsonl, writeJsonlAtomic } from '../src/util/fsx.ts';
import { UserError } from '../src/util/errors.ts';
import { tempDir } from './helpers/tmp.ts';

test('rng: same seed same stream, restored state continues exactly', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  const saved = a.state();
  const xs = [a.next(), a.next(), a.int(100)];
  const c = new Rng(saved);
  assert.deepEqual([c.next(), c.next(), c.int(100)], xs);
  assert.notEqual(new Rng(1).nextU32(), new Rng(2).nextU32());
});

test('jsonl: bad line reported with its number; skip policy keeps the rest', () => {
  const dir = tempDir('prrl-');
  const f = path.join(dir, 'x.jsonl');
  fs.writeFileSync(f, '{"a":1}\n{oops\n\n{"a":3}\n');
  assert.throws(() => readJsonl(f), (e: Error) => e instanceof UserError && /x\.jsonl:2: not valid JSON/.test(e.message));
  const warnings: string[] = [];
  assert.deepEqual(readJsonl(f, { onBadLine: 'skip', warn: (m) => warnings.push(m) }), [{ a: 1 }, { a: 3 }]);
  assert.equal(warnings.length, 1);
  writeJsonlAtomic(f, [{ b: 2 }]);
  assert.deepEqual(readJsonl(f), [{ b: 2 }]);
  assert.deepEqual(fs.readdirSync(dir), ['x.jsonl']);
});

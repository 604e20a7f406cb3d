// Run: node --import tsx --test test/demo.test.ts
// `pr-rl demo` checks every setting before its first stage, naming its own flags, and writes nothing then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { demo, type DemoConfig } from '../src/demo.ts';
import { UserError } from '../src/util/errors.ts';
import { tempDir } from './helpers/tmp.ts';

test('demo: a bad setting is one line naming the demo flag, before any stage runs or anything is written', async () => {
  const out = path.join(tempDir(), 'demo');
  const cases: [Partial<DemoConfig>, RegExp][] = [
    [{ grpoSteps: 0 }, /^demo: --grpo-steps must be an integer ≥ 1 \(got 0\)$/],
    [{ sftSteps: 0 }, /^demo: --sft-steps must be an integer ≥ 1 \(got 0\)$/],
    [{ evalTasks: -1 }, /^demo: --eval-tasks must be an integer ≥ 0 \(got -1\)$/],
    [{ seed: -2 }, /^demo: --seed must be an integer in \[0, 4294967295\] \(got -2\)$/],
    [{ backend: 'foo' as DemoConfig['backend'] }, /^demo: --backend must be one of auto\|webgpu\|wasm\|cpu/],
    [{ rewardMode: 'foo' as DemoConfig['rewardMode'] }, /^demo: --reward-mode must be one of search_replace\|whole_file/],
    [{ vocabSize: 10 }, /^--vocab-size must be an integer in/],
    [{ preset: 'no-such-preset' }, /^preset "no-such-preset" not found/],
  ];
  for (const [partial, re] of cases) {
    const logged: string[] = [];
    await assert.rejects(demo({ out, ...partial }, (l) => logged.push(l)), (e: Error) => e instanceof UserError && re.test(e.message), JSON.stringify(partial));
    assert.deepEqual(logged, [], 'no stage started');
    assert.ok(!fs.existsSync(out), 'nothing written');
  }
});

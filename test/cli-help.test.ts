// Run: node --import tsx --test test/cli-help.test.ts
// The CLI's surface: every command (tokenizer's subcommands too) has --help, and every setting in it
// shows its default; only inputs and outputs named by path may go without one. --version prints
// package.json's version. The README's flag reference is what the CLI defines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.join(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'bin', 'pr-rl.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

/** The commands listed under "Commands:" in a help text, but `help`. */
const commandsIn = (help: string) => [...(help.split('Commands:')[1] ?? '').matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]).filter((c) => c !== 'help');

/** An option whose value is a path (a model folder, a tasks file, files to read) or a task reference: it need not have a default. */
const PATH_VALUE = /^--[a-z-]+ <(dir|file|ref|paths\.\.\.|files\.\.\.|[\w-]+\.jsonl)>/;

test('every command has --help, and every setting in it shows its default; --version', () => {
  const top = run('--help');
  assert.equal(top.status, 0, top.stderr);
  const commands = commandsIn(top.stdout).map((c) => [c]);
  assert.ok(commands.length >= 14, top.stdout);
  const tokenizer = run('tokenizer', '--help');
  commands.push(...commandsIn(tokenizer.stdout).map((c) => ['tokenizer', c]));
  assert.ok(commands.some((c) => c.join(' ') === 'tokenizer train'), tokenizer.stdout);
  let settings = 0;
  for (const cmd of commands) {
    const r = run(...cmd, '--help');
    assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: pr-rl ${cmd.join(' ')} `));
    const options = r.stdout.split('\nOptions:\n')[1]?.split('\nGlobal Options:')[0] ?? '';
    // One entry per option: its first line and the wrapped lines of its description.
    const entries = options.split(/\n(?= {2}-)/).map((e) => e.replace(/\s+/g, ' ').trim()).filter((e) => !e.startsWith('-h, --help'));
    for (const e of entries) {
      if (PATH_VALUE.test(e)) continue;
      settings++;
      assert.match(e, /\(default: |default: .*\)$/, `pr-rl ${cmd.join(' ')}: "${e}" shows no default`);
    }
  }
  assert.ok(settings > 100, `${settings} settings checked`);
  const v = run('--version');
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

test("the README's flag reference is the CLI's: every command's flags with their defaults", async () => {
  const { buildProgram, cliReference } = await import('../src/cli/program.ts');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = readme.split(/<!-- cli-reference:start[^>]*-->\n/)[1]?.split('<!-- cli-reference:end -->')[0];
  assert.ok(block, 'README.md has no cli-reference block');
  const want = cliReference(buildProgram());
  assert.ok(!want.includes(ROOT), 'a path of this clone in the reference: another clone would disagree');
  assert.ok((want.match(/^\| `--/gm) ?? []).length > 150, 'fewer flags than the CLI has');
  assert.ok(want.includes('| `--max-commits <n>` | most commits read per repo, newest first (0 = all) (default: 0) |'), want.slice(0, 500));
  assert.equal(block.trimEnd(), want.trimEnd(), 'README.md\'s flag reference is stale: run npm run docs:cli');
});

test('a usage error is one line on stderr and exit 1, not the help text', () => {
  for (const [args, re] of [
    [['mine', '.', '--bogus'], /^pr-rl: unknown option '--bogus' \(see --help\)$/],
    [['mine'], /^pr-rl: missing required argument 'repo' \(see --help\)$/],
    [['split', 'x.jsonl', '--heldout'], /^pr-rl: option '--heldout <size>' argument missing \(see --help\)$/],
    [['minee'], /^pr-rl: unknown command 'minee' \(Did you mean mine\?\) \(see --help\)$/],
  ] as [string[], RegExp][]) {
    const r = run(...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.trimEnd(), re);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
});

test('the backends and reward modes are config.ts\'s lists: every command refuses a value outside them in its usual words', async () => {
  const { BACKENDS, REWARD_MODES, resolveSftConfig, resolveTrainConfig } = await import('../src/config.ts');
  const { resolveEvalConfig } = await import('../src/eval/evaluate.ts');
  const { resolveGenerateConfig } = await import('../src/model/generate.ts');
  const { initBackend } = await import('../src/model/backend.ts');
  assert.deepEqual([BACKENDS, REWARD_MODES], [['auto', 'webgpu', 'wasm', 'cpu'], ['search_replace', 'whole_file']]);
  const bad = 'foo' as never;
  const cases: [() => unknown, string][] = [
    [() => resolveTrainConfig({ backend: bad }), 'train: --backend must be one of auto|webgpu|wasm|cpu (got "foo")'],
    [() => resolveSftConfig({ rewardMode: bad }), 'sft: --reward-mode must be one of search_replace|whole_file (got "foo")'],
    [() => resolveEvalConfig({ backend: bad }), 'eval: --backend must be one of auto|webgpu|wasm|cpu (got "foo")'],
    [() => resolveEvalConfig({ rewardMode: bad }), 'eval: --reward-mode must be one of search_replace|whole_file (got "foo")'],
    [() => resolveGenerateConfig({ backend: bad }), 'generate: --backend must be one of auto|webgpu|wasm|cpu (got "foo")'],
    [() => resolveGenerateConfig({ rewardMode: bad }), 'generate: --reward-mode must be one of search_replace|whole_file (got "foo")'],
  ];
  for (const [f, message] of cases) assert.throws(f, { message });
  await assert.rejects(initBackend(bad), { message: '--backend foo is not one of auto, webgpu, wasm, cpu' });
  for (const [cmd, flag] of [['train', '--backend'], ['eval', '--backend'], ['generate', '--backend'], ['demo', '--backend'], ['sft', '--reward-mode'], ['reward', '--mode']]) {
    const line = run(cmd, '--help').stdout.split('\n').find((l) => l.trimStart().startsWith(flag + ' '));
    assert.ok(line?.includes(flag === '--backend' ? BACKENDS.join('|') : REWARD_MODES.join('|')), `${cmd} ${flag}: ${line}`);
  }
  const choice = run('reward', '--tasks', 'a', '--outputs', 'b', '--mode', 'foo');
  assert.match(choice.stderr, /^pr-rl: option '--mode <mode>' argument 'foo' is invalid\. Allowed choices are search_replace, whole_file\./);
});

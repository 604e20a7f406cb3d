// Run: node --import tsx --test test/webgpu.test.ts
// The WebGPU path on a CPU-only machine: Mesa's lavapipe (bash scripts/fetch-lavapipe.sh) gives Dawn a
// Vulkan device, and test/webgpu-child.ts checks the model, sampler and GRPO step on webgpu against cpu.
// Dawn reads LD_LIBRARY_PATH when node starts, so everything here runs in child processes.
// Also: without an adapter, --backend webgpu fails with one line and --backend auto falls back to wasm.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENV_SH = path.join(ROOT, '.cache/lavapipe/env.sh');
const NO_LAVAPIPE = fs.existsSync(ENV_SH) ? false : 'no Vulkan driver: run bash scripts/fetch-lavapipe.sh';

// Tolerances, webgpu vs cpu, both float32. Relative ones are to the largest |value| of the tensor.
const TOL = { logitsAbs: 1e-4, gradsRel: 1e-3, lossAbs: 1e-4, paramsAbs: 1e-4, adamwRel: 1e-6 };

/** Environment with the lavapipe driver (what `source .cache/lavapipe/env.sh` exports). */
function lavapipeEnv(): NodeJS.ProcessEnv {
  const r = spawnSync('bash', ['-c', `. "${ENV_SH}" && env -0`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(r.stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** Environment where no Vulkan driver can be found, on any machine. */
function noGpuEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VK_DRIVER_FILES: path.join(ROOT, '.cache/no-such-driver.json') };
  delete env.VK_ICD_FILENAMES;
  delete env.PRRL_WEBGPU_FLAGS;
  return env;
}

function cli(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/pr-rl.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

/** stderr lines that are ours (Dawn and Vulkan print their own warnings natively; not ours to judge). */
const ourLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !/^(Warning:|\s+at |\s*$)/.test(l));

test('webgpu (lavapipe) matches cpu: logits, gradients, greedy sampling, GRPO + AdamW steps', { skip: NO_LAVAPIPE, timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/webgpu-child.ts')], {
    cwd: ROOT, env: lavapipeEnv(), encoding: 'utf8', timeout: 280_000,
  });
  assert.equal(r.status, 0, `child failed:\n${r.stderr.slice(-3000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.backend, 'webgpu');
  assert.match(out.adapter, /llvmpipe|lavapipe/i); // env.sh pins VK_DRIVER_FILES to lavapipe, even on a GPU machine
  assert.ok(out.logits.abs <= TOL.logitsAbs, `logits differ by ${out.logits.abs}`);
  assert.equal(out.gradCount.webgpu, out.gradCount.cpu);
  assert.ok(out.grads.rel <= TOL.gradsRel, `gradient of ${out.grads.name} differs by ${out.grads.rel} (relative)`);
  assert.deepEqual(out.greedy.webgpu, out.greedy.cpu, 'greedy tokens differ');
  assert.equal(out.greedy.webgpu[0].length, 6);
  assert.equal(out.losses.webgpu.length, out.losses.cpu.length);
  out.losses.webgpu.forEach((l: number, i: number) => assert.ok(Math.abs(l - out.losses.cpu[i]) <= TOL.lossAbs, `GRPO loss ${i}: ${l} vs ${out.losses.cpu[i]}`));
  assert.ok(out.moved > 1e-3, 'GRPO steps did not move the parameters');
  assert.ok(out.paramsAfter.abs <= TOL.paramsAbs, `after GRPO, ${out.paramsAfter.name} differs by ${out.paramsAfter.abs}`);
  assert.equal(new Set(out.tensorsPerStep).size, 1, `tensors alive after each GRPO step on webgpu: ${out.tensorsPerStep} (a leak)`);
  // Host uploads reuse pooled buffers (fastUploads): once warm, a step creates no GPU buffer.
  assert.equal(out.buffersPerStep.at(-1), 0, `GPU buffers created per GRPO step: ${out.buffersPerStep}`);
  // Fused AdamW kernels (webgpu) against the composite ops (cpu): same arithmetic.
  assert.ok(out.adamw.rel <= TOL.adamwRel, `AdamW params/moments differ by ${out.adamw.rel} (relative)`);
  // Clipping sums 20 gradient norms: more inputs than one WebGPU shader may bind (a Dawn error = exit 1).
  assert.ok(out.clip.rel <= TOL.adamwRel, `clipped gradients differ by ${out.clip.rel} (relative)`);
});

test('--backend webgpu without a Vulkan driver fails with one clear line', { timeout: 60_000 }, () => {
  const r = cli(['generate', '--model', 'no-such-model', '--task', 'hello', '--backend', 'webgpu'], noGpuEnv());
  assert.equal(r.status, 1, r.stderr);
  const lines = ourLines(r.stderr);
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^pr-rl: .*webgpu.*(Vulkan|adapter)/i);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\.ts:/, 'a stack trace');
});

test('--backend auto without a Vulkan driver falls back to wasm and says why in one line', { timeout: 60_000 }, () => {
  const r = cli(['generate', '--model', 'no-such-model', '--task', 'hello', '--backend', 'auto'], noGpuEnv());
  const said = ourLines(r.stderr).filter((l) => /backend/i.test(l));
  assert.equal(said.length, 1, r.stderr);
  assert.match(said[0], /wasm.*(no GPU adapter|Vulkan)/i);
  // It went on past the backend: the missing model is what stops it.
  assert.match(r.stderr, /no-such-model/);
});

test('--backend auto with only lavapipe picks wasm and says how to force webgpu', { skip: NO_LAVAPIPE, timeout: 60_000 }, () => {
  const r = cli(['generate', '--model', 'no-such-model', '--task', 'hello', '--backend', 'auto'], lavapipeEnv());
  const said = ourLines(r.stderr).filter((l) => /backend/i.test(l));
  assert.equal(said.length, 1, r.stderr);
  assert.match(said[0], /wasm.*software.*--backend webgpu/i);
});

// Run: node --import tsx --test test/eval-report.test.ts
// Builds a report from a synthetic run folder and opens it in headless Chromium (Debian's package):
// no console or page errors, every chart drew pixels, the samples table has rows, the page made no
// network request. Leaves a screenshot in test-artifacts/report.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildReport, escapeHtml, pickSamples, runReport } from '../src/eval/report.ts';
import { evaluateTasks } from '../src/eval/evaluate.ts';
import type { Task } from '../src/data/task.ts';
import { UserError } from '../src/util/errors.ts';
import { writeJsonAtomic } from '../src/util/fsx.ts';
import { tempDir } from './helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const EVIL = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

/** A 40-step run whose reward climbs, with evals every 10 steps and samples holding hostile HTML. */
function syntheticRun(): string {
  const dir = tempDir('prrl-report-');
  const lines: string[] = [];
  const samples: string[] = [];
  for (let step = 1; step <= 40; step++) {
    const p = step / 40;
    lines.push(JSON.stringify({
      step, reward_mean: -0.6 + 1.1 * p + 0.05 * Math.sin(step), reward_std: 0.5 - 0.2 * p, format_ok: 0.3 + 0.6 * p, exact: 0.4 * p * p,
      frac_reward_zero_std: 0.6 - 0.4 * p, kl: 0.002 * step, clip_ratio: 0.05 + 0.02 * Math.cos(step), completion_len: 80 - 30 * p,
      truncated: 0.2 * (1 - p), tokens_per_s: 800 + 50 * Math.sin(step / 3), task_size: 2 + Math.floor(step / 5), lr: step < 5 ? 3e-4 * step / 5 : 3e-4,
      loss: 0.1, grad_norm: 1, seconds: 2,
    }));
    if (step % 10 === 0) lines.push(JSON.stringify({ kind: 'eval', step, reward_mean: -0.5 + p, reward_ci: 0.15, format_ok: 0.35 + 0.5 * p, exact: 0.3 * p, n: 32 }));
    samples.push(JSON.stringify({ step, task_id: `repo@${step}`, reward: step % 3 ? 0.5 + p / 2 : -1,
      completion: step === 40 ? EVIL : `<solution>\n<<<<<<< SEARCH\nconst x = ${step};\n=======\nconst x = ${step + 1};\n>>>>>>> REPLACE\n</solution>` }));
  }
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'samples.jsonl'), samples.join('\n') + '\n');
  return dir;
}

async function syntheticEval(file: string): Promise<void> {
  const task = (id: string): Task => ({ id, repo: 'r', base: 'b', source: 'synthetic', text: id, changes: [{ path: 'a.ts', old: 'a', new: 'b' }], context: [],
    stats: { added: 1, removed: 1, files: 1, hunks: 1, promptTokens: 5, language: 'typescript' } });
  const r = await evaluateTasks(['a', 'b', 'c'].map(task), {
    skipReason: () => null,
    sample: async (t, n) => ({ completions: Array(n).fill(t.id === 'a' ? 'right' : 'junk'), truncated: Array(n).fill(false) }),
  }, (_t, c) => ({ reward: c === 'right' ? 1 : -1, formatOk: c === 'right', exact: c === 'right' }), { k: 2 }, { model: 'models/<tiny>' });
  writeJsonAtomic(file, r);
}

test('report: escaping, sample picking and one-line errors for missing or empty runs', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(escapeHtml('a\x00b\x1b[0m\x7f\tc\r\n'), 'a\u2400b\u241b[0m\u2421\tc\r\n', 'control characters shown as their pictures; tab and newlines kept');
  const s = Array.from({ length: 10 }, (_, i) => ({ step: i, task_id: 't', reward: 0, completion: '' }));
  assert.deepEqual(pickSamples(s, 4).map((x) => x.step), [0, 3, 6, 9]);
  const empty = tempDir('prrl-report-');
  const oneLine = (re: RegExp) => (e: Error) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  assert.throws(() => buildReport({ run: path.join(empty, 'nope') }), oneLine(/no such run folder/));
  assert.throws(() => buildReport({ run: empty }), oneLine(/metrics\.jsonl: missing/));
  fs.writeFileSync(path.join(empty, 'metrics.jsonl'), '');
  fs.writeFileSync(path.join(empty, 'samples.jsonl'), '');
  assert.throws(() => buildReport({ run: empty }), oneLine(/no training steps recorded yet/));
  const run = syntheticRun();
  const { html, charts } = buildReport({ run, log: () => {} });
  assert.equal(charts, 8);
  assert.ok(!html.includes(EVIL), 'hostile completion must be escaped');
  assert.ok(!/<(script|link)[^>]+(src|href)=/i.test(html), 'no external scripts or stylesheets');
});

test('report --out may not replace its inputs: the run\'s files (only an HTML file inside the run), an --eval file', () => {
  const run = syntheticRun();
  const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'));
  const evalFile = path.join(tempDir('prrl-report-'), 'eval.json');
  fs.writeFileSync(evalFile, '{}');
  const refused = (out: string, evals: string[], re: RegExp) =>
    assert.throws(() => runReport({ run, out, evals, log: () => {} }), (e: Error) => e instanceof UserError && re.test(e.message), out);
  refused(path.join(run, 'metrics.jsonl'), [], /--out .*metrics\.jsonl is inside the run folder .*; give a file elsewhere$/);
  refused(path.join(run, 'final', 'config.json'), [], /is inside the run folder/);
  refused(evalFile, [evalFile], /--out .*eval\.json is the --eval 1 file/);
  refused(path.join(run, 'metrics.jsonl', 'r.html'), [], /cannot write .* \(.*metrics\.jsonl is a file, not a folder\)/);
  assert.deepEqual(fs.readFileSync(path.join(run, 'metrics.jsonl')), metrics);
  assert.equal(fs.readFileSync(evalFile, 'utf8'), '{}');
  assert.equal(runReport({ run, out: path.join(run, 'other.html'), log: () => {} }), path.join(run, 'other.html'));
});

test('report --samples 0 shows no sample completions (not all of them)', () => {
  const s = Array.from({ length: 10 }, (_, i) => ({ step: i, task_id: 't', reward: 0, completion: '' }));
  assert.deepEqual(pickSamples(s, 0), []);
  assert.deepEqual(pickSamples(s, 1).map((x) => x.step), [9]);
  const run = syntheticRun();
  const r = buildReport({ run, samples: 0, log: () => {} });
  assert.equal(r.samples, 0);
  assert.match(r.html, /none shown \(--samples 0\)/);
  assert.ok(!r.html.includes('const x = 1;'), 'no completion in the page');
});

test('report renders in headless Chromium: charts drawn, samples listed, no errors', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.skip('chromium not installed: apt-get install chromium');
    return;
  }
  const run = syntheticRun();
  const evalFile = path.join(run, 'eval.json');
  await syntheticEval(evalFile);
  const out = runReport({ run, evals: [evalFile], samples: 12, log: () => {} });

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { __reportCharts?: number }).__reportCharts !== undefined, null, { timeout: 10_000 });

    const charts = await page.evaluate(() => Array.from(document.querySelectorAll('[data-chart]')).map((box) => {
      const canvas = box.querySelector('canvas');
      if (!canvas) return { id: box.getAttribute('data-chart'), w: 0, h: 0, inked: 0 };
      const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let inked = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
      return { id: box.getAttribute('data-chart'), w: canvas.width, h: canvas.height, inked };
    }));
    assert.deepEqual(charts.map((c) => c.id), ['reward', 'format', 'kl', 'length', 'curriculum', 'health', 'throughput', 'heldout']);
    for (const c of charts) {
      assert.ok(c.w > 100 && c.h > 100, `chart ${c.id}: canvas ${c.w}×${c.h}`);
      assert.ok(c.inked > 500, `chart ${c.id}: only ${c.inked} drawn pixels`);
    }
    const rows = await page.locator('#samples tbody tr').count();
    assert.equal(rows, 12);
    assert.equal(await page.locator('table.evals tr').count(), 2);
    // The hostile completion shows as text, not as markup.
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.ok((await page.locator('#samples').innerText()).includes('window.__pwned = 1'));
    assert.equal(errors.join('\n'), '', 'console or page errors');
    assert.deepEqual(requests, [], 'the report must not touch the network');

    // Edge case: a run of one step, KL all zero, fields missing, no evaluations, no samples yet.
    const tiny = tempDir('prrl-report-');
    fs.writeFileSync(path.join(tiny, 'metrics.jsonl'), JSON.stringify({ step: 1, reward_mean: -1, reward_std: 0, format_ok: 0, exact: 0, kl: 0, task_size: 2 }) + '\n');
    fs.writeFileSync(path.join(tiny, 'samples.jsonl'), '');
    const tinyOut = runReport({ run: tiny, log: () => {} });
    const tinyPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    tinyPage.on('console', (m) => { if (m.type() === 'error') errors.push(`tiny console: ${m.text()}`); });
    tinyPage.on('pageerror', (e) => errors.push(`tiny page: ${e.message}`));
    await tinyPage.goto(pathToFileURL(tinyOut).href, { waitUntil: 'load' });
    await tinyPage.waitForFunction(() => (window as unknown as { __reportCharts?: number }).__reportCharts !== undefined, null, { timeout: 10_000 });
    assert.deepEqual(await tinyPage.evaluate(() => Array.from(document.querySelectorAll('[data-chart]')).map((b) => b.getAttribute('data-chart'))),
      ['reward', 'format', 'kl', 'curriculum']);
    assert.match(await tinyPage.locator('#samples').innerText(), /no samples recorded/);
    assert.equal(errors.join('\n'), '', 'console or page errors');

    const artifacts = path.join(ROOT, 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

test('report --eval: files evaluated on different task sets are said not comparable', async () => {
  const run = syntheticRun();
  const a = path.join(run, 'a.json');
  const b = path.join(run, 'b.json');
  await syntheticEval(a);
  fs.copyFileSync(a, b);
  const note = /evaluated on 2 different task sets: their rows are not comparable/;
  assert.doesNotMatch(buildReport({ run, evals: [a, b], log: () => {} }).html, note);
  const other = JSON.parse(fs.readFileSync(b, 'utf8'));
  other.taskSetHash = 'f'.repeat(other.taskSetHash.length);
  fs.writeFileSync(b, JSON.stringify(other));
  assert.match(buildReport({ run, evals: [a, b], log: () => {} }).html, note);
});

test('report: the held-out CI band is drawn from its ends (reward_lo/reward_hi, an asymmetric Wilson interval), or mean ± reward_ci for older runs', () => {
  const run = tempDir('prrl-report-');
  fs.writeFileSync(path.join(run, 'metrics.jsonl'), [
    { step: 1, reward_mean: -1, reward_std: 0, format_ok: 0, exact: 0 },
    { kind: 'eval', step: 1, reward_mean: -0.5, reward_ci: 0.15, format_ok: 0, exact: 0, n: 8 },
    { step: 2, reward_mean: -1, reward_std: 0, format_ok: 0, exact: 0 },
    { kind: 'eval', step: 2, reward_mean: -1, reward_lo: -1, reward_hi: -0.8, format_ok: 0, exact: 0, n: 8 },
  ].map((r) => JSON.stringify(r) + '\n').join(''));
  fs.writeFileSync(path.join(run, 'samples.jsonl'), '');
  const { html } = buildReport({ run, log: () => {} });
  const data = JSON.parse(/<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]) as { charts: { id: string; series: { label: string; values: number[] }[] }[] };
  const held = data.charts.find((c) => c.id === 'heldout')!;
  const band = (label: string) => held.series.find((s) => s.label === label)!.values;
  assert.deepEqual(band('reward CI high'), [-0.35, -0.8]);
  assert.deepEqual(band('reward CI low'), [-0.65, -1]);
  assert.match(html, /held-out @2<\/span><b>-1\.000 \[-1\.000, -0\.800\]<\/b>/);
});

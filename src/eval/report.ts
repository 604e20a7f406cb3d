// `pr-rl report <run>`: one self-contained HTML file from a training run folder (metrics.jsonl,
// samples.jsonl) and optional eval.json files. uPlot's script and CSS are read from node_modules at
// report time and inlined, so the page needs no network when viewed. All text from the run is
// HTML-escaped; data travels as JSON in a script tag. Writing the metrics is the trainer's job.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { readJsonl, writeFileAtomic, checkOutputFile } from '../util/fsx.ts';
import { readEval } from './compare.ts';
import type { EvalResult } from './evaluate.ts';

export interface ReportOptions {
  run: string;
  /** Output file (default: <run>/report.html). */
  out?: string;
  /** Extra eval.json files to summarise in a table. */
  evals?: string[];
  /** Sample completions shown, spread evenly over the run. */
  samples?: number;
  log?: (line: string) => void;
}

type Rec = Record<string, unknown>;
interface Sample { step: number; task_id: string; reward: number; completion: string }

/** One chart: series are metric columns (optionally scaled); bands are [upper, lower] pairs of series. */
interface ChartSpec {
  id: string;
  title: string;
  note: string;
  x: number[];
  series: { label: string; values: (number | null)[]; color: string; dash?: boolean; scale?: string; band?: boolean }[];
  /** Index pairs into `series` (0-based): fill between series[hi] and series[lo]. */
  bands: [number, number][];
  yLabel: string;
  y2Label?: string;
}

const COLORS = { blue: '#2563eb', green: '#16a34a', red: '#dc2626', amber: '#d97706', violet: '#7c3aed', grey: '#64748b' };

export function escapeHtml(s: string): string {
  return s
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
    // Control characters (a model's completion may hold any) are not valid HTML: shown as their pictures (␀, ␛, ␡).
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => String.fromCharCode(c === '\x7f' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
}

const num = (v: unknown): number | null => (typeof v === 'number' && isFinite(v) ? v : null);
const col = (recs: Rec[], key: string, scale = 1) => recs.map((r) => { const v = num(r[key]); return v === null ? null : v * scale; });

/** The held-out reward's 95 % CI ends per eval record: `reward_lo`/`reward_hi`, or mean ± `reward_ci` as runs before them wrote it. */
function rewardCI(evals: Rec[]): { lo: (number | null)[]; hi: (number | null)[] } {
  const m = col(evals, 'reward_mean');
  const ci = col(evals, 'reward_ci');
  const end = (key: string, sign: number) => col(evals, key).map((v, i) => v ?? (m[i] === null || ci[i] === null ? null : m[i]! + sign * ci[i]!));
  return { lo: end('reward_lo', -1), hi: end('reward_hi', 1) };
}
const hasData = (xs: (number | null)[]) => xs.some((v) => v !== null);

function readRun(run: string, log: (l: string) => void): { steps: Rec[]; evals: Rec[]; samples: Sample[] } {
  if (!fs.existsSync(run) || !fs.statSync(run).isDirectory()) throw new UserError(`${run}: no such run folder (give the --out folder of \`pr-rl train\`)`);
  const mFile = path.join(run, 'metrics.jsonl');
  const sFile = path.join(run, 'samples.jsonl');
  for (const f of [mFile, sFile])
    if (!fs.existsSync(f)) throw new UserError(`${f}: missing; is ${run} a \`pr-rl train --out\` folder that has run at least one step?`);
  // A running trainer may have half-written its last line: skip bad lines with a warning.
  const warn = (m: string) => log(`report: warning: ${m}, skipped`);
  const recs = readJsonl<Rec>(mFile, { onBadLine: 'skip', warn }).filter((r) => r && typeof r === 'object' && num(r.step) !== null);
  const steps = recs.filter((r) => r.kind === undefined || r.kind === 'train').sort((a, b) => (a.step as number) - (b.step as number));
  const evals = recs.filter((r) => r.kind === 'eval').sort((a, b) => (a.step as number) - (b.step as number));
  if (steps.length === 0) throw new UserError(`${mFile}: no training steps recorded yet; run \`pr-rl train\` for at least one step`);
  const samples = readJsonl<Sample>(sFile, { onBadLine: 'skip', warn })
    .filter((s) => s && typeof s.completion === 'string' && num(s.step) !== null);
  return { steps, evals, samples };
}

function charts(steps: Rec[], evals: Rec[]): ChartSpec[] {
  const x = steps.map((r) => r.step as number);
  const mean = col(steps, 'reward_mean');
  const sd = col(steps, 'reward_std');
  const plus = mean.map((m, i) => (m === null || sd[i] === null ? null : m + sd[i]!));
  const minus = mean.map((m, i) => (m === null || sd[i] === null ? null : m - sd[i]!));
  const out: ChartSpec[] = [
    { id: 'reward', title: 'Training reward', note: 'batch mean ± std over all sampled completions (−1 = unparsable answer)', x, yLabel: 'reward',
      series: [{ label: 'mean + std', values: plus, color: COLORS.blue, band: true }, { label: 'mean − std', values: minus, color: COLORS.blue, band: true },
        { label: 'mean', values: mean, color: COLORS.blue }], bands: [[0, 1]] },
    { id: 'format', title: 'Format-valid and exact match', note: 'share of the batch\'s completions', x, yLabel: '%',
      series: [{ label: 'format-valid %', values: col(steps, 'format_ok', 100), color: COLORS.green }, { label: 'exact %', values: col(steps, 'exact', 100), color: COLORS.violet }], bands: [] },
    { id: 'kl', title: 'KL to the reference policy', note: 'k3 estimator, mean per token', x, yLabel: 'KL',
      series: [{ label: 'KL', values: col(steps, 'kl'), color: COLORS.red }], bands: [] },
    { id: 'length', title: 'Completion length', note: 'mean tokens per completion', x, yLabel: 'tokens',
      series: [{ label: 'length', values: col(steps, 'completion_len'), color: COLORS.amber }], bands: [] },
    { id: 'curriculum', title: 'Curriculum position', note: 'mean changed lines of the batch\'s tasks', x, yLabel: 'lines',
      series: [{ label: 'task size', values: col(steps, 'task_size'), color: COLORS.grey }], bands: [] },
    { id: 'health', title: 'GRPO health', note: 'groups with zero reward spread give no gradient', x, yLabel: '%',
      series: [{ label: 'zero-std groups %', values: col(steps, 'frac_reward_zero_std', 100), color: COLORS.red },
        { label: 'clipped %', values: col(steps, 'clip_ratio', 100), color: COLORS.amber },
        { label: 'truncated %', values: col(steps, 'truncated', 100), color: COLORS.grey }], bands: [] },
    { id: 'throughput', title: 'Throughput and learning rate', note: 'tokens per second of the step; LR on the right axis', x, yLabel: 'tok/s', y2Label: 'lr',
      series: [{ label: 'tokens/s', values: col(steps, 'tokens_per_s'), color: COLORS.blue }, { label: 'lr', values: col(steps, 'lr'), color: COLORS.grey, dash: true, scale: 'y2' }], bands: [] },
  ];
  if (evals.length) {
    const ex = evals.map((r) => r.step as number);
    const em = col(evals, 'reward_mean');
    const { lo, hi } = rewardCI(evals);
    out.push({ id: 'heldout', title: 'Held-out evaluation', note: 'mean reward and its 95 % CI over held-out tasks; rates on the right axis', x: ex, yLabel: 'reward', y2Label: '%',
      series: [{ label: 'reward CI high', values: hi, color: COLORS.blue, band: true },
        { label: 'reward CI low', values: lo, color: COLORS.blue, band: true },
        { label: 'reward', values: em, color: COLORS.blue },
        { label: 'format-valid %', values: col(evals, 'format_ok', 100), color: COLORS.green, dash: true, scale: 'y2' },
        { label: 'exact %', values: col(evals, 'exact', 100), color: COLORS.violet, dash: true, scale: 'y2' }], bands: [[0, 1]] });
  }
  // Drop series nobody recorded (e.g. KL when beta = 0 is still logged, but older runs may lack fields).
  return out.map((c) => {
    const keep = c.series.map((s) => hasData(s.values));
    const idx = new Map<number, number>();
    keep.forEach((k, i) => { if (k) idx.set(i, idx.size); });
    return { ...c, series: c.series.filter((_, i) => keep[i]),
      bands: c.bands.filter(([a, b]) => keep[a] && keep[b]).map(([a, b]) => [idx.get(a)!, idx.get(b)!] as [number, number]) };
  });
}

/** Up to n samples spread evenly over the run (first and last included); n = 0 picks none. */
export function pickSamples(samples: Sample[], n: number): Sample[] {
  if (n <= 0) return []; // slice(-0) below would be every sample
  const sorted = samples.slice().sort((a, b) => a.step - b.step);
  if (sorted.length <= n) return sorted;
  if (n <= 1) return sorted.slice(-n);
  return Array.from({ length: n }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (n - 1))]);
}

function evalTable(files: string[], evals: EvalResult[]): string {
  if (!evals.length) return '';
  const names = [...new Set(evals.flatMap((e) => Object.keys(e.summary)))];
  const f = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(3));
  const head = `<tr><th>eval.json</th><th>tasks</th>${names.map((m) => `<th>${escapeHtml(m)}</th>`).join('')}</tr>`;
  const rows = evals.map((e, i) => `<tr><td class="path">${escapeHtml(files[i])}<div class="sub">${escapeHtml(e.model ?? '')}</div></td><td>${Object.keys(e.tasks).length}</td>${
    names.map((m) => { const iv = e.summary[m]; return `<td>${iv ? `<b>${f(iv.mean)}</b><div class="sub">[${f(iv.lo)}, ${f(iv.hi)}]</div>` : '–'}</td>`; }).join('')}</tr>`);
  // Rows over different task sets are not comparable (compare refuses them): said above the table.
  const sets = new Set(evals.map((e) => e.taskSetHash));
  const mixed = sets.size > 1 ? ` <b>These files were evaluated on ${sets.size} different task sets: their rows are not comparable.</b>` : '';
  return `<section><h2>Evaluations</h2><p class="note">mean over tasks with 95 % CI (reward: Student t, or Wilson over [−1, 1] when every task scored the same; rates: Wilson).${mixed}</p><div class="scroll"><table class="evals">${head}${rows.join('')}</table></div></section>`;
}

function samplesTable(samples: Sample[], total: number): string {
  const rows = samples.map((s) => `<tr><td>${s.step}</td><td class="path">${escapeHtml(String(s.task_id ?? ''))}</td><td class="${s.reward >= 0.999 ? 'good' : s.reward < 0 ? 'bad' : ''}">${
    typeof s.reward === 'number' ? s.reward.toFixed(3) : '–'}</td><td><pre>${escapeHtml(s.completion)}</pre></td></tr>`);
  const body = rows.length ? rows.join('') : `<tr><td colspan="4">${total ? 'none shown (--samples 0)' : 'no samples recorded'}</td></tr>`;
  return `<section><h2>Sample completions</h2><p class="note">${samples.length} of ${total}, spread evenly over the run</p>` +
    `<table id="samples"><thead><tr><th>step</th><th>task</th><th>reward</th><th>completion</th></tr></thead><tbody>${body}</tbody></table></section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc;margin:0}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 6px} .note,.sub{color:#64748b;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0} .card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:18px} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 12px 4px} .chart h3{font-size:14px;margin:0} .chart .note{margin:0 0 6px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e2e8f0} th,td{border-bottom:1px solid #e2e8f0;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600} td.path{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all;max-width:260px}
td.good{color:#16a34a;font-weight:600} td.bad{color:#dc2626} .scroll{overflow-x:auto}
pre{margin:0;max-height:220px;overflow:auto;white-space:pre-wrap;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
.uplot{font-family:inherit} .u-legend{font-size:12px} .u-legend .band{display:none}`;

// Runs in the browser: builds one uPlot per spec from the embedded JSON.
const CLIENT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var plots = [];
  // uPlot's default tick labels round tiny values (a learning rate of 3e-4) to 0.
  function ticks(u, splits) {
    var m = 0;
    splits.forEach(function (v) { m = Math.max(m, Math.abs(v)); });
    return splits.map(function (v) { return m > 0 && m < 0.01 ? v.toExponential(1) : String(+v.toPrecision(6)); });
  }
  function alpha(hex, a) { var n = parseInt(hex.slice(1), 16); return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')'; }
  data.charts.forEach(function (c) {
    var box = document.getElementById('chart-' + c.id);
    var el = box.querySelector('.plot');
    var series = [{ label: 'step' }];
    c.series.forEach(function (s) {
      series.push({ label: s.label, scale: s.scale || 'y', spanGaps: true, class: s.band ? 'band' : undefined, stroke: s.band ? alpha(s.color, 0.35) : s.color,
        width: s.band ? 1 : 2, dash: s.dash ? [6, 4] : undefined, points: { show: c.x.length < 40 && !s.band, size: 5 } });
    });
    var axes = [{ label: 'step' }, { label: c.yLabel, scale: 'y', values: ticks, size: 56 }];
    if (c.y2Label) axes.push({ label: c.y2Label, scale: 'y2', side: 1, grid: { show: false }, values: ticks, size: 56 });
    var opts = {
      width: Math.max(300, el.clientWidth), height: 240, series: series, axes: axes,
      scales: { x: { time: false } },
      bands: c.bands.map(function (b) { return { series: [b[0] + 1, b[1] + 1], fill: alpha(c.series[b[0]].color, 0.15) }; }),
      legend: { live: true },
    };
    var u = new uPlot(opts, [c.x].concat(c.series.map(function (s) { return s.values; })), el);
    plots.push([u, el]);
  });
  window.addEventListener('resize', function () {
    plots.forEach(function (p) { p[0].setSize({ width: Math.max(300, p[1].clientWidth), height: 240 }); });
  });
  window.__reportCharts = plots.length;
})();`;

function uplotAssets(): { js: string; css: string } {
  const req = createRequire(import.meta.url);
  try {
    return {
      js: fs.readFileSync(req.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: fs.readFileSync(req.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  } catch {
    throw new UserError('report: the uplot package is missing from node_modules; run `npm ci`');
  }
}

/** Builds the HTML text (no file I/O besides reading the run and uPlot). */
export function buildReport(opts: ReportOptions): { html: string; charts: number; samples: number } {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const { steps, evals, samples } = readRun(opts.run, log);
  const evalFiles = opts.evals ?? [];
  const evalResults = evalFiles.map((f) => readEval(f));
  const specs = charts(steps, evals).filter((c) => c.series.length > 0);
  const shown = pickSamples(samples, opts.samples ?? 24);
  const { js, css } = uplotAssets();
  const last = steps[steps.length - 1];
  const lastEval = evals[evals.length - 1];
  const lastCI = lastEval ? rewardCI([lastEval]) : null;
  const fmt = (v: unknown, d = 3) => (num(v) === null ? '–' : (v as number).toFixed(d));
  const pct = (v: unknown) => (num(v) === null ? '–' : `${Math.round((v as number) * 100)} %`);
  const cards = [
    ['steps', String(last.step)],
    ['last reward', `${fmt(last.reward_mean)} ± ${fmt(last.reward_std)}`],
    ['last format-valid', pct(last.format_ok)],
    ...(lastEval && lastCI ? [[`held-out @${lastEval.step}`, `${fmt(lastEval.reward_mean)} [${fmt(lastCI.lo[0])}, ${fmt(lastCI.hi[0])}]`]] : []),
  ].map(([k, v]) => `<div class="card"><span class="note">${escapeHtml(k)}</span><b>${escapeHtml(v)}</b></div>`).join('');
  const chartDivs = specs.map((c) => `<div class="chart" id="chart-${c.id}" data-chart="${c.id}"><h3>${escapeHtml(c.title)}</h3><p class="note">${escapeHtml(c.note)}</p><div class="plot"></div></div>`).join('');
  const noEval = evals.length ? '' : '<p class="note">No held-out evaluations in this run (train with --heldout and --eval-every).</p>';
  // JSON inside <script>: escape "<" so no "</script>" in a completion or task id can end the tag.
  const payload = JSON.stringify({ charts: specs }).replace(/</g, '\\u003c');
  const title = `pr-rl report: ${path.basename(path.resolve(opts.run))}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${css}</style><style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<div class="note">run folder ${escapeHtml(path.resolve(opts.run))} · ${steps.length} steps, ${evals.length} held-out evaluations · written ${escapeHtml(new Date().toISOString())}</div>
<div class="cards">${cards}</div>
<h2>Training</h2>${noEval}
<div class="grid">${chartDivs}</div>
${evalTable(evalFiles, evalResults)}
${samplesTable(shown, samples.length)}
</main>
<script id="report-data" type="application/json">${payload}</script>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script>${CLIENT}</script>
</body></html>
`;
  return { html, charts: specs.length, samples: shown.length };
}

/** `pr-rl report`: writes the HTML file and says where it is. */
export function runReport(opts: ReportOptions): string {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const out = opts.out ?? path.join(opts.run, 'report.html');
  // Inside the run only an HTML file: its log, samples, checkpoints and final/ are the report's inputs.
  checkOutputFile(out, Object.fromEntries((opts.evals ?? []).map((e, i) => [`--eval ${i + 1}`, e])), out.endsWith('.html') ? [] : [[opts.run, 'the run folder']]);
  const { html, charts: n, samples } = buildReport({ ...opts, log });
  writeFileAtomic(out, html);
  log(`report: ${n} charts, ${samples} sample completions → ${out}`);
  return out;
}

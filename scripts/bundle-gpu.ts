// The app half of scripts/bundle-gpu.sh: esbuild bundles src/cli.ts (ESM, platform node) into
// <out>/pr-rl.mjs and copies the runtime files the bundle loads by path: dawn.node (the `webgpu`
// package, kept external), the tfjs wasm binaries, uplot's assets, the model presets and the
// default data. The shell script adds the Node binary and run.sh; this file knows nothing of them.
//   node --import tsx scripts/bundle-gpu.ts --out dist/pr-rl-gpu

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { out: { type: 'string', default: 'dist/pr-rl-gpu' } } });
const out = path.resolve(args.out!);
const nm = (...p: string[]) => path.join(ROOT, 'node_modules', ...p);

/**
 * Each of our source files sees import.meta.url as if it still sat at src/<file> under the bundle
 * root, so paths it builds from it (models/, data/default/, createRequire) land in the bundle
 * folder, which mirrors the repository. `createRequire(import.meta.url)('pkg')` becomes a plain
 * require so esbuild bundles the package instead of leaving a runtime lookup.
 */
const sourceUrls: esbuild.Plugin = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (a) => {
      const rel = path.relative(ROOT, a.path).split(path.sep).join('/');
      if (rel.startsWith('..') || rel.startsWith('node_modules/')) return undefined;
      let text = await fs.promises.readFile(a.path, 'utf8');
      text = text.replace(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, 'require($1)');
      text = text.replace(/import\.meta\.url/g, `__prrlFileUrl(${JSON.stringify(rel)})`);
      text = text.replace(/import\.meta\.dirname/g, `__prrlDirname(${JSON.stringify(rel)})`);
      return { contents: text, loader: 'ts' };
    });
  },
};

/** Packages we do not ship: transformers.js loads onnxruntime-node and sharp, but pr-rl only uses its tokenizers. */
const stubs: esbuild.Plugin = {
  name: 'stubs',
  setup(build) {
    build.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'stub' }));
    // Truthy, or transformers.js refuses to load; it is only called for images, which pr-rl never reads.
    build.onLoad({ filter: /^sharp$/, namespace: 'stub' }, () => ({
      contents: "export default function sharp() { throw new Error('image processing is not part of the pr-rl bundle'); }",
      loader: 'js',
    }));
  },
};

const banner = [
  "import { createRequire as __prrlCreateRequire } from 'node:module';",
  "import { fileURLToPath as __prrlFileURLToPath } from 'node:url';",
  "import { dirname as __prrlDirnameOf } from 'node:path';",
  'const require = __prrlCreateRequire(import.meta.url);',
  'const __filename = __prrlFileURLToPath(import.meta.url);',
  'const __dirname = __prrlDirnameOf(__filename);',
  'const __prrlFileUrl = (p) => new URL(p, import.meta.url).href;',
  'const __prrlDirname = (p) => __prrlDirnameOf(__prrlFileURLToPath(new URL(p, import.meta.url)));',
].join('\n');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
// Two programs: the CLI, and the WebGPU-vs-PyTorch benchmark (run.sh bench-webgpu …) so that a GPU box
// without Node can measure itself.
const build = (entry: string, outfile: string) => esbuild.build({
  entryPoints: [path.join(ROOT, entry)],
  outfile: path.join(out, outfile),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: process.env.PRRL_BUNDLE_MINIFY !== '0',
  legalComments: 'none',
  banner: { js: banner },
  // webgpu finds dawn.node next to its own index.js; onnxruntime-node is required at runtime by
  // transformers.js through createRequire, so a stub package stands in for it (see below).
  external: ['webgpu', 'onnxruntime-node'],
  plugins: [sourceUrls, stubs],
  logLevel: 'warning',
  metafile: true,
});
const result = await build('src/cli.ts', 'pr-rl.mjs');
await build('bench/webgpu.ts', 'bench-webgpu.mjs');

const copy = (from: string, to: string) => {
  fs.mkdirSync(path.dirname(path.join(out, to)), { recursive: true });
  fs.cpSync(from, path.join(out, to), { recursive: true });
};
// Dawn for Linux x86-64 only: the bundle targets NVIDIA Linux machines.
for (const f of ['package.json', 'index.js', 'LICENSE.md']) copy(nm('webgpu', f), `node_modules/webgpu/${f}`);
copy(nm('webgpu/dist/linux-x64/dawn.node'), 'node_modules/webgpu/dist/linux-x64/dawn.node');
fs.mkdirSync(path.join(out, 'node_modules/onnxruntime-node'), { recursive: true });
fs.writeFileSync(path.join(out, 'node_modules/onnxruntime-node/package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '0.0.0-stub', main: 'index.js' }));
fs.writeFileSync(
  path.join(out, 'node_modules/onnxruntime-node/index.js'),
  "// Stub: the pr-rl bundle uses transformers.js for tokenizers only, never for ONNX inference.\n" +
    "exports.env = {};\nexports.Tensor = class Tensor {};\n" +
    "exports.InferenceSession = { async create() { throw Object.assign(new Error('onnxruntime-node is not in the pr-rl GPU bundle'), { code: 'PRRL_NO_ORT' }); } };\n",
);
// tfjs-backend-wasm's node build loads its binaries from __dirname, i.e. next to pr-rl.mjs.
for (const f of fs.readdirSync(nm('@tensorflow/tfjs-backend-wasm/dist')).filter((f) => f.endsWith('.wasm')))
  copy(nm('@tensorflow/tfjs-backend-wasm/dist', f), f);
// The HTML report inlines uplot's files, resolved through node_modules.
for (const f of ['package.json', 'dist/uPlot.iife.min.js', 'dist/uPlot.min.css']) copy(nm('uplot', f), `node_modules/uplot/${f}`);
copy(path.join(ROOT, 'bench/webgpu_torch.py'), 'bench/webgpu_torch.py');
for (const d of ['models', 'data/default']) if (fs.existsSync(path.join(ROOT, d))) copy(path.join(ROOT, d), d);
// The CLI reads its version from here (src/cli/program.ts: ../../package.json, as the bundle maps paths).
const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify({ name: 'pr-rl-gpu', version, private: true, type: 'module' }, null, 2) + '\n');

const bytes = fs.statSync(path.join(out, 'pr-rl.mjs')).size;
const inputs = Object.keys(result.metafile.inputs).length;
process.stdout.write(`bundle: ${path.relative(process.cwd(), path.join(out, 'pr-rl.mjs'))} ${(bytes / 2 ** 20).toFixed(1)} MiB from ${inputs} files\n`);

// Language of a file by its extension (or well-known name), for task stats and retrieval. Pure lookup;
// codescan.ts keeps its own narrower map of the languages the mutator can parse.

const BY_EXT: Record<string, string> = {
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript',
  py: 'python', pyi: 'python', rb: 'ruby', go: 'go', rs: 'rust', java: 'java', kt: 'kotlin', kts: 'kotlin',
  scala: 'scala', swift: 'swift', c: 'c', h: 'c', cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp',
  cs: 'csharp', php: 'php', sh: 'shell', bash: 'shell', zsh: 'shell', lua: 'lua', r: 'r', jl: 'julia',
  ex: 'elixir', exs: 'elixir', erl: 'erlang', hs: 'haskell', ml: 'ocaml', clj: 'clojure', dart: 'dart',
  vue: 'vue', svelte: 'svelte', css: 'css', scss: 'css', less: 'css', html: 'html', htm: 'html',
  md: 'markdown', rst: 'rst', txt: 'text', json: 'json', yaml: 'yaml', yml: 'yaml', toml: 'toml',
  xml: 'xml', sql: 'sql', proto: 'protobuf', zig: 'zig', nim: 'nim', pl: 'perl', pm: 'perl',
};

const BY_NAME: Record<string, string> = {
  Makefile: 'make', Dockerfile: 'docker', CMakeLists: 'cmake', Rakefile: 'ruby', Gemfile: 'ruby',
};

export function languageOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return BY_NAME[base] ?? 'other';
  return BY_EXT[base.slice(dot + 1).toLowerCase()] ?? BY_NAME[base.slice(0, dot)] ?? 'other';
}

/** The language with the most weight (e.g. changed lines) among paths; ties go to the first seen. */
export function mainLanguage(items: { path: string; weight: number }[]): string {
  const w = new Map<string, number>();
  for (const it of items) {
    const l = languageOf(it.path);
    w.set(l, (w.get(l) ?? 0) + Math.max(1, it.weight));
  }
  let best = 'other';
  let bw = -1;
  for (const [l, n] of w) if (n > bw || (best === 'other' && l !== 'other' && n === bw)) { best = l; bw = n; }
  return best;
}

// Random tasks for the rl-format / rl-reward tests: small files drawn from a line pool with unicode,
// duplicates (SEARCH uniqueness), fences and `### ` lines; added, deleted and final-newline changes.
import type { Rng } from '../src/util/rng.ts';
import type { Task } from '../src/data/task.ts';

const POOL = ['', '', '}', '{', 'x', 'x', '    pass', '    return x', 'def f(x):', '# é 中文 😀', '𝔘𝔫𝔦 = 1', '### heading', '```', '```ts', '  ', 'a = b', 'if (x) {'];

function randText(rng: Rng, maxLines: number): string {
  const n = rng.int(maxLines + 1);
  const lines = Array.from({ length: n }, () => rng.pick(POOL));
  const text = lines.join('\n');
  return n && rng.next() < 0.85 ? text + '\n' : text;
}

function mutate(rng: Rng, text: string, k: number): string {
  const lines = text.split('\n');
  for (let e = 0; e < k; e++) {
    const i = rng.int(lines.length + 1);
    const op = rng.next();
    if (op < 0.3 && i < lines.length) lines[i] += ' ' + rng.pick(POOL);
    else if (op < 0.6) lines.splice(i, 0, ...Array.from({ length: 1 + rng.int(3) }, () => rng.pick(POOL)));
    else if (lines.length > 1) lines.splice(Math.min(i, lines.length - 1), 1 + rng.int(2));
  }
  return lines.join('\n');
}

export function randomTask(rng: Rng, id: string): Task {
  const changes: Task['changes'] = [];
  const nFiles = 1 + rng.int(3);
  for (let f = 0; f < nFiles; f++) {
    const kind = rng.next();
    const old = kind < 0.1 ? null : randText(rng, 30);
    let neu: string | null = kind >= 0.1 && kind < 0.18 ? null : mutate(rng, old ?? '', 1 + rng.int(5));
    if (neu !== null && rng.next() < 0.1) neu = neu.endsWith('\n') ? neu.slice(0, -1) : neu + '\n';
    if ((old ?? '') === (neu ?? '')) neu = (neu ?? '') + 'z\n'; // an empty added file is no edit at all
    changes.push({ path: `src/f${f}.py`, old, new: neu });
  }
  return {
    id, repo: 'r', base: '0', source: 'synthetic', text: 'Fix the bug.', changes,
    context: [{ path: 'src/ctx.py', content: randText(rng, 8), reason: 'bm25' }],
    stats: { added: 1, removed: 1, files: nFiles, hunks: 1, promptTokens: 0, language: 'python' },
  };
}

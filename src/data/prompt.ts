// What the policy sees and what the ideal answer is: buildPrompt(task) renders the task text and
// the files as `### path` sections; oracleCompletion(task) writes the minimal SEARCH/REPLACE blocks
// (or whole files) that turn the old files into the new ones. Parsing and applying completions is
// format.ts's job; scoring is reward.ts's. Edits are interpreted with SWE-RL's semantics (see format.ts).

import { diffArrays } from 'diff';
import type { Task } from './task.ts';
import type { RewardMode } from '../config.ts';

/** The answer format a prompt asks for (config.ts's REWARD_MODES). */
export type OutputMode = RewardMode;

export const THINK_START = '<think>';
export const THINK_END = '</think>';
export const SOLUTION_START = '<solution>';
export const SOLUTION_END = '</solution>';

/** The last line of every prompt; the completion follows it. */
export const ANSWER_MARKER: Record<OutputMode, string> = {
  search_replace: 'Answer with SEARCH/REPLACE blocks in <solution></solution>.\n',
  whole_file: 'Answer with the full new content of each file you change in <solution></solution>.\n',
};

/** A file the prompt shows: every changed file (old state, or its window) and every context file. */
export interface PromptFile {
  path: string;
  content: string;
  changed: boolean;
}

/**
 * The files of the prompt, sorted by path. Sorting (rather than changed files first) keeps the
 * position of a file from telling the policy which files the PR changed. Added files show empty.
 */
export function promptFiles(task: Task): PromptFile[] {
  const seen = new Set<string>();
  const files: PromptFile[] = [];
  for (const c of task.changes) {
    if (seen.has(c.path)) continue;
    seen.add(c.path);
    files.push({ path: c.path, content: c.old ?? '', changed: true });
  }
  for (const c of task.context ?? []) {
    if (seen.has(c.path)) continue;
    seen.add(c.path);
    files.push({ path: c.path, content: c.content, changed: false });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The prompt: task text, the files as `### path` sections, then the answer marker. */
export function buildPrompt(task: Task, opts: { mode?: OutputMode } = {}): string {
  const parts = [task.text.trim(), '\n\n'];
  for (const f of promptFiles(task)) {
    parts.push('### ', f.path, '\n', f.content);
    if (f.content && !f.content.endsWith('\n')) parts.push('\n');
  }
  parts.push('\n', ANSWER_MARKER[opts.mode ?? 'search_replace']);
  return parts.join('');
}

/** One SEARCH/REPLACE block as SWE-RL writes it (without the ``` fence, which format.ts tolerates). */
export function formatBlock(path: string, search: string, replace: string): string {
  return `### ${path}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE`;
}

/** A search/replace pair in SWE-RL terms: "\n"+search is replaced by "\n"+replace. */
export interface Block {
  search: string;
  replace: string;
}

/**
 * Minimal blocks turning `oldText` into `newText` under SWE-RL's semantics (format.ts applyEdits):
 * one block per hunk of a line diff, widened by context lines (preceding first, then alternating)
 * until both sides hold at least one line, SEARCH differs from REPLACE, and "\n"+SEARCH occurs
 * exactly once in the file as the earlier blocks left it. Lines are the "\n"-split pieces, so a
 * file's final newline is the empty last piece and a final-newline change is an ordinary hunk.
 * An added file (old "") gets one block with an empty SEARCH; a deleted file becomes empty.
 */
export function searchReplaceBlocks(oldText: string, newText: string): Block[] {
  if (oldText === newText) return [];
  const oldL = oldText.split('\n');
  const newL = newText.split('\n');
  // Hunks as [a0, a1) of old lines replaced by [b0, b1) of new lines.
  const hunks: [number, number, number, number][] = [];
  let a = 0;
  let b = 0;
  for (const ch of diffArrays(oldL, newL)) {
    const last = hunks[hunks.length - 1];
    const open = last && last[1] === a && last[3] === b;
    if (!ch.added && !ch.removed) {
      a += ch.count;
      b += ch.count;
      continue;
    }
    const h: [number, number, number, number] = open ? last : [a, a, b, b];
    if (!open) hunks.push(h);
    if (ch.removed) h[1] = a += ch.count;
    else h[3] = b += ch.count;
  }
  const cur = oldL.slice();
  let offset = 0;
  const blocks: Block[] = [];
  for (const [a0, a1, b0, b1] of hunks) {
    const s0 = a0 + offset;
    const s1 = a1 + offset;
    const middle = newL.slice(b0, b1);
    let before = 0;
    let after = 0;
    let preferBefore = true;
    for (;;) {
      const lo = s0 - before;
      const hi = s1 + after;
      const sLines = cur.slice(lo, hi);
      const rLines = [...cur.slice(lo, s0), ...middle, ...cur.slice(s1, hi)];
      const search = sLines.join('\n');
      const replace = rLines.join('\n');
      const whole = lo === 0 && hi === cur.length;
      if ((sLines.length && rLines.length && search !== replace && unique('\n' + cur.join('\n'), '\n' + search)) || whole) {
        blocks.push({ search, replace });
        cur.splice(lo, hi - lo, ...rLines);
        break;
      }
      if ((preferBefore && lo > 0) || hi >= cur.length) before++;
      else after++;
      preferBefore = !preferBefore;
    }
    offset += b1 - b0 - (a1 - a0);
  }
  return blocks;
}

function unique(hay: string, needle: string): boolean {
  const p = hay.indexOf(needle);
  return p >= 0 && hay.indexOf(needle, p + 1) < 0;
}

/** Whether a whole-file section's text gets a final "\n" appended: the old file's convention. */
export function keepsFinalNewline(oldText: string): boolean {
  return oldText === '' || oldText.endsWith('\n');
}

/** A whole-file section: `### path`, then the content in a fence longer than any fence inside it. */
export function formatWholeFile(path: string, oldText: string, newText: string): string {
  let body = newText;
  if (keepsFinalNewline(oldText) && body.endsWith('\n')) body = body.slice(0, -1);
  let longest = 2;
  for (const m of newText.matchAll(/^`{3,}/gm)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  return newText === '' ? `### ${path}\n${fence}\n${fence}` : `### ${path}\n${fence}\n${body}\n${fence}`;
}

/**
 * The ideal completion: `<solution>`, the blocks (or whole files) that reproduce every changed
 * file's new content exactly, `</solution>`. Files whose text would break the block grammar (a
 * SEARCH holding a "=======" line, a "</solution>" inside) cannot be written exactly; none of our
 * generators produce those, and reward() then simply scores the oracle below 1.
 */
export function oracleCompletion(task: Task, opts: { mode?: OutputMode } = {}): string {
  const parts: string[] = [];
  for (const c of task.changes) {
    const oldText = c.old ?? '';
    const newText = c.new ?? '';
    if (oldText === newText) continue;
    if (opts.mode === 'whole_file') parts.push(formatWholeFile(c.path, oldText, newText));
    else for (const bl of searchReplaceBlocks(oldText, newText)) parts.push(formatBlock(c.path, bl.search, bl.replace));
  }
  return `${SOLUTION_START}\n${parts.join('\n')}\n${SOLUTION_END}`;
}

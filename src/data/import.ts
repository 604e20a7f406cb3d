// `pr-rl import`: SWE-bench / SWE-Gym records (instance_id, repo, base_commit, problem_statement, patch)
// → Task records (source 'import'), against a local clone: each file's old text comes from the clone at
// base_commit, its new text from applying the record's patch (the `diff` package). Bad lines are reported
// with their line numbers and skipped or fatal per --on-bad-line; records the filters drop (a file over
// --max-file-bytes or not text, no change, no text) are counted, as mine counts its drops. Shares stats and
// retrieval with mine.ts.

import { parsePatch, applyPatch } from 'diff';
import { BlobReader, openRepo } from './git.ts';
import { TreeReader } from './trees.ts';
import { contentReason, decodeText, FilterStats, notUtf8Path, type TaskReason } from './filter.ts';
import { changedPaths, makeTask, modeOnly, needCounts } from './mine.ts';
import { fileDiff, type FileDiff } from './linediff.ts';
import { Retriever, type RetrieveOptions } from './retrieve.ts';
import { BlobTexts } from './blobcache.ts';
import type { FileChange, Task } from './task.ts';
import { Progress } from '../util/progress.ts';
import { UserError } from '../util/errors.ts';
import { readTextFile } from '../util/fsx.ts';

export interface ImportConfig extends RetrieveOptions {
  /** Local clone the records' base commits are read from. */
  repo: string;
  /** Files larger than this (before or after) drop the record. */
  maxFileBytes: number;
  /** A line that is not valid JSON, not a record, or whose patch does not apply: skip it (warning) or stop. */
  onBadLine: 'skip' | 'stop';
}

export const IMPORT_DEFAULTS: ImportConfig = {
  repo: '.', maxFileBytes: 1_000_000, onBadLine: 'stop',
  contextFiles: 3, contextBytes: 24_000, indexMaxBytes: 100_000, indexMaxFiles: 5000,
};

interface SweRecord { instance_id: string; repo?: string; base_commit: string; problem_statement: string; patch: string; created_at?: string }

export interface ImportResult { tasks: Task[]; bad: number; stats: FilterStats; seconds: number; warnings: string[] }

/** A record problem the user can act on: reported with its line number, then skipped or fatal. */
class BadRecord extends Error {}

/** A record a filter drops: counted under its reason (with --explain-like detail in the message). */
class Dropped extends Error {
  constructor(readonly reason: TaskReason, detail: string) { super(detail); }
}

export async function importRecords(file: string, partial: Partial<ImportConfig> = {}): Promise<ImportResult> {
  const cfg = { ...IMPORT_DEFAULTS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as ImportConfig;
  if (cfg.onBadLine !== 'skip' && cfg.onBadLine !== 'stop') throw new UserError(`import: --on-bad-line must be skip|stop (got "${cfg.onBadLine}")`);
  needCounts('import', cfg, ['maxFileBytes', 'contextFiles', 'contextBytes', 'indexMaxBytes', 'indexMaxFiles']);
  const text = readTextFile(file);
  const t0 = performance.now();
  const info = openRepo(cfg.repo);
  const lines = text.split('\n');
  const reader = new BlobReader(info.root);
  const trees = new TreeReader(reader);
  const retriever = new Retriever(trees, new BlobTexts(reader), cfg);
  const stats = new FilterStats(false);
  const tasks: Task[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  let bad = 0;
  const bar = new Progress('import', lines.length);
  try {
    for (let i = 0; i < lines.length; i++) {
      bar.tick(i, `${tasks.length} tasks`);
      const line = lines[i].trim();
      if (!line) continue;
      const where = `${file}:${i + 1}`;
      try {
        const task = await importOne(parseRecord(line), info.name, cfg, reader, trees, retriever);
        if (seen.has(task.id)) throw new BadRecord(`duplicate instance_id "${task.id}"`);
        seen.add(task.id);
        tasks.push(task);
        stats.kept++;
      } catch (e) {
        if (e instanceof Dropped) { stats.drop(e.reason, where, e.message); continue; }
        if (!(e instanceof BadRecord)) throw e;
        bad++;
        if (cfg.onBadLine === 'stop') throw new UserError(`${where}: ${e.message} (use --on-bad-line skip to skip such lines)`);
        warnings.push(`${where}: ${e.message}, skipped`);
        stats.drop('unreadable', where);
      }
    }
  } finally {
    bar.done();
    await reader.close();
  }
  return { tasks, bad, stats, seconds: (performance.now() - t0) / 1000, warnings };
}

function parseRecord(line: string): SweRecord {
  let r: SweRecord;
  try { r = JSON.parse(line) as SweRecord; } catch { throw new BadRecord('not valid JSON'); }
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new BadRecord('not a JSON object');
  for (const k of ['instance_id', 'base_commit', 'problem_statement', 'patch'] as const) {
    if (typeof r[k] !== 'string' || r[k] === '') throw new BadRecord(`missing or empty "${k}"`);
  }
  if (!/^[0-9a-f]{7,64}$/i.test(r.base_commit)) throw new BadRecord(`base_commit "${r.base_commit.slice(0, 80)}" is not a commit id`);
  return r;
}

const strip = (name: string | undefined) => (name === undefined || name === '/dev/null' ? null : name.replace(/^[ab]\//, ''));

async function importOne(r: SweRecord, name: string, cfg: ImportConfig, reader: BlobReader, trees: TreeReader, retriever: Retriever): Promise<Task> {
  let base: string;
  try { base = (await reader.info(`${r.base_commit}^{commit}`)).sha; } catch {
    throw new BadRecord(`base_commit ${r.base_commit} is not in ${cfg.repo}${r.repo ? ` (the record is for ${r.repo}; clone that repository or fetch the commit)` : ''}`);
  }
  // jsdiff reads a `GIT binary patch` section as one with no hunks, i.e. no change: refused like "Binary files … differ".
  const binary = /^GIT binary patch$/m.exec(r.patch);
  if (binary) {
    const head = r.patch.lastIndexOf('diff --git ', binary.index);
    const names = head < 0 ? null : /^diff --git a\/(.*) b\/(.*)$/m.exec(r.patch.slice(head, r.patch.indexOf('\n', head)));
    throw new BadRecord(`${names ? names[2] : 'a file'}: a binary patch (tasks hold text files only)`);
  }
  let patches;
  try { patches = parsePatch(r.patch); } catch (e) { throw new BadRecord(`patch does not parse (${(e as Error).message})`); }
  if (patches.length === 0) throw new BadRecord('patch changes no file');
  const changes: FileChange[] = [];
  const diffs: FileDiff[] = [];
  for (const p of patches) {
    // A git section with no ---/+++ lines (a binary or mode-only change) names its files in its
    // `diff --git` line only; jsdiff marks what it creates or deletes.
    const oldPath = p.isCreate ? null : strip(p.oldFileName);
    const newPath = p.isDelete ? null : strip(p.newFileName);
    if (!oldPath && !newPath) throw new BadRecord('patch has a file section without file names');
    // A name git quoted with bytes that are not UTF-8 (jsdiff decodes them to U+FFFD): not the file's name, as mine drops it.
    for (const name of [oldPath, newPath]) if (name && notUtf8Path(name)) throw new Dropped('file-non-utf8-path', name);
    if (p.isBinary) throw new BadRecord(`${newPath ?? oldPath}: a binary patch (its content is not in the patch)`);
    let old: string | null = null;
    if (oldPath) {
      let size: number;
      try { size = (await reader.info(`${base}:${oldPath}`)).size; } catch { throw new BadRecord(`${oldPath} does not exist at ${base.slice(0, 12)}`); }
      if (size > cfg.maxFileBytes) throw new Dropped('file-too-large', `${oldPath}: ${size} bytes`);
      const bytes = await reader.contents(`${base}:${oldPath}`);
      const dec = decodeText(bytes);
      if (!('text' in dec)) throw new Dropped(`file-${dec.reason}`, oldPath);
      old = dec.text; // a leading BOM kept, as mine reads files
    }
    // What `git apply` checks too: a file the patch creates is not there yet, and one it deletes is all deleted.
    if (p.isCreate && newPath && (await reader.infoOrNull(`${base}:${newPath}`))) throw new BadRecord(`${newPath} already exists at ${base.slice(0, 12)}; the patch creates it`);
    const deletes = (text: string) => applyPatch(text, p) === '';
    if (p.isDelete && old !== null && !deletes(old) && !(old.charCodeAt(0) === 0xfeff && deletes(old.slice(1)))) throw new BadRecord(`patch does not apply to ${oldPath} at ${base.slice(0, 12)}: it deletes other content`);
    let next: string | null = null;
    if (newPath) {
      let applied = applyPatch(old ?? '', p);
      if (applied === false && old?.charCodeAt(0) === 0xfeff) {
        // A patch made from the text without its BOM (git's diff of the file has it in its first line): the BOM stays.
        const bare = applyPatch(old.slice(1), p);
        if (bare !== false) applied = '\ufeff' + bare;
      }
      if (applied === false) throw new BadRecord(`patch does not apply to ${oldPath ?? newPath} at ${base.slice(0, 12)}`);
      next = applied;
      const size = Buffer.byteLength(next);
      if (size > cfg.maxFileBytes) throw new Dropped('file-too-large', `${newPath}: ${size} bytes after the patch`);
      const reason = contentReason(next);
      if (reason) throw new Dropped(`file-${reason}`, newPath);
    }
    const path = (newPath ?? oldPath)!;
    const renamed = !!oldPath && !!newPath && oldPath !== newPath;
    const diff = fileDiff(old, next)!;
    if (modeOnly(diff, renamed, old, next)) continue; // as mine leaves it out
    changes.push({ path, ...(renamed ? { oldPath } : {}), old, new: next });
    diffs.push(diff);
  }
  // Mode-only sections and pure renames change no line: no task (as mine drops them), when nothing else does.
  if (diffs.every((d) => d.added + d.removed === 0)) throw new Dropped('empty', 'the patch changes no line');
  const text = r.problem_statement.trim();
  if (text === '') throw new Dropped('no-text', 'empty problem_statement');
  const time = r.created_at ? Math.floor(Date.parse(r.created_at) / 1000) : NaN;
  const draft = { id: r.instance_id, repo: r.repo ?? name, base, source: 'import' as const, text, ...(Number.isFinite(time) ? { time } : {}), changes, context: [] };
  const context = cfg.contextFiles > 0 ? await retriever.select(await trees.root(base), changedPaths(changes), changes, text) : [];
  return makeTask({ ...draft, context }, diffs);
}

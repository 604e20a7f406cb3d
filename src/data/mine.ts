// `pr-rl mine`: turns a local repository's history into Task records. Sources: PR merge commits
// ("Merge pull request #N …", GitLab "See merge request …!N", a merge titled "… (#N)"; base = first
// parent), squash merges (a commit titled "… (#N)") and plain commits (task = message). One `git log
// --raw`, streamed, lists every commit with its first-parent diff, one `git cat-file --batch-command`
// serves every blob. Filters live in filter.ts, context retrieval in retrieve.ts, which PR merge brought
// each commit in (Task.group) in prgroups.ts; tasks go to the caller's sink as they are made (the CLI
// writes them through jsonlthread.ts's JsonlThreadWriter, atomically).

import { TreeReader, type TreeChange } from './trees.ts';
import { BlobReader, commitOf, countCommits, isAbsent, isGitlink, openRepo, streamCommits, type CommitInfo, type RawChange, type RepoInfo } from './git.ts';
import { COMMIT_FILTERS, Deduper, FilterStats, pathReason, taskReason, conflictOnly, type FileReason, type FilterLimits, type PassReason, type TaskReason } from './filter.ts';
import type { FileDiff } from './linediff.ts';
import { diffCommit } from './diffpool.ts';
import { Retriever, type RetrieveOptions } from './retrieve.ts';
import { BlobTexts } from './blobcache.ts';
import { readPrGroups } from './prgroups.ts';
import { mainLanguage } from './lang.ts';
import type { FileChange, Task, TaskSource } from './task.ts';
import { Progress } from '../util/progress.ts';
import { UserError } from '../util/errors.ts';
import { kebab } from '../config.ts';

export type MinedSource = 'merge' | 'squash' | 'commit';
export const MINE_SOURCES: MinedSource[] = ['merge', 'squash', 'commit'];

export interface MineConfig extends FilterLimits, RetrieveOptions {
  /** Comma-separated sources to mine: merge, squash, commit. */
  sources: string;
  /** Revision whose history is walked. */
  rev: string;
  /** Most commits read per repo, newest first (0 = all). */
  maxCommits: number;
  /** Rename detection similarity in percent (git -M). */
  renames: number;
  /** Record why each candidate was dropped (printed by the CLI). */
  explain: boolean;
  /** A commit whose files cannot be read (a missing or corrupt blob): skip it or stop. A history git log cannot walk (a missing commit or tree) stops either way. */
  onBadLine: 'skip' | 'stop';
}

export const MINE_DEFAULTS: MineConfig = {
  sources: 'merge,squash,commit', rev: 'HEAD', maxCommits: 0,
  maxChangedLines: 400, minChangedLines: 1, maxFiles: 8, maxFileBytes: 100_000, maxPromptTokens: 0,
  contextFiles: 3, contextBytes: 24_000, indexMaxBytes: 100_000, indexMaxFiles: 5000,
  renames: 50, explain: false, onBadLine: 'stop',
};

export function resolveMineConfig(p: Partial<MineConfig>): Readonly<MineConfig> {
  const c = { ...MINE_DEFAULTS, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as MineConfig;
  needCounts('mine', c, ['maxCommits', 'maxChangedLines', 'minChangedLines', 'maxFiles', 'maxFileBytes', 'maxPromptTokens', 'contextFiles',
    'contextBytes', 'indexMaxBytes', 'indexMaxFiles', 'renames']);
  if (c.renames > 100) throw new UserError(`mine: --renames is a percentage 0..100 (got ${c.renames})`);
  if (c.rev === '' || c.rev.startsWith('-')) throw new UserError(`mine: --rev must name a revision, not an option (got ${JSON.stringify(c.rev)})`);
  sourcesOf(c.sources);
  if (c.onBadLine !== 'skip' && c.onBadLine !== 'stop') throw new UserError(`mine: --on-bad-line must be skip|stop (got "${c.onBadLine}")`);
  return Object.freeze(c);
}

/** Throws a UserError naming the flag (`--max-files`) unless each of `keys` is an integer ≥ 0 (shared with import.ts). */
export function needCounts<T extends object>(cmd: string, c: T, keys: (keyof T & string)[]): void {
  for (const k of keys) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 0) throw new UserError(`${cmd}: --${kebab(k)} must be an integer ≥ 0 (got ${JSON.stringify(v)})`);
  }
}

function sourcesOf(spec: string): Set<MinedSource> {
  const s = spec.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of s) if (!MINE_SOURCES.includes(x as MinedSource)) throw new UserError(`mine: unknown source "${x}" in --sources (use ${MINE_SOURCES.join(',')})`);
  if (s.length === 0) throw new UserError('mine: --sources is empty (use merge,squash,commit or a subset)');
  return new Set(s as MinedSource[]);
}

// ---- classifying commits --------------------------------------------------------------------------

const GH_MERGE = /^Merge pull request #(\d+)\b/;
const GL_MERGE = /^See merge request \S*!(\d+)\s*$/m;
const SQUASH = /\s\(#(\d+)\)\s*$/;
const TRAILER = /^(Signed-off-by|Co-authored-by|Reviewed-by|Acked-by|Change-Id|Reviewed-on|Tested-by|Approved-by):.*$/gim;

// GitHub's squash message puts a line of dashes between the commits' list and the trailers: without the trailers it ends the text.
const clean = (s: string) => s.replace(TRAILER, '').trim().replace(/\n+-{3,}$/, '').replace(/\n{3,}/g, '\n\n').trim();

/** Source and task text of a commit, or null when it is a merge of no PR (e.g. "Merge branch 'main'"). */
export function classify(c: Pick<CommitInfo, 'parents' | 'message'>): { source: MinedSource; text: string; title: string } | null {
  const lines = c.message.split('\n');
  // What the bot filters read of a merge: its line (its branch, e.g. from dependabot/…) and the PR's title, not its description.
  const title = () => [lines[0], lines.slice(1).find((l) => l.trim() !== '') ?? ''].join('\n');
  if (c.parents.length > 1) {
    if (GH_MERGE.test(lines[0])) return { source: 'merge', text: clean(lines.slice(1).join('\n')), title: title() };
    if (GL_MERGE.test(c.message)) return { source: 'merge', text: clean(lines.slice(1).join('\n').replace(GL_MERGE, '')), title: title() };
    // A PR merged with its own title ("Fix the parser (#12)": GitHub's merge queue, or an edited merge message).
    if (SQUASH.test(lines[0])) return { source: 'merge', text: titled(lines), title: lines[0] };
    return null;
  }
  if (SQUASH.test(lines[0])) return { source: 'squash', text: titled(lines), title: lines[0] };
  // A merge's line on a commit of one parent (a security advisory's "Merge pull request from GHSA-…", a
  // rebased merge) says nothing of the change: the text is what follows it, if anything.
  if (/^Merge pull request\b/.test(lines[0])) return { source: 'commit', text: clean(lines.slice(1).join('\n')), title: title() };
  return { source: 'commit', text: clean(c.message), title: lines[0] };
}

/** A message titled "… (#N)": its title without the PR number, then its body. */
const titled = (lines: string[]) => clean([lines[0].replace(SQUASH, ''), ...lines.slice(1)].join('\n'));

// ---- stats shared with import.ts --------------------------------------------------------------------

/**
 * Assembles a Task from its changed files and their diffs; promptTokens ≈ bytes / 4 of text, old files and
 * context (`bytes`: those of all but the context, when known: a task is made again once its context is chosen).
 */
export function makeTask(t: Omit<Task, 'stats'>, diffs: FileDiff[], bytes = promptBytes(t)): Task {
  for (const c of t.context) bytes += Buffer.byteLength(c.path) + Buffer.byteLength(c.content);
  return {
    ...t,
    stats: {
      added: sum(diffs, 'added'), removed: sum(diffs, 'removed'), files: t.changes.length, hunks: sum(diffs, 'hunks'),
      promptTokens: Math.ceil(bytes / 4),
      language: mainLanguage(t.changes.map((c, i) => ({ path: c.path, weight: diffs[i].added + diffs[i].removed }))),
    },
  };
}

/** UTF-8 bytes of a task's text and of the paths and old contents of its changed files. */
export function promptBytes(t: Pick<Task, 'text' | 'changes'>): number {
  let bytes = Buffer.byteLength(t.text);
  for (const c of t.changes) bytes += Buffer.byteLength(c.path) + (c.old ? Buffer.byteLength(c.old) : 0);
  return bytes;
}

function sum(diffs: FileDiff[], k: 'added' | 'removed' | 'hunks'): number {
  let n = 0;
  for (const d of diffs) n += d[k];
  return n;
}

// ---- mining -------------------------------------------------------------------------------------------

export interface MineResult {
  /** The tasks, unless mine() was given a sink. */
  tasks: Task[];
  stats: FilterStats;
  commits: number;
  seconds: number;
  warnings: string[];
}

/**
 * Mines the repos in order. Tasks go to `sink` as they are made, in history order (the CLI writes them
 * out at once: a long history's tasks do not fit in memory), or, without one, into the result. A sink
 * may return a promise: mining waits on it (the CLI's writer does so when it is behind).
 */
export async function mine(repos: string[], partial: Partial<MineConfig> = {}, sink?: (t: Task) => void | Promise<void>): Promise<MineResult> {
  const cfg = resolveMineConfig(partial);
  if (repos.length === 0) throw new UserError('mine: give at least one repository folder');
  const t0 = performance.now();
  const stats = new FilterStats(cfg.explain);
  const dedupe = new Deduper();
  const tasks: Task[] = [];
  const warnings: string[] = [];
  let commits = 0;
  // Every folder checked before anything is mined; one repository named twice (r, r/.git, r/) is mined once.
  const given: string[] = [];
  const opened: RepoInfo[] = [];
  for (const r of repos) {
    const info = openRepo(r, cfg.rev);
    const seen = opened.findIndex((y) => y.root === info.root);
    if (seen >= 0) warnings.push(`${r} is ${given[seen]} again: mined once`);
    else { given.push(r); opened.push(info); }
  }
  const infos = uniqueNames(opened);
  if (cfg.rev !== 'HEAD') {
    infos.forEach((info, k) => { if (!commitOf(info.root, cfg.rev)) throw new UserError(`${given[k]}: --rev "${cfg.rev}" names no commit`); });
  }
  for (let k = 0; k < infos.length; k++) commits += await mineRepo(given[k], infos[k], cfg, stats, dedupe, sink ?? ((t) => { tasks.push(t); }), warnings);
  return { tasks, stats, commits, seconds: (performance.now() - t0) / 1000, warnings };
}

/**
 * Commits whose blobs are being read ahead of the one being finished (requests pipelined to git). The
 * window is refilled REFILL commits at a time, so that their first requests go to git in one write (each
 * write wakes git): 2–7 % faster than one commit a turn, measured on three repos.
 */
const READ_AHEAD = 64;
const REFILL = 16;

type Cls = { source: MinedSource; text: string; title: string };
type Loaded = { change: RawChange; old: string | null; new: string | null } | { change: RawChange; skip: FileReason };
/** What the read-ahead stage found; verdicts are applied in history order so that counts, --explain and dedupe are stable. */
type Prepared = { skip: PassReason } | { drop: TaskReason; detail?: string } | { cls: Cls; loaded: Loaded[]; diffs: (FileDiff | null)[] } | { error: Error };

/**
 * The repos' names (tasks' `repo`, and their ids' prefix) made distinct: two folders of one name are
 * told apart by as many parent folders as it takes ("alt/r1" and "work/r1"), so `split --by repo` can.
 */
export function uniqueNames(infos: RepoInfo[]): RepoInfo[] {
  // The root's folders, the last one as the repo is named (a bare "proj.git" is "proj", like a work tree
  // "proj"); where that leaves two roots one name (a bare clone beside its work tree), their folders as they are.
  const split = (x: RepoInfo) => x.root.split(/[\\/]+/).filter(Boolean);
  return distinct(infos, infos.map((x) => [...split(x).slice(0, -1), x.name])) ?? distinct(infos, infos.map(split))!;
}

/** Names from as few of each root's last `parts` as tell the roots apart, or null when all of them do not. */
function distinct(infos: RepoInfo[], parts: string[][]): RepoInfo[] | null {
  const depth = infos.map(() => 1);
  const nameOf = (i: number) => parts[i].slice(-depth[i]).join('/') || infos[i].name;
  const clashes = () => infos.map((x, i) => infos.some((y, j) => y.root !== x.root && nameOf(j) === nameOf(i)));
  for (;;) {
    const clashing = clashes().map((c, i) => c && depth[i] < parts[i].length);
    if (!clashing.includes(true)) break;
    clashing.forEach((c, i) => { if (c) depth[i]++; });
  }
  if (clashes().includes(true)) return null;
  return infos.map((x, i) => ({ ...x, name: nameOf(i) }));
}

async function mineRepo(repo: string, info: RepoInfo, cfg: Readonly<MineConfig>, stats: FilterStats, dedupe: Deduper, emit: (t: Task) => void | Promise<void>, warnings: string[]): Promise<number> {
  const sources = sourcesOf(cfg.sources);
  if (info.shallow) {
    warnings.push(`${repo}: shallow clone, so only part of the history is mined and commits at the shallow boundary are skipped ` +
      `(their parents are missing); run "git -C ${repo} fetch --unshallow" for the full history`);
  }
  const logOpts = { rev: cfg.rev, maxCount: cfg.maxCommits, renames: cfg.renames };
  const unreadable = (e: unknown) => new UserError(`${repo}: cannot read the history of "${cfg.rev}" (${(e as Error).message.split('\n')[0]})` +
    (cfg.onBadLine === 'skip' ? '; --on-bad-line skip skips commits whose files cannot be read, not a history git cannot walk' : ''));
  // The bar's total is a walk of the history of its own: only made when the bar is shown.
  const bar = new Progress(`mine ${info.name}`, () => { try { return countCommits(info.root, logOpts); } catch (e) { throw unreadable(e); } });
  const reader = new BlobReader(info.root);
  const trees = new TreeReader(reader);
  const texts = new BlobTexts(reader);
  const retriever = new Retriever(trees, texts, cfg);
  // A window of the log: commits n … n + READ_AHEAD are read in; each is dropped once mined.
  const commits = streamCommits(info.root, logOpts);
  // Read beside the log (a second, diff-less walk of the same commits); needed by the first task.
  const stopGroups = new AbortController();
  const groupsRead = readPrGroups(info.root, logOpts, (c) => classify(c)?.source === 'merge', stopGroups.signal);
  groupsRead.catch(() => { /* surfaced when awaited */ });
  let groups: Map<string, string> | undefined;
  const log: (CommitInfo | undefined)[] = [];
  const treeOf = new Map<string, string>(); // base trees without asking git (parents come after children)
  let ended = false;
  const fill = async (upTo: number) => {
    while (!ended && log.length <= upTo) {
      let r: IteratorResult<CommitInfo>;
      try { r = await commits.next(); } catch (e) { throw unreadable(e); }
      if (r.done) ended = true; else { log.push(r.value); treeOf.set(r.value.sha, r.value.tree); }
    }
  };
  const ahead: (Promise<Prepared> | undefined)[] = [];
  /** By commit: its base tree once warmed (retrieval only), and its changed paths' entries in its first parent's tree (TreeReader.parentSide), while it is in the window. */
  const bases: (Promise<string> | undefined)[] = [];
  const sides: (Promise<TreeChange[]> | undefined)[] = [];
  const start = (n: number) => {
    if (n >= log.length || ahead[n]) return;
    const c = log[n]!;
    // The base tree, its blobs read and counted ahead for retrieval: for every commit, so that each
    // warm-up need only add what the previous commit's base lacked (the change, not the tree). Where the
    // commit is the previous one's first parent (most of a history), that difference is the commit's own
    // diff turned around; the paths the previous task left out are as they were in its base tree.
    if (cfg.contextFiles > 0 && c.parents.length > 0) {
      const prev = log[n - 1];
      const p0 = prev?.parents[0];
      const side = sides[n] = trees.parentSide(c.changes);
      side.catch(() => { /* surfaced through base */ });
      const to = trees.root(c.parents[0], treeOf.get(c.parents[0]));
      const from = p0 === undefined ? Promise.resolve(null) : trees.root(p0, treeOf.get(p0));
      const base = bases[n] = Promise.all([from, to, sides[n - 1] ?? []]).then(([f, t, before]) => {
        if (p0 === c.sha && f !== null) trees.seed(f, t, side);
        return retriever.warm(f, t, before, changedPaths(c.changes)).then(() => t);
      });
      base.catch(() => { /* surfaced when awaited in order */ });
    }
    ahead[n] = prepare(c, sources, cfg, reader, texts).catch((e: Error) => ({ error: e }));
  };
  let submodules = 0;
  /** The commit's task, context chosen at its base tree, or null (dropped: counted in stats, or a warning). */
  const describe = (c: CommitInfo) => `${info.name}@${c.sha.slice(0, 12)} ${JSON.stringify(c.message.split('\n')[0].slice(0, 72))}`;
  const make = async (c: CommitInfo, prep: Exclude<Prepared, { skip: PassReason }>, base: Promise<string> | undefined): Promise<Task | null> => {
    const what = describe(c);
    try {
      if ('error' in prep) throw prep.error;
      if ('drop' in prep) { stats.drop(prep.drop, what, prep.detail); return null; }
      submodules += prep.loaded.filter((x) => 'skip' in x && x.skip === 'submodule').length; // as the summary's "files skipped" counts them
      const draft = finish(info.name, c, groups!.get(c.sha), prep.cls, prep.loaded, prep.diffs, cfg, stats, dedupe, what);
      if (!draft) return null;
      if (!base) return draft.task;
      const changed = draft.task.changes.map((ch, i) => ({ ...ch, oldSha: draft.oldShas[i] }));
      const room = cfg.maxPromptTokens > 0 ? 4 * cfg.maxPromptTokens - draft.bytes : Infinity; // promptTokens = ⌈bytes / 4⌉
      const context = await retriever.select(await base, changedPaths(c.changes), changed, draft.task.text, room);
      return context.length ? makeTask({ ...draft.task, context }, draft.diffs, draft.bytes) : draft.task;
    } catch (e) {
      if (e instanceof UserError) throw e;
      const msg = `${what}: cannot read the commit (${(e as Error).message.split('\n')[0]})`;
      if (cfg.onBadLine === 'stop') throw new UserError(`${msg}; use --on-bad-line skip to skip such commits`);
      warnings.push(msg);
      stats.drop('unreadable', what);
      return null;
    }
  };
  try {
    for (let n = 0; ; n++) {
      await fill(n + READ_AHEAD);
      if (n >= log.length) break;
      bar.tick(n, `${stats.kept} kept`);
      if (n % REFILL === 0) for (let k = n; k < n + READ_AHEAD; k++) start(k);
      const prep = (await ahead[n])!;
      delete ahead[n];
      const c = log[n]!;
      log[n] = undefined;
      delete sides[n - 1];
      treeOf.delete(c.sha); // no later commit has it as a parent
      const base = bases[n];
      delete bases[n];
      if ('skip' in prep) stats.pass(prep.skip, describe(c));
      else groups ??= await groupsRead.catch((e) => { throw unreadable(e); });
      const task = 'skip' in prep ? null : await make(c, prep, base);
      if (!task) {
        // The index follows every base tree, task or not, so that each move is one commit's difference
        // (read ahead by warm()). A failure here only means a longer move for the next task.
        if (base) await base.then((t) => retriever.follow(t)).catch(() => {});
        continue;
      }
      await emit(task); // the sink's errors (a full disk) end the run
      stats.kept++;
    }
  } finally {
    bar.done();
    await Promise.allSettled(ahead.filter(Boolean));
    stopGroups.abort();
    await groupsRead.catch(() => {});
    await commits.return(undefined);
    await reader.close();
  }
  if (retriever.missing) warnings.push(`${repo}: ${retriever.missing} file version(s) of base trees are missing from the repository (a damaged clone) and were left out of the context files`);
  if (submodules) warnings.push(`${repo}: ${submodules} submodule change(s) skipped (a gitlink is a commit of another repository; mine the submodule's own clone for its history)`);
  return log.length;
}

/** A commit changing more than this many times --max-files files (path filters aside) is dropped unread. */
const UNREAD_FILES = 4;

/** Read-ahead stage: cheap verdicts first, then the conflict check and the blobs, all through the one cat-file process. */
async function prepare(c: CommitInfo, sources: Set<MinedSource>, cfg: Readonly<MineConfig>, reader: BlobReader, texts: BlobTexts): Promise<Prepared> {
  const cls = classify(c);
  if (!cls) return { skip: 'merge-of-no-pr' };
  if (!sources.has(cls.source)) return { skip: 'source-not-chosen' };
  for (const f of COMMIT_FILTERS) if (f.drop({ authorName: c.authorName, authorEmail: c.authorEmail, title: cls.title })) return { drop: f.name };
  if (c.parents.length === 0) return { drop: 'root-commit', detail: 'no parent to diff against: first commit or shallow boundary' };
  if (cls.text.trim() === '') return { drop: 'no-text' };
  if (c.changes.length === 0) return { drop: 'empty' };
  // Far too many files even after the path filters (a vendoring, a mass rename): dropped before any blob
  // is read. Under that, the files skipped for their content and mode-only changes do not count (finish).
  const plausible = c.changes.filter((x) => !isGitlink(x.oldMode) && !isGitlink(x.newMode) && pathReason(x.path) === null && !(x.status === 'M' && x.oldSha === x.newSha)).length;
  if (plausible > UNREAD_FILES * cfg.maxFiles) return { drop: 'too-many-files', detail: `${plausible} files, not read (over ${UNREAD_FILES}× --max-files)` };
  if (c.parents.length > 1) {
    // Which changed paths hold exactly the second parent's version (what the merged branch brought)?
    // (A path with a newline cannot be asked about; it counts as brought, so the merge is kept.)
    const theirs = await Promise.all(c.changes.map((x) => (askable(x.path) ? reader.infoOrNull(`${c.parents[1]}:${x.path}`) : null)));
    const differ = new Set(c.changes.filter((x, i) => askable(x.path) && (theirs[i] ? theirs[i].sha !== x.newSha : !isAbsent(x.newSha))).map((x) => x.path));
    if (conflictOnly(c.changes.map((x) => x.path), differ)) return { drop: 'conflict-only', detail: 'no changed file carries the merged branch\'s version' };
  }
  const loaded = await Promise.all(c.changes.map((ch) => loadChange(ch, cfg, reader, texts)));
  // Line diffs (diffpool.ts: on a worker thread where the machine has cores to spare), each file within
  // what those before it left of --max-changed-lines: over it, the task is dropped for too many lines either way.
  const kept = loaded.flatMap((l) => ('skip' in l ? [] : [[l.old, l.new] as [string | null, string | null]]));
  const diffs = kept.length ? await diffCommit(kept, cfg.maxChangedLines) : [];
  return { cls, loaded, diffs };
}

/** In-order stage: file skips, line stats (`lineDiffs`: of the files not skipped), task filters and dedupe; the task without context, or null. */
function finish(name: string, c: CommitInfo, group: string | undefined, cls: Cls, loaded: Loaded[], lineDiffs: (FileDiff | null)[], cfg: Readonly<MineConfig>, stats: FilterStats, dedupe: Deduper, what: string): { task: Task; diffs: FileDiff[]; oldShas: string[]; bytes: number } | null {
  const kept: { change: RawChange; old: string | null; new: string | null }[] = [];
  const skipped = new Map<FileReason, number>();
  for (const l of loaded) {
    if ('skip' in l) {
      stats.skipFile(l.skip, what, l.change.path);
      skipped.set(l.skip, (skipped.get(l.skip) ?? 0) + 1);
    } else kept.push(l);
  }
  if (kept.length === 0) {
    stats.drop(`only-${[...skipped].sort((a, b) => b[1] - a[1])[0][0]}`, what);
    return null;
  }
  const changes: FileChange[] = [];
  const diffs: FileDiff[] = [];
  const oldShas: string[] = [];
  for (let i = 0; i < kept.length; i++) {
    const k = kept[i];
    const d = lineDiffs[i];
    if (!d) { stats.drop('too-many-lines', what, k.change.path); return null; }
    if (modeOnly(d, k.change.status === 'R', k.old, k.new)) continue;
    diffs.push(d);
    oldShas.push(k.change.oldSha);
    changes.push({ path: k.change.path, ...(k.change.status === 'R' && k.change.oldPath ? { oldPath: k.change.oldPath } : {}), old: k.old, new: k.new });
  }
  const bytes = promptBytes({ text: cls.text, changes });
  const task = makeTask({ id: `${name}@${c.sha.slice(0, 12)}`, repo: name, base: c.parents[0], source: cls.source as TaskSource, text: cls.text, time: c.time,
    ...(group ? { group } : {}), changes, context: [] }, diffs, bytes);
  const reason = taskReason({ text: task.text, files: task.stats.files, added: task.stats.added, removed: task.stats.removed, promptTokens: task.stats.promptTokens }, cfg);
  if (reason) { stats.drop(reason, what); return null; }
  if (dedupe.isDuplicate(changes.map((ch, i) => ({ path: ch.path, changed: diffs[i].changed })))) { stats.drop('duplicate', what); return null; }
  return { task, diffs, oldShas, bytes };
}

/** A change of mode only (no line changed, no rename, the file on both sides): not part of a task. An empty file added or deleted is a change. */
export const modeOnly = (d: FileDiff, renamed: boolean, old: string | null, next: string | null) => d.added + d.removed === 0 && !renamed && old !== null && next !== null;

/** The paths of changed files (both sides of a rename): never context for their own task. */
export const changedPaths = (changes: readonly { path: string; oldPath?: string }[]) => changes.flatMap((x) => (x.oldPath ? [x.path, x.oldPath] : [x.path]));
const askable = (p: string) => !/[\n\r]/.test(p);

/** Old and new text of one changed file, or why it is skipped; sizes are checked before any content is read. */
async function loadChange(ch: RawChange, cfg: Readonly<MineConfig>, reader: BlobReader, texts: BlobTexts): Promise<Loaded> {
  if (isGitlink(ch.oldMode) || isGitlink(ch.newMode)) return { change: ch, skip: 'submodule' };
  if (ch.oldMode === '120000' || ch.newMode === '120000') return { change: ch, skip: 'symlink' };
  const pr = pathReason(ch.path) ?? (ch.oldPath ? pathReason(ch.oldPath) : null);
  if (pr) return { change: ch, skip: pr };
  const shas = [ch.status === 'C' || isAbsent(ch.oldSha) ? null : ch.oldSha, isAbsent(ch.newSha) ? null : ch.newSha];
  const infos = await Promise.all(shas.map((s) => (s ? reader.info(s) : null)));
  if (infos.some((i) => i && i.size > cfg.maxFileBytes)) return { change: ch, skip: 'too-large' };
  const decs = await Promise.all(shas.map((s) => (s ? texts.get(s) : null)));
  const out: (string | null)[] = [];
  for (const d of decs) {
    if (d && !('text' in d)) return { change: ch, skip: d.reason };
    out.push(d ? d.text : null);
  }
  return { change: ch, old: out[0], new: out[1] };
}

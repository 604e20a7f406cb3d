// Which PR merge brought each commit into the mined history. A PR merge's task (its first-parent diff) is
// the sum of its branch's commits, each a task of its own too, so `split` keeps such a group on one side.
// The commit graph comes from one `git log` without diffs (git.ts), run beside the miner's own; what
// counts as a PR merge is the caller's (mine.ts's classify).

import { streamCommits, type CommitInfo, type LogOptions } from './git.ts';

/**
 * For each commit a PR merge brought in, that merge's sha (the merge's own sha for itself). The mainline,
 * the first-parent chain from `tip`, is walked oldest first; each PR merge on it claims the commits
 * reachable from its other parents that neither the mainline nor an older merge holds: what its
 * first-parent diff adds. A merge of no PR ("Merge branch 'develop'") claims nothing itself, so that a
 * long-lived branch is not one group: its branch's first-parent chain is walked as a mainline of its own,
 * whose PR merges claim theirs. Each commit is visited once.
 */
export function prGroups(parents: ReadonlyMap<string, readonly string[]>, tip: string, isPr: (merge: string) => boolean): Map<string, string> {
  const group = new Map<string, string>();
  const seen = new Set<string>();
  /** Marks the first-parent chain from `start` up to the first commit seen before (or outside the history); its merges, newest first. */
  const chain = (start: string | undefined): string[] => {
    const merges: string[] = [];
    for (let c = start; c !== undefined && parents.has(c) && !seen.has(c); c = parents.get(c)![0]) {
      seen.add(c);
      if (parents.get(c)!.length > 1) merges.push(c);
    }
    return merges;
  };
  // Chains whose merges are still to take, each newest first (pop: the oldest); a merge of no PR pushes its
  // branches' chains, taken whole before the next merge of the chain under them (no recursion: any depth).
  const todo = [chain(tip)];
  while (todo.length) {
    const m = todo[todo.length - 1].pop();
    if (m === undefined) { todo.pop(); continue; }
    const others = parents.get(m)!.slice(1);
    if (!isPr(m)) {
      todo.push(...others.map(chain).reverse());
      continue;
    }
    group.set(m, m);
    const stack = [...others];
    while (stack.length) {
      const c = stack.pop()!;
      if (seen.has(c) || !parents.has(c)) continue;
      seen.add(c);
      group.set(c, m);
      stack.push(...parents.get(c)!);
    }
  }
  return group;
}

/**
 * prGroups of the commits `git log` lists for `o` (the miner's walk: the same commits, so a --max-count
 * window holds every merge that brought one of its commits in). `isPr` sees each merge's parents and
 * message. An abort kills its git process (a --topo-order walk writes nothing until it has read the whole
 * graph, so waiting for the next commit could take seconds) and the promise then rejects.
 */
export async function readPrGroups(repo: string, o: LogOptions, isPr: (c: CommitInfo) => boolean, signal?: AbortSignal): Promise<Map<string, string>> {
  const parents = new Map<string, string[]>();
  const prs = new Set<string>();
  let tip: string | undefined;
  for await (const c of streamCommits(repo, { ...o, changes: false, signal })) {
    tip ??= c.sha; // the log starts at the revision's commit
    parents.set(c.sha, c.parents);
    if (c.parents.length > 1 && isPr(c)) prs.add(c.sha);
  }
  return tip === undefined ? new Map() : prGroups(parents, tip, (m) => prs.has(m));
}

// Test helper (not a test): throwaway git repositories in os.tmpdir(), built with the git CLI, with a fixed
// identity, no user/system config, and a clock that advances one minute per commit (stable log order).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from './helpers/tmp.ts';

export interface Fixture {
  dir: string;
  git(...args: string[]): string;
  write(file: string, content: string | Buffer): void;
  rm(file: string): void;
  /** Stages everything and commits; returns the new sha. */
  commit(message: string, author?: { name: string; email: string }): string;
  /** Commits on main in one git fast-import (thousands a second), each writing one file, a minute apart from 2020-09-13. */
  importCommits(commits: { message: string; path: string; text: string }[]): void;
}

let clock = 1_700_000_000;
/** A fresh temp folder, removed when the test process exits. */
export { tempDir as tmpDir };

export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', ...extra,
  };
}

export function fixture(dir = tempDir('prrl-mine-')): Fixture {
  const git = (...args: string[]) => {
    const date = `@${clock} +0000`;
    return execFileSync('git', ['-C', dir, ...args], { env: gitEnv({ GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  };
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env: gitEnv() });
  return {
    dir,
    git,
    write(file, content) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), content);
    },
    rm(file) { fs.rmSync(path.join(dir, file)); },
    commit(message, author) {
      clock += 60;
      git('add', '-A');
      const env = author ? ['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`] : [];
      if (author) {
        const date = `@${clock} +0000`;
        execFileSync('git', ['-C', dir, ...env, 'commit', '-q', '--allow-empty', '-m', message], {
          env: gitEnv({ GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }), stdio: 'pipe',
        });
      } else git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    importCommits(commits) {
      const stream = commits.map((c, i) => `commit refs/heads/main\ncommitter Ada <ada@example.com> ${1_600_000_000 + i * 60} +0000\n` +
        `data ${Buffer.byteLength(c.message)}\n${c.message}\nM 100644 inline ${c.path}\ndata ${Buffer.byteLength(c.text)}\n${c.text}\n`).join('');
      execFileSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: stream, env: gitEnv() });
    },
  };
}

/** The processes on this machine, running or ended and not yet reaped (Linux: /proc; one that ends meanwhile is left out). */
export function processes(): { pid: number; ppid: number; comm: string; cmdline: string }[] {
  const out: { pid: number; ppid: number; comm: string; cmdline: string }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8'); // empty once ended
      out.push({ pid: Number(d), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cmdline });
    } catch { /* ended meanwhile */ }
  }
  return out;
}

/** Advances the fixture clock (for commits made with f.git('commit', …) directly). */
export function tick(): void { clock += 60; }

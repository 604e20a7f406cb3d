// Progress on long work: a one-line bar on stderr, redrawn in place, only when stderr is a TTY
// (logs and CI stay clean). The caller prints its own summary line at the end.

export class Progress {
  private readonly enabled: boolean;
  private readonly start = Date.now();
  private last = 0;

  private readonly total: number;

  /** `total` may be a function: then it is asked only when the bar is shown (counting can cost a pass of its own). */
  constructor(private readonly label: string, total: number | (() => number), enabled = !!process.stderr.isTTY) {
    this.enabled = enabled;
    this.total = !enabled ? 0 : typeof total === 'function' ? total() : total;
  }

  tick(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : 0;
    process.stderr.write(`\r${this.label} [${bar}] ${done}/${this.total} ${fmtDuration(elapsed)} eta ${fmtDuration(eta)} ${extra}\x1b[K`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

export function fmtDuration(seconds: number): string {
  if (!isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

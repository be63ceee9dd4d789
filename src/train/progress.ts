/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/**
 * The progress line of long work: step, loss (and other metrics), it/s over a recent window, ETA.
 * Prints at most every `intervalMs`, always on the last step.
 */
export class Progress {
  private times: [number, number][] = [];
  private lastPrint = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: (line: string) => void = (l) => console.error(l),
    private readonly intervalMs = 2000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(step: number, metrics: Record<string, number> = {}): string | null {
    const t = this.now();
    this.times.push([step, t]);
    if (this.times.length > 50) this.times.shift();
    const [s0, t0] = this.times[0];
    const rate = step > s0 ? ((step - s0) * 1000) / (t - t0) : NaN;
    const eta = (this.total - step) / rate;
    const line =
      `${this.label} step ${step}/${this.total}` +
      Object.entries(metrics)
        .map(([k, v]) => ` | ${k} ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3)}`)
        .join('') +
      ` | ${Number.isFinite(rate) ? rate.toFixed(2) : '?'} it/s | ETA ${formatDuration(eta)}`;
    if (step >= this.total || t - this.lastPrint >= this.intervalMs) {
      this.lastPrint = t;
      this.out(line);
      return line;
    }
    return null;
  }
}

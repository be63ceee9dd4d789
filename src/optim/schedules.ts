import type { LrSchedule } from './optimizer.js';

/** A constant learning rate. */
export const constantLr = (lr: number): LrSchedule => () => lr;

/**
 * Linear warm-up from 0 to `lr` over `warmup` steps, then cosine decay to `minLr` at `total` steps (held after).
 * Steps are 1-based: step 1 is the first update.
 */
export function warmupCosine(opts: { lr: number; warmup: number; total: number; minLr?: number }): LrSchedule {
  const { lr, warmup, total } = opts;
  const minLr = opts.minLr ?? 0;
  if (!(total > 0) || warmup < 0 || warmup > total) throw new Error(`warmupCosine: need 0 <= warmup (${warmup}) <= total (${total}) and total > 0`);
  return (step: number) => {
    if (warmup > 0 && step <= warmup) return (lr * step) / warmup;
    const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * t));
  };
}

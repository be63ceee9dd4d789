import { noGrad } from '../autograd/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { concat } from '../ops/shape-ops.js';
import type { Optimizer } from './optimizer.js';
import { flatGradArena, flatGradsFinite, flatScaleGrads } from './arena-ops.js';

export interface GradScalerOptions {
  /** Starting loss scale (default 2^16, as PyTorch). */
  initScale?: number;
  /** Scale multiplier after `growthInterval` steps in a row without inf/NaN gradients (default 2). */
  growthFactor?: number;
  /** Scale multiplier after a step with inf/NaN gradients, which is skipped (default 0.5). */
  backoffFactor?: number;
  /** Good steps in a row before the scale grows (default 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through (one code path for f32 and mixed-precision runs). */
  enabled?: boolean;
}

export interface GradScalerState {
  scale: number;
  growthTracker: number;
}

/**
 * Dynamic loss scaling for mixed precision, as torch.cuda.amp.GradScaler. float16 gradients underflow below
 * 6e-8, so the loss is multiplied by a large scale before backward and the gradients divided by it before the
 * update; the scale shrinks whenever a gradient overflowed and grows again after a run of good steps:
 *
 *   const l = scaler.scale(loss); await l.backward();
 *   if (await scaler.step(opt)) … ;     // skipped (false) when a gradient is inf/NaN
 *   scaler.update();
 *
 * `step` unscales inside the optimizer's fused kernel (its gradScale); call `unscale(opt)` first only when the
 * gradients must be read unscaled (gradient clipping).
 */
export class GradScaler {
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly enabled: boolean;
  private scaleValue: number;
  private growthTracker = 0;
  /** Optimizers whose gradients `unscale` divided (and what it found) since the last `update`. */
  private unscaled = new Map<Optimizer, boolean>();
  /** Outcome of this iteration's steps: null before any, else whether every gradient was finite. */
  private allFinite: boolean | null = null;

  constructor(opts: GradScalerOptions = {}) {
    this.scaleValue = opts.initScale ?? 2 ** 16;
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 2000;
    this.enabled = opts.enabled ?? true;
    if (!(this.scaleValue > 0) || !(this.growthFactor > 1) || !(this.backoffFactor > 0 && this.backoffFactor < 1) || !(this.growthInterval >= 1)) {
      throw new Error(
        `GradScaler: need initScale > 0, growthFactor > 1, 0 < backoffFactor < 1 and growthInterval >= 1 (got ${this.scaleValue}, ${this.growthFactor}, ${this.backoffFactor}, ${this.growthInterval})`,
      );
    }
  }

  /** The current loss scale (1 when disabled). */
  getScale(): number {
    return this.enabled ? this.scaleValue : 1;
  }

  /** loss · scale: call backward() on this instead of the loss. */
  scale(loss: Tensor): Tensor {
    return this.enabled ? loss.mul(this.scaleValue) : loss;
  }

  /** Divides the gradients of `opt`'s parameters by the scale (in place) and returns whether all are finite. */
  async unscale(opt: Optimizer): Promise<boolean> {
    if (!this.enabled) return true;
    if (this.unscaled.has(opt)) throw new Error('GradScaler.unscale: already called for this optimizer since the last update()');
    const finite = await gradsFinite(opt.params);
    const arena = flatGradArena(opt.params);
    if (arena) {
      flatScaleGrads(arena, opt.params, { factor: 1 / this.scaleValue });
      this.unscaled.set(opt, finite);
      return finite;
    }
    noGrad(() => {
      for (const p of opt.params) {
        if (!p.grad) continue;
        const g = p.grad.mul(1 / this.scaleValue);
        p.grad.dispose();
        p.grad = g;
      }
    });
    this.unscaled.set(opt, finite);
    return finite;
  }

  /**
   * Runs `opt.step()` on the unscaled gradients, or skips it when any gradient is inf or NaN (the parameters and
   * the optimizer's state and step count stay as they were). Returns whether the step ran.
   */
  async step(opt: Optimizer): Promise<boolean> {
    if (!this.enabled) {
      opt.step();
      return true;
    }
    const done = this.unscaled.get(opt);
    const finite = done ?? (await gradsFinite(opt.params));
    this.allFinite = (this.allFinite ?? true) && finite;
    if (!finite) return false;
    opt.step({ gradScale: done === undefined ? 1 / this.scaleValue : 1 });
    return true;
  }

  /** Adjusts the scale after this iteration's steps: backoff after an overflow, growth after enough good steps. */
  update(): void {
    if (!this.enabled || this.allFinite === null) {
      this.unscaled.clear();
      return;
    }
    if (!this.allFinite) {
      this.scaleValue *= this.backoffFactor;
      this.growthTracker = 0;
    } else if (++this.growthTracker >= this.growthInterval) {
      this.scaleValue *= this.growthFactor;
      this.growthTracker = 0;
    }
    this.allFinite = null;
    this.unscaled.clear();
  }

  stateDict(): GradScalerState {
    return { scale: this.scaleValue, growthTracker: this.growthTracker };
  }

  loadStateDict(s: GradScalerState): void {
    if (!(s.scale > 0) || !Number.isInteger(s.growthTracker) || s.growthTracker < 0) throw new Error(`GradScaler.loadStateDict: bad state ${JSON.stringify(s)}`);
    this.scaleValue = s.scale;
    this.growthTracker = s.growthTracker;
  }
}

/** Whether every gradient of `params` is finite: one flag per gradient on the GPU, one number read back. */
async function gradsFinite(params: readonly Tensor[]): Promise<boolean> {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null && g.size > 0);
  if (!grads.length) return true;
  const arena = flatGradArena(params);
  const flag = arena ? flatGradsFinite(arena, params) : noGrad(() =>
    tidy(() => {
      const perGrad = grads.map((g) => g.isfinite().min().reshape([1]));
      return concat(perGrad).min();
    }),
  );
  try {
    return (await flag.item()) === 1;
  } finally {
    flag.dispose();
  }
}

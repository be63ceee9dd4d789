import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type LrSchedule, type OptimizerState } from './optimizer.js';

export interface AdamWOptions {
  lr?: number | LrSchedule;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** AdamW as torch.optim.AdamW (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2): one multi-tensor kernel launch per step. */
export class AdamW extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: Tensor[], opts: AdamWOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
  }

  step(opts: { gradScale?: number } = {}): void {
    const lr = this.currentLr();
    this.stepCount++;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.stepCount;
    const bc2 = 1 - b2 ** this.stepCount;
    this.flatUpdate('adamw', [lr, b1, b2, this.eps, this.weightDecay, bc1, bc2, 0, opts.gradScale ?? 1, 0]);
  }

  override loadStateDict(state: OptimizerState): void {
    super.loadStateDict(state, 2);
  }
}

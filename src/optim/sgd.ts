import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type LrSchedule, type OptimizerState } from './optimizer.js';

export interface SGDOptions {
  lr: number | LrSchedule;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
}

/** SGD with optional momentum, as torch.optim.SGD (the first step seeds the momentum buffer with the gradient). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;

  constructor(params: Tensor[], opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  step(opts: { gradScale?: number } = {}): void {
    const lr = this.currentLr();
    const first = this.stepCount === 0;
    this.stepCount++;
    // bias_c1 == 0 marks the first step (buffer = g), as PyTorch initialises its momentum buffer.
    this.flatUpdate('sgd', [lr, 0, 0, 0, this.weightDecay, first ? 0 : 1, 0, this.momentum, opts.gradScale ?? 1, this.dampening]);
  }

  override loadStateDict(state: OptimizerState): void {
    super.loadStateDict(state, 2);
  }
}

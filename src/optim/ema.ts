import type { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { assignInPlace } from '../nn/module.js';

/** Exponential moving average of parameters: shadow = decay * shadow + (1 - decay) * param after each step. */
export class EMA {
  readonly shadow: Tensor[];

  constructor(
    readonly params: readonly Tensor[],
    readonly decay = 0.999,
  ) {
    if (!(decay >= 0 && decay <= 1)) throw new Error(`EMA: decay must be in [0, 1], got ${decay}`);
    this.shadow = noGrad(() => params.map((p) => keep(p.clone())));
  }

  update(): void {
    noGrad(() => {
      this.params.forEach((p, i) => {
        const next = this.shadow[i].mul(this.decay).add(p.mul(1 - this.decay));
        this.shadow[i].dispose();
        this.shadow[i] = keep(next);
      });
    });
  }

  /** Copies the averaged values into the parameters (e.g. before evaluation or export). */
  copyTo(): void {
    this.params.forEach((p, i) => assignInPlace(p, this.shadow[i]));
  }

  dispose(): void {
    for (const s of this.shadow) s.dispose();
  }
}

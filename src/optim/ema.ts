import type { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';
import { noGrad } from '../autograd/graph.js';
import { assignInPlace } from '../nn/module.js';
import { arenaOf, type Shadow } from './param-arena.js';
import { flatEma } from './arena-ops.js';

/**
 * Exponential moving average of parameters: shadow = decay * shadow + (1 - decay) * param after each step.
 * When the parameters are in one optimizer's flat arena (make the optimizer first, or before the first update),
 * the shadows share its layout and `update()` is one launch per arena chunk; otherwise each parameter is averaged
 * on its own.
 */
export class EMA {
  /** The averages, one tensor per parameter (views of the flat shadow when there is one). */
  shadow: Tensor[];
  private flat: Shadow | null = null;

  constructor(
    readonly params: readonly Tensor[],
    readonly decay = 0.999,
  ) {
    if (!(decay >= 0 && decay <= 1)) throw new Error(`EMA: decay must be in [0, 1], got ${decay}`);
    this.shadow = noGrad(() => params.map((p) => keep(p.clone())));
    this.tryFlat();
  }

  /** Moves the shadows into a flat buffer of the parameters' arena, once they are all in one. */
  private tryFlat(): void {
    if (this.flat || !this.params.length) return;
    const arena = arenaOf(this.params[0]);
    if (!arena || this.params.some((p) => arenaOf(p) !== arena)) return;
    const flat = arena.shadow('ema-shadow');
    this.flat = flat;
    this.shadow = this.params.map((p, i) => {
      const view = keep(flat.view(p));
      assignInPlace(view, this.shadow[i]);
      this.shadow[i].dispose();
      return view;
    });
  }

  update(): void {
    if (this.flat && arenaOf(this.params[0]) !== this.flat.arena) {
      // The optimizer (and its arena) went away: the shadow views stay valid; average per tensor from now on.
      this.flat.dispose();
      this.flat = null;
    }
    this.tryFlat();
    if (this.flat) {
      flatEma(this.flat.arena, this.flat.buffers, this.params, this.decay);
      return;
    }
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
    this.flat?.dispose();
    this.flat = null;
  }
}

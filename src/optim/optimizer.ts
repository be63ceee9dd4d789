import source from '../../shaders/optim.wgsl';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../ops/creation.js';
import { keep } from '../tensor/scope.js';
import { workgroups1d } from '../ops/dispatch.js';

export type LrSchedule = (step: number) => number;

/** Per-parameter state buffers plus the step counter; what a checkpoint saves. */
export interface OptimizerState {
  step: number;
  /** Per parameter index: named state tensors (e.g. exp_avg, exp_avg_sq). */
  slots: Record<string, Float32Array>[];
}

/** Shared machinery: parameter list, learning rate (number or schedule), state slots, fused kernel dispatch. */
export abstract class Optimizer {
  stepCount = 0;
  protected slots: Map<Tensor, Tensor[]> = new Map();

  constructor(
    readonly params: Tensor[],
    public lr: number | LrSchedule,
  ) {
    for (const p of params) {
      if (!p.isContiguous || p.offset !== 0) throw new Error(`optimizer: parameter ${p.name ?? `#${p.id}`} must be a dense tensor with its own storage`);
      if (p.dtype !== 'float32') {
        throw new Error(`optimizer: parameter ${p.name ?? `#${p.id}`} is ${p.dtype}; optimizers update float32 master weights (nn.autocast makes the float16 copies)`);
      }
    }
  }

  /** Learning rate for the step about to run (1-based step index given to schedules). */
  currentLr(): number {
    return typeof this.lr === 'number' ? this.lr : this.lr(this.stepCount + 1);
  }

  protected slotsFor(p: Tensor, count: number): Tensor[] {
    let s = this.slots.get(p);
    if (!s) {
      s = Array.from({ length: count }, () => keep(zeros(p.shape)));
      this.slots.set(p, s);
    }
    return s;
  }

  protected dispatchUpdate(entry: 'adamw' | 'sgd', p: Tensor, g: Tensor, m: Tensor, v: Tensor, values: number[]): void {
    const dev = p.device;
    const u = new Uint32Array(16);
    u[0] = p.size;
    new Float32Array(u.buffer).set(values, 4);
    dev.dispatch({
      name: entry,
      pipeline: dev.pipeline(`optim_${entry}`, source, { WG: 256 }, entry),
      buffers: [p.buffer, g.buffer, m.buffer, v.buffer],
      uniform: u,
      workgroups: workgroups1d(dev, p.size, 256),
      bytes: 4 * p.size * 7,
      flops: 12 * p.size,
    });
  }

  /** Applies one update to every parameter that has a gradient. `gradScale` multiplies gradients first (loss scaling). */
  abstract step(opts?: { gradScale?: number }): void;

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  async stateDict(): Promise<OptimizerState> {
    const slots: Record<string, Float32Array>[] = [];
    for (const p of this.params) {
      const s = this.slots.get(p);
      const entry: Record<string, Float32Array> = {};
      if (s) for (let k = 0; k < s.length; k++) entry[`slot${k}`] = await s[k].data();
      slots.push(entry);
    }
    return { step: this.stepCount, slots };
  }

  loadStateDict(state: OptimizerState, slotCount: number): void {
    if (state.slots.length !== this.params.length) {
      throw new Error(`optimizer state has ${state.slots.length} parameters but this optimizer has ${this.params.length} (different model or trainable set?)`);
    }
    this.stepCount = state.step;
    this.params.forEach((p, i) => {
      const entry = state.slots[i];
      if (!Object.keys(entry).length) return;
      const s = this.slotsFor(p, slotCount);
      for (let k = 0; k < slotCount; k++) {
        const data = entry[`slot${k}`];
        if (!data || data.length !== p.size) throw new Error(`optimizer state for parameter ${p.name ?? i} has the wrong size`);
        p.device.upload(s[k].buffer, data);
      }
    });
  }

  dispose(): void {
    for (const s of this.slots.values()) for (const t of s) t.dispose();
    this.slots.clear();
  }
}

/** Parameter gradient as a dense tensor (leaf gradients are dense already). */
export function denseGrad(p: Tensor): Tensor | null {
  const g = p.grad;
  if (!g) return null;
  if (g.shape.length !== p.shape.length || !g.isContiguous) throw new Error(`internal: gradient of ${p.name ?? p.id} is not dense`);
  if (g.dtype !== 'float32') throw new Error(`optimizer: the gradient of ${p.name ?? `#${p.id}`} is ${g.dtype}; convert it with .toFloat32() before step()`);
  return g;
}

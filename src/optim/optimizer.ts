import source from '../../shaders/optim.wgsl';
import { Tensor } from '../tensor/tensor.js';
import { gradSlotOf } from '../autograd/grad-slot.js';
import { copyInto } from '../ops/copy.js';
import { ParamArena, SLOT_ALIGN, blockRuns, type Shadow } from './param-arena.js';

export type LrSchedule = (step: number) => number;

/** Per-parameter state buffers plus the step counter; what a checkpoint saves. */
export interface OptimizerState {
  step: number;
  /** Per parameter index: named state tensors (e.g. exp_avg, exp_avg_sq). */
  slots: Record<string, Float32Array>[];
}

/**
 * Shared machinery: parameter list, learning rate (number or schedule), state, and the multi-tensor update.
 *
 * The parameters move into a flat arena (src/optim/param-arena.ts) when the optimizer is made: their gradients and
 * the optimizer's moments then sit at the same offsets of a few buffers, and `step` is one kernel launch per arena
 * chunk (usually one) instead of one per parameter. Parameters stay the same Tensor objects; `stateDict` still
 * gives per-parameter tensors, so checkpoints are unchanged. `dispose()` gives the parameters their own buffers
 * back.
 */
export abstract class Optimizer {
  stepCount = 0;
  readonly arena: ParamArena;
  /** The two state buffers per parameter (slot0, slot1 in checkpoints), made at the first step or load. */
  private moments: [Shadow, Shadow] | null = null;
  /** Whether each parameter has state (had a gradient at some step, or was loaded): checkpoints list only those. */
  private hasState: boolean[];
  private disposed = false;

  constructor(
    readonly params: Tensor[],
    public lr: number | LrSchedule,
  ) {
    this.arena = new ParamArena(params);
    this.hasState = params.map(() => false);
  }

  /** Learning rate for the step about to run (1-based step index given to schedules). */
  currentLr(): number {
    return typeof this.lr === 'number' ? this.lr : this.lr(this.stepCount + 1);
  }

  private state(): [Shadow, Shadow] {
    this.assertUsable();
    this.moments ??= [this.arena.shadow('optimizer-moment'), this.arena.shadow('optimizer-moment')];
    return this.moments;
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('optimizer: this optimizer was disposed');
  }

  /**
   * One multi-tensor update of every parameter that has a gradient (`values`: the kernel's hyperparameters from
   * lr on, see shaders/optim.wgsl). A gradient that is not in its arena slot (set by hand, or computed outside an
   * optimizer's reach) is copied there first.
   */
  protected flatUpdate(entry: 'adamw' | 'sgd', values: number[]): void {
    const [m, v] = this.state();
    const active = this.params.map((p) => {
      const g = p.grad;
      if (!g) return false;
      if (g.dtype !== 'float32') throw new Error(`optimizer: the gradient of ${p.name ?? `#${p.id}`} is ${g.dtype}; convert it with .toFloat32() before step()`);
      const slot = gradSlotOf(p)!;
      if (!slot.holds(g)) {
        const view = slot.view();
        copyInto(view, g);
        g.dispose();
        p.grad = view;
      }
      return true;
    });
    active.forEach((on, i) => (this.hasState[i] ||= on));
    const mask = this.arena.mask(active);
    const dev = this.arena.device;
    const pipeline = dev.pipeline(`optim_${entry}`, source, { WG: SLOT_ALIGN }, entry);
    this.arena.layouts.forEach((l, c) => {
      const runs = blockRuns(dev, l.elements / SLOT_ALIGN);
      const u = new Uint32Array(20);
      u.set([l.slots.length, l.elements / SLOT_ALIGN, runs.bpw, 0]);
      new Float32Array(u.buffer).set(values, 4);
      dev.dispatch({
        name: entry,
        pipeline,
        buffers: [this.arena.buffers[c], this.arena.grads.buffers[c], m.buffers[c], v.buffers[c], l.table, mask[c]],
        uniform: u,
        workgroups: runs.grid,
        bytes: 4 * l.elements * 7,
        flops: 12 * l.elements,
      });
    });
  }

  /** Applies one update to every parameter that has a gradient. `gradScale` multiplies gradients first (loss scaling). */
  abstract step(opts?: { gradScale?: number }): void;

  /** Drops every gradient (PyTorch's zero_grad(set_to_none=True)): the next backward writes them afresh. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  async stateDict(): Promise<OptimizerState> {
    const slots: Record<string, Float32Array>[] = this.params.map(() => ({}));
    if (this.moments) {
      for (const [k, shadow] of this.moments.entries()) {
        // One readback per chunk and moment, sliced per parameter.
        const chunks = await Promise.all(shadow.buffers.map((b, c) => this.arena.device.read(b, this.arena.layouts[c].elements * 4)));
        this.params.forEach((p, i) => {
          if (!this.hasState[i]) return;
          const s = this.arena.slot(p);
          slots[i][`slot${k}`] = new Float32Array(chunks[s.chunk], s.start * 4, p.size).slice();
        });
      }
    }
    return { step: this.stepCount, slots };
  }

  loadStateDict(state: OptimizerState, slotCount: number): void {
    if (state.slots.length !== this.params.length) {
      throw new Error(`optimizer state has ${state.slots.length} parameters but this optimizer has ${this.params.length} (different model or trainable set?)`);
    }
    // Check everything before changing anything: a bad checkpoint must not leave half its state loaded.
    this.params.forEach((p, i) => {
      const entry = state.slots[i];
      if (!Object.keys(entry).length) return;
      for (let k = 0; k < slotCount; k++) {
        const data = entry[`slot${k}`];
        if (!data || data.length !== p.size) throw new Error(`optimizer state for parameter ${p.name ?? i} has the wrong size`);
      }
    });
    const moments = this.state();
    this.stepCount = state.step;
    this.params.forEach((p, i) => {
      const entry = state.slots[i];
      this.hasState[i] = Object.keys(entry).length > 0;
      const s = this.arena.slot(p);
      for (let k = 0; k < 2; k++) {
        // A parameter without saved state starts from zeros, as it would in a fresh optimizer.
        const data = (k < slotCount ? entry[`slot${k}`] : undefined) ?? new Float32Array(p.size);
        if (p.size) this.arena.device.upload(moments[k].buffers[s.chunk], data, s.start * 4);
      }
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of this.moments ?? []) m.dispose();
    this.moments = null;
    this.arena.dispose();
  }
}

import type { Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';

/**
 * Where a parameter's gradient lives when an optimizer keeps gradients flat (src/optim/param-arena.ts): a slot of
 * one shared buffer, so one kernel reads every gradient. Backward writes a leaf's gradient straight into its slot
 * (`gradOutput` gives the kernel computing it the slot as its output) or adds into it in place; `.grad` is then a
 * view of the slot. Leaves without a slot keep PyTorch's behaviour: a fresh tensor, summed on accumulation.
 */
export interface GradSlot {
  /** A new tensor handle on the slot (shape and dtype of the parameter). */
  view(): Tensor;
  /** Whether `t` is exactly the slot (same buffer range, dense). */
  holds(t: Tensor): boolean;
}

const slots = new WeakMap<Tensor, GradSlot>();
/** The backward() call that claimed a parameter's empty slot (a parameter used twice gets it once). */
const claims = new WeakMap<Tensor, number>();
let epoch = 0;

export function setGradSlot(p: Tensor, slot: GradSlot | null): void {
  if (slot) slots.set(p, slot);
  else slots.delete(p);
}

export function gradSlotOf(p: Tensor): GradSlot | null {
  return slots.get(p) ?? null;
}

/** Called at the start of each backward(): claims of earlier walks no longer hold the slot. */
export function nextBackwardEpoch(): void {
  epoch++;
}

/**
 * The tensor a backward rule should write the gradient of leaf `p` into: `p`'s empty gradient slot the first time
 * in this backward walk (the gradient then costs no copy into the optimizer's flat storage), else a new tensor.
 */
export function gradOutput(p: Tensor, shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const slot = slots.get(p);
  if (slot && p.grad === null && p.isLeaf && p.requiresGrad && claims.get(p) !== epoch && dtype === p.dtype && sameShape(shape, p.shape)) {
    claims.set(p, epoch);
    return slot.view();
  }
  return empty(shape, dtype);
}

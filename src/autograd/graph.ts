import type { Tensor } from '../tensor/tensor.js';

/**
 * Gradient of each input (null where the input needs none), given the output's gradient and the saved tensors.
 * `acc[k]`, where given, is the gradient already collected for input k (dense, float32, owned by the walk): a rule
 * whose kernel can add into its output may add input k's gradient into it and return `acc[k]` itself (the walk
 * then has nothing to sum); rules that ignore `acc` return new tensors as usual.
 */
export type BackwardFn = (grad: Tensor, saved: readonly Tensor[], acc?: readonly (Tensor | null)[]) => (Tensor | null | undefined)[];

/** One recorded op on the tape: its inputs, the tensors it saved, and its backward rule. */
export interface GradNode {
  name: string;
  inputs: readonly (Tensor | null)[];
  saved: Tensor[];
  backward: BackwardFn;
  freed: boolean;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording ops for autograd (inference, optimizer updates). Works with async functions. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    gradEnabled = prev;
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    return (result as unknown as Promise<unknown>).finally(() => {
      gradEnabled = prev;
    }) as T;
  }
  gradEnabled = prev;
  return result;
}

/**
 * Records `out = op(inputs)` on the tape when any input requires a gradient. Saved tensors are kept as aliases
 * with their own storage reference, so `tidy` or `dispose` of the originals cannot free what backward needs.
 */
export function record(
  name: string,
  out: Tensor,
  inputs: readonly (Tensor | null)[],
  backward: BackwardFn,
  saved: readonly Tensor[] = [],
): Tensor {
  if (!gradEnabled || !inputs.some((t) => t?.requiresGrad)) return out;
  out.requiresGrad = true;
  out.gradFn = {
    name,
    inputs,
    saved: saved.map((t) => t.view(t.shape, t.strides, t.offset, false)),
    backward,
    freed: false,
  };
  return out;
}

/** Releases what a node saved; its output can no longer be differentiated through. */
export function freeNode(node: GradNode): void {
  if (node.freed) return;
  node.freed = true;
  for (const t of node.saved) t.dispose();
  node.saved = [];
}

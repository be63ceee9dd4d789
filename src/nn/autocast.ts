import { getDevice } from '../../runtime/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { float16Unsupported, type DType } from '../tensor/dtype.js';
import { cast } from '../ops/cast.js';
import { conv2d, type Conv2dOptions } from '../ops/conv2d.js';
import { matmul } from '../ops/matmul.js';

/**
 * Mixed precision, as torch.autocast: inside `autocast(fn)`, nn.Linear and nn.Conv2d compute from float16 copies
 * of their input and weight (the kernels load f16 and sum in f32) while the parameters stay float32 master
 * weights: the casts are recorded ops, so backward hands each parameter an f32 gradient for the optimizer. Pair
 * it with optim.GradScaler so small gradients do not underflow in f16.
 *
 * Without the adapter feature 'shader-f16', `fn` runs in plain float32 (one warning), unless `strict` asks for
 * the error instead.
 */
export interface AutocastOptions {
  /**
   * Type of the Linear/Conv2d outputs. 'float32' (default) leaves every other op of the network as it is;
   * 'float16' also halves the activations, but the ops that follow must take f16 (elementwise ops, reductions,
   * matmul, conv2d and attention do; norms and softmax ask for .toFloat32()).
   */
  outputDtype?: 'float32' | 'float16';
  /** Throw, naming the missing feature, where the adapter lacks 'shader-f16' (default: fall back to float32). */
  strict?: boolean;
}

export interface AutocastState {
  readonly outputDtype: DType;
}

let state: AutocastState | null = null;
let warned = false;

/** Runs `fn` with nn.Linear / nn.Conv2d in mixed precision (see the file comment). Works with async functions. */
export function autocast<T>(fn: () => T, opts: AutocastOptions = {}): T {
  const reason = float16Unsupported(getDevice());
  let next: AutocastState | null = { outputDtype: opts.outputDtype ?? 'float32' };
  if (reason) {
    if (opts.strict) throw new Error(`autocast: ${reason}`);
    if (!warned) {
      warned = true;
      console.warn(`autocast: running in float32 instead: ${reason}`);
    }
    next = null;
  }
  const prev = state;
  state = next;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    state = prev;
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    return (result as unknown as Promise<unknown>).finally(() => {
      state = prev;
    }) as T;
  }
  state = prev;
  return result;
}

/** The active mixed-precision settings, or null outside `autocast` (and where it fell back to float32). */
export function autocastState(): AutocastState | null {
  return state;
}

/**
 * y = x Wᵀ + b from float16 copies of x and W. With a bias the product stays f32 until the f32 bias is added, so
 * an f16 output is rounded once.
 */
export function autocastLinear(x: Tensor, weight: Tensor, bias: Tensor | null, outputDtype: DType): Tensor {
  const x16 = cast(x, 'float16');
  const w16 = cast(weight, 'float16');
  const wt = w16.T;
  const y = matmul(x16, wt, { dtype: bias ? 'float32' : outputDtype });
  for (const t of [x16, w16, wt]) if (t !== x && t !== weight) t.dispose();
  if (!bias) return y;
  const yb = y.add(bias);
  y.dispose();
  const out = cast(yb, outputDtype);
  if (out !== yb) yb.dispose();
  return out;
}

/** conv2d from float16 copies of x and the weight; the f32 bias is added to the f32 sums inside the kernel. */
export function autocastConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions, outputDtype: DType): Tensor {
  const x16 = cast(x, 'float16');
  const w16 = cast(weight, 'float16');
  const y = conv2d(x16, w16, bias, { ...opts, dtype: outputDtype });
  for (const t of [x16, w16]) if (t !== x && t !== weight) t.dispose();
  return y;
}

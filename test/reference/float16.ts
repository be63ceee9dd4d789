/**
 * float16 in the float64 reference: rounding to the nearest f16 (ties to even, overflow to ±Infinity), with the
 * straight-through gradient of the engine's cast (the engine rounds that gradient to the input's type; a float32
 * input's gradient is exact). Tests of f16 kernels round their inputs with this, so the reference computes on
 * exactly the values the kernel loads and the check measures only the kernel's own arithmetic.
 */
import { roundTripF16 } from '../../src/io/half.js';
import { recordRef, ref, type RefTensor } from './ref-tensor.js';

/** `x` rounded to float16 (through float32, as the engine uploads f32 and converts on the GPU). */
export function roundF16Ref(x: RefTensor): RefTensor {
  const out = ref(x.shape, roundTripF16(Float32Array.from(x.data)));
  return recordRef(out, 'roundF16', [x], (g) => [g]);
}

/** Values already on the float16 grid: a RefTensor whose data survive toFloat16() exactly. */
export function f16Grid(x: RefTensor): RefTensor {
  return ref(x.shape, roundTripF16(Float32Array.from(x.data)));
}

import { record } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { UNARY, usedVars, type UnaryName } from './elementwise-table.js';
import { runMap } from './map-kernel.js';

/** Applies a unary op from the table, recording its backward rule. */
export function unary(op: UnaryName, x: Tensor, scalars: readonly number[] = []): Tensor {
  const spec: { fwd: string; bwd?: string } = UNARY[op];
  const y = runMap(op, ['x'], spec.fwd, [x], x.shape, { scalars });
  if (!spec.bwd) return y;
  const bwd = spec.bwd;
  const needs = usedVars(bwd, ['x', 'y']);
  const saved = needs.map((v) => (v === 'x' ? x : y));
  // The input's gradient is added into the walk's pending one where there is one (see BackwardFn).
  return record(op, y, [x], (g, s, acc) => [runMap(`${op}_backward`, ['g', ...needs], bwd, [g, ...s], x.shape, { scalars, out: acc?.[0] ?? undefined, accumulate: Boolean(acc?.[0]) })], saved);
}

const simple = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sign', 'square', 'reciprocal', 'sin', 'cos', 'tanh',
  'sigmoid', 'relu', 'silu', 'gelu', 'geluTanh', 'softplus', 'isfinite',
] as const satisfies readonly UnaryName[];

declare module '../tensor/tensor.js' {
  interface Tensor {
    neg(): Tensor; exp(): Tensor; log(): Tensor; sqrt(): Tensor; rsqrt(): Tensor; abs(): Tensor; sign(): Tensor;
    square(): Tensor; reciprocal(): Tensor; sin(): Tensor; cos(): Tensor; tanh(): Tensor; sigmoid(): Tensor;
    relu(): Tensor; silu(): Tensor; softplus(): Tensor; isfinite(): Tensor;
    /** GELU; `approximate: 'tanh'` selects the tanh form. */
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    geluTanh(): Tensor;
    /** Elementwise power by a number; pass a tensor exponent to `pow` for the binary form. */
    powScalar(e: number): Tensor;
    clamp(min: number, max: number): Tensor;
  }
}

for (const name of simple) {
  (Tensor.prototype as unknown as Record<string, unknown>)[name] = function (this: Tensor) {
    return unary(name, this);
  };
}
Tensor.prototype.gelu = function (this: Tensor, approximate: 'none' | 'tanh' = 'none') {
  return unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', this);
};
Tensor.prototype.powScalar = function (this: Tensor, e: number) {
  return unary('powScalar', this, [e]);
};
Tensor.prototype.clamp = function (this: Tensor, min: number, max: number) {
  if (!(min <= max)) throw new Error(`clamp: min (${min}) must not exceed max (${max})`);
  return unary('clamp', this, [min, max]);
};

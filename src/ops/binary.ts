import { record } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastShapes, sameShape, type Shape } from '../tensor/shape.js';
import { BINARY, usedVars, type BinaryName } from './elementwise-table.js';
import { runMap } from './map-kernel.js';
import { unary } from './unary.js';
import { scalarTensor } from './creation.js';

export type TensorOrNumber = Tensor | number;

/** Sums a broadcast gradient back down to `shape` (the shape of the input that was broadcast). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const summed = g.sum(axes, true);
  const out = summed.reshape(shape);
  if (out !== summed) summed.dispose();
  return out;
}

/** Applies a binary op from the table with NumPy broadcasting, recording its backward rule. */
export function binary(op: BinaryName, a: Tensor, b: Tensor): Tensor {
  const spec: { fwd: string; bwd?: [string, string] } = BINARY[op];
  const shape = broadcastShapes(op, a.shape, b.shape);
  const y = runMap(op, ['a', 'b'], spec.fwd, [a, b], shape);
  if (!spec.bwd) return y;
  const [bwdA, bwdB] = spec.bwd;
  const needs = usedVars(bwdA + ' ' + bwdB, ['a', 'b', 'y']);
  const saved = needs.map((v) => (v === 'a' ? a : v === 'b' ? b : y));
  return record(
    op,
    y,
    [a, b],
    (g, s, acc) => {
      const grad = (expr: string, target: Tensor, which: string, into: Tensor | null): Tensor | null => {
        if (!target.requiresGrad) return null;
        if (expr === 'g') return sumToShape(g, target.shape);
        const vars = usedVars(expr, needs);
        // Without broadcasting, added straight into the walk's pending gradient where there is one.
        const add = into && sameShape(target.shape, shape) ? into : null;
        const full = runMap(`${op}_backward_${which}`, ['g', ...vars], expr, [g, ...vars.map((v) => s[needs.indexOf(v)])], shape, { out: add ?? undefined, accumulate: Boolean(add) });
        const reduced = sumToShape(full, target.shape);
        if (reduced !== full) full.dispose();
        return reduced;
      };
      return [grad(bwdA, a, 'a', acc?.[0] ?? null), grad(bwdB, b, 'b', acc?.[1] ?? null)];
    },
    saved,
  );
}

function asTensor(v: TensorOrNumber): Tensor {
  return typeof v === 'number' ? scalarTensor(v) : v;
}

/** Dispatches scalar right-hand sides to one-input kernels (no 0-d tensor upload) where a scalar form exists. */
function binaryOrScalar(op: BinaryName, a: Tensor, b: TensorOrNumber): Tensor {
  if (typeof b === 'number') {
    switch (op) {
      case 'add': return unary('addScalar', a, [b]);
      case 'sub': return unary('addScalar', a, [-b]);
      case 'mul': return unary('mulScalar', a, [b]);
      case 'div': return unary('mulScalar', a, [1 / b]);
      case 'pow': return unary('powScalar', a, [b]);
      default: {
        const bt = scalarTensor(b);
        const y = binary(op, a, bt);
        bt.dispose();
        return y;
      }
    }
  }
  return binary(op, a, b);
}

export const add = (a: TensorOrNumber, b: TensorOrNumber): Tensor => (typeof a === 'number' ? binaryOrScalar('add', asTensor(b), a) : binaryOrScalar('add', a, b));
export const mul = (a: TensorOrNumber, b: TensorOrNumber): Tensor => (typeof a === 'number' ? binaryOrScalar('mul', asTensor(b), a) : binaryOrScalar('mul', a, b));
export const sub = (a: TensorOrNumber, b: TensorOrNumber): Tensor => (typeof a === 'number' ? unary('rsubScalar', asTensor(b), [a]) : binaryOrScalar('sub', a, b));
export const div = (a: TensorOrNumber, b: TensorOrNumber): Tensor => (typeof a === 'number' ? unary('rdivScalar', asTensor(b), [a]) : binaryOrScalar('div', a, b));
export const maximum = (a: Tensor, b: TensorOrNumber): Tensor => binaryOrScalar('maximum', a, b);
export const minimum = (a: Tensor, b: TensorOrNumber): Tensor => binaryOrScalar('minimum', a, b);
export const pow = (a: Tensor, b: TensorOrNumber): Tensor => binaryOrScalar('pow', a, b);

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(b: TensorOrNumber): Tensor; sub(b: TensorOrNumber): Tensor; mul(b: TensorOrNumber): Tensor; div(b: TensorOrNumber): Tensor;
    maximum(b: TensorOrNumber): Tensor; minimum(b: TensorOrNumber): Tensor; pow(b: TensorOrNumber): Tensor;
    /** Comparisons give 1.0 where true and 0.0 elsewhere (no gradient). */
    gt(b: TensorOrNumber): Tensor; ge(b: TensorOrNumber): Tensor; lt(b: TensorOrNumber): Tensor;
    le(b: TensorOrNumber): Tensor; eq(b: TensorOrNumber): Tensor; ne(b: TensorOrNumber): Tensor;
  }
}

const methods: Record<string, (this: Tensor, b: TensorOrNumber) => Tensor> = {
  add(b) { return add(this, b); },
  sub(b) { return sub(this, b); },
  mul(b) { return mul(this, b); },
  div(b) { return div(this, b); },
  maximum(b) { return maximum(this, b); },
  minimum(b) { return minimum(this, b); },
  pow(b) { return pow(this, b); },
};
for (const cmp of ['gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const) {
  methods[cmp] = function (this: Tensor, b: TensorOrNumber) {
    return binaryOrScalar(cmp, this, b);
  };
}
Object.assign(Tensor.prototype, methods);

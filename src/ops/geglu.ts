import { noGrad, record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { UNARY } from './elementwise-table.js';
import { runMap } from './map-kernel.js';
import { slice } from './shape-ops.js';

/** GELU (erf form) of `v` and its derivative, as the elementwise table defines them. */
const gelu = (v: string) => UNARY.gelu.fwd.replace(/\bx\b/g, v);
const geluGrad = (v: string) => `(0.5 * (1.0 + erf_(${v} * SQRT_HALF)) + ${v} * INV_SQRT_2PI * exp(-0.5 * ${v} * ${v}))`;

/**
 * GEGLU's gate, as diffusers computes it after its projection: p [..., 2·n] → p[..., :n] · gelu(p[..., n:]) (erf
 * form). One elementwise launch reading both halves as strided views; backward writes the two halves of dp with
 * one launch each (instead of slicing, a product and a GELU, whose gradients would be zero-padded and summed).
 */
export function geglu(p: Tensor): Tensor {
  const w = p.shape[p.ndim - 1];
  if (w % 2) throw new Error(`geglu: the last dimension (${w}, shape ${shapeStr(p.shape)}) must be even: value and gate halves`);
  if (p.dtype !== 'float32') {
    const a = slice(p, -1, 0, w / 2);
    const b = slice(p, -1, w / 2);
    const gb = b.gelu();
    const y = a.mul(gb);
    for (const t of [a, b, gb]) t.dispose();
    return y;
  }
  const n = w / 2;
  const outShape = [...p.shape.slice(0, -1), n];
  const y = noGrad(() => {
    const [a, b] = [slice(p, -1, 0, n), slice(p, -1, n)];
    const out = runMap('geglu', ['a', 'b'], `a * ${gelu('b')}`, [a, b], outShape);
    a.dispose();
    b.dispose();
    return out;
  });
  return record(
    'geglu',
    y,
    [p],
    (g, [ps], acc) => {
      // Into the walk's pending gradient for p where there is one (the maps' accumulate epilogue).
      const dp = acc?.[0] ?? empty(p.shape);
      const [pa, pb, da, db] = [slice(ps, -1, 0, n), slice(ps, -1, n), slice(dp, -1, 0, n), slice(dp, -1, n)];
      const accumulate = Boolean(acc?.[0]);
      runMap('geglu_backward_a', ['g', 'b'], `g * ${gelu('b')}`, [g, pb], outShape, { out: da, accumulate });
      runMap('geglu_backward_b', ['g', 'a', 'b'], `g * a * ${geluGrad('b')}`, [g, pa, pb], outShape, { out: db, accumulate });
      for (const t of [pa, pb, da, db]) t.dispose();
      return [dp];
    },
    [p],
  );
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** GEGLU's gate: this[..., :n] · gelu(this[..., n:]) for a last dimension of 2n. */
    geglu(): Tensor;
  }
}
Tensor.prototype.geglu = function (this: Tensor) {
  return geglu(this);
};

// blur1d: a 1-D filter along rows or columns with zero padding, against a float64 loop, with its gradient (the
// reversed filter) checked on asymmetric taps, where reversing matters.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor } from '../../src/index.js';
import { blur1d } from '../../src/ops/blur1d.js';
import { checkOp } from '../helpers/check-op.js';
import { linearRefOp } from '../reference/raw-bayer.js';

beforeAll(async () => {
  await init();
});

function blur1dRef(x: Float64Array, shape: readonly number[], taps: readonly number[], axis: 'x' | 'y'): Float64Array {
  const [h, w] = [shape[shape.length - 2], shape[shape.length - 1]];
  const planes = x.length / (h * w), r = (taps.length - 1) / 2;
  const out = new Float64Array(x.length);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let k = 0; k < taps.length; k++) {
          const [yy, x2] = axis === 'x' ? [y, xx + k - r] : [y + k - r, xx];
          if (yy >= 0 && yy < h && x2 >= 0 && x2 < w) s += taps[k] * x[p * h * w + yy * w + x2];
        }
        out[p * h * w + y * w + xx] = s;
      }
  return out;
}

describe('blur1d', () => {
  const taps = Float32Array.from([0.1, -0.3, 0.5, 0.9, 0.2]); // asymmetric: the gradient must reverse them
  for (const axis of ['x', 'y'] as const) {
    it(`filters along ${axis} with zeros outside, gradient included`, async () => {
      for (const shape of [[2, 3, 5, 7], [4, 9]]) {
        await checkOp(`blur1d ${axis} [${shape}]`, {
          inputs: [shape],
          engine: (x) => blur1d(x, taps, axis),
          reference: (x) => linearRefOp('blur1d', x, x.shape, (v) => blur1dRef(v, x.shape, Array.from(taps), axis)),
          grad: true,
        });
      }
    });
  }

  it('reads strided views and a filter longer than the image', async () => {
    const wide = Float32Array.from({ length: 15 }, (_, i) => Math.exp(-((i - 7) ** 2) / 8));
    await checkOp('blur1d of a transposed view', {
      inputs: [[3, 6, 4]],
      engine: (x) => blur1d(x.permute([0, 2, 1]), wide, 'x'),
      reference: (x) => {
        const [p, a, b] = x.shape;
        // [p, a, b] → [p, b, a]: element (n, i, j) of the view is x(n, j, i).
        const t = (v: Float64Array) => Float64Array.from({ length: v.length }, (_, f) => {
          const [n, i, j] = [Math.floor(f / (a * b)), Math.floor((f % (a * b)) / a), f % a];
          return v[n * a * b + j * b + i];
        });
        return linearRefOp('blur1d', x, [p, b, a], (v) => blur1dRef(t(v), [p, b, a], Array.from(wide), 'x'));
      },
      grad: true,
    });
  });

  it('refuses an even number of taps', () => {
    const x = tensor([[1, 2], [3, 4]]);
    expect(() => blur1d(x, Float32Array.from([0.5, 0.5]), 'x')).toThrow(/odd count/);
    x.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, type Tensor } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { makeRng, randomIntRef, randomRef } from '../helpers/random.js';
import { maxRef, meanRef, minRef, sumRef, varRef } from '../reference/reduce.js';
import { ref, type RefTensor } from '../reference/ref-tensor.js';
import { permuteRef, sliceRef, transposeRef } from '../reference/shape.js';

beforeAll(async () => {
  await init();
});

type Axes = number | number[] | undefined;
type Op = 'sum' | 'mean' | 'max' | 'min' | 'var';
const REF: Record<Op, (x: RefTensor, axes?: Axes, keepdim?: boolean) => RefTensor> = {
  sum: sumRef,
  mean: meanRef,
  max: maxRef,
  min: minRef,
  var: varRef,
};
const run = (op: Op, x: Tensor, axes?: Axes, keepdim?: boolean): Tensor =>
  (x as unknown as Record<Op, (a?: Axes, k?: boolean) => Tensor>)[op](axes, keepdim);

const OPS: Op[] = ['sum', 'mean', 'max', 'min', 'var'];
const AXES: [Axes, boolean][] = [
  [undefined, false],
  [undefined, true],
  [0, false],
  [1, true],
  [-1, false],
  [[0, 2], false],
  [[2, 0], true],
  [[0, 1, 2], false],
];

describe('reductions against the float64 reference', () => {
  for (const op of OPS) {
    it(`${op}: single, multiple and all axes, keepdim, 0-d and 1-d`, async () => {
      for (const [axes, keepdim] of AXES) {
        await checkOp(`${op} [3,7,33] axes=${JSON.stringify(axes)} keepdim=${keepdim}`, {
          inputs: [[3, 7, 33]],
          engine: (x) => run(op, x, axes, keepdim),
          reference: (x) => REF[op](x, axes, keepdim),
          grad: true,
        });
      }
      await checkOp(`${op} 1-d [257]`, { inputs: [[257]], engine: (x) => run(op, x), reference: (x) => REF[op](x), grad: true });
      if (op !== 'var') {
        await checkOp(`${op} 0-d`, { inputs: [[]], engine: (x) => run(op, x), reference: (x) => REF[op](x), grad: true });
      }
    });

    it(`${op}: strided and offset views`, async () => {
      await checkOp(`${op} of a transposed view`, {
        inputs: [[33, 65]],
        engine: (x) => run(op, x.transpose(0, 1), 1),
        reference: (x) => REF[op](transposeRef(x, 0, 1), 1),
        grad: true,
      });
      // A slice along the first axis is contiguous but starts at an offset.
      await checkOp(`${op} of an offset view`, {
        inputs: [[5, 40]],
        engine: (x) => run(op, x.slice(0, 2, 4), -1, true),
        reference: (x) => REF[op](sliceRef(x, 0, 2, 4), -1, true),
        grad: true,
      });
      // Read through strides, no copy: non-adjacent axes of a permuted 4-D view (a bias gradient's [0, 2, 3]), a
      // transposed view with short rows (one invocation per row), and a 6-D view whose kept axes do not merge into
      // four (copied dense first).
      await checkOp(`${op} over [0, 2, 3] of a permuted view`, {
        inputs: [[3, 7, 2, 5]],
        engine: (x) => run(op, x.permute([1, 3, 0, 2]), [0, 2, 3]),
        reference: (x) => REF[op](permuteRef(x, [1, 3, 0, 2]), [0, 2, 3]),
        grad: true,
      });
      await checkOp(`${op} of [70, 3] transposed, short rows`, {
        inputs: [[3, 70]],
        engine: (x) => run(op, x.transpose(0, 1), 1, true),
        reference: (x) => REF[op](transposeRef(x, 0, 1), 1, true),
        grad: true,
      });
      await checkOp(`${op} of a 6-D permuted view over one axis`, {
        inputs: [[2, 3, 2, 3, 2, 3]],
        engine: (x) => run(op, x.permute([5, 3, 1, 4, 2, 0]), 2),
        reference: (x) => REF[op](permuteRef(x, [5, 3, 1, 4, 2, 0]), 2),
        grad: true,
      });
    });

    it(`${op}: long rows (multi-pass) and many rows`, async () => {
      const tol = { atol: 2e-4, rtol: 1e-4 };
      await checkOp(`${op} [1,300000]`, { inputs: [[1, 300000]], engine: (x) => run(op, x, 1), reference: (x) => REF[op](x, 1), grad: true, ...tol });
      await checkOp(`${op} [3,9000] over axis 1`, { inputs: [[3, 9000]], engine: (x) => run(op, x, -1), reference: (x) => REF[op](x, -1), grad: true, ...tol });
      await checkOp(`${op} [1030,17] over axis 1`, { inputs: [[1030, 17]], engine: (x) => run(op, x, 1), reference: (x) => REF[op](x, 1), grad: true });
    });
  }

  it('more rows than one dispatch dimension holds (65535 workgroups)', async () => {
    // lavapipe runs this many workgroups slowly, so the rows are short.
    await checkOp('sum [65540,2] over axis 1', { inputs: [[65540, 2]], engine: (x) => x.sum(1), reference: (x) => sumRef(x, 1), grad: true });
  });

  it('var with correction 0, and of a single element (NaN, as PyTorch)', async () => {
    await checkOp('var correction 0', { inputs: [[4, 9]], engine: (x) => x.var(1, false, 0), reference: (x) => varRef(x, 1, false, 0), grad: true });
    await checkOp('var of one element', { inputs: [[3, 1]], engine: (x) => x.var(1), reference: (x) => varRef(x, 1) });
  });

  it('max/min with ties split the gradient evenly', async () => {
    const rng = makeRng(9);
    for (const op of ['max', 'min'] as const) {
      for (const [axes, keepdim] of [[1, false], [[0, 1], true], [undefined, false]] as [Axes, boolean][]) {
        await checkOp(`${op} ties axes=${JSON.stringify(axes)}`, {
          inputs: [randomIntRef(rng, [5, 7], -2, 2)],
          engine: (x) => run(op, x, axes, keepdim),
          reference: (x) => REF[op](x, axes, keepdim),
          grad: true,
        });
      }
    }
  });

  it('NaN propagates through max, min, sum and mean (also across passes)', async () => {
    const x = randomRef(makeRng(2), [3, 5]);
    x.data[7] = NaN;
    for (const op of ['max', 'min', 'sum', 'mean'] as const) {
      await checkOp(`${op} NaN`, { inputs: [x], engine: (t) => run(op, t, 1), reference: (t) => REF[op](t, 1) });
      await checkOp(`${op} NaN all`, { inputs: [x], engine: (t) => run(op, t), reference: (t) => REF[op](t) });
    }
    const long = ref([1, 300000], new Float64Array(300000).fill(0.5));
    long.data[123457] = NaN;
    for (const op of ['max', 'min', 'sum'] as const) {
      await checkOp(`${op} NaN in a long row`, { inputs: [long], engine: (t) => run(op, t, 1), reference: (t) => REF[op](t, 1) });
    }
  });

  it('infinities: max of -inf is -inf, min of +inf is +inf', async () => {
    const x = ref([2, 3], [-Infinity, -Infinity, -Infinity, Infinity, 1, Infinity]);
    for (const op of ['max', 'min', 'sum'] as const) {
      await checkOp(`${op} infinities`, { inputs: [x], engine: (t) => run(op, t, 1), reference: (t) => REF[op](t, 1) });
    }
  });

  it('sum over an empty axis is 0; max over one is an error naming the shape', async () => {
    await checkOp('sum over empty axis', { inputs: [[3, 0]], engine: (x) => x.sum(1), reference: (x) => sumRef(x, 1) });
    const e = tensor(new Float32Array(0), [3, 0]);
    expect(() => e.max(1)).toThrow(/max: cannot reduce over an empty axis \(shape \[3,0\]\)/);
    e.dispose();
  });

  it('out-of-range axes are errors naming the op and rank', () => {
    const x = tensor([[1, 2]]);
    expect(() => x.sum(2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => x.mean(-3)).toThrow(/mean: axis -3 is out of range/);
    x.dispose();
  });
});

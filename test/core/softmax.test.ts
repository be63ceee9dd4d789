import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, type Tensor } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { logSoftmaxRef, softmaxRef } from '../reference/softmax.js';
import { ref, type RefTensor } from '../reference/ref-tensor.js';
import { transposeRef } from '../reference/shape.js';

beforeAll(async () => {
  await init();
});

const OPS: [string, (x: Tensor, dim?: number) => Tensor, (x: RefTensor, dim?: number) => RefTensor][] = [
  ['softmax', (x, d) => x.softmax(d), softmaxRef],
  ['logSoftmax', (x, d) => x.logSoftmax(d), logSoftmaxRef],
];

describe('softmax and logSoftmax against the float64 reference', () => {
  for (const [name, f, r] of OPS) {
    it(`${name}: every axis, rows shorter and longer than a workgroup, length-1 rows`, async () => {
      const cases: [number[], number][] = [
        [[257], -1],
        [[3, 7, 33], -1],
        [[3, 7, 33], 0],
        [[3, 7, 33], 1],
        [[65, 1], -1],
        [[2, 300], 1],
      ];
      for (const [shape, dim] of cases) {
        await checkOp(`${name} [${shape}] dim ${dim}`, { inputs: [shape], engine: (x) => f(x, dim), reference: (x) => r(x, dim), grad: true });
      }
      await checkOp(`${name} of a transposed view`, {
        inputs: [[33, 9]],
        engine: (x) => f(x.transpose(0, 1), -1),
        reference: (x) => r(transposeRef(x, 0, 1), -1),
        grad: true,
      });
    });

    it(`${name}: stable for large magnitudes (±1000)`, async () => {
      const big = ref([4, 3], [1000, 1000, -1000, 1000, 999, 998, -1000, -1000, -1000, -1000, 0, 1000]);
      await checkOp(`${name} ±1000`, { inputs: [big], engine: (x) => f(x), reference: (x) => r(x), grad: true, atol: 1e-4 });
      await checkOp(`${name} random in [-1000, 1000]`, {
        inputs: [[5, 65]],
        inputRange: [-1000, 1000],
        engine: (x) => f(x, 1),
        reference: (x) => r(x, 1),
        grad: true,
        atol: 1e-4,
      });
    });
  }

  it('more rows than one dispatch dimension holds (65535 workgroups)', async () => {
    // lavapipe runs this many workgroups slowly, so the rows are short.
    await checkOp('softmax [65540,2]', { inputs: [[65540, 2]], engine: (x) => x.softmax(-1), reference: (x) => softmaxRef(x, -1) });
  });

  it('rows sum to 1', async () => {
    const x = tensor([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]]);
    const y = x.softmax();
    const s = y.sum(1);
    expect(Array.from(await s.data(), (v) => +v.toFixed(6))).toEqual([1, 1]);
    [x, y, s].forEach((t) => t.dispose());
  });

  it('a 0-d input is an error naming the op', () => {
    const x = tensor(1);
    expect(() => x.softmax()).toThrow(/softmax: axis -1 is out of range for a tensor of rank 0/);
    x.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { add, init, mul, tensor, where, zeros, type Tensor } from '../../src/index.js';
import { BINARY, type BinaryName } from '../../src/ops/elementwise-table.js';
import { checkOp, type InputSpec } from '../helpers/check-op.js';
import { makeRng, randomIntRef } from '../helpers/random.js';
import { addRef, binaryRef, mulRef, whereRef } from '../reference/elementwise.js';
import { ref, refOf } from '../reference/ref-tensor.js';
import { sliceRef, transposeRef } from '../reference/shape.js';

beforeAll(async () => {
  await init();
});

const call = (op: BinaryName) => (a: Tensor, b: Tensor) => (a as unknown as Record<string, (b: Tensor) => Tensor>)[op](b);

/** Input ranges that keep each op on its smooth domain: pow needs a > 0, div keeps b away from 0. */
function ranges(op: BinaryName): [[number, number], [number, number]] {
  if (op === 'pow') return [[0.25, 2], [-2, 2]];
  if (op === 'div') return [[-2, 2], [0.5, 2]];
  return [[-2, 2], [-2, 2]];
}

// Broadcasting on every axis, rank extension, 0-d operands, and sizes that are not multiples of 256 or 4.
const SHAPES: [number[], number[]][] = [
  [[3, 7, 33], [3, 7, 33]],
  [[], []],
  [[], [7, 33]],
  [[7, 33], []],
  [[3, 1, 33], [1, 7, 1]],
  [[65], [3, 1, 65]],
  [[3, 7, 1], [7, 33]],
  [[1], [257]],
];

const DIFFERENTIABLE = (Object.keys(BINARY) as BinaryName[]).filter((op) => 'bwd' in BINARY[op]);
const COMPARISONS = (Object.keys(BINARY) as BinaryName[]).filter((op) => !('bwd' in BINARY[op]));

describe('binary ops against the float64 reference', () => {
  for (const op of DIFFERENTIABLE) {
    it(`${op}: broadcasting on every axis, 0-d and strided operands, gradients`, async () => {
      const [ra, rb] = ranges(op);
      for (const [sa, sb] of SHAPES) {
        await checkOp(`${op} [${sa}] [${sb}]`, {
          inputs: [{ shape: sa, range: ra }, { shape: sb, range: rb }],
          engine: call(op),
          reference: (a, b) => binaryRef(op, a, b),
          grad: true,
        });
      }
      await checkOp(`${op} of transposed and sliced views`, {
        inputs: [{ shape: [33, 7], range: ra }, { shape: [7, 40], range: rb }],
        engine: (a, b) => call(op)(a.transpose(0, 1), b.slice(1, 4, 37)),
        reference: (a, b) => binaryRef(op, transposeRef(a, 0, 1), sliceRef(b, 1, 4, 37)),
        grad: true,
      });
      await checkOp(`${op} with a number operand`, {
        inputs: [{ shape: [5, 9], range: ra }],
        engine: (a) => (a as unknown as Record<string, (b: number) => Tensor>)[op](op === 'div' ? 1.5 : 0.75),
        reference: (a) => binaryRef(op, a, refOf(op === 'div' ? 1.5 : 0.75)),
        grad: true,
      });
    });
  }

  it('rank 8 (the most the kernels index) with broadcasting on alternate axes; rank 9 is an error', async () => {
    await checkOp('mul rank 8', {
      inputs: [[2, 1, 2, 1, 2, 1, 2, 3], [1, 2, 1, 2, 1, 2, 1, 3]],
      engine: (a, b) => a.mul(b),
      reference: (a, b) => binaryRef('mul', a, b),
      grad: true,
    });
    expect(() => zeros([1, 1, 1, 1, 1, 1, 1, 1, 2])).toThrow('full: rank 9 exceeds the supported maximum of 8');
  });

  it('the same tensor on both sides gets both gradients', async () => {
    await checkOp('x + x', { inputs: [[4, 5]], engine: (x) => x.add(x), reference: (x) => addRef(x, x), grad: true });
    await checkOp('x * x', { inputs: [[4, 5]], engine: (x) => x.mul(x), reference: (x) => mulRef(x, x), grad: true });
  });

  it('number on the left', async () => {
    await checkOp('2 + x', { inputs: [[3, 4]], engine: (x) => add(2, x), reference: (x) => addRef(refOf(2), x), grad: true });
    await checkOp('2 * x', { inputs: [[3, 4]], engine: (x) => mul(2, x), reference: (x) => mulRef(refOf(2), x), grad: true });
  });

  it('pow follows NumPy at special points (negative bases, zero, fractional exponents)', async () => {
    const a = ref([8], [-2, -2, 0, 0, 0, 4, -3, 1]);
    const b = ref([8], [3, 0.5, 0, -1, 2, 0.5, 2, 1e6]);
    await checkOp('pow special values', { inputs: [a, b], engine: (x, y) => x.pow(y), reference: (x, y) => binaryRef('pow', x, y), rtol: 1e-6 });
    await checkOp('powScalar special values', {
      inputs: [ref([4], [-2, 0, 3, -0.5])],
      engine: (x) => x.pow(-1),
      reference: (x) => binaryRef('pow', x, refOf(-1)),
      rtol: 1e-6,
    });
  });

  // Values printed by PyTorch 1.13 (float64) for the same inputs: its derivatives.yaml rules at the edges.
  it('gradients at the edges are PyTorch\'s: pow at 0^0 and negative bases, ties and NaN of maximum/minimum, div by 0', async () => {
    const grads = async (op: BinaryName, a: number[], b: number[]): Promise<[number[], number[]]> => {
      const [x, y] = [tensor(a, [a.length], { requiresGrad: true }), tensor(b, [b.length], { requiresGrad: true })];
      await call(op)(x, y).sum().backward();
      return [[...(await x.grad!.data())], [...(await y.grad!.data())]];
    };
    const [pa, pb] = await grads('pow', [0, 0, 0, 0, -2, -2, 2, 0], [0, 2, -1, 0.5, 3, 0.5, 0, 1]);
    expect(pa).toEqual([0, 0, -Infinity, Infinity, 12, NaN, 0, 1]);
    expect(pb.slice(0, 6)).toEqual([0, 0, -Infinity, 0, NaN, NaN]);
    expect(pb[6]).toBeCloseTo(Math.log(2), 6);
    expect(pb[7]).toBe(0);
    expect(await grads('maximum', [1, 1, NaN, 2, NaN], [1, 2, 1, NaN, NaN])).toEqual([[0.5, 0, 1, 1, 1], [0.5, 1, 1, 1, 1]]);
    expect(await grads('minimum', [1, 1, NaN, 2, NaN], [1, 2, 1, NaN, NaN])).toEqual([[0.5, 1, 1, 1, 1], [0.5, 0, 1, 1, 1]]);
    expect(await grads('div', [0, 1, 0], [0, 0, 2])).toEqual([[Infinity, Infinity, 0.5], [NaN, -Infinity, -0]]);
  });

  it('maximum/minimum propagate NaN', async () => {
    const a = ref([4], [NaN, 1, NaN, -1]);
    const b = ref([4], [0, NaN, NaN, 2]);
    for (const op of ['maximum', 'minimum'] as const) {
      await checkOp(`${op} NaN`, { inputs: [a, b], engine: call(op), reference: (x, y) => binaryRef(op, x, y) });
    }
  });

  for (const op of COMPARISONS) {
    it(`${op}: exact ties, broadcasting, number operand`, async () => {
      const rng = makeRng(3);
      for (const [sa, sb] of SHAPES) {
        await checkOp(`${op} [${sa}] [${sb}]`, {
          inputs: [randomIntRef(rng, sa, -2, 2), randomIntRef(rng, sb, -2, 2)],
          engine: call(op),
          reference: (a, b) => binaryRef(op, a, b),
          atol: 0,
          rtol: 0,
        });
      }
      await checkOp(`${op} number`, {
        inputs: [randomIntRef(rng, [4, 6], -2, 2)],
        engine: (a) => (a as unknown as Record<string, (b: number) => Tensor>)[op](1),
        reference: (a) => binaryRef(op, a, refOf(1)),
        atol: 0,
        rtol: 0,
      });
    });
  }
});

describe('where', () => {
  it('selects with broadcasting over all three operands; cond gets no gradient', async () => {
    const rng = makeRng(5);
    const cases: [number[], number[], number[]][] = [
      [[3, 7, 33], [3, 7, 33], [3, 7, 33]],
      [[3, 1, 33], [7, 1], [33]],
      [[], [4, 5], [1, 5]],
      [[6, 1], [], [6, 9]],
    ];
    for (const [sc, sa, sb] of cases) {
      // Any nonzero value counts as true.
      const cond = ref(sc, Array.from(randomIntRef(rng, sc, -1, 1).data, (v) => v * 0.5));
      const input: InputSpec[] = [{ value: cond, grad: false }, sa, sb];
      await checkOp(`where [${sc}] [${sa}] [${sb}]`, { inputs: input, engine: where, reference: whereRef, grad: true });
    }
  });

  it('reads strided views', async () => {
    await checkOp('where of views', {
      inputs: [{ value: ref([4, 3], [1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1]), grad: false }, [3, 4], [4, 8]],
      engine: (c, a, b) => where(c, a.transpose(0, 1), b.slice(1, 2, 5)),
      reference: (c, a, b) => whereRef(c, transposeRef(a, 0, 1), sliceRef(b, 1, 2, 5)),
      grad: true,
    });
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { div, init, pow, sub, tensor, type Tensor } from '../../src/index.js';
import { UNARY, type UnaryName } from '../../src/ops/elementwise-table.js';
import { unary } from '../../src/ops/unary.js';
import { checkOp } from '../helpers/check-op.js';
import { unaryRef } from '../reference/elementwise.js';
import { ref, type RefTensor } from '../reference/ref-tensor.js';
import { sliceRef, transposeRef } from '../reference/shape.js';

interface Case {
  run: (x: Tensor) => Tensor;
  ref: (x: RefTensor) => RefTensor;
  grad: boolean;
  range?: [number, number];
  /** Smooth (and finite in float32) far from 0, so it is also checked at ±20 and ±100. */
  extremes?: boolean;
  atol?: number;
  rtol?: number;
}

const simple = (op: UnaryName, extremes = false, range?: [number, number]): Case => ({
  run: (x) => (x as unknown as Record<string, () => Tensor>)[op](),
  ref: (x) => unaryRef(op, x),
  grad: 'bwd' in UNARY[op],
  range,
  extremes,
});
const POS: [number, number] = [0.25, 2];

// Typed by the engine's op names: a new unary op without a case here fails to typecheck.
const CASES: Record<UnaryName, Case> = {
  neg: simple('neg', true),
  exp: simple('exp'),
  log: simple('log', false, POS),
  sqrt: simple('sqrt', false, POS),
  rsqrt: simple('rsqrt', false, POS),
  abs: simple('abs', true),
  sign: simple('sign', true),
  square: simple('square'),
  reciprocal: simple('reciprocal', false, POS),
  sin: simple('sin'),
  cos: simple('cos'),
  tanh: simple('tanh', true),
  sigmoid: simple('sigmoid', true),
  relu: simple('relu', true),
  silu: simple('silu', true),
  // The engine's erf (Abramowitz & Stegun 7.1.26) is good to 1.5e-7 absolute.
  gelu: { ...simple('gelu', true), atol: 3e-6 },
  geluTanh: { run: (x) => x.gelu('tanh'), ref: (x) => unaryRef('geluTanh', x), grad: true, extremes: true },
  softplus: simple('softplus', true),
  isfinite: simple('isfinite', true),
  wrapPhase: { run: (x) => unary('wrapPhase', x.mul(5)), ref: (x) => unaryRef('wrapPhase', unaryRef('mulScalar', x, [5])), grad: true },
  powScalar: { run: (x) => pow(x, 2.5), ref: (x) => unaryRef('powScalar', x, [2.5]), grad: true, range: POS },
  clamp: { run: (x) => x.clamp(-0.5, 0.75), ref: (x) => unaryRef('clamp', x, [-0.5, 0.75]), grad: true, extremes: true },
  addScalar: { run: (x) => x.add(0.3), ref: (x) => unaryRef('addScalar', x, [0.3]), grad: true, extremes: true },
  mulScalar: { run: (x) => x.mul(-1.25), ref: (x) => unaryRef('mulScalar', x, [-1.25]), grad: true, extremes: true },
  rsubScalar: { run: (x) => sub(3, x), ref: (x) => unaryRef('rsubScalar', x, [3]), grad: true, extremes: true },
  rdivScalar: { run: (x) => div(1.7, x), ref: (x) => unaryRef('rdivScalar', x, [1.7]), grad: true, range: POS },
};

beforeAll(async () => {
  await init();
});

describe('unary ops against the float64 reference', () => {
  it('covers every op of the table', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(UNARY).sort());
  });

  for (const [op, c] of Object.entries(CASES) as [UnaryName, Case][]) {
    it(`${op}: 0-d, 1-d, 3-d and strided views`, async () => {
      const base = { grad: c.grad, inputRange: c.range, atol: c.atol, rtol: c.rtol };
      for (const shape of [[], [1], [257], [3, 7, 33]]) {
        await checkOp(`${op} [${shape}]`, { ...base, inputs: [shape], engine: c.run, reference: c.ref });
      }
      await checkOp(`${op} of a transposed view`, {
        ...base,
        inputs: [[33, 7]],
        engine: (x) => c.run(x.transpose(0, 1)),
        reference: (x) => c.ref(transposeRef(x, 0, 1)),
      });
      await checkOp(`${op} of a sliced view`, {
        ...base,
        inputs: [[7, 65]],
        engine: (x) => c.run(x.slice(1, 5, 60)),
        reference: (x) => c.ref(sliceRef(x, 1, 5, 60)),
      });
    });
  }

  const EXTREMES = [-100, -20, -3, -1e-3, 1e-3, 3, 20, 100];
  for (const [op, c] of Object.entries(CASES) as [UnaryName, Case][]) {
    if (!c.extremes) continue;
    it(`${op}: stays finite and correct at ±20 and ±100`, async () => {
      await checkOp(`${op} extremes`, { inputs: [ref([8], EXTREMES)], engine: c.run, reference: c.ref, grad: c.grad, atol: c.atol ?? 1e-5 });
    });
  }

  // sign(NaN) is left out: WGSL's sign gives 0 there (as PyTorch does), NumPy NaN; the engine promises neither.
  // Values printed by PyTorch 1.13 for the same inputs.
  it('gradients at the edges are PyTorch\'s: x^0 (0 included), relu at 0 and NaN, sqrt/rsqrt/reciprocal/log at 0', async () => {
    const grad = async (xs: number[], f: (t: Tensor) => Tensor): Promise<number[]> => {
      const t = tensor(xs, [xs.length], { requiresGrad: true });
      await f(t).sum().backward();
      return [...(await t.grad!.data())];
    };
    expect(await grad([0, 2, -3], (t) => pow(t, 0))).toEqual([0, 0, 0]);
    const half = await grad([0, 2, -3], (t) => pow(t, 0.5));
    expect([half[0], half[2]]).toEqual([Infinity, NaN]);
    expect(half[1]).toBeCloseTo(0.5 / Math.sqrt(2), 6);
    expect(await grad([NaN, 0, 1, -1], (t) => t.relu())).toEqual([1, 0, 1, 0]);
    expect(await grad([NaN, 0, 1, 2], (t) => t.clamp(0, 1))).toEqual([0, 1, 1, 0]);
    expect(await grad([NaN, 0, 1], (t) => t.abs())).toEqual([0, 0, 1]);
    expect(await grad([0, -1], (t) => t.sqrt())).toEqual([Infinity, NaN]);
    expect(await grad([0, -1], (t) => t.log())).toEqual([Infinity, -1]);
    expect(await grad([0], (t) => t.rsqrt())).toEqual([-Infinity]);
    expect(await grad([0], (t) => t.reciprocal())).toEqual([-Infinity]);
    expect(await grad([-Infinity, Infinity], (t) => t.tanh())).toEqual([0, 0]);
    expect(await grad([-Infinity, Infinity], (t) => t.sigmoid())).toEqual([0, 0]);
    expect(await grad([-Infinity, Infinity, NaN, 30], (t) => t.softplus())).toEqual([0, 1, NaN, 1]);
  });

  it('special values: isfinite, exp/log overflow, sqrt of negatives, infinities', async () => {
    const special = ref([8], [Infinity, -Infinity, NaN, 3.4028234663852886e38, -1, 0, 1e-30, 88.8]);
    for (const op of ['isfinite', 'exp', 'log', 'sqrt', 'abs', 'neg', 'relu', 'clamp', 'tanh', 'sigmoid'] as const) {
      await checkOp(`${op} special values`, { inputs: [special], engine: CASES[op].run, reference: CASES[op].ref, rtol: 1e-5 });
    }
  });
});

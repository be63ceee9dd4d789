/**
 * conv2d and fused attention with float16 operands against the float64 reference, on every kernel path. Inputs
 * are drawn on the f16 grid (so toFloat16() is exact) and the reference rounds them the same way; the tolerances
 * then measure only the kernels' f32 sums, the one rounding of an f16 output and, for gradients, the f16
 * rounding of the upstream gradient.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, getDevice, init, ones, scaledDotProductAttention, setAttentionKernel, setConv2dPath, tensor, type Conv2dPath, type Tensor } from '../../src/index.js';
import { setConv2dPackBudget, subgroupUnsupported } from '../../src/ops/conv2d-plan.js';
import { checkOp } from '../helpers/check-op.js';
import { makeRng, randomRef, seedOf } from '../helpers/random.js';
import { attentionRef } from '../reference/attention.js';
import { conv2dRef, type ConvRefOptions } from '../reference/conv.js';
import { f16Grid, roundF16Ref } from '../reference/float16.js';
import type { RefTensor } from '../reference/ref-tensor.js';
import { float16SuitesRun } from '../helpers/float16.js';

const runs = await float16SuitesRun();
beforeAll(async () => {
  await init();
});
afterEach(() => {
  setConv2dPath('auto');
  setConv2dPackBudget(null);
  setAttentionKernel('auto');
});

/** f32 output: only the f32 accumulation differs; f16 output: one rounding (2^-11 relative). */
const F32_OUT = { atol: 1e-4, rtol: 1e-4 };
const F16_OUT = { atol: 2e-4, rtol: 1e-3 };
/** Gradients of an f32 output: f16 operands, f32 upstream gradient, the gradient rounded once to its input's type. */
const GRAD = { gradAtol: 4e-3, gradRtol: 4e-3 };
/**
 * Gradients of an f16 output: the upstream gradient itself is rounded to f16 (the reference does not model that),
 * an error of ~2^-11·|g|·|w| per term growing with √K: looser, still far below what a wrong index would give.
 */
const GRAD_F16_OUT = { gradAtol: 1.5e-2, gradRtol: 1e-2 };

interface ConvCase {
  x: number[];
  w: number[];
  bias?: boolean;
  o?: ConvRefOptions;
}
const CONV_CASES: Record<string, ConvCase> = {
  '3x3 pad 1, 3->5, batch 2, 7x9': { x: [2, 3, 7, 9], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
  '1x1 (GEMM), 5->12': { x: [2, 5, 6, 5], w: [12, 5, 1, 1], bias: true },
  'stride 2, 13x11, 4->9': { x: [2, 4, 13, 11], w: [9, 4, 3, 3], o: { stride: 2, padding: 1 } },
  'groups 2': { x: [1, 6, 7, 6], w: [20, 3, 3, 3], bias: true, o: { groups: 2, padding: 1 } },
  '37->33 channels (past a tile)': { x: [1, 37, 5, 5], w: [33, 37, 3, 3], bias: true, o: { padding: 1 } },
};

function gridInputs(name: string, c: ConvCase): { value: RefTensor }[] {
  const rng = makeRng(seedOf(name));
  const shapes = c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w];
  return shapes.map((s) => ({ value: f16Grid(randomRef(rng, s, -2, 2)) }));
}

/** An f16 leaf tensor that requires a gradient. */
function f16Leaf(r: RefTensor): Tensor {
  const wide = tensor(Float32Array.from(r.data), r.shape);
  const t = wide.toFloat16();
  wide.dispose();
  t.requiresGrad = true;
  return t;
}

describe.runIf(runs)('conv2d with float16 operands', () => {
  const paths: Conv2dPath[] = ['portable', 'auto'];
  beforeAll(() => {
    if (!subgroupUnsupported(getDevice())) paths.unshift('igemm');
  });
  for (const [name, c] of Object.entries(CONV_CASES)) {
    it(`${name}: f16 x and w (f32 and f16 outputs, f32 bias) with gradients, on every path`, async () => {
      for (const p of paths) {
        setConv2dPath(p);
        const ref = (x: RefTensor, w: RefTensor, b?: RefTensor) => conv2dRef(roundF16Ref(x), roundF16Ref(w), b ?? null, c.o);
        await checkOp(`f16 conv2d ${name} [${p}] f32 out`, {
          inputs: gridInputs(name, c),
          engine: (x, w, b) => conv2d(x.toFloat16(), w.toFloat16(), b, { ...(c.o as object), dtype: 'float32' }),
          reference: ref,
          grad: true,
          ...F32_OUT,
          ...GRAD,
        });
        await checkOp(`f16 conv2d ${name} [${p}] f16 out`, {
          inputs: gridInputs(name, c),
          engine: (x, w, b) => conv2d(x.toFloat16(), w.toFloat16(), b, c.o as never).toFloat32(),
          reference: ref,
          grad: true,
          ...F16_OUT,
          ...GRAD_F16_OUT,
        });
      }
    });
  }

  it('mixed operands: f32 input with an f16 weight, and an f16 bias; dtypes of the outputs and gradients', async () => {
    const c = CONV_CASES['3x3 pad 1, 3->5, batch 2, 7x9'];
    await checkOp('f32 x, f16 w and b', {
      inputs: gridInputs('mixed', c),
      engine: (x, w, b) => conv2d(x, w.toFloat16(), b!.toFloat16(), c.o as never),
      reference: (x, w, b) => conv2dRef(x, roundF16Ref(w), roundF16Ref(b!), c.o),
      grad: true,
      ...F32_OUT,
      ...GRAD,
    });
    const rng = makeRng(1);
    const [x, w] = [randomRef(rng, c.x), randomRef(rng, c.w)].map(f16Leaf);
    const y = conv2d(x, w, null, c.o as never);
    expect(y.dtype).toBe('float16');
    const one = ones(y.shape);
    const g = one.toFloat16();
    await y.backward({ grad: g });
    expect(x.grad!.dtype).toBe('float16');
    expect(w.grad!.dtype).toBe('float16');
    for (const t of [x, w, y, one, g]) t.dispose();
  });

  it('chunked packing (a small pack budget) gives the same f16 results', async () => {
    const c: ConvCase = { x: [3, 9, 9, 7], w: [10, 9, 3, 3], bias: true, o: { padding: 1, stride: [2, 1] } };
    if (subgroupUnsupported(getDevice())) return;
    setConv2dPath('igemm');
    setConv2dPackBudget(1300);
    await checkOp('f16 conv2d chunked', {
      inputs: gridInputs('chunked', c),
      engine: (x, w, b) => conv2d(x.toFloat16(), w.toFloat16(), b, { ...(c.o as object), dtype: 'float32' }),
      reference: (x, w, b) => conv2dRef(roundF16Ref(x), roundF16Ref(w), b ?? null, c.o),
      grad: true,
      ...F32_OUT,
      ...GRAD,
    });
  });
});

describe.runIf(runs)('fused attention with float16 q, k, v', () => {
  const kernels = ['portable', 'auto'] as const;
  const cases: [number, number, number, number, number, number][] = [
    [1, 2, 7, 7, 8, 8],
    [2, 2, 33, 77, 8, 40],
    [1, 1, 64, 64, 40, 40],
  ];
  for (const k of kernels) {
    it(`${k} kernels: forward (f16 and f32 outputs) against the reference, gradients through the f32 backward`, async () => {
      setAttentionKernel(k);
      for (const [B, H, Lq, Lk, Dk, Dv] of cases) {
        const name = `f16 attention ${k} B${B} H${H} Lq${Lq} Lk${Lk} Dk${Dk} Dv${Dv}`;
        const rng = makeRng(seedOf(name));
        const inputs = () => [[B, H, Lq, Dk], [B, H, Lk, Dk], [B, H, Lk, Dv]].map((s) => ({ value: f16Grid(randomRef(rng, s, -2, 2)) }));
        const ref = (q: RefTensor, kk: RefTensor, v: RefTensor) => attentionRef(roundF16Ref(q), roundF16Ref(kk), roundF16Ref(v));
        await checkOp(`${name} f32 out`, {
          inputs: inputs(),
          engine: (q, kk, v) => scaledDotProductAttention(q.toFloat16(), kk.toFloat16(), v.toFloat16(), { dtype: 'float32' }),
          reference: ref,
          grad: true,
          atol: 1e-4,
          rtol: 1e-3,
          ...GRAD,
        });
        await checkOp(`${name} f16 out`, {
          inputs: inputs(),
          engine: (q, kk, v) => scaledDotProductAttention(q.toFloat16(), kk.toFloat16(), v.toFloat16()).toFloat32(),
          reference: ref,
          grad: false,
          ...F16_OUT,
        });
      }
    });
  }
});

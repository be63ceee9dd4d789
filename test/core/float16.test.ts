/**
 * float16 storage: the casts (values, specials, rounding, memory, autograd), elementwise ops and reductions on f16
 * tensors, and matmul with f16 operands (every kernel, f16 and f32 outputs, mixed operands, views, batches)
 * against the float64 reference computed on the same f16-rounded inputs, so the tolerances measure only the
 * kernels' f32 accumulation and the one rounding of an f16 output.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { configureMatmulAutotune, init, liveStats, matmul, matmulRaw, tensor, tidy, type MatmulConfig, type Tensor } from '../../src/index.js';
import { f32BitsToF16Bits, f16BitsToF32Bits } from '../../src/io/half.js';
import { checkOp, expectClose } from '../helpers/check-op.js';
import { float16SuitesRun } from '../helpers/float16.js';
import { makeRng, randomRef, seedOf } from '../helpers/random.js';
import { matmulRef } from '../reference/matmul.js';
import { f16Grid, roundF16Ref } from '../reference/float16.js';
import { addRef, mulRef, unaryRef } from '../reference/elementwise.js';
import { sumRef } from '../reference/reduce.js';
import { transposeRef } from '../reference/shape.js';
import type { RefTensor } from '../reference/ref-tensor.js';

const runs = await float16SuitesRun();
beforeAll(async () => {
  await init();
  configureMatmulAutotune({ onFirstUse: 'nothing' });
});

/** One f16 rounding of a result: half an f16 ulp relative (2^-11), plus a little for the f32 sum before it. */
const F16_OUT = { atol: 1e-4, rtol: 1e-3 };
/** f32 output of f16 inputs: only the f32 accumulation differs from the reference on the same inputs. */
const F32_OUT = { atol: 1e-4, rtol: 1e-4 };

const f16 = (x: number) => f16BitsToF32Bits(f32BitsToF16Bits(new Uint32Array(new Float32Array([x]).buffer)[0]));
const f32OfBits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0];

function gpu(r: RefTensor): Tensor {
  return tensor(Float32Array.from(r.data), r.shape);
}

describe.runIf(runs)('casts', () => {
  it('toFloat16 / toFloat32 keep f16 values, round to nearest even, overflow to Infinity, keep NaN and subnormals', async () => {
    const vals = [0, -0, 1, -2.5, 65504, 65520, 1e5, -1e6, 6e-8, 2 ** -24, 2 ** -25 * 1.5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, NaN, Infinity, -Infinity];
    const x = tensor(vals);
    const h = x.toFloat16();
    expect(h.dtype).toBe('float16');
    const back = await h.data();
    vals.forEach((v, i) => {
      const want = f32OfBits(f16BitsToF32Bits(f32BitsToF16Bits(new Uint32Array(new Float32Array([v]).buffer)[0])));
      if (Number.isNaN(v)) expect(back[i], `f16(${v})`).toBeNaN();
      else expect(back[i], `f16(${v})`).toBe(want);
    });
    const w = h.toFloat32();
    expect(w.dtype).toBe('float32');
    expect(Array.from(await w.data()).slice(0, 4)).toEqual([0, -0, 1, -2.5]);
    for (const t of [x, h, w]) t.dispose();
  });

  it('rounds random float32 values exactly as the host encoder does', async () => {
    const rng = makeRng(seedOf('f16 rounding'));
    const host = Float32Array.from({ length: 4099 }, () => (rng.next() - 0.5) * 2 ** rng.int(40) * 2 ** -20);
    const x = tensor(host);
    const h = x.toFloat16();
    const got = await h.data();
    for (let i = 0; i < host.length; i++) if (got[i] !== f32OfBits(f16BitsToF32Bits(f32BitsToF16Bits(new Uint32Array(host.buffer)[i])))) expect(got[i], `f16(${host[i]})`).toBe(f16(host[i]));
    x.dispose();
    h.dispose();
  });

  it('an f16 tensor takes half the bytes, and casting to the same type is free', () => {
    const x = tensor(new Float32Array(1024), [32, 32]);
    const before = liveStats.bytes;
    const h = x.toFloat16();
    expect(liveStats.bytes - before).toBe(2048);
    expect(h.toFloat16()).toBe(h);
    expect(x.toFloat32()).toBe(x);
    x.dispose();
    h.dispose();
  });

  it('gradients pass through the casts in the input type', async () => {
    await checkOp('f32 -> f16 -> f32 chain', {
      inputs: [[3, 7]],
      engine: (x) => x.toFloat16().mul(x.toFloat16()).toFloat32(),
      reference: (x) => mulRef(roundF16Ref(x), roundF16Ref(x)),
      grad: true,
      ...F16_OUT,
      gradAtol: 2e-3,
      gradRtol: 2e-3,
    });
    const x = tensor([[1, 2, 3]], { requiresGrad: true });
    const y = tidy(() => x.toFloat16().sum().toFloat32());
    await y.backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(Array.from(await x.grad!.data())).toEqual([1, 1, 1]);
    y.dispose();
    x.grad!.dispose();
    x.dispose();
  });

  it('int32 tensors are not cast', () => {
    const x = tensor([1, 2]);
    expect(() => x.toDtype('int32')).toThrow(/float32 <-> float16/);
    x.dispose();
  });
});

describe.runIf(runs)('elementwise ops and reductions on float16', () => {
  it('f16 op f16 gives f16 (computed in f32, rounded once); f16 op f32 gives f32', async () => {
    const rng = makeRng(seedOf('f16 elementwise'));
    const [ra, rb] = [f16Grid(randomRef(rng, [5, 9], -3, 3)), f16Grid(randomRef(rng, [9], -3, 3))];
    const [a, b] = [gpu(ra), gpu(rb)];
    const [ah, bh] = [a.toFloat16(), b.toFloat16()];
    const y = ah.add(bh).relu();
    expect(y.dtype).toBe('float16');
    expectClose('relu(a + b) in f16', await y.data(), unaryRef('relu', addRef(ra, rb)), F16_OUT);
    const m = ah.mul(b);
    expect(m.dtype).toBe('float32');
    expectClose('f16 * f32', await m.data(), mulRef(ra, rb), F32_OUT);
    const s = ah.sum(1);
    expect(s.dtype).toBe('float16');
    expectClose('sum of f16 rows (f32 accumulation)', await s.data(), sumRef(ra, [1]), F16_OUT);
    const c = ah.T.contiguous();
    expect(c.dtype).toBe('float16');
    expectClose('transposed f16 copy', await c.data(), transposeRef(ra), { atol: 0, rtol: 0 });
    for (const t of [a, b, ah, bh, y, m, s, c]) t.dispose();
  });
});

describe.runIf(runs)('matmul with float16 operands against the float64 reference', () => {
  const CONFIGS: MatmulConfig[] = [
    { kernel: 'general', TM: 4, TN: 4, WX: 8, WY: 8 },
    { kernel: 'general', TM: 3, TN: 5, WX: 4, WY: 16 },
    { kernel: 'subgroup', NR: 4 },
    { kernel: 'subgroup', NR: 1 },
    { kernel: 'tiled', TS: 4 },
  ];
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 33, 65],
    [33, 64, 9],
    [64, 100, 48],
  ];
  for (const cfg of CONFIGS) {
    it(`${cfg.kernel} ${JSON.stringify(cfg)}: f16 x f16 -> f16 and f32, f16 x f32, transposed views`, async () => {
      const rng = makeRng(seedOf(`f16 matmul ${JSON.stringify(cfg)}`));
      for (const [M, K, N] of shapes) {
        const ra = f16Grid(randomRef(rng, [M, K], -2, 2));
        const rb = f16Grid(randomRef(rng, [K, N], -2, 2));
        const want = matmulRef(ra, rb);
        const [a, b] = [gpu(ra), gpu(rb)];
        const [ah, bh] = [a.toFloat16(), b.toFloat16()];
        const y16 = matmulRaw(ah, bh, [], cfg);
        expect(y16.dtype).toBe('float16');
        expectClose(`[${M},${K}]x[${K},${N}] f16 out`, await y16.data(), want, F16_OUT);
        const y32 = matmulRaw(ah, bh, [], cfg, 'float32');
        expectClose(`[${M},${K}]x[${K},${N}] f32 out`, await y32.data(), want, F32_OUT);
        const ym = matmulRaw(ah, b, [], cfg);
        expect(ym.dtype).toBe('float32');
        expectClose(`[${M},${K}]x[${K},${N}] f16 x f32`, await ym.data(), want, F32_OUT);
        // Bᵀ stored as [N, K] f16, read through a transposed view (the packers handle the strides).
        const bth = bh.T.contiguous();
        const bv = bth.T;
        const yt = matmulRaw(ah, bv, [], cfg, 'float32');
        expectClose(`[${M},${K}]x[${K},${N}] transposed f16 view`, await yt.data(), want, F32_OUT);
        for (const t of [a, b, ah, bh, y16, y32, ym, bth, bv, yt]) t.dispose();
      }
    });
  }

  it('batched and broadcast f16 products with gradients (f32 master inputs cast in the expression)', async () => {
    const TOLS = { ...F32_OUT, gradAtol: 4e-3, gradRtol: 4e-3 };
    const rng = makeRng(seedOf('f16 matmul grads'));
    const cases: [number[], number[]][] = [
      [[7, 33], [33, 65]],
      [[3, 5, 9], [9, 4]],
      [[2, 1, 7, 3], [4, 3, 6]],
      [[9], [9, 4]],
    ];
    for (const [sa, sb] of cases) {
      await checkOp(`f16 matmul [${sa}] [${sb}] f32 out`, {
        inputs: [{ value: f16Grid(randomRef(rng, sa, -2, 2)) }, { value: f16Grid(randomRef(rng, sb, -2, 2)) }],
        engine: (a, b) => matmul(a.toFloat16(), b.toFloat16(), { dtype: 'float32' }),
        reference: (a, b) => matmulRef(roundF16Ref(a), roundF16Ref(b)),
        grad: true,
        ...TOLS,
      });
      await checkOp(`f16 matmul [${sa}] [${sb}] f16 out`, {
        inputs: [{ value: f16Grid(randomRef(rng, sa, -2, 2)) }, { value: f16Grid(randomRef(rng, sb, -2, 2)) }],
        engine: (a, b) => matmul(a.toFloat16(), b.toFloat16()).toFloat32(),
        reference: (a, b) => matmulRef(roundF16Ref(a), roundF16Ref(b)),
        grad: true,
        ...F16_OUT,
        gradAtol: 4e-3,
        gradRtol: 4e-3,
      });
    }
  });

  it('a large K sums in f32: 4096 products of f16 values', async () => {
    const rng = makeRng(seedOf('f16 long K'));
    const ra = f16Grid(randomRef(rng, [16, 4096], -1, 1));
    const rb = f16Grid(randomRef(rng, [4096, 40], -1, 1));
    const [a, b] = [gpu(ra), gpu(rb)];
    const [ah, bh] = [a.toFloat16(), b.toFloat16()];
    const y = matmul(ah, bh, { dtype: 'float32' });
    // Accumulating in f16 would be off by ~1e-1 here (f16's ulp at the partial sums' size); f32 stays near 1e-4.
    expectClose('K = 4096', await y.data(), matmulRef(ra, rb), { atol: 2e-4, rtol: 1e-4 });
    for (const t of [a, b, ah, bh, y]) t.dispose();
  });
});

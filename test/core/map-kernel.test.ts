/**
 * The index modes of the elementwise template (shaders/map.wgsl): which one `planMap` picks for a view (CONTIG,
 * BAND, WALK; 1 or 4 elements per invocation; vec4 bindings), and each one and its fallbacks against the float64
 * reference — offsets, unaligned views, odd sizes, float16 operands, strided outputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { arange, copyInto, getDevice, init, tensor, where, zeros, type Tensor } from '../../src/index.js';
import { bandOf, planMap, runMap, type MapOperand, type MapPlan } from '../../src/ops/map-kernel.js';
import { contiguousStrides } from '../../src/tensor/shape.js';
import { checkOp, expectClose } from '../helpers/check-op.js';
import { makeRng, randomRef, seedOf } from '../helpers/random.js';
import { addRef, binaryRef, mulRef, subRef, unaryRef, whereRef } from '../reference/elementwise.js';
import { f16Grid, roundF16Ref } from '../reference/float16.js';
import { ref, type RefTensor } from '../reference/ref-tensor.js';
import { identityRef, permuteRef, reshapeRef, sliceRef, transposeRef } from '../reference/shape.js';

beforeAll(async () => {
  await init();
});

const dense = (shape: readonly number[], offset = 0): MapOperand => ({ shape, strides: contiguousStrides(shape), offset });
const view = (shape: readonly number[], strides: readonly number[], offset = 0): MapOperand => ({ shape, strides, offset });

/** The plan a dispatch over these views gets, checked so each GPU case below really runs the path it names. */
function expectPlan(outShape: readonly number[], inputs: readonly MapOperand[], want: Partial<Pick<MapPlan, 'mode' | 'width' | 'vec4'>>, out: MapOperand = dense(outShape)): void {
  const plan = planMap(outShape, out, inputs);
  expect({ mode: plan.mode, width: plan.width, vec4: plan.vec4 }).toMatchObject(want);
}

describe('planMap picks the index mode', () => {
  it('CONTIG when every operand is dense with the output shape; 4 per invocation when the size allows', () => {
    expectPlan([2, 3, 4, 4], [dense([2, 3, 4, 4]), dense([2, 3, 4, 4])], { mode: 'contig', width: 4, vec4: [true, true, true] });
    expectPlan([3, 5, 7], [dense([3, 5, 7])], { mode: 'contig', width: 1, vec4: [false, false] });
    // A dense view at an unaligned offset still runs 4 per invocation, read as scalars.
    expectPlan([8, 4], [dense([8, 4], 1)], { mode: 'contig', width: 4, vec4: [false, true] });
  });

  it('BAND for dense inputs and broadcasts whose element is (i / div) % mod', () => {
    const out = [2, 8, 4, 4];
    expect(bandOf(out, [0, 1, 0, 0])).toEqual([16, 8]); // bias [1,C,1,1]
    expect(bandOf(out, [8, 1, 0, 0])).toEqual([16, 0]); // per sample [N,C,1,1]
    expect(bandOf(out, [128, 16, 4, 1])).toEqual([1, 0]); // dense
    expect(bandOf(out, [0, 0, 0, 0])).toEqual([0, 0]); // one value
    expect(bandOf([6, 10], [0, 1])).toEqual([1, 10]); // row
    expect(bandOf([12, 8], [1, 0])).toEqual([8, 0]); // column
    expect(bandOf([1, 8, 1, 4], [0, 1, 0, 0])).toEqual([4, 0]); // size-1 dimensions are skipped (no wrap needed)
    expect(bandOf([2, 1, 8, 1, 4], [0, 0, 1, 0, 0])).toEqual([4, 8]);
    expect(bandOf(out, [16, 0, 4, 1])).toBeNull(); // [N,1,H,W]: two bands
    expect(bandOf(out, [0, 1, 0, 8])).toBeNull(); // a band that is not dense
    expectPlan(out, [dense(out), dense([1, 8, 1, 1])], { mode: 'band', width: 4, vec4: [true, false, true] });
    expectPlan([6, 12], [dense([6, 12]), dense([12])], { mode: 'band', width: 4, vec4: [true, true, true] });
    // A row of 10 wraps inside a run of 4; a broadcast every 2 elements changes inside one: 1 per invocation.
    expectPlan([6, 10], [dense([6, 10]), dense([10])], { mode: 'band', width: 1, vec4: [false, false, false] });
    expectPlan([3, 5, 1, 2], [dense([3, 5, 1, 2]), dense([1, 5, 1, 1])], { mode: 'band', width: 1 });
  });

  it('WALK for a strided output, two-band broadcasts and transposes; 4 per invocation along a run of 4', () => {
    const out = [2, 8, 4, 4];
    expectPlan(out, [dense(out), dense([2, 1, 4, 4])], { mode: 'walk', width: 4, vec4: [true, true, true] });
    expectPlan([8, 12], [view([8, 12], [1, 8])], { mode: 'walk', width: 4, vec4: [false, true] });
    expectPlan([7, 9], [view([7, 9], [1, 7])], { mode: 'walk', width: 1, vec4: [false, false] });
    // A strided output never takes BAND; a step of 12 between its elements is written as scalars.
    expectPlan([12, 8], [dense([12, 8])], { mode: 'walk', width: 4, vec4: [true, false] }, view([12, 8], [1, 12]));
  });
});

describe('each index mode against the float64 reference', () => {
  it('BAND: bias, per-sample, row, column and scalar broadcasts, with gradients', async () => {
    const cases: [number[], number[]][] = [
      [[2, 8, 4, 4], [1, 8, 1, 1]],
      [[2, 8, 3, 3], [2, 8, 1, 1]],
      [[3, 5, 7, 7], [1, 5, 1, 1]],
      [[6, 12], [12]],
      [[6, 10], [10]],
      [[12, 8], [12, 1]],
      [[4, 4], []],
      [[1, 8, 1, 4], [1, 8, 1, 1]],
    ];
    for (const [sa, sb] of cases) {
      expect(planMap(sa, dense(sa), [dense(sa), dense(sb)]).mode).toBe('band');
      for (const op of ['add', 'mul', 'div'] as const) {
        await checkOp(`${op} [${sa}] [${sb}]`, {
          inputs: [sa, { shape: sb, range: op === 'div' ? [0.5, 2] : [-2, 2] }],
          engine: (a, b) => (a as unknown as Record<string, (b: Tensor) => Tensor>)[op](b),
          reference: (a, b) => binaryRef(op, a, b),
          grad: true,
        });
      }
    }
  });

  it('BAND with offsets: sliced inputs at aligned and unaligned offsets, and a sliced output', async () => {
    // x[1:3] of [3,8,4,4] starts at 128 (aligned, vec4); b[:,1:9] of [1,9,1,1] starts at 1 (a broadcast, read once).
    expectPlan([2, 8, 4, 4], [dense([2, 8, 4, 4], 128), dense([1, 8, 1, 1], 1)], { mode: 'band', width: 4, vec4: [true, false, true] });
    await checkOp('bias add of slices', {
      inputs: [[3, 8, 4, 4], [1, 9, 1, 1]],
      engine: (x, b) => x.slice(0, 1, 3).add(b.slice(1, 1, 9)),
      reference: (x, b) => addRef(sliceRef(x, 0, 1, 3), sliceRef(b, 1, 1, 9)),
      grad: true,
    });
    // A dense input at offset 1 (scalar loads, 4 per invocation) and a row broadcast at offset 3.
    expectPlan([2, 8, 4, 4], [dense([2, 8, 4, 4], 1), dense([4], 3)], { mode: 'band', width: 4, vec4: [false, false, true] });
    await checkOp('unaligned dense input and row', {
      inputs: [[257], [7]],
      engine: (x, r) => x.slice(0, 1, 257).reshape([2, 8, 4, 4]).mul(r.slice(0, 3, 7)),
      reference: (x, r) => mulRef(reshapeRef(sliceRef(x, 0, 1, 257), [2, 8, 4, 4]), sliceRef(r, 0, 3, 7)),
      grad: true,
    });
    // Writing into a dense slice of a larger tensor: the output has an offset too.
    const rng = makeRng(seedOf('band into a slice'));
    const [rx, rb] = [randomRef(rng, [2, 8, 4, 4]), randomRef(rng, [1, 8, 1, 1])];
    const [x, b] = [tensor(Float32Array.from(rx.data), rx.shape), tensor(Float32Array.from(rb.data), rb.shape)];
    const [rows, flat] = [zeros([4, 8, 4, 4]), zeros([257])];
    // Offset 128 (vec4 stores) and offset 1 (scalar stores).
    for (const [outView, vec] of [[rows.slice(0, 1, 3), true], [flat.slice(0, 1, 257).reshape([2, 8, 4, 4]), false]] as [Tensor, boolean][]) {
      expectPlan(outView.shape, [x, b], { mode: 'band', width: 4, vec4: [true, false, vec] }, outView);
      runMap('add', ['a', 'b'], 'a + b', [x, b], outView.shape, { out: outView });
      expectClose(`bias add into a view at offset ${outView.offset}`, await outView.contiguous().data(), addRef(rx, rb), { atol: 1e-6, rtol: 1e-6 });
      outView.dispose();
    }
    for (const t of [x, b, rows, flat]) t.dispose();
  });

  it('three and four inputs: where over broadcasts, and a fused 4-input expression', async () => {
    await checkOp('where(cond [1,8,1,1], a, b [])', {
      inputs: [{ value: ref([1, 8, 1, 1], [1, 0, 0, 1, 1, 0, 1, 0]), grad: false }, [2, 8, 2, 2], []],
      engine: (c, a, b) => where(c, a, b),
      reference: (c, a, b) => whereRef(c, a, b),
    });
    for (const shape of [[2, 8, 2, 2], [3, 5, 3]]) {
      const bias = shape.map((d, i) => (i === 1 ? d : 1));
      expect(planMap(shape, dense(shape), [dense(shape), dense(bias), dense(shape), dense([])]).mode).toBe('band');
      await checkOp(`a * b + c - d over [${shape}]`, {
        inputs: [shape, bias, shape, []],
        engine: (a, b, c, d) => runMap('fma_sub', ['a', 'b', 'c', 'd'], 'a * b + c - d', [a, b, c, d], shape),
        reference: (a, b, c, d) => subRef(addRef(mulRef(a, b), c), d),
      });
    }
  });

  it('WALK: transposes and permutes (4 and 1 per invocation), a two-band broadcast', async () => {
    await checkOp('transpose [12,8] (4 per invocation, strided reads)', { inputs: [[12, 8]], engine: (x) => x.T.contiguous(), reference: (x) => identityRef(transposeRef(x)), grad: true });
    await checkOp('transpose [7,9] (1 per invocation)', { inputs: [[7, 9]], engine: (x) => x.T.contiguous(), reference: (x) => identityRef(transposeRef(x)), grad: true });
    await checkOp('permute [2,4,3,8] -> (0,2,1,3), vec4 reads', {
      inputs: [[2, 4, 3, 8]],
      engine: (x) => x.permute([0, 2, 1, 3]).contiguous(),
      reference: (x) => permuteRef(x, [0, 2, 1, 3]),
      grad: true,
    });
    await checkOp('NCHW -> NHWC [2,12,3,5]', { inputs: [[2, 12, 3, 5]], engine: (x) => x.permute([0, 2, 3, 1]).contiguous(), reference: (x) => permuteRef(x, [0, 2, 3, 1]), grad: true });
    await checkOp('[2,8,4,4] + [2,1,4,4]', { inputs: [[2, 8, 4, 4], [2, 1, 4, 4]], engine: (a, b) => a.add(b), reference: (a, b) => addRef(a, b), grad: true });
    await checkOp('transposed + sliced operands [33,8]', {
      inputs: [[8, 33], [33, 12]],
      engine: (a, b) => a.T.sub(b.slice(1, 2, 10)),
      reference: (a, b) => subRef(transposeRef(a), sliceRef(b, 1, 2, 10)),
      grad: true,
    });
  });

  it('a strided output falls back to WALK (vector reads, scalar writes with a step)', async () => {
    const rng = makeRng(seedOf('strided out'));
    for (const [rows, cols] of [[12, 8], [7, 5]]) {
      const rx = randomRef(rng, [rows, cols]);
      const x = tensor(Float32Array.from(rx.data), rx.shape);
      const dst = zeros([cols, rows]);
      const t = dst.T;
      expect(planMap(t.shape, t, [x]).mode).toBe('walk');
      copyInto(t, x);
      expectClose(`copy [${rows},${cols}] into a transposed view`, await dst.data(), transposeRef(rx), { atol: 0, rtol: 0 });
      runMap('square_into', ['x'], 'x * x', [x], t.shape, { out: t });
      expectClose(`x*x [${rows},${cols}] into a transposed view`, await dst.data(), transposeRef(unaryRef('square', rx)), { atol: 1e-6, rtol: 1e-6 });
      for (const v of [x, dst, t]) v.dispose();
    }
  });

  it('no inputs: fill and arange (the element index) at 4 and 1 per invocation', async () => {
    for (const n of [8, 7, 1024, 1031]) {
      const a = arange(n);
      expectClose(`arange(${n})`, await a.data(), ref([n], Array.from({ length: n }, (_, i) => i)), { atol: 0, rtol: 0 });
      a.dispose();
    }
  });
});

describe('index modes on float16 operands', () => {
  const F16_OUT = { atol: 1e-4, rtol: 1e-3 };
  const grid = (seed: string, shape: number[]): RefTensor => f16Grid(randomRef(makeRng(seedOf(seed)), shape));

  it('f16 x f16 -> f16 and f16 x f32 -> f32 in BAND (vec4<f16> bindings), WALK and CONTIG, odd sizes and offsets', async () => {
    if (!getDevice().hasF16) return;
    const cases: [string, number[], number[], (a: Tensor, b: Tensor) => Tensor, (a: RefTensor, b: RefTensor) => RefTensor][] = [
      ['bias', [2, 8, 4, 4], [1, 8, 1, 1], (a, b) => a.add(b), addRef],
      ['bias odd', [3, 5, 7, 7], [1, 5, 1, 1], (a, b) => a.add(b), addRef],
      ['row', [6, 12], [12], (a, b) => a.mul(b), mulRef],
      ['same shape', [4, 9], [4, 9], (a, b) => a.sub(b), subRef],
      ['two bands', [2, 8, 4, 4], [2, 1, 4, 4], (a, b) => a.add(b), addRef],
      ['slices', [3, 8, 4, 4], [1, 9, 1, 1], (a, b) => a.slice(0, 1, 3).add(b.slice(1, 1, 9)), (a, b) => addRef(sliceRef(a, 0, 1, 3), sliceRef(b, 1, 1, 9))],
    ];
    for (const [name, sa, sb, engine, reference] of cases) {
      const [ra, rb] = [grid(`${name} a`, sa), grid(`${name} b`, sb)];
      await checkOp(`f16 ${name} -> f16`, {
        inputs: [{ value: ra }, { value: rb }],
        engine: (a, b) => engine(a.toFloat16(), b.toFloat16()).toFloat32(),
        reference: (a, b) => roundF16Ref(reference(a, b)),
        ...F16_OUT,
        grad: true,
        gradAtol: 1e-3,
        gradRtol: 1e-2,
      });
      await checkOp(`f16 ${name} x f32 -> f32`, {
        inputs: [{ value: ra }, { value: rb }],
        engine: (a, b) => engine(a.toFloat16(), b),
        reference,
        grad: true,
        gradAtol: 1e-3,
        gradRtol: 1e-2,
      });
    }
  });

  it('f16 copies: transposes and permutes are exact', async () => {
    if (!getDevice().hasF16) return;
    for (const [shape, perm] of [[[12, 8], [1, 0]], [[7, 9], [1, 0]], [[2, 4, 3, 8], [0, 2, 1, 3]], [[2, 12, 3, 5], [0, 2, 3, 1]]] as [number[], number[]][]) {
      await checkOp(`f16 permute [${shape}] (${perm})`, {
        inputs: [{ value: grid(`f16 permute ${shape}`, shape) }],
        engine: (x) => x.toFloat16().permute(perm).contiguous().toFloat32(),
        reference: (x) => permuteRef(x, perm),
        atol: 0,
        rtol: 0,
      });
    }
  });
});

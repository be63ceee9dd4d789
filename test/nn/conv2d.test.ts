import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { init, conv2d, getDevice, nn, randn, setConv2dPath, type Conv2dPath, type Tensor } from '../../src/index.js';
import { empty } from '../../src/tensor/tensor.js';
import { setConv2dPackBudget, subgroupUnsupported, useIgemm } from '../../src/ops/conv2d-plan.js';
import { checkOp } from '../helpers/check-op.js';
import { conv2dRef, type ConvRefOptions } from '../reference/conv.js';
import { binaryRef } from '../reference/elementwise.js';
import type { RefTensor } from '../reference/ref-tensor.js';

beforeAll(async () => {
  await init();
});

afterEach(() => {
  setConv2dPath('auto');
  setConv2dPackBudget(null);
});

interface Case {
  x: number[];
  w: number[];
  bias?: boolean;
  o?: ConvRefOptions;
}

// Odd sizes, channel counts that are not multiples of 4 or of the 32-channel tiles, batch 2.
const CASES: Record<string, Case> = {
  '3x3 pad 1, 3->5 channels, batch 2, 7x9': { x: [2, 3, 7, 9], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
  '1x1 (GEMM), 5->12, batch 2': { x: [2, 5, 6, 5], w: [12, 5, 1, 1], bias: true },
  'stride 2 pad 1, 13x11': { x: [2, 4, 13, 11], w: [9, 4, 3, 3], o: { stride: 2, padding: 1 } },
  '7x7 pad 3': { x: [1, 3, 13, 11], w: [10, 3, 7, 7], bias: true, o: { padding: 3 } },
  'dilation 2': { x: [1, 5, 11, 10], w: [8, 5, 3, 3], o: { dilation: 2, padding: 2 } },
  'pad 0, 1 input channel, batch 3': { x: [3, 1, 5, 7], w: [2, 1, 3, 3] },
  'groups 2': { x: [1, 6, 7, 6], w: [20, 3, 3, 3], bias: true, o: { groups: 2, padding: 1 } },
  depthwise: { x: [2, 5, 5, 6], w: [5, 1, 3, 3], o: { groups: 5, padding: 1 } },
  '37->33 channels (past a tile)': { x: [1, 37, 5, 5], w: [33, 37, 3, 3], bias: true, o: { padding: 1 } },
  'several pixel and channel tiles, batch 2': { x: [2, 40, 9, 10], w: [36, 40, 3, 3], bias: true, o: { padding: 1 } },
  '[h, w] stride, padding, dilation': { x: [1, 3, 9, 8], w: [8, 3, 3, 2], o: { stride: [2, 1], padding: [1, 0], dilation: [1, 2] } },
  'padding past the kernel reach': { x: [1, 2, 5, 6], w: [8, 2, 3, 3], o: { padding: 3 } },
  'stride 3 leaves input rows unused': { x: [1, 3, 10, 11], w: [8, 3, 3, 3], o: { stride: 3 } },
};

// 'auto' adds the 1x1 route through matmul and the per-pass choice between the kernels.
const paths: Conv2dPath[] = ['portable', 'auto'];

async function checkConv(name: string, c: Case): Promise<void> {
  const inputs = c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w];
  await checkOp(`conv2d ${name}`, {
    inputs,
    engine: (x, w, b) => conv2d(x, w, b, c.o as never),
    reference: (x: RefTensor, w: RefTensor, b?: RefTensor) => conv2dRef(x, w, b ?? null, c.o),
    grad: true,
    atol: 1e-4,
    rtol: 1e-4,
  });
}

describe('conv2d', () => {
  beforeAll(() => {
    if (!subgroupUnsupported(getDevice())) paths.unshift('igemm');
  });
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: forward and gradients of x, w, b match the float64 reference on every kernel path`, async () => {
      for (const p of paths) {
        setConv2dPath(p);
        await checkConv(`${name} [${p}]`, c);
      }
    });
  }

  it('chunks by samples and by output rows when the packed input would pass the budget, with the same results', async () => {
    const c: Case = { x: [3, 9, 9, 7], w: [10, 9, 3, 3], bias: true, o: { padding: 1, stride: [2, 1] } };
    setConv2dPath(paths[0]);
    // A packed row is 9 pixels x 12 channels x 4 bytes = 432 bytes and one sample's packed input 11 rows: 10000
    // bytes hold two samples per chunk, 2600 bytes 2 output rows of the forward and 4 of the input gradient.
    for (const budget of [10000, 2600]) {
      setConv2dPackBudget(budget);
      await checkConv(`chunked ${budget}`, c);
    }
  });

  it('adds a residual (full, or per sample and channel) in the kernel, with its gradient, on every path', async () => {
    const add = (a: RefTensor, r: RefTensor) => binaryRef('add', a, r);
    for (const p of paths) {
      setConv2dPath(p);
      await checkOp(`conv2d 3x3 + full residual [${p}]`, {
        inputs: [[2, 6, 5, 7], [8, 6, 3, 3], [8], [2, 8, 5, 7]],
        engine: (x, w, b, r) => conv2d(x, w, b, { padding: 1, residual: r }),
        reference: (x, w, b, r) => add(conv2dRef(x, w, b, { padding: 1 }), r),
        grad: true,
        atol: 1e-4,
        rtol: 1e-4,
      });
      await checkOp(`conv2d 3x3 + [N, C, 1, 1] residual [${p}]`, {
        inputs: [[2, 6, 5, 7], [8, 6, 3, 3], [2, 8, 1, 1]],
        engine: (x, w, r) => conv2d(x, w, null, { padding: 1, residual: r }),
        reference: (x, w, r) => add(conv2dRef(x, w, null, { padding: 1 }), r),
        grad: true,
        atol: 1e-4,
        rtol: 1e-4,
      });
      await checkOp(`conv2d 1x1 + full residual [${p}]`, {
        inputs: [[3, 8, 4, 5], [12, 8, 1, 1], [12], [3, 12, 4, 5]],
        engine: (x, w, b, r) => conv2d(x, w, b, { residual: r }),
        reference: (x, w, b, r) => add(conv2dRef(x, w, b, {}), r),
        grad: true,
        atol: 1e-4,
        rtol: 1e-4,
      });
    }
  });

  it('names the shapes when channels, groups, kernel size or bias are wrong', () => {
    const x = randn([1, 4, 64, 64], { seed: 1 });
    const bad = (w: number[], o: ConvRefOptions = {}, b: Tensor | null = null) => () => {
      const wt = randn(w, { seed: 2 });
      try {
        conv2d(x, wt, b, o as never);
      } finally {
        wt.dispose();
      }
    };
    expect(bad([2, 3, 3, 3])).toThrow('conv2d: weight expects 3 input channels but input has 4 (shape [1,4,64,64]');
    expect(bad([3, 2, 3, 3], { groups: 2 })).toThrow(/groups=2 must divide both input channels \(4.*\) and output channels \(3/);
    expect(bad([4, 4, 3, 3], { groups: 3 })).toThrow(/groups=3 must divide/);
    expect(bad([2, 4, 67, 67], { padding: 1 })).toThrow(/kernel 67x67 .* larger than the padded input 66x66/);
    expect(bad([2, 4, 3, 3], { dilation: 40 })).toThrow(/kernel 3x3 \(dilation 40,40, extent 81x81\) is larger than the padded input 64x64/);
    const b = randn([3], { seed: 3 });
    expect(bad([2, 4, 3, 3], {}, b)).toThrow(/bias must have shape \[2\].*got \[3\]/);
    b.dispose();
    x.dispose();
  });

  it('handles an empty batch', async () => {
    const x = randn([0, 3, 5, 5], { seed: 5 });
    const w = randn([8, 3, 3, 3], { seed: 6 });
    x.requiresGrad = w.requiresGrad = true;
    const y = conv2d(x, w, null, { padding: 1 });
    expect(y.shape).toEqual([0, 8, 5, 5]);
    await y.sum().backward();
    expect(x.grad?.shape).toEqual([0, 3, 5, 5]);
    expect(Array.from(await w.grad!.data()).every((v) => v === 0)).toBe(true);
    for (const t of [x, w, y, x.grad!, w.grad!]) t.dispose();
  });

  it('refuses an output larger than one storage binding, naming the limit and the size', () => {
    const limit = getDevice().limits.maxStorageBufferBindingSize;
    const side = 2 ** Math.floor(Math.log2(Math.sqrt(limit / 4 / 2)));
    const x = empty([1, 1, side, side]);
    // 3×3 (not 1×1, which conv2d hands to matmul) so the refusal is conv2d's on every adapter.
    const w = randn([3, 1, 3, 3], { seed: 4 });
    expect(() => conv2d(x, w, null, { padding: 1 })).toThrow(/conv2d: the output \[1,3,\d+,\d+\] takes [\d.]+ MiB, more than this device's maxStorageBufferBindingSize \(\d+ MiB\)/);
    x.dispose();
    w.dispose();
  });

  it('nn.Conv2d uses PyTorch layout and init bounds', async () => {
    const m = new nn.Conv2d(3, 8, 3, { padding: 1 });
    expect(m.weight.shape).toEqual([8, 3, 3, 3]);
    expect(m.bias?.shape).toEqual([8]);
    const w = await m.weight.data();
    const bound = 1 / Math.sqrt(27);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    const x = randn([2, 3, 5, 5], { seed: 4 });
    const y = m.forward(x);
    expect(y.shape).toEqual([2, 8, 5, 5]);
    const names = m.namedParameters().map(([k]) => k);
    expect(names).toEqual(['weight', 'bias']);
    for (const t of [x, y, m.weight, ...(m.bias ? [m.bias] : [])]) t.dispose();
  });
});

describe('conv2d kernel choice on CPU adapters', () => {
  it('ungrouped convs with few outputs take igemm; grouped ones with few channels per group stay portable', () => {
    const dev = getDevice();
    const a = dev.adapter;
    if (subgroupUnsupported(dev) || !/llvmpipe|lavapipe/i.test(`${a.architecture} ${a.device} ${a.description}`)) return;
    expect([useIgemm(dev, 3, 1), useIgemm(dev, 1, 1), useIgemm(dev, 64, 1)]).toEqual([true, true, true]);
    expect([useIgemm(dev, 1, 5), useIgemm(dev, 4, 8), useIgemm(dev, 10, 2)]).toEqual([false, false, true]);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { init, conv2d, randn, nn, upsampleNearest2d, avgPool2d, timestepEmbedding, tensor } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { conv2dRef, type ConvRefOptions } from '../reference/conv.js';
import { ref, type RefTensor } from '../reference/ref-tensor.js';

beforeAll(async () => {
  await init();
});

interface Case {
  x: number[];
  w: number[];
  bias?: boolean;
  o?: ConvRefOptions;
}

const CASES: Record<string, Case> = {
  '3x3 pad 1': { x: [2, 3, 7, 9], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
  '1x1': { x: [1, 5, 6, 5], w: [3, 5, 1, 1], bias: true },
  'stride 2 pad 1': { x: [2, 4, 9, 8], w: [6, 4, 3, 3], o: { stride: 2, padding: 1 } },
  '7x7 pad 3': { x: [1, 3, 13, 11], w: [4, 3, 7, 7], bias: true, o: { padding: 3 } },
  'dilation 2': { x: [1, 2, 11, 10], w: [3, 2, 3, 3], o: { dilation: 2, padding: 2 } },
  'pad 0 odd': { x: [3, 1, 5, 7], w: [2, 1, 3, 3] },
  'groups 2': { x: [1, 4, 6, 6], w: [6, 2, 3, 3], bias: true, o: { groups: 2, padding: 1 } },
  depthwise: { x: [2, 3, 5, 6], w: [3, 1, 3, 3], o: { groups: 3, padding: 1 } },
  'more channels than a tile': { x: [1, 37, 5, 5], w: [33, 37, 3, 3], bias: true, o: { padding: 1 } },
};

describe('conv2d', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: forward and gradients of x, w, b match the float64 reference`, async () => {
      const inputs = c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w];
      await checkOp(`conv2d ${name}`, {
        inputs,
        engine: (x, w, b) => conv2d(x, w, b, c.o),
        reference: (x: RefTensor, w: RefTensor, b?: RefTensor) => conv2dRef(x, w, b ?? null, c.o),
        grad: true,
        atol: 1e-4,
        rtol: 1e-4,
      });
    });
  }

  it('names the shapes when channels, groups or kernel size are wrong', () => {
    const x = randn([1, 4, 8, 8], { seed: 1 });
    expect(() => conv2d(x, randn([2, 3, 3, 3], { seed: 2 }))).toThrow(/weight expects 3 input channels but input has 4 \(shape \[1,4,8,8\]/);
    expect(() => conv2d(x, randn([3, 2, 3, 3], { seed: 2 }), null, { groups: 2 })).toThrow(/groups=2 must divide/);
    expect(() => conv2d(x, randn([2, 4, 11, 11], { seed: 3 }))).toThrow(/kernel 11x11 .* larger than the padded input 8x8/);
    x.dispose();
  });

  it('nn.Conv2d uses PyTorch layout and init bounds', async () => {
    const m = new nn.Conv2d(3, 8, 3, { padding: 1 });
    expect(m.weight.shape).toEqual([8, 3, 3, 3]);
    const w = await m.weight.data();
    const bound = 1 / Math.sqrt(27);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    const y = m.forward(randn([2, 3, 5, 5], { seed: 4 }));
    expect(y.shape).toEqual([2, 8, 5, 5]);
  });
});

describe('resampling and timestep embedding', () => {
  it('upsampleNearest2d repeats pixels and sums gradients per block', async () => {
    await checkOp('upsample', {
      inputs: [[2, 3, 3, 4]],
      engine: (x) => upsampleNearest2d(x, 2),
      reference: (x) => {
        const [N, C, H, W] = x.shape;
        const y = ref([N, C, 2 * H, 2 * W]);
        for (let i = 0; i < y.data.length; i++) {
          const xx = i % (2 * W), yy = Math.floor(i / (2 * W)) % (2 * H), nc = Math.floor(i / (4 * H * W));
          y.data[i] = x.data[(nc * H + (yy >> 1)) * W + (xx >> 1)];
        }
        return upsampleRefNode(y, x);
      },
      grad: true,
      atol: 1e-6,
      rtol: 1e-6,
    });
  });

  it('avgPool2d averages 2x2 blocks', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
    expect(Array.from(await avgPool2d(x, 2).data())).toEqual([3.5, 5.5, 11.5, 13.5]);
  });

  it('timestepEmbedding equals diffusers get_timestep_embedding (flip_sin_to_cos, shift 0) computed in float64', async () => {
    const ts = [0, 1, 17, 500, 999];
    const dim = 32;
    const e = await timestepEmbedding(ts, dim, { flipSinToCos: true, downscaleFreqShift: 0 }).data();
    const half = dim / 2;
    for (const [r, t] of ts.entries()) {
      for (let i = 0; i < half; i++) {
        const arg = t * Math.exp((-Math.log(10000) * i) / half);
        expect(Math.abs(e[r * dim + i] - Math.cos(arg))).toBeLessThan(2e-4);
        expect(Math.abs(e[r * dim + half + i] - Math.sin(arg))).toBeLessThan(2e-4);
      }
    }
  });
});

function upsampleRefNode(y: RefTensor, x: RefTensor): RefTensor {
  const [, , H, W] = x.shape;
  y.node = {
    op: 'upsample',
    inputs: [x],
    vjp: (g) => {
      const dx = ref(x.shape);
      for (let i = 0; i < g.data.length; i++) {
        const xx = i % (2 * W), yy = Math.floor(i / (2 * W)) % (2 * H), nc = Math.floor(i / (4 * H * W));
        dx.data[(nc * H + (yy >> 1)) * W + (xx >> 1)] += g.data[i];
      }
      return [dx];
    },
  };
  return y;
}

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { init, getDevice, randn, tensor, scaledDotProductAttention, multiHeadAttention, attentionComposite, setAttentionKernel, type Tensor } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { attentionRef } from '../reference/attention.js';
import { permuteRef, reshapeRef } from '../reference/index.js';
import type { RefTensor } from '../reference/ref-tensor.js';
import { makeRng, randomRef } from '../helpers/random.js';

beforeAll(async () => {
  await init();
});
afterEach(() => setAttentionKernel('auto'));

const TOL = { atol: 1e-4, rtol: 1e-3, gradAtol: 2e-4, gradRtol: 2e-3 };

/** Fused attention against the float64 reference: forward and the gradients of q, k and v. */
async function checkAttention(B: number, H: number, Lq: number, Lk: number, Dk: number, Dv: number, grad = true): Promise<void> {
  await checkOp(`attention B${B} H${H} Lq${Lq} Lk${Lk} Dk${Dk} Dv${Dv}`, {
    inputs: [[B, H, Lq, Dk], [B, H, Lk, Dk], [B, H, Lk, Dv]],
    engine: (q, k, v) => scaledDotProductAttention(q, k, v),
    reference: (q, k, v) => attentionRef(q, k, v),
    grad,
    ...TOL,
  });
}

describe('scaledDotProductAttention (fused, this adapter’s kernels)', () => {
  for (const D of [8, 40, 64]) {
    it(`head dim ${D}: self-attention at lengths 1, 7, 64, 300`, async () => {
      for (const L of [1, 7, 64, 300]) await checkAttention(1, 2, L, L, D, D, L !== 300 || D !== 64);
    });
  }

  it('forward and backward at length 300, head dim 64 (gradients against the float64 reference)', async () => {
    await checkAttention(1, 1, 300, 300, 64, 64);
  });

  // Head-dim pairs are limited to (8,8), (40,40), (64,64), (8,40), (5,3): each pair is its own compiled kernel set.
  it('cross-attention: Lk != Lq, v head dim != q/k head dim, batch 2', async () => {
    await checkAttention(2, 2, 33, 77, 8, 40);
    await checkAttention(1, 3, 64, 5, 40, 40);
    await checkAttention(1, 1, 9, 1, 8, 8);
  });

  it('gradient of q alone (frozen k and v: the key-side kernel is skipped)', async () => {
    await checkOp('attention dq only', {
      inputs: [[1, 2, 19, 8], { shape: [1, 2, 23, 8], grad: false }, { shape: [1, 2, 23, 8], grad: false }],
      engine: (q, k, v) => scaledDotProductAttention(q, k, v),
      reference: (q, k, v) => attentionRef(q, k, v),
      grad: true,
      ...TOL,
    });
  });

  it('long query sequences (8 rows per lane on CPU adapters) with a partial last workgroup, forward only', async () => {
    await checkAttention(1, 1, 1030, 37, 8, 8, false);
  });

  it('head dims that are not multiples of 4 (partial vec4 loads and stores)', async () => {
    await checkAttention(2, 1, 13, 10, 5, 3);
  });

  it('explicit scale; strided [B, L, H, D] inputs viewed as [B, H, L, D] without a copy', async () => {
    await checkOp('attention strided', {
      inputs: [[2, 17, 3, 8], [2, 11, 3, 8], [2, 11, 3, 40]],
      engine: (q, k, v) => scaledDotProductAttention(q.permute([0, 2, 1, 3]), k.permute([0, 2, 1, 3]), v.permute([0, 2, 1, 3]), { scale: 0.7 }),
      reference: (q, k, v) => attentionRef(permuteRef(q, [0, 2, 1, 3]), permuteRef(k, [0, 2, 1, 3]), permuteRef(v, [0, 2, 1, 3]), 0.7),
      grad: true,
      ...TOL,
    });
  });

  it('matches the composite (matmul, softmax, matmul) forward and gradients', async () => {
    const q = randn([1, 2, 64, 8]);
    const k = randn([1, 2, 50, 8]);
    const v = randn([1, 2, 50, 40]);
    const g = randn([1, 2, 64, 40]);
    const run = async (f: typeof scaledDotProductAttention) => {
      for (const t of [q, k, v]) t.requiresGrad = true;
      const y = f(q, k, v);
      await y.backward({ grad: g });
      const out = [await y.data(), await q.grad!.data(), await k.grad!.data(), await v.grad!.data()];
      y.dispose();
      for (const t of [q, k, v]) {
        t.grad!.dispose();
        t.grad = null;
      }
      return out;
    };
    const fused = await run(scaledDotProductAttention);
    const composite = await run(attentionComposite);
    fused.forEach((a, i) => {
      let err = 0;
      for (let j = 0; j < a.length; j++) err = Math.max(err, Math.abs(a[j] - composite[i][j]));
      expect(err, ['output', 'dq', 'dk', 'dv'][i]).toBeLessThan(1e-4);
    });
    for (const t of [q, k, v, g]) t.dispose();
  });

  it('the composite itself against the float64 reference', async () => {
    await checkOp('attentionComposite', {
      inputs: [[1, 2, 7, 8], [1, 2, 5, 8], [1, 2, 5, 4]],
      engine: (q, k, v) => attentionComposite(q, k, v),
      reference: (q, k, v) => attentionRef(q, k, v),
      grad: true,
      ...TOL,
    });
  });

  it('heads wider than 128 run through the chunked composite', async () => {
    await checkOp('attention head dim 160', {
      inputs: [[1, 1, 5, 160], [1, 1, 6, 160], [1, 1, 6, 160]],
      engine: (q, k, v) => scaledDotProductAttention(q, k, v),
      reference: (q, k, v) => attentionRef(q, k, v),
      grad: true,
      ...TOL,
    });
  });

  it('errors name all three shapes', () => {
    const q = randn([1, 2, 4, 8]);
    const k = randn([1, 2, 5, 6]);
    const v = randn([1, 2, 5, 8]);
    expect(() => scaledDotProductAttention(q, k, v)).toThrow(/head dimension of k \(6\) differs from q's \(8\); got q \[1,2,4,8\], k \[1,2,5,6\], v \[1,2,5,8\]/);
    const v2 = randn([1, 2, 3, 8]);
    expect(() => scaledDotProductAttention(q, q, v2)).toThrow(/k and v must have the same length.*q \[1,2,4,8\], k \[1,2,4,8\], v \[1,2,3,8\]/);
    const q3 = randn([2, 4, 8]);
    expect(() => scaledDotProductAttention(q3, q3, q3)).toThrow(/must be 4-D \[batch, heads, length, headDim\]/);
    const k2 = randn([1, 1, 5, 8]);
    expect(() => scaledDotProductAttention(q, k2, k2)).toThrow(/batch and heads of k differ from q's/);
    for (const t of [q, k, v, v2, q3, k2]) t.dispose();
  });
});

describe('scaledDotProductAttention (portable kernels, forced)', () => {
  // One head-dim pair only: these kernels are slow to compile on lavapipe, which never picks them itself.
  it('matches the reference: self- and cross-attention, odd lengths, batch 2', async () => {
    setAttentionKernel('portable');
    await checkAttention(1, 2, 7, 7, 8, 8);
    await checkAttention(2, 1, 70, 33, 8, 8);
    await checkAttention(1, 2, 1, 9, 8, 8);
  });
});

describe('scaledDotProductAttention memory', () => {
  it('forward allocates O(L), not O(L²): no score matrix', async () => {
    const dev = getDevice();
    const [B, H, L, D] = [1, 2, 512, 8];
    const q = randn([B, H, L, D]);
    await dev.sync();
    dev.pool.resetPeak();
    const before = dev.memoryStats().liveBytes;
    const y = scaledDotProductAttention(q, q, q);
    await dev.sync();
    const extra = dev.memoryStats().peakLiveBytes - before;
    // Output (32 KiB) and logsumexp (4 KiB); the score matrix alone would be 2 MiB.
    expect(extra).toBeLessThan(64 * 1024);
    for (const t of [q, y]) t.dispose();
  });

  it("runs where the composite's score matrix would exceed maxStorageBufferBindingSize", async () => {
    const dev = getDevice();
    const L = Math.ceil(Math.sqrt(dev.limits.maxStorageBufferBindingSize / 4)) + 64; // one head's L x L floats > the limit
    const D = 4;
    const rng = makeRng(5);
    const [qr, kr, vr, gr] = [randomRef(rng, [1, 1, L, D]), randomRef(rng, [1, 1, L, D]), randomRef(rng, [1, 1, L, D]), randomRef(rng, [1, 1, L, D], -1, 1)];
    const up = (r: { shape: number[]; data: Float64Array }) => tensor(Float32Array.from(r.data), r.shape);
    const [q, k, v, g] = [up(qr), up(kr), up(vr), up(gr)];
    expect(() => attentionComposite(q, k, v)).toThrow(/maxStorageBufferBindingSize/);
    for (const t of [q, k, v]) t.requiresGrad = true;
    const y = scaledDotProductAttention(q, k, v);
    await y.backward({ grad: g });
    const [yd, dq, dv] = [await y.data(), await q.grad!.data(), await v.grad!.data()];
    // Spot rows against float64: output and dQ of a few queries (each needs only its own row of scores).
    const scale = 1 / Math.sqrt(D);
    for (const i of [0, 1234, L - 1]) {
      const s = Array.from({ length: L }, (_, j) => scale * Array.from({ length: D }, (_, c) => qr.data[i * D + c] * kr.data[j * D + c]).reduce((a, b) => a + b));
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b);
      const p = e.map((x) => x / z);
      const dp = Array.from({ length: L }, (_, j) => Array.from({ length: D }, (_, c) => gr.data[i * D + c] * vr.data[j * D + c]).reduce((a, b) => a + b));
      const dd = p.reduce((a, pj, j) => a + pj * dp[j], 0);
      for (let c = 0; c < D; c++) {
        const o = p.reduce((a, pj, j) => a + pj * vr.data[j * D + c], 0);
        const gq = p.reduce((a, pj, j) => a + scale * pj * (dp[j] - dd) * kr.data[j * D + c], 0);
        expect(Math.abs(yd[i * D + c] - o)).toBeLessThan(1e-4);
        expect(Math.abs(dq[i * D + c] - gq)).toBeLessThan(1e-4);
      }
    }
    // Each probability row sums to 1, so Σ_j dV_j = Σ_i dO_i.
    for (let c = 0; c < D; c++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < L; j++) a += dv[j * D + c];
      for (let i = 0; i < L; i++) b += gr.data[i * D + c];
      expect(Math.abs(a - b)).toBeLessThan(1e-2);
    }
    for (const t of [q, k, v] as Tensor[]) {
      t.grad?.dispose();
      t.dispose();
    }
    for (const t of [g, y]) t.dispose();
  });
});

describe('multiHeadAttention (merged heads, no split/merge copies)', () => {
  it('matches the per-head reference, with cross-attention lengths and odd sizes, forward and gradients', async () => {
    const heads = 3;
    const split = (t: RefTensor, d: number) => permuteRef(reshapeRef(t, [t.shape[0], t.shape[1], heads, d]), [0, 2, 1, 3]);
    const merge = (t: RefTensor) => reshapeRef(permuteRef(t, [0, 2, 1, 3]), [t.shape[0], t.shape[2], t.shape[1] * t.shape[3]]);
    await checkOp('multiHeadAttention 2x7 / 2x11, dk 5, dv 4', {
      inputs: [[2, 7, 15], [2, 11, 15], [2, 11, 12]],
      engine: (q, k, v) => multiHeadAttention(q, k, v, heads),
      reference: (q, k, v) => merge(attentionRef(split(q, 5), split(k, 5), split(v, 4), 1 / Math.sqrt(5))),
      grad: true,
      atol: 1e-4,
      rtol: 1e-4,
    });
  });

  it('writes no copies: forward is one launch, backward two', async () => {
    const dev = getDevice();
    const names: string[] = [];
    const orig = dev.dispatch.bind(dev);
    const [q, k, v] = [[2, 16, 32], [2, 16, 32], [2, 16, 32]].map((s, i) => randn(s, { seed: 40 + i, requiresGrad: true }));
    dev.dispatch = (spec) => {
      names.push(spec.name);
      orig(spec);
    };
    let y: Tensor;
    try {
      y = multiHeadAttention(q, k, v, 4);
      await y.backward({ grad: randn([2, 16, 32], { seed: 9 }) });
    } finally {
      dev.dispatch = orig;
    }
    expect(names.filter((n) => n.startsWith('attention'))).toEqual(['attention_forward', 'attention_backward_dq', 'attention_backward_dkv']);
    expect(names).not.toContain('copy');
    for (const t of [q, k, v, y!]) t.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { init, nn, randn, tensor, groupNorm, layerNorm } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { groupNormRef, layerNormRef } from '../reference/norm.js';
import { permuteRef, type RefTensor } from '../reference/index.js';

beforeAll(async () => {
  await init();
});

/** GroupNorm against the float64 reference, forward and every gradient. */
async function checkGroupNorm(shape: readonly number[], groups: number, affine: boolean, silu: boolean, eps = 1e-5): Promise<void> {
  const C = shape[1];
  const name = `groupNorm ${JSON.stringify(shape)} groups ${groups} affine ${affine} silu ${silu}`;
  const tol = { atol: 2e-5, rtol: 2e-4, gradAtol: 1e-4, gradRtol: 1e-3 };
  if (affine) {
    await checkOp(name, {
      inputs: [shape, [C], [C]],
      engine: (x, w, b) => groupNorm(x, groups, w, b, eps, { silu }),
      reference: (x, w, b) => groupNormRef(x, groups, w, b, eps, silu),
      grad: true,
      ...tol,
    });
  } else {
    await checkOp(name, {
      inputs: [shape],
      engine: (x) => groupNorm(x, groups, undefined, undefined, eps, { silu }),
      reference: (x) => groupNormRef(x, groups, null, null, eps, silu),
      grad: true,
      ...tol,
    });
  }
}

describe('groupNorm (fused)', () => {
  // groups 1, 2, 32 with 1 and 3 channels per group, odd spatial sizes.
  for (const [groups, cpg] of [[1, 1], [1, 3], [2, 1], [2, 3], [32, 1], [32, 3]] as const) {
    it(`groups ${groups}, ${cpg} channel(s) per group: affine, plain and with SiLU`, async () => {
      const shape = [2, groups * cpg, 3, 5];
      await checkGroupNorm(shape, groups, true, false);
      await checkGroupNorm(shape, groups, false, false);
      await checkGroupNorm(shape, groups, true, true);
    });
  }

  it('no affine with SiLU; 3-D input [N, C, L]; batch of 1; weight without bias', async () => {
    await checkGroupNorm([1, 6, 7], 3, false, true);
    await checkGroupNorm([3, 4, 1], 2, true, false, 1e-6);
    await checkOp('groupNorm weight only', {
      inputs: [[2, 4, 3], [4]],
      engine: (x, w) => groupNorm(x, 2, w, undefined, 1e-5, { silu: true }),
      reference: (x, w) => groupNormRef(x, 2, w, null, 1e-5, true),
      grad: true,
      atol: 2e-5,
      rtol: 2e-4,
      gradAtol: 1e-4,
      gradRtol: 1e-3,
    });
  });

  it('long rows split into chunks (forward merges chunk statistics, backward chunks the spatial sums)', async () => {
    // Each (n, g) row has 2·4900 elements: three forward chunks; 4900 positions per channel: two backward chunks.
    await checkGroupNorm([1, 4, 70, 70], 2, true, true);
  });

  it('large mean relative to spread stays accurate (two-pass statistics)', async () => {
    const base = randn([1, 4, 8, 8]);
    const x = base.mul(0.01).add(1000);
    const y = await groupNorm(x, 2).data();
    const ref = groupNormRef({ shape: [1, 4, 8, 8], data: Float64Array.from(await x.data()) } as RefTensor, 2, null, null);
    let err = 0;
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref.data[i]));
    // Float32 sums near 1000 are off by ~1e-4, i.e. ~1e-2 after dividing by the 0.01 spread; a one-pass
    // E[x²] - E[x]² would lose the variance (1e-4) entirely against E[x²] = 1e6.
    expect(err).toBeLessThan(3e-2);
    for (const t of [base, x]) t.dispose();
  });

  it('strided (permuted) input', async () => {
    await checkOp('groupNorm of a permuted view', {
      inputs: [[2, 3, 4, 6]],
      engine: (x) => groupNorm(x.permute([0, 3, 1, 2]), 3),
      reference: (x) => groupNormRef(permuteRef(x, [0, 3, 1, 2]), 3, null, null),
      grad: true,
      atol: 2e-5,
      rtol: 2e-4,
      gradAtol: 1e-4,
      gradRtol: 1e-3,
    });
  });

  it('gradients only for the parameters (frozen input)', async () => {
    await checkOp('groupNorm param grads only', {
      inputs: [{ shape: [2, 4, 3, 3], grad: false }, [4], [4]],
      engine: (x, w, b) => groupNorm(x, 2, w, b, 1e-5, { silu: true }),
      reference: (x, w, b) => groupNormRef(x, 2, w, b, 1e-5, true),
      grad: true,
      atol: 2e-5,
      rtol: 2e-4,
      gradAtol: 1e-4,
      gradRtol: 1e-3,
    });
  });

  it('errors name the shapes and the fix', () => {
    const x = randn([1, 6, 2, 2]);
    expect(() => groupNorm(x, 4)).toThrow(/6 channels are not divisible by 4 groups \(input \[1,6,2,2\]\)/);
    const w = randn([5]);
    expect(() => groupNorm(x, 3, w)).toThrow(/weight must have shape \[6\].*\[5\]/);
    expect(() => groupNorm(randn([6]), 3)).toThrow(/\[N, C, \.\.\.\]/);
    for (const t of [x, w]) t.dispose();
  });
});

describe('layerNorm (fused)', () => {
  for (const [shape, norm, affine] of [
    [[5, 7], [7], true],
    [[2, 3, 33], [33], true],
    [[4, 130], [130], false],
    [[2, 3, 4, 5], [4, 5], true],
    [[1, 1], [1], true],
    // 300 short rows: several workgroups of the one-invocation-per-row kernels (CPU adapters), a partial last one.
    [[3, 100, 20], [20], true],
  ] as const) {
    it(`shape ${JSON.stringify(shape)} over ${JSON.stringify(norm)} (affine ${affine})`, async () => {
      const tol = { atol: 2e-5, rtol: 2e-4, gradAtol: 1e-4, gradRtol: 1e-3 };
      if (affine) {
        await checkOp(`layerNorm ${shape}`, {
          inputs: [shape, norm, norm],
          engine: (x, w, b) => layerNorm(x, norm, w, b),
          reference: (x, w, b) => layerNormRef(x, norm, w, b),
          grad: true,
          ...tol,
        });
      } else {
        await checkOp(`layerNorm ${shape} no affine`, {
          inputs: [shape],
          engine: (x) => layerNorm(x, norm),
          reference: (x) => layerNormRef(x, norm, null, null),
          grad: true,
          ...tol,
        });
      }
    });
  }

  it('many rows (parameter gradients summed over several row blocks), strided input', async () => {
    // 60 rows take one pass; 2100 rows (past 2048) are split into row blocks whose partial sums are reduced after.
    await checkOp('layerNorm 2100 rows', {
      inputs: [[2100, 8], [8], [8]],
      engine: (x, w, b) => layerNorm(x, [8], w, b),
      reference: (x, w, b) => layerNormRef(x, [8], w, b),
      grad: true,
      atol: 2e-5,
      rtol: 2e-4,
      gradAtol: 1e-4,
      gradRtol: 1e-3,
    });
    await checkOp('layerNorm many rows', {
      inputs: [[40, 5, 12], [40], [40]],
      engine: (x, w, b) => layerNorm(x.permute([1, 2, 0]), [40], w, b, 1e-6),
      reference: (x, w, b) => layerNormRef(permuteRef(x, [1, 2, 0]), [40], w, b, 1e-6),
      grad: true,
      atol: 2e-5,
      rtol: 2e-4,
      gradAtol: 1e-4,
      gradRtol: 1e-3,
    });
  });

  it('errors name the shapes', () => {
    const x = randn([2, 3, 4]);
    expect(() => layerNorm(x, [3])).toThrow(/normalized shape \[3\] does not match the trailing dims of input \[2,3,4\]/);
    const w = randn([5]);
    expect(() => layerNorm(x, [4], w)).toThrow(/weight must have the normalized shape \[4\], got \[5\]/);
    for (const t of [x, w]) t.dispose();
  });
});

describe('nn.GroupNorm / nn.LayerNorm', () => {
  it('PyTorch parameter names and init; forward matches the op', async () => {
    const gn = new nn.GroupNorm(2, 4, { eps: 1e-6 });
    expect(gn.namedParameters().map(([k, t]) => [k, t.shape])).toEqual([['weight', [4]], ['bias', [4]]]);
    expect([...(await gn.weight!.data())]).toEqual([1, 1, 1, 1]);
    expect([...(await gn.bias!.data())]).toEqual([0, 0, 0, 0]);
    const x = randn([1, 4, 3, 3]);
    const a = gn.forward(x);
    const b = groupNorm(x, 2, undefined, undefined, 1e-6);
    const [da, db] = [await a.data(), await b.data()];
    for (let i = 0; i < da.length; i++) expect(da[i]).toBeCloseTo(db[i], 6);
    expect(new nn.GroupNorm(2, 4, { affine: false }).parameters()).toEqual([]);
    expect(() => new nn.GroupNorm(3, 4)).toThrow(/4 channels are not divisible by 3 groups/);
    expect(() => gn.forward(randn([1, 3, 2, 2]))).toThrow(/GroupNorm\(2, 4\): input has 3 channels \(shape \[1,3,2,2\]\)/);

    const ln = new nn.LayerNorm([3, 2], { eps: 1e-5 });
    expect(ln.namedParameters().map(([k, t]) => [k, t.shape])).toEqual([['weight', [3, 2]], ['bias', [3, 2]]]);
    expect(new nn.LayerNorm(8, { elementwiseAffine: false }).parameters()).toEqual([]);
    const y = randn([4, 3, 2]);
    const o = ln.forward(y);
    expect(o.shape).toEqual([4, 3, 2]);
    for (const t of [x, a, b, y, o, ...gn.parameters(), ...ln.parameters()]) t.dispose();
  });

  it("a module's parameters train through the fused GroupNorm+SiLU op", async () => {
    const gn = new nn.GroupNorm(1, 2);
    const x = tensor([1, 2, 3, 5], [1, 2, 2]);
    const y = gn.forwardSilu(x);
    const loss = y.sum();
    await loss.backward();
    expect(gn.weight!.grad!.shape).toEqual([2]);
    expect(gn.bias!.grad!.shape).toEqual([2]);
    for (const t of [x, y, loss, ...gn.parameters()]) t.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { configureMatmulAutotune, init, matmul, tensor, zeros } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { matmulRef } from '../reference/matmul.js';
import { permuteRef, sliceRef, transposeRef } from '../reference/shape.js';

beforeAll(async () => {
  await init();
  // A background tune (seconds on lavapipe) would compete for the CPU and switch kernels mid-file.
  configureMatmulAutotune({ onFirstUse: 'nothing' });
});

const TOL = { atol: 1e-4, rtol: 1e-4 };

describe('matmul against the float64 reference', () => {
  const cases: [number[], number[]][] = [
    [[1, 1], [1, 1]],
    [[1, 1, 1], [1, 1, 1]],
    [[7, 33], [33, 65]],
    [[3, 1, 5, 9], [4, 9, 2]],
    [[2, 3, 4], [4, 5]],
    [[9], [9, 4]],
    [[4, 9], [9]],
    [[9], [9]],
    [[9], [2, 9, 3]],
    [[2, 1, 7, 3], [3]],
  ];
  for (const [sa, sb] of cases) {
    it(`[${sa}] x [${sb}] with gradients`, async () => {
      await checkOp(`matmul [${sa}] [${sb}]`, { inputs: [sa, sb], engine: matmul, reference: matmulRef, grad: true, ...TOL });
    });
  }

  it('transposed operands (read through strides, no copy)', async () => {
    await checkOp('aᵀ b', {
      inputs: [[33, 7], [33, 65]],
      engine: (a, b) => a.T.matmul(b),
      reference: (a, b) => matmulRef(transposeRef(a), b),
      grad: true,
      ...TOL,
    });
    await checkOp('a bᵀ', {
      inputs: [[7, 33], [65, 33]],
      engine: (a, b) => a.matmul(b.T),
      reference: (a, b) => matmulRef(a, transposeRef(b)),
      grad: true,
      ...TOL,
    });
    await checkOp('aᵀ bᵀ batched', {
      inputs: [[3, 9, 5], [3, 4, 9]],
      engine: (a, b) => a.T.matmul(b.T),
      reference: (a, b) => matmulRef(transposeRef(a), transposeRef(b)),
      grad: true,
      ...TOL,
    });
  });

  it('offset and permuted-batch operands', async () => {
    await checkOp('sliced batch x permuted batch', {
      inputs: [[5, 6, 7], [7, 3, 4]],
      engine: (a, b) => a.slice(0, 1, 4).matmul(b.permute([1, 0, 2])),
      reference: (a, b) => matmulRef(sliceRef(a, 0, 1, 4), permuteRef(b, [1, 0, 2])),
      grad: true,
      ...TOL,
    });
    await checkOp('column slice (row stride > K)', {
      inputs: [[6, 20], [5, 3]],
      engine: (a, b) => a.slice(1, 3, 8).matmul(b),
      reference: (a, b) => matmulRef(sliceRef(a, 1, 3, 8), b),
      grad: true,
      ...TOL,
    });
  });

  it('128³ with gradients, and one 257-sized product', async () => {
    await checkOp('matmul 128³', { inputs: [[128, 128], [128, 128]], engine: matmul, reference: matmulRef, grad: true, atol: 3e-4, rtol: 1e-4 });
    await checkOp('matmul 257³', { inputs: [[257, 257], [257, 257]], engine: matmul, reference: matmulRef, atol: 3e-4, rtol: 1e-4 });
  });

  // Each kernel is forced and tested in matmul-kernels.test.ts; this is the public op on the path it picks itself.
  it('products large enough to leave the general kernel (broadcast batch, transposed, odd sizes)', async () => {
    // Odd M, N, K (not multiples of any tile or vec4), a broadcast batch and transposed operands.
    await checkOp('large matmul aᵀ bᵀ', {
      inputs: [[2, 1, 65, 67], [3, 70, 65]],
      engine: (a, b) => a.T.matmul(b.T),
      reference: (a, b) => matmulRef(transposeRef(a), transposeRef(b)),
      grad: true,
      ...TOL,
    });
    await checkOp('large matmul contiguous', { inputs: [[33, 257], [257, 65]], engine: matmul, reference: matmulRef, ...TOL });
  });

  it('an empty inner dimension gives zeros', async () => {
    await checkOp('matmul K=0', { inputs: [[3, 0], [0, 4]], engine: matmul, reference: matmulRef });
  });

  it('inner-dimension mismatch and 0-d operands are errors naming the shapes', () => {
    const a = zeros([2, 3]);
    const b = zeros([4, 5]);
    const s = tensor(2);
    expect(() => a.matmul(b)).toThrow('matmul: inner dimensions differ: [2,3] · [4,5] (3 vs 4)');
    expect(() => s.matmul(a)).toThrow(/matmul: both operands need at least one dimension/);
    const c = zeros([2, 3, 4]);
    const d = zeros([3, 4, 5]);
    expect(() => c.matmul(d)).toThrow(/matmul: shapes \[2\] and \[3\] cannot be broadcast together/);
    [a, b, s, c, d].forEach((t) => t.dispose());
  });
});

// The fused linear op (y = x·Wᵀ + b + residual in one matmul launch; dX, dW and dB in two) against the float64
// reference: forward and every gradient, for the operand layouts the kernels read in place (sizes multiple of 4)
// and those they pack (odd sizes), 3-D inputs, no bias, a residual, and frozen weights with a trainable bias.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, linear, nn, optim, tensor, tidy } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { binaryRef } from '../reference/elementwise.js';
import { matmulRef } from '../reference/matmul.js';
import { transposeRef } from '../reference/shape.js';
import type { RefTensor } from '../reference/ref-tensor.js';

beforeAll(async () => {
  await init();
});

const linearRef = (x: RefTensor, w: RefTensor, b?: RefTensor, res?: RefTensor): RefTensor => {
  let y = matmulRef(x, transposeRef(w));
  if (b) y = binaryRef('add', y, b);
  if (res) y = binaryRef('add', y, res);
  return y;
};
const TOL = { atol: 1e-4, rtol: 1e-4, gradAtol: 2e-4, gradRtol: 2e-4 };

describe('linear (fused bias, residual and gradients)', () => {
  for (const [rows, inF, outF] of [
    [64, 32, 48], // everything read in place on the subgroup kernel
    [7, 13, 5], // odd: the general kernel
    [200, 37, 36], // odd in, large enough for the fast kernel: packed operands
    [40, 24, 20],
  ]) {
    it(`[${rows}, ${inF}] -> ${outF}: with bias, without, and with a residual`, async () => {
      await checkOp(`linear ${rows}x${inF}->${outF} bias`, {
        inputs: [[rows, inF], [outF, inF], [outF]],
        engine: (x, w, b) => linear(x, w, b),
        reference: (x, w, b) => linearRef(x, w, b),
        grad: true,
        ...TOL,
      });
      await checkOp(`linear ${rows}x${inF}->${outF} no bias`, {
        inputs: [[rows, inF], [outF, inF]],
        engine: (x, w) => linear(x, w),
        reference: (x, w) => linearRef(x, w),
        grad: true,
        ...TOL,
      });
      await checkOp(`linear ${rows}x${inF}->${outF} residual`, {
        inputs: [[rows, inF], [outF, inF], [outF], [rows, outF]],
        engine: (x, w, b, r) => linear(x, w, b, { residual: r }),
        reference: (x, w, b, r) => linearRef(x, w, b, r),
        grad: true,
        ...TOL,
      });
    });
  }

  it('3-D input, and a frozen weight with a trainable bias (dB summed over every row)', async () => {
    await checkOp('linear 3-D', {
      inputs: [[2, 20, 16], [24, 16], [24]],
      engine: (x, w, b) => linear(x, w, b),
      reference: (x, w, b) => linearRef(x, w, b),
      grad: true,
      ...TOL,
    });
    await checkOp('linear frozen weight', {
      inputs: [[40, 16], { shape: [8, 16], grad: false }, [8]],
      engine: (x, w, b) => linear(x, w, b),
      reference: (x, w, b) => linearRef(x, w, b),
      grad: true,
      ...TOL,
    });
  });

  it('errors name the shapes', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    const w = tensor(new Float32Array(8), [2, 4]);
    expect(() => linear(x, w)).toThrow(/weight \[2,4\] does not take inputs of 3 features/);
    x.dispose();
    w.dispose();
  });

  it("with an optimizer, dW and dB land in the parameters' gradient slots, also for a layer used twice", async () => {
    const layer = new nn.Linear(16, 8);
    const opt = new optim.SGD(layer.parameters(), { lr: 0 });
    const xv = Float32Array.from({ length: 32 * 16 }, (_, i) => Math.sin(i));
    const x = tensor(xv, [32, 16]);
    const loss = tidy(() => layer.forward(layer.forward(x.slice(1, 0, 16)).matmul(tensor(new Float32Array(128).fill(0.1), [8, 16]))).sum());
    await loss.backward();
    // Reference: the same graph with plain ops and no optimizer.
    const w = tensor(await layer.weight.data(), [8, 16]), b = tensor(await layer.bias!.data(), [8]);
    w.requiresGrad = true;
    b.requiresGrad = true;
    const ref = tidy(() => {
      const h = x.matmul(w.T).add(b).matmul(tensor(new Float32Array(128).fill(0.1), [8, 16]));
      return h.matmul(w.T).add(b).sum();
    });
    await ref.backward();
    const [g1, g2] = [await layer.weight.grad!.data(), await w.grad!.data()];
    g1.forEach((v, i) => expect(Math.abs(v - g2[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(g2[i]))));
    const [d1, d2] = [await layer.bias!.grad!.data(), await b.grad!.data()];
    d1.forEach((v, i) => expect(Math.abs(v - d2[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(d2[i]))));
    // The gradients are the optimizer's slot views, not copies.
    const arena = opt.arena;
    expect(layer.weight.grad!.storage.buffer).toBe(arena.grads.buffers[0]);
    expect(layer.bias!.grad!.storage.buffer).toBe(arena.grads.buffers[0]);
    for (const t of [x, w, b, loss, ref]) t.dispose();
    opt.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { init, isGradEnabled, noGrad, tensor, tidy, type Tensor } from '../../src/index.js';
import { checkOp } from '../helpers/check-op.js';
import { addRef, binaryRef, mulRef, unaryRef } from '../reference/elementwise.js';
import { sumRef } from '../reference/reduce.js';
import { matmulRef } from '../reference/matmul.js';

beforeAll(async () => {
  await init();
});

const values = async (t: Tensor | null): Promise<number[]> => Array.from(await t!.data(), (v) => +v.toFixed(5));

describe('autograd', () => {
  it('accumulates into .grad across backward calls, as PyTorch', async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const a = x.mul(x).sum();
    await a.backward();
    expect(await values(x.grad)).toEqual([2, 4, 6]);
    const b = x.mul(3).sum();
    await b.backward();
    expect(await values(x.grad)).toEqual([5, 7, 9]);
    [a, b, x.grad!, x].forEach((t) => t.dispose());
  });

  it('zeroing .grad (dispose + null) starts the next backward afresh', async () => {
    const x = tensor([1, -2], { requiresGrad: true });
    const a = x.square().sum();
    await a.backward();
    x.grad!.dispose();
    x.grad = null;
    const b = x.mul(4).sum();
    await b.backward();
    expect(await values(x.grad)).toEqual([4, 4]);
    [a, b, x].forEach((t) => t.dispose());
  });

  it('retainGraph: a second backward through a freed graph fails with the fix in the message', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    await y.backward();
    await expect(y.backward()).rejects.toThrow(/backward\(\): the graph through '\w+' was already freed by an earlier backward\(\); pass \{ retainGraph: true \} to the first call/);
    x.grad!.dispose();
    x.grad = null;
    const z = x.mul(x).sum();
    await z.backward({ retainGraph: true });
    await z.backward();
    expect(await values(x.grad)).toEqual([4, 8]);
    [y, z, x].forEach((t) => t.dispose());
  });

  it('detach cuts the graph; noGrad records nothing (also across await)', async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    const y = x.mul(d).sum();
    await y.backward();
    expect(await values(x.grad)).toEqual([1, 2, 3]);
    const n = noGrad(() => x.mul(2));
    expect(n.requiresGrad).toBe(false);
    expect(n.gradFn).toBeNull();
    const m = await noGrad(async () => {
      await Promise.resolve();
      expect(isGradEnabled()).toBe(false);
      return x.exp();
    });
    expect(isGradEnabled()).toBe(true);
    expect(m.requiresGrad).toBe(false);
    [d, y, n, m, x].forEach((t) => t.dispose());
  });

  it('only leaves that require a gradient get one', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const c = tensor([3, 4]);
    const h = x.mul(c);
    const y = h.sum();
    await y.backward();
    expect(await values(x.grad)).toEqual([3, 4]);
    expect(c.grad).toBeNull();
    expect(h.grad).toBeNull();
    [x, c, h, y].forEach((t) => t.dispose());
  });

  it('backward({ grad }) equals .mul(upstream).sum().backward()', async () => {
    const x1 = tensor([[0.5, -1, 2], [1, 0.25, -0.5]], { requiresGrad: true });
    const x2 = tensor([[0.5, -1, 2], [1, 0.25, -0.5]], { requiresGrad: true });
    const y1 = x1.tanh().matmul(x1.T);
    const y2 = x2.tanh().matmul(x2.T);
    const up2 = tensor([[1, 2], [-1, 0.5]]);
    await y1.backward({ grad: up2 });
    const l = y2.mul(up2).sum();
    await l.backward();
    expect(await values(x1.grad)).toEqual(await values(x2.grad));
    [x1, x2, up2, y1, y2, l].forEach((t) => t.dispose());
  });

  it('backward on a leaf with an explicit grad leaves the caller owning that grad', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const g = tensor([5, 6]);
    await x.backward({ grad: g });
    g.dispose();
    expect(await values(x.grad)).toEqual([5, 6]);
    x.dispose();
  });

  it('a graph built inside tidy can be differentiated after tidy freed its intermediates', async () => {
    const x = tensor([0.5, 1.5], { requiresGrad: true });
    const loss = tidy(() => x.exp().mul(x.sin()).sum());
    await loss.backward();
    const expected = [0.5, 1.5].map((v) => Math.exp(v) * (Math.sin(v) + Math.cos(v)));
    (await x.grad!.data()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    [loss, x].forEach((t) => t.dispose());
  });

  it('gradients meeting at a tensor sum (diamond and reuse)', async () => {
    await checkOp('diamond', {
      inputs: [[4, 5]],
      engine: (x) => {
        const y = x.exp();
        return y.mul(y).add(y.sin()).sum(1);
      },
      reference: (x) => {
        const y = unaryRef('exp', x);
        return sumRef(addRef(mulRef(y, y), unaryRef('sin', y)), 1);
      },
      grad: true,
    });
    await checkOp('two-layer MLP', {
      inputs: [[6, 5], [5, 7], [7], [7, 3]],
      engine: (x, w1, b1, w2) => x.matmul(w1).add(b1).relu().matmul(w2).softmax(-1),
      reference: (x, w1, b1, w2) => {
        const h = unaryRef('relu', addRef(matmulRef(x, w1), b1));
        const o = matmulRef(h, w2);
        const e = unaryRef('exp', o);
        return binaryRef('div', e, sumRef(e, -1, true));
      },
      grad: true,
      atol: 1e-5,
      rtol: 1e-4,
    });
  });

  it('errors: no gradient to compute, non-scalar without grad, grad of the wrong shape', async () => {
    const c = tensor([1, 2]);
    await expect(c.sum().backward()).rejects.toThrow(/backward\(\): this tensor does not require a gradient/);
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    await expect(y.backward()).rejects.toThrow('backward(): output has shape [2]; pass { grad } for a non-scalar output');
    const g = tensor([1, 2, 3]);
    await expect(y.backward({ grad: g })).rejects.toThrow('backward(): grad has shape [3] but the output has shape [2]');
    [c, x, y, g].forEach((t) => t.dispose());
  });
});

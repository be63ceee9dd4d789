import { beforeAll, describe, expect, it } from 'vitest';
import { arange, full, init, ones, onesLike, tensor, zeros, zerosLike, type Tensor } from '../../src/index.js';

beforeAll(async () => {
  await init();
});

async function read(t: Tensor): Promise<{ shape: readonly number[]; values: number[] }> {
  const values = Array.from(await t.data());
  const shape = t.shape;
  t.dispose();
  return { shape, values };
}

describe('creation ops', () => {
  it('tensor() from nested arrays, numbers, typed arrays with a shape, and flat arrays with a shape', async () => {
    expect(await read(tensor([[1, 2, 3], [4, 5, 6]]))).toEqual({ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] });
    expect(await read(tensor(7))).toEqual({ shape: [], values: [7] });
    expect(await read(tensor(new Float32Array([1, 2, 3, 4]), [2, 1, 2]))).toEqual({ shape: [2, 1, 2], values: [1, 2, 3, 4] });
    expect(await read(tensor([1, 2, 3, 4, 5, 6], [3, 2]))).toEqual({ shape: [3, 2], values: [1, 2, 3, 4, 5, 6] });
    expect(await read(tensor([]))).toEqual({ shape: [0], values: [] });
    const nested = tensor([[[1], [2]]]);
    expect(await nested.toArray()).toEqual([[[1], [2]]]);
    nested.dispose();
  });

  it('full, zeros, ones and the *Like forms, in odd sizes', async () => {
    expect(await read(full([3, 1], -2.5))).toEqual({ shape: [3, 1], values: [-2.5, -2.5, -2.5] });
    expect((await read(zeros([257]))).values.every((v) => v === 0)).toBe(true);
    expect(await read(ones([]))).toEqual({ shape: [], values: [1] });
    const x = tensor([[1, 2]]);
    expect(await read(zerosLike(x))).toEqual({ shape: [1, 2], values: [0, 0] });
    expect(await read(onesLike(x))).toEqual({ shape: [1, 2], values: [1, 1] });
    x.dispose();
    const g = zeros([2], { requiresGrad: true });
    expect(g.requiresGrad).toBe(true);
    g.dispose();
  });

  it('arange as NumPy (one argument, negative and fractional steps, empty ranges)', async () => {
    expect((await read(arange(5))).values).toEqual([0, 1, 2, 3, 4]);
    expect((await read(arange(2, -3, -2))).values).toEqual([2, 0, -2]);
    expect((await read(arange(0, 1, 0.25))).values).toEqual([0, 0.25, 0.5, 0.75]);
    expect(await read(arange(3, 3))).toEqual({ shape: [0], values: [] });
    const long = await read(arange(300));
    expect(long.values[299]).toBe(299);
    expect(() => arange(0, 1, 0)).toThrow('arange: step must not be 0');
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { init, tensor, where, zeros } from '../../src/index.js';

beforeAll(async () => {
  await init();
});

describe('errors say what went wrong and where', () => {
  it('shape mismatch names the op and both shapes', () => {
    const a = zeros([2, 3]);
    const b = zeros([4]);
    expect(() => a.add(b)).toThrow('add: shapes [2,3] and [4] cannot be broadcast together (axis -1: 3 vs 4)');
    expect(() => a.mul(b)).toThrow(/^mul: shapes \[2,3\] and \[4\]/);
    expect(() => a.gt(b)).toThrow(/^gt: shapes \[2,3\] and \[4\]/);
    expect(() => where(a, a, b)).toThrow(/^where: shapes \[2,3\] and \[2,3\] and \[4\] cannot be broadcast/);
    [a, b].forEach((t) => t.dispose());
  });

  it('using a disposed tensor names it and its shape', async () => {
    const a = tensor([[1, 2, 3]]);
    const b = tensor([1, 2, 3]);
    a.dispose();
    const msg = new RegExp(`tensor #${a.id} of shape \\[1,3\\] was disposed and cannot be used`);
    expect(() => a.add(b)).toThrow(msg);
    expect(() => b.add(a)).toThrow(msg);
    expect(() => a.sum()).toThrow(msg);
    expect(() => a.matmul(b)).toThrow(msg);
    await expect(a.data()).rejects.toThrow(msg);
    expect(a.isDisposed).toBe(true);
    b.dispose();
  });

  it('item() on a non-scalar says how many elements there are', async () => {
    const t = zeros([2, 3]);
    await expect(t.item()).rejects.toThrow('item(): tensor has 6 elements (shape [2,3]); item() needs exactly one');
    const one = tensor([[7]]);
    expect(await one.item()).toBe(7);
    [t, one].forEach((x) => x.dispose());
  });

  it('matmul inner-dimension mismatch names both shapes', () => {
    const a = zeros([5, 7]);
    const b = zeros([6, 2]);
    expect(() => a.matmul(b)).toThrow('matmul: inner dimensions differ: [5,7] · [6,2] (7 vs 6)');
    [a, b].forEach((t) => t.dispose());
  });

  it('bad arguments name the op', () => {
    const x = zeros([2, 2]);
    expect(() => x.clamp(1, 0)).toThrow('clamp: min (1) must not exceed max (0)');
    expect(() => x.transpose(0, 2)).toThrow('transpose: axis 2 is out of range for a tensor of rank 2');
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor\(\): ragged nested array/);
    expect(() => zeros([2, 1.5])).toThrow(/full: invalid shape \[2,1.5\]/);
    x.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { getDevice, init, keep, liveStats, randn, tensor, tidy, type Tensor } from '../../src/index.js';

beforeAll(async () => {
  await init();
});

const snapshot = () => ({ storages: liveStats.storages, tensors: liveStats.tensors, bytes: liveStats.bytes });

describe('tidy, dispose and live-tensor counters', () => {
  it('a loop of ops inside tidy leaves nothing behind', async () => {
    const x = randn([33, 65]);
    const w = randn([65, 7]);
    const before = snapshot();
    for (let i = 0; i < 20; i++) {
      tidy(() => {
        const h = x.matmul(w).relu().add(1).softmax(-1);
        h.T.contiguous().sum(0).mean();
        x.slice(1, 3, 9).pad([1, 1]).concat([x.slice(1, 0, 2)], 1).max(1, true);
      });
    }
    await getDevice().sync();
    expect(snapshot()).toEqual(before);
    [x, w].forEach((t) => t.dispose());
  });

  it('tidy keeps what it returns (alone, in arrays, in objects) and what keep() marks', () => {
    const before = snapshot();
    let kept!: Tensor;
    const out = tidy(() => {
      const a = tensor([1, 2]);
      const b = a.mul(2);
      kept = keep(a.add(1));
      return { b, list: [a.exp()] };
    });
    expect(liveStats.tensors - before.tensors).toBe(3);
    expect(out.b.isDisposed).toBe(false);
    expect(out.list[0].isDisposed).toBe(false);
    expect(kept.isDisposed).toBe(false);
    [out.b, out.list[0], kept].forEach((t) => t.dispose());
    expect(snapshot()).toEqual(before);
  });

  it('nested tidy hands its result to the outer scope, which frees it unless returned', () => {
    const before = snapshot();
    let inner!: Tensor;
    tidy(() => {
      inner = tidy(() => tensor([1]).add(1));
      expect(inner.isDisposed).toBe(false);
    });
    expect(inner.isDisposed).toBe(true);
    expect(snapshot()).toEqual(before);
  });

  it('tidy frees everything when its function throws, and refuses async functions', () => {
    const before = snapshot();
    expect(() =>
      tidy(() => {
        tensor([1, 2]).mul(3);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(snapshot()).toEqual(before);
    expect(() => tidy(() => Promise.resolve(1))).toThrow(/tidy: the function returned a Promise/);
  });

  it('views share storage: disposing the base keeps a view readable; dispose is idempotent', async () => {
    const before = snapshot();
    const base = tensor([[1, 2, 3], [4, 5, 6]]);
    const v = base.T;
    base.dispose();
    base.dispose();
    expect(liveStats.storages - before.storages).toBe(1);
    expect(Array.from(await v.data())).toEqual([1, 4, 2, 5, 3, 6]);
    v.dispose();
    expect(snapshot()).toEqual(before);
  });

  it('a training-style loop (forward in tidy, backward, zero grads) does not grow', async () => {
    const w = randn([9, 4], { requiresGrad: true, seed: 1 });
    const x = randn([5, 9], { seed: 2 });
    const step = async () => {
      const loss = tidy(() => x.matmul(w).tanh().square().mean());
      await loss.backward();
      loss.dispose();
      w.grad!.dispose();
      w.grad = null;
    };
    await step();
    const before = snapshot();
    const pool = getDevice().memoryStats().liveBytes;
    for (let i = 0; i < 10; i++) await step();
    expect(snapshot()).toEqual(before);
    expect(getDevice().memoryStats().liveBytes).toBe(pool);
    [w, x].forEach((t) => t.dispose());
  });

  it('disposing a leaf frees its gradient too', async () => {
    const before = snapshot();
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = tidy(() => x.square().sum());
    await y.backward();
    y.dispose();
    expect(x.grad).not.toBeNull();
    x.dispose();
    expect(snapshot()).toEqual(before);
  });

  it('the tensors a backward rule saved outlive dispose of the originals', async () => {
    const x = tensor([0.5, 1], { requiresGrad: true });
    const y = x.exp();
    const s = y.sum();
    y.dispose();
    await s.backward();
    const g = await x.grad!.data();
    [Math.exp(0.5), Math.exp(1)].forEach((v, i) => expect(g[i]).toBeCloseTo(v, 5));
    [s, x].forEach((t) => t.dispose());
  });
});

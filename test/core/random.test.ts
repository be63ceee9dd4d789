import { beforeAll, describe, expect, it } from 'vitest';
import { getRngState, init, manualSeed, rand, randn, setRngState, type Tensor } from '../../src/index.js';
import { normalArray, uniformArray } from '../../src/random/philox.js';

beforeAll(async () => {
  await init();
});

async function take(t: Tensor): Promise<Float32Array> {
  const d = await t.data();
  t.dispose();
  return d;
}

describe('Philox random numbers', () => {
  it('rand equals the CPU reference bit for bit (sizes not multiples of 4, large seeds, streams)', async () => {
    for (const [seed, stream, n] of [
      [0, 0, 1],
      [1, 0, 3],
      [42, 7, 1001],
      [2 ** 40 + 5, 3, 4096],
      [2 ** 53 - 1, 2 ** 32 - 1, 257],
    ]) {
      const gpu = await take(rand([n], { seed, stream }));
      expect(gpu, `seed ${seed} stream ${stream} n ${n}`).toEqual(uniformArray(seed, stream, n));
    }
  });

  it('the default generator uses (seed, stream 0, 1, 2, ...) after manualSeed', async () => {
    manualSeed(1234);
    const a = await take(rand([5, 7]));
    const b = await take(rand([35]));
    expect(a).toEqual(uniformArray(1234, 0, 35));
    expect(b).toEqual(uniformArray(1234, 1, 35));
    const state = getRngState();
    const c = await take(rand([10]));
    setRngState(state);
    expect(await take(rand([10]))).toEqual(c);
  });

  it('randn matches the CPU reference within 1e-5', async () => {
    for (const [seed, stream, n] of [
      [3, 0, 5],
      [99, 2, 10001],
    ]) {
      const gpu = await take(randn([n], { seed, stream }));
      const cpu = normalArray(seed, stream, n);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]));
      expect(worst, `seed ${seed}`).toBeLessThan(1e-5);
    }
  });

  it('rand lies in [0, 1); randn has mean ~0 and std ~1', async () => {
    const u = await take(rand([100000], { seed: 5 }));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const z = await take(randn([100000], { seed: 6 }));
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const std = Math.sqrt(z.reduce((s, v) => s + (v - mean) ** 2, 0) / (z.length - 1));
    // Standard errors: 1/sqrt(n) = 0.003 for the mean, ~0.0022 for the std; 5 sigma bounds.
    expect(Math.abs(mean)).toBeLessThan(0.016);
    expect(Math.abs(std - 1)).toBeLessThan(0.012);
  });

  it('low/high and mean/std options scale the same draws', async () => {
    const u = uniformArray(8, 0, 64);
    const r = await take(rand([64], { seed: 8, low: -3, high: 5 }));
    r.forEach((v, i) => expect(v).toBeCloseTo(-3 + 8 * u[i], 5));
    const z = normalArray(9, 0, 64);
    const n = await take(randn([64], { seed: 9, mean: 2, std: 0.5 }));
    n.forEach((v, i) => expect(v).toBeCloseTo(2 + 0.5 * z[i], 5));
  });

  it('requiresGrad option and invalid seeds', async () => {
    const t = randn([2], { requiresGrad: true });
    expect(t.requiresGrad).toBe(true);
    t.dispose();
    expect(() => rand([2], { seed: -1 })).toThrow(/seed must be a non-negative safe integer, got -1/);
    expect(() => rand([2, -1])).toThrow(/rand: invalid shape \[2,-1\]/);
  });
});

// Work larger than the device allows, reached with small fake limits (init({ limits })): a tensor over
// maxStorageBufferBindingSize is refused with a message giving the limit, the size and the option that helps, and
// leaves the device usable; a grid over maxComputeWorkgroupsPerDimension is split (folded into y) and computes
// the same values. In its own file: it needs a device created with the lowered limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyDevice, getDevice, GpuError, init, liveStats, randn, tensor, tidy } from '../../src/index.js';

const BINDING = 64 * 1024;
const GROUPS = 16;

describe('resource limits (fake small limits)', () => {
  beforeAll(async () => {
    destroyDevice();
    await init({ limits: { maxStorageBufferBindingSize: BINDING, maxComputeWorkgroupsPerDimension: GROUPS } });
  });
  afterAll(() => destroyDevice());

  it('reports the lowered limits', () => {
    expect(getDevice().limits.maxStorageBufferBindingSize).toBe(BINDING);
    expect(getDevice().limits.maxComputeWorkgroupsPerDimension).toBe(GROUPS);
  });

  it('refuses elementwise, reduce and matmul results over the binding limit, naming limit, size and --tile', async () => {
    const before = liveStats.tensors;
    const a = randn([128, 1], { seed: 1 });
    const b = randn([1, 160], { seed: 2 });
    const refusal = /tensor: 81920 bytes exceeds this device's maxStorageBufferBindingSize \(65536 bytes\); split the work into smaller pieces \(e\.g\. a smaller batch, or --tile for images\)/;
    expect(() => tidy(() => a.add(b))).toThrow(GpuError); // broadcast: 128x160 floats = 80 KiB
    expect(() => tidy(() => a.add(b))).toThrow(refusal);
    expect(() => tidy(() => a.matmul(b))).toThrow(refusal);
    expect(() => tidy(() => a.expand([128, 160]).contiguous().sum())).toThrow(refusal);
    // A reduction of what fits, and the device afterwards: still fine.
    const s = tidy(() => a.mul(b.slice(1, 0, 100)).sum());
    const [av, bv] = [await a.data(), await b.data()];
    let want = 0;
    for (let i = 0; i < 128; i++) for (let j = 0; j < 100; j++) want += av[i]! * bv[j]!;
    expect(await s.item()).toBeCloseTo(want, 2);
    for (const t of [a, b, s]) t.dispose();
    expect(liveStats.tensors).toBe(before);
  });

  it('splits a grid over maxComputeWorkgroupsPerDimension: elementwise, reductions and softmax stay correct', async () => {
    // 16000 elements: 63 workgroups of 256 where at most 16 fit in x, so the grid folds into y (and fits the binding).
    const n = 16_000;
    const host = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
    const x = tensor(host, [n / 100, 100]);
    const [e, rowSum, colMax, sm] = [x.exp(), x.sum(1), x.max(0), x.softmax(1)];
    const [ev, rv, cv, sv] = await Promise.all([e.data(), rowSum.data(), colMax.data(), sm.data()]);
    for (let i = 0; i < n; i += 997) expect(ev[i]).toBeCloseTo(Math.exp(host[i]!), 3);
    for (let r = 0; r < n / 100; r += 7) {
      let s = 0;
      let z = 0;
      for (let c = 0; c < 100; c++) s += host[r * 100 + c]!;
      for (let c = 0; c < 100; c++) z += Math.exp(host[r * 100 + c]!);
      expect(rv[r]).toBeCloseTo(s, 2);
      expect(sv[r * 100 + 3]).toBeCloseTo(Math.exp(host[r * 100 + 3]!) / z, 5);
    }
    for (let c = 0; c < 100; c += 9) {
      let m = -Infinity;
      for (let r = 0; r < n / 100; r++) m = Math.max(m, host[r * 100 + c]!);
      expect(cv[c]).toBe(Math.fround(m));
    }
    for (const t of [x, e, rowSum, colMax, sm]) t.dispose();
  });
});

// An adapter without 'shader-f16' (simulated by not requesting it): float16 tensors fail with an error naming the
// feature, and nn.autocast runs in float32 (or throws with `strict`).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { init, manualSeed, nn, randn, tensor, tidy, type GpuDevice } from '../../src/index.js';
import { empty } from '../../src/tensor/tensor.js';

let dev: GpuDevice;
const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
beforeAll(async () => {
  dev = await init({ disableFeatures: ['shader-f16'] });
});
afterAll(() => warn.mockRestore());

describe("float16 without 'shader-f16'", () => {
  it('casts and float16 allocations throw naming the feature', () => {
    expect(dev.hasF16).toBe(false);
    const x = tensor([1, 2, 3]);
    expect(() => x.toFloat16()).toThrow(/'shader-f16'/);
    expect(() => empty([4], 'float16')).toThrow(/float16 tensor of shape \[4\].*'shader-f16'/);
    expect(x.toFloat32()).toBe(x);
    x.dispose();
  });

  it('autocast falls back to float32 (same results as without it, one warning); strict throws', async () => {
    manualSeed(1);
    const lin = new nn.Linear(8, 4);
    const x = randn([3, 8], { seed: 2 });
    const plain = tidy(() => lin.forward(x));
    const cast = nn.autocast(() => tidy(() => lin.forward(x)));
    expect(cast.dtype).toBe('float32');
    expect(Array.from(await cast.data())).toEqual(Array.from(await plain.data()));
    nn.autocast(() => null);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/float32.*'shader-f16'/);
    expect(() => nn.autocast(() => null, { strict: true })).toThrow(/autocast: .*'shader-f16'/);
    for (const t of [x, plain, cast, ...lin.parameters()]) t.dispose();
  });
});

// Destroys the GPU device on purpose: kept in its own file (its own worker process) so no other test sees it.
import { describe, expect, it } from 'vitest';
import { DeviceLostError, destroyDevice, getDevice, init, liveStats, tensor } from '../../src/index.js';

describe('device loss', () => {
  it('destroyDevice(): old tensors fail with a clear DeviceLostError, and init() gives a working device', async () => {
    const first = await init();
    const before = liveStats.storages;
    const old = tensor([1, 2, 3]);
    destroyDevice();
    expect(() => old.add(1)).toThrow(DeviceLostError);
    expect(() => old.add(1)).toThrow(/this GPU device was destroyed \(destroyDevice\(\)\); call init\(\) again/);
    await expect(old.data()).rejects.toThrow(DeviceLostError);
    expect(() => tensor([1])).toThrow(DeviceLostError);

    const second = await init();
    expect(second).not.toBe(first);
    expect(getDevice()).toBe(second);
    const input = tensor([1, 2, 3]);
    const fresh = input.mul(2);
    expect(Array.from(await fresh.data())).toEqual([2, 4, 6]);
    // Tensors of the old device stay unusable; disposing them is harmless.
    expect(() => old.mul(2)).toThrow(DeviceLostError);
    old.dispose();
    input.dispose();
    fresh.dispose();
    expect(liveStats.storages).toBe(before);
  });

  it('an unexpected loss (driver reset) names the reason and the fix', async () => {
    const dev = await init();
    const t = tensor([1]);
    // What a driver reset looks like to the engine: the GPUDevice goes away without destroyDevice().
    dev.device.destroy();
    await dev.device.lost;
    await new Promise((r) => setTimeout(r, 0));
    expect(() => t.add(1)).toThrow(DeviceLostError);
    expect(() => t.add(1)).toThrow(/the GPU device was lost \(destroyed: .*\); call init\(\) again to get a new device/);
    const again = await init();
    expect(again).not.toBe(dev);
    const u = tensor([4]).sqrt();
    expect(await u.item()).toBe(2);
    t.dispose();
    u.dispose();
  });
});

// Many training steps of the tiny UNet: after the first steps (optimizer state, pipelines) live GPU bytes and
// tensor counts must stop growing — a leak in any op, backward rule or the optimizer shows up here.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, randn, tidy, liveStats, getDevice } from '../../src/index.js';
import { UNet2DConditionModel } from '../../src/models/unet.js';
import { NullTextContext } from '../../src/models/text-context.js';
import { getModelConfig, type UNetConfig } from '../../src/models/configs.js';
import { AdamW } from '../../src/optim/adamw.js';

describe('memory over a training run', () => {
  beforeAll(async () => {
    await init();
  });

  it('live bytes and tensors stay flat over tiny-UNet training steps', async () => {
    manualSeed(2);
    const cfg = getModelConfig('tiny-unet') as UNetConfig;
    const unet = new UNet2DConditionModel(cfg);
    const ctx = new NullTextContext(cfg);
    const opt = new AdamW([...unet.parameters(), ...ctx.parameters()], { lr: 1e-4 });
    const z = randn([2, cfg.inChannels, 8, 8], { seed: 3 });
    const eps = randn([2, cfg.inChannels, 8, 8], { seed: 4 });
    const step = async (t: number) => {
      const loss = tidy(() => unet.forward(z.add(eps.mul(0.3)), t, ctx.forward(2)).sub(eps).square().mean());
      opt.zeroGrad();
      await loss.backward();
      opt.step();
      await loss.item();
      loss.dispose();
    };
    for (let i = 0; i < 3; i++) await step(100 + i);
    const before = { bytes: liveStats.bytes, tensors: liveStats.tensors, pool: getDevice().memoryStats().liveBytes };
    for (let i = 0; i < 8; i++) await step(200 + i);
    const after = { bytes: liveStats.bytes, tensors: liveStats.tensors, pool: getDevice().memoryStats().liveBytes };
    expect(after).toEqual(before);
  }, 180_000);
});

/** CMB-LoRA on the tiny UNet and RVAE: zero-init is a no-op, one adapter set per Bayer pattern, isolated gradients. */
import { beforeAll, describe, expect, it } from 'vitest';
import { maxDiff } from '../helpers/tensor-diff.js';
import { init, manualSeed, randn, tensor, tidy } from '../../src/index.js';
import { AutoencoderKL, MODEL_CONFIGS, UNet2DConditionModel, applyCmbLora, setBayerPattern, CMB_ADAPTERS } from '../../src/models/index.js';
import { loraLayers } from '../../src/nn/lora.js';
import { assignInPlace } from '../../src/nn/module.js';

beforeAll(async () => {
  await init();
  manualSeed(5);
});

describe('CMB-LoRA', () => {
  const cfg = MODEL_CONFIGS['tiny-unet'];
  it('zero-initialised adapters leave the UNet output unchanged, for every pattern', async () => {
    const unet = new UNet2DConditionModel(cfg);
    const x = randn([1, cfg.inChannels, 4, 4]);
    const ctx = randn([1, cfg.contextLength, cfg.crossAttentionDim]);
    const y0 = tidy(() => unet.forward(x, 3, ctx));
    applyCmbLora(unet);
    for (const p of CMB_ADAPTERS) {
      unet.setBayerPattern(p);
      const y = tidy(() => unet.forward(x, 3, ctx));
      expect(await maxDiff(y, y0)).toBeLessThan(1e-6);
      y.dispose();
    }
    for (const t of [x, ctx, y0]) t.dispose();
  });

  it('each pattern has its own trainable parameters; base weights are frozen', () => {
    const unet = new UNet2DConditionModel(cfg);
    const baseCount = unet.parameterCount();
    const info = applyCmbLora(unet, { rank: 2 });
    expect(unet.parameterCount()).toBe(baseCount + info.loraParameters);
    expect(unet.parameterCount(true)).toBe(info.loraParameters);
    const byPattern = new Map(CMB_ADAPTERS.map((p) => [p, unet.namedParameters().filter(([k]) => k.includes(`.${p}.`))]));
    const ids = new Set<number>();
    for (const [p, ps] of byPattern) {
      expect(ps.length, p).toBe(2 * info.paths.length);
      expect(ps.reduce((n, [, t]) => n + t.size, 0)).toBe(info.loraParameters / 4);
      for (const [, t] of ps) {
        expect(t.requiresGrad).toBe(true);
        ids.add(t.id);
      }
    }
    expect(ids.size).toBe(4 * 2 * info.paths.length);
    for (const [k, t] of unet.namedParameters()) if (!k.includes('.lora_')) expect(t.requiresGrad, k).toBe(false);
  });

  it('gradients reach only the active pattern; switching patterns switches the output', async () => {
    const unet = new UNet2DConditionModel(cfg);
    applyCmbLora(unet);
    // Give every B a distinct non-zero value so each pattern computes something different.
    for (const [, layer] of loraLayers(unet)) {
      for (const [pi, p] of CMB_ADAPTERS.entries()) {
        const b = layer.adapter(p).B.weight;
        tidy(() => assignInPlace(b, tensor(Float32Array.from({ length: b.size }, (_, i) => 0.01 * Math.sin(i + 10 * pi)), b.shape)));
      }
    }
    const x = randn([1, cfg.inChannels, 4, 4]);
    const ctx = randn([1, cfg.contextLength, cfg.crossAttentionDim]);
    unet.setBayerPattern('GRBG');
    const yG = tidy(() => unet.forward(x, 7, ctx));
    const loss = tidy(() => yG.square().mean());
    await loss.backward();
    for (const [k, t] of unet.namedParameters()) {
      const active = k.includes('.GRBG.');
      if (active) expect(t.grad, `${k} should get a gradient`).not.toBeNull();
      else expect(t.grad, `${k} should get no gradient`).toBeNull();
    }
    unet.zeroGrad();
    setBayerPattern(unet, 'RGGB');
    const yR = tidy(() => unet.forward(x, 7, ctx));
    expect(await maxDiff(yG, yR)).toBeGreaterThan(1e-5);
    expect(() => setBayerPattern(unet, 'XYZW' as never)).toThrow(/unknown Bayer pattern/);
    for (const t of [x, ctx, yG, yR, loss]) t.dispose();
  });

  it('RVAE: encoder convs only; the decoder stays frozen and untouched', async () => {
    const vae = new AutoencoderKL(MODEL_CONFIGS['tiny-vae']);
    const img = randn([1, 3, 8, 8]);
    const m0 = vae.encodeMoments(img);
    const info = applyCmbLora(vae);
    expect(info.paths.every((p) => p.startsWith('encoder.'))).toBe(true);
    expect(vae.decoder.parameterCount(true)).toBe(0);
    vae.setBayerPattern('BGGR');
    const m1 = vae.encodeMoments(img);
    expect(await maxDiff(m0, m1)).toBeLessThan(1e-6);
    for (const t of [img, m0, m1]) t.dispose();
  });
});

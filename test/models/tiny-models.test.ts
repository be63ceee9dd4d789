/** Tiny configs on the GPU: every block's output shape, whole-model forward shapes, and a full backward. */
import { beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed, randn, tidy, type Tensor } from '../../src/index.js';
import {
  AutoencoderKL, DownBlock2D, DownEncoderBlock2D, MODEL_CONFIGS, NullTextContext, UNet2DConditionModel, UNetMidBlock2D,
  UNetMidBlock2DCrossAttn, UpBlock2D, UpDecoderBlock2D,
} from '../../src/models/index.js';
import { readAll } from '../../src/models/weights-io.js';

beforeAll(async () => {
  await init();
  manualSeed(1);
});

const unetCfg = MODEL_CONFIGS['tiny-unet'];
const vaeCfg = MODEL_CONFIGS['tiny-vae'];

function disposeAll(...ts: (Tensor | Tensor[])[]): void {
  for (const t of ts.flat()) t.dispose();
}

describe('tiny-config block shapes', () => {
  const resnet = { groups: 4, eps: 1e-5, tembChannels: 16 };
  it('UNet down, mid and up blocks (with and without cross-attention)', () => {
    const x = randn([2, 8, 8, 6]);
    const temb = randn([2, 16]);
    const ctx = randn([2, 3, 12]);
    const down = new DownBlock2D(8, 16, 2, true, { resnet, heads: 2, crossAttentionDim: 12 });
    const { out, skips } = down.forward(x, temb, ctx);
    expect(out.shape).toEqual([2, 16, 4, 3]);
    expect(skips.map((s) => s.shape)).toEqual([[2, 16, 8, 6], [2, 16, 8, 6], [2, 16, 4, 3]]);
    const plain = new DownBlock2D(16, 16, 1, false, { resnet, heads: 0, crossAttentionDim: 12 });
    expect(plain.attentions).toHaveLength(0);
    const p = plain.forward(out, temb, null);
    expect(p.out.shape).toEqual([2, 16, 4, 3]);
    const mid = new UNetMidBlock2DCrossAttn(16, { resnet, heads: 4, crossAttentionDim: 12 });
    const m = mid.forward(p.out, temb, ctx);
    expect(m.shape).toEqual([2, 16, 4, 3]);
    // Up block: 3 resnets eat 3 skips (widths 16, 16, 8 for a block mirroring 8 -> 16), then upsample.
    const up = new UpBlock2D(8, 16, 16, 2, true, { resnet, heads: 2, crossAttentionDim: 12 });
    const skipIn = [randn([2, 8, 4, 3]), randn([2, 16, 4, 3]), randn([2, 16, 4, 3])];
    const u = up.forward(m, skipIn, temb, ctx);
    expect(u.shape).toEqual([2, 16, 8, 6]);
    expect(skipIn).toHaveLength(0);
    disposeAll(x, temb, ctx, out, skips, p.out, p.skips, m, u);
  });

  it('VAE encoder/decoder blocks', () => {
    const r = { groups: 4, eps: 1e-6, tembChannels: 0 };
    const x = randn([1, 8, 6, 10]);
    const d = new DownEncoderBlock2D(8, 16, 2, true, r).forward(x);
    expect(d.shape).toEqual([1, 16, 3, 5]);
    const m = new UNetMidBlock2D(16, r).forward(d);
    expect(m.shape).toEqual([1, 16, 3, 5]);
    const u = new UpDecoderBlock2D(16, 8, 1, true, r).forward(m);
    expect(u.shape).toEqual([1, 8, 6, 10]);
    disposeAll(x, d, m, u);
  });
});

describe('tiny models', () => {
  it('tiny-unet forward: [B, 8, h, w] in and out with a null-text context, any timestep form', () => {
    const unet = new UNet2DConditionModel(unetCfg);
    const nullCtx = new NullTextContext(unetCfg);
    const x = randn([2, 8, 8, 12]);
    const ctx = nullCtx.forward(2);
    expect(ctx.shape).toEqual([2, unetCfg.contextLength, unetCfg.crossAttentionDim]);
    const y1 = tidy(() => unet.forward(x, 500, ctx));
    expect(y1.shape).toEqual([2, 8, 8, 12]);
    expect(() => unet.forward(randn([1, 8, 7, 8]), 1, ctx)).toThrow(/multiple of 2/);
    expect(() => unet.forward(x, 1, null)).toThrow(/context/);
    disposeAll(x, ctx, y1);
  });

  it('tiny-vae: encode to [B, 8, H/4, W/4] moments, decode back to [B, 3, H, W]', async () => {
    const vae = new AutoencoderKL(vaeCfg);
    expect(vae.downscale).toBe(4);
    const img = randn([1, 3, 16, 24]);
    const post = vae.encode(img);
    expect(post.mean.shape).toEqual([1, 8, 4, 6]);
    expect(post.logvar.shape).toEqual([1, 8, 4, 6]);
    const z = post.sample();
    const kl = post.kl();
    expect(kl.shape).toEqual([1]);
    expect(await kl.item()).toBeGreaterThanOrEqual(0);
    const rec = vae.decode(z);
    expect(rec.shape).toEqual([1, 3, 16, 24]);
    expect(() => vae.encode(randn([1, 3, 10, 16]))).toThrow(/multiple of 4/);
    disposeAll(img, z, kl, rec);
    post.dispose();
  });

  it('tiny-unet backward: every parameter (and the null context) gets a finite gradient', async () => {
    const unet = new UNet2DConditionModel(unetCfg);
    const nullCtx = new NullTextContext(unetCfg);
    const x = randn([1, 8, 4, 4]);
    const loss = tidy(() => unet.forward(x, 10, nullCtx.forward(1)).square().mean());
    await loss.backward();
    const params = [...unet.namedParameters(), ...nullCtx.namedParameters()];
    for (const [k, p] of params) expect(p.grad, `${k} has no gradient`).not.toBeNull();
    const grads = await readAll(params.map(([, p]) => p.grad!));
    params.forEach(([k], i) => expect(grads[i].every(Number.isFinite), `${k} gradient not finite`).toBe(true));
    unet.zeroGrad();
    nullCtx.zeroGrad();
    disposeAll(x, loss);
  });
});

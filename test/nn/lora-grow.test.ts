/** LoRALayer.growAdapter and RddmSystem.growLora: a wider adapter that adds exactly what the trained one did. */
import { beforeAll, describe, expect, it } from 'vitest';
import { maxDiff } from '../helpers/tensor-diff.js';
import { init, manualSeed, randn, tensor, tidy, noGrad, type Tensor } from '../../src/index.js';
import { Linear } from '../../src/nn/index.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { LoRAConv2d, LoRALinear, loraLayers, loraMaxRank, type LoRALayer } from '../../src/nn/lora.js';
import { assignInPlace } from '../../src/nn/module.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';

beforeAll(async () => {
  await init();
  manualSeed(5);
});

/** Gives every adapter factor non-zero values, as training would. */
function train(l: LoRALayer): void {
  for (const [k, p] of l.namedParameters()) {
    if (!k.includes('lora_')) continue;
    const v = Float32Array.from({ length: p.size }, (_, i) => Math.sin(k.length * 3.7 + i * 1.3) * 0.3);
    tidy(() => assignInPlace(p, tensor(v, p.shape)));
  }
}

describe('growAdapter', () => {
  const cases: [string, () => { layer: LoRALayer; x: Tensor }][] = [
    ['Linear', () => ({ layer: new LoRALinear(new Linear(6, 5), ['a', 'b'], { rank: 2 }), x: randn([3, 6]) })],
    ['Conv2d', () => ({ layer: new LoRAConv2d(new Conv2d(3, 4, 3, { padding: 1 }), ['a', 'b'], { rank: 2 }), x: randn([2, 3, 5, 5]) })],
  ];
  for (const [kind, make] of cases) {
    it(`${kind}: same output after growing, α/r kept, and the new directions receive gradients`, async () => {
      const { layer, x } = make();
      train(layer);
      layer.setAdapter('a');
      const before = noGrad(() => layer.forward(x));
      layer.growAdapter('a', 5);
      expect([layer.adapter('a').rank, layer.scale('a'), layer.adapter('b').rank]).toEqual([5, 1, 2]);
      expect(layer.namedParameters().find(([k]) => k === 'lora_A.a.weight')![1].shape[0]).toBe(5);
      const after = noGrad(() => layer.forward(x));
      expect(await maxDiff(after, before)).toBeLessThan(1e-5);
      // B's new columns are zero but A's new rows are not, so B's columns get a gradient at once.
      const b = layer.adapter('a').B.weight;
      await tidy(() => layer.forward(x).square().sum()).backward();
      const g = await b.grad!.data();
      const r = 5, cols = b.shape[1];
      expect(cols).toBe(r);
      let newGrad = 0;
      for (let o = 0; o < b.shape[0]; o++) for (let c = 2; c < r; c++) newGrad += Math.abs(g[o * r + c]); // [out, r] or [out, r, 1, 1]
      expect(newGrad).toBeGreaterThan(0);
      expect(() => layer.growAdapter('a', 3)).toThrow(/rank 5; it can grow/);
    });
  }

  it('CMB-LoRA refuses a rank above a layer\'s min(outputs, inputs), which loadLora could not read back, before changing anything', () => {
    // Linear 6 → 5: at most 5; Conv2d 3 → 4 with 3×3 kernels: min(4, 27) = 4.
    expect(loraMaxRank([5, 6])).toBe(5);
    expect(loraMaxRank([4, 3, 3, 3])).toBe(4);
    expect(() => new RddmSystem({ ...DEFAULT_RDDM_CONFIG, vae: 'tiny-vae-x2', unet: 'tiny-unet', loraRank: 17 }).applyLora()).toThrow(/applyCmbLora: rank 17 exceeds 16/);
    const model = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, vae: 'tiny-vae-x2', unet: 'tiny-unet' });
    model.applyLora();
    expect(() => model.growLora(17)).toThrow(/rank 17 exceeds 16, the most layer 'encoder\.conv_out'/);
    expect(loraLayers(model.raw_encoder).every(([, l]) => l.adapter('RGGB').rank === 4)).toBe(true);
  });

  it('refuses to grow a merged adapter', () => {
    const l = new LoRALinear(new Linear(4, 4), ['a'], { rank: 2 }).setAdapter('a');
    l.merge();
    expect(() => l.growAdapter('a', 4)).toThrow(/merged.*unmerge/);
  });
});

describe('RddmSystem.growLora', () => {
  it('widens every CMB-LoRA of E_raw and the UNet and keeps the one-step restoration', async () => {
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, vae: 'tiny-vae-x2', timestep: 250, loraRank: 2 });
    sys.applyLora();
    for (const m of [sys.raw_encoder, sys.unet]) for (const [, l] of loraLayers(m)) train(l);
    sys.eval();
    const lq = tensor(Float32Array.from({ length: 16 * 16 }, (_, i) => 0.1 + 0.05 * Math.sin(i * 0.37)), [1, 1, 16, 16]);
    const before = noGrad(() => sys.restoreOneStep(lq, 'GBRG').image);
    sys.growLora(6);
    expect(sys.config.loraRank).toBe(6);
    const ranks = new Set([sys.raw_encoder, sys.unet].flatMap((m) => loraLayers(m).flatMap(([, l]) => l.adapterNames.map((n) => l.adapter(n).rank))));
    expect([...ranks]).toEqual([6]);
    const after = noGrad(() => sys.restoreOneStep(lq, 'GBRG').image);
    expect(await maxDiff(after, before)).toBeLessThan(1e-4);
    expect(() => sys.growLora(3)).toThrow(/rank 6; it can grow, not shrink/);
  }, 60_000);
});

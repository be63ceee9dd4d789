// The lean config family (no attention at the latent's full resolution; issue 26): expressed as diffusers would
// (DownBlock2D / UpBlock2D at a level without attention, mid_block_add_attention false in the VAE), so that the
// configs map both ways and `rddm export` → `rddm import` gives the weights back bit for bit.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, manualSeed } from '../../src/index.js';
import { MODEL_CONFIGS, type UNetConfig, type VaeConfig } from '../../src/models/configs.js';
import { namedConfigFor, unetConfigFromDiffusers, unetConfigToDiffusers, vaeConfigFromDiffusers, vaeConfigToDiffusers } from '../../src/models/diffusers-config.js';
import { AutoencoderKL } from '../../src/models/vae.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../../src/rddm/system.js';
import { exportDiffusersDir, loadRddmDir, saveRddmDir } from '../../src/node/rddm-weights.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-lean-'));
beforeAll(async () => {
  await init();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hashes = (d: string) => Object.fromEntries(readdirSync(d).map((f) => [f, createHash('sha256').update(readFileSync(join(d, f))).digest('hex')]));

describe('lean configs', () => {
  it('map to diffusers config.json and back, and are found again by name', () => {
    for (const name of ['lean-unet-2', 'lean-unet-3', 'lean-unet-3a', 'lean-unet-3w'] as const) {
      const c = MODEL_CONFIGS[name] as UNetConfig;
      expect(c.downBlockTypes[0]).toBe('DownBlock2D');
      expect(c.upBlockTypes[c.upBlockTypes.length - 1]).toBe('UpBlock2D');
      const back = unetConfigFromDiffusers(unetConfigToDiffusers(c), name, c.contextLength);
      expect(back).toEqual(c);
      expect(namedConfigFor(back)).toBe(name);
    }
    const v = MODEL_CONFIGS['lean-vae-x2'] as VaeConfig;
    const json = vaeConfigToDiffusers(v);
    expect(json.mid_block_add_attention).toBe(false);
    expect(vaeConfigFromDiffusers(json)).toEqual(v);
    expect(namedConfigFor(vaeConfigFromDiffusers(json))).toBe('lean-vae-x2');
    // An SD-style config (attention on, written or left out) is still the configs without the field.
    expect(namedConfigFor(vaeConfigFromDiffusers(vaeConfigToDiffusers(MODEL_CONFIGS['tiny-vae-x2'])))).toBe('tiny-vae-x2');
    expect(() => vaeConfigFromDiffusers({ ...json, mid_block_add_attention: 'no' })).toThrow(/mid_block_add_attention/);
  });

  it('lean-vae-x2 has no mid-block attention weights, as diffusers with add_attention=False', () => {
    const names = new AutoencoderKL(MODEL_CONFIGS['lean-vae-x2']).namedParameters().map(([n]) => n);
    const withAttn = new AutoencoderKL(MODEL_CONFIGS['tiny-vae-x2']).namedParameters().map(([n]) => n);
    expect(names.some((n) => n.includes('attentions'))).toBe(false);
    expect(withAttn.filter((n) => !n.includes('attentions'))).toEqual(names);
  });

  it('an RDDM of lean-vae-x2 + lean-unet-3 exports to diffusers and imports back bit for bit', async () => {
    manualSeed(3);
    const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, vae: 'lean-vae-x2', unet: 'lean-unet-3', loraRank: 4, timestep: 250, exposurePerChannel: true });
    sys.applyLora();
    sys.nameParameters();
    await saveRddmDir(sys, join(dir, 'ours'));
    await exportDiffusersDir(sys, join(dir, 'export'));
    const unetJson = JSON.parse(readFileSync(join(dir, 'export', 'unet', 'config.json'), 'utf8'));
    expect(unetJson.down_block_types).toEqual(['DownBlock2D', 'DownBlock2D', 'DownBlock2D']);
    expect(JSON.parse(readFileSync(join(dir, 'export', 'vae', 'config.json'), 'utf8')).mid_block_add_attention).toBe(false);
    const { sys: back } = await loadRddmDir(join(dir, 'export'));
    expect(back.config.vae).toBe('lean-vae-x2');
    expect(back.config.unet).toBe('lean-unet-3');
    await saveRddmDir(back, join(dir, 'imported'));
    expect(hashes(join(dir, 'imported'))).toEqual(hashes(join(dir, 'ours')));
  }, 60_000);
});

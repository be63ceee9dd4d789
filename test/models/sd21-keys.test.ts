/**
 * Full-size SD 2.1 architectures built from meta tensors (shapes only: no GPU, no memory) compared with the
 * published diffusers key sets in test/models/data (see gen-sd21-keys.mjs for how those were derived and checked).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { withMetaTensors } from '../../src/index.js';
import { applyCmbLora, buildModel, getModelConfig, MODEL_CONFIG_NAMES, summarizeModel, baseParameters } from '../../src/models/index.js';

const published = (name: string): Record<string, number[]> => JSON.parse(readFileSync(new URL(`./data/${name}-keys.json`, import.meta.url), 'utf8'));
const shapesOf = (name: string) => withMetaTensors(() => buildModel(getModelConfig(name)).namedParameters().map(([k, t]) => [k, [...t.shape]] as [string, number[]]));

describe('SD 2.1 key sets (meta tensors)', () => {
  for (const [name, params, tensors] of [['sd21-unet', 865_910_724, 686], ['sd21-vae', 83_653_863, 248]] as const) {
    it(`${name}: names and shapes equal diffusers', in diffusers' order`, () => {
      const mine = shapesOf(name);
      const ref = published(name);
      expect(Object.fromEntries(mine)).toEqual(ref);
      expect(mine.map(([k]) => k)).toEqual(Object.keys(ref));
    });
    it(`${name}: ${params.toLocaleString('en-US')} parameters in ${tensors} tensors`, () => {
      const s = summarizeModel(name);
      expect(s.parameters).toBe(params);
      expect(s.tensors).toBe(tensors);
      expect(s.trainable).toBe(params);
      expect(s.blocks.reduce((n, b) => n + b.parameters, 0)).toBe(params);
    });
  }

  it('sd21-unet per-block counts split as diffusers lays them out', () => {
    const blocks = Object.fromEntries(summarizeModel('sd21-unet').blocks.map((b) => [b.name, b.parameters]));
    expect(blocks.conv_in).toBe(4 * 320 * 9 + 320);
    expect(blocks.time_embedding).toBe(320 * 1280 + 1280 + 1280 * 1280 + 1280);
    expect(blocks.conv_out).toBe(320 * 4 * 9 + 4);
    expect(Object.keys(blocks)).toEqual(['conv_in', 'time_embedding', 'down_blocks.0', 'down_blocks.1', 'down_blocks.2', 'down_blocks.3', 'up_blocks.0', 'up_blocks.1', 'up_blocks.2', 'up_blocks.3', 'mid_block', 'conv_norm_out', 'conv_out']);
  });

  it('CMB-LoRA keeps the base names and adds PEFT-named adapters per Bayer pattern', () => {
    withMetaTensors(() => {
      const unet = buildModel(getModelConfig('sd21-unet'));
      const info = applyCmbLora(unet);
      const base = [...baseParameters(unet)].map(([k, t]) => [k, [...t.shape]]);
      expect(Object.fromEntries(base)).toEqual(published('sd21-unet'));
      const names = new Map(unet.namedParameters().map(([k, t]) => [k, [...t.shape]]));
      const q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
      for (const p of ['RGGB', 'BGGR', 'GRBG', 'GBRG']) {
        expect(names.get(`${q}.lora_A.${p}.weight`)).toEqual([4, 320]);
        expect(names.get(`${q}.lora_B.${p}.weight`)).toEqual([320, 4]);
        expect(names.get(`conv_in.lora_A.${p}.weight`)).toEqual([4, 4, 3, 3]);
        expect(names.get(`conv_in.lora_B.${p}.weight`)).toEqual([320, 4, 1, 1]);
        expect(names.get(`up_blocks.1.resnets.0.conv1.lora_A.${p}.weight`)).toEqual([4, 2560, 3, 3]);
        expect(names.get(`mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.lora_A.${p}.weight`)).toEqual([4, 1280]);
      }
      // Every attention q/k/v/out (2 per transformer, 16 transformers), both FF projections, every resnet conv1/conv2 (22 resnets), conv_in.
      expect(info.paths.length).toBe(16 * 2 * 4 + 16 * 2 + 22 * 2 + 1);
      expect(info.trainableParameters).toBe(info.loraParameters);
      expect(info.paths.every((p) => !p.includes('proj_in') && !p.includes('time_emb_proj'))).toBe(true);
    });
  });

  it('RVAE CMB-LoRA wraps every encoder conv and nothing in the decoder', () => {
    withMetaTensors(() => {
      const vae = buildModel(getModelConfig('sd21-vae'));
      const info = applyCmbLora(vae);
      expect(info.paths.every((p) => p.startsWith('encoder.'))).toBe(true);
      // conv_in, 8 down + 2 mid resnets × 2 convs, 3 downsamplers, conv_shortcuts 128→256 and 256→512, conv_out
      expect(info.paths.length).toBe(1 + (8 + 2) * 2 + 3 + 2 + 1);
      expect(vae.parameterCount(true)).toBe(info.loraParameters);
    });
  });

  it('every named config builds and summarises', () => {
    for (const name of MODEL_CONFIG_NAMES) {
      const s = summarizeModel(name, { size: 64 });
      expect(s.parameters).toBeGreaterThan(0);
      expect(s.activations.trainingBytes).toBeGreaterThan(s.activations.largestTensorBytes);
      expect(s.cmbLora.parameters).toBe(4 * s.cmbLora.perPattern);
    }
    // Tiny configs stay tiny: they train on a CPU adapter.
    expect(summarizeModel('tiny-unet', { size: 64 }).parameters).toBeLessThan(2_000_000);
    expect(summarizeModel('tiny-vae', { size: 64 }).parameters).toBeLessThan(2_000_000);
  });

  it('SD 2.1 activations at 512: the decoder holds a 256-channel 512x512 tensor, over one 128 MiB binding', () => {
    const a = summarizeModel('sd21-vae', { size: 512 }).activations;
    expect(a.largestTensorBytes).toBe(256 * 512 * 512 * 4);
    expect(a.largestTensor).toContain('decoder.up_blocks.2');
  });
});

describe('rddm model', () => {
  async function run(args: string[]): Promise<{ code: number; out: string }> {
    const { model } = await import('../../src/cli/commands/model.js');
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      return { code: await model.run(args), out: lines.join('\n') };
    } finally {
      console.log = orig;
    }
  }
  it('--json reports counts, blocks, CMB-LoRA and activations without a GPU', async () => {
    const { code, out } = await run(['--config', 'sd21-unet', '--json', '--size', '768']);
    expect(code).toBe(0);
    const s = JSON.parse(out);
    expect(s.parameters).toBe(865_910_724);
    expect(s.tensors).toBe(686);
    expect(s.resolution.latent).toEqual([96, 96]);
    expect(s.cmbLora.layers).toBe(205);
  });
  it('prints a table, and refuses unknown configs and sizes the UNet cannot take', async () => {
    const { out } = await run(['--config', 'sd21-vae']);
    expect(out).toContain('83,653,863 in 248 tensors');
    expect(out).toMatch(/largest tensor\s+256\.0 MiB in decoder\.up_blocks\.2.*storage-binding limit/);
    await expect(run(['--config', 'sd15'])).rejects.toThrow(/unknown config 'sd15'; known: sd21-unet/);
    await expect(run(['--config', 'sd21-unet', '--size', '500'])).rejects.toThrow(/multiple of 64/);
  });
});

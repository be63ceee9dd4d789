/** diffusers' config.json ↔ our configs: SD 2.1's published configs, the head-count trap, and errors naming the field. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MODEL_CONFIGS } from '../../src/models/configs.js';
import { architectureKey, namedConfigFor, unetConfigFromDiffusers, unetConfigToDiffusers, vaeConfigFromDiffusers, vaeConfigToDiffusers } from '../../src/models/diffusers-config.js';
import { checkRddmConfig } from '../../src/rddm/manifest.js';
import { ConfigCheck } from '../../src/io/config-check.js';
import { PYTORCH_LOADING_CODE } from '../../src/rddm/diffusers-readme.js';

const sd21 = (name: string) => JSON.parse(readFileSync(new URL(`./diffusers/sd21/${name}-config.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('diffusers config.json', () => {
  it("SD 2.1's unet/config.json is sd21-unet: attention_head_dim [5, 10, 20, 20] is the number of heads (64 wide)", () => {
    const c = unetConfigFromDiffusers(sd21('unet'));
    expect(c).toEqual(MODEL_CONFIGS['sd21-unet']);
    expect(c.numAttentionHeads).toEqual([5, 10, 20, 20]);
    expect(c.blockOutChannels.map((ch, i) => ch / c.numAttentionHeads[i])).toEqual([64, 64, 64, 64]);
    expect(namedConfigFor(c)).toBe('sd21-unet');
    const out = unetConfigToDiffusers(c);
    expect(out.attention_head_dim).toEqual([5, 10, 20, 20]);
    // diffusers' UNet2DConditionModel refuses num_attention_heads ("naming issue"): it must stay null.
    expect(out.num_attention_heads).toBeNull();
    // Every field of the published config is written with the same value (sample_size is the pipeline's).
    for (const [k, v] of Object.entries(sd21('unet'))) if (!k.startsWith('_') && k !== 'sample_size') expect(out[k], k).toEqual(v);
    expect(unetConfigFromDiffusers(out)).toEqual(c);
  });

  it("SD 2.1's vae/config.json is sd21-vae (scaling_factor defaults to 0.18215, as in diffusers)", () => {
    const c = vaeConfigFromDiffusers(sd21('vae'));
    expect(c).toEqual(MODEL_CONFIGS['sd21-vae']);
    expect(namedConfigFor(c)).toBe('sd21-vae');
    const out = vaeConfigToDiffusers(c);
    for (const [k, v] of Object.entries(sd21('vae'))) if (!k.startsWith('_') && k !== 'sample_size') expect(out[k], k).toEqual(v);
    expect(vaeConfigFromDiffusers(out)).toEqual(c);
    // The architecture ignores the latent scale: the RDDM VAE with its measured scale is still tiny-vae-x2.
    expect(namedConfigFor({ ...MODEL_CONFIGS['tiny-vae-x2'], scalingFactor: 0.327 })).toBe('tiny-vae-x2');
    expect(architectureKey(MODEL_CONFIGS['tiny-vae'])).not.toBe(architectureKey(MODEL_CONFIGS['tiny-vae-x2']));
  });

  it('one head count for every block (SD 1.x style int) expands to a list; the context length is ours to give', () => {
    const c = unetConfigFromDiffusers({ ...sd21('unet'), attention_head_dim: 8 }, 'x', 16);
    expect(c.numAttentionHeads).toEqual([8, 8, 8, 8]);
    expect(c.contextLength).toBe(16);
    expect(namedConfigFor(c)).toBeNull();
  });

  it('a field rddm does not implement fails naming the field and the file', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ use_linear_projection: false }, /unet\/config\.json: use_linear_projection = false is not supported.*SD 1\.x's 1x1-conv proj_in/],
      [{ num_attention_heads: [5, 10, 20, 20] }, /num_attention_heads = \[5,10,20,20\] is not supported.*put the number of heads in attention_head_dim/],
      [{ layers_per_block: [2, 1, 2, 2] }, /layers_per_block = \[2,1,2,2\] varies per block/],
      [{ attention_head_dim: [5, 10, 20] }, /attention_head_dim has 3 entries; there are 4 blocks/],
      [{ class_embed_type: 'timestep' }, /class_embed_type = "timestep" is not supported/],
      [{ addition_embed_type: 'text_time' }, /addition_embed_type = "text_time" is not supported/],
      [{ transformer_layers_per_block: 2 }, /transformer_layers_per_block must be 1/],
      [{ time_cond_proj_dim: 256 }, /time_cond_proj_dim = 256 is not supported/],
      [{ resnet_time_scale_shift: 'scale_shift' }, /resnet_time_scale_shift = "scale_shift" is not supported/],
      [{ some_new_field: 1 }, /some_new_field is not a UNet2DConditionModel field that rddm knows/],
      [JSON.parse('{"constructor": 1}'), /constructor is not a UNet2DConditionModel field that rddm knows/],
      [{ _class_name: 'UNet2DModel' }, /_class_name is "UNet2DModel"; this loader reads UNet2DConditionModel configs/],
      [{ block_out_channels: [320, 640, 1280, 1000] }, /blockOutChannels\[3\] = 1000 is not divisible by normNumGroups = 32/],
      [{ down_block_types: ['CrossAttnDownBlock2D', 'SimpleCrossAttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'] }, /down_block_types\[1\] must be one of CrossAttnDownBlock2D, DownBlock2D/],
    ];
    for (const [patch, msg] of bad) expect(() => unetConfigFromDiffusers({ ...sd21('unet'), ...patch }, 'SD/unet/config.json'), JSON.stringify(patch)).toThrow(msg);
    expect(() => vaeConfigFromDiffusers({ ...sd21('vae'), use_quant_conv: false }, 'v/config.json')).toThrow(/v\/config\.json: use_quant_conv = false is not supported/);
    expect(() => vaeConfigFromDiffusers({ ...sd21('vae'), down_block_types: ['DownEncoderBlock2D'] })).toThrow(/down_block_types has 1 entries; block_out_channels has 4/);
    expect(() => vaeConfigFromDiffusers({ ...sd21('vae'), latents_mean: [0, 0, 0, 0] })).toThrow(/latents_mean = \[0,0,0,0\] is not supported/);
  });

  it('an RDDM config may hold inline model configs (imported architectures), validated field by field', () => {
    const k = new ConfigCheck('m.json');
    const vae = { ...MODEL_CONFIGS['tiny-vae-x2'], blockOutChannels: [16, 24] };
    const unet = { ...MODEL_CONFIGS['tiny-unet'], contextLength: 7 };
    const c = checkRddmConfig({ vae, unet, latentScale: 0.5, timestep: 250, loraRank: 4 }, k);
    expect(c.vae).toEqual(vae);
    expect(c.unet).toEqual(unet);
    expect(() => checkRddmConfig({ vae: { ...vae, extra: 1 }, unet, latentScale: 0.5, timestep: 250, loraRank: 4 }, k)).toThrow(/m\.json: config\.vae\.extra is not a VAE config field/);
    expect(() => checkRddmConfig({ vae: { ...vae, normNumGroups: 5 }, unet, latentScale: 0.5, timestep: 250, loraRank: 4 }, k)).toThrow(/config\.vae.*blockOutChannels\[0\] = 16 is not divisible by normNumGroups = 5/);
    expect(() => checkRddmConfig({ vae: { ...vae, latentChannels: 4 }, unet, latentScale: 0.5, timestep: 250, loraRank: 4 }, k)).toThrow(/config\.unet inline UNet config has 8 input channels but VAE inline VAE config has 4 latent channels/);
  });

  it("the README's PyTorch loading code is the one every export's README.md carries", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain('## Continue in PyTorch');
    expect(readme).toContain('```python\n' + PYTORCH_LOADING_CODE + '\n```');
  });
});

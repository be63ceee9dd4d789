// Writes sd21-unet-keys.json and sd21-vae-keys.json: the state-dict names and shapes of Stable Diffusion 2.1's
// UNet2DConditionModel and AutoencoderKL as diffusers builds them, in diffusers' registration order.
//
// This is deliberately NOT derived from src/models: it was written by reading diffusers' constructors
// (unet_2d_condition.py, unet_2d_blocks.py, resnet.py, transformer_2d.py, attention.py, attention_processor.py,
// autoencoders/vae.py, autoencoder_kl.py) and SD 2.1's unet/vae config.json, so the test that compares the two
// catches a mistake in either. Its totals are checked against the published counts before anything is written:
// UNet 865,910,724 parameters in 686 tensors, VAE 83,653,863 parameters in 248 tensors.
//
// Run: node test/models/data/gen-sd21-keys.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function builder() {
  const keys = [];
  const add = (name, shape) => keys.push([name, shape]);
  const linear = (p, i, o, bias = true) => { add(`${p}.weight`, [o, i]); if (bias) add(`${p}.bias`, [o]); };
  const conv = (p, i, o, k) => { add(`${p}.weight`, [o, i, k, k]); add(`${p}.bias`, [o]); };
  const norm = (p, c) => { add(`${p}.weight`, [c]); add(`${p}.bias`, [c]); };
  // resnet.py ResnetBlock2D: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut (1x1, when in != out)
  const resnet = (p, i, o, temb) => {
    norm(`${p}.norm1`, i); conv(`${p}.conv1`, i, o, 3);
    if (temb) linear(`${p}.time_emb_proj`, temb, o);
    norm(`${p}.norm2`, o); conv(`${p}.conv2`, o, o, 3);
    if (i !== o) conv(`${p}.conv_shortcut`, i, o, 1);
  };
  // attention_processor.py Attention: (group_norm), to_q, to_k, to_v (bias per `bias`), to_out.0 (bias)
  const attention = (p, q, kv, bias, groupNorm) => {
    if (groupNorm) norm(`${p}.group_norm`, q);
    linear(`${p}.to_q`, q, q, bias); linear(`${p}.to_k`, kv, q, bias); linear(`${p}.to_v`, kv, q, bias);
    linear(`${p}.to_out.0`, q, q);
  };
  // transformer_2d.py (continuous input, use_linear_projection) + attention.py BasicTransformerBlock, GEGLU FF
  const transformer = (p, c, cross) => {
    norm(`${p}.norm`, c); linear(`${p}.proj_in`, c, c);
    const b = `${p}.transformer_blocks.0`;
    norm(`${b}.norm1`, c); attention(`${b}.attn1`, c, c, false);
    norm(`${b}.norm2`, c); attention(`${b}.attn2`, c, cross, false);
    norm(`${b}.norm3`, c);
    linear(`${b}.ff.net.0.proj`, c, 8 * c); linear(`${b}.ff.net.2`, 4 * c, c);
    linear(`${p}.proj_out`, c, c);
  };
  return { keys, add, linear, conv, norm, resnet, attention, transformer };
}

function sd21Unet() {
  const b = builder();
  const ch = [320, 640, 1280, 1280], temb = 1280, cross = 1024, layers = 2;
  const down = ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'];
  const up = ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'];
  // unet_2d_condition.py registers conv_in, time_embedding, then the down_blocks and up_blocks ModuleLists
  // (filled later), then mid_block, conv_norm_out, conv_out; state_dict order follows registration.
  b.conv('conv_in', 4, ch[0], 3);
  b.linear('time_embedding.linear_1', ch[0], temb); b.linear('time_embedding.linear_2', temb, temb);
  let out = ch[0];
  for (let i = 0; i < 4; i++) {
    const inC = out; out = ch[i];
    const p = `down_blocks.${i}`;
    // CrossAttnDownBlock2D registers attentions before resnets.
    if (down[i].startsWith('CrossAttn')) for (let j = 0; j < layers; j++) b.transformer(`${p}.attentions.${j}`, out, cross);
    for (let j = 0; j < layers; j++) b.resnet(`${p}.resnets.${j}`, j === 0 ? inC : out, out, temb);
    if (i < 3) b.conv(`${p}.downsamplers.0.conv`, out, out, 3);
  }
  const rev = [...ch].reverse();
  let prev = rev[0];
  for (let i = 0; i < 4; i++) {
    const outC = rev[i], inC = rev[Math.min(i + 1, 3)];
    const p = `up_blocks.${i}`;
    if (up[i].startsWith('CrossAttn')) for (let j = 0; j <= layers; j++) b.transformer(`${p}.attentions.${j}`, outC, cross);
    for (let j = 0; j <= layers; j++) {
      const skip = j === layers ? inC : outC;
      const resIn = j === 0 ? prev : outC;
      b.resnet(`${p}.resnets.${j}`, resIn + skip, outC, temb);
    }
    if (i < 3) b.conv(`${p}.upsamplers.0.conv`, outC, outC, 3);
    prev = outC;
  }
  // UNetMidBlock2DCrossAttn registers attentions, then resnets.
  b.transformer('mid_block.attentions.0', ch[3], cross);
  b.resnet('mid_block.resnets.0', ch[3], ch[3], temb); b.resnet('mid_block.resnets.1', ch[3], ch[3], temb);
  b.norm('conv_norm_out', ch[0]); b.conv('conv_out', ch[0], 4, 3);
  return b.keys;
}

function sd21Vae() {
  const b = builder();
  const ch = [128, 256, 512, 512], latent = 4, layers = 2;
  // vae.py UNetMidBlock2D: attentions registered before resnets; Attention with group_norm, biased q/k/v.
  const mid = (p, c) => {
    b.attention(`${p}.attentions.0`, c, c, true, true);
    b.resnet(`${p}.resnets.0`, c, c, 0); b.resnet(`${p}.resnets.1`, c, c, 0);
  };
  // Encoder: conv_in, down_blocks (DownEncoderBlock2D: resnets, downsamplers), mid_block, conv_norm_out, conv_out
  b.conv('encoder.conv_in', 3, ch[0], 3);
  let out = ch[0];
  for (let i = 0; i < 4; i++) {
    const inC = out; out = ch[i];
    for (let j = 0; j < layers; j++) b.resnet(`encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? inC : out, out, 0);
    if (i < 3) b.conv(`encoder.down_blocks.${i}.downsamplers.0.conv`, out, out, 3);
  }
  mid('encoder.mid_block', ch[3]);
  b.norm('encoder.conv_norm_out', ch[3]); b.conv('encoder.conv_out', ch[3], 2 * latent, 3);
  // Decoder: conv_in, up_blocks (UpDecoderBlock2D: layers+1 resnets, upsamplers), mid_block, conv_norm_out, conv_out
  b.conv('decoder.conv_in', latent, ch[3], 3);
  const rev = [...ch].reverse();
  out = rev[0];
  for (let i = 0; i < 4; i++) {
    const prev = out; out = rev[i];
    for (let j = 0; j <= layers; j++) b.resnet(`decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? prev : out, out, 0);
    if (i < 3) b.conv(`decoder.up_blocks.${i}.upsamplers.0.conv`, out, out, 3);
  }
  mid('decoder.mid_block', ch[3]);
  b.norm('decoder.conv_norm_out', ch[0]); b.conv('decoder.conv_out', ch[0], 3, 3);
  // AutoencoderKL registers encoder, decoder, quant_conv, post_quant_conv.
  b.conv('quant_conv', 2 * latent, 2 * latent, 1); b.conv('post_quant_conv', latent, latent, 1);
  return b.keys;
}

function check(name, keys, params, tensors) {
  const n = keys.reduce((s, [, shape]) => s + shape.reduce((a, d) => a * d, 1), 0);
  if (n !== params || keys.length !== tensors) throw new Error(`${name}: ${n} parameters in ${keys.length} tensors; published: ${params} in ${tensors}`);
  if (new Set(keys.map(([k]) => k)).size !== keys.length) throw new Error(`${name}: duplicate names`);
}

const here = dirname(fileURLToPath(import.meta.url));
const unet = sd21Unet(), vae = sd21Vae();
check('unet', unet, 865_910_724, 686);
check('vae', vae, 83_653_863, 248);
const json = (keys) => `{\n${keys.map(([k, s]) => `  ${JSON.stringify(k)}: [${s.join(', ')}]`).join(',\n')}\n}\n`;
writeFileSync(join(here, 'sd21-unet-keys.json'), json(unet));
writeFileSync(join(here, 'sd21-vae-keys.json'), json(vae));
console.log(`unet: ${unet.length} tensors; vae: ${vae.length} tensors; counts match the published ones`);

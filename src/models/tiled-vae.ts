import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { noGrad } from '../autograd/graph.js';
import type { GroupNorm } from '../nn/group-norm.js';
import type { AutoencoderKL } from './vae.js';
import type { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet-block.js';
import type { UNetMidBlock2D } from './unet-blocks.js';
import { mib, splitAxis, TiledMap, TileOverflowError, TileRunner, type StageSpec } from './tile-runner.js';

/**
 * Tiled VAE encode/decode for images whose activations exceed a storage binding (a 512x512 decoder activation of
 * 128 channels is 134 MB, over the 128 MiB limit common on WebGPU) or the memory at hand. The network runs stage
 * by stage (a stage: the convolutions between two GroupNorms), each stage tile by tile with a halo as wide as its
 * receptive field; every GroupNorm uses statistics reduced over all tiles, and the mid block's self-attention runs
 * once over the whole latent (f² times smaller than the image). So the tiles add up to the untiled pass, to
 * float32 rounding, with no overlap or blending, while only one tile's working set is allocated at a time (plus
 * the stage's input and output maps, held as one tensor per tile).
 */
export interface TileOptions {
  /** Tile side in image pixels, a multiple of the VAE factor (default 256); the image splits into near-equal tiles no larger. */
  tileSize?: number;
  /** @deprecated Tiles are exact now, so nothing is cross-faded; ignored. */
  overlap?: number;
  /** @deprecated Each stage reads the halo its receptive field needs; ignored. */
  halo?: number;
  /** Largest tensor, in bytes, one tile may allocate (default: the device's maxStorageBufferBindingSize). */
  maxBindingBytes?: number;
}

const CONV3: Pick<StageSpec, 'halo' | 'ratio'> = { halo: [1, 1], ratio: 1 };

/** diffusers' ResnetBlock2D without timestep: two stages, GroupNorm-SiLU-conv each, the shortcut added in the second. */
function resnet(run: TileRunner, r: ResnetBlock2D, x: TiledMap, name: string): TiledMap {
  if (r.time_emb_proj) throw new Error(`${name}: tiled VAE blocks take no timestep embedding`);
  const spec = { ...CONV3, outChannels: r.outChannels };
  const n1 = run.normalizer(x, r.norm1, true);
  const h = run.stage(`${name}.conv1`, [{ map: x, norm: n1 }], spec, ([t]) => r.conv1.forward(t));
  n1.dispose();
  const n2 = run.normalizer(h, r.norm2, true);
  const out = run.stage(`${name}.conv2`, [{ map: h, norm: n2 }, { map: x, core: true }], spec, ([t, skip], crop) =>
    (r.conv_shortcut ? r.conv_shortcut.forward(skip) : skip).add(crop(r.conv2.forward(t))),
  );
  n2.dispose();
  h.dispose();
  x.dispose();
  return out;
}

/** The VAE's stride-2 conv pads only right and bottom: a tile needs one row and column of context after its block. */
function downsample(run: TileRunner, d: Downsample2D, x: TiledMap, name: string): TiledMap {
  if (d.padding !== 'right-bottom') throw new Error(`${name}: tiled VAE expects the VAE's right/bottom-padded downsampler`);
  const out = run.stage(name, [{ map: x }], { halo: [0, 1], ratio: 0.5, outChannels: d.channels }, ([t]) => d.forward(t));
  x.dispose();
  return out;
}

function upsample(run: TileRunner, u: Upsample2D, x: TiledMap, name: string): TiledMap {
  const out = run.stage(name, [{ map: x }], { halo: [1, 1], ratio: 2, outChannels: u.channels }, ([t]) => u.forward(t));
  x.dispose();
  return out;
}

function midBlock(run: TileRunner, m: UNetMidBlock2D, x: TiledMap, name: string): TiledMap {
  let h = resnet(run, m.resnets[0], x, `${name}.resnets.0`);
  const attn = m.attentions[0];
  if (attn) h = run.global(`${name}.attentions.0`, h, h.channels, (t) => attn.forwardSpatial(t));
  return resnet(run, m.resnets[1], h, `${name}.resnets.1`);
}

/** conv_norm_out, SiLU and the output convolution(s). */
function head(run: TileRunner, x: TiledMap, norm: GroupNorm, name: string, outChannels: number, conv: (t: Tensor) => Tensor): TiledMap {
  const n = run.normalizer(x, norm, true);
  const out = run.stage(name, [{ map: x, norm: n }], { ...CONV3, outChannels }, ([t]) => conv(t));
  n.dispose();
  x.dispose();
  return out;
}

function encodeProgram(run: TileRunner, vae: AutoencoderKL, x: Tensor): Tensor {
  const enc = vae.encoder;
  const c = vae.config;
  let h = run.stage('encoder.conv_in', [{ map: TiledMap.whole(x) }], { ...CONV3, outChannels: c.blockOutChannels[0] }, ([t]) => enc.conv_in.forward(t));
  enc.down_blocks.forEach((b, i) => {
    b.resnets.forEach((r, j) => (h = resnet(run, r, h, `encoder.down_blocks.${i}.resnets.${j}`)));
    for (const d of b.downsamplers) h = downsample(run, d, h, `encoder.down_blocks.${i}.downsamplers.0`);
  });
  h = midBlock(run, enc.mid_block, h, 'encoder.mid_block');
  h = head(run, h, enc.conv_norm_out, 'encoder.conv_out', 2 * c.latentChannels, (t) => vae.quant_conv.forward(enc.conv_out.forward(t)));
  return run.join('encoder moments', h);
}

function decodeProgram(run: TileRunner, vae: AutoencoderKL, z: Tensor): Tensor {
  const dec = vae.decoder;
  const c = vae.config;
  const top = c.blockOutChannels[c.blockOutChannels.length - 1];
  let h = run.stage('decoder.conv_in', [{ map: TiledMap.whole(z) }], { ...CONV3, outChannels: top }, ([t]) => dec.conv_in.forward(vae.post_quant_conv.forward(t)));
  h = midBlock(run, dec.mid_block, h, 'decoder.mid_block');
  dec.up_blocks.forEach((b, i) => {
    b.resnets.forEach((r, j) => (h = resnet(run, r, h, `decoder.up_blocks.${i}.resnets.${j}`)));
    for (const u of b.upsamplers) h = upsample(run, u, h, `decoder.up_blocks.${i}.upsamplers.0`);
  });
  h = head(run, h, dec.conv_norm_out, 'decoder.conv_out', c.outChannels, (t) => dec.conv_out.forward(t));
  return run.join('decoded image', h);
}

/**
 * Checks every tile's sizes first (no kernels run), so a tile size that cannot fit fails at once with the largest one
 * that does; then runs `program` tile by tile, without autograd.
 */
function runTiled(vae: AutoencoderKL, what: string, input: Tensor, cells: readonly [number, number], opts: TileOptions, program: (run: TileRunner) => Tensor): Tensor {
  const f = vae.downscale;
  const size = opts.tileSize ?? 256;
  if (!Number.isInteger(size) || size < f || size % f) throw new Error(`tiled ${what}: tileSize ${size} must be a positive multiple of the VAE factor ${f}`);
  const limit = opts.maxBindingBytes ?? input.device.limits.maxStorageBufferBindingSize;
  const runner = (tile: number, plan: boolean) => new TileRunner({ ys: splitAxis(cells[0], tile), xs: splitAxis(cells[1], tile), limit, plan });
  const overflow = (tile: number): TileOverflowError | null => {
    try {
      program(runner(tile, true));
      return null;
    } catch (e) {
      if (e instanceof TileOverflowError) return e;
      throw e;
    }
  };
  const err = overflow(size / f);
  if (err) {
    const head = `tiled ${what} of ${shapeStr(input.shape)}: ${err.message}`;
    if (err.wholeMap) throw new Error(`${head}; this part runs on the whole latent at once, so no tileSize helps: split the image (rddm restore --tile) or use a device with a larger limit`);
    // The largest tile in cells grows with the tile size, so the sizes that fit form a prefix: bisect it.
    let [lo, hi] = [0, size / f - 1];
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (overflow(mid)) hi = mid - 1;
      else lo = mid;
    }
    throw new Error(`${head}; ${lo ? `set TileOptions.tileSize to ${lo * f} or less` : `no tileSize fits a ${mib(limit)} MiB binding`}`);
  }
  return noGrad(() => tidy(() => program(runner(size / f, false))));
}

/** Encoder moments ([B, 2·latent, H/f, W/f]: mean, then log-variance), equal to `vae.encodeMoments(x)` to rounding. */
export function tiledEncodeMoments(vae: AutoencoderKL, x: Tensor, opts: TileOptions = {}): Tensor {
  const f = vae.downscale;
  const c = vae.config;
  if (x.ndim !== 4 || x.shape[1] !== c.inChannels || x.shape[2] % f || x.shape[3] % f) {
    throw new Error(`tiled encode: input ${shapeStr(x.shape)} must be [B, ${c.inChannels}, H, W] with H and W multiples of ${f}`);
  }
  return runTiled(vae, 'encode', x, [x.shape[2] / f, x.shape[3] / f], opts, (run) => encodeProgram(run, vae, x));
}

/** Decodes z ([B, latent, h, w], unscaled) to [B, out, h·f, w·f], equal to `vae.decode(z)` to rounding. */
export function tiledDecode(vae: AutoencoderKL, z: Tensor, opts: TileOptions = {}): Tensor {
  const c = vae.config;
  if (z.ndim !== 4 || z.shape[1] !== c.latentChannels) throw new Error(`tiled decode: latent ${shapeStr(z.shape)} must be [B, ${c.latentChannels}, h, w]`);
  return runTiled(vae, 'decode', z, [z.shape[2], z.shape[3]], opts, (run) => decodeProgram(run, vae, z));
}

import type { Tensor } from '../tensor/tensor.js';
import { keep, tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { tensor } from '../ops/creation.js';
import type { AutoencoderKL } from './vae.js';

/**
 * Tiled VAE encode/decode for images whose activations exceed a storage binding (a 512x512 decoder activation of
 * 128 channels is 134 MB, over the 128 MiB limit common on WebGPU) or the memory at hand. Only the high-resolution
 * part is tiled: the encoder's down path and the decoder's up path run on overlapping tiles of the latent grid, each
 * with a halo of real context that is cropped away, and the tiles are cross-faded with weights that ramp linearly
 * over each overlap; the mid blocks (whose attention is global) run once on the whole latent-resolution map.
 * GroupNorm statistics are still per tile, which is the remaining difference from the untiled pass (diffusers'
 * tiled VAE also tiles the mid block); a tile covering the whole input reproduces the untiled pass exactly.
 */
export interface TileOptions {
  /** Tile side in image pixels (a multiple of the VAE factor; default 256). */
  tileSize?: number;
  /** Fraction of a tile shared with its neighbour and cross-faded (default 0.25). */
  overlap?: number;
  /** Extra context in image pixels around each tile, computed and then cropped away (default tileSize / 4). */
  halo?: number;
}

/** Tile origins along one axis (grid units), the last tile flush with the end; one tile when it covers all. */
function tileStarts(total: number, tile: number, overlap: number): number[] {
  if (tile >= total) return [0];
  const step = Math.max(1, tile - overlap);
  const starts: number[] = [];
  for (let s = 0; s + tile < total; s += step) starts.push(s);
  starts.push(total - tile);
  return starts;
}

/** 1-D blend weights: ramps up across `ramp` samples where a neighbour precedes, down where one follows. */
function blendWeights(size: number, ramp: number, hasPrev: boolean, hasNext: boolean): Float32Array {
  const w = new Float32Array(size).fill(1);
  for (let i = 0; i < size && ramp > 0; i++) {
    if (hasPrev && i < ramp) w[i] = Math.min(w[i], (i + 0.5) / ramp);
    if (hasNext && size - 1 - i < ramp) w[i] = Math.min(w[i], (size - i - 0.5) / ramp);
  }
  return w;
}

/**
 * Tiles an h × w grid (latent cells) with tiles of `tile` cells overlapping by `overlap`; `fn(y0, x0, th, tw)` returns
 * the output of one tile, `scale` output pixels per cell, [B, C, th·scale, tw·scale]. Returns the blended whole.
 */
function blendTiles(h: number, w: number, tile: number, overlap: number, scale: number, fn: (y0: number, x0: number, th: number, tw: number) => Tensor): Tensor {
  const ys = tileStarts(h, tile, overlap);
  const xs = tileStarts(w, tile, overlap);
  const th = Math.min(tile, h);
  const tw = Math.min(tile, w);
  const oh = h * scale;
  const ow = w * scale;
  const ramp = Math.min(overlap, tile) * scale;
  const wsum = new Float32Array(oh * ow);
  let acc: Tensor | null = null;
  for (const [iy, y0] of ys.entries()) {
    const ry = blendWeights(th * scale, ramp, iy > 0, iy < ys.length - 1);
    for (const [ix, x0] of xs.entries()) {
      const rx = blendWeights(tw * scale, ramp, ix > 0, ix < xs.length - 1);
      const weights = new Float32Array(ry.length * rx.length);
      for (let i = 0; i < ry.length; i++) {
        for (let j = 0; j < rx.length; j++) {
          weights[i * rx.length + j] = ry[i] * rx[j];
          wsum[(y0 * scale + i) * ow + x0 * scale + j] += ry[i] * rx[j];
        }
      }
      const prev: Tensor | null = acc;
      const next: Tensor = tidy(() => {
        const part = fn(y0, x0, th, tw);
        const placed = part.mul(tensor(weights, [1, 1, ry.length, rx.length])).pad([x0 * scale, ow - (x0 + tw) * scale, y0 * scale, oh - (y0 + th) * scale]);
        return prev ? prev.add(placed) : placed;
      });
      prev?.dispose();
      acc = keep(next);
    }
  }
  const total = acc!;
  const out = tidy(() => total.div(tensor(wsum, [1, 1, oh, ow])));
  total.dispose();
  return out;
}

function grid(vae: AutoencoderKL, opts: TileOptions, what: string): { tile: number; overlap: number; halo: number } {
  const f = vae.downscale;
  const size = opts.tileSize ?? 256;
  const frac = opts.overlap ?? 0.25;
  if (!Number.isInteger(size) || size < f || size % f) throw new Error(`tiled ${what}: tileSize ${size} must be a positive multiple of the VAE factor ${f}`);
  if (!(frac >= 0 && frac < 1)) throw new Error(`tiled ${what}: overlap ${frac} must be in [0, 1)`);
  const halo = opts.halo ?? f * Math.round(size / 4 / f);
  if (!Number.isInteger(halo) || halo < 0 || halo % f) throw new Error(`tiled ${what}: halo ${halo} must be a non-negative multiple of the VAE factor ${f}`);
  return { tile: size / f, overlap: Math.round((size / f) * frac), halo: halo / f };
}

/**
 * Runs `run` on the tile [y0, y0+th) × [x0, x0+tw) of `src` (grid units, `inScale` source pixels per unit) widened by
 * `halo` units of real context on each side where the image has it, and crops the result (`outScale` pixels per
 * unit) back to the tile: convolutions near a tile edge then see their true neighbours instead of zero padding.
 */
function withHalo(src: Tensor, inScale: number, outScale: number, halo: number, gridH: number, gridW: number, y0: number, x0: number, th: number, tw: number, run: (t: Tensor) => Tensor): Tensor {
  return tidy(() => {
    const ya = Math.max(0, y0 - halo);
    const xa = Math.max(0, x0 - halo);
    const yb = Math.min(gridH, y0 + th + halo);
    const xb = Math.min(gridW, x0 + tw + halo);
    const out = run(src.slice(2, ya * inScale, yb * inScale).slice(3, xa * inScale, xb * inScale));
    return out.slice(2, (y0 - ya) * outScale, (y0 - ya + th) * outScale).slice(3, (x0 - xa) * outScale, (x0 - xa + tw) * outScale);
  });
}

/**
 * Encoder moments ([B, 2·latent, H/f, W/f]: mean, then log-variance). The high-resolution down path runs tile by
 * tile; the mid block (global attention) and the output head run once on the whole latent-resolution map, which is
 * f² times smaller than the image.
 */
export function tiledEncodeMoments(vae: AutoencoderKL, x: Tensor, opts: TileOptions = {}): Tensor {
  const f = vae.downscale;
  const { tile, overlap, halo } = grid(vae, opts, 'encode');
  if (x.ndim !== 4 || x.shape[2] % f || x.shape[3] % f) throw new Error(`tiled encode: input ${shapeStr(x.shape)} must be [B, C, H, W] with H and W multiples of ${f}`);
  const [gh, gw] = [x.shape[2] / f, x.shape[3] / f];
  const features = blendTiles(gh, gw, tile, overlap, 1, (y0, x0, th, tw) => withHalo(x, f, 1, halo, gh, gw, y0, x0, th, tw, (t) => vae.encoder.forwardDown(t)));
  const out = tidy(() => vae.quant_conv.forward(vae.encoder.forwardTop(features)));
  features.dispose();
  return out;
}

/**
 * Decodes z ([B, latent, h, w], unscaled) to [B, out, h·f, w·f]. conv_in and the mid block run once at latent
 * resolution; the up path, where the large activations are, runs tile by tile.
 */
export function tiledDecode(vae: AutoencoderKL, z: Tensor, opts: TileOptions = {}): Tensor {
  const { tile, overlap, halo } = grid(vae, opts, 'decode');
  if (z.ndim !== 4) throw new Error(`tiled decode: latent ${shapeStr(z.shape)} must be [B, C, h, w]`);
  const [gh, gw] = [z.shape[2], z.shape[3]];
  const h = tidy(() => vae.decoder.forwardBottom(vae.post_quant_conv.forward(z)));
  const out = blendTiles(gh, gw, tile, overlap, vae.downscale, (y0, x0, th, tw) => withHalo(h, 1, vae.downscale, halo, gh, gw, y0, x0, th, tw, (t) => vae.decoder.forwardUp(t)));
  h.dispose();
  return out;
}

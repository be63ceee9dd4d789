import source from '../../shaders/bayer.wgsl';
import { record } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { numel, shapeStr } from '../tensor/shape.js';
import { contiguous } from '../ops/copy.js';
import { workgroups1d } from '../ops/dispatch.js';
import { permute, reshape, slice } from '../ops/shape-ops.js';
import { cropPattern, patternCode, patternsPerImage, type BayerPattern } from './bayer-pattern.js';
import { uploadWords } from './gpu-words.js';

/**
 * Bayer colour-filter-array ops on NCHW tensors: an RGB image is [N,3,H,W], a mosaic [N,1,H,W], a packed mosaic
 * [N,4,H/2,W/2]. Each op takes one pattern for the batch or one per image. mosaic, sparseRGB, pack/unpack and the
 * bilinear demosaic are linear and differentiable (each backward is the adjoint map).
 */
export type Patterns = BayerPattern | readonly BayerPattern[];

type Entry = 'mosaic' | 'sparse_rgb' | 'demosaic' | 'demosaic_adjoint';

function codesFor(op: string, patterns: Patterns, n: number): Tensor {
  return uploadWords(Uint32Array.from(patternsPerImage(op, patterns, n), patternCode));
}

function run(entry: Entry, x: Tensor, codes: Tensor, outShape: readonly number[], h: number, w: number): Tensor {
  const src = contiguous(x);
  const out = empty(outShape);
  const total = numel(outShape);
  if (total > 0) {
    const dev = out.device;
    dev.dispatch({
      name: `bayer_${entry}`,
      pipeline: dev.pipeline(`bayer_${entry}`, source, { WG: 256 }, entry),
      buffers: [src.binding, codes.binding, out.binding],
      uniform: new Uint32Array([outShape[0], h, w, total, src.offset, 0, 0, 0]),
      workgroups: workgroups1d(dev, total, 256),
      bytes: 4 * (src.size + total),
    });
  }
  if (src !== x) src.dispose();
  return out;
}

function checkRank4(op: string, t: Tensor, channels: number, what: string): [number, number, number] {
  if (t.ndim !== 4 || t.shape[1] !== channels) {
    throw new Error(`${op}: expected ${what} of shape [N,${channels},H,W], got ${shapeStr(t.shape)}` + (t.ndim === 3 ? ' (add the batch axis with unsqueeze(0))' : ''));
  }
  if (t.dtype !== 'float32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype}`);
  return [t.shape[0], t.shape[2], t.shape[3]];
}

/** [N,3,H,W] RGB → [N,1,H,W] mosaic: each pixel keeps the channel its CFA site records. */
export function mosaic(rgb: Tensor, patterns: Patterns): Tensor {
  const [n, h, w] = checkRank4('mosaic', rgb, 3, 'an RGB image');
  const codes = codesFor('mosaic', patterns, n);
  const y = run('mosaic', rgb, codes, [n, 1, h, w], h, w);
  const out = record('mosaic', y, [rgb], (g, [c]) => [run('sparse_rgb', g, c, [n, 3, h, w], h, w)], [codes]);
  codes.dispose();
  return out;
}

/** [N,1,H,W] mosaic → [N,3,H,W] with each sample in its own colour's channel and zeros elsewhere. */
export function sparseRGB(m: Tensor, patterns: Patterns): Tensor {
  const [n, h, w] = checkRank4('sparseRGB', m, 1, 'a mosaic');
  const codes = codesFor('sparseRGB', patterns, n);
  const y = run('sparse_rgb', m, codes, [n, 3, h, w], h, w);
  const out = record('sparseRGB', y, [m], (g, [c]) => [run('mosaic', g, c, [n, 1, h, w], h, w)], [codes]);
  codes.dispose();
  return out;
}

/**
 * Bilinear demosaic (the baseline): every missing colour is the mean of its nearest samples (2 or 4), edges by
 * mirroring. [N,1,H,W] → [N,3,H,W]; H and W at least 2.
 */
export function demosaicBilinear(m: Tensor, patterns: Patterns): Tensor {
  const [n, h, w] = checkRank4('demosaicBilinear', m, 1, 'a mosaic');
  if (h < 2 || w < 2) throw new Error(`demosaicBilinear: the mosaic must be at least 2x2 to mirror its edges, got ${shapeStr(m.shape)}`);
  const codes = codesFor('demosaicBilinear', patterns, n);
  const y = run('demosaic', m, codes, [n, 3, h, w], h, w);
  const out = record('demosaicBilinear', y, [m], (g, [c]) => [run('demosaic_adjoint', g, c, [n, 1, h, w], h, w)], [codes]);
  codes.dispose();
  return out;
}

/**
 * [N,1,H,W] → [N,4,H/2,W/2]: plane k holds the samples at tile position k in raster order (0,0), (0,1), (1,0),
 * (1,1), so for RGGB the planes are R, G, G, B and for GRBG they are G, R, B, G. A reshape/permute, so the
 * engine's view ops give the gradient.
 */
export function packBayer(m: Tensor): Tensor {
  const [n, h, w] = checkRank4('packBayer', m, 1, 'a mosaic');
  if (h % 2 || w % 2) throw new Error(`packBayer: height and width must be even, got ${shapeStr(m.shape)} (crop with cropBayer first)`);
  const split = reshape(m, [n, h / 2, 2, w / 2, 2]);
  const moved = permute(split, [0, 2, 4, 1, 3]);
  const out = reshape(moved, [n, 4, h / 2, w / 2]);
  // The intermediate views are graph nodes only as objects; their storage references can go now.
  for (const t of [split, moved]) t.dispose();
  return out;
}

/** Inverse of packBayer: [N,4,h,w] → [N,1,2h,2w]. */
export function unpackBayer(packed: Tensor): Tensor {
  const [n, h, w] = checkRank4('unpackBayer', packed, 4, 'a packed mosaic');
  const split = reshape(packed, [n, 2, 2, h, w]);
  const moved = permute(split, [0, 3, 1, 4, 2]);
  const out = reshape(moved, [n, 1, 2 * h, 2 * w]);
  for (const t of [split, moved]) t.dispose();
  return out;
}

/**
 * Crops a mosaic (or any NCHW tensor) to rows [top, top+height) and columns [left, left+width) and returns the
 * pattern(s) the crop sees: RGGB cropped by one column is GRBG. The image is a view (slice), differentiable.
 */
export function cropBayer<P extends Patterns>(
  t: Tensor,
  patterns: P,
  top: number,
  left: number,
  height = t.shape[2] - top,
  width = t.shape[3] - left,
): { image: Tensor; pattern: P } {
  if (t.ndim !== 4) throw new Error(`cropBayer: expected an NCHW tensor, got ${shapeStr(t.shape)}`);
  const [, , H, W] = t.shape;
  if (![top, left, height, width].every(Number.isInteger) || top < 0 || left < 0 || height < 0 || width < 0 || top + height > H || left + width > W) {
    throw new Error(`cropBayer: rows [${top}, ${top + height}) x columns [${left}, ${left + width}) do not fit inside ${shapeStr(t.shape)}`);
  }
  const rows = slice(t, 2, top, top + height);
  const image = slice(rows, 3, left, left + width);
  rows.dispose();
  const shifted = typeof patterns === 'string' ? cropPattern(patterns as BayerPattern, top, left) : (patterns as readonly BayerPattern[]).map((p) => cropPattern(p, top, left));
  return { image, pattern: shifted as P };
}

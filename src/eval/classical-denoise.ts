import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { tensor } from '../ops/creation.js';
import { demosaicBilinear } from '../raw/bayer.js';
import { patternsPerImage, type BayerPattern } from '../raw/bayer-pattern.js';
import { bm3d, type Bm3dConfig } from './bm3d.js';
import { makeVst, type NoiseModel } from './vst.js';

/**
 * The classical baseline of the evaluation (docs/rddm-design.md asks for a real one, not a blur): for each noisy
 * mosaic with known λ_shot, λ_read,
 *   1. pack the 4 CFA planes (half resolution),
 *   2. variance-stabilise each plane (generalised Anscombe, vst.ts) so the noise is white with σ = 1,
 *   3. decorrelate the planes with an orthonormal 4×4 colour transform (σ stays 1 in every output channel; the
 *      first, the plane sum, carries most of the signal and guides block matching),
 *   4. filter with the BM3D-style two-stage collaborative filter (bm3d.ts),
 *   5. undo the colour transform and the VST (exact unbiased inverse), unpack,
 *   6. bilinear demosaic (the same demosaic as the no-denoising baseline, so the gap is the denoiser's).
 */

/** Rows: (R+G1+G2+B)/2, (R−B)/√2, (G1+G2−R−B)/2, (G1−G2)/√2; columns: R, G1, G2, B. Orthonormal. */
const H = 0.5;
const S = Math.SQRT1_2;
const COLOR: readonly (readonly number[])[] = [
  [H, H, H, H],
  [S, 0, 0, -S],
  [-H, H, H, -H],
  [0, S, -S, 0],
];

/** Tile positions (raster order in the 2×2 tile) of R, first G, second G and B. */
function colourOrder(pattern: BayerPattern): [number, number, number, number] {
  return [pattern.indexOf('R'), pattern.indexOf('G'), pattern.lastIndexOf('G'), pattern.indexOf('B')];
}

export interface ClassicalDenoiseOptions {
  bm3d?: Partial<Bm3dConfig>;
}

/**
 * Denoises one H×W mosaic (row-major, camera-linear, the noise of src/raw/noise.ts) and returns the denoised
 * mosaic, same layout. H and W even, at least 16.
 */
export function denoiseMosaic(mosaic: ArrayLike<number>, height: number, width: number, pattern: BayerPattern, noise: NoiseModel, opts: ClassicalDenoiseOptions = {}): Float32Array {
  if (height % 2 || width % 2 || height < 16 || width < 16) throw new Error(`denoiseMosaic: the mosaic must have even sides of at least 16, got ${height}x${width}`);
  if (mosaic.length !== height * width) throw new Error(`denoiseMosaic: expected ${height}x${width} = ${height * width} values, got ${mosaic.length}`);
  const vst = makeVst(noise);
  const h = height / 2;
  const w = width / 2;
  const order = colourOrder(pattern);
  const planes = order.map((pos) => {
    const p = new Float32Array(h * w);
    const oy = pos >> 1;
    const ox = pos & 1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p[y * w + x] = vst.forward(mosaic[(2 * y + oy) * width + 2 * x + ox]);
    return p;
  });
  const mixed = COLOR.map((row) => {
    const out = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) out[i] = row[0] * planes[0][i] + row[1] * planes[1][i] + row[2] * planes[2][i] + row[3] * planes[3][i];
    return out;
  });
  const clean = bm3d(mixed, h, w, 1, opts.bm3d);
  const out = new Float32Array(height * width);
  order.forEach((pos, c) => {
    const oy = pos >> 1;
    const ox = pos & 1;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        // The transpose undoes an orthonormal transform.
        const d = COLOR[0][c] * clean[0][i] + COLOR[1][c] * clean[1][i] + COLOR[2][c] * clean[2][i] + COLOR[3][c] * clean[3][i];
        out[(2 * y + oy) * width + 2 * x + ox] = vst.inverse(d);
      }
  });
  return out;
}

/**
 * The whole baseline on a batch: noisy mosaics [N,1,H,W] (one pattern and one noise model per image) → camera-
 * linear RGB [N,3,H,W]. Denoising runs on the CPU; the demosaic is the engine's.
 */
export async function classicalRestore(lq: Tensor, patterns: BayerPattern | readonly BayerPattern[], noise: readonly NoiseModel[], opts: ClassicalDenoiseOptions = {}): Promise<Tensor> {
  if (lq.ndim !== 4 || lq.shape[1] !== 1) throw new Error(`classicalRestore: expected noisy mosaics [N,1,H,W], got ${shapeStr(lq.shape)}`);
  const [n, , hh, ww] = lq.shape;
  const pats = patternsPerImage('classicalRestore', patterns, n);
  if (noise.length !== n) throw new Error(`classicalRestore: got ${noise.length} noise models for ${n} images; pass one per image`);
  const host = await lq.data();
  const out = new Float32Array(host.length);
  for (let i = 0; i < n; i++) out.set(denoiseMosaic(host.subarray(i * hh * ww, (i + 1) * hh * ww), hh, ww, pats[i], noise[i], opts), i * hh * ww);
  const m = tensor(out, [n, 1, hh, ww]);
  const rgb = demosaicBilinear(m, pats);
  m.dispose();
  return rgb;
}

import { tensor } from '../ops/creation.js';
import { noGrad } from '../autograd/graph.js';
import { tidy } from '../tensor/scope.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { capture, type CapturedStep } from '../capture.js';
import { getDevice } from '../../runtime/index.js';
import type { RawImage } from '../raw/raw-image.js';
import { cropPattern, type BayerPattern } from '../raw/bayer-pattern.js';
import { exposureGainOf, type RddmSystem } from './system.js';
import { addNoise, ddimSample, ddpmSample } from './samplers.js';
import { checkRestoreFits, DEFAULT_MEMORY_BUDGET } from './restore-budget.js';
import { FLIPS, flipImage, flippedPattern } from './flip-ensemble.js';

export interface RestoreOptions {
  /** Inference steps: 1 is the one-step restorer; N > 1 runs DDIM (or DDPM) from the LQ latent noised to `strength`. */
  steps?: number;
  sampler?: 'ddim' | 'ddpm';
  /** Timestep the LQ latent is noised to for multi-step restoration (default 250). */
  startTimestep?: number;
  /** Tile side in pixels (multiple of 2·downscale); tiles overlap by `overlap` and are blended with linear ramps. */
  tile?: number;
  overlap?: number;
  seed?: number;
  /**
   * Digital gain applied to the mosaic before the model and removed after it, so that dark real captures land in
   * the brightness range the model was trained on (synthetic pairs from sRGB photos average ~0.2 linear).
   * 'auto' (default): for weights with exposure normalisation (RddmConfig.exposureTarget) the system's own gain,
   * computed from the whole image; for older weights, the mean scaled to `autoTarget` with the gain clamped to
   * [1, 16]. A number fixes it.
   */
  gain?: 'auto' | number;
  autoTarget?: number;
  /** Bytes one tile may take on the GPU and the full-resolution result on the host (default 4 GiB). */
  memoryBudget?: number;
  /** Restore each tile and its three mirrors and average them (src/rddm/flip-ensemble.ts): 4× the time. */
  ensemble?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Called after each stage of each tile (0-based `tile` of `tiles`) with its time including the GPU's work. */
  onStage?: (stage: RestoreStage, ms: number, tile: number, tiles: number) => void;
}

export type RestoreStage = 'encode' | 'unet' | 'decode';

/** The mosaic as floats relative to black and white: (code − black) / (white − black), per CFA position. */
export function normalizeMosaic(raw: RawImage): Float32Array {
  const out = new Float32Array(raw.width * raw.height);
  for (let y = 0; y < raw.height; y++)
    for (let x = 0; x < raw.width; x++) {
      const pos = (y & 1) * 2 + (x & 1);
      const black = raw.blackLevel[pos];
      out[y * raw.width + x] = (raw.mosaic[y * raw.width + x] - black) / (raw.whiteLevel - black);
    }
  return out;
}

/**
 * Shrinks a mosaic by an integer factor k while keeping its CFA pattern: each output site averages the k×k
 * same-colour sites of its 2k×2k block (a "binned" RAW, as sensors bin). Used for quick previews and tests.
 */
export function binRaw(raw: RawImage, k: number): RawImage {
  if (!Number.isInteger(k) || k < 1) throw new Error(`binning factor must be a positive integer, got ${k}`);
  if (k === 1) return raw;
  const w = Math.floor(raw.width / (2 * k)) * 2, h = Math.floor(raw.height / (2 * k)) * 2;
  if (w < 2 || h < 2) throw new Error(`binning ${raw.width}x${raw.height} by ${k} leaves no image`);
  const mosaic = new Uint16Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const by = Math.floor(y / 2) * 2 * k + (y & 1), bx = Math.floor(x / 2) * 2 * k + (x & 1);
      let sum = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sum += raw.mosaic[(by + 2 * i) * raw.width + bx + 2 * j];
      mosaic[y * w + x] = Math.round(sum / (k * k));
    }
  return { ...raw, width: w, height: h, mosaic };
}

/**
 * The default tile side: 128 latent pixels (512 image pixels for a ×4 RVAE, 256 for ×2). The UNet's self-attention
 * at its first level costs the 4th power of the tile side per tile, so the whole image's cost grows with the square
 * of the tile: a ×2 model on 512² tiles spent minutes per tile on lavapipe.
 */
export function defaultRestoreTile(vaeDownscale: number): number {
  return 128 * vaeDownscale;
}

/** Tile starts covering [0, n) with tiles of `tile` and at least `overlap` shared, all multiples of `align`. */
export function tileStarts(n: number, tile: number, overlap: number, align: number): number[] {
  if (n <= tile) return [0];
  const stride = Math.max(align, Math.floor((tile - overlap) / align) * align);
  const out: number[] = [];
  for (let s = 0; ; s += stride) {
    const start = Math.min(s, n - tile);
    out.push(start - (start % align));
    if (start + tile >= n) break;
  }
  return [...new Set(out)];
}

/** Weight of a pixel at position i in a tile of length n with ramps of `ramp` at inner edges. */
function ramp(i: number, n: number, r: number, atStart: boolean, atEnd: boolean): number {
  let w = 1;
  if (!atStart && i < r) w = Math.min(w, (i + 0.5) / r);
  if (!atEnd && i >= n - r) w = Math.min(w, (n - i - 0.5) / r);
  return w;
}

/** Mean of the R, G and B sites of the top-left H×W of a row-major mosaic `stride` wide. */
function siteMeans(mosaic: Float32Array, stride: number, H: number, W: number, pattern: BayerPattern): [number, number, number] {
  const sum = [0, 0, 0], count = [0, 0, 0];
  const colourOf = [0, 1, 2, 3].map((i) => 'RGB'.indexOf(pattern[i]!));
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const c = colourOf[(y & 1) * 2 + (x & 1)]!;
      sum[c] += mosaic[y * stride + x]!;
      count[c]++;
    }
  return [sum[0] / count[0], sum[1] / count[1], sum[2] / count[2]];
}

/**
 * Restores a RAW image to a camera-linear RGB image (planar [3, H', W'] with H', W' the size cropped to a multiple
 * of the model's alignment), tile by tile so memory stays bounded for full-resolution photos.
 */
export async function restoreRaw(sys: RddmSystem, raw: RawImage, opts: RestoreOptions = {}): Promise<{ linear: Float32Array; width: number; height: number; pattern: BayerPattern; gain: number }> {
  const align = 2 * sys.vae.downscale;
  const H = raw.height - (raw.height % align);
  const W = raw.width - (raw.width % align);
  if (H < align || W < align) throw new Error(`restore: image ${raw.width}x${raw.height} is smaller than the model's minimum of ${align}x${align}`);
  const tile = Math.min(opts.tile ?? defaultRestoreTile(sys.vae.downscale), Math.max(H, W));
  if (tile % align) throw new Error(`restore: --tile ${tile} must be a multiple of ${align}`);
  const overlap = Math.min(opts.overlap ?? Math.max(align, Math.round(tile / 8 / align) * align), tile - align);
  const th = Math.min(tile, H), tw = Math.min(tile, W);
  const limits = { bindingBytes: getDevice().limits.maxStorageBufferBindingSize, budgetBytes: opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET };
  checkRestoreFits(sys.vae.config, sys.unet.config, H, W, th, tw, align, limits);
  const ys = tileStarts(H, th, overlap, align), xs = tileStarts(W, tw, overlap, align);
  const full = normalizeMosaic(raw);
  const exposureTarget = sys.config.exposureTarget ?? 0;
  let gain = typeof opts.gain === 'number' ? opts.gain : 1;
  let sum = 0;
  for (const v of full) sum += v;
  const mean = sum / full.length;
  if (opts.gain === undefined || opts.gain === 'auto') {
    // Weights with exposure normalisation get it for the whole image at once, so every tile sees the same gain.
    gain = exposureTarget ? exposureGainOf(mean, exposureTarget) : mean > 0 ? Math.min(16, Math.max(1, (opts.autoTarget ?? 0.2) / mean)) : 1;
  }
  if (!(gain > 0)) throw new Error(`restore: gain must be positive, got ${gain}`);
  // With exposure normalisation the system applies the gain (and removes it after decoding); otherwise it is done here.
  // Per-channel weights get one gain per colour, gain · mean / (mean of that colour's sites), so the image's level
  // becomes the same as with one gain and its colour balance grey.
  let systemGain: Tensor | null = null;
  if (exposureTarget && sys.config.exposurePerChannel) {
    systemGain = tensor(siteMeans(full, raw.width, H, W, raw.cfaPattern).map((m) => exposureGainOf(m, gain * mean)), [1, 3, 1, 1]);
  } else if (exposureTarget) systemGain = tensor([gain], [1, 1, 1, 1]);
  if (!systemGain && gain !== 1) for (let i = 0; i < full.length; i++) full[i] *= gain;
  const acc = new Float32Array(3 * H * W);
  const wsum = new Float32Array(H * W);
  const steps = opts.steps ?? 1;
  let done = 0;
  const total = ys.length * xs.length;
  // One-step restores of a tile are captured (src/capture.ts) per flip variant and replayed for every tile: the
  // tiles share size and pattern, and the mosaic goes in through one input tensor. Multi-step sampling and timed
  // stages run op by op.
  const replayable = steps <= 1 && !opts.onStage;
  const tileIn = replayable ? empty([1, 1, th, tw]) : null;
  const captured = new Map<string, CapturedStep<[Tensor], Tensor>>();
  for (const y0 of ys) {
    for (const x0 of xs) {
      const sub = new Float32Array(th * tw);
      for (let y = 0; y < th; y++) sub.set(full.subarray((y0 + y) * raw.width + x0, (y0 + y) * raw.width + x0 + tw), y * tw);
      // Tile origins are even, so every tile has the image's own pattern.
      const pattern = cropPattern(raw.cfaPattern, y0, x0);
      // Three stages with the same ops as restoreOneStep; with onStage each is waited for on the GPU and timed
      // (the waits cost a little throughput, so only callers that show timings ask for them).
      const stage = async (name: RestoreStage, f: () => Tensor): Promise<Tensor> => {
        const t0 = performance.now();
        const r = noGrad(() => tidy(f));
        if (opts.onStage) {
          await getDevice().sync();
          opts.onStage(name, performance.now() - t0, done, total);
        }
        return r;
      };
      if (tileIn) getDevice().upload(tileIn.buffer, sub);
      const m = tileIn ?? tensor(sub, [1, 1, th, tw]);
      // The ensemble's members are averaged on the host, as each is read back anyway.
      const variants = opts.ensemble ? FLIPS : FLIPS.slice(0, 1);
      const px = new Float32Array(3 * th * tw);
      for (const [h, v] of variants) {
        const pv = flippedPattern(pattern, th, tw, h, v);
        sys.setPattern(pv);
        if (tileIn) {
          const key = `${pv}${h}${v}`;
          let step = captured.get(key);
          if (!step) {
            step = capture(async (mi: Tensor) =>
              noGrad(() =>
                tidy(() => {
                  const mv = flipImage(mi, h, v);
                  const zL = sys.rawLatent(mv, pv, systemGain);
                  const img = flipImage(sys.finishImage(sys.decodeLatent(sys.oneStepLatent(zL), systemGain), mv, pv), h, v);
                  return img;
                }),
              ),
            );
            captured.set(key, step);
          }
          const img = await step(tileIn);
          const d = await img.data();
          img.dispose();
          for (let i = 0; i < px.length; i++) px[i] += d[i]! / variants.length;
          continue;
        }
        const mv = flipImage(m, h, v);
        const zL = await stage('encode', () => sys.rawLatent(mv, pv, systemGain));
        const z0 = await stage('unet', () => {
          if (steps <= 1) return sys.oneStepLatent(zL);
          const start = opts.startTimestep ?? 250;
          const zt = addNoise(sys.schedule, zL, start, opts.seed ?? 0);
          const ts = sys.schedule.timesteps(steps, start);
          const predict = (z: Tensor, t: number) => sys.predictNoise(z, t);
          return opts.sampler === 'ddpm' ? ddpmSample(sys.schedule, predict, zt, ts, opts.seed ?? 0) : ddimSample(sys.schedule, predict, zt, ts);
        });
        zL.dispose();
        const img = await stage('decode', () => flipImage(sys.finishImage(sys.decodeLatent(z0, systemGain), mv, pv), h, v));
        z0.dispose();
        if (mv !== m) mv.dispose();
        const d = await img.data();
        img.dispose();
        for (let i = 0; i < px.length; i++) px[i] += d[i]! / variants.length;
      }
      if (m !== tileIn) m.dispose();
      const r = Math.max(1, overlap);
      for (let y = 0; y < th; y++) {
        const wy = ramp(y, th, r, y0 === 0, y0 + th >= H);
        for (let x = 0; x < tw; x++) {
          const w = wy * ramp(x, tw, r, x0 === 0, x0 + tw >= W);
          const o = (y0 + y) * W + x0 + x;
          wsum[o] += w;
          for (let c = 0; c < 3; c++) acc[c * H * W + o] += w * px[c * th * tw + y * tw + x];
        }
      }
      opts.onProgress?.(++done, total);
    }
  }
  for (const c of captured.values()) c.dispose();
  tileIn?.dispose();
  systemGain?.dispose();
  const undo = systemGain ? 1 : gain;
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) acc[c * H * W + i] /= wsum[i] * undo;
  return { linear: acc, width: W, height: H, pattern: raw.cfaPattern, gain };
}

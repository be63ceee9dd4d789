import type { RawImage } from '../raw/raw-image.js';

/**
 * Exposure of the rendered picture, as RAW converters do it. RAW files are usually exposed so that highlights keep
 * room below the sensor's saturation; rendered as is (white = saturation, `dcraw -W`) they look dark. dcraw (and
 * LibRaw, and the converters built on them) brighten by default with one rule, which we take over:
 *
 *   build a histogram of the output picture (linear, after white balance and the colour matrix, clipped to 16 bits)
 *   in 0x2000 bins of 8 values per channel; per channel, walk down from the top bin adding up counts until they
 *   exceed 1% of the pixel count (integer part of width·height·0.01); that bin, never below 32, is the channel's
 *   white; the largest over the channels, times 8, becomes full scale. So the gain is 8192 / white bin: the
 *   brightest 1% of the picture clips, at most ×256.
 *
 * `auto` applies that gain, `none` renders as `dcraw -W` (gain 1), a number is a fixed exposure in EV (gain 2^EV).
 */
export type Exposure = 'auto' | 'none' | number;

export const EXPOSURE_HELP = 'auto (dcraw\'s automatic brightness: the brightest 1% clips), none (white = sensor saturation, as dcraw -W) or a number of EV (e.g. 1.5 or -0.5)';

/** Parses a --exposure value; throws an Error naming the accepted forms. */
export function parseExposure(s: string): Exposure {
  const v = s.trim().toLowerCase();
  if (v === 'auto' || v === 'none') return v;
  const ev = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(ev) || Math.abs(ev) > 16) throw new Error(`--exposure must be ${EXPOSURE_HELP}; EV within ±16, got '${s}'`);
  return ev;
}

/** Bins per channel of dcraw's histogram: 16-bit values >> 3. */
export const HISTOGRAM_BINS = 0x2000;

/**
 * dcraw's white point from per-channel histograms of 16-bit output values >> 3 (HISTOGRAM_BINS bins each) of a
 * picture of `pixels` pixels: the bin index (32 … 8191) that maps to full scale.
 */
export function whitePointBin(histograms: readonly ArrayLike<number>[], pixels: number): number {
  const perc = Math.trunc(pixels * 0.01);
  let white = 0;
  for (const h of histograms) {
    let total = 0;
    let bin = HISTOGRAM_BINS - 1;
    for (; bin > 32; bin--) if ((total += h[bin]) > perc) break;
    white = Math.max(white, bin);
  }
  return white;
}

/** The linear gain that dcraw's white point gives: full scale (65536) over the white bin's value. */
export function gainFromWhiteBin(bin: number): number {
  return HISTOGRAM_BINS / bin;
}

/**
 * Per-channel histograms (dcraw's bins) of a picture in linear output RGB, values in [0, 1] scaled to 16 bits as
 * dcraw stores them (truncated, clipped to 0 … 65535). `rgb(i, out)` writes pixel i's three values.
 */
export function outputHistograms(pixels: number, rgb: (i: number, out: Float64Array) => void): Uint32Array[] {
  const hist = [new Uint32Array(HISTOGRAM_BINS), new Uint32Array(HISTOGRAM_BINS), new Uint32Array(HISTOGRAM_BINS)];
  const px = new Float64Array(3);
  for (let i = 0; i < pixels; i++) {
    rgb(i, px);
    for (let c = 0; c < 3; c++) {
      const v = Math.min(65535, Math.max(0, Math.trunc(px[c] * 65535)));
      hist[c][v >> 3]++;
    }
  }
  return hist;
}

/**
 * dcraw's automatic gain for a RAW, from a half-size picture of it as `dcraw -h` makes one (each 2×2 CFA block is one
 * pixel: its red, its blue and the mean of its two greens, each clipped first; no interpolation), rendered the way our PTP does up to the
 * tone curve: black level off and scaled to the white level (dcraw's way), white balance by the as-shot multipliers, clip at the
 * sensor's saturation, camera RGB → linear sRGB by cam2rgb, clip. On the test CR2 the white bin equals dcraw's, full
 * size or half (test/rddm/exposure.test.ts); the half-size picture keeps it a few milliseconds per megapixel.
 */
export function autoExposureGain(raw: RawImage): number {
  const w2 = raw.width >> 1, h2 = raw.height >> 1;
  if (!w2 || !h2) return 1;
  const pos = { R: [] as number[], G: [] as number[], B: [] as number[] };
  raw.cfaPattern.split('').forEach((c, k) => pos[c as 'R' | 'G' | 'B'].push(k));
  // dcraw scales every channel by 1 / (saturation − its "darkness", the smallest black) after subtracting the
  // channel's own black; normalizeMosaic divides by each position's own range. The two differ by ~1/4000 of a
  // level, enough to move the white one bin on the test CR2: here we follow dcraw.
  const range = raw.whiteLevel - Math.min(...raw.blackLevel);
  const level = (y: number, x: number, k: number) => (raw.mosaic[(y + (k >> 1)) * raw.width + x + (k & 1)] - raw.blackLevel[k]) / range;
  const [wr, wg, wb] = raw.asShotWB;
  const m = raw.cam2rgb;
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const hist = outputHistograms(w2 * h2, (i, out) => {
    const y = 2 * Math.floor(i / w2), x = 2 * (i % w2);
    const r = clip(level(y, x, pos.R[0]) * wr);
    const g = (clip(level(y, x, pos.G[0]) * wg) + clip(level(y, x, pos.G[1]) * wg)) / 2;
    const b = clip(level(y, x, pos.B[0]) * wb);
    for (let c = 0; c < 3; c++) out[c] = m[c][0] * r + m[c][1] * g + m[c][2] * b;
  });
  return gainFromWhiteBin(whitePointBin(hist, w2 * h2));
}

/** The linear gain an exposure setting gives for this RAW. */
export function exposureGain(exposure: Exposure, raw: RawImage): number {
  if (exposure === 'none') return 1;
  if (exposure === 'auto') return autoExposureGain(raw);
  return 2 ** exposure;
}

/** "×4.77 (+2.25 EV)". */
export function describeGain(gain: number): string {
  const ev = Math.log2(gain);
  return `×${gain.toFixed(2)} (${ev >= 0 ? '+' : ''}${ev.toFixed(2)} EV)`;
}

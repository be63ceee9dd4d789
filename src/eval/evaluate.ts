import { noGrad } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { concat } from '../ops/shape-ops.js';
import { demosaicBilinear, mosaic } from '../raw/bayer.js';
import { assertBayerPattern, BAYER_PATTERNS, type BayerPattern } from '../raw/bayer-pattern.js';
import { ptp } from '../raw/ptp.js';
import { synthesizeBatch, type SynthBatch, type SynthConfig, type SynthSource } from '../raw/synth-batch.js';
import { HostRng } from '../random/host-rng.js';
import { classicalRestore, type ClassicalDenoiseOptions } from './classical-denoise.js';
import { ComparisonGrid } from './comparison-grid.js';
import { psnr, ssim } from './metrics.js';
import { fixedNoiseCamera, noiseBinEdges, noiseBinOf, noiseRange, noiseSigma, sampleNoiseInBin } from './noise-bins.js';

/**
 * Held-out evaluation (docs/rddm-design.md, "Evaluation"): synthesise LQ/HQ pairs from evaluation photos, run
 * every method, and score PSNR and SSIM in sRGB after PTP (each pair's own white balance and colour matrix) and
 * in camera-linear space, per Bayer pattern, averaged over images.
 *
 * Pairs: crop r of photo i comes from synthesizeBatch([photo], { seed, step: r·1024 + i }) with the pattern
 * forced. The step does not depend on the pattern, so every pattern sees the same crops, cameras and noise
 * draws, and only the CFA differs: per-pattern rows are a paired comparison. Nor does it depend on the other
 * photos or on batching, so adding a photo leaves the others' pairs unchanged.
 *
 * Synthesis defaults for evaluation: no detail degradation and no flips, i.e. pure noise + mosaic, the setting
 * of the design's reference figures (bilinear ≈ 25.3 dB, classical ≈ 28.1 dB, noise-free bilinear ≈ 29.4 dB);
 * pass `synth: { degrade: {} }` to evaluate on the training degradations instead.
 *
 * Scoring: references are PTP(hqLinear) in sRGB and hqLinear (in [0, 1]) in linear space; outputs are clipped to
 * [0, 1] in linear space (PTP clips anyway), data range 1. PSNR is averaged in dB over images.
 *
 * Noise bins (noise-bins.ts): each crop also counts in the bin of its camera's σ(0.18), and evaluateDetailed()
 * averages every method over the crops (and patterns) of each bin. With `noiseSweep`, crop r of photo i is not
 * drawn at the sampler's noise but at a level inside bin (i + r) mod n (the camera's matrix and gains stay as
 * drawn), so every bin gets crops without a single extra forward pass, and each photo visits min(crops, n) bins.
 */
export type RestoreMethod = (batch: SynthBatch) => Promise<Tensor>;

export interface EvalRow {
  method: string;
  pattern: BayerPattern;
  psnr_srgb: number;
  ssim_srgb: number;
  psnr_linear: number;
  ssim_linear: number;
  /** Images averaged. */
  images: number;
}

export interface EvaluateOptions {
  photos: readonly SynthSource[];
  patterns?: readonly BayerPattern[];
  seed: number;
  /** Crop size (even); photos smaller than it are an error. Default 256. */
  crop?: number | readonly [number, number];
  /** Each returns camera-linear RGB [N,3,H,W] for the batch's LQ mosaics. */
  methods: Record<string, RestoreMethod>;
  /** Crops per photo (different places, cameras and noise). Default 1. */
  cropsPerImage?: number;
  /** Images per method call. Default 4. */
  batchSize?: number;
  /** Synthesis overrides (degradation, camera, quantisation); see the defaults above. */
  synth?: Partial<Pick<SynthConfig, 'degrade' | 'camera' | 'quantize' | 'flip'>>;
  /** Collects sRGB tiles of the first samples: LQ bilinear, each method, HQ. */
  grid?: ComparisonGrid;
  /** Noise-level bins (>= 2, even in log σ over the sampler's range). Default 4. */
  noiseBins?: number;
  /** Draw crop r of photo i inside bin (i + r) mod noiseBins instead of at the sampler's noise. Default false. */
  noiseSweep?: boolean;
  /** Called after each scored batch with the batches done and their total (a progress line for long runs). */
  onBatch?: (done: number, total: number) => void;
}

/** One method's mean scores over a noise bin's crops; null where the bin has none. */
export interface NoiseBinScores {
  method: string;
  psnr_srgb: number | null;
  ssim_srgb: number | null;
  psnr_linear: number | null;
  ssim_linear: number | null;
}

export interface NoiseBinRow {
  index: number;
  /** σ(0.18) edges; bin 0 also holds σ below sigmaLow, the last bin σ above sigmaHigh. */
  sigmaLow: number;
  sigmaHigh: number;
  /** Crops in the bin; each is scored under every pattern evaluated, and the means are over those pairs. */
  count: number;
  rows: NoiseBinScores[];
}

export interface EvalReport {
  rows: EvalRow[];
  bins: NoiseBinRow[];
}

/** No detail degradation, no flips: see the module comment. */
export const EVAL_SYNTH: Readonly<Pick<SynthConfig, 'degrade' | 'flip'>> = { degrade: { blurProb: 0, resizeProb: 0 }, flip: false };

/** Bilinear demosaic of the noisy mosaic, no denoising. */
export const bilinearMethod: RestoreMethod = async (b) => noGrad(() => demosaicBilinear(b.lq, b.patterns));

/** The classical baseline: VST + BM3D-style filtering of the packed planes with the known noise levels, then bilinear. */
export function classicalMethod(opts: ClassicalDenoiseOptions = {}): RestoreMethod {
  return (b) => classicalRestore(b.lq, b.patterns, b.params.map((p) => ({ shot: p.shotNoise, read: p.readNoise })), opts);
}

/** Reference, not a method: bilinear demosaic of the noise-free mosaic of the HQ image (an oracle's input). */
export const noiseFreeBilinearMethod: RestoreMethod = async (b) =>
  noGrad(() => {
    const m = mosaic(b.hqLinear, b.patterns);
    const out = demosaicBilinear(m, b.patterns);
    m.dispose();
    return out;
  });

export const BUILTIN_METHODS: Readonly<Record<string, RestoreMethod>> = { bilinear: bilinearMethod, classical: classicalMethod() };

/** Joins single-image batches into one (tensors concatenated along N). */
function mergeBatches(parts: SynthBatch[]): SynthBatch {
  if (parts.length === 1) return parts[0];
  const cat = (k: 'lq' | 'hqLinear' | 'srgb' | 'wbGains' | 'cam2rgb') => concat(parts.map((p) => p[k]), 0);
  const merged: SynthBatch = {
    lq: cat('lq'),
    hqLinear: cat('hqLinear'),
    srgb: cat('srgb'),
    wbGains: cat('wbGains'),
    cam2rgb: cat('cam2rgb'),
    patterns: parts.flatMap((p) => p.patterns),
    params: parts.flatMap((p) => p.params),
    crops: parts.flatMap((p) => p.crops),
    degradations: parts.flatMap((p) => p.degradations),
  };
  parts.forEach(disposeBatch);
  return merged;
}

function disposeBatch(b: SynthBatch): void {
  for (const t of [b.lq, b.hqLinear, b.srgb, b.wbGains, b.cam2rgb]) t.dispose();
}

/** sRGB (after the batch's PTP) and clipped linear values of a camera-linear [N,3,H,W] tensor, on the host. */
async function views(x: Tensor, b: SynthBatch): Promise<{ srgb: Float32Array; linear: Float32Array }> {
  const [s, l] = noGrad(() => [ptp(x, { wbGains: b.wbGains, cam2rgb: b.cam2rgb }), x.clamp(0, 1)]);
  const out = { srgb: await s.data(), linear: await l.data() };
  s.dispose();
  l.dispose();
  return out;
}

const METRICS = ['psnr_srgb', 'ssim_srgb', 'psnr_linear', 'ssim_linear'] as const;

interface Sums {
  psnr_srgb: number;
  ssim_srgb: number;
  psnr_linear: number;
  ssim_linear: number;
  images: number;
}

const key = (method: string, group: BayerPattern | number) => `${method}\u0000${group}`;
const zeroSums = (): Sums => ({ psnr_srgb: 0, ssim_srgb: 0, psnr_linear: 0, ssim_linear: 0, images: 0 });

/**
 * Scores every method on one batch, adding into `sums` under the pattern and under each sample's noise bin
 * (`bins[k]`); grid tiles go to `grid` when given.
 */
async function scoreBatch(batch: SynthBatch, pattern: BayerPattern, bins: readonly number[], methods: Record<string, RestoreMethod>, sums: Map<string, Sums>, grid: ComparisonGrid | undefined, labels: string[]): Promise<void> {
  const names = Object.keys(methods);
  const [n, , h, w] = batch.hqLinear.shape;
  const plane = 3 * h * w;
  const shape = { channels: 3, height: h, width: w };
  const part = (a: Float32Array, k: number) => a.subarray(k * plane, (k + 1) * plane);
  const ref = await views(batch.hqLinear, batch);
  const tiles: Float32Array[][] = Array.from({ length: n }, () => []);
  if (grid) {
    const lqRgb = await bilinearMethod(batch);
    const v = await views(lqRgb, batch).finally(() => lqRgb.dispose());
    for (let k = 0; k < n; k++) tiles[k].push(part(v.srgb, k).slice());
  }
  for (const name of names) {
    const out = await methods[name](batch);
    if (out.ndim !== 4 || out.shape[0] !== n || out.shape[1] !== 3 || out.shape[2] !== h || out.shape[3] !== w) {
      out.dispose();
      throw new Error(`evaluate: method "${name}" returned ${shapeStr(out.shape)}; expected camera-linear RGB [${n},3,${h},${w}]`);
    }
    const v = await views(out, batch).finally(() => out.dispose());
    const add = (group: BayerPattern | number) => {
      if (!sums.has(key(name, group))) sums.set(key(name, group), zeroSums());
      return sums.get(key(name, group))!;
    };
    for (let k = 0; k < n; k++) {
      const score = {
        psnr_srgb: psnr(part(v.srgb, k), part(ref.srgb, k)),
        ssim_srgb: ssim(part(v.srgb, k), part(ref.srgb, k), shape),
        psnr_linear: psnr(part(v.linear, k), part(ref.linear, k)),
        ssim_linear: ssim(part(v.linear, k), part(ref.linear, k), shape),
      };
      for (const s of [add(pattern), add(bins[k])]) {
        for (const m of METRICS) s[m] += score[m];
        s.images++;
      }
      if (grid) tiles[k].push(part(v.srgb, k).slice());
    }
  }
  if (grid) {
    const columns = ['LQ bilinear', ...names, 'HQ'];
    tiles.forEach((t, k) => grid.addRow(labels[k], columns, [...t, part(ref.srgb, k).slice()].map((chw) => ({ chw, height: h, width: w }))));
  }
}

/** Per-pattern rows (see EvalRow); evaluateDetailed() also returns the noise bins. */
export async function evaluate(opts: EvaluateOptions): Promise<EvalRow[]> {
  return (await evaluateDetailed(opts)).rows;
}

export async function evaluateDetailed(opts: EvaluateOptions): Promise<EvalReport> {
  const patterns = opts.patterns ?? BAYER_PATTERNS;
  const names = Object.keys(opts.methods);
  const repeats = opts.cropsPerImage ?? 1;
  const batchSize = opts.batchSize ?? 4;
  if (names.length === 0) throw new Error('evaluate: no methods given; pass e.g. { methods: BUILTIN_METHODS }');
  if (opts.photos.length === 0) throw new Error('evaluate: no photos given');
  if (opts.photos.length > 1024 || !(repeats >= 1 && repeats <= 1024)) throw new Error('evaluate: at most 1024 photos and 1 to 1024 crops per photo');
  const cfg: Partial<SynthConfig> = { ...EVAL_SYNTH, ...opts.synth, cropSize: opts.crop ?? 256 };
  const camera = cfg.camera ?? {};
  const nBins = opts.noiseBins ?? 4;
  // The default sampler's range even when `camera` overrides it: bins mean the same in every evaluation.
  const edges = noiseBinEdges(nBins, noiseRange());
  const jobs: { photo: number; step: number; camera: SynthConfig['camera'] }[] = [];
  for (let r = 0; r < repeats; r++)
    for (let i = 0; i < opts.photos.length; i++) {
      const step = r * 1024 + i;
      // Its own stream (a lane no synthesis draw uses), keyed like the crop, so the pattern does not change it.
      const noise = opts.noiseSweep ? fixedNoiseCamera(camera, sampleNoiseInBin(new HostRng(opts.seed, step).child(0x6e6f6973), (i + r) % nBins, edges, camera)) : camera;
      jobs.push({ photo: i, step, camera: noise });
    }
  const counts = new Array<number>(nBins).fill(0);

  const sums = new Map<string, Sums>();
  const totalBatches = patterns.length * Math.ceil(jobs.length / batchSize);
  let done = 0;
  for (const pattern of patterns) {
    assertBayerPattern('evaluate', pattern);
    for (let at = 0; at < jobs.length; at += batchSize) {
      const chunk = jobs.slice(at, at + batchSize);
      const batch = mergeBatches(chunk.map((j) => synthesizeBatch([opts.photos[j.photo]], { ...cfg, camera: j.camera, patterns: [pattern], seed: opts.seed, step: j.step })));
      const grid = opts.grid && !opts.grid.full ? opts.grid : undefined;
      const labels = chunk.map((j) => `${pattern} photo ${j.photo} crop ${j.step >> 10}`);
      const bins = batch.params.map((p) => noiseBinOf(noiseSigma(p.shotNoise, p.readNoise), edges));
      if (pattern === patterns[0]) for (const b of bins) counts[b]++;
      try {
        await scoreBatch(batch, pattern, bins, opts.methods, sums, grid, labels);
      } finally {
        disposeBatch(batch);
      }
      opts.onBatch?.(++done, totalBatches);
    }
  }
  const rows: EvalRow[] = [];
  for (const name of names)
    for (const pattern of patterns) {
      const s = sums.get(key(name, pattern))!;
      const k = s.images;
      rows.push({ method: name, pattern, psnr_srgb: s.psnr_srgb / k, ssim_srgb: s.ssim_srgb / k, psnr_linear: s.psnr_linear / k, ssim_linear: s.ssim_linear / k, images: k });
    }
  const bins: NoiseBinRow[] = counts.map((count, index) => ({
    index,
    sigmaLow: edges[index],
    sigmaHigh: edges[index + 1],
    count,
    rows: names.map((method) => {
      const s = sums.get(key(method, index));
      const mean = (m: (typeof METRICS)[number]) => (s && s.images ? s[m] / s.images : null);
      return { method, psnr_srgb: mean('psnr_srgb'), ssim_srgb: mean('ssim_srgb'), psnr_linear: mean('psnr_linear'), ssim_linear: mean('ssim_linear') };
    }),
  }));
  return { rows, bins };
}

/** Averages rows over patterns (equal weight per pattern): one row per method, pattern 'all'. */
export function averageOverPatterns(rows: readonly EvalRow[]): (Omit<EvalRow, 'pattern'> & { pattern: 'all' })[] {
  const methods = [...new Set(rows.map((r) => r.method))];
  return methods.map((method) => {
    const rs = rows.filter((r) => r.method === method);
    const avg = (k: 'psnr_srgb' | 'ssim_srgb' | 'psnr_linear' | 'ssim_linear') => rs.reduce((s, r) => s + r[k], 0) / rs.length;
    return { method, pattern: 'all', psnr_srgb: avg('psnr_srgb'), ssim_srgb: avg('ssim_srgb'), psnr_linear: avg('psnr_linear'), ssim_linear: avg('ssim_linear'), images: rs.reduce((s, r) => s + r.images, 0) };
  });
}

/** A Markdown table of the noise bins: one line per bin and method, one line for an empty bin. */
export function formatNoiseBinTable(bins: readonly NoiseBinRow[]): string {
  const lines = ['| noise bin | σ(0.18) | crops | method | PSNR sRGB (dB) | SSIM sRGB | PSNR linear (dB) | SSIM linear |', '|---|---|---|---|---|---|---|---|'];
  const f = (v: number | null, d: number) => (v === null ? '–' : v.toFixed(d));
  for (const b of bins) {
    // The end bins are open (see NoiseBinRow), so they show one bound.
    const range = b.index === 0 ? `< ${b.sigmaHigh.toFixed(4)}` : b.index === bins.length - 1 ? `≥ ${b.sigmaLow.toFixed(4)}` : `${b.sigmaLow.toFixed(4)}–${b.sigmaHigh.toFixed(4)}`;
    if (b.count === 0) lines.push(`| ${b.index} | ${range} | 0 | (no crops in this bin) | – | – | – | – |`);
    else for (const r of b.rows) lines.push(`| ${b.index} | ${range} | ${b.count} | ${r.method} | ${f(r.psnr_srgb, 2)} | ${f(r.ssim_srgb, 4)} | ${f(r.psnr_linear, 2)} | ${f(r.ssim_linear, 4)} |`);
  }
  return lines.join('\n');
}

/** A Markdown table of rows. */
export function formatEvalTable(rows: readonly { method: string; pattern: string; psnr_srgb: number; ssim_srgb: number; psnr_linear: number; ssim_linear: number; images: number }[]): string {
  const lines = ['| method | pattern | PSNR sRGB (dB) | SSIM sRGB | PSNR linear (dB) | SSIM linear | images |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.method} | ${r.pattern} | ${r.psnr_srgb.toFixed(2)} | ${r.ssim_srgb.toFixed(4)} | ${r.psnr_linear.toFixed(2)} | ${r.ssim_linear.toFixed(4)} | ${r.images} |`);
  return lines.join('\n');
}

import { noGrad } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { tensor } from '../ops/creation.js';
import { copyInto } from '../ops/copy.js';
import { indexSelect } from '../ops/gather.js';
import { reshape, slice } from '../ops/shape-ops.js';
import { HostRng } from '../random/host-rng.js';
import { BAYER_PATTERNS, type BayerPattern } from './bayer-pattern.js';
import { sampleCameraParams, type CameraParams, type CameraSamplerConfig } from './camera-params.js';
import { degrade, resolveDegradeConfig, sampleDegradePlan, type DegradeConfig, type DegradePlan } from './degrade.js';
import { iptp } from './iptp.js';
import { mosaicNoise, type QuantizeConfig } from './noise.js';
import { ptpTensors } from './ptp.js';

/**
 * On-the-fly training pairs, all on the GPU: sRGB HQ crop → IPTP with a random camera → detail degradation →
 * MNS with a random Bayer pattern. One seed and step number fix every random choice (host draws from HostRng,
 * noise from Philox), so a batch can be regenerated exactly instead of stored.
 */

/** An sRGB image on the host: height × width × 3, row-major, values in [0, 1]. */
export interface SrgbImage {
  data: Float32Array;
  width: number;
  height: number;
}

/** A host image, or an sRGB tensor on the GPU of shape [3,H,W] or [1,3,H,W]. */
export type SynthSource = SrgbImage | Tensor;

export interface SynthConfig {
  /** Crop size (height, width), both even so every pattern tiles the crop; one number for a square. */
  cropSize: number | readonly [number, number];
  /** Random horizontal and vertical flips (each with probability 1/2). */
  flip: boolean;
  /**
   * A random permutation of the sRGB crop's channels (uniform over the six). A handful of photos has a handful of
   * palettes (the shipped training set: coffee, a ginger cat, two motorcycles, almost no green or blue), and a model
   * trained on them learns that prior; permuting the channels keeps every structure and spreads the hues.
   */
  permuteChannels: boolean;
  /** Patterns to draw from, uniformly. */
  patterns: readonly BayerPattern[];
  degrade: Partial<DegradeConfig>;
  camera: Partial<CameraSamplerConfig>;
  /** ADC quantisation of the LQ mosaic; off by default (Brooks' synthesis has none). */
  quantize: QuantizeConfig | null;
}

export const DEFAULT_SYNTH: Readonly<SynthConfig> = {
  cropSize: 256,
  flip: true,
  permuteChannels: false,
  patterns: BAYER_PATTERNS,
  degrade: {},
  camera: {},
  quantize: null,
};

/** Where each crop came from (for debugging and for re-cropping other data the same way). */
export interface CropInfo {
  source: number;
  top: number;
  left: number;
  flipH: boolean;
  flipV: boolean;
  /** Source channel of each output channel (identity without permuteChannels). */
  channels: readonly [number, number, number];
}

export interface SynthBatch {
  /** Noisy, degraded RAW mosaic [N,1,H,W] (the model input). */
  lq: Tensor;
  /** Clean camera-linear target [N,3,H,W] (before degradation). */
  hqLinear: Tensor;
  /** The sRGB crop [N,3,H,W] the pair was made from. */
  srgb: Tensor;
  patterns: BayerPattern[];
  /** Per-image camera: CCMs, gains, noise levels. */
  params: CameraParams[];
  /** PTP metadata on the GPU: wbGains [N,3], cam2rgb [N,3,3]; ptp(hqLinear, { wbGains, cam2rgb }) ≈ srgb. */
  wbGains: Tensor;
  cam2rgb: Tensor;
  crops: CropInfo[];
  degradations: DegradePlan[];
}

/** Host-random choices for one image, each from its own child stream so adding a step never shifts another. */
interface ImagePlan {
  crop: CropInfo;
  camera: CameraParams;
  degradation: DegradePlan;
  pattern: BayerPattern;
}

function sourceSize(op: string, s: SynthSource, i: number): [number, number] {
  if ((s as Tensor).isTensor) {
    const t = s as Tensor;
    const ok = (t.ndim === 3 && t.shape[0] === 3) || (t.ndim === 4 && t.shape[0] === 1 && t.shape[1] === 3);
    if (!ok) throw new Error(`${op}: image ${i} has shape ${shapeStr(t.shape)}; tensors must be sRGB [3,H,W] or [1,3,H,W]`);
    return [t.shape[t.ndim - 2], t.shape[t.ndim - 1]];
  }
  const img = s as SrgbImage;
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`${op}: image ${i} has ${img.data.length} values, expected width·height·3 = ${img.width * img.height * 3} (HWC layout)`);
  }
  return [img.height, img.width];
}

function cropDims(cfg: SynthConfig): [number, number] {
  const [h, w] = typeof cfg.cropSize === 'number' ? [cfg.cropSize, cfg.cropSize] : cfg.cropSize;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 2 || w < 2 || h % 2 || w % 2) {
    throw new Error(`synthesizeBatch: cropSize must be even integers >= 2, got ${JSON.stringify(cfg.cropSize)}`);
  }
  return [h, w];
}

function planImage(rng: HostRng, source: number, size: [number, number], crop: [number, number], cfg: SynthConfig): ImagePlan {
  const [H, W] = size;
  const [h, w] = crop;
  if (H < h || W < w) throw new Error(`synthesizeBatch: image ${source} is ${H}x${W}, smaller than the ${h}x${w} crop; use a smaller cropSize or skip it`);
  const c = rng.child(0);
  const info: CropInfo = { source, top: c.int(H - h + 1), left: c.int(W - w + 1), flipH: cfg.flip && c.bernoulli(0.5), flipV: cfg.flip && c.bernoulli(0.5), channels: [0, 1, 2] };
  // Drawn after the crop and flips, and only when asked, so batches without it are the same as before it existed.
  if (cfg.permuteChannels) info.channels = PERMUTATIONS[c.int(PERMUTATIONS.length)]!;
  return {
    crop: info,
    camera: sampleCameraParams(rng.child(1), cfg.camera),
    degradation: sampleDegradePlan(rng.child(2), cfg.degrade),
    pattern: rng.child(3).pick(cfg.patterns),
  };
}

const PERMUTATIONS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** Crops, flips and permutes the channels of a host image into CHW order at `out[offset…]`. */
function cropHost(img: SrgbImage, c: CropInfo, h: number, w: number, out: Float32Array, offset: number): void {
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < h; y++) {
      const sy = c.top + (c.flipV ? h - 1 - y : y);
      for (let x = 0; x < w; x++) {
        const sx = c.left + (c.flipH ? w - 1 - x : x);
        out[offset + (ch * h + y) * w + x] = img.data[(sy * img.width + sx) * 3 + c.channels[ch]!];
      }
    }
}

/** Crops, flips and permutes the channels of a GPU image into batch slot `i` of `out` [N,3,h,w]. */
function cropDevice(img: Tensor, c: CropInfo, h: number, w: number, out: Tensor, i: number): void {
  tidy(() => {
    let t = img.ndim === 4 ? slice(img, 0, 0, 1) : reshape(img, [1, ...img.shape]);
    t = slice(slice(t, 2, c.top, c.top + h), 3, c.left, c.left + w);
    const reversed = (n: number) => Array.from({ length: n }, (_, k) => n - 1 - k);
    if (c.flipV) t = indexSelect(t, 2, reversed(h));
    if (c.flipH) t = indexSelect(t, 3, reversed(w));
    if (c.channels[0] !== 0 || c.channels[1] !== 1) t = indexSelect(t, 1, [...c.channels]);
    copyInto(slice(out, 0, i, i + 1), t);
  });
}

/**
 * Makes one batch from `images` (one crop each, in order; the caller chooses and shuffles images). `seed` and
 * `step` fix all randomness: the same (images, config, seed, step) always gives the same tensors.
 */
export function synthesizeBatch(images: readonly SynthSource[], options: Partial<SynthConfig> & { seed: number; step?: number }): SynthBatch {
  const cfg: SynthConfig = { ...DEFAULT_SYNTH, ...options };
  resolveDegradeConfig(cfg.degrade);
  const step = options.step ?? 0;
  if (images.length === 0) throw new Error('synthesizeBatch: no images');
  if (cfg.patterns.length === 0) throw new Error('synthesizeBatch: the pattern list is empty');
  const [h, w] = cropDims(cfg);
  const root = new HostRng(options.seed, step);
  const plans = images.map((img, i) => planImage(root.child(i), i, sourceSize('synthesizeBatch', img, i), [h, w], cfg));
  const n = images.length;

  return noGrad(() =>
    tidy(() => {
      let srgb: Tensor;
      if (images.every((s) => !(s as Tensor).isTensor)) {
        const host = new Float32Array(n * 3 * h * w);
        images.forEach((img, i) => cropHost(img as SrgbImage, plans[i].crop, h, w, host, i * 3 * h * w));
        srgb = tensor(host, [n, 3, h, w]);
      } else {
        srgb = empty([n, 3, h, w]);
        images.forEach((img, i) => {
          if ((img as Tensor).isTensor) cropDevice(img as Tensor, plans[i].crop, h, w, srgb, i);
          else {
            const host = new Float32Array(3 * h * w);
            cropHost(img as SrgbImage, plans[i].crop, h, w, host, 0);
            copyInto(slice(srgb, 0, i, i + 1), tensor(host, [1, 3, h, w]));
          }
        });
      }
      const params = plans.map((p) => p.camera);
      const patterns = plans.map((p) => p.pattern);
      const hqLinear = iptp(srgb, params);
      const degraded = degrade(hqLinear, plans.map((p) => p.degradation), cfg.degrade);
      const lq = mosaicNoise(degraded, {
        patterns,
        shotNoise: params.map((p) => p.shotNoise),
        readNoise: params.map((p) => p.readNoise),
        seed: options.seed,
        stream: step >>> 0,
        quantize: cfg.quantize,
      });
      const { wbGains, cam2rgb } = ptpTensors(params, n);
      return { lq, hqLinear, srgb, patterns, params, wbGains, cam2rgb, crops: plans.map((p) => p.crop), degradations: plans.map((p) => p.degradation) };
    }),
  );
}

/**
 * Batches from a fixed image list: each epoch visits every image once in a seeded random order. `step` counts
 * batches; save it to resume exactly where a run stopped.
 */
export class SynthBatchGenerator {
  step = 0;
  private readonly config: Partial<SynthConfig> & { seed: number };

  constructor(
    private readonly images: readonly SynthSource[],
    readonly batchSize: number,
    config: Partial<SynthConfig> & { seed: number },
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`SynthBatchGenerator: batchSize must be a positive integer, got ${batchSize}`);
    if (images.length < batchSize) throw new Error(`SynthBatchGenerator: ${images.length} images cannot fill a batch of ${batchSize}`);
    this.config = config;
  }

  /** Image indices of batch `step`: epoch e is a permutation drawn from (seed, e); a partial last batch is dropped. */
  indicesAt(step: number): number[] {
    const perEpoch = Math.floor(this.images.length / this.batchSize);
    const epoch = Math.floor(step / perEpoch);
    const order = Array.from(this.images, (_, i) => i);
    const rng = new HostRng(this.config.seed, epoch).child(0xe90c);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const start = (step % perEpoch) * this.batchSize;
    return order.slice(start, start + this.batchSize);
  }

  next(): SynthBatch {
    const idx = this.indicesAt(this.step);
    const batch = synthesizeBatch(idx.map((i) => this.images[i]), { ...this.config, step: this.step });
    batch.crops.forEach((c, k) => (c.source = idx[k]));
    this.step++;
    return batch;
  }
}

import blurSource from '../../shaders/blur.wgsl';
import resizeSource from '../../shaders/resize.wgsl';
import { isGradEnabled } from '../autograd/graph.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { numel, shapeStr } from '../tensor/shape.js';
import { contiguous } from '../ops/copy.js';
import { workgroups1d } from '../ops/dispatch.js';
import { HostRng } from '../random/host-rng.js';
import { uploadWords } from './gpu-words.js';

/**
 * Detail degradation of linear images (the paper leaves it open; docs/rddm-design.md fixes its shape): a random
 * Gaussian blur, isotropic or anisotropic, then a bilinear down-scale by s and back up. Applied in camera-linear
 * space before the mosaic and noise, where optics and sensor resolution act. No JPEG: that is an sRGB artefact.
 * Data synthesis only: no gradient.
 */
export interface DegradeConfig {
  /** Probability that an image is blurred at all. */
  blurProb: number;
  /** Given a blur, probability that it is isotropic (else anisotropic with a random angle). */
  isotropicProb: number;
  /** Standard deviations (pixels) are drawn uniformly from this range, per axis for anisotropic blurs. */
  sigmaRange: [number, number];
  /** Odd kernel size. */
  kernelSize: number;
  /** Probability that an image is down-scaled and up-scaled back. */
  resizeProb: number;
  /** Down-scale factors s are drawn uniformly from this range (s = 2 halves each side). */
  scaleRange: [number, number];
}

/**
 * Defaults: half of the images skip each step, so the model also sees sharp inputs and does not learn to sharpen
 * everything; σ ∈ [0.2, 3] with 21 taps (±10 px covers 3.3σ at the largest σ) and s ∈ [1, 4] as the design says.
 */
export const DEFAULT_DEGRADE: Readonly<DegradeConfig> = {
  blurProb: 0.5,
  isotropicProb: 0.5,
  sigmaRange: [0.2, 3.0],
  kernelSize: 21,
  resizeProb: 0.5,
  scaleRange: [1, 4],
};

/** Blur and resize each with probability `p`, everything else as the defaults. */
export function degradeWithProbability(p: number): Partial<DegradeConfig> {
  return { blurProb: p, resizeProb: p };
}

/** What happens to one image: a blur (σ along the rotated x/y axes, angle θ in radians) or none, and a scale. */
export interface DegradePlan {
  blur: { sigmaX: number; sigmaY: number; theta: number } | null;
  /** 1 = no resize. */
  scale: number;
}

export function resolveDegradeConfig(cfg: Partial<DegradeConfig> = {}): DegradeConfig {
  const c = { ...DEFAULT_DEGRADE, ...cfg };
  if (!Number.isInteger(c.kernelSize) || c.kernelSize < 1 || c.kernelSize % 2 === 0) throw new Error(`degrade: kernelSize must be a positive odd integer, got ${c.kernelSize}`);
  if (!(c.sigmaRange[0] > 0 && c.sigmaRange[0] <= c.sigmaRange[1])) throw new Error(`degrade: sigmaRange must be [min, max] with 0 < min <= max, got [${c.sigmaRange}]`);
  if (!(c.scaleRange[0] >= 1 && c.scaleRange[0] <= c.scaleRange[1])) throw new Error(`degrade: scaleRange must be [min, max] with 1 <= min <= max, got [${c.scaleRange}]`);
  return c;
}

/** Draws one image's degradation. */
export function sampleDegradePlan(rng: HostRng, config: Partial<DegradeConfig> = {}): DegradePlan {
  const c = resolveDegradeConfig(config);
  let blur: DegradePlan['blur'] = null;
  if (rng.bernoulli(c.blurProb)) {
    const [lo, hi] = c.sigmaRange;
    if (rng.bernoulli(c.isotropicProb)) {
      const s = rng.range(lo, hi);
      blur = { sigmaX: s, sigmaY: s, theta: 0 };
    } else {
      blur = { sigmaX: rng.range(lo, hi), sigmaY: rng.range(lo, hi), theta: rng.range(-Math.PI, Math.PI) };
    }
  }
  const scale = rng.bernoulli(c.resizeProb) ? rng.range(c.scaleRange[0], c.scaleRange[1]) : 1;
  return { blur, scale };
}

/**
 * The normalised K×K Gaussian of a plan's blur, row-major (rows = y): exp(−½(u²/σx² + v²/σy²)) with (u, v) the
 * offset rotated by −θ into the kernel's axes. A delta when there is no blur.
 */
export function gaussianKernel(blur: DegradePlan['blur'], size: number): Float64Array {
  const k = new Float64Array(size * size);
  const r = (size - 1) / 2;
  if (!blur) {
    k[r * size + r] = 1;
    return k;
  }
  const cos = Math.cos(blur.theta);
  const sin = Math.sin(blur.theta);
  let total = 0;
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) {
      const dy = i - r;
      const dx = j - r;
      const u = cos * dx + sin * dy;
      const v = -sin * dx + cos * dy;
      const w = Math.exp(-0.5 * ((u * u) / (blur.sigmaX * blur.sigmaX) + (v * v) / (blur.sigmaY * blur.sigmaY)));
      k[i * size + j] = w;
      total += w;
    }
  for (let i = 0; i < k.length; i++) k[i] /= total;
  return k;
}

/** Down-scaled size of one side: round(len / s), at least 1. */
export function scaledSize(len: number, scale: number): number {
  return Math.max(1, Math.round(len / scale));
}

function checkInput(op: string, x: Tensor, n: number): void {
  if (x.ndim !== 4) throw new Error(`${op}: expected NCHW images, got ${shapeStr(x.shape)}`);
  if (x.shape[0] !== n) throw new Error(`${op}: got ${n} plans for a batch of ${x.shape[0]} images (shape ${shapeStr(x.shape)}); pass one per image`);
  if (isGradEnabled() && x.requiresGrad) throw new Error(`${op}: data synthesis has no gradient; call it on a detached tensor or under noGrad()`);
}

/** Runs blur.wgsl or resize.wgsl, which share the uniform layout n, c, h, w, k, total, src_off, pad. */
function dispatch(name: string, source: string, x: Tensor, table: Tensor, k: number): Tensor {
  if (x.ndim !== 4) throw new Error(`${name}: expected NCHW images, got ${shapeStr(x.shape)}`);
  const src = contiguous(x);
  const out = empty(x.shape);
  const total = numel(x.shape);
  const [n, c, h, w] = x.shape;
  const uniform = new Uint32Array([n, c, h, w, k, total, src.offset, 0]);
  if (total > 0) {
    const dev = out.device;
    dev.dispatch({ name, pipeline: dev.pipeline(name, source, { WG: 256 }), buffers: [src.binding, table.binding, out.binding], uniform, workgroups: workgroups1d(dev, total, 256), bytes: 8 * total });
  }
  if (src !== x) src.dispose();
  return out;
}

/** Filters each image of [N,C,H,W] with its own K×K kernel (kernels: N·K·K values, row-major), mirrored edges. */
export function blurImages(x: Tensor, kernels: Float32Array | Float64Array, size: number): Tensor {
  const n = x.shape[0];
  if (kernels.length !== n * size * size) throw new Error(`blurImages: expected ${n}·${size}·${size} kernel values, got ${kernels.length}`);
  const table = uploadWords(Float32Array.from(kernels));
  const out = dispatch('blur2d', blurSource, x, table, size);
  table.dispose();
  return out;
}

/** Resizes each image to its own (h, w) in `sizes` and back, bilinearly. */
export function downUpImages(x: Tensor, sizes: readonly (readonly [number, number])[]): Tensor {
  const n = x.shape[0];
  if (sizes.length !== n) throw new Error(`downUpImages: got ${sizes.length} sizes for ${n} images`);
  const table = uploadWords(Uint32Array.from(sizes.flat()));
  const out = dispatch('down_up', resizeSource, x, table, 0);
  table.dispose();
  return out;
}

/**
 * Applies one plan per image to [N,C,H,W] linear images. Steps nobody in the batch needs are skipped; images
 * without a blur get a delta kernel and images without a resize the identity (scale 1 is exact).
 */
export function degrade(x: Tensor, plans: readonly DegradePlan[], config: Partial<DegradeConfig> = {}): Tensor {
  checkInput('degrade', x, plans.length);
  const { kernelSize } = resolveDegradeConfig(config);
  const [, , h, w] = x.shape;
  let cur = x;
  if (plans.some((p) => p.blur)) {
    const k = new Float32Array(plans.length * kernelSize * kernelSize);
    plans.forEach((p, i) => k.set(gaussianKernel(p.blur, kernelSize), i * kernelSize * kernelSize));
    cur = blurImages(cur, k, kernelSize);
  }
  if (plans.some((p) => p.scale !== 1)) {
    const next = downUpImages(cur, plans.map((p) => [scaledSize(h, p.scale), scaledSize(w, p.scale)] as const));
    if (cur !== x) cur.dispose();
    cur = next;
  }
  // Nothing to do: a new handle on the same storage, so the caller may dispose input and output independently.
  return cur === x ? x.view(x.shape, x.strides, x.offset) : cur;
}

/** Draws plans for a batch from `seed` (image i from its own child generator) and applies them. */
export function randomDegrade(x: Tensor, seed: number, config: Partial<DegradeConfig> = {}): { images: Tensor; plans: DegradePlan[] } {
  const root = new HostRng(seed, 0);
  const plans = Array.from({ length: x.shape[0] }, (_, i) => sampleDegradePlan(root.child(i), config));
  return { images: degrade(x, plans, config), plans };
}

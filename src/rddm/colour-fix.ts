import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { tensor, ones } from '../ops/creation.js';
import { conv2d } from '../ops/conv2d.js';
import { sparseRGB } from '../raw/bayer.js';
import type { BayerPattern } from '../raw/bayer-pattern.js';

/**
 * Low-frequency colour fix: the restored image keeps its own detail above a Gaussian scale σ and takes the band
 * below it from the input mosaic,
 *
 *   fixed = image − G_σ(image) / G_σ(1) + G_σ(sites_c) / G_σ(mask_c)      (per colour c)
 *
 * with G_σ a Gaussian blur that is zero outside the image, sites_c the mosaic's samples of colour c (zeros
 * elsewhere) and mask_c their indicator. Each quotient is a normalised convolution: a local mean that stays
 * unbiased at the borders and, for the mosaic, over the CFA's gaps. The mosaic's noise is zero-mean, so its local
 * means are unbiased; their noise falls with σ (about 1/(σ√π) of a site's for R and B).
 *
 * Why: OSEDiff and StableSR fix the colour of their outputs from the LQ input the same way (wavelet / AdaIN colour
 * fix). Here the tiny RVAE and UNet leave smooth colour and brightness blotches: on held-out crops most of RDDM's
 * sRGB error sat below a 9-pixel scale (~5× the classical baseline's there), while above it RDDM was the better one.
 */
export function colourFix(image: Tensor, mosaic: Tensor, pattern: BayerPattern, sigma: number): Tensor {
  if (!(sigma >= 0.5 && sigma <= 64)) throw new Error(`colourFix: sigma must be in [0.5, 64] pixels, got ${sigma}`);
  const [n, c, h, w] = image.shape;
  if (image.ndim !== 4 || c !== 3 || mosaic.ndim !== 4 || mosaic.shape[0] !== n || mosaic.shape[1] !== 1 || mosaic.shape[2] !== h || mosaic.shape[3] !== w) {
    throw new Error(`colourFix: expected an image [N,3,H,W] and its mosaic [N,1,H,W], got [${image.shape.join(',')}] and [${mosaic.shape.join(',')}]`);
  }
  return tidy(() => {
    const one = ones([1, 1, h, w]);
    const have = gaussianBlur(image, sigma).div(gaussianBlur(one, sigma));
    const masks = sparseRGB(one, pattern);
    const want = gaussianBlur(sparseRGB(mosaic.detach(), pattern), sigma).div(gaussianBlur(masks, sigma));
    return image.sub(have).add(want);
  });
}

/** The normalised 1-D Gaussian of σ over radius ⌈3σ⌉. */
export function gaussianTaps(sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const taps = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((s, v) => s + v, 0);
  return Float32Array.from(taps, (v) => v / sum);
}

/** Separable Gaussian blur of every channel of [N,C,H,W], zero outside the image (differentiable). */
export function gaussianBlur(x: Tensor, sigma: number): Tensor {
  const taps = gaussianTaps(sigma);
  const k = taps.length, r = (k - 1) / 2, c = x.shape[1];
  return tidy(() => {
    const perChannel = new Float32Array(c * k);
    for (let i = 0; i < c; i++) perChannel.set(taps, i * k);
    const rows = conv2d(x, tensor(perChannel, [c, 1, 1, k]), null, { padding: [0, r], groups: c });
    return conv2d(rows, tensor(perChannel, [c, 1, k, 1]), null, { padding: [r, 0], groups: c });
  });
}

import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { indexSelect } from '../ops/gather.js';
import { flipPatternH, flipPatternV, type BayerPattern } from '../raw/bayer-pattern.js';

/**
 * Flip self-ensemble: a mosaic and its left-right, upside-down and both mirrors are each a valid mosaic of another
 * Bayer pattern (RGGB mirrored left-right is GRBG), so each is restored with that pattern's CMB-LoRA adapter, the
 * results are mirrored back and averaged. Four restorations for one; on the held-out eval pairs (RGGB) it added
 * 0.30 dB sRGB and 0.36 dB linear to the shipped weights (28.54 → 28.84, 38.92 → 39.28).
 */

/** [left-right, upside-down] of each member: the identity first. */
export const FLIPS: readonly (readonly [boolean, boolean])[] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function reversed(n: number): number[] {
  return Array.from({ length: n }, (_, k) => n - 1 - k);
}

/** NCHW `t` mirrored left-right (`h`) and/or upside-down (`v`); its own inverse. Returns `t` itself for neither. */
export function flipImage(t: Tensor, h: boolean, v: boolean): Tensor {
  if (!h && !v) return t;
  return tidy(() => {
    let x = t;
    if (v) x = indexSelect(x, 2, reversed(t.shape[2]!));
    if (h) x = indexSelect(x, 3, reversed(t.shape[3]!));
    return x;
  });
}

/** The pattern of a height×width mosaic of `pattern` after the same mirrors. */
export function flippedPattern(pattern: BayerPattern, height: number, width: number, h: boolean, v: boolean): BayerPattern {
  let p = pattern;
  if (h) p = flipPatternH(p, width);
  if (v) p = flipPatternV(p, height);
  return p;
}

/** The mean of `restore` over the four mirrors of `mosaic` (NCHW, one channel), each mirrored back. */
export function flipEnsemble(mosaic: Tensor, pattern: BayerPattern, restore: (mosaic: Tensor, pattern: BayerPattern) => Tensor): Tensor {
  const [H, W] = [mosaic.shape[2]!, mosaic.shape[3]!];
  return tidy(() => {
    let sum: Tensor | null = null;
    for (const [h, v] of FLIPS) {
      const out = flipImage(restore(flipImage(mosaic, h, v), flippedPattern(pattern, H, W, h, v)), h, v);
      sum = sum ? sum.add(out) : out;
    }
    return sum!.mul(1 / FLIPS.length);
  });
}

/**
 * Float64 references for the Bayer ops (src/raw/bayer.ts), as plain loops over NCHW arrays. The demosaic here is
 * written the textbook way ("mean of the axial neighbours of that colour, else of the diagonal ones"), not as
 * the kernel's stencils, so the two formulations check each other.
 */
import type { BayerPattern } from '../../src/raw/bayer-pattern.js';
import { ref, type RefTensor } from './ref-tensor.js';

const LETTER: Record<string, number> = { R: 0, G: 1, B: 2 };
export const colourAt = (p: BayerPattern, y: number, x: number): number => LETTER[p[2 * (y % 2) + (x % 2)]];

export function mosaicRef(rgb: ArrayLike<number>, n: number, h: number, w: number, patterns: readonly BayerPattern[]): Float64Array {
  const out = new Float64Array(n * h * w);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) out[(b * h + y) * w + x] = rgb[((b * 3 + colourAt(patterns[b], y, x)) * h + y) * w + x];
  return out;
}

export function sparseRef(m: ArrayLike<number>, n: number, h: number, w: number, patterns: readonly BayerPattern[]): Float64Array {
  const out = new Float64Array(n * 3 * h * w);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) out[((b * 3 + colourAt(patterns[b], y, x)) * h + y) * w + x] = m[(b * h + y) * w + x];
  return out;
}

/** [N,1,H,W] → [N,4,H/2,W/2], plane k = tile position k in raster order. */
export function packRef(m: ArrayLike<number>, n: number, h: number, w: number): Float64Array {
  const out = new Float64Array(n * h * w);
  const h2 = h / 2, w2 = w / 2;
  for (let b = 0; b < n; b++)
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < h2; i++)
        for (let j = 0; j < w2; j++) out[((b * 4 + k) * h2 + i) * w2 + j] = m[(b * h + 2 * i + (k >> 1)) * w + 2 * j + (k & 1)];
  return out;
}

const mirror = (i: number, len: number): number => (i < 0 ? -i : i >= len ? 2 * len - 2 - i : i);

export function demosaicRef(m: ArrayLike<number>, n: number, h: number, w: number, patterns: readonly BayerPattern[]): Float64Array {
  const out = new Float64Array(n * 3 * h * w);
  const axial = [[-1, 0], [1, 0], [0, -1], [0, 1]];
  const diagonal = [[-1, -1], [-1, 1], [1, -1], [1, 1]];
  for (let b = 0; b < n; b++) {
    const at = (y: number, x: number) => m[(b * h + y) * w + x];
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let v: number;
          if (colourAt(patterns[b], y, x) === c) v = at(y, x);
          else {
            const pick = (offsets: number[][]) =>
              offsets.map(([dy, dx]) => [mirror(y + dy, h), mirror(x + dx, w)]).filter(([yy, xx]) => colourAt(patterns[b], yy, xx) === c);
            let found = pick(axial);
            if (found.length === 0) found = pick(diagonal);
            v = found.reduce((s, [yy, xx]) => s + at(yy, xx), 0) / found.length;
          }
          out[((b * 3 + c) * h + y) * w + x] = v;
        }
  }
  return out;
}

/** Jᵀg of a linear map given as a function, by probing with unit vectors (exact for linear maps). */
export function linearVjpRef(f: (x: Float64Array) => Float64Array, inSize: number, g: ArrayLike<number>): Float64Array {
  const out = new Float64Array(inSize);
  const e = new Float64Array(inSize);
  for (let i = 0; i < inSize; i++) {
    e[i] = 1;
    const col = f(e);
    let s = 0;
    for (let k = 0; k < col.length; k++) s += col[k] * g[k];
    out[i] = s;
    e[i] = 0;
  }
  return out;
}

/** A reference op on the RefTensor tape (for checkOp) from a linear map: forward f, backward its exact transpose. */
export function linearRefOp(op: string, x: RefTensor, outShape: readonly number[], f: (v: Float64Array) => Float64Array): RefTensor {
  const out = ref(outShape, f(x.data));
  out.node = { op, inputs: [x], vjp: (g) => [ref(x.shape, linearVjpRef(f, x.data.length, g.data))] };
  return out;
}

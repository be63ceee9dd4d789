// From dequantised DCT blocks to 8-bit pixels: the inverse DCT, chroma upsampling and YCbCr → RGB. Rounding and
// the "fancy" (triangular) 2× upsampling follow libjpeg's, so decodes agree with djpeg's to about ±1.

/** COS[x * 8 + u] = C(u)/2 · cos((2x + 1)uπ/16): the 1-D inverse DCT basis. */
const COS = (() => {
  const t = new Float64Array(64);
  for (let x = 0; x < 8; x++) for (let u = 0; u < 8; u++) t[x * 8 + u] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  return t;
})();

/**
 * Inverse DCT of one block: coefs[o..o+64) (natural order) times the quantisation table, level-shifted by 128,
 * rounded and clamped to 0..255, into plane at (bx·8, by·8) with row stride `stride`.
 */
export function idctBlock(coefs: Int16Array, o: number, quant: Uint16Array, plane: Uint8Array, at: number, stride: number, tmp: Float64Array): void {
  // Rows first (over u), then columns (over v); tmp holds the half-transformed block.
  for (let v = 0; v < 8; v++) {
    const row = o + v * 8;
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let u = 0; u < 8; u++) {
        const c = coefs[row + u]!;
        if (c !== 0) s += c * quant[v * 8 + u]! * COS[x * 8 + u]!;
      }
      tmp[v * 8 + x] = s;
    }
  }
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let v = 0; v < 8; v++) s += tmp[v * 8 + x]! * COS[y * 8 + v]!;
      const p = Math.round(s + 128);
      plane[at + y * stride + x] = p < 0 ? 0 : p > 255 ? 255 : p;
    }
  }
}

/** A decoded component: `width`×`height` samples (its own, subsampled size) in a plane with row stride `stride`. */
export interface ComponentPlane {
  data: Uint8Array;
  stride: number;
  width: number;
  height: number;
  /** Horizontal and vertical upsampling factors to the image size. */
  sx: number;
  sy: number;
}

/**
 * The component at full image size, width×height. libjpeg's triangular filter for 2×1, 1×2 and 2×2 (4:2:2, 4:4:0 and
 * 4:2:0 chroma), sample replication otherwise or when `fancy` is false (djpeg -nosmooth).
 */
export function upsample(p: ComponentPlane, width: number, height: number, fancy: boolean): Uint8Array {
  const out = new Uint8Array(width * height);
  const src = p.data;
  if (p.sx === 1 && p.sy === 1) {
    for (let y = 0; y < height; y++) out.set(src.subarray(y * p.stride, y * p.stride + width), y * width);
    return out;
  }
  const triangular = fancy && ((p.sx === 2 && (p.sy === 1 || p.sy === 2) && p.width > 2) || (p.sx === 1 && p.sy === 2));
  if (!triangular) {
    for (let y = 0; y < height; y++) {
      const row = Math.floor(y / p.sy) * p.stride;
      for (let x = 0; x < width; x++) out[y * width + x] = src[row + Math.floor(x / p.sx)]!;
    }
    return out;
  }
  const w = p.width;
  const line = new Int32Array(w);
  const wide = new Uint8Array(2 * w);
  for (let y = 0; y < height; y++) {
    const iy = Math.floor(y / p.sy);
    // With 2× vertical: the neighbouring input row, above for even output rows and below for odd, edges repeated.
    const ny = y % 2 === 0 ? Math.max(iy - 1, 0) : Math.min(iy + 1, p.height - 1);
    if (p.sx === 1) {
      // h1v2: 3/4 of this row + 1/4 of the neighbouring one.
      const bias = y % 2 === 0 ? 1 : 2;
      for (let x = 0; x < width; x++) out[y * width + x] = (src[iy * p.stride + x]! * 3 + src[ny * p.stride + x]! + bias) >> 2;
      continue;
    }
    if (p.sy === 1) {
      // h2v1: 3/4 of the nearer sample + 1/4 of the farther, libjpeg's alternating rounding.
      const r = iy * p.stride;
      wide[0] = src[r]!;
      wide[1] = (src[r]! * 3 + src[r + 1]! + 2) >> 2;
      for (let i = 1; i < w - 1; i++) {
        const v = src[r + i]! * 3;
        wide[2 * i] = (v + src[r + i - 1]! + 1) >> 2;
        wide[2 * i + 1] = (v + src[r + i + 1]! + 2) >> 2;
      }
      wide[2 * w - 2] = (src[r + w - 1]! * 3 + src[r + w - 2]! + 1) >> 2;
      wide[2 * w - 1] = src[r + w - 1]!;
    } else {
      // h2v2: vertical 3:1 with the neighbouring row, then horizontal 3:1 on the column sums.
      const r0 = iy * p.stride;
      const r1 = ny * p.stride;
      for (let i = 0; i < w; i++) line[i] = src[r0 + i]! * 3 + src[r1 + i]!;
      wide[0] = (line[0]! * 4 + 8) >> 4;
      wide[1] = (line[0]! * 3 + line[1]! + 7) >> 4;
      for (let i = 1; i < w - 1; i++) {
        wide[2 * i] = (line[i]! * 3 + line[i - 1]! + 8) >> 4;
        wide[2 * i + 1] = (line[i]! * 3 + line[i + 1]! + 7) >> 4;
      }
      wide[2 * w - 2] = (line[w - 1]! * 3 + line[w - 2]! + 8) >> 4;
      wide[2 * w - 1] = (line[w - 1]! * 4 + 7) >> 4;
    }
    out.set(wide.subarray(0, width), y * width);
  }
  return out;
}

/** JFIF YCbCr (full range, BT.601 weights) → a new interleaved RGB array. */
export function ycbcrToRgb(yp: Uint8Array, cb: Uint8Array, cr: Uint8Array): Uint8Array {
  const out = new Uint8Array(yp.length * 3);
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let i = 0; i < yp.length; i++) {
    const y = yp[i]!;
    const b = cb[i]! - 128;
    const r = cr[i]! - 128;
    out[3 * i] = clamp(y + Math.round(1.402 * r));
    out[3 * i + 1] = clamp(y + Math.round(-0.344136 * b - 0.714136 * r));
    out[3 * i + 2] = clamp(y + Math.round(1.772 * b));
  }
  return out;
}

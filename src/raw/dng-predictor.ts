// The predictors of Deflate-compressed DNG tiles (TIFF Predictor tag 317) and DNG's floating-point samples.
// Integer: 2 = horizontal difference (TIFF), 34892 / 34893 = the same across every 2nd / 4th sample (DNG 1.4).
// Floating point: 3 (Adobe's TIFF technote 3), 34894 / 34895 = ×2 / ×4: each row's bytes are split into
// planes, most significant byte first, and byte-differenced across the row.

export const PREDICTOR = { none: 1, horizontal: 2, float: 3, horizontalX2: 34892, horizontalX4: 34893, floatX2: 34894, floatX4: 34895 } as const;

/** How many samples apart a predictor differences (1, 2 or 4), and whether it is a floating-point one; null if unknown. */
export function predictorKind(p: number): { float: boolean; stride: number } | null {
  switch (p) {
    case PREDICTOR.horizontal: return { float: false, stride: 1 };
    case PREDICTOR.horizontalX2: return { float: false, stride: 2 };
    case PREDICTOR.horizontalX4: return { float: false, stride: 4 };
    case PREDICTOR.float: return { float: true, stride: 1 };
    case PREDICTOR.floatX2: return { float: true, stride: 2 };
    case PREDICTOR.floatX4: return { float: true, stride: 4 };
    default: return null;
  }
}

/** Undoes integer horizontal differencing in place: each row of `rowLen` samples, `stride` apart, modulo 2^bits. */
export function undoHorizontal(samples: Uint16Array | Uint8Array, rowLen: number, rows: number, stride: number): void {
  for (let y = 0; y < rows; y++) {
    const row = y * rowLen;
    for (let i = row + stride; i < row + rowLen; i++) samples[i] = samples[i]! + samples[i - stride]!;
  }
}

/**
 * One row of floating-point-predicted bytes (`count` samples of `bytes` bytes each) back to sample bytes in
 * big-endian order: undo the byte differences (`stride` bytes apart), then gather each sample's bytes from
 * the planes.
 */
export function undoFloatRow(src: Uint8Array, count: number, bytes: number, stride: number, out: Uint8Array): void {
  for (let i = stride; i < count * bytes; i++) src[i] = (src[i]! + src[i - stride]!) & 0xff;
  for (let i = 0; i < count; i++) for (let k = 0; k < bytes; k++) out[i * bytes + k] = src[k * count + i]!;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A 16-, 24- or 32-bit DNG float from its big-endian bytes at `at`. NaN reads as NaN; callers clamp. */
export function dngFloat(b: Uint8Array, at: number, bytes: number): number {
  if (bytes === 4) {
    u32[0] = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    return f32[0]!;
  }
  // IEEE half (1-5-10) or DNG's 24-bit float (1-7-16, exponent bias 63).
  const [expBits, mantBits] = bytes === 2 ? [5, 10] : [7, 16];
  const v = bytes === 2 ? (b[at]! << 8) | b[at + 1]! : (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  const sign = v >>> (expBits + mantBits) ? -1 : 1;
  const exp = (v >>> mantBits) & ((1 << expBits) - 1);
  const mant = v & ((1 << mantBits) - 1);
  const bias = (1 << (expBits - 1)) - 1;
  if (exp === (1 << expBits) - 1) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
}

/**
 * Floating-point samples to 16-bit integers the way LibRaw's convertFloatToInt does, so our numbers and LibRaw's
 * agree: when the larger of the white level and the data's maximum lies outside 4096..32767, every value is
 * scaled so that it becomes 16383; values are clamped at 0 and truncated. Returns the samples and the scale
 * (the caller scales black and white levels by it).
 */
export function floatsToU16(src: Float32Array, white: number): { data: Uint16Array; scale: number } {
  let max = 0;
  for (let i = 0; i < src.length; i++) if (src[i]! > max && src[i]! !== Infinity) max = src[i]!;
  const tmax = Math.max(white, max, 1);
  const scale = tmax < 4096 || tmax > 32767 ? Math.fround(16383 / tmax) : 1;
  const data = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    data[i] = v > 0 ? Math.min(65535, Math.trunc(Math.fround(v * scale))) : 0; // NaN and negatives read as 0
  }
  return { data, scale };
}

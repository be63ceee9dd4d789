// f16 / bf16 <-> f32 conversions. All conversions work on raw bit patterns (Uint32/Uint16) so NaN
// payloads survive: copying a NaN through a JS number may canonicalise it.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Bits of `x` after rounding it to f32 (what a Float32Array would store). */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

/** The f32 value whose bit pattern is `bits`. */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0]!;
}

/** f32 bit pattern -> f16 bit pattern, round to nearest, ties to even; overflow goes to ±inf. */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // Keep the top payload bits and force the quiet bit so a NaN can never truncate to inf.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // A round-up carry out of the mantissa bumps the exponent, and out of e=30 lands exactly on inf.
    const half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    const up = rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1);
    return sign | (half + (up ? 1 : 0));
  }
  // Subnormal result: below 2^-25 even the halfway point to the smallest subnormal is not reached.
  if (e < -10) return sign;
  const m = mant | 0x800000; // make the implicit leading 1 explicit
  const shift = 14 - e; // 14..24
  const half = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  const up = rem > halfway || (rem === halfway && (half & 1) === 1);
  return sign | (half + (up ? 1 : 0)); // a carry to 0x400 is the smallest normal, as it should be
}

/** f16 bit pattern -> f32 bit pattern (exact: every f16 is representable in f32). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal f16 is a normal f32: shift the mantissa up until its leading 1 is the implicit bit.
  let m = mant;
  let e = -14;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | ((e + 127) << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** f32 bit pattern -> bf16 bit pattern, round to nearest, ties to even. */
export function f32BitsToBf16Bits(bits: number): number {
  const b = bits >>> 0;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40; // quiet NaN
  // Adding 0x7fff plus the kept lsb rounds ties to even; a carry into the exponent is correct rounding.
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32Bits(h: number): number {
  return (h << 16) >>> 0;
}

// 65536 entries (256 KiB) turn bulk f16 decoding into a table lookup; built on first use only.
let f16Table: Uint32Array | undefined;
function f16ToF32Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

function bitsView(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Decodes f16 bit patterns into `dst` (dst.length >= src.length). */
export function decodeF16(src: Uint16Array, dst: Float32Array): void {
  const table = f16ToF32Table();
  const out = bitsView(dst);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
}

/** Decodes bf16 bit patterns into `dst` (dst.length >= src.length). */
export function decodeBf16(src: Uint16Array, dst: Float32Array): void {
  const out = bitsView(dst);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}

export function encodeF16(src: Float32Array): Uint16Array<ArrayBuffer> {
  const bits = bitsView(src);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

export function encodeBf16(src: Float32Array): Uint16Array<ArrayBuffer> {
  const bits = bitsView(src);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]!);
  return out;
}

/** Rounds every value of `src` through f16 and back: what a F16 save + load would give. */
export function roundTripF16(src: Float32Array): Float32Array {
  const out = new Float32Array(src.length);
  decodeF16(encodeF16(src), out);
  return out;
}

export function roundTripBf16(src: Float32Array): Float32Array {
  const out = new Float32Array(src.length);
  decodeBf16(encodeBf16(src), out);
  return out;
}

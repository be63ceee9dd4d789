// libjpeg's integer arithmetic, bit for bit, so that 8-bit samples equal djpeg's, dcraw's and LibRaw's (they
// all decode through libjpeg): its default inverse DCT ("ISLOW": the Loeffler–Ligtenberg–Moschytz
// factorisation in 13-bit fixed point, 2 extra bits between the passes) and its 16-bit fixed-point YCbCr → RGB.
// Written from the algorithms; the float versions in jpeg-pixels.ts stay the default for photos, these are
// for lossy DNG tiles, whose samples must match those readers exactly.

const CONST_BITS = 13;
const PASS1_BITS = 2;
// round(x · 2^13) for the rotation constants of the factorisation.
const F0_298 = 2446;
const F0_390 = 3196;
const F0_541 = 4433;
const F0_765 = 6270;
const F0_899 = 7373;
const F1_175 = 9633;
const F1_501 = 12299;
const F1_847 = 15137;
const F1_961 = 16069;
const F2_053 = 16819;
const F2_562 = 20995;
const F3_072 = 25172;

/** Rounded right shift, as libjpeg's DESCALE on its 64-bit intermediates (doubles hold them exactly here). */
const descale = (x: number, n: number): number => Math.floor((x + 2 ** (n - 1)) / 2 ** n);

/**
 * One 1-D pass over 8 values in `v` (in place): the even part from inputs 0, 2, 4, 6, the odd part from 1, 3, 5,
 * 7, the outputs descaled by `shift` bits.
 */
function pass(v: Float64Array, shift: number): void {
  let z2 = v[2]!;
  let z3 = v[6]!;
  let z1 = (z2 + z3) * F0_541;
  const t2 = z1 - z3 * F1_847;
  const t3 = z1 + z2 * F0_765;
  const e0 = (v[0]! + v[4]!) * (1 << CONST_BITS);
  const e1 = (v[0]! - v[4]!) * (1 << CONST_BITS);
  const t10 = e0 + t3;
  const t13 = e0 - t3;
  const t11 = e1 + t2;
  const t12 = e1 - t2;
  let o0 = v[7]!;
  let o1 = v[5]!;
  let o2 = v[3]!;
  let o3 = v[1]!;
  z1 = o0 + o3;
  z2 = o1 + o2;
  z3 = o0 + o2;
  let z4 = o1 + o3;
  const z5 = (z3 + z4) * F1_175;
  o0 *= F0_298;
  o1 *= F2_053;
  o2 *= F3_072;
  o3 *= F1_501;
  z1 *= -F0_899;
  z2 *= -F2_562;
  z3 = z3 * -F1_961 + z5;
  z4 = z4 * -F0_390 + z5;
  o0 += z1 + z3;
  o1 += z2 + z4;
  o2 += z2 + z3;
  o3 += z1 + z4;
  v[0] = descale(t10 + o3, shift);
  v[7] = descale(t10 - o3, shift);
  v[1] = descale(t11 + o2, shift);
  v[6] = descale(t11 - o2, shift);
  v[2] = descale(t12 + o1, shift);
  v[5] = descale(t12 - o1, shift);
  v[3] = descale(t13 + o0, shift);
  v[4] = descale(t13 - o0, shift);
}

const col = new Float64Array(8);
const ws = new Float64Array(64);

/** Same contract as idctBlock (jpeg-pixels.ts): dequantise, inverse-transform, level-shift and clamp one block. */
export function idctBlockIslow(coefs: Int16Array, o: number, quant: Uint16Array, plane: Uint8Array, at: number, stride: number): void {
  // Columns first, keeping PASS1_BITS extra bits; then rows, removing them and the 2^3 of the 2-D scale.
  for (let x = 0; x < 8; x++) {
    for (let y = 0; y < 8; y++) col[y] = coefs[o + y * 8 + x]! * quant[y * 8 + x]!;
    pass(col, CONST_BITS - PASS1_BITS);
    for (let y = 0; y < 8; y++) ws[y * 8 + x] = col[y]!;
  }
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) col[x] = ws[y * 8 + x]!;
    pass(col, CONST_BITS + PASS1_BITS + 3);
    for (let x = 0; x < 8; x++) {
      const p = col[x]! + 128;
      plane[at + y * stride + x] = p < 0 ? 0 : p > 255 ? 255 : p;
    }
  }
}

/** round(x · 2^16), libjpeg's FIX() for the colour converter. */
const fix16 = (x: number): number => Math.floor(x * 65536 + 0.5);
const CR_R = fix16(1.402);
const CB_B = fix16(1.772);
const CR_G = fix16(0.71414);
const CB_G = fix16(0.34414);

/** JFIF YCbCr → interleaved RGB with libjpeg's tables: chroma terms rounded in 16-bit fixed point, then clamped. */
export function ycbcrToRgbExact(yp: Uint8Array, cb: Uint8Array, cr: Uint8Array): Uint8Array {
  const out = new Uint8Array(yp.length * 3);
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let i = 0; i < yp.length; i++) {
    const y = yp[i]!;
    const b = cb[i]! - 128;
    const r = cr[i]! - 128;
    out[3 * i] = clamp(y + Math.floor((CR_R * r + 32768) / 65536));
    out[3 * i + 1] = clamp(y + Math.floor((-CB_G * b + 32768 - CR_G * r) / 65536));
    out[3 * i + 2] = clamp(y + Math.floor((CB_B * b + 32768) / 65536));
  }
  return out;
}

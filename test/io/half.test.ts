import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32Bits,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
} from '../../src/io/half.js';

// The reference here is deliberately different from the implementation: values come from the textbook
// formula sign * 2^(e-bias) * (1 + m/2^k), and rounding is "find the two neighbours by binary search,
// compare against their exact midpoint, break ties towards the even code".

const dv = new DataView(new ArrayBuffer(4));
const f32OfBits = (b: number): number => (dv.setUint32(0, b >>> 0), dv.getFloat32(0));
const bitsOfF32 = (x: number): number => (dv.setFloat32(0, x), dv.getUint32(0));

interface Format {
  mantBits: number;
  expBits: number;
}
const F16: Format = { mantBits: 10, expBits: 5 };
const BF16: Format = { mantBits: 7, expBits: 8 };

function refDecode(fmt: Format, code: number): number {
  const sign = code >> (fmt.mantBits + fmt.expBits) ? -1 : 1;
  const e = (code >> fmt.mantBits) & ((1 << fmt.expBits) - 1);
  const m = code & ((1 << fmt.mantBits) - 1);
  const bias = (1 << (fmt.expBits - 1)) - 1;
  if (e === (1 << fmt.expBits) - 1) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - fmt.mantBits);
  return sign * 2 ** (e - bias) * (1 + m / 2 ** fmt.mantBits);
}

/** Positive finite values by code, plus the "next" value 2^(emax+1) standing for +inf. */
function positiveTable(fmt: Format): number[] {
  const infCode = ((1 << fmt.expBits) - 1) << fmt.mantBits;
  const vals: number[] = [];
  for (let c = 0; c < infCode; c++) vals.push(refDecode(fmt, c));
  vals.push(2 ** ((1 << (fmt.expBits - 1)) - 1 + 1)); // one ulp past the largest finite: rounds to inf
  return vals;
}

function refEncode(fmt: Format, table: number[], x: number): number {
  const signBit = 1 << (fmt.mantBits + fmt.expBits);
  const infCode = table.length - 1;
  if (Number.isNaN(x)) return -1; // checked separately: any NaN code
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  if (a >= table[infCode]!) return sign | infCode;
  let lo = 0;
  let hi = infCode;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid]! <= a) lo = mid;
    else hi = mid;
  }
  if (table[lo] === a) return sign | lo;
  const midpoint = (table[lo]! + table[hi]!) / 2;
  if (a < midpoint) return sign | lo;
  if (a > midpoint) return sign | hi;
  return sign | (lo % 2 === 0 ? lo : hi);
}

const f16Table = positiveTable(F16);
const bf16Table = positiveTable(BF16);

function isNanCode(fmt: Format, code: number): boolean {
  const e = (code >> fmt.mantBits) & ((1 << fmt.expBits) - 1);
  return e === (1 << fmt.expBits) - 1 && (code & ((1 << fmt.mantBits) - 1)) !== 0;
}

describe('f16', () => {
  it('known values', () => {
    const cases: [number, number][] = [
      [1.0, 0x3c00], [-2.5, 0xc100], [65504, 0x7bff], [0, 0x0000], [-0, 0x8000],
      [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-Infinity, 0xfc00], [Infinity, 0x7c00],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [1023 * 2 ** -24, 0x03ff],
      [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -25 * 1.5, 0x0001], [2 ** -26, 0x0000],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2049, 0x6800], [2051, 0x6802], [0.1, 0x2e66],
    ];
    for (const [x, code] of cases) {
      expect(f32BitsToF16Bits(bitsOfF32(x)), `f16(${x})`).toBe(code);
      expect(refEncode(F16, f16Table, Math.fround(x)), `reference f16(${x})`).toBe(code);
    }
    expect(isNanCode(F16, f32BitsToF16Bits(bitsOfF32(NaN)))).toBe(true);
    // A signalling NaN whose payload sits only in the low bits must not collapse to inf.
    expect(isNanCode(F16, f32BitsToF16Bits(0x7f800001))).toBe(true);
    expect(isNanCode(F16, f32BitsToF16Bits(0xff800001))).toBe(true);
  });

  it('decodes all 65536 codes like the formula', () => {
    for (let c = 0; c < 65536; c++) {
      const got = f32OfBits(f16BitsToF32Bits(c));
      const want = refDecode(F16, c);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (!Object.is(got, want)) expect(got, `code 0x${c.toString(16)}`).toBe(want);
    }
  });

  it('encodes every code, every midpoint and its neighbours, and random floats like the reference', () => {
    const inputs: number[] = [];
    for (let c = 0; c < 0x7c00; c++) {
      const v = bitsOfF32(f16Table[c]!);
      const mid = bitsOfF32((f16Table[c]! + f16Table[c + 1]!) / 2);
      inputs.push(v, mid, mid - 1, mid + 1);
    }
    let seed = 12345;
    for (let i = 0; i < 200_000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      inputs.push(seed);
    }
    let checked = 0;
    for (const base of inputs) {
      for (const bits of [base >>> 0, (base | 0x80000000) >>> 0]) {
        const x = f32OfBits(bits);
        const got = f32BitsToF16Bits(bits);
        if (Number.isNaN(x)) {
          expect(isNanCode(F16, got)).toBe(true);
          continue;
        }
        const want = refEncode(F16, f16Table, x);
        if (got !== want) expect(got, `f16(${x}) bits 0x${bits.toString(16)}`).toBe(want);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(400_000);
  });
});

describe('bf16', () => {
  it('known values', () => {
    const cases: [number, number][] = [
      [1.0, 0x3f80], [-2.5, 0xc020], [0, 0x0000], [-0, 0x8000], [Infinity, 0x7f80], [-Infinity, 0xff80],
      [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [1 + 2 ** -8 + 2 ** -20, 0x3f81],
      [3.3895313892515355e38, 0x7f7f], [3.4e38, 0x7f80], [2 ** -133, 0x0001], [2 ** -126, 0x0080], [0.1, 0x3dcd],
    ];
    for (const [x, code] of cases) {
      expect(f32BitsToBf16Bits(bitsOfF32(x)), `bf16(${x})`).toBe(code);
      expect(refEncode(BF16, bf16Table, Math.fround(x)), `reference bf16(${x})`).toBe(code);
    }
    expect(isNanCode(BF16, f32BitsToBf16Bits(0x7f800001))).toBe(true);
    expect(isNanCode(BF16, f32BitsToBf16Bits(0xffc00000))).toBe(true);
  });

  it('decodes all codes and encodes random floats and midpoints like the reference', () => {
    for (let c = 0; c < 65536; c++) {
      const got = f32OfBits(bf16BitsToF32Bits(c));
      const want = refDecode(BF16, c);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (!Object.is(got, want)) expect(got, `code 0x${c.toString(16)}`).toBe(want);
    }
    let seed = 777;
    const inputs: number[] = [];
    for (let c = 0; c < 0x7f80; c += 3) {
      const mid = bitsOfF32((bf16Table[c]! + bf16Table[c + 1]!) / 2);
      inputs.push(mid, mid - 1, mid + 1);
    }
    for (let i = 0; i < 200_000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      inputs.push(seed);
    }
    for (const bits of inputs) {
      const x = f32OfBits(bits);
      const got = f32BitsToBf16Bits(bits);
      if (Number.isNaN(x)) expect(isNanCode(BF16, got)).toBe(true);
      else if (got !== refEncode(BF16, bf16Table, x)) expect(got, `bf16(${x})`).toBe(refEncode(BF16, bf16Table, x));
    }
  });
});

describe('bulk conversions', () => {
  it('match the scalar functions bit for bit, including NaN payloads', () => {
    const bits = new Uint32Array([0x3f800000, 0x7fc00001, 0xffa00000, 0x00000001, 0x477fe000, 0x80000000]);
    const src = new Float32Array(bits.buffer);
    const h = encodeF16(src);
    const b = encodeBf16(src);
    expect([...h]).toEqual([...bits].map(f32BitsToF16Bits));
    expect([...b]).toEqual([...bits].map(f32BitsToBf16Bits));
    const back = new Float32Array(h.length);
    decodeF16(h, back);
    expect([...new Uint32Array(back.buffer)]).toEqual([...h].map(f16BitsToF32Bits));
    decodeBf16(b, back);
    expect([...new Uint32Array(back.buffer)]).toEqual([...b].map(bf16BitsToF32Bits));
  });
});

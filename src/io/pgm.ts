// Binary PGM (P5). The 16-bit writer produces exactly what `dcraw -D -4` writes for a mosaic
// ("P5\nW H\n65535\n", big-endian samples), so outputs can be compared byte for byte.

import { FormatError } from './bytes.js';

export interface GrayImage {
  width: number;
  height: number;
  maxval: number;
  /** Row-major samples. */
  data: Uint16Array;
}

/** A 16-bit P5 image. dcraw always writes maxval 65535 at 16 bits, whatever the data's range. */
export function encodePgm16(width: number, height: number, data: Uint16Array, maxval = 65535): Uint8Array {
  if (data.length !== width * height) throw new RangeError(`encodePgm16: ${data.length} samples for ${width}x${height}`);
  if (!(maxval >= 256 && maxval <= 65535)) throw new RangeError(`encodePgm16: maxval ${maxval} is not a 16-bit maxval`);
  const header = new TextEncoder().encode(`P5\n${width} ${height}\n${maxval}\n`);
  const out = new Uint8Array(header.length + data.length * 2);
  out.set(header);
  for (let i = 0, o = header.length; i < data.length; i++, o += 2) {
    const v = data[i]!;
    out[o] = v >> 8;
    out[o + 1] = v & 0xff;
  }
  return out;
}

/** Reads a binary PGM (8- or 16-bit, comments allowed in the header). */
export function decodePgm(bytes: Uint8Array, name = 'PGM'): GrayImage {
  let at = 0;
  const fail = (problem: string): FormatError => new FormatError(name, problem);
  const token = (): string => {
    for (;;) {
      while (at < bytes.length && /\s/.test(String.fromCharCode(bytes[at]!))) at++;
      if (bytes[at] !== 0x23) break; // '#' comment to end of line
      while (at < bytes.length && bytes[at] !== 0x0a) at++;
    }
    let s = '';
    while (at < bytes.length && s.length < 12 && !/\s/.test(String.fromCharCode(bytes[at]!))) s += String.fromCharCode(bytes[at++]!);
    return s;
  };
  if (token() !== 'P5') throw fail('not a binary PGM (no P5 magic)');
  const [width, height, maxval] = [token(), token(), token()].map(Number) as [number, number, number];
  at++; // exactly one whitespace byte separates the header from the samples
  if (![width, height, maxval].every((v) => Number.isInteger(v) && v > 0) || maxval > 65535) {
    throw fail(`bad PGM header ${width} ${height} ${maxval}`);
  }
  const bps = maxval > 255 ? 2 : 1;
  if (bytes.length - at < width * height * bps) throw fail(`${width}x${height} PGM is truncated`);
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = bps === 2 ? (bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]! : bytes[at + i]!;
  return { width, height, maxval, data };
}

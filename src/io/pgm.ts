// Binary PGM (P5) and PPM (P6). The 16-bit writer produces exactly what `dcraw -D -4` writes for a mosaic
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

/** A 16-bit P6 image of interleaved RGB samples: what `dcraw -D -4` writes for a three-colour (LinearRaw) DNG. */
export function encodePpm16(width: number, height: number, rgb: Uint16Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodePpm16: ${rgb.length} samples for ${width}x${height}x3`);
  const header = new TextEncoder().encode(`P6\n${width} ${height}\n65535\n`);
  const out = new Uint8Array(header.length + rgb.length * 2);
  out.set(header);
  for (let i = 0, o = header.length; i < rgb.length; i++, o += 2) {
    out[o] = rgb[i]! >> 8;
    out[o + 1] = rgb[i]! & 0xff;
  }
  return out;
}

/** A binary Netpbm image: P5 (gray) or P6 (RGB, interleaved). */
export interface NetpbmImage extends GrayImage {
  channels: 1 | 3;
}

/** Reads a binary PGM (8- or 16-bit, comments allowed in the header). */
export function decodePgm(bytes: Uint8Array, name = 'PGM'): GrayImage {
  const img = decodeNetpbm(bytes, name);
  if (img.channels !== 1) throw new FormatError(name, 'not a binary PGM (P6 is colour; expected P5)');
  return { width: img.width, height: img.height, maxval: img.maxval, data: img.data };
}

/** Reads a binary PGM (P5) or PPM (P6), 8- or 16-bit samples (big-endian at 16 bits, as Netpbm defines). */
export function decodeNetpbm(bytes: Uint8Array, name = 'Netpbm'): NetpbmImage {
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
  const magic = token();
  if (magic !== 'P5' && magic !== 'P6') throw fail('not a binary PGM or PPM (no P5 or P6 magic)');
  const channels = magic === 'P6' ? 3 : 1;
  const [width, height, maxval] = [token(), token(), token()].map(Number) as [number, number, number];
  at++; // exactly one whitespace byte separates the header from the samples
  if (![width, height, maxval].every((v) => Number.isInteger(v) && v > 0) || maxval > 65535) {
    throw fail(`bad ${magic} header ${width} ${height} ${maxval}`);
  }
  const bps = maxval > 255 ? 2 : 1;
  const count = width * height * channels;
  if (bytes.length - at < count * bps) throw fail(`${width}x${height} ${magic} image is truncated`);
  const data = new Uint16Array(count);
  for (let i = 0; i < count; i++) data[i] = bps === 2 ? (bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]! : bytes[at + i]!;
  return { width, height, maxval, channels, data };
}

// A minimal TIFF writer (little-endian unless asked for big-endian): one IFD, one strip. Enough for 16-bit linear RGB images and,
// through src/raw/dng-writer.ts, for uncompressed CFA DNGs.

export type TiffType = 'byte' | 'ascii' | 'short' | 'long' | 'rational' | 'srational' | 'undefined';

export interface TiffTag {
  tag: number;
  type: TiffType;
  /** Numbers, or a string for 'ascii' (a NUL is appended). */
  values: readonly number[] | string;
}

const TYPE_CODE: Record<TiffType, number> = { byte: 1, ascii: 2, short: 3, long: 4, rational: 5, srational: 10, undefined: 7 };
const TYPE_SIZE: Record<TiffType, number> = { byte: 1, ascii: 1, short: 2, long: 4, rational: 8, srational: 8, undefined: 1 };

const STRIP_OFFSETS = 273;
const STRIP_BYTE_COUNTS = 279;
const TILE_OFFSETS = 324;

/**
 * The simplest fraction within ~1e-12 (relative) of `v` whose terms fit a (S)RATIONAL, by continued
 * fractions: 2/3 and 6257/10000 come out exact, so values survive a write/read round trip.
 */
export function toRational(v: number, signed: boolean): [number, number] {
  if (!Number.isFinite(v)) throw new RangeError(`TIFF rational value ${v} is not finite`);
  if (!signed && v < 0) throw new RangeError(`TIFF RATIONAL value ${v} is negative`);
  const limit = signed ? 0x7fffffff : 0xffffffff;
  const x = Math.abs(v);
  if (x > limit) throw new RangeError(`TIFF rational value ${v} is too large`);
  let [p0, q0, p1, q1] = [0, 1, 1, 0]; // convergents p/q
  let rest = x;
  for (let i = 0; i < 64; i++) {
    const a = Math.floor(rest);
    const [p2, q2] = [a * p1 + p0, a * q1 + q0];
    if (p2 > limit || q2 > limit) break;
    [p0, q0, p1, q1] = [p1, q1, p2, q2];
    if (Math.abs(x - p1 / q1) <= 1e-12 * x || rest === a) break;
    rest = 1 / (rest - a);
  }
  return [v < 0 ? -p1 : p1, q1];
}

function encodeValues(t: TiffTag, le: boolean): Uint8Array {
  if (t.type === 'ascii') {
    const s = typeof t.values === 'string' ? t.values : String.fromCharCode(...t.values);
    return Uint8Array.from(s + '\0', (ch) => ch.charCodeAt(0) & 0xff);
  }
  if (typeof t.values === 'string') throw new TypeError(`TIFF tag ${t.tag}: string given for type ${t.type}`);
  const vals = t.values;
  const out = new Uint8Array(vals.length * TYPE_SIZE[t.type]);
  const dv = new DataView(out.buffer);
  vals.forEach((v, i) => {
    switch (t.type) {
      case 'byte':
      case 'undefined':
        out[i] = v;
        break;
      case 'short':
        dv.setUint16(2 * i, v, le);
        break;
      case 'long':
        dv.setUint32(4 * i, v, le);
        break;
      default: {
        const [num, den] = toRational(v, t.type === 'srational');
        if (t.type === 'srational') dv.setInt32(8 * i, num, le);
        else dv.setUint32(8 * i, num, le);
        dv.setUint32(8 * i + 4, den, le);
      }
    }
  });
  return out;
}

/** Where encodeTiff puts the image data, so callers laying out several strips or tiles can point into it. */
export const TIFF_DATA_OFFSET = 8;

/**
 * A TIFF holding `tags` and the image `data`. Unless the tags locate the data themselves (StripOffsets
 * or TileOffsets, relative to TIFF_DATA_OFFSET), it becomes one strip. `bigEndian` writes an "MM" file
 * (the caller writes `data` in that order too).
 */
export function encodeTiff(tags: readonly TiffTag[], data: Uint8Array, opts: { bigEndian?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const dataAt = TIFF_DATA_OFFSET;
  const all = [...tags];
  if (!tags.some((t) => t.tag === STRIP_OFFSETS || t.tag === TILE_OFFSETS)) {
    all.push({ tag: STRIP_OFFSETS, type: 'long', values: [dataAt] }, { tag: STRIP_BYTE_COUNTS, type: 'long', values: [data.length] });
  }
  all.sort((a, b) => a.tag - b.tag); // TIFF requires ascending tag order
  const ifdAt = dataAt + data.length + (data.length & 1); // IFDs start on a word boundary
  const ifdSize = 2 + all.length * 12 + 4;
  const encoded = all.map((t) => encodeValues(t, le));
  let extra = 0;
  for (const e of encoded) if (e.length > 4) extra += e.length + (e.length & 1);
  const out = new Uint8Array(ifdAt + ifdSize + extra);
  const dv = new DataView(out.buffer);
  out.set(le ? [0x49, 0x49, 42, 0] : [0x4d, 0x4d, 0, 42]);
  dv.setUint32(4, ifdAt, le);
  out.set(data, dataAt);
  dv.setUint16(ifdAt, all.length, le);
  let valueAt = ifdAt + ifdSize;
  all.forEach((t, i) => {
    const e = encoded[i]!;
    const at = ifdAt + 2 + i * 12;
    dv.setUint16(at, t.tag, le);
    dv.setUint16(at + 2, TYPE_CODE[t.type], le);
    dv.setUint32(at + 4, e.length / TYPE_SIZE[t.type], le);
    if (e.length <= 4) {
      out.set(e, at + 8);
    } else {
      dv.setUint32(at + 8, valueAt, le);
      out.set(e, valueAt);
      valueAt += e.length + (e.length & 1);
    }
  });
  dv.setUint32(ifdAt + ifdSize - 4, 0, le); // no next IFD
  return out;
}

/** An uncompressed 16-bit RGB TIFF of interleaved samples (for linear images; no gamma implied). */
export function encodeTiff16Rgb(width: number, height: number, rgb: Uint16Array): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodeTiff16Rgb: ${rgb.length} samples for ${width}x${height}x3`);
  const data = new Uint8Array(rgb.length * 2);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < rgb.length; i++) dv.setUint16(2 * i, rgb[i]!, true);
  return encodeTiff(
    [
      { tag: 256, type: 'long', values: [width] },
      { tag: 257, type: 'long', values: [height] },
      { tag: 258, type: 'short', values: [16, 16, 16] },
      { tag: 259, type: 'short', values: [1] },
      { tag: 262, type: 'short', values: [2] },
      { tag: 277, type: 'short', values: [3] },
      { tag: 278, type: 'long', values: [height] },
      { tag: 284, type: 'short', values: [1] },
      { tag: 339, type: 'short', values: [1, 1, 1] },
    ],
    data,
  );
}

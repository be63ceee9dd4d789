// A bounds-checked TIFF directory (IFD) parser for DNG and CR2 (both byte orders; no BigTIFF). Corrupt
// input must never hang, crash or allocate from an unchecked size: every offset is checked against the
// file length when it is used, IFD chains are followed with loop detection and a cap on their number,
// and value counts are capped before any array is built.

import { ByteReader } from '../io/bytes.js';
import { rawError } from './errors.js';

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Absolute file offset of the value bytes (inline values point into the entry itself). */
  valueOffset: number;
}

export interface Ifd {
  /** How error messages name this directory, e.g. "IFD 3" or "EXIF IFD". */
  label: string;
  offset: number;
  entries: Map<number, IfdEntry>;
  /** Offset of the next IFD in the chain, 0 at the end. */
  next: number;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

const TAG_NAMES: Record<number, string> = {
  256: 'ImageWidth',
  257: 'ImageLength',
  258: 'BitsPerSample',
  259: 'Compression',
  262: 'PhotometricInterpretation',
  273: 'StripOffsets',
  277: 'SamplesPerPixel',
  278: 'RowsPerStrip',
  279: 'StripByteCounts',
  322: 'TileWidth',
  323: 'TileLength',
  324: 'TileOffsets',
  325: 'TileByteCounts',
  330: 'SubIFDs',
  33421: 'CFARepeatPatternDim',
  33422: 'CFAPattern',
  50706: 'DNGVersion',
  50713: 'BlackLevelRepeatDim',
  50714: 'BlackLevel',
  50717: 'WhiteLevel',
  50829: 'ActiveArea',
};

export function tagName(tag: number): string {
  return TAG_NAMES[tag] ?? `tag 0x${tag.toString(16).padStart(4, '0')}`;
}

/** Most values any tag we read may hold; larger counts are rejected before allocating. */
const DEFAULT_MAX_COUNT = 1 << 20;
/** Entries beyond this in one IFD mean the directory is garbage (real files have < 100). */
const MAX_ENTRIES = 4096;

export class TiffFile {
  readonly r: ByteReader;
  /** Offset of IFD 0, from the header. */
  readonly firstIfd: number;
  /** Offsets of every IFD parsed so far: a chain or SubIFD tree that revisits one is a loop. */
  private readonly seen = new Set<number>();
  private parsed = 0;

  constructor(bytes: Uint8Array, name: string, readonly maxIfds = 64) {
    this.r = new ByteReader(bytes, name, true, rawError);
    if (bytes.length < 8) throw this.r.error(`file is only ${bytes.length} bytes, too short for a TIFF header`);
    const order = this.r.u16(0);
    if (order !== 0x4949 && order !== 0x4d4d) throw this.r.error('not a TIFF file (no II/MM byte-order mark)');
    this.r.littleEndian = order === 0x4949;
    if (this.r.u16(2) !== 42) throw this.r.error(`TIFF magic number is ${this.r.u16(2)}, not 42 (BigTIFF is not supported)`);
    this.firstIfd = this.r.u32(4);
  }

  get name(): string {
    return this.r.name;
  }

  error(problem: string): Error {
    return this.r.error(problem);
  }

  readIfd(offset: number, label: string): Ifd {
    const r = this.r;
    if (!r.inRange(offset, 2)) throw r.error(`${label} at offset ${offset} points past the end of the file (size ${r.size})`);
    if (this.seen.has(offset)) throw r.error(`${label} at offset ${offset} was already read: the IFD chain loops`);
    if (++this.parsed > this.maxIfds) throw r.error(`more than ${this.maxIfds} IFDs: the file is corrupt or loops`);
    this.seen.add(offset);
    const n = r.u16(offset);
    if (n === 0 || n > MAX_ENTRIES) throw r.error(`${label} at offset ${offset} claims ${n} entries`);
    if (!r.inRange(offset + 2, n * 12 + 4)) {
      throw r.error(`${label} at offset ${offset} with ${n} entries runs past the end of the file (size ${r.size})`);
    }
    const entries = new Map<number, IfdEntry>();
    for (let i = 0; i < n; i++) {
      const at = offset + 2 + i * 12;
      const tag = r.u16(at);
      const type = r.u16(at + 2);
      const count = r.u32(at + 4);
      const size = TYPE_SIZE[type];
      if (size === undefined) continue; // unknown type: skip the entry, as the TIFF spec asks
      const valueOffset = size * count <= 4 ? at + 8 : r.u32(at + 8);
      if (!entries.has(tag)) entries.set(tag, { tag, type, count, valueOffset });
    }
    return { label, offset, entries, next: r.u32(offset + 2 + n * 12) };
  }

  /** The main chain IFD0, IFD1, … (at most `max`), stopping at a 0 link, a link out of the file or a loop. */
  readChain(max = 8): Ifd[] {
    const out: Ifd[] = [this.readIfd(this.firstIfd, 'IFD 0')];
    while (out.length < max) {
      const next = out[out.length - 1]!.next;
      // A bad tail link, or one back into the chain, is corruption after the useful IFDs: stop there.
      if (next === 0 || !this.r.inRange(next, 2) || this.seen.has(next)) break;
      out.push(this.readIfd(next, `IFD ${out.length}`));
    }
    return out;
  }

  has(ifd: Ifd, tag: number): boolean {
    return ifd.entries.has(tag);
  }

  private entry(ifd: Ifd, tag: number): IfdEntry {
    const e = ifd.entries.get(tag);
    if (!e) throw this.r.error(`${ifd.label} has no ${tagName(tag)}`);
    return e;
  }

  /**
   * All values of a numeric tag (rationals as quotients), checked to lie inside the file; with `firstOnly`, just
   * the first (a corrupt count of a million must not cost a million reads for one value).
   */
  numbers(ifd: Ifd, tag: number, maxCount = DEFAULT_MAX_COUNT, firstOnly = false): number[] {
    const e = this.entry(ifd, tag);
    const r = this.r;
    if (e.count > maxCount) throw r.error(`${ifd.label}: ${tagName(tag)} has ${e.count} values, more than the ${maxCount} allowed`);
    const size = TYPE_SIZE[e.type]!;
    if (!r.inRange(e.valueOffset, size * e.count)) {
      throw r.error(`${ifd.label}: ${tagName(tag)} at offset ${e.valueOffset} points past the end of the file (size ${r.size})`);
    }
    const n = firstOnly ? Math.min(1, e.count) : e.count;
    const out = new Array<number>(n);
    for (let i = 0, at = e.valueOffset; i < n; i++, at += size) {
      switch (e.type) {
        case 1: case 2: case 7: out[i] = r.u8(at); break;
        case 6: out[i] = (r.u8(at) << 24) >> 24; break;
        case 3: out[i] = r.u16(at); break;
        case 8: out[i] = r.i16(at); break;
        case 4: case 13: out[i] = r.u32(at); break;
        case 9: out[i] = r.i32(at); break;
        case 5: out[i] = r.u32(at) / (r.u32(at + 4) || 1); break;
        case 10: out[i] = r.i32(at) / (r.i32(at + 4) || 1); break;
        case 11: out[i] = r.f32(at); break;
        default: out[i] = r.f64(at);
      }
    }
    return out;
  }

  /** The first value of a numeric tag, or `fallback` when the tag is absent. */
  number(ifd: Ifd, tag: number, fallback?: number): number {
    if (!ifd.entries.has(tag)) {
      if (fallback === undefined) throw this.r.error(`${ifd.label} has no ${tagName(tag)}`);
      return fallback;
    }
    const v = this.numbers(ifd, tag, DEFAULT_MAX_COUNT, true)[0];
    if (v === undefined || !Number.isFinite(v)) throw this.r.error(`${ifd.label}: ${tagName(tag)} has no usable value`);
    return v;
  }

  /** Like numbers(), but each value must be a non-negative integer below 2^32 (sizes, offsets). */
  counts(ifd: Ifd, tag: number, maxCount?: number): number[] {
    const v = this.numbers(ifd, tag, maxCount);
    for (const x of v) {
      if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw this.r.error(`${ifd.label}: ${tagName(tag)} holds ${x}`);
    }
    return v;
  }

  string(ifd: Ifd, tag: number): string | undefined {
    const e = ifd.entries.get(tag);
    if (!e || e.count > 4096 || !this.r.inRange(e.valueOffset, e.count)) return undefined;
    return this.r.ascii(e.valueOffset, e.count);
  }

  /** Offset and byte length of a tag's raw value (e.g. a maker note), checked against the file. */
  valueRange(ifd: Ifd, tag: number): { offset: number; length: number } | undefined {
    const e = ifd.entries.get(tag);
    if (!e) return undefined;
    const length = TYPE_SIZE[e.type]! * e.count;
    if (!this.r.inRange(e.valueOffset, length)) {
      throw this.r.error(`${ifd.label}: ${tagName(tag)} at offset ${e.valueOffset} points past the end of the file (size ${this.r.size})`);
    }
    return { offset: e.valueOffset, length };
  }
}

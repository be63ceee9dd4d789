// A synchronous zlib / DEFLATE decoder (RFC 1950, RFC 1951) for Deflate-compressed DNG tiles. PNG uses the
// platform's DecompressionStream, which is asynchronous; the RAW readers are synchronous and run unchanged
// in browsers, so they need their own. Written for bounded work on hostile input: the output never grows
// past the size the caller expects, and every read checks the input's end.

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

export class InflateError extends Error {}

/** Canonical Huffman code as counts per length and symbols sorted by code (RFC 1951 3.2.2). */
interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function huffman(lengths: ArrayLike<number>, n: number): Huffman {
  const counts = new Uint16Array(16);
  for (let i = 0; i < n; i++) counts[lengths[i]!]!++;
  counts[0] = 0;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - counts[len]!;
    if (left < 0) throw new InflateError('over-subscribed Huffman code');
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + counts[len]!;
  const symbols = new Uint16Array(n);
  for (let i = 0; i < n; i++) if (lengths[i]) symbols[offs[lengths[i]!]!++] = i;
  return { counts, symbols };
}

const FIXED_LIT = huffman(Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)), 288);
const FIXED_DIST = huffman(new Array<number>(30).fill(5), 30);

class BitReader {
  pos: number;
  private buf = 0;
  private cnt = 0;
  constructor(private readonly src: Uint8Array, start: number) {
    this.pos = start;
  }
  bits(n: number): number {
    while (this.cnt < n) {
      if (this.pos >= this.src.length) throw new InflateError('compressed data ends early');
      this.buf |= this.src[this.pos++]! << this.cnt;
      this.cnt += 8;
    }
    const v = this.buf & ((1 << n) - 1);
    this.buf >>>= n;
    this.cnt -= n;
    return v;
  }
  /** Drops the bits left in the current byte (stored blocks start on a byte). */
  align(): void {
    this.buf = 0;
    this.cnt = 0;
  }
  decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.bits(1);
      const count = h.counts[len]!;
      if (code - first < count) return h.symbols[index + code - first]!;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new InflateError('invalid Huffman code');
  }
}

/**
 * Inflates a zlib stream (2-byte header, DEFLATE data, Adler-32) into exactly `expected` bytes, or fewer when
 * the stream ends first (the caller decides whether that is an error). Output past `expected` is an error, so
 * a small tile cannot expand to gigabytes.
 */
export function inflateZlib(src: Uint8Array, expected: number): Uint8Array {
  if (src.length < 2) throw new InflateError('zlib stream is shorter than its header');
  const cmf = src[0]!;
  const flg = src[1]!;
  if ((cmf & 15) !== 8 || ((cmf << 8) | flg) % 31 !== 0) throw new InflateError(`no zlib header (bytes ${cmf.toString(16)} ${flg.toString(16)})`);
  if (flg & 0x20) throw new InflateError('zlib stream needs a preset dictionary');
  return inflateRaw(src, 2, expected);
}

export function inflateRaw(src: Uint8Array, start: number, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let n = 0;
  const r = new BitReader(src, start);
  const put = (b: number): void => {
    if (n >= expected) throw new InflateError(`inflates to more than the ${expected} bytes expected`);
    out[n++] = b;
  };
  for (let last = 0; !last; ) {
    last = r.bits(1);
    const type = r.bits(2);
    if (type === 0) {
      r.align();
      if (r.pos + 4 > src.length) throw new InflateError('stored block header runs past the end');
      const len = src[r.pos]! | (src[r.pos + 1]! << 8);
      const nlen = src[r.pos + 2]! | (src[r.pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new InflateError('stored block length check fails');
      r.pos += 4;
      if (r.pos + len > src.length) throw new InflateError('stored block runs past the end');
      if (n + len > expected) throw new InflateError(`inflates to more than the ${expected} bytes expected`);
      out.set(src.subarray(r.pos, r.pos + len), n);
      n += len;
      r.pos += len;
      continue;
    }
    if (type === 3) throw new InflateError('invalid block type 3');
    let lit = FIXED_LIT;
    let dist = FIXED_DIST;
    if (type === 2) [lit, dist] = dynamicTables(r);
    for (;;) {
      const sym = r.decode(lit);
      if (sym < 256) {
        put(sym);
        continue;
      }
      if (sym === 256) break;
      const li = sym - 257;
      if (li >= 29) throw new InflateError(`invalid length symbol ${sym}`);
      const len = LENGTH_BASE[li]! + r.bits(LENGTH_EXTRA[li]!);
      const di = r.decode(dist);
      if (di >= 30) throw new InflateError(`invalid distance symbol ${di}`);
      const d = DIST_BASE[di]! + r.bits(DIST_EXTRA[di]!);
      if (d > n) throw new InflateError(`distance ${d} reaches before the start of the output`);
      if (n + len > expected) throw new InflateError(`inflates to more than the ${expected} bytes expected`);
      for (let i = 0; i < len; i++, n++) out[n] = out[n - d]!;
    }
  }
  return n === expected ? out : out.subarray(0, n);
}

function dynamicTables(r: BitReader): [Huffman, Huffman] {
  const nlen = r.bits(5) + 257;
  const ndist = r.bits(5) + 1;
  const ncode = r.bits(4) + 4;
  if (nlen > 286 || ndist > 30) throw new InflateError(`bad dynamic table sizes ${nlen}/${ndist}`);
  const lengths = new Uint8Array(320);
  for (let i = 0; i < ncode; i++) lengths[CODE_LENGTH_ORDER[i]!] = r.bits(3);
  const lencode = huffman(lengths, 19);
  const all = new Uint8Array(nlen + ndist);
  for (let i = 0; i < nlen + ndist; ) {
    const sym = r.decode(lencode);
    if (sym < 16) {
      all[i++] = sym;
      continue;
    }
    let repeat: number;
    let value = 0;
    if (sym === 16) {
      if (i === 0) throw new InflateError('repeat of a code length with none before it');
      value = all[i - 1]!;
      repeat = 3 + r.bits(2);
    } else if (sym === 17) repeat = 3 + r.bits(3);
    else repeat = 11 + r.bits(7);
    if (i + repeat > nlen + ndist) throw new InflateError('code lengths run past the table');
    all.fill(value, i, i + repeat);
    i += repeat;
  }
  if (all[256] === 0) throw new InflateError('no end-of-block code');
  return [huffman(all.subarray(0, nlen), nlen), huffman(all.subarray(nlen), ndist)];
}

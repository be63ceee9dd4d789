// Huffman decoding of a lossless JPEG scan (ITU T.81 Annex F/H) into prediction differences.
// Speed matters (an 8 Mpixel CR2 is 8M symbols): codes are decoded through a 16-bit lookahead table
// (one lookup per symbol, no bit-by-bit loop), and stuffed 0xFF00 bytes are removed up front so the
// inner loop never tests for markers.

/** Lookup table indexed by the next 16 bits: (code length << 8) | SSSS, or 0 for an invalid code. */
export type HuffmanLut = Uint16Array;

/** Widest difference category we decode: dcraw and LibRaw read up to 25 bits for a category (getbits' limit). */
export const MAX_CATEGORY = 25;

/**
 * Builds the lookahead table from a DHT's BITS (counts per code length 1..16) and HUFFVAL. Like dcraw and
 * LibRaw, and unlike T.81's letter, it accepts what real encoders write: symbols above 16 (cinema-camera DNGs
 * list category 17 and beyond; a symbol is only refused when a scan uses it) and more codes than fit (the
 * surplus cannot be reached and is dropped). Returns an error string when the table is empty.
 */
export function buildHuffmanLut(bits: readonly number[], values: readonly number[]): HuffmanLut | string {
  const lut = new Uint16Array(1 << 16);
  let code = 0;
  let k = 0;
  let used = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]!; i++, k++) {
      if (code >= 1 << len) continue;
      const v = values[k]! & 0xff;
      const shift = 16 - len;
      lut.fill((len << 8) | v, code << shift, (code + 1) << shift);
      code++;
      used++;
    }
    code <<= 1;
  }
  return used > 0 ? lut : 'Huffman table defines no codes';
}

export interface EntropySegments {
  /** Entropy-coded bytes with stuffing removed, all restart intervals back to back. */
  data: Uint8Array;
  /** Start of each restart interval in `data`, plus data.length at the end. */
  starts: number[];
  /** Offset in the source just past the scan (at the marker that ended it). */
  end: number;
}

/** Unstuffs the entropy-coded data starting at `from`, splitting it at RSTn markers. */
export function extractEntropySegments(src: Uint8Array, from: number): EntropySegments {
  const data = new Uint8Array(src.length - from);
  const starts = [0];
  let n = 0;
  let i = from;
  while (i < src.length) {
    const b = src[i++]!;
    if (b !== 0xff) {
      data[n++] = b;
      continue;
    }
    while (i < src.length && src[i] === 0xff) i++; // fill bytes
    if (i >= src.length) break;
    const m = src[i]!;
    if (m === 0x00) {
      data[n++] = 0xff;
      i++;
    } else if (m >= 0xd0 && m <= 0xd7) {
      starts.push(n);
      i++;
    } else {
      i--; // back onto the marker's 0xFF: the scan ends here
      break;
    }
  }
  starts.push(n);
  return { data: data.subarray(0, n), starts, end: i };
}

/**
 * Decodes `rows` rows of `width` pixels × tables.length interleaved components (component c uses
 * tables[c]) from data[start, end) into out[outAt…], stored modulo 2^16. Returns an error string if the
 * data runs out or holds an invalid code.
 */
export function decodeDifferences(
  data: Uint8Array,
  start: number,
  end: number,
  tables: readonly HuffmanLut[],
  out: Uint16Array,
  outAt: number,
  rows: number,
  width: number,
  /** DNG 1.0 files follow T.81's letter: category 16 carries 16 extra bits (later ones, and dcraw for them, read none). */
  category16ReadsBits = false,
): string | null {
  const nc = tables.length;
  // Bytes past `end` read as zeros; the check after each row turns their use into a truncation error.
  const safeEnd = Math.min(end, data.length);
  let pos = start;
  let buf = 0;
  let cnt = 0; // valid low bits in buf
  let o = outAt;
  for (let row = 0; row < rows; row++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < nc; c++) {
        // At least 16 bits for the lookahead; two bytes at a time while away from the end.
        if (cnt < 16) {
          if (pos + 3 < safeEnd) {
            buf = (buf << 16) | (data[pos]! << 8) | data[pos + 1]!;
            pos += 2;
            cnt += 16;
          } else {
            while (cnt <= 24) {
              buf = (buf << 8) | (pos < safeEnd ? data[pos]! : 0);
              pos++;
              cnt += 8;
            }
          }
        }
        const e = tables[c]![(buf >>> (cnt - 16)) & 0xffff]!;
        if (e === 0) return `invalid Huffman code in row ${row}`;
        cnt -= e >> 8;
        const s = e & 0xff;
        let diff = 0;
        if (s === 16 && !category16ReadsBits) {
          diff = 32768;
        } else if (s !== 0) {
          if (s > MAX_CATEGORY) return `difference category ${s} in row ${row} is wider than the ${MAX_CATEGORY} bits any decoder reads`;
          if (cnt < s) {
            while (cnt <= 24) {
              buf = (buf << 8) | (pos < safeEnd ? data[pos]! : 0);
              pos++;
              cnt += 8;
            }
          }
          const v = (buf >>> (cnt - s)) & ((1 << s) - 1);
          cnt -= s;
          // A leading 0 bit marks a negative difference (T.81 F.2.2.1 "EXTEND"); categories above 16 extend the
          // same way, as dcraw does, and the sum is kept modulo 2^16.
          diff = v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
        }
        out[o++] = diff;
      }
    }
    // Bits consumed beyond the data are zeros we invented: the stream is truncated.
    if ((pos - end) * 8 > cnt) return `data ends in row ${row} of ${rows}`;
  }
  return null;
}

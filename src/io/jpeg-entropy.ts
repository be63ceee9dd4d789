// Huffman entropy decoding of DCT JPEG blocks (ITU T.81 Annex F for sequential scans, Annex G.1.2 for progressive
// ones), into quantised coefficients in natural (row-major) order. Codes are decoded through a 16-bit lookahead
// table, one lookup per symbol. Errors are plain strings thrown as JpegDataError; jpeg.ts names the file.

/** Lookup indexed by the next 16 bits: (code length << 8) | symbol, or 0 for a code the table does not define. */
export type JpegHuffmanLut = Uint16Array;

export class JpegDataError extends Error {}

/** Builds the lookahead table from a DHT's BITS (counts per code length 1..16) and HUFFVAL. */
export function buildJpegHuffmanLut(bits: readonly number[], values: readonly number[]): JpegHuffmanLut {
  const lut = new Uint16Array(1 << 16);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]!; i++, k++) {
      if (code >= 1 << len) throw new JpegDataError(`Huffman table has more codes of length ${len} than fit`);
      const shift = 16 - len;
      lut.fill((len << 8) | values[k]!, code << shift, (code + 1) << shift);
      code++;
    }
    code <<= 1;
  }
  return lut;
}

/** The zig-zag scan order: ZIGZAG[k] is the natural (row-major) index of the k-th coefficient in a scan. */
export const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63,
]);

/** MSB-first bits of one restart interval's unstuffed bytes; reads past the end yield zeros and are caught by overran(). */
export class JpegBitReader {
  private pos: number;
  private buf = 0;
  private cnt = 0;

  constructor(
    private readonly data: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  private fill(): void {
    while (this.cnt <= 24) {
      this.buf = (this.buf << 8) | (this.pos < this.end ? this.data[this.pos]! : 0);
      this.pos++;
      this.cnt += 8;
    }
  }

  symbol(lut: JpegHuffmanLut): number {
    if (this.cnt < 16) this.fill();
    const e = lut[(this.buf >>> (this.cnt - 16)) & 0xffff]!;
    if (e === 0) throw new JpegDataError('invalid Huffman code');
    this.cnt -= e >> 8;
    return e & 0xff;
  }

  bits(n: number): number {
    if (n === 0) return 0;
    if (this.cnt < n) this.fill();
    const v = (this.buf >>> (this.cnt - n)) & ((1 << n) - 1);
    this.cnt -= n;
    return v;
  }

  /** The s-bit magnitude that follows a category-s symbol, as a signed value (T.81 F.2.2.1 EXTEND). */
  extend(s: number): number {
    if (s === 0) return 0;
    const v = this.bits(s);
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  }

  /** True once more bits were taken than the interval holds: the data is truncated. */
  overran(): boolean {
    return (this.pos - this.end) * 8 > this.cnt;
  }
}

/** What a scan needs per component while decoding: its tables and running state. */
export interface ScanComponent {
  dc?: JpegHuffmanLut;
  ac?: JpegHuffmanLut;
  /** DC predictor, reset at each restart interval. */
  pred: number;
}

/** The next DC value of component c: its predictor plus the coded difference. */
function nextDc(r: JpegBitReader, c: ScanComponent): number {
  const t = r.symbol(c.dc!);
  if (t > 11) throw new JpegDataError(`DC difference category ${t} is larger than 11`);
  c.pred += r.extend(t);
  return c.pred;
}

/** Sequential (baseline / extended) block: DC difference then run-length AC, all 64 coefficients at once. */
export function decodeSequentialBlock(r: JpegBitReader, c: ScanComponent, coefs: Int16Array, o: number): void {
  coefs[o] = nextDc(r, c);
  for (let k = 1; k < 64; ) {
    const rs = r.symbol(c.ac!);
    const s = rs & 15;
    const run = rs >> 4;
    if (s === 0) {
      if (run < 15) return; // end of block
      k += 16;
      continue;
    }
    k += run;
    if (k > 63) throw new JpegDataError('AC run goes past the 64th coefficient');
    coefs[o + ZIGZAG[k]!] = r.extend(s);
    k++;
  }
}

/** State of one progressive scan: its spectral band, bit position, and the end-of-band run left over. */
export interface ProgressiveScan {
  ss: number;
  se: number;
  ah: number;
  al: number;
  eobrun: number;
}

/** One block's share of a progressive scan (G.1.2.1 for DC, G.1.2.2 for AC first passes, G.1.2.3 for AC refinement). */
export function decodeProgressiveBlock(r: JpegBitReader, c: ScanComponent, scan: ProgressiveScan, coefs: Int16Array, o: number): void {
  if (scan.ss === 0) {
    if (scan.ah === 0) coefs[o] = nextDc(r, c) * (1 << scan.al);
    else if (r.bits(1)) {
      coefs[o] |= 1 << scan.al;
    }
    return;
  }
  if (scan.ah === 0) acFirst(r, c.ac!, scan, coefs, o);
  else acRefine(r, c.ac!, scan, coefs, o);
}

function acFirst(r: JpegBitReader, lut: JpegHuffmanLut, scan: ProgressiveScan, coefs: Int16Array, o: number): void {
  if (scan.eobrun > 0) {
    scan.eobrun--;
    return;
  }
  for (let k = scan.ss; k <= scan.se; ) {
    const rs = r.symbol(lut);
    const s = rs & 15;
    const run = rs >> 4;
    if (s === 0) {
      if (run < 15) {
        // EOBn: this block and the next (2^run − 1 + extra bits) blocks end here.
        scan.eobrun = (1 << run) - 1 + r.bits(run);
        return;
      }
      k += 16;
      continue;
    }
    k += run;
    if (k > scan.se) throw new JpegDataError('AC run goes past the end of the spectral band');
    coefs[o + ZIGZAG[k]!] = r.extend(s) * (1 << scan.al);
    k++;
  }
}

/**
 * A refinement pass adds one bit to coefficients already non-zero and places new ±1·2^al ones. Coefficients below
 * bit al are all zero here, so testing bit al of a negative value (two's complement) tests its magnitude's bit too.
 */
function acRefine(r: JpegBitReader, lut: JpegHuffmanLut, scan: ProgressiveScan, coefs: Int16Array, o: number): void {
  const p1 = 1 << scan.al;
  const refine = (z: number): void => {
    if (r.bits(1) && (coefs[z]! & p1) === 0) coefs[z] += coefs[z]! >= 0 ? p1 : -p1;
  };
  let k = scan.ss;
  if (scan.eobrun === 0) {
    while (k <= scan.se) {
      const rs = r.symbol(lut);
      const s = rs & 15;
      let run = rs >> 4;
      let value = 0;
      if (s === 0) {
        if (run < 15) {
          scan.eobrun = (1 << run) + r.bits(run); // counts this block; its rest is refined below
          break;
        }
        // ZRL: skip 16 zero-history coefficients (refining the non-zero ones passed on the way).
      } else {
        if (s !== 1) throw new JpegDataError(`refinement scan holds a coefficient of category ${s}; only 1 is allowed`);
        value = r.bits(1) ? p1 : -p1;
      }
      while (k <= scan.se) {
        const z = o + ZIGZAG[k]!;
        k++;
        if (coefs[z] !== 0) refine(z);
        else if (run === 0) {
          if (value !== 0) coefs[z] = value;
          break;
        } else run--;
      }
    }
  }
  if (scan.eobrun > 0) {
    for (; k <= scan.se; k++) {
      const z = o + ZIGZAG[k]!;
      if (coefs[z] !== 0) refine(z);
    }
    scan.eobrun--;
  }
}

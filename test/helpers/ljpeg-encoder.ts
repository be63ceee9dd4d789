// A small lossless JPEG (SOF3) encoder for tests: any predictor 1..7, 1..4 interleaved components,
// optional restart intervals. Written from T.81 independently of src/raw/ljpeg.ts so each checks the other.

export interface LjpegEncodeOptions {
  precision: number;
  predictor?: number;
  /** Rows per restart interval (0 = none). */
  restartRows?: number;
  /**
   * Write what some cinema-camera encoders do: one table listing categories 0..17 for every component, and
   * differences taken without wrapping them to 16 bits where the prediction leaves 0..65535 (predictors 4–7 on
   * 16-bit data reach 17 bits). Decoders that add modulo 2^16, as dcraw does, read the same samples.
   */
  wide?: boolean;
  /** Category 16 followed by 16 bits, as DNG 1.0 files write it (later DNGs and T.81: no bits). */
  category16Bits?: boolean;
}

// Two fixed Huffman tables with different code lengths, so per-component table selection is tested.
// Table 0: category 0 → 2 bits, 1..5 → 3 bits, 6..16 → 4..14 bits. Table 1: all 17 categories at 5 bits.
const TABLES = [
  { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], values: Array.from({ length: 17 }, (_, i) => i) },
  { bits: [0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], values: Array.from({ length: 17 }, (_, i) => 16 - i) },
];

// Categories 0..17: 2 bits for 0, 3 bits for 1..5, then 4..15 bits for 6..17.
const WIDE_TABLE = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], values: Array.from({ length: 18 }, (_, i) => i) };

function codesOf(t: { bits: number[]; values: number[] }): { code: number; len: number }[] {
  const out: { code: number; len: number }[] = [];
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < t.bits[len - 1]!; i++) out[t.values[k++]!] = { code: code++, len };
    code <<= 1;
  }
  return out;
}

/** MSB-first bit writer with JPEG byte stuffing, into a growing buffer. */
class BitWriter {
  private buf = new Uint8Array(1 << 16);
  length = 0;
  private acc = 0;
  private n = 0;
  put(value: number, len: number): void {
    this.acc = (this.acc << len) | (value & ((1 << len) - 1));
    this.n += len;
    while (this.n >= 8) {
      this.n -= 8;
      const byte = (this.acc >>> this.n) & 0xff;
      this.byte(byte);
      if (byte === 0xff) this.byte(0); // byte stuffing
    }
  }
  /** Pads the last byte with 1 bits, as T.81 asks before a marker. */
  align(): void {
    if (this.n > 0) this.put((1 << (8 - this.n)) - 1, 8 - this.n);
  }
  byte(b: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function predict(psv: number, a: number, b: number, c: number): number {
  if (psv === 1) return a;
  if (psv === 2) return b;
  if (psv === 3) return c;
  if (psv === 4) return a + b - c;
  if (psv === 5) return a + Math.floor((b - c) / 2);
  if (psv === 6) return b + Math.floor((a - c) / 2);
  return Math.floor((a + b) / 2);
}

/** `samples` holds `height` rows of width*components samples, components interleaved. */
export function encodeLosslessJpeg(samples: Uint16Array, width: number, height: number, components: number, opts: LjpegEncodeOptions): Uint8Array {
  const { precision } = opts;
  const psv = opts.predictor ?? 1;
  const restartRows = opts.restartRows ?? 0;
  const stride = width * components;
  const out = new BitWriter();
  const raw = (...bytes: number[]): void => bytes.forEach((b) => out.byte(b));
  raw(0xff, 0xd8);
  const segment = (marker: number, body: number[]): void => raw(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  const tables = opts.wide ? [WIDE_TABLE, WIDE_TABLE] : TABLES;
  const dht: number[] = [];
  tables.forEach((t, id) => dht.push(id, ...t.bits, ...t.values));
  segment(0xc4, dht);
  const sof = [precision, height >> 8, height & 0xff, width >> 8, width & 0xff, components];
  for (let c = 0; c < components; c++) sof.push(c + 1, 0x11, 0);
  segment(0xc3, sof);
  if (restartRows > 0) segment(0xdd, [(restartRows * width) >> 8, (restartRows * width) & 0xff]);
  const sos = [components];
  for (let c = 0; c < components; c++) sos.push(c + 1, Math.min(c, tables.length - 1) << 4);
  sos.push(psv, 0, 0);
  segment(0xda, sos);

  const codes = tables.map(codesOf);
  const w = out;
  let interval = 0;
  for (let y = 0; y < height; y++) {
    const firstOfInterval = restartRows > 0 ? y % restartRows === 0 : y === 0;
    if (firstOfInterval && y > 0) {
      w.align();
      raw(0xff, 0xd0 + (interval++ % 8));
    }
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < components; c++) {
        const i = y * stride + x * components + c;
        const a = samples[i - components]!;
        const b = samples[i - stride]!;
        let p: number;
        if (firstOfInterval) p = x === 0 ? 1 << (precision - 1) : a;
        else if (x === 0) p = b;
        else p = predict(psv, a, b, samples[i - stride - components]!);
        let d = (samples[i]! - p) & 0xffff;
        if (d >= 0x8000) d -= 0x10000;
        // Unwrapped, a difference needing 17 bits stays so (category 17); one needing 16 wraps as usual.
        if (opts.wide && Math.abs(samples[i]! - p) >= 0x10000) d = samples[i]! - p;
        const ssss = d === -0x8000 ? 16 : d === 0 ? 0 : 32 - Math.clz32(Math.abs(d));
        const { code, len } = codes[Math.min(c, codes.length - 1)]![ssss]!;
        w.put(code, len);
        if (ssss > 0 && (ssss !== 16 || opts.category16Bits)) w.put(d > 0 ? d : d + (1 << ssss) - 1, ssss);
      }
    }
  }
  w.align();
  raw(0xff, 0xd9);
  return out.bytes().slice();
}

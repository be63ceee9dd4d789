// Lossless JPEG (ITU T.81 process 14, SOF3) with predictors 1–7: what Canon CR2 and compressed DNG
// use. One interleaved scan, all sampling factors 1 (Canon sRAW's subsampled variant, and DCT frames some DNG
// writers put under compression 7, are refused as unsupported: openRaw hands those files to LibRaw).
// Where real encoders stray from T.81 we read what dcraw and LibRaw read (their ljpeg_start / ljpeg_diff):
// Huffman symbols above 16, overfull tables, a scan naming a table never defined (component c then uses
// the last table defined at or below c), predictor values outside 1..7 (no prediction inside the image, as
// dcraw's "default: pred = 0"), 1-bit precision and DNG 1.0's 16-bit category 16. One place we keep to T.81:
// the first row after a restart marker is predicted from the left (dcraw applies the scan's predictor there;
// Adobe's DNG SDK and T.81 do not), which only matters for predictors other than 1.

import { buildHuffmanLut, decodeDifferences, extractEntropySegments, type HuffmanLut } from './ljpeg-huffman.js';
import { rawError, RawUnsupportedError } from './errors.js';

export interface LjpegImage {
  /** Frame size in samples per component. */
  width: number;
  height: number;
  components: number;
  precision: number;
  predictor: number;
  /** height rows of width*components samples, components interleaved. */
  data: Uint16Array;
}

export interface LjpegOptions {
  /** Reject frames with more samples than this before allocating (the caller knows what to expect). */
  maxSamples?: number;
  /** Category 16 carries 16 extra bits (DNG 1.0 files, as dcraw reads them); otherwise it means 32768 and reads none. */
  category16ReadsBits?: boolean;
}

/** Decodes one lossless JPEG; errors read "NAME: WHAT: problem", e.g. "IMG.CR2: raw data: …". */
export function decodeLosslessJpeg(src: Uint8Array, name: string, what = 'lossless JPEG', opts: LjpegOptions = {}): LjpegImage {
  const fail = (problem: string): Error => rawError(name, `${what}: ${problem}`);
  const u16 = (at: number): number => {
    if (at + 2 > src.length) throw fail(`segment at offset ${at} runs past the end (${src.length} bytes)`);
    return (src[at]! << 8) | src[at + 1]!;
  };
  if (u16(0) !== 0xffd8) throw fail('does not start with a JPEG SOI marker');
  const tables: (HuffmanLut | undefined)[] = [];
  let frame: { precision: number; height: number; width: number; ids: number[] } | undefined;
  let restartInterval = 0;
  let at = 2;
  for (let guard = 0; ; guard++) {
    if (guard > 1000) throw fail('too many JPEG segments');
    // Markers may be preceded by any number of 0xFF fill bytes.
    while (at < src.length && src[at] === 0xff && src[at + 1] === 0xff) at++;
    const marker = u16(at);
    if (marker >> 8 !== 0xff) throw fail(`expected a JPEG marker at offset ${at}, found ${marker.toString(16)}`);
    if (marker === 0xffd9) throw fail('image ends before any scan');
    const len = u16(at + 2);
    const body = at + 4;
    const next = at + 2 + len;
    if (len < 2 || next > src.length) throw fail(`segment ${marker.toString(16)} at offset ${at} runs past the end`);
    if (marker === 0xffc4) {
      let p = body;
      while (p < next) {
        const id = src[p]! & 0x0f;
        // Lossless JPEG uses DC-class tables; like dcraw we do not insist on the class bit.
        if (src[p]! >> 4 > 1 || id > 3) throw fail(`DHT table class/id 0x${src[p]!.toString(16)} is not a table 0..3`);
        if (p + 17 > next) throw fail('DHT segment is truncated');
        const bits = Array.from(src.subarray(p + 1, p + 17));
        const total = bits.reduce((a, b) => a + b, 0);
        if (p + 17 + total > next) throw fail('DHT segment is truncated');
        const lut = buildHuffmanLut(bits, Array.from(src.subarray(p + 17, p + 17 + total)));
        if (typeof lut === 'string') throw fail(lut);
        tables[id] = lut;
        p += 17 + total;
      }
    } else if (marker === 0xffc3) {
      if (len < 8) throw fail('SOF3 segment is truncated');
      const nf = src[body + 5]!;
      if (nf < 1 || nf > 4 || len < 8 + 3 * nf) throw fail(`SOF3 has ${nf} components`);
      const ids: number[] = [];
      for (let c = 0; c < nf; c++) {
        ids.push(src[body + 6 + 3 * c]!);
        const hv = src[body + 7 + 3 * c]!;
        if (hv !== 0x11) throw new RawUnsupportedError(name, `${what}: component ${c} has sampling factors ${hv >> 4}x${hv & 15} (Canon sRAW/mRAW); only 1x1 is supported`);
      }
      frame = { precision: src[body]!, height: u16(body + 1), width: u16(body + 3), ids };
      if (frame.precision < 1 || frame.precision > 16) throw fail(`sample precision ${frame.precision} is outside 1..16`);
      if (frame.width === 0 || frame.height === 0) throw fail(`frame is ${frame.width}x${frame.height}`);
    } else if (marker >= 0xffc0 && marker <= 0xffcf && marker !== 0xffc4 && marker !== 0xffc8 && marker !== 0xffcc) {
      throw new RawUnsupportedError(name, `${what}: uses JPEG process SOF${marker - 0xffc0}; only lossless SOF3 is supported`);
    } else if (marker === 0xffdd) {
      restartInterval = u16(body);
    } else if (marker === 0xffda) {
      if (!frame) throw fail('scan comes before the frame header (SOF3)');
      return decodeScan(src, body, next, frame, tables, restartInterval, opts, fail);
    }
    at = next;
  }
}

function decodeScan(
  src: Uint8Array,
  body: number,
  dataStart: number,
  frame: { precision: number; height: number; width: number; ids: number[] },
  tables: (HuffmanLut | undefined)[],
  restartInterval: number,
  opts: LjpegOptions,
  fail: (problem: string) => Error,
): LjpegImage {
  const ns = src[body]!;
  const nf = frame.ids.length;
  if (ns !== nf) throw fail(`scan has ${ns} of the frame's ${nf} components; only one interleaved scan is supported`);
  if (dataStart - body < 1 + 2 * ns + 3) throw fail('SOS segment is truncated');
  const scanTables: HuffmanLut[] = [];
  for (let c = 0; c < ns; c++) {
    const id = src[body + 1 + 2 * c]!;
    if (id !== frame.ids[c]) throw fail(`scan component ${id} does not match frame component ${frame.ids[c]}`);
    // dcraw ignores the scan's selectors (component c takes table c, or the last defined below it): fall back
    // to that when the selected table was never defined.
    let t = tables[src[body + 2 + 2 * c]! >> 4];
    for (let k = Math.min(c, 3); !t && k >= 0; k--) t = tables[k];
    if (!t) throw fail(`component ${c} uses an undefined Huffman table`);
    scanTables.push(t);
  }
  const predictor = src[body + 1 + 2 * ns]!;
  const pointTransform = src[body + 3 + 2 * ns]! & 15;
  if (pointTransform >= frame.precision) throw fail(`point transform ${pointTransform} >= precision`);

  const { width, height, precision } = frame;
  const rowLen = width * nf;
  const samples = rowLen * height;
  const seg = extractEntropySegments(src, dataStart);
  // Each sample takes at least one bit, so more samples than bits means corrupt sizes: check that
  // before allocating, so a damaged header cannot ask for gigabytes.
  if (samples > seg.data.length * 8 + 64) throw fail(`frame ${width}x${height}x${nf} needs more data than the ${seg.data.length} bytes present`);
  if (opts.maxSamples !== undefined && samples > opts.maxSamples) {
    throw fail(`frame ${width}x${height}x${nf} is larger than the ${opts.maxSamples} samples expected`);
  }
  let rowsPerInterval = height;
  if (restartInterval > 0) {
    if (restartInterval % width !== 0) throw fail(`restart interval ${restartInterval} is not a whole number of rows`);
    rowsPerInterval = restartInterval / width;
  }
  const intervals = Math.ceil(height / rowsPerInterval);
  if (seg.starts.length - 1 < intervals) throw fail(`has ${seg.starts.length - 1} restart intervals, expected ${intervals}`);

  const out = new Uint16Array(samples);
  for (let k = 0; k < intervals; k++) {
    const rows = Math.min(rowsPerInterval, height - k * rowsPerInterval);
    const err = decodeDifferences(seg.data, seg.starts[k]!, seg.starts[k + 1]!, scanTables, out, k * rowsPerInterval * rowLen, rows, width, opts.category16ReadsBits);
    if (err) throw fail(intervals > 1 ? `${err} (restart interval ${k})` : err);
  }
  reconstruct(out, width, height, nf, predictor, precision - pointTransform, rowsPerInterval);
  if (pointTransform > 0) for (let i = 0; i < samples; i++) out[i] = (out[i]! << pointTransform) & 0xffff;
  return { width, height, components: nf, precision, predictor, data: out };
}

/**
 * Turns differences into samples in place (T.81 H.1.2.1): the first row of each restart interval is
 * predicted from the left (its first sample from 2^(P-1)); later rows start from the sample above and
 * then use the scan's predictor. Arithmetic is modulo 2^16, as the standard specifies.
 */
function reconstruct(d: Uint16Array, width: number, height: number, nf: number, psv: number, bits: number, rowsPerInterval: number): void {
  const stride = width * nf;
  const initial = 1 << (bits - 1);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const first = y % rowsPerInterval === 0;
    for (let c = 0; c < nf; c++) d[row + c] = (d[row + c]! + (first ? initial : d[row + c - stride]!)) & 0xffff;
    if (first || psv === 1) {
      for (let i = row + nf; i < row + stride; i++) d[i] = (d[i]! + d[i - nf]!) & 0xffff;
      continue;
    }
    const up = row - stride;
    for (let i = row + nf, u = up + nf; i < row + stride; i++, u++) {
      const a = d[i - nf]!;
      const b = d[u]!;
      const c = d[u - nf]!;
      let p: number;
      switch (psv) {
        case 2: p = b; break;
        case 3: p = c; break;
        case 4: p = a + b - c; break;
        case 5: p = a + ((b - c) >> 1); break;
        case 6: p = b + ((a - c) >> 1); break;
        case 7: p = (a + b) >> 1; break;
        default: p = 0; // dcraw's reading of the reserved predictor values
      }
      d[i] = (d[i]! + p) & 0xffff;
    }
  }
}

// JPEG (JFIF / Exif) reader for photos: DCT-based baseline, extended sequential and progressive Huffman-coded
// frames with 8-bit samples, 1 (gray) or 3 (YCbCr, or RGB when an Adobe marker or the component ids say so)
// components, any sampling factors, restart intervals. Arithmetic coding, 12-bit, lossless (see src/raw/ljpeg.ts)
// and CMYK files are refused by name.

import { FormatError } from './bytes.js';
import { extractEntropySegments } from '../raw/ljpeg-huffman.js';
import {
  buildJpegHuffmanLut,
  decodeProgressiveBlock,
  decodeSequentialBlock,
  JpegBitReader,
  JpegDataError,
  ZIGZAG,
  type JpegHuffmanLut,
  type ProgressiveScan,
  type ScanComponent,
} from './jpeg-entropy.js';
import { idctBlock, upsample, ycbcrToRgb } from './jpeg-pixels.js';
import { idctBlockIslow, ycbcrToRgbExact } from './jpeg-libjpeg-exact.js';

export interface JpegImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Interleaved 8-bit samples, row-major. */
  data: Uint8Array;
}

export interface JpegOptions {
  /** libjpeg's triangular chroma upsampling for 4:2:2 and 4:2:0 (default true); false replicates, as djpeg -nosmooth. */
  fancyUpsampling?: boolean;
  /** 'islow': libjpeg's integer inverse DCT and colour conversion, bit-exact with djpeg (lossy DNG tiles need that); default: float. */
  idct?: 'float' | 'islow';
}

interface FrameComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Blocks that hold image samples, and the MCU-padded block grid the coefficients are stored in. */
  blocksW: number;
  blocksH: number;
  paddedW: number;
  paddedH: number;
  coefs: Int16Array;
}

interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
  comps: FrameComponent[];
}

const SOF_NAMES: Record<number, string> = {
  0xc3: 'lossless', 0xc5: 'differential sequential', 0xc6: 'differential progressive', 0xc7: 'differential lossless',
  0xc9: 'arithmetic-coded sequential', 0xca: 'arithmetic-coded progressive', 0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded differential sequential', 0xce: 'arithmetic-coded differential progressive', 0xcf: 'arithmetic-coded differential lossless',
};

/** Decodes a JPEG file; every problem is a FormatError whose message starts with `name`. */
export function decodeJpeg(src: Uint8Array, name = 'JPEG', opts: JpegOptions = {}): JpegImage {
  const fail = (problem: string): FormatError => new FormatError(name, problem);
  const u16 = (at: number): number => {
    if (at + 2 > src.length) throw fail(`truncated: a segment at offset ${at} runs past the end (${src.length} bytes)`);
    return (src[at]! << 8) | src[at + 1]!;
  };
  if (src.length < 4 || u16(0) !== 0xffd8) throw fail('not a JPEG file (no SOI marker)');
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (JpegHuffmanLut | undefined)[] = [];
  const acTables: (JpegHuffmanLut | undefined)[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let adobeTransform = -1;
  let scans = 0;
  let at = 2;
  for (let guard = 0; ; guard++) {
    if (guard > 10000) throw fail('too many JPEG segments');
    while (at + 1 < src.length && src[at] === 0xff && src[at + 1] === 0xff) at++;
    if (at >= src.length) throw fail('truncated: the file ends before its EOI marker');
    const marker = u16(at);
    if (marker >> 8 !== 0xff) throw fail(`expected a JPEG marker at offset ${at}, found 0x${marker.toString(16)}`);
    if (marker === 0xffd9) break;
    if (marker >= 0xffd0 && marker <= 0xffd7) {
      at += 2; // a stray RST between scans carries nothing
      continue;
    }
    const len = u16(at + 2);
    const body = at + 4;
    const next = at + 2 + len;
    if (len < 2 || next > src.length) throw fail(`truncated: segment 0x${marker.toString(16)} at offset ${at} runs past the end`);
    try {
      if (marker === 0xffdb) readQuantTables(src, body, next, quant);
      else if (marker === 0xffc4) readHuffmanTables(src, body, next, dcTables, acTables);
      else if (marker === 0xffdd) {
        if (len < 4) throw new JpegDataError('DRI segment is too short');
        restartInterval = u16(body);
      } else if (marker === 0xffee && len >= 14 && String.fromCharCode(...src.subarray(body, body + 5)) === 'Adobe') adobeTransform = src[body + 11]!;
      else if (marker === 0xffc0 || marker === 0xffc1 || marker === 0xffc2) {
        if (frame) throw new JpegDataError('a second frame header (SOF); only single-frame files are read');
        frame = readFrame(src, body, next, marker === 0xffc2);
      } else if (marker >> 4 === 0xffc && SOF_NAMES[marker & 0xff]) throw new JpegDataError(`${SOF_NAMES[marker & 0xff]} JPEG is not supported (baseline, extended and progressive Huffman-coded only)`);
      else if (marker === 0xffda) {
        if (!frame) throw new JpegDataError('a scan (SOS) before the frame header (SOF)');
        const scanEnd = decodeScan(src, body, next, frame, dcTables, acTables, restartInterval);
        scans++;
        at = scanEnd;
        continue;
      }
    } catch (e) {
      if (e instanceof JpegDataError) throw fail(e.message);
      throw e;
    }
    at = next;
  }
  if (!frame) throw fail('no frame header (SOF) before EOI');
  if (scans === 0) throw fail('no scan before EOI');
  for (const c of frame.comps) if (!quant[c.tq]) throw fail(`component ${c.id} uses quantisation table ${c.tq}, which the file never defines`);
  return toPixels(frame, quant as Uint16Array[], adobeTransform, opts.fancyUpsampling ?? true, opts.idct === 'islow');
}

function readQuantTables(src: Uint8Array, p: number, end: number, quant: (Uint16Array | undefined)[]): void {
  while (p < end) {
    const pq = src[p]! >> 4;
    const tq = src[p]! & 15;
    if (pq > 1 || tq > 3) throw new JpegDataError(`DQT holds table ${tq} of precision ${pq}; expected tables 0..3 of precision 0 or 1`);
    const size = pq ? 128 : 64;
    if (p + 1 + size > end) throw new JpegDataError('DQT segment is truncated');
    const t = new Uint16Array(64);
    for (let k = 0; k < 64; k++) t[ZIGZAG[k]!] = pq ? (src[p + 1 + 2 * k]! << 8) | src[p + 2 + 2 * k]! : src[p + 1 + k]!;
    quant[tq] = t;
    p += 1 + size;
  }
}

function readHuffmanTables(src: Uint8Array, p: number, end: number, dc: (JpegHuffmanLut | undefined)[], ac: (JpegHuffmanLut | undefined)[]): void {
  while (p < end) {
    const tc = src[p]! >> 4;
    const th = src[p]! & 15;
    if (tc > 1 || th > 3) throw new JpegDataError(`DHT holds table class ${tc} id ${th}; expected class 0 or 1, id 0..3`);
    if (p + 17 > end) throw new JpegDataError('DHT segment is truncated');
    const bits = Array.from(src.subarray(p + 1, p + 17));
    const total = bits.reduce((a, b) => a + b, 0);
    if (total > 256 || p + 17 + total > end) throw new JpegDataError('DHT segment is truncated');
    (tc === 0 ? dc : ac)[th] = buildJpegHuffmanLut(bits, Array.from(src.subarray(p + 17, p + 17 + total)));
    p += 17 + total;
  }
}

function readFrame(src: Uint8Array, p: number, end: number, progressive: boolean): Frame {
  if (end - p < 6) throw new JpegDataError('SOF segment is too short');
  const precision = src[p]!;
  const height = (src[p + 1]! << 8) | src[p + 2]!;
  const width = (src[p + 3]! << 8) | src[p + 4]!;
  const n = src[p + 5]!;
  if (precision !== 8) throw new JpegDataError(`${precision}-bit samples are not supported (8-bit only)`);
  if (height === 0) throw new JpegDataError('the frame height is 0 (defined later by a DNL marker, which is not supported)');
  if (width === 0) throw new JpegDataError('the frame width is 0');
  if (n !== 1 && n !== 3) throw new JpegDataError(`${n} components; only gray (1) and colour (3) JPEGs are read${n === 4 ? ' (CMYK is not supported)' : ''}`);
  if (end - p < 6 + 3 * n) throw new JpegDataError('SOF segment is truncated');
  const raw = Array.from({ length: n }, (_, i) => {
    const q = p + 6 + 3 * i;
    return { id: src[q]!, h: src[q + 1]! >> 4, v: src[q + 1]! & 15, tq: src[q + 2]! };
  });
  for (const c of raw) {
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) throw new JpegDataError(`component ${c.id} has sampling factors ${c.h}x${c.v}; each must be 1..4`);
    if (c.tq > 3) throw new JpegDataError(`component ${c.id} names quantisation table ${c.tq}; expected 0..3`);
  }
  const hmax = Math.max(...raw.map((c) => c.h));
  const vmax = Math.max(...raw.map((c) => c.v));
  for (const c of raw) {
    if (hmax % c.h || vmax % c.v) throw new JpegDataError(`component ${c.id}'s sampling ${c.h}x${c.v} does not divide the largest (${hmax}x${vmax})`);
  }
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  const comps = raw.map((c) => {
    const paddedW = mcusX * c.h;
    const paddedH = mcusY * c.v;
    return { ...c, blocksW: Math.ceil(Math.ceil((width * c.h) / hmax) / 8), blocksH: Math.ceil(Math.ceil((height * c.v) / vmax) / 8), paddedW, paddedH, coefs: new Int16Array(0) };
  });
  // Each block costs at least one bit of the first scan, so a frame claiming more blocks than the file has bits is
  // corrupt; refusing it before allocating keeps a tiny bad file from asking for gigabytes.
  const blocks = comps.reduce((s, c) => s + c.paddedW * c.paddedH, 0);
  if (blocks > 16 * src.length + 64) throw new JpegDataError(`a ${width}x${height} frame needs more data than the ${src.length}-byte file holds (corrupt or truncated)`);
  for (const c of comps) c.coefs = new Int16Array(c.paddedW * c.paddedH * 64);
  return { progressive, width, height, hmax, vmax, mcusX, mcusY, comps };
}

/** Decodes one scan; returns the offset just past its entropy-coded data. */
function decodeScan(src: Uint8Array, p: number, end: number, frame: Frame, dc: (JpegHuffmanLut | undefined)[], ac: (JpegHuffmanLut | undefined)[], restartInterval: number): number {
  const ns = src[p]!;
  if (ns < 1 || ns > 4 || end - p < 4 + 2 * ns) throw new JpegDataError('SOS segment is malformed');
  const members = Array.from({ length: ns }, (_, i) => {
    const id = src[p + 1 + 2 * i]!;
    const comp = frame.comps.find((c) => c.id === id);
    if (!comp) throw new JpegDataError(`scan names component ${id}, which the frame does not have`);
    return { comp, td: src[p + 2 + 2 * i]! >> 4, ta: src[p + 2 + 2 * i]! & 15 };
  });
  const q = p + 1 + 2 * ns;
  const scan: ProgressiveScan = { ss: src[q]!, se: src[q + 1]!, ah: src[q + 2]! >> 4, al: src[q + 2]! & 15, eobrun: 0 };
  if (frame.progressive) {
    if (scan.ss > scan.se || scan.se > 63 || (scan.ss === 0 && scan.se !== 0) || (scan.ss > 0 && ns !== 1) || scan.al > 13) {
      throw new JpegDataError(`progressive scan with band ${scan.ss}..${scan.se} and bits ${scan.ah}/${scan.al} over ${ns} components is not valid`);
    }
  } else if (scan.ss !== 0 || scan.se !== 63) throw new JpegDataError(`sequential scan with spectral band ${scan.ss}..${scan.se} (expected 0..63)`);
  const needDc = !frame.progressive || (scan.ss === 0 && scan.ah === 0);
  const needAc = !frame.progressive || scan.ss > 0;
  const states: ScanComponent[] = members.map((m) => {
    const s: ScanComponent = { pred: 0, dc: needDc ? dc[m.td] : undefined, ac: needAc ? ac[m.ta] : undefined };
    if (needDc && !s.dc) throw new JpegDataError(`component ${m.comp.id} uses DC Huffman table ${m.td}, which is not defined`);
    if (needAc && !s.ac) throw new JpegDataError(`component ${m.comp.id} uses AC Huffman table ${m.ta}, which is not defined`);
    return s;
  });
  const seg = extractEntropySegments(src, end);
  const decodeBlock = (r: JpegBitReader, i: number, bx: number, by: number): void => {
    const c = members[i]!.comp;
    const o = (by * c.paddedW + bx) * 64;
    if (frame.progressive) decodeProgressiveBlock(r, states[i]!, scan, c.coefs, o);
    else decodeSequentialBlock(r, states[i]!, c.coefs, o);
  };
  // A one-component scan is not interleaved: it covers just that component's blocks, one per "MCU".
  const single = ns === 1 ? members[0]!.comp : undefined;
  const units = single ? single.blocksW * single.blocksH : frame.mcusX * frame.mcusY;
  const perInterval = restartInterval || units;
  const intervals = Math.ceil(units / perInterval);
  if (seg.starts.length - 1 < intervals) throw new JpegDataError(`truncated: the scan holds ${seg.starts.length - 1} of its ${intervals} restart intervals`);
  for (let k = 0; k < intervals; k++) {
    const r = new JpegBitReader(seg.data, seg.starts[k]!, seg.starts[k + 1]!);
    for (const s of states) s.pred = 0;
    scan.eobrun = 0;
    const last = Math.min(units, (k + 1) * perInterval);
    for (let u = k * perInterval; u < last; u++) {
      if (single) decodeBlock(r, 0, u % single.blocksW, Math.floor(u / single.blocksW));
      else {
        const mx = u % frame.mcusX;
        const my = Math.floor(u / frame.mcusX);
        members.forEach((m, i) => {
          for (let v = 0; v < m.comp.v; v++) for (let h = 0; h < m.comp.h; h++) decodeBlock(r, i, mx * m.comp.h + h, my * m.comp.v + v);
        });
      }
    }
    if (r.overran()) throw new JpegDataError(`truncated: restart interval ${k} of the scan ends inside its data`);
  }
  return seg.end;
}

function toPixels(frame: Frame, quant: Uint16Array[], adobeTransform: number, fancy: boolean, islow: boolean): JpegImage {
  const { width, height } = frame;
  const tmp = new Float64Array(64);
  const planes = frame.comps.map((c) => {
    const stride = c.paddedW * 8;
    const data = new Uint8Array(stride * c.paddedH * 8);
    const q = quant[c.tq]!;
    for (let by = 0; by < c.paddedH; by++) {
      for (let bx = 0; bx < c.paddedW; bx++) {
        if (islow) idctBlockIslow(c.coefs, (by * c.paddedW + bx) * 64, q, data, by * 8 * stride + bx * 8, stride);
        else idctBlock(c.coefs, (by * c.paddedW + bx) * 64, q, data, by * 8 * stride + bx * 8, stride, tmp);
      }
    }
    const plane = { data, stride, width: Math.ceil((width * c.h) / frame.hmax), height: Math.ceil((height * c.v) / frame.vmax), sx: frame.hmax / c.h, sy: frame.vmax / c.v };
    return upsample(plane, width, height, fancy);
  });
  if (planes.length === 1) return { width, height, channels: 1, data: planes[0]! };
  const ids = frame.comps.map((c) => c.id);
  const rgb = adobeTransform === 0 || (adobeTransform < 0 && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42);
  if (rgb) {
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) data[3 * i + c] = planes[c]![i]!;
    return { width, height, channels: 3, data };
  }
  return { width, height, channels: 3, data: (islow ? ycbcrToRgbExact : ycbcrToRgb)(planes[0]!, planes[1]!, planes[2]!) };
}

// Every camera LibRaw knows, through the `libraw-wasm` package (LibRaw compiled to WebAssembly): the formats
// our own readers do not decode (NEF, ARW, CR3, RAF, RW2, ORF, PEF, SRW, …, and non-Bayer DNGs) come back as
// the same RawImage, so `rddm info` / `decode` / `restore` work on them unchanged. Platform-neutral: the Node
// CLI and the web page each register how to get the WebAssembly bytes (setLibRawLoader).
//
// The wrapper exposes LibRaw's metadata and raw_image, but not its per-channel black levels (cblack), only
// their common part. We recover them the way LibRaw applies them: LibRaw processes a crop of the image with
// no scaling, no demosaic and no colour conversion, which leaves raw − black per pixel; raw minus that is
// the black of each CFA position.

import { cam2rgbFromXyz2cam, IDENTITY3 } from './color-matrix.js';
import { RawFormatError, RawUnsupportedError } from './errors.js';
import { isCr2 } from './cr2-reader.js';
import { cfaPatternFromColors, cropPlane, type Matrix3, type NonBayerSensor, type RawImage } from './raw-image.js';

export const LIBRAW_VERSION = 'LibRaw 0.22 (libraw-wasm 1.6.0)';

/** The parts of the libraw-wasm module we use (its embind class). */
export interface LibRawModule {
  LibRaw: new () => LibRawProcessor;
}

interface LibRawProcessor {
  open(bytes: Uint8Array, settings: object): void;
  metadata(full: boolean): LibRawMetadata;
  imageData(): { width: number; height: number; colors: number; bits: number; data: Uint8Array | Uint16Array } | undefined;
  rawImageData(): { raw_width: number; raw_height: number; top_margin: number; left_margin: number; width: number; height: number; data: Uint16Array } | undefined;
  delete?(): void;
}

/** The fields of LibRaw's metadata(true) we read (libraw-wasm's dist/index.d.ts has them all). */
export interface LibRawMetadata {
  width: number;
  height: number;
  raw_width: number;
  raw_height: number;
  top_margin: number;
  left_margin: number;
  flip: number;
  camera_make: string;
  camera_model: string;
  iso_speed: number;
  filters?: number;
  cdesc?: string;
  colors?: number;
  is_foveon?: number;
  dng_version?: number;
  pixel_aspect?: number;
  iwidth?: number;
  iheight?: number;
  color_data?: {
    black: number;
    maximum: number;
    cam_mul: number[];
    rgb_cam: number[][];
    cam_xyz: number[][];
    raw_bps: number;
    /** DNG ColorMatrix1/2 (4x3, XYZ → camera) with their illuminants. */
    dng_color?: { illuminant: number; colormatrix: number[][] }[];
  };
}

export type LibRawLoader = () => Promise<LibRawModule>;
/** readWithLibRaw done elsewhere, e.g. in a Web Worker (the page: see web/libraw-client.ts). */
export type LibRawRemote = (bytes: Uint8Array, name: string) => Promise<RawImage>;

let loader: LibRawLoader | null = null;
let remote: LibRawRemote | null = null;
let module: Promise<LibRawModule> | null = null;

/** How this platform gets LibRaw (Node: from node_modules; a worker: fetched). Without one, LibRaw is off. */
export function setLibRawLoader(next: LibRawLoader | null): void {
  loader = next;
  module = null;
}

/**
 * Hands LibRaw's work to `next` instead (the web page runs LibRaw in a worker: its embind glue compiles code with
 * `new Function`, which the page's Content-Security-Policy forbids and the worker's allows).
 */
export function setLibRawRemote(next: LibRawRemote | null): void {
  remote = next;
}

export function libRawAvailable(): boolean {
  return loader !== null || remote !== null;
}

function getModule(): Promise<LibRawModule> {
  if (!loader) return Promise.reject(new Error('LibRaw is not available here'));
  module ??= loader().catch((e: unknown) => {
    module = null;
    throw e;
  });
  return module;
}

// No demosaic, no white balance or brightness scaling, raw colour, linear 16-bit, no rotation: what imageData
// returns is then raw − black at each pixel of the processed area.
const BLACK_PROBE = { noInterpolation: true, noAutoScale: true, outputColor: 0, outputBps: 16, gamm: [1, 1, 0, 0, 0, 0], noAutoBright: true, userFlip: 0, useCameraMatrix: 0, highlight: 0 };
/** Side of the probed crop (its corner is the active area's; LibRaw clamps it to the image). */
const PROBE_SIZE = 512;

/** LibRaw's flip (0..7) → EXIF orientation, the inverse of dcraw's "50132467"[exif & 7]. */
const FLIP_TO_EXIF = [1, 2, 4, 3, 5, 8, 6, 7];

/** Reads any RAW file LibRaw knows into a RawImage. Throws RawFormatError naming the file and LibRaw's reason. */
export async function readWithLibRaw(bytes: Uint8Array, name: string): Promise<RawImage> {
  if (remote) return remote(bytes, name);
  let M: LibRawModule;
  try {
    M = await getModule();
  } catch (e) {
    throw new RawUnsupportedError(name, `${LIBRAW_VERSION} could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
  const lr = new M.LibRaw();
  // LibRaw's C++ exceptions reach us as bare pointers: its own words are lost, so name the step that failed. A
  // WebAssembly trap may leave the module's memory in any state: the next file gets a fresh instance.
  const reason = (e: unknown): string => {
    if (e instanceof WebAssembly.RuntimeError) module = null;
    return e instanceof Error ? e.message : 'LibRaw threw an exception (corrupt data, or a compression this build lacks, such as Deflate DNG)';
  };
  const fail = (what: string, e: unknown): RawFormatError => new RawFormatError(name, `${LIBRAW_VERSION} ${what}: ${reason(e)}`);
  try {
    try {
      lr.open(bytes.slice(), { ...BLACK_PROBE, cropbox: [0, 0, PROBE_SIZE, PROBE_SIZE] });
    } catch (e) {
      throw new RawUnsupportedError(name, `${LIBRAW_VERSION} cannot open it: ${e instanceof Error ? e.message : 'not a camera RAW format LibRaw knows, or a damaged one'}`);
    }
    let meta: LibRawMetadata;
    try {
      meta = lr.metadata(true);
    } catch (e) {
      throw fail('cannot read its metadata', e);
    }
    if (!(meta.width > 0 && meta.height > 0)) throw new RawUnsupportedError(name, `${LIBRAW_VERSION} finds no image in it (unsupported file format)`);
    let processed: ReturnType<LibRawProcessor['imageData']>;
    try {
      processed = lr.imageData();
    } catch (e) {
      throw fail('cannot decode it', e);
    }
    let raw: ReturnType<LibRawProcessor['rawImageData']>;
    try {
      raw = lr.rawImageData();
    } catch (e) {
      throw fail('cannot decode it', e);
    }
    const sensor = sensorOf(meta);
    if (!raw) throw new RawUnsupportedError(name, `${LIBRAW_VERSION} decodes it only to ${sensor === 'Foveon' ? 'Foveon' : 'three-colour'} pixels (no single-plane sensor mosaic to restore or write)`);
    const image = toRawImage(meta, raw, processed, sensor);
    if (isCr2(bytes)) image.format = 'cr2';
    return image;
  } finally {
    try {
      lr.delete?.();
    } catch {
      // a trapped instance may not delete cleanly; its module is dropped above
    }
  }
}

function sensorOf(meta: LibRawMetadata): NonBayerSensor | undefined {
  const filters = (meta.filters ?? 0) >>> 0;
  if (meta.is_foveon) return 'Foveon';
  if (filters === 9) return 'X-Trans';
  if (filters === 0) return (meta.colors ?? 3) === 1 ? 'monochrome' : 'linear RGB';
  if (filters < 1000 || (meta.colors ?? 3) !== 3) return 'other CFA';
  return undefined;
}

/** Colour (0..3, an index into cdesc) of a pixel of the visible area: LibRaw's FC(row, col). */
const fc = (filters: number, row: number, col: number): number => (filters >>> ((((row << 1) & 14) | (col & 1)) << 1)) & 3;

/** Exported for tests: the mapping from what LibRaw returns to our RawImage. */
export function toRawImage(
  meta: LibRawMetadata,
  raw: NonNullable<ReturnType<LibRawProcessor['rawImageData']>>,
  processed: ReturnType<LibRawProcessor['imageData']>,
  sensor = sensorOf(meta),
): RawImage {
  const { top_margin: top, left_margin: left, raw_width: rw, raw_height: rh } = meta;
  // The wrapper reports width/height as displayed: swapped for flips 5..7. iwidth/iheight are as stored.
  const swapped = meta.flip >= 5 && meta.flip <= 7;
  const width = meta.iwidth ?? (swapped ? meta.height : meta.width);
  const height = meta.iheight ?? (swapped ? meta.width : meta.height);
  const warnings: string[] = [];
  if (raw.data.length < rw * rh || left + width > rw || top + height > rh) {
    throw new RawFormatError('LibRaw', `raw data ${raw.raw_width}x${raw.raw_height} does not hold the ${width}x${height} image at (${left}, ${top})`);
  }
  const mosaic = cropPlane(raw.data, rw, left, top, width, height);
  const filters = (meta.filters ?? 0) >>> 0;
  const cdesc = meta.cdesc ?? 'RGBG';
  const c = meta.color_data;
  let cfaPattern = cfaPatternFromColors([0, 1, 2, 3].map((k) => 'RGB'.indexOf(cdesc[fc(filters, k >> 1, k & 1)] ?? '?')));
  if (!sensor && !cfaPattern) sensor = 'other CFA';
  cfaPattern ??= 'RGGB'; // unused for non-Bayer sensors: `sensor` says what they are
  if (meta.pixel_aspect !== undefined && Math.abs(meta.pixel_aspect - 1) > 1e-6) warnings.push(`pixels are not square (aspect ${meta.pixel_aspect}): the mosaic is as stored`);

  const blackLevel = measuredBlack(mosaic, width, processed, sensor, c?.black ?? 0, warnings);
  const mul = c?.cam_mul ?? [];
  let asShotWB: [number, number, number] = [1, 1, 1];
  if (mul[0]! > 0 && mul[1]! > 0 && mul[2]! > 0) asShotWB = [mul[0]! / mul[1]!, 1, mul[2]! / mul[1]!];
  else warnings.push('no as-shot white balance: using [1, 1, 1]');
  const xyz2cam = xyzMatrix(meta);
  let cam2rgb = IDENTITY3.map((r) => [...r]) as Matrix3;
  const rgbCam = c?.rgb_cam;
  if (sensor && sensor !== 'X-Trans') {
    // Not three RGB colour channels: no 3x3 camera → sRGB matrix applies.
  } else if (xyz2cam) {
    cam2rgb = cam2rgbFromXyz2cam(xyz2cam) ?? cam2rgb;
  } else if (rgbCam && rgbCam.length >= 3) {
    cam2rgb = rgbCam.slice(0, 3).map((r) => r.slice(0, 3)) as Matrix3;
    warnings.push('no XYZ colour matrix: using LibRaw\'s camera-to-sRGB matrix');
  } else warnings.push(`no colour matrix known for "${meta.camera_make} ${meta.camera_model}": cam2rgb is the identity, colours will be wrong`);
  const flip = meta.flip & 7;
  return {
    make: meta.camera_make,
    model: meta.camera_model,
    width,
    height,
    mosaic,
    cfaPattern,
    blackLevel,
    whiteLevel: c?.maximum || 65535,
    asShotWB,
    cam2rgb,
    ...(xyz2cam ? { xyz2cam } : {}),
    bitDepth: c?.raw_bps || 16,
    orientation: FLIP_TO_EXIF[flip]!,
    ...(meta.iso_speed > 0 ? { iso: meta.iso_speed } : {}),
    format: meta.dng_version ? 'dng' : 'raw',
    reader: 'libraw',
    ...(sensor ? { sensor } : {}),
    warnings,
  };
}

/**
 * XYZ → camera: a DNG's own matrix as our DNG reader picks it (the D65 one, else ColorMatrix2, else 1), else
 * LibRaw's built-in table's (cam_xyz). Undefined when neither holds a 3-colour matrix.
 */
function xyzMatrix(meta: LibRawMetadata): Matrix3 | undefined {
  const usable = (m: number[][] | undefined): m is number[][] => !!m && m.length >= 3 && m.slice(0, 3).flat().some((v) => v !== 0) && m.slice(0, 3).flat().every(Number.isFinite);
  const dng = (meta.color_data?.dng_color ?? []).filter((d) => usable(d.colormatrix));
  const pick = dng.find((d) => d.illuminant === 21) ?? dng[dng.length - 1];
  const m = pick?.colormatrix ?? meta.color_data?.cam_xyz;
  // LibRaw holds them as float32: Adobe's and dcraw's matrices are multiples of 1e-4, so snap to that grid when
  // the float32 value lies on it (then native and LibRaw paths give the same matrix).
  return usable(m) ? (m.slice(0, 3).map((r) => r.slice(0, 3).map((v) => Math.abs(v * 1e4 - Math.round(v * 1e4)) < 1e-2 ? Math.round(v * 1e4) / 1e4 : v)) as Matrix3) : undefined;
}

/**
 * Black per 2×2 position: the most common raw − processed difference over the probed crop's pixels that
 * LibRaw left above zero. Non-Bayer sensors get one level (the most common difference over all positions).
 */
function measuredBlack(
  mosaic: Uint16Array,
  width: number,
  processed: ReturnType<LibRawProcessor['imageData']>,
  sensor: NonBayerSensor | undefined,
  common: number,
  warnings: string[],
): [number, number, number, number] {
  const hist = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>(), new Map<number, number>()];
  if (processed && processed.bits === 16) {
    const { width: pw, height: ph, colors } = processed;
    const d = processed.data;
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        let out = 0;
        for (let k = 0; k < colors; k++) out += d[(y * pw + x) * colors + k]!;
        if (out === 0) continue;
        const h = hist[sensor ? 0 : ((y & 1) << 1) | (x & 1)]!;
        const diff = mosaic[y * width + x]! - out;
        h.set(diff, (h.get(diff) ?? 0) + 1);
      }
    }
  }
  const mode = (h: Map<number, number>): number | undefined => [...h].sort((a, b) => b[1] - a[1])[0]?.[0];
  const levels = (sensor ? [0, 0, 0, 0] : [0, 1, 2, 3]).map((k) => mode(hist[k]!));
  if (levels.some((v) => v === undefined || v < 0)) {
    warnings.push(`no pixel above black in the ${PROBE_SIZE}x${PROBE_SIZE} corner LibRaw probed: black level ${common} for every CFA position`);
    return [common, common, common, common];
  }
  return levels as [number, number, number, number];
}

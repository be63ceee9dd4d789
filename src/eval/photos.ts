import { decodePng } from '../io/png.js';
import { decodeNetpbm } from '../io/pgm.js';
import { decodeJpeg } from '../io/jpeg.js';
import { readTiffRgb8 } from '../raw/tiff-rgb-reader.js';
import type { SrgbImage } from '../raw/synth-batch.js';
import { ConfigError } from '../io/config-check.js';

/**
 * The natural photos that synthesis starts from: the list in datasets/photos.json (which files, from where, under
 * which licence, train/eval split) and decoding of its PNG, JPEG, TIFF and Netpbm files to SrgbImage. Platform-free; the file
 * reading lives in src/node/load-photos.ts.
 */
export type PhotoSplit = 'train' | 'eval';

export interface PhotoEntry {
  package: string;
  file: string;
  license: string;
  /**
   * Set when the package holds the pixels in another container: scripts/fetch-photos.sh unpacks `unpack.file` into a
   * binary PPM named `file`. The one format so far is SciPy's face.dat (bzip2-compressed raw 8-bit RGB rows).
   */
  unpack?: PhotoUnpack;
}

export interface PhotoUnpack {
  file: string;
  format: 'bzip2-rgb8';
  width: number;
  height: number;
}

export interface PhotoList {
  sources: Record<string, string>;
  train: PhotoEntry[];
  eval: PhotoEntry[];
}

export interface NamedPhoto {
  name: string;
  license: string;
  image: SrgbImage;
}

/** Validates the parsed JSON of datasets/photos.json; a bad list fails with a ConfigError naming the entry. */
export function parsePhotoList(json: unknown, name = 'photos.json'): PhotoList {
  const bad = (field: string, why: string) =>
    new ConfigError(name, field, `${why}; expected { sources: {package: dir}, train: [{package, file, license}], eval: [...] }`);
  const o = json as Partial<PhotoList> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o) || !o.sources || typeof o.sources !== 'object' || Array.isArray(o.sources)) throw bad('', 'has no "sources" object');
  for (const [pkg, dir] of Object.entries(o.sources)) if (typeof dir !== 'string') throw bad(`sources.${pkg}`, 'must be a folder name');
  for (const split of ['train', 'eval'] as const) {
    const list = o[split];
    if (!Array.isArray(list)) throw bad(split, 'is not a list');
    list.forEach((e: Partial<PhotoEntry> | null, i) => {
      if (!e || typeof e !== 'object' || typeof e.file !== 'string' || typeof e.package !== 'string' || typeof e.license !== 'string') {
        throw bad(`${split}[${i}]`, 'needs "package", "file" and "license" strings');
      }
      if (!isPlainFileName(e.file)) throw bad(`${split}[${i}]`, `file "${e.file}" must be a plain file name`);
      if (e.unpack !== undefined) checkUnpack(e.unpack, e.file, (why) => bad(`${split}[${i}].unpack`, why));
    });
  }
  const names = new Set(o.train!.map((e) => e.file));
  const shared = o.eval!.filter((e) => names.has(e.file));
  if (shared.length) throw bad('', `${shared.map((e) => e.file).join(', ')} appear(s) in both train and eval`);
  return { sources: o.sources, train: o.train!, eval: o.eval! };
}

/** A name inside one folder: no path separators, not hidden, not empty. */
function isPlainFileName(f: string): boolean {
  return f !== '' && !f.startsWith('.') && !/[\\/]/.test(f);
}

function checkUnpack(u: Partial<PhotoUnpack> | null, file: string, bad: (why: string) => Error): void {
  if (!u || typeof u !== 'object' || typeof u.file !== 'string' || !isPlainFileName(u.file)) {
    throw bad('needs "file", a plain file name in the package folder');
  }
  if (u.format !== 'bzip2-rgb8') throw bad(`format ${JSON.stringify(u.format)} is not known (only "bzip2-rgb8")`);
  if (!Number.isInteger(u.width) || !Number.isInteger(u.height) || u.width! <= 0 || u.height! <= 0) throw bad('needs positive integer "width" and "height"');
  if (!file.endsWith('.ppm')) throw bad(`unpacks to a binary PPM, so the entry's file must end in .ppm (not "${file}")`);
}

/** Interleaved 8- or 16-bit pixels with 1–4 channels → HWC float RGB in [0, 1]; gray is replicated, alpha dropped. */
export function toSrgbImage(data: Uint8Array | Uint16Array, width: number, height: number, channels: number, maxValue: number): SrgbImage {
  if (data.length !== width * height * channels) throw new Error(`toSrgbImage: ${data.length} values for a ${width}x${height}x${channels} image`);
  const out = new Float32Array(width * height * 3);
  const scale = 1 / maxValue;
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    if (channels <= 2) {
      const v = data[s] * scale;
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v;
    } else {
      out[3 * i] = data[s] * scale;
      out[3 * i + 1] = data[s + 1] * scale;
      out[3 * i + 2] = data[s + 2] * scale;
    }
  }
  return { data: out, width, height };
}

/** Decodes a PNG, JPEG, TIFF or binary PPM/PGM photo (by its signature) to an SrgbImage. */
export async function decodePhoto(bytes: Uint8Array, name: string): Promise<SrgbImage> {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) {
    const png = await decodePng(bytes, name);
    return toSrgbImage(png.data, png.width, png.height, png.channels, png.bitDepth === 16 ? 65535 : 255);
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const j = decodeJpeg(bytes, name);
    return toSrgbImage(j.data, j.width, j.height, j.channels, 255);
  }
  const tiffMagic = (bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d);
  if (tiffMagic) {
    const t = readTiffRgb8(bytes, name);
    return toSrgbImage(t.data, t.width, t.height, t.channels, 255);
  }
  if (bytes[0] === 0x50 && (bytes[1] === 0x36 || bytes[1] === 0x35)) {
    const p = decodeNetpbm(bytes, name);
    return toSrgbImage(p.data, p.width, p.height, p.channels, p.maxval);
  }
  throw new Error(`${name}: not a PNG, JPEG, TIFF or binary PPM/PGM file; photos must be PNG, JPEG, 8-bit TIFF or P6/P5 Netpbm`);
}

import { decodePng } from '../io/png.js';
import { readTiffRgb8 } from '../raw/tiff-rgb-reader.js';
import type { SrgbImage } from '../raw/synth-batch.js';
import { ConfigError } from '../io/config-check.js';

/**
 * The natural photos that synthesis starts from: the list in datasets/photos.json (which files, from where, under
 * which licence, train/eval split) and decoding of its PNG and TIFF files to SrgbImage. Platform-free; the file
 * reading lives in src/node/load-photos.ts.
 */
export type PhotoSplit = 'train' | 'eval';

export interface PhotoEntry {
  package: string;
  file: string;
  license: string;
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
      if (/[\\/]/.test(e.file) || e.file.startsWith('.') || e.file === '') throw bad(`${split}[${i}]`, `file "${e.file}" must be a plain file name`);
    });
  }
  const names = new Set(o.train!.map((e) => e.file));
  const shared = o.eval!.filter((e) => names.has(e.file));
  if (shared.length) throw bad('', `${shared.map((e) => e.file).join(', ')} appear(s) in both train and eval`);
  return { sources: o.sources, train: o.train!, eval: o.eval! };
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

/** Decodes a PNG or TIFF photo (by its signature) to an SrgbImage. */
export async function decodePhoto(bytes: Uint8Array, name: string): Promise<SrgbImage> {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) {
    const png = await decodePng(bytes, name);
    return toSrgbImage(png.data, png.width, png.height, png.channels, png.bitDepth === 16 ? 65535 : 255);
  }
  const tiffMagic = (bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d);
  if (tiffMagic) {
    const t = readTiffRgb8(bytes, name);
    return toSrgbImage(t.data, t.width, t.height, t.channels, 255);
  }
  throw new Error(`${name}: neither a PNG nor a TIFF file; photos must be PNG or 8-bit TIFF`);
}

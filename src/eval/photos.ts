import { decodePng } from '../io/png.js';
import { decodeNetpbm } from '../io/pgm.js';
import { decodeJpeg } from '../io/jpeg.js';
import { readTiffRgb8 } from '../raw/tiff-rgb-reader.js';
import type { SrgbImage } from '../raw/synth-batch.js';
import { ConfigError } from '../io/config-check.js';

/**
 * The natural photos that synthesis starts from: the list in datasets/photos.json (which files, from which Debian
 * package, under which licence, in which split) and decoding of its PNG, JPEG, TIFF and Netpbm files to SrgbImage.
 * Platform-free; the file reading lives in src/node/load-photos.ts, the fetching in scripts/fetch-photos.ts.
 */
export type PhotoSplit = 'train' | 'validation' | 'test';
export const PHOTO_SPLITS: readonly PhotoSplit[] = ['train', 'validation', 'test'];

export interface PhotoEntry {
  package: string;
  /** Where the file is inside the package, relative to its root (usr/share/…). */
  path: string;
  /** The name it is stored under in data/photos/<split>/; unique over all splits. */
  file: string;
  license: string;
  author?: string;
  /** Files that show one scene (a stereo pair, a re-crop) share a scene; scenes never cross splits. Default: `file` without its extension. */
  scene?: string;
  /** Store the mean of each N×N block (src/eval/downscale.ts) as a PNG, for large wallpapers; `file` must end in .png. */
  downscale?: number;
  /**
   * Set when the package holds the pixels in another container: scripts/fetch-photos.ts unpacks `path` into a
   * binary PPM named `file`. The one format so far is SciPy's face.dat (bzip2-compressed raw 8-bit RGB rows).
   */
  unpack?: PhotoUnpack;
}

export interface PhotoUnpack {
  format: 'bzip2-rgb8';
  width: number;
  height: number;
}

export interface PhotoList {
  /** Package → why it was taken or left (datasets/photos.json's record of what was looked at). */
  packagesReviewed: Record<string, string>;
  train: PhotoEntry[];
  validation: PhotoEntry[];
  test: PhotoEntry[];
}

export interface NamedPhoto {
  name: string;
  license: string;
  image: SrgbImage;
}

/** Downscale factors past this would leave wallpapers smaller than the crops training takes. */
export const MAX_DOWNSCALE = 16;

/** The scene an entry shows: its "scene", or its file name without the extension. */
export function photoScene(e: PhotoEntry): string {
  return e.scene ?? e.file.replace(/\.[^.]*$/, '');
}

/** Validates the parsed JSON of datasets/photos.json; a bad list fails with a ConfigError naming the entry. */
export function parsePhotoList(json: unknown, name = 'photos.json'): PhotoList {
  const bad = (field: string, why: string) =>
    new ConfigError(name, field, `${why}; expected { packagesReviewed: {package: why}, train: [{package, path, file, license, scene?, downscale?}], validation: [...], test: [...] }`);
  const o = json as Partial<PhotoList> & { eval?: unknown } | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad('', 'is not an object');
  if (o.eval !== undefined) throw bad('eval', 'the "eval" split is now "validation" (for choosing settings) and "test" (for reporting)');
  const reviewed = o.packagesReviewed;
  if (!reviewed || typeof reviewed !== 'object' || Array.isArray(reviewed)) throw bad('packagesReviewed', 'is not an object of package: why taken or left');
  for (const [pkg, why] of Object.entries(reviewed)) if (typeof why !== 'string' || !why) throw bad(`packagesReviewed.${pkg}`, 'must say why the package was taken or left');
  const fileSplit = new Map<string, string>(), sceneSplit = new Map<string, PhotoSplit>();
  for (const split of PHOTO_SPLITS) {
    const list = o[split];
    if (!Array.isArray(list)) throw bad(split, 'is not a list');
    list.forEach((e: Partial<PhotoEntry> | null, i) => {
      const at = `${split}[${i}]`;
      if (!e || typeof e !== 'object' || typeof e.file !== 'string' || typeof e.package !== 'string' || typeof e.path !== 'string' || typeof e.license !== 'string') {
        throw bad(at, 'needs "package", "path", "file" and "license" strings');
      }
      if (!isPlainFileName(e.file)) throw bad(at, `file "${e.file}" must be a plain file name`);
      if (!isPackagePath(e.path)) throw bad(at, `path "${e.path}" must be a relative path inside the package (usr/share/…), without "." or ".." parts`);
      if (!(e.package in reviewed)) throw bad(at, `package "${e.package}" is not in packagesReviewed; say there why it was taken`);
      for (const k of ['scene', 'author'] as const) if (e[k] !== undefined && (typeof e[k] !== 'string' || !e[k])) throw bad(at, `"${k}" must be a non-empty string`);
      if (e.downscale !== undefined) {
        if (!Number.isInteger(e.downscale) || e.downscale < 2 || e.downscale > MAX_DOWNSCALE) throw bad(`${at}.downscale`, `must be an integer from 2 to ${MAX_DOWNSCALE}, got ${JSON.stringify(e.downscale)}`);
        if (!e.file.endsWith('.png')) throw bad(`${at}.downscale`, `a downscaled photo is stored as a PNG, so the entry's file must end in .png (not "${e.file}")`);
        if (e.unpack !== undefined) throw bad(`${at}.downscale`, 'cannot be combined with "unpack"');
      }
      if (e.unpack !== undefined) checkUnpack(e.unpack, e.file, (why) => bad(`${at}.unpack`, why));
      const other = fileSplit.get(e.file);
      if (other) throw bad(at, `file "${e.file}" is listed twice (also in ${other}); every photo needs its own name`);
      fileSplit.set(e.file, split);
      const scene = photoScene(e as PhotoEntry), sceneAt = sceneSplit.get(scene);
      if (sceneAt && sceneAt !== split) throw bad(at, `scene "${scene}" is in both ${sceneAt} and ${split}; keep every file of a scene on one side`);
      sceneSplit.set(scene, split);
    });
  }
  return { packagesReviewed: reviewed, train: o.train!, validation: o.validation!, test: o.test! };
}

/** A name inside one folder: no path separators, not hidden, not empty. */
function isPlainFileName(f: string): boolean {
  return f !== '' && !f.startsWith('.') && !/[\\/]/.test(f);
}

function isPackagePath(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

function checkUnpack(u: Partial<PhotoUnpack> | null, file: string, bad: (why: string) => Error): void {
  if (!u || typeof u !== 'object') throw bad('needs "format", "width" and "height"');
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

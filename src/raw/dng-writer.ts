// Writes a mosaic as an uncompressed 16-bit CFA DNG (version 1.4) that dcraw, libraw and Adobe tools
// read: one IFD holding both the image and the camera metadata.

import { encodeTiff, type TiffTag } from '../io/tiff-writer.js';
import { xyz2camFromCam2rgb } from './color-matrix.js';
import type { RawImage } from './raw-image.js';

export type DngSource = Pick<RawImage, 'width' | 'height' | 'mosaic' | 'cfaPattern' | 'blackLevel' | 'whiteLevel' | 'asShotWB' | 'cam2rgb'> &
  Partial<Pick<RawImage, 'make' | 'model' | 'orientation' | 'iso' | 'xyz2cam'>>;

const CFA_CODE: Record<string, number> = { R: 0, G: 1, B: 2 };
const D65 = 21;

export function writeDng(raw: DngSource): Uint8Array {
  const { width, height, mosaic } = raw;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`writeDng: image size ${width}x${height} is not valid`);
  }
  if (mosaic.length !== width * height) throw new RangeError(`writeDng: mosaic has ${mosaic.length} samples for ${width}x${height}`);
  const xyz2cam = raw.xyz2cam ?? xyz2camFromCam2rgb(raw.cam2rgb);
  if (!xyz2cam) throw new RangeError('writeDng: cam2rgb is singular, no ColorMatrix1 can be derived from it');
  if (!raw.asShotWB.every((x) => x > 0 && Number.isFinite(x))) throw new RangeError(`writeDng: asShotWB [${raw.asShotWB.join(', ')}] must be positive`);

  const data = new Uint8Array(mosaic.length * 2);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < mosaic.length; i++) dv.setUint16(2 * i, mosaic[i]!, true);

  const make = raw.make || 'Unknown';
  const model = raw.model || 'Unknown';
  const integralBlack = raw.blackLevel.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xffffffff);
  const tags: TiffTag[] = [
    { tag: 254, type: 'long', values: [0] },
    { tag: 256, type: 'long', values: [width] },
    { tag: 257, type: 'long', values: [height] },
    { tag: 258, type: 'short', values: [16] },
    { tag: 259, type: 'short', values: [1] },
    { tag: 262, type: 'short', values: [32803] },
    { tag: 271, type: 'ascii', values: make },
    { tag: 272, type: 'ascii', values: model },
    { tag: 274, type: 'short', values: [raw.orientation ?? 1] },
    { tag: 277, type: 'short', values: [1] },
    { tag: 278, type: 'long', values: [height] },
    { tag: 284, type: 'short', values: [1] },
    { tag: 33421, type: 'short', values: [2, 2] },
    { tag: 33422, type: 'byte', values: [...raw.cfaPattern].map((c) => CFA_CODE[c]!) },
    { tag: 50706, type: 'byte', values: [1, 4, 0, 0] },
    { tag: 50707, type: 'byte', values: [1, 1, 0, 0] },
    { tag: 50708, type: 'ascii', values: `${make} ${model}` },
    { tag: 50713, type: 'short', values: [2, 2] },
    { tag: 50714, type: integralBlack ? 'long' : 'rational', values: raw.blackLevel },
    { tag: 50717, type: 'long', values: [Math.round(raw.whiteLevel)] },
    { tag: 50721, type: 'srational', values: xyz2cam.flat() },
    { tag: 50728, type: 'rational', values: raw.asShotWB.map((m) => 1 / m) },
    { tag: 50778, type: 'short', values: [D65] },
  ];
  if (raw.iso !== undefined && raw.iso > 0 && raw.iso <= 65535) tags.push({ tag: 34855, type: 'short', values: [Math.round(raw.iso)] });
  return encodeTiff(tags, data);
}

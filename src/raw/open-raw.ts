// Opening a RAW file, whatever camera wrote it: our own decoders for DNG and Canon CR2 (bit-exact against
// dcraw, no WebAssembly), LibRaw for everything else they hand on as unsupported (other camera formats,
// non-Bayer DNGs). Corrupt DNG/CR2 files are not handed on: our reader's error says what is wrong.

import { RawFormatError, RawUnsupportedError } from './errors.js';
import { libRawAvailable, LIBRAW_VERSION, readWithLibRaw } from './libraw-reader.js';
import type { RawImage } from './raw-image.js';
import { readRaw } from './read-raw.js';

/** auto: ours where we can, else LibRaw; native: ours only; libraw: LibRaw only (to compare the two). */
export type RawReaderChoice = 'auto' | 'native' | 'libraw';

export const RAW_READERS: readonly RawReaderChoice[] = ['auto', 'native', 'libraw'];

export async function openRaw(bytes: Uint8Array, name: string, reader: RawReaderChoice = 'auto'): Promise<RawImage> {
  if (reader === 'native') return readRaw(bytes, name);
  if (reader === 'libraw') return readWithLibRaw(bytes, name);
  try {
    return readRaw(bytes, name);
  } catch (native) {
    if (!(native instanceof RawUnsupportedError)) throw native;
    if (!libRawAvailable()) throw new RawUnsupportedError(name, `${native.problem}; LibRaw, which reads other cameras' files, is not available here`);
    try {
      return await readWithLibRaw(bytes, name);
    } catch (viaLibRaw) {
      if (!(viaLibRaw instanceof RawFormatError)) throw viaLibRaw;
      throw new RawUnsupportedError(name, `${native.problem}, and ${LIBRAW_VERSION} ${viaLibRaw.problem.replace(`${LIBRAW_VERSION} `, '')}`);
    }
  }
}

/** Restoration needs a 2×2 RGB Bayer mosaic: anything else is refused, naming the sensor. */
export function assertBayer(raw: RawImage, name: string): void {
  if (raw.sensor) {
    throw new RawFormatError(name, `${raw.sensor} sensor: restoration needs a 2x2 RGB Bayer mosaic (RGGB, BGGR, GRBG or GBRG); \`rddm info\` and \`rddm decode\` read this file`);
  }
}

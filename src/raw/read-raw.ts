// Entry point for camera RAW files: sniffs the format from the bytes, never from the file name.

import { hexPrefix } from '../io/bytes.js';
import { isCr2, readCr2 } from './cr2-reader.js';
import { isDng, readDng } from './dng-reader.js';
import { RawUnsupportedError } from './errors.js';
import type { RawImage } from './raw-image.js';
import { TiffFile } from './tiff-ifd.js';

/**
 * Reads a DNG or Canon CR2 with our own decoders. `name` is only used in error messages. Throws RawFormatError;
 * RawUnsupportedError (a subclass) for a file of another format or an unsupported variant, which openRaw then
 * hands to LibRaw.
 */
export function readRaw(bytes: Uint8Array, name: string): RawImage {
  if (isCr2(bytes)) return readCr2(bytes, name);
  const tiffMagic = (bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 42) || (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[3] === 42);
  if (tiffMagic) {
    const tiff = new TiffFile(bytes, name);
    if (isDng(tiff, tiff.readIfd(tiff.firstIfd, 'IFD 0'))) return readDng(bytes, name);
    throw new RawUnsupportedError(name, `a TIFF without DNGVersion: not a DNG or CR2 file (starts with bytes ${hexPrefix(bytes)})`);
  }
  throw new RawUnsupportedError(name, `not a DNG or CR2 file (starts with bytes ${hexPrefix(bytes)})`);
}

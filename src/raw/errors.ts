import { FormatError } from '../io/bytes.js';

/** A RAW file that cannot be read: truncated, corrupt, or a variant we do not support. */
export class RawFormatError extends FormatError {
  override name = 'RawFormatError';
}

export const rawError = (fileName: string, problem: string): RawFormatError => new RawFormatError(fileName, problem);

/**
 * A well-formed file of a kind or variant our own readers do not decode (another camera format, a non-Bayer
 * DNG, an unsupported compression): openRaw hands such files to LibRaw instead of failing.
 */
export class RawUnsupportedError extends RawFormatError {
  override name = 'RawUnsupportedError';
}

import { FormatError } from '../io/bytes.js';

/** A RAW file that cannot be read: truncated, corrupt, or a variant we do not support. */
export class RawFormatError extends FormatError {
  override name = 'RawFormatError';
}

export const rawError = (fileName: string, problem: string): RawFormatError => new RawFormatError(fileName, problem);

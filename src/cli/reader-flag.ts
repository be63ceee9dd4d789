import { UsageError } from './command.js';
import { RAW_READERS, type RawReaderChoice } from '../raw/open-raw.js';

/** The --reader flag of info / decode / restore, checked: auto (default), native or libraw. */
export function readerFlag(value: unknown): RawReaderChoice {
  const v = value === undefined ? 'auto' : String(value);
  if (!(RAW_READERS as readonly string[]).includes(v)) throw new UsageError(`--reader must be ${RAW_READERS.join(', ')}; got '${v}'`);
  return v as RawReaderChoice;
}

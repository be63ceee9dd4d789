// Turns whatever went wrong into one specific message for the page, and a kind the page (and its tests) can key on.
import { DeviceLostError } from '../src/index.js';
import { peekDevice } from '../runtime/index.js';
import { FormatError } from '../src/io/bytes.js';
import { RawUnsupportedError } from '../src/raw/errors.js';
import { WeightsError } from './weights-loader.js';

export type ProblemKind = 'not-raw' | 'corrupt-raw' | 'no-webgpu' | 'no-adapter' | 'device-lost' | 'weights' | 'settings' | 'failed';

export interface Problem {
  kind: ProblemKind;
  message: string;
}

const text = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * `doing` names the action ("restoring photo.dng"). A device loss surfaces as whatever the next GPU call hits
 * (a failed map, a validation error), and the loss itself is reported on a promise, so we give it a turn to land.
 */
export async function describeProblem(e: unknown, doing: string): Promise<Problem> {
  await new Promise((r) => setTimeout(r, 0));
  const lost = peekDevice()?.lostReason;
  if (e instanceof DeviceLostError || lost) {
    return {
      kind: 'device-lost',
      message: `The GPU device was lost while ${doing}${lost ? ` (${lost})` : ''}. The page will ask for a new device and reload the weights: press the button again.`,
    };
  }
  if (e instanceof FormatError) {
    // A file that is not TIFF-based at all is a different mistake from a RAW file that is damaged.
    if (e instanceof RawUnsupportedError || /not a DNG or CR2 file/.test(e.message)) {
      return { kind: 'not-raw', message: `This is not a RAW file the page can read: ${e.message}. Open a camera RAW file (DNG, CR2, NEF, ARW, CR3, RAF, RW2, ORF, …).` };
    }
    return { kind: 'corrupt-raw', message: `The RAW file is damaged or truncated: ${e.message}.` };
  }
  // Our readers throw FormatError for every problem they check; anything else while reading is still a bad file.
  if (doing.startsWith('reading')) return { kind: 'corrupt-raw', message: `The RAW file is damaged or truncated: ${text(e)}.` };
  if (e instanceof WeightsError || /sha256|manifest/.test(text(e))) return { kind: 'weights', message: `Loading the weights failed: ${text(e)}` };
  if (e instanceof RangeError && doing.startsWith('training')) return { kind: 'settings', message: `Training settings: ${text(e)}` };
  return { kind: 'failed', message: `Something failed while ${doing}: ${text(e)}` };
}

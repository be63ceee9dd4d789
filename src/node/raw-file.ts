// Reading a RAW file from disk for the CLI: our own readers first, LibRaw (from the installed libraw-wasm
// package) for every other camera format. `--reader` picks one explicitly.

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { openRaw, type RawReaderChoice } from '../raw/open-raw.js';
import type { RawImage } from '../raw/raw-image.js';
import { useNodeLibRaw } from './libraw-node.js';

useNodeLibRaw();

export async function readRawFile(path: string, reader: RawReaderChoice = 'auto'): Promise<RawImage> {
  return openRaw(new Uint8Array(await readFile(path)), basename(path), reader);
}

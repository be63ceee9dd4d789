// Bounded fuzzing of openRaw where it hands files to LibRaw: mutated X-Trans and monochrome DNGs, headerless
// AVT dumps (which LibRaw identifies by size alone), and random bytes. Every case must give a well-formed
// RawImage or a RawFormatError naming the file, within test/helpers/fuzz.ts's time bound. LibRaw works inside its
// own WebAssembly memory (grown up to 2 GiB at most, never past its max_raw_memory_mb); the allocation bound here
// covers what we copy out of it: the raw frame LibRaw decoded and our crop of it.

import { beforeAll, describe, expect, it } from 'vitest';
import { useNodeLibRaw } from '../../src/node/libraw-node.js';
import { RawFormatError } from '../../src/raw/errors.js';
import { openRaw } from '../../src/raw/open-raw.js';
import { BAYER_PATTERNS } from '../../src/raw/bayer-pattern.js';
import type { RawImage } from '../../src/raw/raw-image.js';
import { buildDng } from '../helpers/dng-builder.js';
import { fuzzCount, mutants, randomInputs, runFuzz, tiffEntryMutants, type FuzzTarget } from '../helpers/fuzz.js';
import { avtF080c, syntheticMosaic } from '../helpers/test-raw.js';

beforeAll(() => useNodeLibRaw());

function checkWellFormed(r: RawImage): void {
  expect(Number.isInteger(r.width) && r.width > 0 && Number.isInteger(r.height) && r.height > 0).toBe(true);
  expect(r.mosaic).toBeInstanceOf(Uint16Array);
  expect(r.mosaic.length).toBe(r.width * r.height);
  expect(BAYER_PATTERNS).toContain(r.cfaPattern);
  expect([...r.blackLevel, r.whiteLevel, ...r.asShotWB, ...r.cam2rgb.flat()].every(Number.isFinite)).toBe(true);
  expect(r.orientation >= 1 && r.orientation <= 8).toBe(true);
  expect(['dng', 'cr2', 'raw']).toContain(r.format);
}

const target: FuzzTarget<RawImage> = {
  name: 'openRaw via LibRaw',
  parse: (bytes) => openRaw(bytes, 'fuzz.raw'),
  errors: [RawFormatError],
  check: checkWellFormed,
  checkError: (e) => expect(e.message.startsWith('fuzz.raw: ')).toBe(true),
  // The raw frame LibRaw hands back (at most its 2 GiB memory, in practice a few times the file) and our crop.
  allocationBound: (n) => 64 * n + (32 << 20),
  caseLimitMs: 5000,
};

describe('openRaw fuzzing through LibRaw', () => {
  it('survives mutations of X-Trans and monochrome DNGs (read by LibRaw only)', async () => {
    const xtrans = buildDng(syntheticMosaic(36, 24, 12, 1), 36, 24, { compression: 1, bits: 16, sensor: 'x-trans' });
    const mono = buildDng(syntheticMosaic(40, 30, 12, 2), 40, 30, { tile: [16, 16], compression: 7, bits: 12, sensor: 'monochrome' });
    const n = fuzzCount(60);
    for (const [k, [name, file]] of ([['X-Trans DNG', xtrans], ['monochrome DNG', mono]] as const).entries()) {
      const s = await runFuzz({ ...target, name: `openRaw ${name}` }, [{ bytes: file, label: 'unmutated' }, ...mutants(file, n, 61 + k), ...tiffEntryMutants(file, n, 71 + k)]);
      expect(s.ok).toBeGreaterThan(0);
      expect(s.rejected).toBeGreaterThan(0);
    }
  }, 300_000);

  it('survives mutations of a headerless AVT dump and random bytes', async () => {
    const avt = avtF080c();
    const s = await runFuzz({ ...target, name: 'openRaw AVT dump' }, [{ bytes: avt, label: 'unmutated' }, ...mutants(avt, fuzzCount(30), 81)]);
    expect(s.ok).toBeGreaterThan(0);
    const r = await runFuzz({ ...target, name: 'openRaw random bytes' }, randomInputs(fuzzCount(60), 83, 4000, [[0x49, 0x49, 42, 0], [0x4d, 0x4d, 0, 42], [0x46, 0x55, 0x4a, 0x49], [0x49, 0x49, 0x55, 0]]));
    expect(r.cases).toBeGreaterThan(0);
  }, 300_000);
});

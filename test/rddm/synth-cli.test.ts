// `rddm synth`: photos in, DNG + linear TIFF + metadata out, readable by our reader (and by dcraw where installed).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { init } from '../../src/index.js';
import { synth, SYNTH_SENSOR } from '../../src/cli/commands/synth.js';
import { UsageError } from '../../src/cli/command.js';
import { encodePng } from '../../src/io/png.js';
import { readRaw } from '../../src/raw/read-raw.js';

const dir = mkdtempSync(join(tmpdir(), 'rddm-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  await init();
  mkdirSync(join(dir, 'in'));
  // A smooth colour ramp as the "photo".
  const w = 40, h = 36;
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set([(x * 6) % 256, (y * 7) % 256, 128], (y * w + x) * 3);
  writeFileSync(join(dir, 'in', 'ramp.png'), await encodePng({ width: w, height: h, channels: 3, bitDepth: 8, data: px }));
});

describe('rddm synth', () => {
  it('writes one DNG / linear TIFF / JSON triple per photo and pattern; the DNG reads back with its pattern and levels', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const code = await synth.run(['--in', join(dir, 'in'), '--out', join(dir, 'out'), '--patterns', 'GRBG,BGGR', '--crop', '16', '--seed', '3']);
      expect(code).toBe(0);
    } finally {
      err.mockRestore();
      log.mockRestore();
    }
    const files = readdirSync(join(dir, 'out')).sort();
    expect(files).toEqual(['ramp-BGGR-0-hq.tiff', 'ramp-BGGR-0.dng', 'ramp-BGGR-0.json', 'ramp-GRBG-0-hq.tiff', 'ramp-GRBG-0.dng', 'ramp-GRBG-0.json']);
    for (const p of ['GRBG', 'BGGR'] as const) {
      const raw = readRaw(new Uint8Array(readFileSync(join(dir, 'out', `ramp-${p}-0.dng`))), p);
      expect([raw.width, raw.height, raw.cfaPattern, raw.whiteLevel]).toEqual([16, 16, p, SYNTH_SENSOR.whiteLevel]);
      expect(raw.blackLevel).toEqual([512, 512, 512, 512]);
      // Codes sit between black-ish (noise can dip below) and white.
      expect(Math.max(...raw.mosaic)).toBeLessThanOrEqual(SYNTH_SENSOR.whiteLevel);
      const meta = JSON.parse(readFileSync(join(dir, 'out', `ramp-${p}-0.json`), 'utf8'));
      expect(meta.pattern).toBe(p);
      expect(meta.wbGains).toHaveLength(3);
      expect(raw.asShotWB[0]).toBeCloseTo(meta.wbGains[0] / meta.wbGains[1], 3);
    }
  });

  it('rejects bad arguments with usage errors', async () => {
    await expect(synth.run(['--in', dir])).rejects.toThrow(UsageError);
    await expect(synth.run(['--in', dir, '--out', dir, '--patterns', 'RGBG'])).rejects.toThrow(/unknown Bayer pattern 'RGBG'/);
    await expect(synth.run(['--in', dir, '--out', dir, '--crop', '15'])).rejects.toThrow(/even integer/);
  });
});

// The real Canon EOS 30D CR2 against the reference decoders: dcraw for the mosaic and levels,
// raw-identify (libraw) for the metadata.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePgm, encodePgm16 } from '../../src/io/pgm.js';
import { RawFormatError } from '../../src/raw/errors.js';
import type { RawImage } from '../../src/raw/raw-image.js';
import { readRaw } from '../../src/raw/read-raw.js';
import { firstMismatch, runTool, testRawPath } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';
import { needInSuite } from '../helpers/need-in-suite.js';

describe('Canon CR2 (IMG_5952.CR2, EOS 30D)', () => {
  const have = needInSuite('data/test-raw/IMG_5952.CR2');
  let path: string;
  let bytes: Uint8Array;
  let raw: RawImage;
  let cpuMs = 0;

  beforeAll(() => {
    if (!have) return;
    path = testRawPath();
    bytes = new Uint8Array(readFileSync(path));
    readRaw(bytes, 'IMG_5952.CR2'); // warm up the JIT
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    raw = readRaw(bytes, 'IMG_5952.CR2');
    const c = process.cpuUsage(c0);
    cpuMs = (c.user + c.system) / 1000;
    console.log(`[cr2] ${raw.width}x${raw.height} read in ${cpuMs.toFixed(0)} ms CPU, ${(performance.now() - t0).toFixed(0)} ms wall`);
  });

  it('reads the file in under 1.5 s of CPU, with no warnings', () => {
    expect(raw.format).toBe('cr2');
    expect(raw.warnings).toEqual([]);
    expect(raw.mosaic.length).toBe(raw.width * raw.height);
    expect(cpuMs).toBeLessThan(1500);
  });

  it('mosaic is bit-exact against dcraw -D -4, and our PGM is byte-identical', () => {
    need('dcraw');
    const ref = runTool('dcraw', ['-D', '-4', '-c', path!]);
    const pgm = decodePgm(new Uint8Array(ref), 'dcraw output');
    expect([raw.width, raw.height]).toEqual([pgm.width, pgm.height]);
    expect(firstMismatch(raw.mosaic, pgm.data)).toBe(-1);
    const ours = encodePgm16(raw.width, raw.height, raw.mosaic);
    expect(firstMismatch(ours, ref)).toBe(-1);
  });

  it('size, pattern, camera multipliers and levels match dcraw', () => {
    need('dcraw');
    const info = runTool('dcraw', ['-i', '-v', path!]).toString();
    expect(info).toContain(`Image size:  ${raw.width} x ${raw.height}`);
    expect(info).toContain(`Filter pattern: ${raw.cfaPattern.slice(0, 2)}/${raw.cfaPattern.slice(2)}`);
    const mul = /Camera multipliers: ([\d.]+) ([\d.]+) ([\d.]+)/.exec(info)!.slice(1).map(Number);
    expect(raw.asShotWB[0]).toBeCloseTo(mul[0]! / mul[1]!, 6);
    expect(raw.asShotWB[2]).toBeCloseTo(mul[2]! / mul[1]!, 6);
    // dcraw reports the smallest per-channel black as "darkness" (the rest stays per channel).
    const run = spawnSync('dcraw', ['-v', '-h', '-c', path!], { maxBuffer: 1 << 28 });
    const [, darkness, saturation] = /darkness (\d+), saturation (\d+)/.exec(run.stderr.toString())!;
    expect(Math.min(...raw.blackLevel)).toBe(Number(darkness));
    expect(raw.whiteLevel).toBe(Number(saturation));
  });

  it('metadata matches raw-identify -v', () => {
    need('raw-identify');
    const info = runTool('raw-identify', ['-v', path!]).toString();
    const print = {
      make: raw.make,
      model: raw.model,
      width: raw.width,
      height: raw.height,
      cfaPattern: raw.cfaPattern,
      blackLevel: raw.blackLevel,
      whiteLevel: raw.whiteLevel,
      asShotWB: raw.asShotWB,
      iso: raw.iso,
    };
    console.log('[cr2] ours:', JSON.stringify(print));
    console.log('[cr2] raw-identify:', info.split('\n').filter((l) => /Image size|Filter pattern|ChannelBlack|As shot|ISO speed|Camera:/.test(l)).join(' | '));
    expect(info).toContain(`Camera: ${raw.make} ${raw.model}`);
    expect(info).toContain(`Image size:  ${raw.width} x ${raw.height}`);
    expect(info).toContain(`Filter pattern: ${raw.cfaPattern.repeat(4)}`);
    expect(info).toContain(`ISO speed: ${raw.iso}`);
    const wb = /As shot\s+(\d+) (\d+) (\d+) (\d+)/.exec(info)!.slice(1).map(Number);
    expect(raw.asShotWB).toEqual([wb[0]! / wb[1]!, 1, wb[2]! / wb[1]!]);
    // libraw measures black on the masked border for this camera (as we do); the maker note's per-channel
    // values it prints (R G B G2) differ from that measurement by at most 1.
    const [r, g, b, g2] = /ChannelBlackLevel: (\d+) (\d+) (\d+) (\d+)/.exec(info)!.slice(1).map(Number) as [number, number, number, number];
    [r, g, g2, b].forEach((v, k) => expect(Math.abs(raw.blackLevel[k]! - v)).toBeLessThanOrEqual(1));
    const lines = info.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Camera2RGB matrix'));
    const cam2rgb = lines.slice(at + 1, at + 4).map((l) => l.trim().split(/\s+/).map(Number));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(Math.abs(raw.cam2rgb[i]![j]! - cam2rgb[i]![j]!)).toBeLessThan(2e-4);
  });

  it('active area and black level follow libraw: 74/12 crop, floor of the masked-column means', () => {
    expect([raw.width, raw.height, raw.cfaPattern, raw.bitDepth, raw.orientation]).toEqual([3522, 2348, 'RGGB', 12, 1]);
    expect(raw.blackLevel).toEqual([128, 128, 127, 128]);
    expect(raw.asShotWB.map((x) => +x.toFixed(4))).toEqual([2.1738, 1, 1.4502]);
  });

  it('errors name the file and the problem', () => {
    const cut = bytes.subarray(0, 80_000); // headers intact, raw data gone
    expect(() => readRaw(cut, 'IMG.CR2')).toThrow(RawFormatError);
    expect(() => readRaw(cut, 'IMG.CR2')).toThrow(/^IMG\.CR2: raw data of IFD 3 at offset 751441 .* points past the end of the file \(size 80000\)/);
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0);
    expect(() => readRaw(png, 'photo.png')).toThrow('photo.png: not a DNG or CR2 file (starts with bytes 89 50 4e 47 0d 0a 1a 0a …)');
  });
});

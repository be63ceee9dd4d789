import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { inputFile, parseArgs, UsageError, type Command } from '../command.js';
import { readRaw } from '../../raw/read-raw.js';
import type { RawImage } from '../../raw/raw-image.js';

/** The metadata `rddm info` reports (everything but the pixels). */
export function rawInfo(raw: RawImage) {
  const { make, model, width, height, cfaPattern, blackLevel, whiteLevel, asShotWB, cam2rgb, bitDepth, orientation, iso, format, warnings } = raw;
  return { format, make, model, width, height, cfaPattern, blackLevel, whiteLevel, asShotWB, cam2rgb, bitDepth, orientation, iso, warnings };
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(4));

export const info: Command = {
  name: 'info',
  summary: 'print a RAW file’s size, CFA pattern, levels, white balance and colour matrix',
  usage: 'usage: rddm info FILE.{dng,cr2} [--json]',
  async run(args) {
    const { flags, positionals } = parseArgs(args, { boolean: ['json'] });
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const path = positionals[0]!;
    inputFile(path, 'RAW file');
    const raw = readRaw(new Uint8Array(await readFile(path)), basename(path));
    const meta = rawInfo(raw);
    if (flags.json) {
      // Number arrays on one line: a 3x3 matrix reads as three rows.
      console.log(JSON.stringify(meta, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_m, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`));
      return 0;
    }
    const rows: [string, string][] = [
      ['file', `${path} (${meta.format.toUpperCase()})`],
      ['camera', `${meta.make} ${meta.model}`],
      ['active area', `${meta.width} x ${meta.height}`],
      ['CFA pattern', meta.cfaPattern],
      ['bit depth', String(meta.bitDepth)],
      ['black level', meta.blackLevel.map(fmt).join(' ')],
      ['white level', fmt(meta.whiteLevel)],
      ['as-shot WB', meta.asShotWB.map(fmt).join(' ')],
      ...meta.cam2rgb.map((r, i): [string, string] => [i === 0 ? 'cam2rgb' : '', r.map((x) => fmt(x).padStart(8)).join(' ')]),
      ['orientation', String(meta.orientation)],
      ['ISO', meta.iso === undefined ? '-' : String(meta.iso)],
      ...meta.warnings.map((w): [string, string] => ['warning', w]),
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(12)} ${v}`);
    return 0;
  },
};

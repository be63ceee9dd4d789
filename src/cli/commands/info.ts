import { inputFile, parseArgs, UsageError, type Command } from '../command.js';
import type { RawImage } from '../../raw/raw-image.js';
import { readRawFile } from '../../node/raw-file.js';
import { readerFlag } from '../reader-flag.js';

/** The metadata `rddm info` reports (everything but the pixels). */
export function rawInfo(raw: RawImage) {
  const { make, model, width, height, cfaPattern, blackLevel, whiteLevel, asShotWB, cam2rgb, bitDepth, orientation, iso, format, warnings } = raw;
  // A non-Bayer sensor has no 2x2 pattern: `sensor` names it instead.
  const layout = raw.sensor ? { sensor: raw.sensor } : { cfaPattern };
  return { format, reader: raw.reader ?? 'rddm', make, model, width, height, ...layout, ...(raw.defaultCrop ? { defaultCrop: raw.defaultCrop } : {}), blackLevel, whiteLevel, asShotWB, cam2rgb, bitDepth, orientation, iso, warnings };
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(4));

export const info: Command = {
  name: 'info',
  summary: 'print a RAW file’s size, CFA pattern, levels, white balance and colour matrix',
  usage: `usage: rddm info FILE [--json] [--reader auto|native|libraw]
  FILE is any camera RAW: DNG and Canon CR2 are read by rddm's own decoders, other formats (NEF, ARW, CR3, RAF,
  RW2, ORF, PEF, SRW, ...) and non-Bayer DNGs through LibRaw. --reader native|libraw picks one decoder.`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { boolean: ['json'], string: ['reader'] });
    const reader = readerFlag(flags.reader);
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const path = positionals[0]!;
    inputFile(path, 'RAW file');
    const raw = await readRawFile(path, reader);
    const meta = rawInfo(raw);
    if (flags.json) {
      // Number arrays on one line: a 3x3 matrix reads as three rows.
      console.log(JSON.stringify(meta, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_m, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`));
      return 0;
    }
    const rows: [string, string][] = [
      ['file', `${path} (${meta.format.toUpperCase()}, read by ${meta.reader === 'libraw' ? 'LibRaw' : 'rddm'})`],
      ['camera', `${meta.make} ${meta.model}`],
      ['active area', `${meta.width} x ${meta.height}`],
      ...(meta.defaultCrop ? [['default crop', `${meta.defaultCrop.width} x ${meta.defaultCrop.height} at (${meta.defaultCrop.left}, ${meta.defaultCrop.top})`] as [string, string]] : []),
      meta.sensor ? ['sensor', `${meta.sensor} (not a Bayer mosaic: rddm restore refuses it)`] : ['CFA pattern', meta.cfaPattern ?? ''],
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

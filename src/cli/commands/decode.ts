import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { inputFile, outputPath, parseArgs, UsageError, type Command } from '../command.js';
import { readRaw } from '../../raw/read-raw.js';
import { encodePgm16 } from '../../io/pgm.js';
import { writeFileAtomic } from '../../node/atomic-write.js';

export const decode: Command = {
  name: 'decode',
  summary: 'write a RAW file’s CFA mosaic as a 16-bit PGM (like dcraw -D -4)',
  usage: 'usage: rddm decode FILE.{dng,cr2} -o MOSAIC.pgm',
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['o'] });
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const out = flags.o;
    if (typeof out !== 'string' || out === '') throw new UsageError('missing -o MOSAIC.pgm');
    const path = positionals[0]!;
    inputFile(path, 'RAW file');
    outputPath(out, '-o');
    const raw = readRaw(new Uint8Array(await readFile(path)), basename(path));
    for (const w of raw.warnings) console.error(`rddm decode: warning: ${w}`);
    await writeFileAtomic(out, encodePgm16(raw.width, raw.height, raw.mosaic));
    console.error(`wrote ${out}: ${raw.width}x${raw.height} ${raw.cfaPattern} mosaic, black ${raw.blackLevel.join('/')}, white ${raw.whiteLevel}`);
    return 0;
  },
};

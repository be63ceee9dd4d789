import { inputFile, outputPath, parseArgs, UsageError, type Command } from '../command.js';
import { readRawFile } from '../../node/raw-file.js';
import { readerFlag } from '../reader-flag.js';
import { encodePgm16, encodePpm16 } from '../../io/pgm.js';
import { writeFileAtomic } from '../../node/atomic-write.js';

export const decode: Command = {
  name: 'decode',
  summary: 'write a RAW file’s CFA mosaic as a 16-bit PGM (like dcraw -D -4)',
  usage: `usage: rddm decode FILE -o MOSAIC.pgm [--reader auto|native|libraw]
  The sensor's samples over the active area, as dcraw -D -4 writes them (a 16-bit PGM; a 16-bit PPM for a
  LinearRaw RGB DNG). FILE is any camera RAW (see rddm info).`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['o', 'reader'] });
    const reader = readerFlag(flags.reader);
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const out = flags.o;
    if (typeof out !== 'string' || out === '') throw new UsageError('missing -o MOSAIC.pgm');
    const path = positionals[0]!;
    inputFile(path, 'RAW file');
    outputPath(out, '-o');
    const raw = await readRawFile(path, reader);
    for (const w of raw.warnings) console.error(`rddm decode: warning: ${w}`);
    // A LinearRaw DNG holds three colours per pixel: a 16-bit PPM then, as dcraw -D -4 writes.
    await writeFileAtomic(out, raw.sensor === 'linear RGB' ? encodePpm16(raw.width, raw.height, raw.mosaic) : encodePgm16(raw.width, raw.height, raw.mosaic));
    console.error(`wrote ${out}: ${raw.width}x${raw.height} ${raw.sensor ?? raw.cfaPattern} mosaic, black ${raw.blackLevel.join('/')}, white ${raw.whiteLevel}`);
    return 0;
  },
};

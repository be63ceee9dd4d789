import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/io/jpeg.js';
import { decodeNetpbm } from '../../src/io/pgm.js';
import { decodePhoto } from '../../src/eval/photos.js';
import { FormatError } from '../../src/io/bytes.js';
import { runTool, seededInts } from '../helpers/test-raw.js';
import { needInSuite } from '../helpers/need-in-suite.js';

// libjpeg-turbo's cjpeg writes the files and its djpeg is the reference decode (`.ci/run` installs
// libjpeg-turbo-progs); our IDCT is float and libjpeg's integer, so samples may differ by a few levels.
const dir = mkdtempSync(join(tmpdir(), 'rddm-jpeg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An odd-sized RGB test card (partial MCUs on both edges): smooth ramps, fine stripes, a hard edge and noise. */
function testCard(w: number, h: number): Uint8Array {
  const rnd = seededInts(5);
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const edge = x > w / 2 && y > h / 3 ? 60 : 0;
      const v = [
        (255 * x) / w,
        128 + 90 * Math.sin(x / 3 + y / 5),
        (255 * y) / h - edge + 20 * Math.sin(x * 1.7),
      ];
      for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v[c]! + rnd(21) - 10)));
    }
  }
  return px;
}

const W = 83, H = 61;
const card = testCard(W, H);
const ppmPath = join(dir, 'card.ppm');
writeFileSync(ppmPath, Buffer.concat([Buffer.from(`P6\n${W} ${H}\n255\n`), card]));

function cjpeg(label: string, args: string[]): Uint8Array {
  const out = join(dir, `${label}.jpg`);
  runTool('cjpeg', [...args, '-outfile', out, ppmPath]);
  return new Uint8Array(readFileSync(out));
}

function compareWithDjpeg(jpg: Uint8Array, fancy: boolean): { max: number; mean: number } {
  const path = join(dir, 'cmp.jpg');
  writeFileSync(path, jpg);
  const ref = decodeNetpbm(new Uint8Array(runTool('djpeg', [...(fancy ? [] : ['-nosmooth']), '-pnm', path])));
  const img = decodeJpeg(jpg, 'cmp.jpg', { fancyUpsampling: fancy });
  expect([img.width, img.height, img.channels]).toEqual([ref.width, ref.height, ref.channels]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < img.data.length; i++) {
    const d = Math.abs(img.data[i]! - ref.data[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / img.data.length };
}

describe('decodeJpeg against libjpeg-turbo (cjpeg writes, djpeg is the reference)', () => {
  needInSuite('cjpeg', 'djpeg');
  const variants: [string, string[]][] = [
    ['4:2:0', ['-sample', '2x2']],
    ['4:2:2', ['-sample', '2x1']],
    ['4:4:0', ['-sample', '1x2']],
    ['4:1:1', ['-sample', '4x1']],
    ['4:4:4 quality 100', ['-sample', '1x1', '-quality', '100']],
    ['4:2:0 progressive', ['-sample', '2x2', '-progressive']],
    ['4:2:0 restart every 3 MCU rows', ['-sample', '2x2', '-restart', '3']],
    ['4:4:4 progressive, restart every 2 blocks', ['-sample', '1x1', '-progressive', '-restart', '2B']],
    ['4:2:0 optimised tables, restart every block', ['-sample', '2x2', '-optimize', '-restart', '1B']],
    ['gray progressive', ['-grayscale', '-progressive']],
    ['RGB (no colour transform)', ['-rgb']],
  ];
  for (const [label, args] of variants) {
    it(`${label}: fancy and replicated upsampling agree with djpeg`, () => {
      const jpg = cjpeg(label.replace(/\W+/g, '-'), args);
      for (const fancy of [true, false]) {
        const { max, mean } = compareWithDjpeg(jpg, fancy);
        // Float vs integer IDCT: a level or two, rarely three after colour conversion; a wrong block, table or
        // upsampling phase shows up as tens of levels.
        expect(max).toBeLessThanOrEqual(4);
        expect(mean).toBeLessThan(0.1);
      }
    });
  }

  it('a progressive file decodes to exactly the pixels of the baseline file with the same coefficients', () => {
    // cjpeg quantises identically in both modes; only the scan structure differs, so the decodes must be equal.
    const base = decodeJpeg(cjpeg('same-base', ['-sample', '2x2', '-quality', '85']), 'base.jpg');
    const prog = decodeJpeg(cjpeg('same-prog', ['-sample', '2x2', '-quality', '85', '-progressive']), 'prog.jpg');
    expect(prog.data).toEqual(base.data);
  });

  it('stays close to the source image (the decode is the picture, not just djpeg-shaped)', () => {
    const img = decodeJpeg(cjpeg('q95', ['-sample', '1x1', '-quality', '95']), 'q95.jpg');
    let se = 0;
    for (let i = 0; i < card.length; i++) se += (img.data[i]! - card[i]!) ** 2;
    const psnr = 10 * Math.log10((255 * 255) / (se / card.length));
    expect(psnr).toBeGreaterThan(32);
  });

  it('refuses arithmetic-coded and truncated files by name', () => {
    expect(() => decodeJpeg(cjpeg('arith', ['-arithmetic']), 'arith.jpg')).toThrow(/^arith\.jpg: arithmetic-coded sequential JPEG is not supported/);
    const jpg = cjpeg('trunc', ['-sample', '2x2']);
    expect(() => decodeJpeg(jpg.subarray(0, Math.floor(jpg.length * 0.7)), 'cut.jpg')).toThrow(FormatError);
    expect(() => decodeJpeg(jpg.subarray(0, Math.floor(jpg.length * 0.7)), 'cut.jpg')).toThrow(/^cut\.jpg: .*truncated/);
    const prog = cjpeg('trunc-prog', ['-progressive']);
    expect(() => decodeJpeg(prog.subarray(0, prog.length - 40), 'cut-prog.jpg')).toThrow(/^cut-prog\.jpg: /);
  });

  it('is what decodePhoto reads for a JPEG photo', async () => {
    const jpg = cjpeg('photo', ['-sample', '2x2']);
    const img = await decodePhoto(jpg, 'photo.jpg');
    const ref = decodeJpeg(jpg, 'photo.jpg');
    expect([img.width, img.height]).toEqual([W, H]);
    img.data.forEach((v, i) => expect(v).toBe(Math.fround(ref.data[i]! / 255)));
  });
});

describe('decodeJpeg errors without a codec', () => {
  it('names the file and the problem', () => {
    expect(() => decodeJpeg(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), 'x.png')).toThrow(/^x\.png: not a JPEG file/);
    // SOI, then a 12-bit baseline SOF0 header.
    const sof = [0xff, 0xd8, 0xff, 0xc0, 0, 11, 12, 0, 8, 0, 8, 1, 1, 0x11, 0];
    expect(() => decodeJpeg(Uint8Array.from(sof), 'deep.jpg')).toThrow(/^deep\.jpg: 12-bit samples are not supported/);
    const cmyk = [0xff, 0xd8, 0xff, 0xc0, 0, 20, 8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0];
    expect(() => decodeJpeg(Uint8Array.from(cmyk), 'cmyk.jpg')).toThrow(/CMYK is not supported/);
    // A 65535×65535 frame in a 40-byte file: refused before allocating its coefficients.
    const huge = [0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xff, 0xff, 0xff, 0xff, 1, 1, 0x11, 0, 0xff, 0xd9];
    expect(() => decodeJpeg(Uint8Array.from(huge), 'huge.jpg')).toThrow(/^huge\.jpg: a 65535x65535 frame needs more data/);
    expect(() => decodeJpeg(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), 'empty.jpg')).toThrow(/^empty\.jpg: no frame header/);
  });
});

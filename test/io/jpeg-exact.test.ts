// decodeJpeg's { idct: 'islow' } mode (libjpeg's integer IDCT and colour conversion) against djpeg: identical
// samples, for every subsampling, quality and odd size, on smooth and on noise images (whose extreme
// coefficients exercise rounding and clamping). Lossy DNG tiles rely on it to match dcraw and LibRaw.
import { describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../src/io/jpeg.js';
import { decodeNetpbm } from '../../src/io/pgm.js';
import { seededInts, syntheticMosaic } from '../helpers/test-raw.js';
import { need } from '../helpers/requirements.js';
import { execFileSync } from 'node:child_process';

describe("decodeJpeg { idct: 'islow' } equals djpeg", () => {
  it('on 4:2:0, 4:2:2, 4:4:4 and gray, qualities 20..100, odd sizes, smooth and noise images', () => {
    need('cjpeg', 'djpeg');
    let n = 0;
    for (const [w, h] of [[70, 50], [33, 17], [9, 200]] as const) {
      for (const q of ['20', '75', '100']) {
        for (const samp of [[], ['-sample', '1x1'], ['-sample', '2x1'], ['-grayscale']]) {
          for (const noise of [false, true]) {
            const r = seededInts(w + h);
            const t = noise ? Uint8Array.from({ length: w * h * 3 }, () => r(256)) : Uint8Array.from(syntheticMosaic(w * 3, h, 8, 4));
            const ppm = Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), t]);
            const jpg = new Uint8Array(execFileSync('cjpeg', ['-quality', q, '-baseline', ...samp], { input: ppm }));
            const ref = decodeNetpbm(new Uint8Array(execFileSync('djpeg', ['-pnm'], { input: jpg })));
            const ours = decodeJpeg(jpg, 'x.jpg', { idct: 'islow' });
            expect([ours.width, ours.height, ours.channels], `${w}x${h} q${q} ${samp.join(' ')}`).toEqual([ref.width, ref.height, ref.channels]);
            expect(Buffer.from(ours.data).equals(Buffer.from(Uint8Array.from(ref.data))), `${w}x${h} q${q} ${samp.join(' ')} noise ${noise}`).toBe(true);
            n++;
          }
        }
      }
    }
    expect(n).toBe(72);
  });
});

// The synchronous zlib decoder against Node's zlib on stored, fixed and dynamic blocks, and its bounds.
import { deflateRawSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateZlib, InflateError } from '../../src/io/inflate.js';
import { seededInts } from '../helpers/test-raw.js';

const rand = seededInts(7);
const inputs: [string, Uint8Array][] = [
  ['zeros', new Uint8Array(100_000)],
  ['random', Uint8Array.from({ length: 70_000 }, () => rand(256))],
  ['text', new TextEncoder().encode('a DNG tile of sensor samples '.repeat(3000))],
  ['smooth', Uint8Array.from({ length: 200_000 }, (_, i) => (Math.sin(i / 50) * 100 + rand(8)) & 255)],
  ['empty', new Uint8Array(0)],
];

describe('inflateZlib', () => {
  it.each(inputs)('%s at levels 0, 1, 6, 9 equals zlib', (_n, data) => {
    for (const level of [0, 1, 6, 9]) {
      const back = inflateZlib(deflateSync(data, { level }), data.length);
      expect(back.length).toBe(data.length);
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    }
  });

  it('never writes past the expected size, and says what is wrong with a bad stream', () => {
    const z = deflateSync(new Uint8Array(5000));
    expect(() => inflateZlib(z, 4999)).toThrow(new InflateError('inflates to more than the 4999 bytes expected'));
    expect(inflateZlib(z, 6000).length).toBe(5000);
    expect(() => inflateZlib(z.subarray(0, 6), 5000)).toThrow(InflateError);
    expect(() => inflateZlib(deflateRawSync(new Uint8Array(10)), 10)).toThrow(/no zlib header/);
    for (let seed = 0; seed < 300; seed++) {
      const r = seededInts(seed);
      const bad = deflateSync(Uint8Array.from({ length: 2000 }, () => r(4)));
      bad[2 + r(bad.length - 2)] ^= 1 << r(8);
      try {
        expect(inflateZlib(bad, 2000).length).toBeLessThanOrEqual(2000);
      } catch (e) {
        expect(e).toBeInstanceOf(InflateError);
      }
    }
  });
});

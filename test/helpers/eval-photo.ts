// A one-photo folder for `rddm eval --data` tests: an 8-bit RGB PNG drawn by `pixel`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../../src/io/png.js';

/** Writes `<dir>/photos/<name>.png` (size² pixels, `pixel(x, y)` → [r, g, b] in 0–255) and returns the folder. */
export async function writeEvalPhoto(dir: string, name: string, pixel: (x: number, y: number) => [number, number, number], size = 64): Promise<string> {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set(pixel(x, y), 3 * (y * size + x));
  const photos = join(dir, 'photos');
  mkdirSync(photos, { recursive: true });
  writeFileSync(join(photos, `${name}.png`), await encodePng({ data, width: size, height: size, channels: 3, bitDepth: 8 }));
  return photos;
}

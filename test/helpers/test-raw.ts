// Real test files fetched from Debian's archive (see scripts/fetch-test-raw.sh), the reference decoders
// installed beside them (dcraw, raw-identify from libraw-bin; see requirements.ts), and small helpers for RAW tests.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataPresent, needData } from './requirements.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
let tried = false;

/**
 * Path of a file in data/test-raw/ (IMG_5952.CR2, IMG_5952.png, kodim02-lzw.tif, kodim07-lzw.tif), running
 * scripts/fetch-test-raw.sh once per process if it is missing (npm test's preflight has normally run it already).
 * Call it inside a test: when the file cannot be had it throws, naming the fix, and the test fails.
 */
export function testDataPath(file: string): string {
  const rel = `data/test-raw/${file}`;
  if (!dataPresent(rel) && !tried && existsSync(resolve(root, 'scripts/fetch-test-raw.sh'))) {
    tried = true;
    if (!process.env.RDDM_PREFLIGHT_PRETEND_MISSING) spawnSync('sh', [resolve(root, 'scripts/fetch-test-raw.sh')], { encoding: 'utf8', timeout: 180_000 });
  }
  return needData(rel);
}

/** The real Canon EOS 30D CR2 (GPL, git-ignored, never committed); throws, naming the fix, when unavailable. */
export function testRawPath(): string {
  return testDataPath('IMG_5952.CR2');
}

/** stdout of a reference tool as bytes (e.g. `dcraw -D -4 -c FILE`). */
export function runTool(tool: string, args: string[]): Buffer {
  return execFileSync(tool, args, { maxBuffer: 1 << 30 });
}

/** Seeded integers in [0, n) (mulberry32), so every fuzz or round-trip case reproduces. */
export function seededInts(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A smooth-ish w×h mosaic with noise and a few extreme values, `bits` deep: realistic prediction residuals. */
export function syntheticMosaic(w: number, h: number, bits: number, seed = 1): Uint16Array {
  const rand = seededInts(seed);
  const max = (1 << bits) - 1;
  const m = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const base = ((Math.sin(x / 7) + Math.cos(y / 5) + 2) / 4) * max * 0.8 + ((x & 1) + (y & 1)) * max * 0.05;
      m[y * w + x] = Math.min(max, Math.max(0, Math.round(base + rand(41) - 20)));
    }
  }
  for (let k = 0; k < 8; k++) m[rand(m.length)] = k % 2 ? max : 0;
  return m;
}

/** Index of the first differing element (or of the length mismatch), -1 when equal: fast on megapixel arrays. */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * A headerless AVT F-080C sensor dump: 1024x768 8-bit RGGB samples and nothing else. dcraw and LibRaw tell the
 * camera from the file size alone, so it stands in for a camera format our own readers do not read.
 */
export function avtF080c(seed = 6): Uint8Array {
  return Uint8Array.from(syntheticMosaic(1024, 768, 8, seed));
}

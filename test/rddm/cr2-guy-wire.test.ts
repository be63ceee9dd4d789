// Issue 26, part 5 on a real photo: in the Canon CR2 at --bin 4, the mast's guy wires are one-pixel dark lines across
// the sky, at low noise. RDDM (the shipped weights, one step) must keep most of a wire's depth: the wire is found in
// the bilinear demosaic of the same binned mosaic (the strongest thin dark line of a crop of the sky) and its depth,
// relative to the background three columns either side, is measured in both images in camera-linear luminance.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, noGrad, tensor, tidy } from '../../src/index.js';
import { readRaw } from '../../src/raw/read-raw.js';
import { cropPlane } from '../../src/raw/raw-image.js';
import { binRaw, normalizeMosaic, restoreRaw } from '../../src/rddm/restore.js';
import { demosaicBilinear } from '../../src/raw/bayer.js';
import { loadRddmDir } from '../../src/node/rddm-weights.js';
import { defaultWeightsDir } from '../../src/node/paths.js';
import { testRawPath } from '../helpers/test-raw.js';
import { needInSuite } from '../helpers/need-in-suite.js';

// The sky left of the red-and-white mast at --bin 4 (880 × 584): a guy wire crosses it from the top edge down to the
// left. Even offsets keep the Bayer pattern.
const CROP = { x: 0, y: 32, w: 192, h: 224 };

/** Sum of the three planes of planar [3, h, w] camera-linear RGB. */
function luminance(planar: Float32Array, w: number, h: number): Float32Array {
  return Float32Array.from({ length: w * h }, (_, i) => planar[i]! + planar[w * h + i]! + planar[2 * w * h + i]!);
}

/**
 * Mean relative depth of the dark line x = c + k·y: per row, how far the line's pixel is below the darker of its
 * neighbours three columns either side, relative to that neighbour. An edge has one side as dark and scores ≤ 0,
 * so only a line narrower than six pixels scores. Rows where the line leaves the image do not count (null if fewer
 * than 100 rows remain).
 */
function lineDepth(L: Float32Array, w: number, h: number, c: number, k: number): number | null {
  let s = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    const x = Math.round(c + k * y);
    if (x < 3 || x >= w - 3) continue;
    const bg = Math.min(L[y * w + x - 3]!, L[y * w + x + 3]!);
    s += (bg - L[y * w + x]!) / bg;
    n++;
  }
  return n >= 100 ? s / n : null;
}

/** The deepest line over a grid of offsets c and slopes k (steep lines: |k| ≤ 1.5 columns per row). */
function deepestLine(L: Float32Array, w: number, h: number, cs: number[], ks: number[]): { c: number; k: number; depth: number } {
  let best = { c: 0, k: 0, depth: -Infinity };
  for (const k of ks)
    for (const c of cs) {
      const d = lineDepth(L, w, h, c, k);
      if (d !== null && d > best.depth) best = { c, k, depth: d };
    }
  return best;
}

const steps = (from: number, to: number, step: number) => Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);

/** A 5×5 box blur of a [h, w] image (edges clamped): the smoothing the test must catch. */
function boxBlur(L: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) s += L[Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))]!;
      out[y * w + x] = s / 25;
    }
  return out;
}

describe('the guy wires of the real CR2 at --bin 4', () => {
  needInSuite('data/test-raw/IMG_5952.CR2');
  /** The wire's depth in the bilinear demosaic, and what RDDM and a 5×5 blur of the bilinear image keep of it. */
  let m: { wire: { c: number; k: number; depth: number }; rddm: number; blurred: number };
  beforeAll(async () => {
    await init();
    const cr2 = testRawPath();
    const full = binRaw(readRaw(new Uint8Array(readFileSync(cr2)), cr2), 4);
    const { x, y, w, h } = CROP;
    const raw = { ...full, width: w, height: h, mosaic: cropPlane(full.mosaic, full.width, x, y, w, h) };
    const { sys } = await loadRddmDir(defaultWeightsDir());
    const res = await restoreRaw(sys, raw, { tile: 256 });
    expect([res.width, res.height]).toEqual([w, h]);
    const bil = noGrad(() => tidy(() => demosaicBilinear(tensor(normalizeMosaic(raw), [1, 1, h, w]), raw.cfaPattern)));
    const Lb = luminance(await bil.data(), w, h);
    bil.dispose();
    const Lr = luminance(res.linear, w, h);
    const wire = deepestLine(Lb, w, h, steps(-300, 500, 0.5), steps(-1.5, 1.5, 0.005));
    // RDDM's line may sit a fraction of a pixel off the bilinear one: its deepest line close by.
    const near = (v: number, r: number, s: number) => steps(v - r, v + r, s);
    const rddm = deepestLine(Lr, w, h, near(wire.c, 2, 0.5), near(wire.k, 0.02, 0.005)).depth;
    const blurred = deepestLine(boxBlur(Lb, w, h), w, h, near(wire.c, 2, 0.5), near(wire.k, 0.02, 0.005)).depth;
    console.log(
      `guy wire x = ${wire.c} + ${wire.k.toFixed(3)}·y in the crop: depth bilinear ${wire.depth.toFixed(4)}, RDDM ${rddm.toFixed(4)} ` +
        `(${(rddm / wire.depth).toFixed(2)} of it), bilinear box-blurred 5×5 ${blurred.toFixed(4)} (${(blurred / wire.depth).toFixed(2)})`,
    );
    m = { wire, rddm, blurred };
  }, 300_000);

  it('are found in the bilinear demosaic, and the measure catches smoothing', () => {
    // It is the wire: a clear thin line (a tenth of its depth would be noise), falling to the left as it goes down.
    expect(m.wire.depth).toBeGreaterThan(0.03);
    expect(m.wire.k).toBeLessThan(-0.3);
    // A 5×5 blur keeps well under half of the wire.
    expect(m.blurred / m.wire.depth).toBeLessThan(0.5);
  });

  // Fails with the shipped weights (the lean recipe's run, lavapipe): RDDM keeps 0.32 of the wire's bilinear depth
  // (0.28 with the decoder stage at the default pixel weight, 0.27 before the recipe's decoder stage), about what the
  // 5×5 blur keeps (0.30); the previous tiny weights kept 0.59. The synthetic one-pixel lines
  // (test/eval/fine-lines.test.ts) went the other way, 0.28 to 0.585 of their
  // contrast. When retraining flips this,
  // vitest reports the test as failing, and the `.fails` marker must go (the threshold stays).
  it.fails('keep most of their depth through RDDM', () => {
    expect(m.rddm / m.wire.depth).toBeGreaterThan(0.5);
  });
});

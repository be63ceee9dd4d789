/**
 * Philox-4x32-10 on the CPU, the reference for shaders/philox.wgsl: the same (key, counter) gives the same four
 * 32-bit words on every device. Uniforms use the top 24 bits, so they are exact in float32 everywhere.
 */
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  // Exact 64-bit product through BigInt-free 16-bit halves (as the shader does).
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const ll = aLo * bLo, lh = aLo * bHi, hl = aHi * bLo, hh = aHi * bHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
  return [hi, lo];
}

export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

export const toUnit = (x: number): number => (x >>> 8) * 5.9604644775390625e-8;
const toUnitOpen = (x: number): number => ((x >>> 8) + 1) * 5.9604644775390625e-8;

/** Splits a seed (any non-negative integer below 2^53) into the two key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative safe integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** Element i of a uniform draw: word i%4 of block i/4. */
export function uniformAt(seed: number, stream: number, i: number): number {
  const words = philox4x32([Math.floor(i / 4), stream, 0, 0], seedKey(seed));
  return toUnit(words[i % 4]);
}

/** n uniforms in [0, 1), as the GPU kernel computes them (float32-exact). */
export function uniformArray(seed: number, stream: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const key = seedKey(seed);
  for (let b = 0; b * 4 < n; b++) {
    const w = philox4x32([b, stream, 0, 0], key);
    for (let j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = toUnit(w[j]);
  }
  return out;
}

/** n standard normals by Box-Muller on each block's two word pairs, as the GPU kernel computes them. */
export function normalArray(seed: number, stream: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const key = seedKey(seed);
  for (let b = 0; b * 4 < n; b++) {
    const [w0, w1, w2, w3] = philox4x32([b, stream, 0, 0], key);
    const r0 = Math.sqrt(-2 * Math.log(toUnitOpen(w0)));
    const r1 = Math.sqrt(-2 * Math.log(toUnitOpen(w2)));
    const t0 = 2 * Math.PI * toUnit(w1);
    const t1 = 2 * Math.PI * toUnit(w3);
    const v = [r0 * Math.cos(t0), r0 * Math.sin(t0), r1 * Math.cos(t1), r1 * Math.sin(t1)];
    for (let j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = v[j];
  }
  return out;
}

/**
 * Bayer colour-filter patterns as plain data. A pattern names the colours of the 2×2 tile at the image's
 * top-left, row by row: 'GRBG' has G at (0,0), R at (0,1), B at (1,0), G at (1,1). Every function here is pure;
 * the GPU side passes a pattern to kernels as `patternCode` (four 2-bit colour indices in one integer).
 */
export type BayerPattern = 'RGGB' | 'BGGR' | 'GRBG' | 'GBRG';

export const BAYER_PATTERNS: readonly BayerPattern[] = ['RGGB', 'BGGR', 'GRBG', 'GBRG'];

/** 0 = red, 1 = green, 2 = blue (channel order of an RGB tensor). */
export type BayerColor = 0 | 1 | 2;

const LETTER: Readonly<Record<string, BayerColor>> = { R: 0, G: 1, B: 2 };

export function isBayerPattern(s: unknown): s is BayerPattern {
  return typeof s === 'string' && (BAYER_PATTERNS as readonly string[]).includes(s);
}

/** Throws a message naming the accepted values when `s` is not a Bayer pattern. */
export function assertBayerPattern(op: string, s: unknown): asserts s is BayerPattern {
  if (!isBayerPattern(s)) throw new Error(`${op}: unknown Bayer pattern ${JSON.stringify(s)}; use one of ${BAYER_PATTERNS.join(', ')}`);
}

/** Colour at position k of the 2×2 tile, k = 2·(y%2) + (x%2): raster order (0,0), (0,1), (1,0), (1,1). */
export function tileColor(pattern: BayerPattern, k: number): BayerColor {
  return LETTER[pattern[k]];
}

/** Colour of the pixel at (y, x) of a mosaic whose top-left tile is `pattern`. Negative indices work too. */
export function bayerColorAt(pattern: BayerPattern, y: number, x: number): BayerColor {
  return tileColor(pattern, ((y & 1) << 1) | (x & 1));
}

/** The four tile colours in raster order. */
export function patternColors(pattern: BayerPattern): [BayerColor, BayerColor, BayerColor, BayerColor] {
  return [tileColor(pattern, 0), tileColor(pattern, 1), tileColor(pattern, 2), tileColor(pattern, 3)];
}

/** The four colours packed 2 bits each (position k at bits 2k..2k+1): what the WGSL kernels read. */
export function patternCode(pattern: BayerPattern): number {
  const c = patternColors(pattern);
  return c[0] | (c[1] << 2) | (c[2] << 4) | (c[3] << 6);
}

/** Index of the pattern in BAYER_PATTERNS (the CMB-LoRA slot, a stable small integer). */
export function patternIndex(pattern: BayerPattern): number {
  assertBayerPattern('patternIndex', pattern);
  return BAYER_PATTERNS.indexOf(pattern);
}

/**
 * The pattern seen after dropping `top` rows and `left` columns: cropping RGGB by one column gives GRBG, by one
 * row GBRG, by both BGGR. Only the parities matter.
 */
export function cropPattern(pattern: BayerPattern, top: number, left: number): BayerPattern {
  let s = '';
  for (let k = 0; k < 4; k++) s += pattern[((((k >> 1) + top) & 1) << 1) | (((k & 1) + left) & 1)];
  return s as BayerPattern;
}

/** The pattern after mirroring left-right an image `width` pixels wide: column x takes old column width-1-x. */
export function flipPatternH(pattern: BayerPattern, width: number): BayerPattern {
  // -x and x have the same parity, so a flip is a shift by width-1.
  return cropPattern(pattern, 0, (width - 1) & 1);
}

/** The pattern after flipping upside-down an image `height` pixels tall. */
export function flipPatternV(pattern: BayerPattern, height: number): BayerPattern {
  return cropPattern(pattern, (height - 1) & 1, 0);
}

/** Normalises "one pattern for the batch" or "one per image" to one per image, checking the count. */
export function patternsPerImage(op: string, patterns: BayerPattern | readonly BayerPattern[], n: number): BayerPattern[] {
  const list = typeof patterns === 'string' ? new Array<BayerPattern>(n).fill(patterns) : [...patterns];
  if (list.length !== n) throw new Error(`${op}: got ${list.length} Bayer patterns for a batch of ${n} images; pass one pattern or one per image`);
  for (const p of list) assertBayerPattern(op, p);
  return list;
}

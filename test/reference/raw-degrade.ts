/**
 * Float64 references for src/raw/degrade.ts. The Gaussian is built from its covariance matrix
 * Σ = R diag(σx², σy²) Rᵀ (the source rotates coordinates instead), and the resize runs as two explicit passes
 * with torch's bilinear rule, so both formulations are checked against each other.
 */
export function gaussianRef(sx: number, sy: number, theta: number, size: number): Float64Array {
  const [c, s] = [Math.cos(theta), Math.sin(theta)];
  // Σ = R diag(sx², sy²) Rᵀ, R = [[c, -s], [s, c]] acting on (dx, dy).
  const a = c * c * sx * sx + s * s * sy * sy;
  const b = c * s * (sx * sx - sy * sy);
  const d = s * s * sx * sx + c * c * sy * sy;
  const det = a * d - b * b;
  const [ia, ib, id] = [d / det, -b / det, a / det];
  const r = (size - 1) / 2;
  const k = new Float64Array(size * size);
  let total = 0;
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) {
      const [dx, dy] = [j - r, i - r];
      k[i * size + j] = Math.exp(-0.5 * (ia * dx * dx + 2 * ib * dx * dy + id * dy * dy));
      total += k[i * size + j];
    }
  return k.map((v) => v / total);
}

/** Mirror-reflect by unfolding step by step (no modular arithmetic). */
function reflect(i: number, len: number): number {
  if (len === 1) return 0;
  while (i < 0 || i >= len) i = i < 0 ? -i : 2 * (len - 1) - i;
  return i;
}

export function blurRef(x: ArrayLike<number>, shape: readonly number[], kernels: readonly Float64Array[], size: number): Float64Array {
  const [n, c, h, w] = shape;
  const out = new Float64Array(n * c * h * w);
  const r = (size - 1) / 2;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          let acc = 0;
          for (let i = 0; i < size; i++)
            for (let j = 0; j < size; j++) acc += kernels[b][i * size + j] * x[((b * c + ch) * h + reflect(y + i - r, h)) * w + reflect(xx + j - r, w)];
          out[((b * c + ch) * h + y) * w + xx] = acc;
        }
  return out;
}

/** torch.nn.functional.interpolate(mode='bilinear', align_corners=False) of one plane. */
export function bilinearRef(plane: ArrayLike<number>, h: number, w: number, oh: number, ow: number): Float64Array {
  const src = (o: number, inLen: number, outLen: number) => {
    const s = Math.max((o + 0.5) * (inLen / outLen) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), inLen - 1);
    return [i0, Math.min(i0 + 1, inLen - 1), s - i0];
  };
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const [y0, y1, fy] = src(y, h, oh);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, fx] = src(x, w, ow);
      const top = plane[y0 * w + x0] * (1 - fx) + plane[y0 * w + x1] * fx;
      const bot = plane[y1 * w + x0] * (1 - fx) + plane[y1 * w + x1] * fx;
      out[y * ow + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

export function downUpRef(x: ArrayLike<number>, shape: readonly number[], sizes: readonly (readonly [number, number])[]): Float64Array {
  const [n, c, h, w] = shape;
  const out = new Float64Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const off = (b * c + ch) * h * w;
      const plane = Array.from({ length: h * w }, (_, k) => x[off + k]);
      const small = bilinearRef(plane, h, w, sizes[b][0], sizes[b][1]);
      out.set(bilinearRef(small, sizes[b][0], sizes[b][1], h, w), off);
    }
  return out;
}

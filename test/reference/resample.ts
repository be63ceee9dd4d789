import { ref, recordRef, type RefTensor } from './ref-tensor.js';

type Pair = number | readonly [number, number];
const hw = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Nearest upsampling by integer factors, in float64 by its definition, with its vector-Jacobian product. */
export function upsampleNearest2dRef(x: RefTensor, scale: Pair): RefTensor {
  const [sh, sw] = hw(scale);
  const [N, C, H, W] = x.shape;
  const OH = H * sh, OW = W * sw;
  const src = (i: number) => {
    const ox = i % OW, oy = Math.floor(i / OW) % OH, plane = Math.floor(i / (OW * OH));
    return (plane * H + Math.floor(oy / sh)) * W + Math.floor(ox / sw);
  };
  const y = ref([N, C, OH, OW]);
  for (let i = 0; i < y.data.length; i++) y.data[i] = x.data[src(i)];
  return recordRef(y, 'upsampleNearest2d', [x], (g) => {
    const dx = ref(x.shape);
    for (let i = 0; i < g.data.length; i++) dx.data[src(i)] += g.data[i];
    return [dx];
  });
}

/** Average pooling (floor mode, zero padding counted), in float64, with its vector-Jacobian product. */
export function avgPool2dRef(x: RefTensor, kernel: Pair, stride: Pair = kernel, padding: Pair = 0): RefTensor {
  const [kh, kw] = hw(kernel), [sh, sw] = hw(stride), [ph, pw] = hw(padding);
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1, OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  // Visits every (output, input) pair of a window.
  const each = (fn: (o: number, i: number) => void) => {
    for (let p = 0; p < N * C; p++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++) {
              const y = oy * sh - ph + a, xx = ox * sw - pw + b;
              if (y >= 0 && y < H && xx >= 0 && xx < W) fn((p * OH + oy) * OW + ox, (p * H + y) * W + xx);
            }
  };
  const out = ref([N, C, OH, OW]);
  each((o, i) => (out.data[o] += x.data[i] / (kh * kw)));
  return recordRef(out, 'avgPool2d', [x], (g) => {
    const dx = ref(x.shape);
    each((o, i) => (dx.data[i] += g.data[o] / (kh * kw)));
    return [dx];
  });
}

/**
 * diffusers' get_timestep_embedding in float64 from the float32 arguments PyTorch forms: exponent and frequency
 * rounded to float32 at each step, then t·freq·scale rounded to float32; sin/cos exact.
 */
export function timestepEmbeddingRef(ts: readonly number[], dim: number, o: { flipSinToCos?: boolean; downscaleFreqShift?: number; maxPeriod?: number; scale?: number } = {}): RefTensor {
  const f32 = Math.fround;
  const half = Math.floor(dim / 2);
  const shift = o.downscaleFreqShift ?? 1;
  const lnP = f32(-Math.log(o.maxPeriod ?? 10000));
  const out = ref([ts.length, dim]);
  for (const [r, t] of ts.entries()) {
    for (let i = 0; i < half; i++) {
      const freq = f32(Math.exp(f32(f32(lnP * i) / f32(half - shift))));
      const arg = f32(f32(f32(t) * freq) * f32(o.scale ?? 1));
      const [first, second] = o.flipSinToCos ? [Math.cos(arg), Math.sin(arg)] : [Math.sin(arg), Math.cos(arg)];
      out.data[r * dim + i] = first;
      out.data[r * dim + half + i] = second;
    }
  }
  return out;
}

import { ref, recordRef, type RefTensor } from './ref-tensor.js';

type Pair = number | readonly [number, number];

export interface ConvRefOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

const hw = (v: Pair | undefined, def: number): [number, number] => (v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** conv2d in float64 by its definition (NCHW, weight [out, in/groups, kh, kw]), with its vector-Jacobian product. */
export function conv2dRef(x: RefTensor, w: RefTensor, b: RefTensor | null, o: ConvRefOptions = {}): RefTensor {
  const [sh, sw] = hw(o.stride, 1), [ph, pw] = hw(o.padding, 0), [dh, dw] = hw(o.dilation, 1), G = o.groups ?? 1;
  const [N, C, H, W] = x.shape;
  const [F, Cg, KH, KW] = w.shape;
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  const Fg = F / G;
  const xi = (n: number, c: number, y: number, xx: number) => ((n * C + c) * H + y) * W + xx;
  const wi = (f: number, c: number, ky: number, kx: number) => ((f * Cg + c) * KH + ky) * KW + kx;
  const yi = (n: number, f: number, y: number, xx: number) => ((n * F + f) * OH + y) * OW + xx;
  // Visits every (output, weight, input) triple that contributes.
  const each = (fn: (o: number, wIdx: number, xIdx: number, f: number) => void) => {
    for (let n = 0; n < N; n++)
      for (let f = 0; f < F; f++) {
        const g = Math.floor(f / Fg);
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++)
            for (let c = 0; c < Cg; c++)
              for (let ky = 0; ky < KH; ky++)
                for (let kx = 0; kx < KW; kx++) {
                  const iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
                  if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                  fn(yi(n, f, oy, ox), wi(f, c, ky, kx), xi(n, g * Cg + c, iy, ix), f);
                }
      }
  };
  const y = ref([N, F, OH, OW]);
  each((o, wI, xI) => (y.data[o] += w.data[wI] * x.data[xI]));
  if (b) for (let i = 0; i < y.data.length; i++) y.data[i] += b.data[Math.floor(i / (OH * OW)) % F];
  return recordRef(y, 'conv2d', b ? [x, w, b] : [x, w], (g) => {
    const dx = ref(x.shape), dw = ref(w.shape);
    each((o, wI, xI) => {
      dx.data[xI] += g.data[o] * w.data[wI];
      dw.data[wI] += g.data[o] * x.data[xI];
    });
    if (!b) return [dx, dw];
    const db = ref(b.shape);
    for (let i = 0; i < g.data.length; i++) db.data[Math.floor(i / (OH * OW)) % F] += g.data[i];
    return [dx, dw, db];
  });
}

/**
 * Float64 references for IPTP and PTP (src/raw/iptp.ts, ptp.ts): per-pixel functions on 3-vectors, written from
 * the formulas in docs/rddm-design.md, plus PTP's vector-Jacobian product by hand (same clip-gradient rules).
 */
export type M3 = readonly (readonly number[])[];
export interface RefIptpParams { rgb2cam: M3; rgbGain: number; redGain: number; blueGain: number }
export interface RefPtpParams { wbGains: readonly number[]; cam2rgb: M3 }

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const matVec = (m: M3, v: readonly number[]) => [0, 1, 2].map((i) => m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2]);

/** IPTP of one pixel; `clipped` says whether any clip or the highlight blend changed the values. */
export function iptpPixel(y: readonly number[], p: RefIptpParams): { x: number[]; clipped: boolean } {
  const lin = y.map((v) => Math.max(0.5 - Math.sin(Math.asin(1 - 2 * clamp01(v)) / 3), 1e-8) ** 2.2);
  const cam = matVec(p.rgb2cam, lin);
  const g = [1 / p.redGain / p.rgbGain, 1 / p.rgbGain, 1 / p.blueGain / p.rgbGain];
  const gray = (cam[0] + cam[1] + cam[2]) / 3;
  const m = (Math.max(gray - 0.9, 0) / 0.1) ** 2;
  const raw = cam.map((v, c) => v * Math.max(m + (1 - m) * g[c], g[c]));
  const x = raw.map(clamp01);
  const clipped = m > 0 || raw.some((v) => v < 0 || v > 1) || y.some((v) => v < 0 || v > 1);
  return { x, clipped };
}

interface PtpTrace { a: number[]; b: number[]; c: number[]; d: number[]; e: number[]; out: number[] }

export function ptpPixel(x: readonly number[], p: RefPtpParams): PtpTrace & { clipped: boolean } {
  const a = x.map((v, c) => v * p.wbGains[c]);
  const b = a.map(clamp01);
  const c = matVec(p.cam2rgb, b);
  const d = c.map(clamp01);
  const e = d.map((v) => Math.max(v, 1e-8) ** (1 / 2.2));
  const out = e.map((v) => 3 * v * v - 2 * v * v * v);
  const clipped = a.some((v) => v < 0 || v > 1) || c.some((v) => v < 0 || v > 1);
  return { a, b, c, d, e, out, clipped };
}

/** Gradients of Σ g·PTP(x) with respect to x and to cam2rgb, for one pixel. */
export function ptpPixelVjp(x: readonly number[], p: RefPtpParams, g: readonly number[], straightThrough: boolean): { dx: number[]; dM: number[][] } {
  const t = ptpPixel(x, p);
  const ge = g.map((v, i) => v * 6 * t.e[i] * (1 - t.e[i]));
  const gd = ge.map((v, i) => (t.d[i] > 1e-8 ? v * (1 / 2.2) * t.d[i] ** (1 / 2.2 - 1) : 0));
  const gc = gd.map((v, i) => (straightThrough || (t.c[i] >= 0 && t.c[i] <= 1) ? v : 0));
  const gb = [0, 1, 2].map((j) => p.cam2rgb[0][j] * gc[0] + p.cam2rgb[1][j] * gc[1] + p.cam2rgb[2][j] * gc[2]);
  const ga = gb.map((v, i) => (straightThrough || (t.a[i] >= 0 && t.a[i] <= 1) ? v : 0));
  const dx = ga.map((v, i) => v * p.wbGains[i]);
  const dM = [0, 1, 2].map((i) => [0, 1, 2].map((j) => gc[i] * t.b[j]));
  return { dx, dM };
}

/** Applies a per-pixel function over an [N,3,H,W] batch. */
export function perPixel(data: ArrayLike<number>, n: number, hw: number, f: (px: number[], b: number, i: number) => number[]): Float64Array {
  const out = new Float64Array(n * 3 * hw);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < hw; i++) {
      const idx = [0, 1, 2].map((c) => (b * 3 + c) * hw + i);
      const v = f(idx.map((k) => data[k]), b, i);
      idx.forEach((k, c) => (out[k] = v[c]));
    }
  return out;
}

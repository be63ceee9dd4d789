import { encodePng } from '../io/png.js';

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color: [number, number, number];
}

/**
 * A loss-curve PNG: one polyline per series on a log-scale y axis (losses span decades), with a light grid at
 * powers of ten. Rendered into an RGB buffer by hand so it works in Node and browsers with no plotting library.
 */
export async function plotLossCurves(series: Series[], width = 640, height = 360): Promise<Uint8Array> {
  const img = new Uint8Array(width * height * 3).fill(255);
  const pts = series.flatMap((s) => s.points).filter((p) => p.y > 0 && Number.isFinite(p.y));
  const margin = 24;
  const set = (x: number, y: number, c: readonly number[]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 3;
    img[i] = c[0]; img[i + 1] = c[1]; img[i + 2] = c[2];
  };
  if (pts.length) {
    const xMin = Math.min(...pts.map((p) => p.x)), xMax = Math.max(...pts.map((p) => p.x));
    const lyMin = Math.log10(Math.min(...pts.map((p) => p.y))), lyMax = Math.log10(Math.max(...pts.map((p) => p.y)));
    const yLo = Math.floor(lyMin), yHi = Math.max(Math.ceil(lyMax), yLo + 1);
    const px = (x: number) => Math.round(margin + ((x - xMin) / Math.max(1e-9, xMax - xMin)) * (width - 2 * margin));
    const py = (y: number) => Math.round(height - margin - ((Math.log10(y) - yLo) / (yHi - yLo)) * (height - 2 * margin));
    for (let d = yLo; d <= yHi; d++) {
      const yy = py(10 ** d);
      for (let x = margin; x < width - margin; x++) set(x, yy, [220, 220, 220]);
    }
    for (let y = margin; y < height - margin; y++) set(margin, y, [120, 120, 120]);
    for (let x = margin; x < width - margin; x++) set(x, height - margin, [120, 120, 120]);
    for (const s of series) {
      const p = s.points.filter((q) => q.y > 0 && Number.isFinite(q.y));
      for (let i = 1; i < p.length; i++) line(px(p[i - 1].x), py(p[i - 1].y), px(p[i].x), py(p[i].y), s.color, set);
    }
  }
  return encodePng({ width, height, channels: 3, bitDepth: 8, data: img });
}

function line(x0: number, y0: number, x1: number, y1: number, c: readonly number[], set: (x: number, y: number, c: readonly number[]) => void): void {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let i = 0; i <= n; i++) set(Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n), c);
}

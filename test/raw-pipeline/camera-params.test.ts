import { describe, expect, it } from 'vitest';
import { HostRng } from '../../src/random/host-rng.js';
import { matMul3, sampleCameraBatch, XYZ2CAM_BASIS } from '../../src/raw/camera-params.js';

describe('HostRng', () => {
  it('reproduces from a seed; streams and children differ', () => {
    const a = new HostRng(5), b = new HostRng(5);
    const xs = Array.from({ length: 10 }, () => a.uniform());
    expect(Array.from({ length: 10 }, () => b.uniform())).toEqual(xs);
    expect(new HostRng(5, 1).uniform()).not.toBe(xs[0]);
    expect(new HostRng(5).child(0).uniform()).not.toBe(new HostRng(5).child(1).uniform());
    expect(new HostRng(5).child(3).child(0).uniform()).toBe(new HostRng(5).child(3).child(0).uniform());
  });
  it('has the right moments', () => {
    const r = new HostRng(9);
    const u = Array.from({ length: 20000 }, () => r.uniform());
    const z = Array.from({ length: 20000 }, () => r.normal());
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(mean(z))).toBeLessThan(0.03);
    expect(Math.abs(mean(z.map((x) => x * x)) - 1)).toBeLessThan(0.04);
  });
});

describe('camera parameter sampler', () => {
  const cams = sampleCameraBatch(123, 3000);

  it('is reproducible and independent of the batch size', () => {
    expect(sampleCameraBatch(123, 5)).toEqual(cams.slice(0, 5));
    expect(sampleCameraBatch(124, 1)[0]).not.toEqual(cams[0]);
  });

  it('builds consistent colour matrices', () => {
    for (const c of cams.slice(0, 50)) {
      for (const row of c.rgb2cam) expect(Math.abs(row[0] + row[1] + row[2] - 1)).toBeLessThan(1e-12);
      const id = matMul3(c.cam2rgb, c.rgb2cam);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(Math.abs(id[i][j] - (i === j ? 1 : 0))).toBeLessThan(1e-12);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const vals = XYZ2CAM_BASIS.map((m) => m[i][j]);
        expect(c.xyz2cam[i][j]).toBeGreaterThanOrEqual(Math.min(...vals) - 1e-12);
        expect(c.xyz2cam[i][j]).toBeLessThanOrEqual(Math.max(...vals) + 1e-12);
      }
      expect(c.wbGains).toEqual([c.redGain * c.rgbGain, c.rgbGain, c.blueGain * c.rgbGain]);
    }
  });

  it('draws gains and noise levels from the documented distributions', () => {
    const stats = (v: number[]) => {
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      return { mean: m, std: Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1)), min: Math.min(...v), max: Math.max(...v) };
    };
    const inv = stats(cams.map((c) => 1 / c.rgbGain));
    expect(Math.abs(inv.mean - 0.8)).toBeLessThan(0.01);
    expect(Math.abs(inv.std - 0.1)).toBeLessThan(0.01);
    const red = stats(cams.map((c) => c.redGain));
    const blue = stats(cams.map((c) => c.blueGain));
    expect(red.min).toBeGreaterThanOrEqual(1.9);
    expect(red.max).toBeLessThan(2.4);
    expect(blue.min).toBeGreaterThanOrEqual(1.5);
    expect(blue.max).toBeLessThan(1.9);
    expect(Math.abs(red.mean - 2.15)).toBeLessThan(0.01);
    const logShot = stats(cams.map((c) => Math.log(c.shotNoise)));
    expect(logShot.min).toBeGreaterThanOrEqual(Math.log(1e-4));
    expect(logShot.max).toBeLessThan(Math.log(1.2e-2));
    expect(Math.abs(logShot.mean - (Math.log(1e-4) + Math.log(1.2e-2)) / 2)).toBeLessThan(0.1);
    const resid = stats(cams.map((c) => Math.log(c.readNoise) - (2.18 * Math.log(c.shotNoise) + 1.2)));
    expect(Math.abs(resid.mean)).toBeLessThan(0.02);
    expect(Math.abs(resid.std - 0.26)).toBeLessThan(0.015);
  });
});

import { describe, expect, it } from 'vitest';
import { checkAgreement, f16VsF32, maxRelDiff, type Timing } from '../../bench/harness.js';

const timing = (median: number, workerCpuMs: number | null): Timing => ({ median, min: median, times: [median], workerCpuMs }) as Timing;

describe('bench harness checks', () => {
  it('maxRelDiff is the largest difference relative to the reference scale', () => {
    expect(maxRelDiff(Float32Array.from([1, 2, 4.5]), Float32Array.from([1, 2, 4]))).toBeCloseTo(0.5 / 4, 7);
  });

  it('checkAgreement allows f16 rounding only where rddm-f16 is one side', () => {
    expect(() => checkAgreement(['rddm', 'rddm-f16'], [0, 5e-3], 'matmul', 'at 8³')).not.toThrow();
    expect(() => checkAgreement(['rddm', 'naive'], [0, 5e-3], 'matmul', 'at 8³')).toThrow(/matmul bench: naive disagrees with rddm at 8³/);
    expect(() => checkAgreement(['rddm', 'rddm-f16'], [0, 0.02], 'conv2d', 'for 4x4x4')).toThrow(/rddm-f16 disagrees/);
    expect(() => checkAgreement(['rddm', 'naive'], [0, NaN], 'matmul', 'at 8³')).toThrow(/NaN/);
  });

  it('f16VsF32 gives the f16 row its wall, CPU and memory ratios against rddm, and nothing to other rows', () => {
    const names = ['rddm', 'rddm-f16'];
    const t = [timing(30, 60), timing(20, 40)];
    const bytes = { rddm: 800, 'rddm-f16': 400 };
    expect(f16VsF32('rddm-f16', t, names, bytes)).toEqual({ speedupVsF32: 1.5, cpuSpeedupVsF32: 1.5, memoryRatioVsF32: 0.5 });
    expect(f16VsF32('rddm', t, names, bytes)).toEqual({});
    expect(f16VsF32('rddm-f16', [timing(20, null)], ['rddm-f16'], bytes)).toEqual({});
    expect(f16VsF32('rddm-f16', [timing(30, null), timing(20, 40)], names, bytes).cpuSpeedupVsF32).toBeNull();
  });
});

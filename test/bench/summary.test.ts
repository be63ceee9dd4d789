import { describe, expect, it } from 'vitest';
import type { BenchCase } from '../../bench/harness.js';
import { numpyGemm } from '../../bench/numpy-blas.js';
import { formatSummary, peerOf, ratio, summaryRows } from '../../bench/summary.js';

const row = (op: string, shape: number[], impl: string, ms: number | null, workerCpuMs?: number | null, extra: Record<string, unknown> = {}): BenchCase => ({
  op,
  shape,
  impl,
  ms: ms as number,
  ...(workerCpuMs !== undefined ? { workerCpuMs } : {}),
  ...extra,
});

describe('bench ratio', () => {
  it('is the peer time over the subject time, by wall or CPU time', () => {
    const r = row('matmul', [4, 4, 4], 'rddm', 10, 20);
    const p = row('matmul', [4, 4, 4], 'tfjs-webgpu', 50, 30);
    expect(ratio(r, p)).toBe(5);
    expect(ratio(r, p, 'workerCpuMs')).toBe(1.5);
  });

  it('is undefined when either side is missing, zero, null or not finite', () => {
    const r = row('matmul', [4], 'rddm', 10, null);
    expect(ratio(r, undefined)).toBeUndefined();
    expect(ratio(undefined, r)).toBeUndefined();
    expect(ratio(r, row('matmul', [4], 'naive', null))).toBeUndefined();
    expect(ratio(r, row('matmul', [4], 'naive', 0))).toBeUndefined();
    expect(ratio(r, row('matmul', [4], 'naive', Infinity))).toBeUndefined();
    expect(ratio(r, row('matmul', [4], 'naive', 5, 7), 'workerCpuMs')).toBeUndefined();
  });

  it('finds a peer by op and shape, not by shape alone', () => {
    const cases = [row('conv2d', [1, 8], 'portable', 3), row('conv2d-fwd+bwd', [1, 8], 'portable', 9), row('conv2d', [1, 16], 'portable', 4)];
    expect(peerOf(cases, { op: 'conv2d', shape: [1, 8] }, 'portable')?.ms).toBe(3);
    expect(peerOf(cases, { op: 'conv2d-fwd+bwd', shape: [1, 8] }, 'portable')?.ms).toBe(9);
    expect(peerOf(cases, { op: 'conv2d', shape: [1, 32] }, 'portable')).toBeUndefined();
  });
});

describe('bench summary', () => {
  const cases = [
    row('matmul', [256, 256, 256], 'rddm', 2, 4),
    row('matmul', [256, 256, 256], 'rddm-f16', 1, 1),
    row('matmul', [256, 256, 256], 'naive', 20, 40),
    row('matmul', [256, 256, 256], 'numpy-blas', 1, 2),
    row('matmul', [512, 512, 512], 'rddm', 10, 20),
    row('matmul', [512, 512, 512], 'tfjs-webgpu', 30),
    row('attention', [1, 8, 4096, 64], 'rddm', 100, 200),
    row('attention', [1, 8, 4096, 64], 'composite', null, undefined, { note: 'L x L scores exceed the binding limit' }),
    row('adamw-step', [10, 10], 'composite', 8, 8), // no rddm row: nothing to compare
  ];
  const rows = summaryRows('matmul', cases);

  it('compares rddm with every other implementation of the same op and shape, and rddm-f16 with rddm as f32', () => {
    const pick = (shape: string, impl: string, peer: string) => rows.find((r) => r.shape === shape && r.impl === impl && r.peer === peer);
    expect(rows.map((r) => `${r.op} ${r.shape} ${r.impl}/${r.peer}`)).toEqual([
      'matmul 256x256x256 rddm/naive',
      'matmul 256x256x256 rddm/numpy-blas',
      'matmul 256x256x256 rddm-f16/f32',
      'matmul 512x512x512 rddm/tfjs-webgpu',
      'attention 1x8x4096x64 rddm/composite',
    ]);
    expect(pick('256x256x256', 'rddm', 'naive')).toMatchObject({ family: 'matmul', ms: 2, peerMs: 20, wall: 10, cpu: 10 });
    // Against numpy (same FLOPs): rddm's GFLOP/s as a fraction of numpy's.
    expect(pick('256x256x256', 'rddm', 'numpy-blas')).toMatchObject({ wall: 0.5, cpu: 0.5 });
    expect(pick('256x256x256', 'rddm-f16', 'f32')).toMatchObject({ ms: 1, peerMs: 2, wall: 2, cpu: 4 });
    expect(pick('512x512x512', 'rddm', 'tfjs-webgpu')).toMatchObject({ wall: 3, cpu: null });
  });

  it('keeps a peer that could not run, with no ratio and its note', () => {
    expect(rows.find((r) => r.op === 'attention')).toMatchObject({ peer: 'composite', peerMs: null, wall: null, cpu: null, note: 'L x L scores exceed the binding limit' });
  });

  it('prints one table, a column per peer in a fixed order, cells as "wall (cpu)"', () => {
    const text = formatSummary(rows);
    const table = text.split('\n').slice(3);
    const header = table[0].trim().split(/\s{2,}/);
    expect(header).toEqual(['family', 'op', 'shape', 'impl', 'ms', 'tfjs-webgpu', 'naive', 'composite', 'numpy-blas', 'f32']);
    expect(table).toHaveLength(2 + 4);
    const cells = (shape: string, impl: string) => table.find((l) => l.includes(` ${shape} `) && l.includes(` ${impl} `))!.trim().split(/\s{2,}/);
    expect(cells('256x256x256', 'rddm')).toEqual(['matmul', 'matmul', '256x256x256', 'rddm', '2', '10.0 (10.0)', '0.50 (0.50)']);
    expect(cells('256x256x256', 'rddm-f16')).toEqual(['matmul', 'matmul', '256x256x256', 'rddm-f16', '1', '2.00 (4.00)']);
    expect(cells('512x512x512', 'rddm')).toEqual(['matmul', 'matmul', '512x512x512', 'rddm', '10', '3.00']);
    expect(cells('1x8x4096x64', 'rddm')).toEqual(['matmul', 'attention', '1x8x4096x64', 'rddm', '100', 'n/a']);
  });

  it('is empty for no cases', () => {
    expect(summaryRows('x', [])).toEqual([]);
  });
});

describe('numpy reference', () => {
  it('reports why it cannot run instead of failing', () => {
    const got = numpyGemm([{ m: 2, k: 2, n: 2 }], { python: '/nonexistent/python3' });
    expect(got).toHaveProperty('unavailable');
    expect((got as { unavailable: string }).unavailable).toMatch(/could not start/);
  });
});

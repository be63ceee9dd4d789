/**
 * Every matmul kernel (general, subgroup, tiled, at several tile shapes) against the float64 reference on odd
 * sizes, transposed/offset views, batches and broadcast batches; the autotuner's choice, cache and storage.
 * Kernels are forced through matmulRaw's `config`, so each path is tested whatever the adapter would pick.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adapterKey,
  autotuneMatmul,
  configureMatmulAutotune,
  defaultMatmulConfig,
  getDevice,
  init,
  matmulCandidates,
  matmulConfigFor,
  matmulRaw,
  matmulInto,
  setMatmulConfig,
  tensor,
  type AutotuneStorage,
  type MatmulConfig,
  type Tensor,
} from '../../src/index.js';
import { nodeAutotuneStorage } from '../../src/node/autotune-store.js';
import { configName, unsupportedReason } from '../../src/ops/matmul-kernels.js';
import { expectClose } from '../helpers/check-op.js';
import { makeRng, randomRef, seedOf } from '../helpers/random.js';
import { matmulRef } from '../reference/matmul.js';
import { expandRef, sliceRef, transposeRef } from '../reference/shape.js';
import type { RefTensor } from '../reference/ref-tensor.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };

beforeAll(async () => {
  await init();
  configureMatmulAutotune({ onFirstUse: 'nothing' });
});

const ALL_CONFIGS: MatmulConfig[] = [
  { kernel: 'general', TM: 4, TN: 4, WX: 8, WY: 8 },
  { kernel: 'general', TM: 3, TN: 5, WX: 4, WY: 16 },
  { kernel: 'subgroup', NR: 4 },
  { kernel: 'subgroup', NR: 1 },
  // One shared-memory variant: TS = 4 also runs the loader's loop (more tile slots than invocations). Each
  // kernel costs seconds to compile on lavapipe when the shader cache is cold.
  { kernel: 'tiled', TS: 4 },
];

function gpu(r: RefTensor): Tensor {
  return tensor(Float32Array.from(r.data), r.shape);
}

/** One product: engine views built by `view` from the inputs, the reference by `refView` from theirs. */
interface Case {
  name: string;
  shapes: number[][];
  batch: number[];
  view: (a: Tensor, b: Tensor) => [Tensor, Tensor];
  refView: (a: RefTensor, b: RefTensor) => [RefTensor, RefTensor];
}

const plain = (M: number, K: number, N: number): Case => ({
  name: `${M}x${K} · ${K}x${N}`,
  shapes: [[M, K], [K, N]],
  batch: [],
  view: (a, b) => [a, b],
  refView: (a, b) => [a, b],
});

const CASES: Case[] = [
  ...[
    [1, 1, 1],
    [1, 7, 3],
    [3, 1, 7],
    [7, 3, 1],
    [33, 7, 65],
    [65, 33, 7],
    [7, 257, 33],
    [257, 65, 3],
    [33, 65, 257],
    [40, 64, 36], // K a multiple of 4: A is read in place by the packed kernels
  ].map(([M, K, N]) => plain(M, K, N)),
  {
    name: 'Aᵀ · Bᵀ (33x65 · 65x7 through transposed views)',
    shapes: [[65, 33], [7, 65]],
    batch: [],
    view: (a, b) => [a.T, b.T],
    refView: (a, b) => [transposeRef(a), transposeRef(b)],
  },
  {
    name: 'A · Bᵀ with K = 64 (B read in place as N x K)',
    shapes: [[33, 64], [65, 64]],
    batch: [],
    view: (a, b) => [a, b.T],
    refView: (a, b) => [a, transposeRef(b)],
  },
  {
    name: 'column slices (row stride > K, odd offsets)',
    shapes: [[9, 41], [37, 70]],
    batch: [],
    view: (a, b) => [a.slice(1, 3, 36), b.slice(0, 2, 35).slice(1, 1, 66)],
    refView: (a, b) => [sliceRef(a, 1, 3, 36), sliceRef(sliceRef(b, 0, 2, 35), 1, 1, 66)],
  },
  {
    name: 'batch 3, transposed B',
    shapes: [[3, 33, 7], [3, 65, 7]],
    batch: [3],
    view: (a, b) => [a, b.T],
    refView: (a, b) => [a, transposeRef(b)],
  },
  // Transposed operands the subgroup kernel reads in place (A with rows contiguous, B with columns contiguous),
  // with K, M and N off the tile and vec4 sizes: the K tail must read as zeros.
  {
    name: 'Aᵀ in place: A = aᵀ with M = 44, K = 37, N = 21',
    shapes: [[37, 44], [37, 21]],
    batch: [],
    view: (a, b) => [a.T, b],
    refView: (a, b) => [transposeRef(a), b],
  },
  {
    name: 'Aᵀ and B along N in place: 36x35 · 35x52',
    shapes: [[35, 36], [35, 52]],
    batch: [],
    view: (a, b) => [a.T, b],
    refView: (a, b) => [transposeRef(a), b],
  },
  {
    name: 'batch 2, Aᵀ in place and B along N (a weight-gradient layout)',
    shapes: [[2, 9, 12], [2, 9, 20]],
    batch: [2],
    view: (a, b) => [a.transpose(1, 2), b],
    refView: (a, b) => [transposeRef(a, 1, 2), b],
  },
  {
    name: 'batch 4 with B broadcast (batch stride 0)',
    shapes: [[4, 7, 33], [33, 65]],
    batch: [4],
    view: (a, b) => [a, b.expand([4, 33, 65])],
    refView: (a, b) => [a, expandRef(b, [4, 33, 65])],
  },
  {
    name: 'batch [2,3] from [2,1] x [1,3] broadcasts',
    shapes: [[2, 1, 7, 9], [1, 3, 9, 33]],
    batch: [2, 3],
    view: (a, b) => [a.expand([2, 3, 7, 9]), b.expand([2, 3, 9, 33])],
    refView: (a, b) => [expandRef(a, [2, 3, 7, 9]), expandRef(b, [2, 3, 9, 33])],
  },
];

describe('matmul kernels against the float64 reference', () => {
  for (const config of ALL_CONFIGS) {
    it(configName(config), async () => {
      const why = unsupportedReason(getDevice(), config);
      if (why) {
        // Not a skip: the adapter cannot run this kernel, and saying so is the check (subgroups are optional).
        expect(config.kernel).toBe('subgroup');
        return;
      }
      // Every case is recorded before the first readback, so the whole config is one batch of GPU work.
      const runs = CASES.map((c) => {
        const rng = makeRng(seedOf(c.name));
        const [ra, rb] = c.shapes.map((s) => randomRef(rng, s));
        const [a, b] = [gpu(ra), gpu(rb)];
        const [va, vb] = c.view(a, b);
        const y = matmulRaw(va, vb, c.batch, config);
        for (const t of new Set([a, b, va, vb])) t.dispose();
        return { c, y, expected: matmulRef(...c.refView(ra, rb)) };
      });
      for (const { c, y, expected } of runs) {
        expect(y.shape).toEqual(expected.shape);
        expectClose(`${configName(config)}: ${c.name}`, await y.data(), expected, TOL);
        y.dispose();
      }
    });
  }
});

describe('matmul epilogues against the float64 reference', () => {
  for (const config of ALL_CONFIGS) {
    it(`${configName(config)}: bias, residual, accumulate and row sums`, async () => {
      if (unsupportedReason(getDevice(), config)) {
        expect(config.kernel).toBe('subgroup');
        return;
      }
      const rng = makeRng(seedOf(`epilogue ${configName(config)}`));
      // Aᵀ read in place (rows contiguous) where the kernel can, and odd sizes.
      const [M, K, N] = [36, 19, 45];
      const [ra, rb, rbias, rres, rinit] = [[K, M], [K, N], [N], [M, N], [M, N]].map((sh) => randomRef(rng, sh));
      const ref = matmulRef(transposeRef(ra), rb);
      const a = gpu(ra), b = gpu(rb), bias = gpu(rbias), res = gpu(rres);
      const at = a.T;
      const out1 = tensor(new Float32Array(M * N), [M, N]);
      const sums = tensor(new Float32Array(M), [M]);
      matmulInto(at, b, [], out1, { bias, residual: res, rowsum: sums }, config);
      const out2 = gpu(rinit);
      const sums2 = tensor(Float32Array.from({ length: M }, (_, i) => i), [M]);
      matmulInto(at, b, [], out2, { accumulate: true, rowsum: sums2 }, config);
      const want1 = ref.data.map((v, i) => v + rbias.data[i % N] + rres.data[i]);
      const want2 = ref.data.map((v, i) => v + rinit.data[i]);
      const rowSums = Array.from({ length: M }, (_, m) => Array.from({ length: K }, (_, k) => ra.data[k * M + m]).reduce((x, y) => x + y, 0));
      expectClose(`${configName(config)}: + bias + residual`, await out1.data(), { shape: [M, N], data: Float64Array.from(want1) }, TOL);
      expectClose(`${configName(config)}: accumulate`, await out2.data(), { shape: [M, N], data: Float64Array.from(want2) }, TOL);
      expectClose(`${configName(config)}: row sums`, await sums.data(), { shape: [M], data: Float64Array.from(rowSums) }, TOL);
      expectClose(`${configName(config)}: row sums accumulated`, await sums2.data(), { shape: [M], data: Float64Array.from(rowSums, (v, i) => v + i) }, TOL);
      for (const t of [a, b, bias, res, at, out1, out2, sums, sums2]) t.dispose();
    });
  }
});

describe('autotune', () => {
  const memoryStorage = (): AutotuneStorage & { map: Map<string, string> } => {
    const map = new Map<string, string>();
    return { map, get: (k) => map.get(k) ?? null, set: (k, v) => void map.set(k, v) };
  };

  it('picks the fastest correct candidate, caches it per adapter and writes it to the storage', async () => {
    const dev = getDevice();
    const storage = memoryStorage();
    // Kernels the tests above compiled already (matmulCandidates would add more, each slow to compile cold).
    const candidates = ALL_CONFIGS.filter((c) => c.kernel !== 'general' || c.TM === 4).filter((c) => unsupportedReason(dev, c) === null);
    const res = await autotuneMatmul({ force: true, size: 128, storage, candidates });
    expect(res.source).toBe('tuned');
    expect(res.adapterKey).toBe(adapterKey(dev));
    expect(res.candidates!.map((c) => c.name)).toEqual(candidates.map(configName));
    const timed = res.candidates!.filter((c) => !c.dropped);
    expect(timed.length).toBeGreaterThan(0);
    expect(res.config).toEqual(timed.reduce((x, y) => (y.ms < x.ms ? y : x)).config);
    expect(matmulConfigFor(dev)).toEqual(res.config);
    const stored = JSON.parse(storage.map.get(res.adapterKey)!);
    expect(stored.config).toEqual(res.config);
    expect(stored.adapter.description).toBe(dev.adapter.description);
    // Cached: no timing the second time.
    const again = await autotuneMatmul({ storage });
    expect(again.source).toBe('memory');
    expect(again.config).toEqual(res.config);
  });

  it('candidates that cannot run are dropped before timing', async () => {
    // TS = 4 is valid; an out-of-range NR is refused before it reaches the GPU.
    const res = await autotuneMatmul({ force: true, size: 64, storage: null, candidates: [{ kernel: 'tiled', TS: 4 }, { kernel: 'subgroup', NR: 9 }] });
    expect(res.config).toEqual({ kernel: 'tiled', TS: 4 });
    expect(res.candidates![1].dropped).toMatch(/NR must be 1\.\.4/);
  });

  // A device object with an adapter of its own: a fresh cache key, nothing tuned for it in memory.
  const deviceWithAdapter = (tag: string) => {
    const real = getDevice();
    return Object.create(real, { adapter: { value: { ...real.adapter, description: `${real.adapter.description} (${tag})` } } }) as typeof real;
  };

  it('reads a stored choice on first use, and ignores entries that are corrupt, stale or unusable', () => {
    const entries: [string, MatmulConfig | null][] = [
      [JSON.stringify({ version: 1, config: { kernel: 'tiled', TS: 8 } }), { kernel: 'tiled', TS: 8 }],
      ['{not json', null],
      [JSON.stringify({ version: 0, config: { kernel: 'tiled', TS: 8 } }), null],
      [JSON.stringify({ version: 1, config: { kernel: 'warp', X: 1 } }), null],
      [JSON.stringify({ version: 1, config: { kernel: 'general', TM: 4, TN: 4, WX: 64, WY: 64 } }), null],
    ];
    try {
      entries.forEach(([text, want], i) => {
        const dev = deviceWithAdapter(`entry ${i}`);
        const storage = memoryStorage();
        storage.map.set(adapterKey(dev), text);
        configureMatmulAutotune({ storage });
        expect(matmulConfigFor(dev)).toEqual(want ?? defaultMatmulConfig(dev));
      });
    } finally {
      configureMatmulAutotune({ storage: null });
    }
  });

  it('the first use on an adapter with no choice runs the default and tunes in the background', async () => {
    const dev = deviceWithAdapter('background');
    const candidates = ALL_CONFIGS.filter((c) => unsupportedReason(dev, c) === null); // compiled above already
    configureMatmulAutotune({ onFirstUse: 'background-tune', size: 64, candidates });
    try {
      expect(matmulConfigFor(dev)).toEqual(defaultMatmulConfig(dev));
      await new Promise((r) => setTimeout(r, 0));
      // The tune is under way: asking again joins it instead of starting another.
      const res = await autotuneMatmul({ device: dev });
      expect(res.source).toBe('tuned');
      expect(res.size).toBe(64);
      expect(res.candidates!.map((c) => c.name)).toEqual(candidates.map(configName));
      expect(matmulConfigFor(dev)).toEqual(res.config);
    } finally {
      configureMatmulAutotune({ onFirstUse: 'nothing', size: 512, candidates: null });
    }
  });

  it('the Node storage keeps one JSON file per adapter key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rddm-autotune-'));
    try {
      const storage = nodeAutotuneStorage(join(dir, 'cache'));
      expect(storage.get('0badc0de')).toBeNull();
      await storage.set('0badc0de', '{"version":1}');
      expect(storage.get('0badc0de')).toBe('{"version":1}');
      expect(readFileSync(join(dir, 'cache', 'autotune-0badc0de.json'), 'utf8')).toBe('{"version":1}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forcing a kernel the device cannot run falls back to the default', () => {
    const dev = getDevice();
    try {
      setMatmulConfig({ kernel: 'general', TM: 4, TN: 4, WX: 64, WY: 64 }); // 4096 invocations per workgroup
      expect(matmulConfigFor(dev)).toEqual(defaultMatmulConfig(dev));
      setMatmulConfig({ kernel: 'tiled', TS: 8 });
      expect(matmulConfigFor(dev)).toEqual({ kernel: 'tiled', TS: 8 });
    } finally {
      setMatmulConfig(null);
    }
  });

  it('without subgroups the subgroup kernel is unsupported and the default falls back', () => {
    const real = getDevice();
    const fake = Object.create(real, {
      hasSubgroups: { value: false },
      features: { value: new Set([...real.features].filter((f) => f !== 'subgroups')) },
    });
    expect(unsupportedReason(fake, { kernel: 'subgroup', NR: 4 })).toMatch(/subgroups/);
    expect(defaultMatmulConfig(fake).kernel).not.toBe('subgroup');
    expect(matmulCandidates(fake).some((c) => c.kernel === 'subgroup')).toBe(false);
  });
});

/**
 * Square fp32 matmul, C = A · B with row-major A and B, against two baselines measured in the same process on
 * the same adapter: a one-invocation-per-output kernel (shaders/matmul-naive.wgsl) and tfjs-backend-webgpu
 * (sharing our Dawn instance through navigator.gpu). `rddm` is the public `matmul` op with the autotuned kernel,
 * so any packing or transposing copy it makes is inside the timing. Every run ends with a GPU sync
 * (onSubmittedWorkDone); implementations are timed in interleaved rounds and reported by their median.
 * `rddm-f16` (adapters with 'shader-f16') is the same op on float16 operands with a float16 result (f32 sums);
 * its rows carry its speed-up over `rddm` and the ratio of their working sets (operands + output + scratch,
 * measured from the buffer pool).
 * `numpy-blas` (where python3 has numpy) is the same float32 product on the host CPU's BLAS, timed right after the
 * GPU contenders (bench/numpy-blas.ts): the hardware reference; rddm rows carry `fractionOfNumpy`, their GFLOP/s
 * as a fraction of numpy's.
 *
 * Options: --sizes 256,512 --reps N --impls rddm,rddm-f16,naive,tfjs-webgpu,numpy-blas
 */
import naiveSource from '../shaders/matmul-naive.wgsl';
import { autotuneMatmul, matmul, tensor, type Tensor } from '../src/index.js';
import { nodeAutotuneStorage } from '../src/node/autotune-store.js';
import { formatTable, maxRelDiff, checkAgreement, f16VsF32, gflops, loadTfjsWebgpu, timeInterleaved, workingSetBytes, type BenchCase, type BenchContext, type BenchFamily, type Contender, type Tfjs } from './harness.js';
import { numpyCase, numpyNote } from './numpy-blas.js';
import { peerOf, ratio } from './summary.js';

/** Runs/warm-ups per size: lavapipe needs seconds for one 2048³ product (and a minute for the naive kernel). */
function repsFor(n: number, impl: string, override?: number): { reps: number; warmup: number } {
  if (impl === 'naive' && n >= 1024) return { reps: override ? Math.min(override, 2) : 1, warmup: 0 };
  const reps = override ?? (n <= 512 ? 7 : n <= 1024 ? 5 : 3);
  return { reps, warmup: n >= 2048 ? 1 : 2 };
}

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const sizes = String(options.sizes ?? '256,512,1024,2048').split(',').map(Number);
  const impls = String(options.impls ?? 'rddm,rddm-f16,naive,tfjs-webgpu,numpy-blas').split(',');
  if (impls.includes('rddm-f16') && !dev.hasF16) {
    log("rddm-f16 skipped: this adapter has no 'shader-f16'");
    impls.splice(impls.indexOf('rddm-f16'), 1);
  }
  const repsOverride = options.reps ? Number(options.reps) : undefined;

  const tune = await autotuneMatmul({ storage: nodeAutotuneStorage() });
  log(`matmul kernel: ${tune.name} (${tune.source}${tune.elapsedMs !== undefined ? `, tuned in ${tune.elapsedMs} ms` : ''})`);
  const tfjs = impls.includes('tfjs-webgpu') ? await loadTfjsWebgpu(dev, log) : null;
  const naive = dev.pipeline('matmul-naive', naiveSource, { WG: 8 });

  const cases: BenchCase[] = [];
  for (const n of sizes) {
    const host = [0, 1].map(() => Float32Array.from({ length: n * n }, () => Math.random() * 2 - 1));
    const [a, b] = host.map((h) => tensor(h, [n, n]));
    const contenders: Contender[] = [];
    const outputs: Record<string, () => Promise<Float32Array>> = {};
    const cleanup: (() => void)[] = [() => a.dispose(), () => b.dispose()];
    /** Per implementation: a run that leaves nothing but its result, and the bytes of its operands. */
    const memory: Record<string, { run: () => void; inputBytes: number }> = {};
    const ours = (name: string, x: Tensor, y: Tensor) => {
      let c: Tensor | null = null;
      const once = () => {
        c?.dispose();
        c = matmul(x, y);
      };
      contenders.push({ name, run: once, sync: () => dev.sync() });
      outputs[name] = () => c!.data();
      memory[name] = {
        run: () => {
          c?.dispose();
          c = null;
          once();
        },
        inputBytes: 2 * n * n * (x.dtype === 'float16' ? 2 : 4),
      };
      cleanup.push(() => c?.dispose());
    };
    if (impls.includes('rddm')) ours('rddm', a, b);
    if (impls.includes('rddm-f16')) {
      const [a16, b16] = [a.toFloat16(), b.toFloat16()];
      ours('rddm-f16', a16, b16);
      cleanup.push(() => a16.dispose(), () => b16.dispose());
    }
    if (impls.includes('naive')) {
      const out = dev.createBuffer(n * n * 4, 'bench-naive');
      contenders.push({
        name: 'naive',
        run: () =>
          dev.dispatch({ name: 'matmul-naive', pipeline: naive, buffers: [a.buffer, b.buffer, out], uniform: new Uint32Array([n, n, n, 0]), workgroups: [Math.ceil(n / 8), Math.ceil(n / 8)] }),
        sync: () => dev.sync(),
      });
      outputs.naive = async () => new Float32Array(await dev.read(out, n * n * 4));
      cleanup.push(() => dev.releaseBuffer(out));
    }
    if (tfjs) {
      const { tf } = tfjs;
      const [ta, tb] = host.map((h) => tf.tensor2d(h, [n, n]));
      let c: ReturnType<Tfjs['matMul']> | null = null;
      contenders.push({
        name: 'tfjs-webgpu',
        run: () => {
          c?.dispose();
          c = tf.matMul(ta, tb);
        },
        sync: tfjs.sync,
      });
      outputs['tfjs-webgpu'] = async () => (await c!.data()) as Float32Array;
      cleanup.push(() => tf.dispose([ta, tb, ...(c ? [c] : [])]));
    }
    for (const c of contenders) Object.assign(c, repsFor(n, c.name, repsOverride));
    log(`${n}³: timing ${contenders.map((c) => c.name).join(', ')} …`);
    const timings = await timeInterleaved(contenders);
    const results = await Promise.all(contenders.map((c) => outputs[c.name]()));
    const bytes: Record<string, number> = {};
    for (const [name, m] of Object.entries(memory)) bytes[name] = await workingSetBytes(dev, m.inputBytes, m.run);
    const names = contenders.map((c) => c.name);
    // Same inputs everywhere: every result must agree with the first (float rounding only).
    checkAgreement(names, results.map((r, i) => (i === 0 ? 0 : maxRelDiff(r, results[0]))), 'matmul', `at ${n}³`);
    contenders.forEach((c, i) => {
      const t = timings[i];
      const vsF32 = f16VsF32(c.name, timings, names, bytes);
      cases.push({
        op: 'matmul',
        shape: [n, n, n],
        impl: c.name,
        ms: t.median,
        gflops: gflops(2 * n ** 3, t.median),
        minMs: t.min,
        reps: t.times.length,
        workerCpuMs: t.workerCpuMs,
        gflopsPerCpuS: t.workerCpuMs ? gflops(2 * n ** 3, t.workerCpuMs) : null,
        ...(c.name in bytes ? { workingSetMiB: bytes[c.name] / 2 ** 20 } : {}),
        ...vsF32,
      });
    });
    if (impls.includes('numpy-blas')) {
      const like = { op: 'matmul', shape: [n, n, n] };
      const np = numpyCase(like, { m: n, k: n, n }, 2 * n ** 3, { ...repsFor(n, 'numpy-blas', repsOverride) }, log);
      for (const impl of ['rddm', 'rddm-f16']) {
        const r = peerOf(cases, like, impl);
        if (r) r.fractionOfNumpy = ratio(r, np) ?? null;
      }
      cases.push(np);
    }
    for (const f of cleanup) f();
  }
  return cases;
}

/** Speed ratios per size, by wall time and by driver CPU time (the second is immune to other load on a CPU adapter). */
function summary(cases: readonly BenchCase[]): string {
  const rows: Record<string, unknown>[] = [];
  for (const n of [...new Set(cases.map((c) => c.shape[0]))]) {
    const get = (impl: string) => cases.find((c) => c.shape[0] === n && c.impl === impl);
    const [r, t, nv, h, np] = [get('rddm'), get('tfjs-webgpu'), get('naive'), get('rddm-f16'), get('numpy-blas')];
    rows.push({
      size: n,
      'x tfjs (wall)': ratio(r, t, 'ms'),
      'x tfjs (cpu)': ratio(r, t, 'workerCpuMs'),
      'x naive (wall)': ratio(r, nv, 'ms'),
      'of numpy (wall)': ratio(r, np, 'ms'),
      'of numpy (cpu)': ratio(r, np, 'workerCpuMs'),
      'rddm GFLOP/cpu-s': r?.gflopsPerCpuS ?? undefined,
      'tfjs GFLOP/cpu-s': t?.gflopsPerCpuS ?? undefined,
      'numpy GFLOP/cpu-s': np?.gflopsPerCpuS ?? undefined,
      'f16 x f32 (wall)': h?.speedupVsF32 as number | undefined,
      'f16 x f32 (cpu)': (h?.cpuSpeedupVsF32 as number | null) ?? undefined,
      'f16/f32 memory': h?.memoryRatioVsF32 as number | undefined,
    });
  }
  const note = numpyNote(cases);
  return `rddm speed-up (time of the baseline / time of rddm; of numpy: rddm GFLOP/s as a fraction of numpy's; f16: time of rddm f32 / time of rddm f16):\n${formatTable(rows)}${note ? `\n${note}` : ''}`;
}

const family: BenchFamily = {
  description: 'square fp32 matmul vs a naive kernel, tfjs-backend-webgpu and numpy/BLAS on the host CPU; the same op on float16 operands',
  columns: ['op', 'shape', 'impl', 'ms', 'gflops', 'minMs', 'reps', 'workerCpuMs', 'gflopsPerCpuS', 'fractionOfNumpy', 'workingSetMiB', 'speedupVsF32', 'memoryRatioVsF32', 'note'],
  run,
  summary,
};
export default family;

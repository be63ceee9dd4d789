/**
 * The host CPU's BLAS through numpy as a hardware reference: float32 `a @ b` timed in a python3 subprocess (warm-up,
 * then the median of reps), with numpy's BLAS build, its thread count and the CPU count. Families turn a product
 * into `numpy-blas` rows of the same op and shape, so our GFLOP/s can be read as a fraction of what this CPU reaches
 * with its BLAS. Runs after the GPU contenders of a case, not interleaved with them: the CPU time it reports
 * (`process_time`, all of numpy's threads) is the load-independent number to compare with `workerCpuMs`.
 * `PYTHON=/path/to/python` picks the interpreter (default python3).
 */
import { spawnSync } from 'node:child_process';
import { gflops, type BenchCase } from './harness.js';

export interface GemmShape {
  m: number;
  k: number;
  n: number;
}

export interface NumpyTiming {
  /** Median wall time of one product, ms. */
  ms: number;
  minMs: number;
  /** CPU time of one product summed over numpy's threads (median), ms. */
  cpuMs: number;
  reps: number;
}

export interface NumpyBlas {
  numpy: string;
  /** numpy.show_config's BLAS entry: name, version, 'openblas configuration'. */
  blas: Record<string, unknown> | null;
  /** Threads the BLAS library says it uses (OpenBLAS's get_num_threads; null if it cannot be asked). */
  blasThreads: number | null;
  blasCore: string | null;
  cpuCount: number;
  affinity: number | null;
  timings: NumpyTiming[];
}

// Reads {shapes, warmup, reps} as JSON on stdin, writes one JSON object on stdout.
const SCRIPT = String.raw`
import json, os, sys, time, ctypes, statistics
import numpy as np
req = json.load(sys.stdin)
def ask(fn, restype=ctypes.c_int):
    try:
        lib = [l.split()[-1] for l in open('/proc/self/maps') if 'openblas' in l.lower()]
        lib = ctypes.CDLL(lib[0])
    except Exception:
        return None
    for pre, suf in (('', ''), ('scipy_', '64_'), ('', '64_')):
        f = getattr(lib, pre + fn + suf, None)
        if f is not None:
            f.restype = restype
            v = f()
            return v.decode() if isinstance(v, bytes) else v
    return None
try:
    blas = np.show_config(mode='dicts')['Build Dependencies']['blas']
except Exception:
    blas = None
rng = np.random.default_rng(0)
out = []
for s in req['shapes']:
    a = rng.standard_normal((s['m'], s['k']), dtype=np.float32)
    b = rng.standard_normal((s['k'], s['n']), dtype=np.float32)
    for _ in range(req['warmup']):
        a @ b
    wall, cpu = [], []
    for _ in range(req['reps']):
        c0, t0 = time.process_time(), time.perf_counter()
        a @ b
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    out.append(dict(ms=statistics.median(wall), minMs=min(wall), cpuMs=statistics.median(cpu), reps=len(wall)))
aff = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None
print(json.dumps(dict(numpy=np.__version__, blas=blas, blasThreads=ask('openblas_get_num_threads'),
    blasCore=ask('openblas_get_corename', ctypes.c_char_p), cpuCount=os.cpu_count(), affinity=aff, timings=out)))
`;

/**
 * Times each float32 product with numpy, or returns why it could not (no python3, no numpy, an error): the caller
 * turns that into a note row, never a failure.
 */
export function numpyGemm(shapes: readonly GemmShape[], opts: { warmup?: number; reps?: number; python?: string } = {}): NumpyBlas | { unavailable: string } {
  const { warmup = 1, reps = 5, python = process.env.PYTHON ?? 'python3' } = opts;
  const r = spawnSync(python, ['-c', SCRIPT], { input: JSON.stringify({ shapes, warmup, reps }), encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) return { unavailable: `${python} could not start (${r.error.message})` };
  if (r.status !== 0) {
    const err = r.stderr.trim().split('\n').pop() ?? '';
    return { unavailable: /No module named .?numpy/.test(err) ? `numpy is not installed for ${python}` : `${python} failed: ${err}` };
  }
  try {
    return JSON.parse(r.stdout) as NumpyBlas;
  } catch {
    return { unavailable: `${python} printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

/** One line on what the numpy reference ran on (for the log and the report). */
export function describeNumpy(np: Omit<NumpyBlas, 'timings'>): string {
  const config = (np.blas?.['openblas configuration'] as string | undefined) ?? `${np.blas?.name ?? 'unknown BLAS'} ${np.blas?.version ?? ''}`;
  return `numpy ${np.numpy}, ${config.trim()}, ${np.blasThreads ?? '?'} BLAS threads, ${np.cpuCount} CPUs`;
}

let missing: string | undefined;

/**
 * A `numpy-blas` row for `like` (the op and shape it stands beside): `gemm` timed with numpy, CPU time in
 * `workerCpuMs` (numpy's whole process), GFLOP/s from `flops`; or, where numpy cannot run, a row with no time and a
 * note saying why (asked once per process).
 */
export function numpyCase(like: { op: string; shape: readonly number[] }, gemm: GemmShape, flops: number, opts: { warmup?: number; reps?: number; note?: string }, log: (line: string) => void): BenchCase {
  const np = missing === undefined ? numpyGemm([gemm], opts) : { unavailable: missing };
  if ('unavailable' in np) {
    if (missing === undefined) log(`numpy-blas skipped: ${np.unavailable}`);
    missing = np.unavailable;
    return { op: like.op, shape: like.shape, impl: 'numpy-blas', ms: null as unknown as number, note: `no numpy reference: ${np.unavailable}` };
  }
  const { timings, ...host } = np;
  const t = timings[0];
  return {
    op: like.op,
    shape: like.shape,
    impl: 'numpy-blas',
    ms: t.ms,
    gflops: gflops(flops, t.ms),
    minMs: t.minMs,
    reps: t.reps,
    workerCpuMs: t.cpuMs,
    gflopsPerCpuS: t.cpuMs > 0 ? gflops(flops, t.cpuMs) : null,
    gemm: [gemm.m, gemm.k, gemm.n],
    host,
    ...(opts.note ? { note: opts.note } : {}),
  };
}

/** The numpy reference's description from a family's cases, for its summary ('' when there is none). */
export function numpyNote(cases: readonly BenchCase[]): string {
  const row = cases.find((c) => c.impl === 'numpy-blas');
  if (!row) return '';
  if (!row.host) return `numpy-blas: ${row.note}`;
  return `numpy-blas reference: ${describeNumpy(row.host as Omit<NumpyBlas, 'timings'>)}; not interleaved with the GPU runs (timed right after them).`;
}

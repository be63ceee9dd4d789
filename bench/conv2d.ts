/**
 * fp32 conv2d (NCHW, 'same' padding) against baselines measured in the same process on the same adapter:
 * - `rddm`: the public `conv2d` op (subgroup implicit GEMM where available; input/weight packing included);
 * - `portable`: the same op forced onto the portable kernels (register-blocked implicit GEMM, no subgroups);
 * - `tfjs-webgpu`: tf.conv2d in NHWC on tfjs-backend-webgpu, sharing our Dawn instance through navigator.gpu;
 * - `composite`: explicit im2col built from engine ops (pad, slices, concat) followed by our `matmul`.
 * Every run ends with a GPU sync; implementations are timed in interleaved rounds and reported by their median.
 * `conv2d-bwd` rows time the input and weight gradients of the rddm op (one backward call, dY given).
 *
 * Options: --cases 64x64x64,320x32x32 (Cin=Cout x H x W, 3x3) --reps N --impls rddm,portable,tfjs-webgpu,composite
 *          --no-backward
 */
import { concat, conv2d, matmul, randn, setConv2dPath, tidy, type GpuDevice, type Tensor } from '../src/index.js';
import { formatTable, gflops, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily, type Contender } from './harness.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** tfjs-backend-webgpu on the GPU object our runtime already uses, so both run on the same adapter. */
async function loadTfjs(dev: GpuDevice, log: (s: string) => void): Promise<Tf | null> {
  try {
    const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
    Object.defineProperty(globalThis, 'navigator', { value: { ...nav, gpu: dev.gpu, userAgent: 'node' }, configurable: true, writable: true });
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
    await tf.ready();
    return tf;
  } catch (e) {
    log(`tfjs-webgpu unavailable, skipped: ${(e as Error).message}`);
    return null;
  }
}

/** im2col as engine ops (stride 1, 'same' padding, odd k): [N, Cin·k·k, H·W], then W [Cout, Cin·k·k] · cols. */
function compositeConv(x: Tensor, w: Tensor, k: number): Tensor {
  return tidy(() => {
    const [N, C, H, W] = x.shape;
    const p = (k - 1) / 2;
    const xp = x.pad([p, p, p, p]);
    const taps: Tensor[] = [];
    for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) taps.push(xp.slice(2, ky, ky + H).slice(3, kx, kx + W).unsqueeze(2));
    const cols = concat(taps, 2).reshape([N, C * k * k, H * W]);
    const y = matmul(w.reshape([w.shape[0], C * k * k]), cols);
    return y.reshape([N, w.shape[0], H, W]);
  });
}

function maxRelDiff(x: Float32Array, y: Float32Array): number {
  let d = 0;
  let s = 1e-30;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / s;
}

/** `CxHxW` → Cin = Cout = C, 3x3 kernel, batch 1. */
function parseCase(s: string): { C: number; H: number; W: number } {
  const [C, H, W] = s.split('x').map(Number);
  if (![C, H, W].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`conv2d bench: bad case '${s}' (want CxHxW, e.g. 64x64x64)`);
  return { C, H, W };
}

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const specs = String(options.cases ?? '64x64x64,320x32x32').split(',').map(parseCase);
  const impls = String(options.impls ?? 'rddm,portable,tfjs-webgpu,composite').split(',');
  const reps = options.reps ? Number(options.reps) : 5;
  const K = 3;
  const tf = impls.includes('tfjs-webgpu') ? await loadTfjs(dev, log) : null;
  const cases: BenchCase[] = [];
  for (const { C, H, W } of specs) {
    const shape = [1, C, H, W];
    const flops = 2 * C * C * K * K * H * W;
    const x = randn(shape, { seed: 1 });
    const w = randn([C, C, K, K], { seed: 2 }).mul(1 / Math.sqrt(C * K * K));
    const contenders: Contender[] = [];
    const outputs: Record<string, () => Promise<Float32Array>> = {};
    const ours = (name: string, path: 'auto' | 'portable') => {
      let y: Tensor | null = null;
      contenders.push({
        name,
        run: () => {
          y?.dispose();
          setConv2dPath(path);
          try {
            y = conv2d(x, w, null, { padding: 1 });
          } finally {
            setConv2dPath('auto');
          }
        },
        sync: () => dev.sync(),
        reps: name === 'portable' && C >= 256 ? Math.min(reps, 3) : reps,
      });
      outputs[name] = () => y!.data();
    };
    if (impls.includes('rddm')) ours('rddm', 'auto');
    if (impls.includes('portable')) ours('portable', 'portable');
    let tfCleanup = () => {};
    if (tf) {
      // NHWC input and HWIO filter with the same values as ours.
      const xh = tf.tensor4d(await x.permute([0, 2, 3, 1]).contiguous().data(), [1, H, W, C]);
      const wh = tf.tensor4d(await w.permute([2, 3, 1, 0]).contiguous().data(), [K, K, C, C]);
      const backend = tf.backend() as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void; device: GPUDevice };
      let y: ReturnType<Tf['conv2d']> | null = null;
      contenders.push({
        name: 'tfjs-webgpu',
        run: () => {
          y?.dispose();
          y = tf.conv2d(xh, wh, 1, 'same');
        },
        // tfjs defers submits: flush its encoder the way its own readback does, then wait as for ours.
        sync: async () => {
          backend.ensureCommandEncoderReady();
          backend.endComputePassEncoder();
          backend.submitQueue();
          await backend.device.queue.onSubmittedWorkDone();
        },
      });
      outputs['tfjs-webgpu'] = async () => {
        const nhwc = (await y!.data()) as Float32Array;
        const nchw = new Float32Array(nhwc.length);
        for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) nchw[c * H * W + i] = nhwc[i * C + c];
        return nchw;
      };
      tfCleanup = () => tf.dispose([xh, wh, ...(y ? [y] : [])]);
    }
    if (impls.includes('composite')) {
      let y: Tensor | null = null;
      contenders.push({
        name: 'composite',
        run: () => {
          y?.dispose();
          y = compositeConv(x, w, K);
        },
        sync: () => dev.sync(),
      });
      outputs.composite = () => y!.data();
    }
    log(`conv2d ${C}->${C} ${H}x${W}: timing ${contenders.map((c) => c.name).join(', ')} …`);
    const timings = await timeInterleaved(contenders, { reps, warmup: 1 });
    const results = await Promise.all(contenders.map((c) => outputs[c.name]()));
    contenders.forEach((c, i) => {
      const diff = i === 0 ? 0 : maxRelDiff(results[i], results[0]);
      if (!(diff < 1e-4)) throw new Error(`conv2d bench: ${c.name} disagrees with ${contenders[0].name} for ${C}x${H}x${W} (max relative difference ${diff})`);
      const t = timings[i];
      cases.push({
        op: 'conv2d',
        shape: [1, C, H, W, C, K],
        impl: c.name,
        ms: t.median,
        gflops: gflops(flops, t.median),
        minMs: t.min,
        reps: t.times.length,
        workerCpuMs: t.workerCpuMs,
        gflopsPerCpuS: t.workerCpuMs ? gflops(flops, t.workerCpuMs) : null,
      });
    });
    tfCleanup();
    if (impls.includes('rddm') && !options['no-backward']) {
      const xg = x.detach();
      const wg = w.detach();
      xg.requiresGrad = true;
      wg.requiresGrad = true;
      const gy = randn([1, C, H, W], { seed: 3 });
      let y: Tensor | null = null;
      const [t] = await timeInterleaved(
        [
          {
            name: 'rddm',
            run: async () => {
              xg.grad?.dispose();
              wg.grad?.dispose();
              xg.grad = wg.grad = null;
              y?.dispose();
              y = conv2d(xg, wg, null, { padding: 1 });
              await y.backward({ grad: gy });
            },
            sync: () => dev.sync(),
          },
        ],
        { reps: Math.min(reps, 3), warmup: 1 },
      );
      // Forward + both gradients: three convolutions' worth of multiply-adds.
      cases.push({
        op: 'conv2d-fwd+bwd',
        shape: [1, C, H, W, C, K],
        impl: 'rddm',
        ms: t.median,
        gflops: gflops(3 * flops, t.median),
        minMs: t.min,
        reps: t.times.length,
        workerCpuMs: t.workerCpuMs,
        gflopsPerCpuS: t.workerCpuMs ? gflops(3 * flops, t.workerCpuMs) : null,
      });
      for (const v of [xg, wg, gy]) {
        v.grad?.dispose();
        v.dispose();
      }
      (y as Tensor | null)?.dispose();
    }
    x.dispose();
    w.dispose();
  }
  return cases;
}

/** Speed ratios per case, by wall time and by driver CPU time (the second is immune to other load on a CPU adapter). */
function summary(cases: readonly BenchCase[]): string {
  const rows: Record<string, unknown>[] = [];
  for (const key of [...new Set(cases.filter((c) => c.op === 'conv2d').map((c) => c.shape.join('x')))]) {
    const get = (impl: string) => cases.find((c) => c.op === 'conv2d' && c.shape.join('x') === key && c.impl === impl);
    const r = get('rddm');
    const ratio = (base: BenchCase | undefined, k: 'ms' | 'workerCpuMs') => (r && base && r[k] && base[k] ? (base[k] as number) / (r[k] as number) : undefined);
    const row: Record<string, unknown> = { case: key };
    for (const impl of ['tfjs-webgpu', 'portable', 'composite']) {
      row[`x ${impl} (wall)`] = ratio(get(impl), 'ms');
      row[`x ${impl} (cpu)`] = ratio(get(impl), 'workerCpuMs');
    }
    rows.push(row);
  }
  return `rddm speed-up (time of the baseline / time of rddm):\n${formatTable(rows)}`;
}

const family: BenchFamily = {
  description: '3x3 fp32 conv2d vs the portable kernels, tfjs-backend-webgpu and im2col + matmul',
  columns: ['op', 'shape', 'impl', 'ms', 'gflops', 'minMs', 'reps', 'workerCpuMs', 'gflopsPerCpuS'],
  run,
  summary,
};
export default family;

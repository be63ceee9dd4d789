/**
 * fp32 conv2d (NCHW, 'same' padding) against baselines measured in the same process on the same adapter:
 * - `rddm`: the public `conv2d` op (subgroup implicit GEMM where available; input/weight packing included);
 * - `portable`: the same op forced onto the portable kernels (register-blocked implicit GEMM, no subgroups);
 * - `tfjs-webgpu`: tf.conv2d in NHWC on tfjs-backend-webgpu, sharing our Dawn instance through navigator.gpu;
 * - `composite`: explicit im2col built from engine ops (pad, slices, concat) followed by our `matmul`.
 * Every run ends with a GPU sync; implementations are timed in interleaved rounds and reported by their median.
 * `conv2d-bwd` rows time the input and weight gradients of the rddm op (one backward call, dY given).
 * `rddm-f16` (adapters with 'shader-f16') is the rddm op on float16 input and weight with a float16 result (f32
 * sums), forward and forward + backward; its rows carry its speed-up over `rddm` and the ratio of their working
 * sets (operands + output + scratch, from the buffer pool).
 * `numpy-blas` (where python3 has numpy) is the hardware reference: a float32 GEMM of the same FLOPs on the host
 * CPU's BLAS, M = Cout, K = Cin·kh·kw, N = H·W·batch, without the im2col that would build its right operand (so it
 * is a bound, not a convolution); rddm rows carry `fractionOfNumpy`, their GFLOP/s as a fraction of numpy's.
 *
 * Options: --cases 64x64x64,320x32x32 (Cin=Cout x H x W, 3x3) --reps N
 *          --impls rddm,rddm-f16,portable,tfjs-webgpu,composite,numpy-blas --no-backward
 */
import { concat, conv2d, matmul, randn, setConv2dPath, tidy, type Tensor } from '../src/index.js';
import { formatTable, maxRelDiff, checkAgreement, f16VsF32, gflops, loadTfjsWebgpu, timeInterleaved, workingSetBytes, type BenchCase, type BenchContext, type BenchFamily, type Contender, type Tfjs } from './harness.js';
import { numpyCase, numpyNote } from './numpy-blas.js';
import { peerOf, ratio } from './summary.js';

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

/** `CxHxW` → Cin = Cout = C, 3x3 kernel, batch 1. */
function parseCase(s: string): { C: number; H: number; W: number } {
  const [C, H, W] = s.split('x').map(Number);
  if (![C, H, W].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`conv2d bench: bad case '${s}' (want CxHxW, e.g. 64x64x64)`);
  return { C, H, W };
}

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const specs = String(options.cases ?? '64x64x64,320x32x32').split(',').map(parseCase);
  const impls = String(options.impls ?? 'rddm,rddm-f16,portable,tfjs-webgpu,composite,numpy-blas').split(',');
  if (impls.includes('rddm-f16') && !dev.hasF16) {
    log("rddm-f16 skipped: this adapter has no 'shader-f16'");
    impls.splice(impls.indexOf('rddm-f16'), 1);
  }
  const reps = options.reps ? Number(options.reps) : 5;
  const K = 3;
  const tfjs = impls.includes('tfjs-webgpu') ? await loadTfjsWebgpu(dev, log) : null;
  const cases: BenchCase[] = [];
  for (const { C, H, W } of specs) {
    const shape = [1, C, H, W];
    const flops = 2 * C * C * K * K * H * W;
    const x = randn(shape, { seed: 1 });
    const w = randn([C, C, K, K], { seed: 2 }).mul(1 / Math.sqrt(C * K * K));
    const contenders: Contender[] = [];
    const outputs: Record<string, () => Promise<Float32Array>> = {};
    /** Per implementation: a run that leaves nothing but its result, and the bytes of its operands. */
    const memory: Record<string, { run: () => void; inputBytes: number }> = {};
    const cleanup: (() => void)[] = [];
    const ours = (name: string, path: 'auto' | 'portable', xi = x, wi = w) => {
      let y: Tensor | null = null;
      const once = () => {
        y?.dispose();
        setConv2dPath(path);
        try {
          y = conv2d(xi, wi, null, { padding: 1 });
        } finally {
          setConv2dPath('auto');
        }
      };
      contenders.push({
        name,
        run: once,
        sync: () => dev.sync(),
        reps: name === 'portable' && C >= 256 ? Math.min(reps, 3) : reps,
      });
      outputs[name] = () => y!.data();
      memory[name] = {
        run: () => {
          y?.dispose();
          y = null;
          once();
        },
        inputBytes: (xi.size + wi.size) * (xi.dtype === 'float16' ? 2 : 4),
      };
      cleanup.push(() => (y as Tensor | null)?.dispose());
    };
    if (impls.includes('rddm')) ours('rddm', 'auto');
    if (impls.includes('rddm-f16')) {
      const [x16, w16] = [x.toFloat16(), w.toFloat16()];
      ours('rddm-f16', 'auto', x16, w16);
      cleanup.push(() => x16.dispose(), () => w16.dispose());
    }
    if (impls.includes('portable')) ours('portable', 'portable');
    let tfCleanup = () => {};
    if (tfjs) {
      const { tf, sync } = tfjs;
      // NHWC input and HWIO filter with the same values as ours.
      const xh = tf.tensor4d(await x.permute([0, 2, 3, 1]).contiguous().data(), [1, H, W, C]);
      const wh = tf.tensor4d(await w.permute([2, 3, 1, 0]).contiguous().data(), [K, K, C, C]);
      let y: ReturnType<Tfjs['conv2d']> | null = null;
      contenders.push({
        name: 'tfjs-webgpu',
        run: () => {
          y?.dispose();
          y = tf.conv2d(xh, wh, 1, 'same');
        },
        sync,
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
    const bytes: Record<string, number> = {};
    for (const [name, m] of Object.entries(memory)) bytes[name] = await workingSetBytes(dev, m.inputBytes, m.run);
    const names = contenders.map((c) => c.name);
    // Same inputs everywhere: every result must agree with the first (float rounding only).
    checkAgreement(names, results.map((r, i) => (i === 0 ? 0 : maxRelDiff(r, results[0]))), 'conv2d', `for ${C}x${H}x${W}`);
    contenders.forEach((c, i) => {
      const t = timings[i];
      const vsF32 = f16VsF32(c.name, timings, names, bytes);
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
        ...(c.name in bytes ? { workingSetMiB: bytes[c.name] / 2 ** 20 } : {}),
        ...vsF32,
      });
    });
    if (impls.includes('numpy-blas')) {
      const like = { op: 'conv2d', shape: [1, C, H, W, C, K] };
      const gemm = { m: C, k: C * K * K, n: H * W };
      const np = numpyCase(like, gemm, flops, { reps, warmup: 1, note: `GEMM ${gemm.m}x${gemm.k} · ${gemm.k}x${gemm.n}, same FLOPs, no im2col` }, log);
      for (const impl of ['rddm', 'rddm-f16']) {
        const r = peerOf(cases, like, impl);
        if (r) r.fractionOfNumpy = ratio(r, np) ?? null;
      }
      cases.push(np);
    }
    tfCleanup();
    for (const f of cleanup) f();
    if (impls.includes('rddm') && !options['no-backward']) {
      // f32 leaves, and (rddm-f16) f16 leaves with an f16 dY: each gradient has its operand's type.
      const gy = randn([1, C, H, W], { seed: 3 });
      const variants = [{ name: 'rddm', dtype: 'float32' as const }, ...(impls.includes('rddm-f16') ? [{ name: 'rddm-f16', dtype: 'float16' as const }] : [])];
      const leaves = variants.map((v) => {
        const [xl, wl, g] = [x.toDtype(v.dtype), w.toDtype(v.dtype), gy.toDtype(v.dtype)].map((t) => (t === x || t === w || t === gy ? t.detach() : t));
        xl.requiresGrad = wl.requiresGrad = true;
        return { xl, wl, g, y: null as Tensor | null };
      });
      const timings = await timeInterleaved(
        variants.map((v, i) => ({
          name: v.name,
          run: async () => {
            const l = leaves[i];
            for (const p of [l.xl, l.wl]) {
              p.grad?.dispose();
              p.grad = null;
            }
            l.y?.dispose();
            l.y = conv2d(l.xl, l.wl, null, { padding: 1 });
            await l.y.backward({ grad: l.g });
          },
          sync: () => dev.sync(),
        })),
        { reps: Math.min(reps, 3), warmup: 1 },
      );
      variants.forEach((v, i) => {
        const t = timings[i];
        // Forward + both gradients: three convolutions' worth of multiply-adds.
        cases.push({
          op: 'conv2d-fwd+bwd',
          shape: [1, C, H, W, C, K],
          impl: v.name,
          ms: t.median,
          gflops: gflops(3 * flops, t.median),
          minMs: t.min,
          reps: t.times.length,
          workerCpuMs: t.workerCpuMs,
          gflopsPerCpuS: t.workerCpuMs ? gflops(3 * flops, t.workerCpuMs) : null,
          ...(i > 0 ? { speedupVsF32: timings[0].median / t.median } : {}),
        });
      });
      for (const l of leaves) {
        for (const v of [l.xl, l.wl, l.g]) {
          v.grad?.dispose();
          v.dispose();
        }
        l.y?.dispose();
      }
      gy.dispose();
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
    const row: Record<string, unknown> = { case: key };
    for (const impl of ['tfjs-webgpu', 'portable', 'composite']) {
      row[`x ${impl} (wall)`] = ratio(r, get(impl), 'ms');
      row[`x ${impl} (cpu)`] = ratio(r, get(impl), 'workerCpuMs');
    }
    row['of numpy (wall)'] = ratio(r, get('numpy-blas'), 'ms');
    row['of numpy (cpu)'] = ratio(r, get('numpy-blas'), 'workerCpuMs');
    const h = get('rddm-f16');
    if (h) {
      row['f16 x f32 (wall)'] = h.speedupVsF32;
      row['f16/f32 memory'] = h.memoryRatioVsF32;
      row['f16 x f32 fwd+bwd (wall)'] = cases.find((c) => c.op === 'conv2d-fwd+bwd' && c.shape.join('x') === key && c.impl === 'rddm-f16')?.speedupVsF32;
    }
    rows.push(row);
  }
  const note = numpyNote(cases);
  return `rddm speed-up (time of the baseline / time of rddm; of numpy: rddm GFLOP/s as a fraction of numpy's GEMM of the same FLOPs; f16: time of rddm f32 / time of rddm f16):\n${formatTable(rows)}${note ? `\n${note}` : ''}`;
}

const family: BenchFamily = {
  description: '3x3 fp32 conv2d vs the portable kernels, tfjs-backend-webgpu, im2col + matmul and a numpy/BLAS GEMM of the same FLOPs; the same op on float16 operands',
  columns: ['op', 'shape', 'impl', 'ms', 'gflops', 'minMs', 'reps', 'workerCpuMs', 'gflopsPerCpuS', 'fractionOfNumpy', 'workingSetMiB', 'speedupVsF32', 'memoryRatioVsF32', 'note'],
  run,
  summary,
};
export default family;

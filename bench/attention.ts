/**
 * Attention, softmax(q kᵀ / √d) v on [1, heads, L, d] (default 8 heads x 64, L = 256, 1024, 4096), against
 * baselines measured in the same process on the same adapter:
 * - `rddm`: the fused flash-style `scaledDotProductAttention` (the kernels 'auto' picks for this adapter);
 * - `portable`: the same op forced onto the portable kernels (no subgroups);
 * - `tfjs-webgpu`: tf.matMul(q, k, transposeB) · scale → tf.softmax → tf.matMul(·, v) on tfjs-backend-webgpu,
 *   sharing our Dawn instance through navigator.gpu;
 * - `composite`: our own attentionComposite (matmul, softmax, matmul; stores the L x L scores).
 * Each row also reports `peakBytes`: the most GPU memory our buffer pool had handed out during one run above
 * what was live before it (inputs excluded), from `memoryStats().peakLiveBytes`; the fused kernel's stays linear
 * in L (output + logsumexp) while the composite's grows with L². Baselines whose L x L score matrix would exceed
 * maxStorageBufferBindingSize cannot run; their rows say so. `attention-fwd+bwd` rows time forward + backward.
 *
 * Options: --lengths 256,1024,4096 --heads 8 --dim 64 --reps N --impls rddm,portable,tfjs-webgpu,composite
 *          --no-backward --max-baseline-length 1024 (longer lengths time rddm only: the baselines take minutes)
 */
import { attentionComposite, randn, scaledDotProductAttention, setAttentionKernel, type GpuDevice, type Tensor } from '../src/index.js';
import { formatTable, maxRelDiff, gflops, loadTfjsWebgpu, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily, type Contender } from './harness.js';
import { ratio } from './summary.js';

/** Pool bytes handed out by one call of `f` beyond what was live before it (after a sync, so frees have landed). */
async function peakBytesOf(dev: GpuDevice, f: () => Promise<unknown> | unknown): Promise<number> {
  await dev.sync();
  const before = dev.memoryStats().liveBytes;
  dev.pool.resetPeak();
  await f();
  await dev.sync();
  return dev.memoryStats().peakLiveBytes - before;
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 3 : 1)} MiB`;

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const lengths = String(options.lengths ?? '256,1024,4096').split(',').map(Number);
  const H = Number(options.heads ?? 8);
  const D = Number(options.dim ?? 64);
  const impls = String(options.impls ?? 'rddm,portable,tfjs-webgpu,composite').split(',');
  const reps = options.reps ? Number(options.reps) : 3;
  const maxBaseline = Number(options['max-baseline-length'] ?? 1024);
  const limit = dev.limits.maxStorageBufferBindingSize;
  const tfjs = impls.includes('tfjs-webgpu') ? await loadTfjsWebgpu(dev, log) : null;
  const cases: BenchCase[] = [];
  for (const L of lengths) {
    const shape = [1, H, L, D];
    const flops = 4 * H * L * L * D;
    const scoreBytes = 4 * H * L * L;
    const scale = 1 / Math.sqrt(D);
    const [q, k, v] = [1, 2, 3].map((seed) => randn(shape, { seed }));
    const contenders: Contender[] = [];
    const outputs: Record<string, () => Promise<Float32Array>> = {};
    const memory: Record<string, number> = {};
    const skipped: { impl: string; note: string }[] = [];
    const canBaseline = (impl: string): boolean => {
      if (!impls.includes(impl)) return false;
      if (impl !== 'portable' && scoreBytes > limit) {
        skipped.push({ impl, note: `L x L scores (${MiB(scoreBytes)}) exceed maxStorageBufferBindingSize (${MiB(limit)})` });
        return false;
      }
      if (L > maxBaseline) {
        skipped.push({ impl, note: `not timed above --max-baseline-length ${maxBaseline}` });
        return false;
      }
      return true;
    };
    const ours = (name: string, f: () => Tensor, kernel: 'auto' | 'portable' = 'auto') => {
      let y: Tensor | null = null;
      const call = () => {
        y?.dispose();
        setAttentionKernel(kernel);
        try {
          y = f();
        } finally {
          setAttentionKernel('auto');
        }
      };
      contenders.push({ name, run: call, sync: () => dev.sync(), reps: name === 'rddm' ? Math.max(reps, 3) : reps });
      outputs[name] = () => y!.data();
      return call;
    };
    if (impls.includes('rddm')) memory.rddm = await peakBytesOf(dev, ours('rddm', () => scaledDotProductAttention(q, k, v)));
    if (canBaseline('portable')) memory.portable = await peakBytesOf(dev, ours('portable', () => scaledDotProductAttention(q, k, v), 'portable'));
    let tfCleanup = () => {};
    if (tfjs && canBaseline('tfjs-webgpu')) {
      const { tf, sync } = tfjs;
      const [qt, kt, vt] = await Promise.all([q, k, v].map(async (t) => tf.tensor4d(await t.data(), [1, H, L, D])));
      let y: ReturnType<typeof tf.matMul> | null = null;
      contenders.push({
        name: 'tfjs-webgpu',
        run: () => {
          y?.dispose();
          y = tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(qt, kt, false, true), scale)), vt));
        },
        sync,
        reps,
      });
      outputs['tfjs-webgpu'] = async () => (await y!.data()) as Float32Array;
      tfCleanup = () => tf.dispose([qt, kt, vt, ...(y ? [y] : [])]);
    }
    if (canBaseline('composite')) memory.composite = await peakBytesOf(dev, ours('composite', () => attentionComposite(q, k, v)));
    log(`attention ${H}x${L}x${D}: timing ${contenders.map((c) => c.name).join(', ')} …`);
    const timings = await timeInterleaved(contenders, { reps, warmup: 1 });
    const results = await Promise.all(contenders.map((c) => outputs[c.name]()));
    contenders.forEach((c, i) => {
      const diff = i === 0 ? 0 : maxRelDiff(results[i], results[0]);
      if (!(diff < 1e-4)) throw new Error(`attention bench: ${c.name} disagrees with ${contenders[0].name} at L=${L} (max relative difference ${diff})`);
      const t = timings[i];
      cases.push({
        op: 'attention',
        shape,
        impl: c.name,
        ms: t.median,
        gflops: gflops(flops, t.median),
        minMs: t.min,
        reps: t.times.length,
        workerCpuMs: t.workerCpuMs,
        peakBytes: memory[c.name] ?? null,
      });
    });
    for (const s of skipped) cases.push({ op: 'attention', shape, impl: s.impl, ms: null as unknown as number, note: s.note });
    tfCleanup();

    if (!options['no-backward']) {
      const grads: Contender[] = [];
      const gy = randn(shape, { seed: 4 });
      const leaves = [q, k, v].map((t) => t.detach());
      const train = (name: string, f: (a: Tensor, b: Tensor, c: Tensor) => Tensor) => {
        let y: Tensor | null = null;
        const call = async () => {
          for (const t of leaves) {
            t.grad?.dispose();
            t.grad = null;
            t.requiresGrad = true;
          }
          y?.dispose();
          y = f(leaves[0], leaves[1], leaves[2]);
          await y.backward({ grad: gy });
        };
        grads.push({ name, run: call, sync: () => dev.sync() });
        return call;
      };
      memory['rddm-bwd'] = await peakBytesOf(dev, train('rddm', scaledDotProductAttention));
      if (impls.includes('composite') && scoreBytes <= limit && L <= Math.min(maxBaseline, 256)) memory['composite-bwd'] = await peakBytesOf(dev, train('composite', attentionComposite));
      log(`attention fwd+bwd ${H}x${L}x${D}: timing ${grads.map((c) => c.name).join(', ')} …`);
      const tb = await timeInterleaved(grads, { reps: Math.min(reps, 3), warmup: 0 });
      // FlashAttention's accounting: backward = 2.5 forwards (five L x L x d products); ours recomputes the scores twice.
      grads.forEach((c, i) =>
        cases.push({
          op: 'attention-fwd+bwd',
          shape,
          impl: c.name,
          ms: tb[i].median,
          gflops: gflops(3.5 * flops, tb[i].median),
          minMs: tb[i].min,
          reps: tb[i].times.length,
          workerCpuMs: tb[i].workerCpuMs,
          peakBytes: memory[`${c.name}-bwd`] ?? null,
        }),
      );
      for (const t of [...leaves, gy]) {
        t.grad?.dispose();
        t.dispose();
      }
    }
    for (const t of [q, k, v]) t.dispose();
  }
  return cases;
}

function summary(cases: readonly BenchCase[]): string {
  const rows: Record<string, unknown>[] = [];
  for (const key of [...new Set(cases.filter((c) => c.op === 'attention').map((c) => c.shape.join('x')))]) {
    const get = (impl: string) => cases.find((c) => c.op === 'attention' && c.shape.join('x') === key && c.impl === impl && c.ms);
    const r = get('rddm');
    const row: Record<string, unknown> = { case: key, 'rddm peak': r?.peakBytes != null ? MiB(r.peakBytes as number) : undefined };
    const comp = get('composite');
    row['composite peak'] = comp?.peakBytes != null ? MiB(comp.peakBytes as number) : undefined;
    for (const impl of ['tfjs-webgpu', 'portable', 'composite']) {
      row[`x ${impl} (wall)`] = ratio(r, get(impl), 'ms');
      row[`x ${impl} (cpu)`] = ratio(r, get(impl), 'workerCpuMs');
    }
    rows.push(row);
  }
  return `rddm speed-up (time of the baseline / time of rddm) and memory:\n${formatTable(rows)}`;
}

const family: BenchFamily = {
  description: 'fused attention (8 heads x 64) vs portable kernels, tfjs-backend-webgpu and matmul-softmax-matmul; peak memory',
  columns: ['op', 'shape', 'impl', 'ms', 'gflops', 'minMs', 'reps', 'workerCpuMs', 'peakBytes', 'note'],
  run,
  summary,
};
export default family;

/**
 * Elementwise ops from the generated kernel family (shaders/map.wgsl) against tfjs-backend-webgpu on the same Dawn
 * adapter: a unary op (GELU), a broadcast binary op (bias add over NCHW), a chain (x·sigmoid(x) + y) and two copies
 * (transpose of the last two dims, NCHW -> NHWC).
 * `gbps` counts each input read and the output written once (4 bytes per element).
 *
 * Options: --size N (elements, default 2^20) --reps N
 */
import { randn, tidy, type Tensor } from '../src/index.js';
import { formatTable, loadTfjsWebgpu, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily, type Contender } from './harness.js';
import { peerOf, ratio } from './summary.js';

type Tf = NonNullable<Awaited<ReturnType<typeof loadTfjsWebgpu>>>['tf'];
interface Op {
  name: string;
  bytesPerElement: number;
  ours: (x: Tensor, y: Tensor, b: Tensor) => Tensor;
  tfjs: (tf: Tf, x: ReturnType<Tf['tensor']>, y: ReturnType<Tf['tensor']>, b: ReturnType<Tf['tensor']>) => ReturnType<Tf['tensor']>;
}

const OPS: Op[] = [
  { name: 'gelu', bytesPerElement: 8, ours: (x) => x.gelu(), tfjs: (tf, x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) },
  { name: 'bias-add', bytesPerElement: 8, ours: (x, _y, b) => x.add(b), tfjs: (tf, x, _y, b) => tf.add(x, b) },
  { name: 'silu-add', bytesPerElement: 12, ours: (x, y) => tidy(() => x.silu().add(y)), tfjs: (tf, x, y) => tf.add(tf.mul(x, tf.sigmoid(x)), y) },
  // Copies (contiguous() of a view): a transpose of the last two dims, and NCHW -> NHWC.
  { name: 'copy-transpose', bytesPerElement: 8, ours: (x) => tidy(() => x.transpose(2, 3).contiguous()), tfjs: (tf, x) => tf.transpose(x, [0, 1, 3, 2]) },
  { name: 'copy-nhwc', bytesPerElement: 8, ours: (x) => tidy(() => x.permute([0, 2, 3, 1]).contiguous()), tfjs: (tf, x) => tf.transpose(x, [0, 2, 3, 1]) },
];

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const n = Number(options.size ?? 1 << 20);
  const C = 64;
  const shape = [1, C, n / C / 64, 64];
  const reps = options.reps ? Number(options.reps) : 7;
  const x = randn(shape, { seed: 1 }), y = randn(shape, { seed: 2 }), b = randn([1, C, 1, 1], { seed: 3 });
  const tfjs = await loadTfjsWebgpu(dev, log);
  const cases: BenchCase[] = [];
  for (const op of OPS) {
    const contenders: Contender[] = [];
    let out: Tensor | null = null;
    contenders.push({ name: 'rddm', run: () => { out?.dispose(); out = op.ours(x, y, b); }, sync: () => dev.sync() });
    let cleanup = () => {};
    if (tfjs) {
      const { tf, sync } = tfjs;
      const [xt, yt, bt] = [tf.tensor(await x.data(), shape), tf.tensor(await y.data(), shape), tf.tensor(await b.data(), [1, C, 1, 1])];
      let o: ReturnType<Tf['tensor']> | null = null;
      contenders.push({ name: 'tfjs-webgpu', run: () => { o?.dispose(); o = tf.tidy(() => op.tfjs(tf, xt, yt, bt)); }, sync });
      cleanup = () => tf.dispose([xt, yt, bt, ...(o ? [o] : [])]);
    }
    log(`elementwise ${op.name} on ${n} elements …`);
    const t = await timeInterleaved(contenders, { reps, warmup: 2 });
    contenders.forEach((c, i) => cases.push({ op: `elementwise-${op.name}`, shape, impl: c.name, ms: t[i].median, gbps: (op.bytesPerElement * n) / (t[i].median * 1e6), workerCpuMs: t[i].workerCpuMs }));
    cleanup();
    (out as Tensor | null)?.dispose();
  }
  return cases;
}

const family: BenchFamily = {
  description: 'generated elementwise kernels (GELU, broadcast add, SiLU+add, transpose copies) vs tfjs-backend-webgpu',
  columns: ['op', 'impl', 'ms', 'gbps', 'workerCpuMs'],
  run,
  summary: (cases) =>
    formatTable(
      cases
        .filter((c) => c.impl === 'rddm')
        .map((r) => ({ op: r.op, 'x tfjs-webgpu (wall)': ratio(r, peerOf(cases, r, 'tfjs-webgpu')), 'x tfjs-webgpu (cpu)': ratio(r, peerOf(cases, r, 'tfjs-webgpu'), 'workerCpuMs') })),
    ),
};
export default family;

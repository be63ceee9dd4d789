/**
 * Elementwise ops from the generated kernel family (shaders/map.wgsl) against tfjs-backend-webgpu on the same Dawn
 * adapter: a unary op (GELU), a broadcast binary op (bias add over NCHW) and a chain (x·sigmoid(x) + y).
 * `gbps` counts each input read and the output written once (4 bytes per element).
 *
 * Options: --size N (elements, default 2^20) --reps N
 */
import { randn, tidy, type Tensor } from '../src/index.js';
import { formatTable, loadTfjsWebgpu, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily, type Contender } from './harness.js';

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
  description: 'generated elementwise kernels (GELU, broadcast add, SiLU+add) vs tfjs-backend-webgpu',
  columns: ['op', 'impl', 'ms', 'gbps', 'workerCpuMs'],
  run,
  summary: (cases) =>
    formatTable(
      [...new Set(cases.map((c) => c.op))].map((op) => {
        const r = cases.find((c) => c.op === op && c.impl === 'rddm')!;
        const t = cases.find((c) => c.op === op && c.impl === 'tfjs-webgpu');
        return { op, 'rddm/tfjs speed-up': t ? (t.ms / r.ms).toFixed(2) + 'x' : 'n/a' };
      }),
    ),
};
export default family;

/**
 * GroupNorm on NCHW (default: 32 groups over 320 channels at 32x32, SD's UNet width, and 128 channels at 128x128)
 * against baselines measured in the same process on the same adapter:
 * - `rddm`: the fused `groupNorm` op (two passes: chunked statistics, then normalise + affine);
 * - `rddm+silu`: the same with the SiLU fused in (what every diffusers ResNet block applies);
 * - `tfjs-webgpu`: tf.moments over each group, then (x - mean)·rsqrt(var + eps)·γ + β (and ·sigmoid for +silu),
 *   on tfjs-backend-webgpu sharing our Dawn instance;
 * - `composite`: the same formula from our own ops (reshape, mean, sub, square, mean, rsqrt, mul, add).
 * `gbps` counts one read of x and one write of y (8 bytes per element). `groupnorm-fwd+bwd` rows time forward and
 * the gradients of x, weight and bias.
 *
 * Options: --cases 320x32x32,128x128x128 (CxHxW, batch 1) --groups 32 --reps N --impls rddm,tfjs-webgpu,composite
 *          --no-backward
 */
import { groupNorm, randn, tidy, type Tensor } from '../src/index.js';
import { formatTable, loadTfjsWebgpu, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily, type Contender } from './harness.js';
import { ratio } from './summary.js';

const EPS = 1e-5;

/** GroupNorm (+ SiLU) from engine ops: the unfused baseline. */
function composite(x: Tensor, groups: number, w: Tensor, b: Tensor, silu: boolean): Tensor {
  return tidy(() => {
    const [N, C] = x.shape;
    const xr = x.reshape([N, groups, -1]);
    const mean = xr.mean(2, true);
    const centered = xr.sub(mean);
    const rstd = centered.square().mean(2, true).add(EPS).rsqrt();
    const ch = [1, C, ...x.shape.slice(2).map(() => 1)];
    const y = centered.mul(rstd).reshape(x.shape).mul(w.reshape(ch)).add(b.reshape(ch));
    return silu ? y.silu() : y;
  });
}

function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const specs = String(options.cases ?? '320x32x32,128x128x128').split(',').map((s) => s.split('x').map(Number));
  const G = Number(options.groups ?? 32);
  const impls = String(options.impls ?? 'rddm,tfjs-webgpu,composite').split(',');
  const reps = options.reps ? Number(options.reps) : 7;
  const tfjs = impls.includes('tfjs-webgpu') ? await loadTfjsWebgpu(dev, log) : null;
  const cases: BenchCase[] = [];
  for (const [C, H, W] of specs) {
    const shape = [1, C, H, W];
    const n = C * H * W;
    const x = randn(shape, { seed: 1 });
    const w = randn([C], { seed: 2 });
    const b = randn([C], { seed: 3 });
    for (const silu of [false, true]) {
      const suffix = silu ? '+silu' : '';
      const contenders: Contender[] = [];
      const outputs: Record<string, () => Promise<Float32Array>> = {};
      const ours = (name: string, f: () => Tensor) => {
        let y: Tensor | null = null;
        contenders.push({
          name,
          run: () => {
            y?.dispose();
            y = f();
          },
          sync: () => dev.sync(),
        });
        outputs[name] = () => y!.data();
      };
      if (impls.includes('rddm')) ours(`rddm${suffix}`, () => groupNorm(x, G, w, b, EPS, { silu }));
      let tfCleanup = () => {};
      if (tfjs) {
        const { tf, sync } = tfjs;
        const xt = tf.tensor4d(await x.data(), [1, C, H, W]);
        const wt = tf.tensor4d(await w.data(), [1, C, 1, 1]);
        const bt = tf.tensor4d(await b.data(), [1, C, 1, 1]);
        let y: ReturnType<typeof tf.add> | null = null;
        contenders.push({
          name: `tfjs-webgpu${suffix}`,
          run: () => {
            y?.dispose();
            y = tf.tidy(() => {
              const xr = tf.reshape(xt, [1, G, (C / G) * H * W]);
              const { mean, variance } = tf.moments(xr, 2, true);
              const normed = tf.reshape(tf.mul(tf.sub(xr, mean), tf.rsqrt(tf.add(variance, EPS))), [1, C, H, W]);
              const out = tf.add(tf.mul(normed, wt), bt);
              return silu ? tf.mul(out, tf.sigmoid(out)) : out;
            });
          },
          sync,
        });
        outputs[`tfjs-webgpu${suffix}`] = async () => (await y!.data()) as Float32Array;
        tfCleanup = () => tf.dispose([xt, wt, bt, ...(y ? [y] : [])]);
      }
      if (impls.includes('composite')) ours(`composite${suffix}`, () => composite(x, G, w, b, silu));
      log(`groupnorm${suffix} ${C}x${H}x${W} / ${G} groups: timing ${contenders.map((c) => c.name).join(', ')} …`);
      const timings = await timeInterleaved(contenders, { reps, warmup: 2 });
      const results = await Promise.all(contenders.map((c) => outputs[c.name]()));
      contenders.forEach((c, i) => {
        const diff = i === 0 ? 0 : maxAbsDiff(results[i], results[0]);
        if (!(diff < 1e-3)) throw new Error(`groupnorm bench: ${c.name} disagrees with ${contenders[0].name} for ${C}x${H}x${W} (max difference ${diff})`);
        const t = timings[i];
        cases.push({
          op: `groupnorm${suffix}`,
          shape: [1, C, H, W, G],
          impl: c.name.replace(suffix, ''),
          ms: t.median,
          gbps: (8 * n) / (t.median * 1e6),
          minMs: t.min,
          reps: t.times.length,
          workerCpuMs: t.workerCpuMs,
        });
      });
      tfCleanup();
    }
    if (!options['no-backward']) {
      const gy = randn(shape, { seed: 4 });
      const leaves = [x, w, b].map((t) => t.detach());
      const contenders: Contender[] = [];
      const train = (name: string, f: (a: Tensor, c: Tensor, d: Tensor) => Tensor) => {
        let y: Tensor | null = null;
        contenders.push({
          name,
          run: async () => {
            for (const t of leaves) {
              t.grad?.dispose();
              t.grad = null;
              t.requiresGrad = true;
            }
            y?.dispose();
            y = f(leaves[0], leaves[1], leaves[2]);
            await y.backward({ grad: gy });
          },
          sync: () => dev.sync(),
        });
      };
      if (impls.includes('rddm')) train('rddm', (a, c, d) => groupNorm(a, G, c, d, EPS, { silu: true }));
      if (impls.includes('composite')) train('composite', (a, c, d) => composite(a, G, c, d, true));
      log(`groupnorm+silu fwd+bwd ${C}x${H}x${W}: timing ${contenders.map((c) => c.name).join(', ')} …`);
      const tb = await timeInterleaved(contenders, { reps: Math.min(reps, 5), warmup: 1 });
      contenders.forEach((c, i) =>
        cases.push({
          op: 'groupnorm+silu-fwd+bwd',
          shape: [1, C, H, W, G],
          impl: c.name,
          ms: tb[i].median,
          minMs: tb[i].min,
          reps: tb[i].times.length,
          workerCpuMs: tb[i].workerCpuMs,
        }),
      );
      for (const t of [...leaves, gy]) {
        t.grad?.dispose();
        t.dispose();
      }
    }
    for (const t of [x, w, b]) t.dispose();
  }
  return cases;
}

function summary(cases: readonly BenchCase[]): string {
  const rows: Record<string, unknown>[] = [];
  for (const op of [...new Set(cases.map((c) => c.op))]) {
    for (const key of [...new Set(cases.filter((c) => c.op === op).map((c) => c.shape.join('x')))]) {
      const get = (impl: string) => cases.find((c) => c.op === op && c.shape.join('x') === key && c.impl === impl);
      const r = get('rddm');
      const row: Record<string, unknown> = { op, case: key };
      for (const impl of ['tfjs-webgpu', 'composite']) {
        row[`x ${impl} (wall)`] = ratio(r, get(impl), 'ms');
        row[`x ${impl} (cpu)`] = ratio(r, get(impl), 'workerCpuMs');
      }
      rows.push(row);
    }
  }
  return `rddm speed-up (time of the baseline / time of rddm):\n${formatTable(rows)}`;
}

const family: BenchFamily = {
  description: 'GroupNorm (+SiLU) fused vs tfjs-backend-webgpu (tf.moments) and composed engine ops',
  columns: ['op', 'shape', 'impl', 'ms', 'gbps', 'minMs', 'reps', 'workerCpuMs'],
  run,
  summary,
};
export default family;

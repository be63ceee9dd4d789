/**
 * One AdamW step over many parameter tensors: our fused kernel (one dispatch per tensor) against the same update
 * composed from engine ops (about ten elementwise kernels per tensor) — the memory-traffic case for fusion.
 *
 * Options: --tensors N (default 100) --elements N per tensor (default 10000) --reps N
 */
import { nn, optim, randn, tidy, noGrad, keep, type Tensor } from '../src/index.js';
import { formatTable, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily } from './harness.js';
import { ratio } from './summary.js';

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const count = Number(options.tensors ?? 100), size = Number(options.elements ?? 10_000);
  const reps = options.reps ? Number(options.reps) : 7;
  const params = Array.from({ length: count }, (_, i) => nn.parameter(randn([size], { seed: i })));
  for (const [i, p] of params.entries()) p.grad = randn([size], { seed: 1000 + i });
  const fused = new optim.AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
  // The composite keeps its own moments and parameter copies.
  const [b1, b2, eps, lr, wd] = [0.9, 0.999, 1e-8, 1e-3, 0.01];
  let m = params.map((p) => keep(p.mul(0)));
  let v = params.map((p) => keep(p.mul(0)));
  let w = params.map((p) => keep(p.clone()));
  let t = 0;
  const composite = () =>
    noGrad(() => {
      t++;
      const next = params.map((p, i) =>
        tidy(() => {
          const g = p.grad!;
          const mi = m[i].mul(b1).add(g.mul(1 - b1));
          const vi = v[i].mul(b2).add(g.square().mul(1 - b2));
          const upd = mi.div(1 - b1 ** t).div(vi.div(1 - b2 ** t).sqrt().add(eps)).mul(lr);
          return [keep(mi), keep(vi), keep(w[i].mul(1 - lr * wd).sub(upd))] as Tensor[];
        }),
      );
      [m, v, w].forEach((arr) => arr.forEach((x) => x.dispose()));
      m = next.map((x) => x[0]);
      v = next.map((x) => x[1]);
      w = next.map((x) => x[2]);
    });
  log(`adamw over ${count} tensors x ${size} …`);
  const timings = await timeInterleaved(
    [
      { name: 'rddm', run: () => fused.step(), sync: () => dev.sync() },
      { name: 'composite', run: composite, sync: () => dev.sync() },
    ],
    { reps, warmup: 2 },
  );
  const n = count * size;
  return timings.map((tm, i) => ({ op: 'adamw-step', shape: [count, size], impl: i ? 'composite' : 'rddm', ms: tm.median, gbps: (7 * 4 * n) / (tm.median * 1e6), workerCpuMs: tm.workerCpuMs }));
}

const family: BenchFamily = {
  description: 'one AdamW step over many tensors: fused kernel vs the update composed from engine ops',
  columns: ['op', 'shape', 'impl', 'ms', 'gbps', 'workerCpuMs'],
  run,
  summary: (cases) => {
    const [r, c] = ['rddm', 'composite'].map((impl) => cases.find((x) => x.impl === impl));
    return formatTable([{ 'x composite (wall)': ratio(r, c), 'x composite (cpu)': ratio(r, c, 'workerCpuMs') }]);
  },
};
export default family;

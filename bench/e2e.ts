/**
 * End to end: one tiny-UNet ε-prediction training step (forward, backward, AdamW) and one-step restoration of a
 * 256² and a 512² mosaic with the tiny RDDM configs (random weights: speed does not depend on them), each as
 * - `rddm`: the kernels this adapter gets (autotuned matmul, subgroup kernels where they pay);
 * - `portable`: the same model on the portable kernels only (general matmul, portable conv2d and attention), the
 *   path any WebGPU adapter runs — the end-to-end value of the adapter-specific kernels.
 * Timed interleaved in the same run; then one profiled iteration of `rddm` gives the share of wall time spent
 * inside kernels (GPU timestamps), which is what dispatch overhead and host work leave over.
 *
 * Options: --workloads train-step,restore-256,restore-512 --reps N
 */
import { profileWorkloads } from '../src/cli/commands/profile-workloads.js';
import { setMatmulConfig } from '../src/ops/autotune.js';
import { DEFAULT_GENERAL } from '../src/ops/matmul-kernels.js';
import { setConv2dPath } from '../src/ops/conv2d-plan.js';
import { setAttentionKernel } from '../src/ops/attention-views.js';
import { summarize } from '../runtime/profiler.js';
import { formatTable, timeInterleaved, type BenchCase, type BenchContext, type BenchFamily } from './harness.js';
import { peerOf, ratio } from './summary.js';

const WORKLOADS: Record<string, { workload: string; size?: number; label: string }> = {
  'train-step': { workload: 'train-step', label: 'tiny-UNet train step (batch 2, 16² latents)' },
  'restore-256': { workload: 'restore', size: 256, label: 'one-step restore 256²' },
  'restore-512': { workload: 'restore', size: 512, label: 'one-step restore 512²' },
};

function usePortable(on: boolean): void {
  setMatmulConfig(on ? DEFAULT_GENERAL : null);
  setConv2dPath(on ? 'portable' : 'auto');
  setAttentionKernel(on ? 'portable' : 'auto');
}

async function run(ctx: BenchContext): Promise<BenchCase[]> {
  const { dev, options, log } = ctx;
  const names = String(options.workloads ?? Object.keys(WORKLOADS).join(',')).split(',');
  const reps = options.reps ? Number(options.reps) : 3;
  const cases: BenchCase[] = [];
  for (const name of names) {
    const w = WORKLOADS[name];
    if (!w) throw new Error(`e2e: unknown workload '${name}'; known: ${Object.keys(WORKLOADS).join(', ')}`);
    log(`e2e ${w.label} …`);
    const step = await profileWorkloads[w.workload].prepare({ size: w.size });
    const sync = () => dev.sync();
    const timings = await timeInterleaved(
      [
        { name: 'rddm', run: () => (usePortable(false), step()), sync },
        { name: 'portable', run: () => (usePortable(true), step()), sync },
      ],
      { reps, warmup: 1 },
    );
    usePortable(false);
    // One profiled iteration: kernel time against wall time.
    const t0 = performance.now();
    dev.startProfiling();
    await step();
    const prof = await dev.stopProfiling();
    const wall = performance.now() - t0;
    const kernelMs = summarize(prof.events).reduce((s, r) => s + r.totalMs, 0);
    const share = dev.hasTimestamps ? kernelMs / wall : null;
    for (const [i, impl] of ['rddm', 'portable'].entries()) {
      cases.push({
        op: name,
        shape: w.size ? [w.size, w.size] : [2, 16, 16],
        impl,
        ms: timings[i].median,
        minMs: timings[i].min,
        reps,
        workerCpuMs: timings[i].workerCpuMs,
        ...(i === 0 ? { dispatches: prof.events.length, kernelShare: share === null ? 'no timestamps' : Number(share.toFixed(3)) } : {}),
      });
    }
  }
  return cases;
}

const family: BenchFamily = {
  description: 'end to end: tiny-UNet training step, 256² and 512² one-step restoration (adapter kernels vs portable)',
  columns: ['op', 'impl', 'ms', 'minMs', 'reps', 'dispatches', 'kernelShare', 'workerCpuMs'],
  run,
  summary: (cases) =>
    formatTable(
      cases
        .filter((c) => c.impl === 'rddm')
        .map((c) => ({
          workload: c.op,
          'x portable (wall)': ratio(c, peerOf(cases, c, 'portable')),
          'x portable (cpu)': ratio(c, peerOf(cases, c, 'portable'), 'workerCpuMs'),
          'kernel share of wall': c.kernelShare,
        })),
    ),
};
export default family;

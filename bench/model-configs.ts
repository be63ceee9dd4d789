// The A/B that picks the tiny model's configs (issue 26: a one-step 256² restore on lavapipe in ≤ 4 s, and a whole
// training recipe in ≤ 8 h). For each candidate (a VAE config + a UNet config, random weights: speed does not
// depend on them):
// - restore: one-step restoration of a random 256² mosaic (`RddmSystem.restoreOneStep`, what `rddm profile restore`
//   times), candidates interleaved, then one profiled pass for the share of its kernel time spent in attention;
// - train: the wall time of a training step of each recipe stage (rvae1 → rvae2 → unet → onestep on one system, as
//   `scripts/train-weights.sh` runs them) at the recipe's batch and crop: the median over the steps after every
//   Bayer pattern's graph was captured (a captured step replays from its third call).
// Usage: node scripts/run-ts.mjs bench/model-configs.ts [--mode restore|train|both] [--candidates a,b] [--reps 3]
//        [--size 256] [--batch 4] [--crop 64] [--steps 12] [--json FILE]
// scripts/ab-model-configs.sh runs it; weights/README.md records its table.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { init, manualSeed, noGrad, rand } from '../src/index.js';
import { RddmSystem, DEFAULT_RDDM_CONFIG } from '../src/rddm/system.js';
import { makeStageTask, type Stage } from '../src/rddm/tasks.js';
import { train } from '../src/train/loop.js';
import { MemoryRunStore } from '../src/train/memory-store.js';
import { loadPhotos } from '../src/node/load-photos.js';
import { summarize } from '../runtime/profiler.js';
import { timeInterleaved } from './harness.js';

/** Candidates by label: the shipped pair first (the baseline), then the lean family. */
const CANDIDATES: Record<string, { vae: string; unet: string }> = {
  shipped: { vae: 'tiny-vae-x2', unet: 'tiny-unet' },
  'unet-top-off': { vae: 'tiny-vae-x2', unet: 'lean-unet-2' },
  'lean-2': { vae: 'lean-vae-x2', unet: 'lean-unet-2' },
  'lean-3': { vae: 'lean-vae-x2', unet: 'lean-unet-3' },
  'lean-3a': { vae: 'lean-vae-x2', unet: 'lean-unet-3a' },
  'lean-3w': { vae: 'lean-vae-x2', unet: 'lean-unet-3w' },
};
const STAGES: Stage[] = ['rvae1', 'rvae2', 'unet', 'onestep'];

const { values: o } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    candidates: { type: 'string', default: Object.keys(CANDIDATES).join(',') },
    reps: { type: 'string', default: '3' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '4' },
    crop: { type: 'string', default: '64' },
    steps: { type: 'string', default: '12' },
    json: { type: 'string' },
  },
});
const names = o.candidates!.split(',');
for (const n of names) if (!CANDIDATES[n]) throw new Error(`unknown candidate '${n}'; known: ${Object.keys(CANDIDATES).join(', ')}`);

/** A system as the recipe builds it (LoRA rank 16, per-channel exposure, T = 250), with random weights. */
function system(name: string): RddmSystem {
  manualSeed(1);
  const sys = new RddmSystem({ ...DEFAULT_RDDM_CONFIG, ...CANDIDATES[name], timestep: 250, loraRank: 16, exposurePerChannel: true });
  sys.nameParameters();
  return sys;
}
const count = (ps: { size: number }[]) => ps.reduce((s, p) => s + p.size, 0);

const dev = await init();
const adapter = dev.adapter.description || dev.adapter.vendor;
const report: Record<string, unknown> = { adapter, candidates: Object.fromEntries(names.map((n) => [n, CANDIDATES[n]])) };

if (o.mode === 'restore' || o.mode === 'both') {
  const s = Number(o.size);
  const m = rand([1, 1, s, s], { seed: 4 });
  const systems = names.map((n) => {
    const sys = system(n);
    const params = { unet: count(sys.unet.parameters()), vae: count(sys.vae.parameters()) };
    sys.applyLora();
    sys.eval();
    return { name: n, sys, params };
  });
  const runOf = (sys: RddmSystem) => async () => {
    const out = noGrad(() => sys.restoreOneStep(m, 'RGGB'));
    await out.image.data();
    for (const t of [out.zL, out.zH, out.image]) t.dispose();
  };
  const timings = await timeInterleaved(systems.map((x) => ({ name: x.name, run: runOf(x.sys), sync: () => dev.sync() })), { reps: Number(o.reps), warmup: 1 });
  const rows = [];
  for (const [i, x] of systems.entries()) {
    dev.startProfiling();
    await runOf(x.sys)();
    const kernels = summarize((await dev.stopProfiling()).events);
    const total = kernels.reduce((a, r) => a + r.totalMs, 0);
    const attn = kernels.filter((r) => r.name.startsWith('attention')).reduce((a, r) => a + r.totalMs, 0);
    rows.push({ candidate: x.name, ...CANDIDATES[x.name], unetParams: x.params.unet, vaeParams: x.params.vae, medianMs: timings[i].median, minMs: timings[i].min, timesMs: timings[i].times, workerCpuMs: timings[i].workerCpuMs, attentionShare: total ? attn / total : null });
  }
  console.log(`\none-step ${s}² restore on ${adapter}, random weights, ${o.reps} interleaved runs each (ms)`);
  console.log(`| candidate | VAE | UNet | UNet params | VAE params | median ms | min ms | runs ms | lavapipe CPU ms/run | attention share |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    console.log(`| ${r.candidate} | ${r.vae} | ${r.unet} | ${r.unetParams} | ${r.vaeParams} | ${r.medianMs.toFixed(0)} | ${r.minMs.toFixed(0)} | ${r.timesMs.map((t) => t.toFixed(0)).join(' / ')} | ${r.workerCpuMs === null ? '—' : r.workerCpuMs.toFixed(0)} | ${r.attentionShare === null ? '—' : (100 * r.attentionShare).toFixed(0) + '%'} |`);
  }
  report.restore = { size: s, reps: Number(o.reps), rows };
}

if (o.mode === 'train' || o.mode === 'both') {
  const photos = (await loadPhotos('train')).map((p) => p.image);
  const steps = Number(o.steps);
  const rows = [];
  for (const n of names) {
    const sys = system(n);
    sys.train();
    const row: Record<string, unknown> = { candidate: n };
    for (const stage of STAGES) {
      if (stage === 'rvae2') {
        // As runStage: E_raw starts as a copy of E_lin, then gets its CMB-LoRA.
        const src = new Map(sys.vae.namedParameters());
        sys.raw_encoder.loadStateDict(Object.fromEntries(sys.raw_encoder.namedParameters().filter(([k]) => src.has(k)).map(([k]) => [k, src.get(k)!])), { strict: false });
        sys.applyLora();
      }
      const task = makeStageTask(sys, stage, { photos, seed: 1, batch: Number(o.batch), crop: Number(o.crop), lr: 1e-4, degradeProb: 0 });
      const store = new MemoryRunStore();
      const stamps: number[] = [];
      const append = store.appendLog.bind(store);
      store.appendLog = async (r) => {
        stamps.push(performance.now());
        return append(r);
      };
      const t0 = performance.now();
      await train(task, { steps, seed: 1, config: {}, store, resume: false, clipNorm: 1, checkpointEvery: 1e9, label: `${n} ${stage}`, log: () => {} });
      task.optimizer.dispose();
      // Steps 9+ replay captured graphs for every pattern (two calls each before replay, four patterns).
      const dts = stamps.slice(1).map((t, i) => t - stamps[i]).slice(8);
      const sorted = [...dts].sort((a, b) => a - b);
      row[stage] = { medianMs: sorted[sorted.length >> 1], params: count(task.optimizer.params), firstStepsMs: stamps[0] - t0 };
      console.error(`${n} ${stage}: ${dts.map((d) => d.toFixed(0)).join(' ')} ms`);
    }
    rows.push(row);
  }
  console.log(`\ntraining step wall time on ${adapter} (batch ${o.batch} × ${o.crop}², median of steps 10–${steps}, ms)`);
  console.log(`| candidate | ${STAGES.join(' | ')} |`);
  console.log(`|---|${STAGES.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.candidate} | ${STAGES.map((s) => ((r[s] as { medianMs: number }).medianMs ?? NaN).toFixed(0)).join(' | ')} |`);
  report.train = { batch: Number(o.batch), crop: Number(o.crop), steps, rows };
}
if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
process.exit(0);

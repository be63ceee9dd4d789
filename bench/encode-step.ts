/**
 * Host encoding per dispatch of an op-by-op tiny-UNet training step, without the profiler (whose per-dispatch passes
 * change batching): time spent inside the command batch's dispatch (uniform packing, bind group, encoding) over 3
 * steps after 2 warm-ups, and how many bind groups the cache served. Runs on older checkouts too (no cache: 0/0).
 *   node scripts/run-ts.mjs bench/encode-step.ts
 */
import { init, getDevice } from '../src/index.js';
import { profileWorkloads } from '../src/cli/commands/profile-workloads.js';

await init();
const dev = getDevice();
const run = await profileWorkloads['train-step'].prepare({ config: 'tiny-unet', eager: true } as never);
await run();
await run();
await dev.sync();
const batch = dev.batch as unknown as { dispatch(spec: unknown): void; bindGroups?: { hits: number; misses: number } };
const orig = batch.dispatch.bind(batch);
let ms = 0;
let n = 0;
batch.dispatch = (spec) => {
  const t0 = performance.now();
  orig(spec);
  ms += performance.now() - t0;
  n++;
};
const [h0, m0] = [batch.bindGroups?.hits ?? 0, batch.bindGroups?.misses ?? 0];
const w0 = performance.now();
for (let i = 0; i < 3; i++) await run();
const wall = (performance.now() - w0) / 3;
const out = { encodeUsPerDispatch: (ms / n) * 1000, dispatchesPerStep: n / 3, wallMsPerStep: wall, bindGroupHits: (batch.bindGroups?.hits ?? 0) - h0, bindGroupMisses: (batch.bindGroups?.misses ?? 0) - m0 };
console.log(JSON.stringify(out));
process.exit(0);

/**
 * Before/after table for `rddm profile`, measured interleaved (this machine's load moves wall time by ±50%, so runs
 * of the two checkouts alternate and the table reports min and median): dispatches, wall, GPU kernel time and its
 * share, and host encode time per dispatch.
 *   node scripts/run-ts.mjs bench/profile-compare.ts --base ../old-checkout [--runs 5] [--workload train-step]
 *        [--variants captured,eager]
 * The base runs its own `rddm profile` (any version: the text output is parsed); `eager` adds --eager for this
 * checkout. Writes the rows as JSON with --json FILE.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const arg = (name: string, def?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const base = arg('base');
if (!base) throw new Error('profile-compare: --base DIR (a checkout of the commit to compare with) is required');
const runs = Number(arg('runs', '5'));
const workload = arg('workload', 'train-step')!;
const variants = arg('variants', 'captured,eager')!.split(',');

interface Sample {
  wall: number;
  gpu: number;
  dispatches: number;
  encode: number;
}

function profile(dir: string, extra: string[]): Sample {
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'src/cli/main.ts', 'profile', workload, '--config', 'tiny-unet', '--top', '1', ...extra], {
    cwd: resolve(dir),
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const head = /wall ([\d.]+) ms, GPU kernels ([\d.]+) ms .* (\d+) dispatches/.exec(out);
  const enc = /encode ([\d.]+) ms/.exec(out);
  if (!head) throw new Error(`profile in ${dir} printed no summary:\n${out.slice(-2000)}`);
  return { wall: Number(head[1]), gpu: Number(head[2]), dispatches: Number(head[3]), encode: enc ? (1000 * Number(enc[1])) / Number(head[3]) : NaN };
}

const series: Record<string, Sample[]> = { base: [] };
for (const v of variants) series[v] = [];
for (let i = 0; i < runs; i++) {
  series.base.push(profile(base, []));
  for (const v of variants) series[v].push(profile('.', v === 'eager' ? ['--eager'] : []));
  console.error(`run ${i + 1}/${runs} done`);
}
const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
};
const rows = Object.entries(series).map(([name, ss]) => ({
  name,
  dispatches: ss[0].dispatches,
  wall: stat(ss.map((s) => s.wall)),
  gpu: stat(ss.map((s) => s.gpu)),
  kernelShare: stat(ss.map((s) => s.gpu / s.wall)),
  encodeUs: stat(ss.map((s) => s.encode)),
}));
const b = rows[0];
console.log(`| ${workload} | dispatches | wall ms (min / median) | vs base (min / median) | GPU kernel ms (median) | kernel share (median) | encode µs/dispatch (median) | vs base |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.dispatches} | ${r.wall.min.toFixed(0)} / ${r.wall.median.toFixed(0)} | ${(b.wall.min / r.wall.min).toFixed(2)}× / ${(b.wall.median / r.wall.median).toFixed(2)}× | ` +
      `${r.gpu.median.toFixed(0)} | ${(100 * r.kernelShare.median).toFixed(0)}% | ${r.encodeUs.median.toFixed(1)} | ${(r.encodeUs.median / b.encodeUs.median).toFixed(2)}× |`,
  );
}
const json = arg('json');
if (json) writeFileSync(json, JSON.stringify({ workload, runs, rows, series }, null, 2) + '\n');

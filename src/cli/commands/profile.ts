import { intFlag, outputPath, parseArgs, UsageError, type Command, inputWeights } from '../command.js';
import { writeFileAtomic } from '../../node/atomic-write.js';
import { init, getDevice, liveStats } from '../../index.js';
import { summarize, toTraceEvents } from '../../../runtime/index.js';
import { profileWorkloads } from './profile-workloads.js';
import { MODEL_CONFIG_NAMES } from '../../models/configs.js';

/** Runs a workload under the profiler and prints the top kernels, CPU spans, memory, and a Chrome trace. */
export const profile: Command = {
  name: 'profile',
  summary: 'profile a workload per kernel (GPU timestamps) and write a Chrome/Perfetto trace',
  usage: `usage: rddm profile WORKLOAD [--trace FILE] [--json FILE] [--size N] [--config NAME] [--steps N] [--top N] [--weights DIR] [--eager]
workloads: ${Object.keys(profileWorkloads).join(', ')}; --weights (restore only): profile these weights, not random tiny ones;
--eager (train-step only): run the step's ops every time instead of replaying it captured;
--json FILE: the measurements as JSON (wall, kernel and CPU-span times, dispatches, every kernel's row)`,
  async run(args) {
    const { flags, positionals } = parseArgs(args, { string: ['trace', 'json', 'size', 'config', 'steps', 'top', 'weights'], boolean: ['eager'] });
    const name = positionals[0];
    if (!name) throw new UsageError('name a workload');
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const workload = profileWorkloads[name];
    if (!workload) throw new UsageError(`unknown workload '${name}' (have: ${Object.keys(profileWorkloads).join(', ')})`);
    const opts = {
      size: flags.size !== undefined ? intFlag(flags, 'size', 0, 1, 1 << 16) : undefined,
      config: flags.config as string | undefined,
      steps: flags.steps !== undefined ? intFlag(flags, 'steps', 0, 1, 1000) : undefined,
      weights: flags.weights as string | undefined,
      eager: Boolean(flags.eager),
    };
    if (opts.eager && name !== 'train-step') throw new UsageError('--eager applies to the train-step workload only');
    if (opts.weights !== undefined) {
      if (name !== 'restore') throw new UsageError('--weights applies to the restore workload only');
      inputWeights(opts.weights, `weights manifest (--weights ${opts.weights} holds none)`);
    }
    const top = intFlag(flags, 'top', 15, 1, 10_000);
    if (flags.config !== undefined && !(MODEL_CONFIG_NAMES as string[]).includes(String(flags.config))) {
      throw new UsageError(`unknown config '${flags.config}'; known: ${MODEL_CONFIG_NAMES.join(', ')}`);
    }
    if (flags.trace !== undefined) outputPath(String(flags.trace), '--trace');
    if (flags.json !== undefined) outputPath(String(flags.json), '--json');
    await init();
    const dev = getDevice();
    const run = await workload.prepare(opts);
    await run(); // warm-up: pipelines compile, pools fill
    await dev.sync();
    dev.pool.resetPeak();
    const t0 = performance.now();
    dev.startProfiling();
    await run();
    const prof = await dev.stopProfiling();
    const wall = performance.now() - t0;
    const rows = summarize(prof.events);
    const gpuMs = rows.reduce((s, r) => s + r.totalMs, 0);
    console.log(`${name} on ${dev.adapter.description || dev.adapter.vendor}: wall ${wall.toFixed(1)} ms, GPU kernels ${gpuMs.toFixed(1)} ms (${((100 * gpuMs) / wall).toFixed(0)}% of wall), ${prof.events.length} dispatches`);
    console.log(`${'kernel'.padEnd(28)} ${'calls'.padStart(6)} ${'total ms'.padStart(10)} ${'share'.padStart(7)} ${'GFLOP/s'.padStart(9)} ${'GB/s'.padStart(7)}`);
    for (const r of rows.slice(0, top)) {
      console.log(`${r.name.padEnd(28)} ${String(r.calls).padStart(6)} ${r.totalMs.toFixed(2).padStart(10)} ${(100 * r.share).toFixed(1).padStart(6)}% ${r.gflops.toFixed(2).padStart(9)} ${r.gbps.toFixed(2).padStart(7)}`);
    }
    const spanTotals = new Map<string, number>();
    for (const s of prof.spans) spanTotals.set(s.name, (spanTotals.get(s.name) ?? 0) + s.durMs);
    console.log(`CPU: ${[...spanTotals].map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`);
    const mem = dev.memoryStats();
    console.log(
      `memory: live ${(mem.liveBytes / 2 ** 20).toFixed(1)} MiB, peak ${(mem.peakLiveBytes / 2 ** 20).toFixed(1)} MiB, pool holds ${(mem.heldBytes / 2 ** 20).toFixed(1)} MiB, hits ${mem.hits}, misses ${mem.misses}; live tensors ${liveStats.tensors}`,
    );
    if (flags.json) {
      const report = {
        workload: name,
        options: opts,
        adapter: dev.adapter,
        wallMs: wall,
        gpuKernelMs: gpuMs,
        dispatches: prof.events.length,
        cpuSpansMs: Object.fromEntries(spanTotals),
        encodeUsPerDispatch: ((spanTotals.get('encode') ?? 0) * 1000) / Math.max(1, prof.events.length),
        memory: mem,
        kernels: rows,
      };
      await writeFileAtomic(String(flags.json), JSON.stringify(report, null, 2) + '\n');
      console.log(`measurements written to ${flags.json}`);
    }
    if (flags.trace) {
      await writeFileAtomic(String(flags.trace), JSON.stringify(toTraceEvents(prof.events, prof.spans, dev.adapter.description)));
      console.log(`trace written to ${flags.trace} (open in chrome://tracing or ui.perfetto.dev)`);
    }
    return 0;
  },
};

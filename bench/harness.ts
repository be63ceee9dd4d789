/**
 * What every benchmark family shares: timing with warm-up and medians, a description of the adapter and the
 * machine, the table printer and the JSON report. A family (bench/<name>.ts) exports a `BenchFamily`; bench/index.ts
 * registers it by name.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type { GpuDevice } from '../src/index.js';

/** One measured row. `impl` names the implementation ('rddm', a baseline, …); extra fields are kept in the JSON. */
export interface BenchCase {
  op: string;
  shape: readonly number[];
  impl: string;
  /** Median wall time of one run, in milliseconds (GPU work included: every run ends with a sync). */
  ms: number;
  gflops?: number;
  [extra: string]: unknown;
}

export interface BenchContext {
  dev: GpuDevice;
  /** `--name value` / `--flag` options from the command line, after the family names. */
  options: Readonly<Record<string, string | true>>;
  /** Progress lines (stderr, so stdout stays the tables). */
  log(line: string): void;
}

export interface BenchFamily {
  description: string;
  run(ctx: BenchContext): Promise<BenchCase[]>;
  /** Columns of the printed table (default: op, shape, impl, ms, gflops). */
  columns?: readonly string[];
  /** Text printed under the family's table (ratios against baselines, notes). */
  summary?(cases: readonly BenchCase[]): string;
}

export interface Timing {
  median: number;
  min: number;
  times: number[];
  /**
   * CPU time per run of every thread but the main one, in ms (Linux; null elsewhere). On a CPU adapter these are
   * the driver's workers, so this measures the work itself, unlike wall time, which other processes inflate.
   */
  workerCpuMs: number | null;
}

/** Summed user+system time of all threads of this process except the main thread, in ms (null if unknown). */
export function workerCpuMs(): number | null {
  try {
    let ticks = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

export interface Contender {
  name: string;
  run: () => unknown;
  /** Waits until the GPU work of `run` has finished. */
  sync: () => Promise<unknown>;
  /** Timed runs for this one (default: the shared `reps`), e.g. fewer for a slow baseline. */
  reps?: number;
  warmup?: number;
}

/**
 * Times several implementations of the same work in interleaved rounds (A B C A B C …), so load that comes and
 * goes (other processes on a CPU adapter) falls on all of them alike. Returns one timing per contender.
 */
export async function timeInterleaved(contenders: readonly Contender[], opts: { warmup?: number; reps?: number } = {}): Promise<Timing[]> {
  const { warmup = 1, reps = 5 } = opts;
  for (const c of contenders) {
    for (let i = 0; i < (c.warmup ?? warmup); i++) {
      await c.run();
      await c.sync();
    }
  }
  const times = contenders.map(() => [] as number[]);
  const cpu = contenders.map(() => 0 as number | null);
  const rounds = Math.max(...contenders.map((c) => c.reps ?? reps));
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of contenders.entries()) {
      if (times[i].length >= (c.reps ?? reps)) continue;
      const cpu0 = workerCpuMs();
      const t0 = performance.now();
      await c.run();
      await c.sync();
      times[i].push(performance.now() - t0);
      const cpu1 = workerCpuMs();
      cpu[i] = cpu0 === null || cpu1 === null || cpu[i] === null ? null : cpu[i]! + cpu1 - cpu0;
    }
  }
  return times.map((t, i) => {
    const sorted = [...t].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { median, min: sorted[0], times: t, workerCpuMs: cpu[i] === null ? null : cpu[i]! / t.length };
  });
}

/** Times one implementation: `warmup` untimed runs, then `reps` runs each followed by `sync`. */
export async function timeRuns(run: () => unknown, sync: () => Promise<unknown>, opts: { warmup?: number; reps?: number } = {}): Promise<Timing> {
  return (await timeInterleaved([{ name: '', run, sync }], opts))[0];
}

/** The adapter and machine a report was measured on. */
export function describeEnvironment(dev: GpuDevice): Record<string, unknown> {
  return {
    ...dev.adapter,
    features: [...dev.features].sort(),
    limits: dev.limits,
    subgroupMinSize: (dev.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize,
    subgroupMaxSize: (dev.device as { adapterInfo?: { subgroupMaxSize?: number } }).adapterInfo?.subgroupMaxSize,
    cpu: cpus()[0]?.model,
    cpuCount: cpus().length,
    // On a CPU adapter other processes compete with the "GPU": the load average says how much.
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
  if (Array.isArray(v)) return v.join('x');
  return v === undefined || v === null ? '' : String(v);
}

/** A plain-text table; numbers right-aligned. `columns` picks and orders the keys (default: all, in order seen). */
export function formatTable(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = rows.map((r) => cols.map((c) => cell(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...text.map((t) => t[i].length)));
  const numeric = cols.map((c) => rows.every((r) => r[c] == null || typeof r[c] === 'number'));
  const line = (cells: readonly string[]) => cells.map((s, i) => (numeric[i] ? s.padStart(width[i]) : s.padEnd(width[i]))).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

export interface BenchReport {
  adapter: Record<string, unknown>;
  cases: BenchCase[];
  [extra: string]: unknown;
}

export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}

export type Tfjs = typeof import('@tensorflow/tfjs-core');

/**
 * tfjs-backend-webgpu as a baseline, on the GPU object our runtime already uses (so both run on the same adapter
 * in the same process), or null with a logged reason when it cannot start. `sync` waits for all its queued work:
 * tfjs defers submits, so it flushes the encoder the way tfjs's own readback does, then waits for the queue.
 */
export async function loadTfjsWebgpu(dev: GpuDevice, log: (line: string) => void): Promise<{ tf: Tfjs; sync: () => Promise<void> } | null> {
  try {
    const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
    Object.defineProperty(globalThis, 'navigator', { value: { ...nav, gpu: dev.gpu, userAgent: 'node' }, configurable: true, writable: true });
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
    await tf.ready();
    const backend = tf.backend() as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void; device: GPUDevice };
    const sync = async () => {
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.submitQueue();
      await backend.device.queue.onSubmittedWorkDone();
    };
    return { tf, sync };
  } catch (e) {
    log(`tfjs-webgpu unavailable, skipped: ${(e as Error).message}`);
    return null;
  }
}

/** 2·M·N·K / time, in GFLOP/s. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

/**
 * Bytes one run needs: `inputBytes` (the operands, already allocated) plus the peak of what the run allocates
 * (output and scratch), read from the buffer pool (size-class rounded, as the memory really is).
 */
export async function workingSetBytes(dev: GpuDevice, inputBytes: number, run: () => unknown): Promise<number> {
  await dev.sync();
  dev.pool.resetPeak();
  const base = dev.memoryStats().liveBytes;
  await run();
  await dev.sync();
  return inputBytes + dev.memoryStats().peakLiveBytes - base;
}

/**
 * Throws unless every contender's result agrees with the first's: f32 reassociation to 1e-4 relative, and 1e-2 where
 * `rddm-f16` is one side (float16 operands and result round each value by ~2^-11). `where` names the case.
 */
export function checkAgreement(names: readonly string[], diffs: readonly number[], family: string, where: string): void {
  names.forEach((name, i) => {
    const tol = name === 'rddm-f16' || names[0] === 'rddm-f16' ? 1e-2 : 1e-4;
    if (!(diffs[i] < tol)) throw new Error(`${family} bench: ${name} disagrees with ${names[0]} ${where} (max relative difference ${diffs[i]})`);
  });
}

/** The `rddm-f16` row's speed (wall and worker CPU) and working-set ratios against `rddm` in the same run; {} otherwise. */
export function f16VsF32(name: string, timings: readonly Timing[], names: readonly string[], bytes: Record<string, number>): Record<string, number | null> {
  const [f16, f32] = [names.indexOf('rddm-f16'), names.indexOf('rddm')];
  if (name !== 'rddm-f16' || f32 < 0) return {};
  const [t, b] = [timings[f16], timings[f32]];
  return {
    speedupVsF32: b.median / t.median,
    cpuSpeedupVsF32: t.workerCpuMs && b.workerCpuMs ? b.workerCpuMs / t.workerCpuMs : null,
    memoryRatioVsF32: bytes['rddm-f16'] / bytes.rddm,
  };
}

/** max |x − y| / max |y|: how far a result is from the reference, relative to the reference's scale. */
export function maxRelDiff(x: Float32Array, y: Float32Array): number {
  let d = 0;
  let s = 1e-30;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / s;
}

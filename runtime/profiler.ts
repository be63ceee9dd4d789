import type { DispatchObserver, DispatchSpec } from './command-batch.js';

/** One GPU dispatch as measured. Times in milliseconds from the start of profiling. */
export interface KernelEvent {
  name: string;
  workgroups: readonly number[];
  flops: number;
  bytes: number;
  /** GPU start/duration from timestamp queries (null where the adapter has none). */
  gpuStartMs: number | null;
  gpuMs: number | null;
  /** CPU time spent encoding it. */
  cpuEncodeMs: number;
}

export interface CpuSpan {
  name: 'encode' | 'submit' | 'wait' | 'readback';
  startMs: number;
  durMs: number;
}

const QUERIES_PER_SET = 2048;

/**
 * Opt-in per-dispatch profiling. While active, every dispatch gets its own compute pass with timestamp writes at
 * its beginning and end (where the adapter has `timestamp-query`); query results are resolved at each submit and
 * read back asynchronously. When inactive the command batch has no observer, so profiling costs nothing.
 */
export class Profiler implements DispatchObserver {
  readonly events: KernelEvent[] = [];
  readonly spans: CpuSpan[] = [];
  private readonly t0 = performance.now();
  private gpuEpochNs: bigint | null = null;
  private querySet: GPUQuerySet | null = null;
  private used = 0;
  /** Events waiting for the timestamps of the batch being recorded. */
  private batchEvents: KernelEvent[] = [];
  private resolving: Promise<void>[] = [];

  constructor(
    private readonly device: GPUDevice,
    readonly timestamps: boolean,
  ) {}

  now(): number {
    return performance.now() - this.t0;
  }

  span(name: CpuSpan['name'], startMs: number): void {
    this.spans.push({ name, startMs, durMs: this.now() - startMs });
  }

  /** Called by the batch when a batch would overflow the query set. */
  get full(): boolean {
    return this.timestamps && this.used + 2 > QUERIES_PER_SET;
  }

  beginPass(_encoder: GPUCommandEncoder, spec: DispatchSpec): GPUComputePassDescriptor | undefined {
    const ev: KernelEvent = {
      name: spec.name,
      workgroups: [spec.workgroups[0], spec.workgroups[1] ?? 1, spec.workgroups[2] ?? 1],
      flops: spec.flops ?? 0,
      bytes: spec.bytes ?? 0,
      gpuStartMs: null,
      gpuMs: null,
      cpuEncodeMs: 0,
    };
    this.events.push(ev);
    if (!this.timestamps) return undefined;
    if (!this.querySet) this.querySet = this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET, label: 'profiler' });
    const i = this.used;
    this.used += 2;
    this.batchEvents.push(ev);
    return { label: spec.name, timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 } };
  }

  beforeFinish(encoder: GPUCommandEncoder): void {
    if (!this.timestamps || !this.used || !this.querySet) return;
    const bytes = this.used * 8;
    const resolve = this.device.createBuffer({ size: bytes, usage: 0x200 /* QUERY_RESOLVE */ | 0x4 /* COPY_SRC */ });
    const read = this.device.createBuffer({ size: bytes, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
    encoder.resolveQuerySet(this.querySet, 0, this.used, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, bytes);
    const events = this.batchEvents;
    this.batchEvents = [];
    this.used = 0;
    // Each batch gets a fresh query set: the old one may still be written by the batch in flight.
    this.querySet = null;
    this.pendingRead = { read, resolve, events };
  }

  private pendingRead: { read: GPUBuffer; resolve: GPUBuffer; events: KernelEvent[] } | null = null;

  afterSubmit(): void {
    const p = this.pendingRead;
    if (!p) return;
    this.pendingRead = null;
    this.resolving.push(
      p.read.mapAsync(0x1).then(() => {
        const ts = new BigUint64Array(p.read.getMappedRange().slice(0));
        p.read.unmap();
        p.read.destroy();
        p.resolve.destroy();
        if (this.gpuEpochNs === null && ts.length) this.gpuEpochNs = ts[0];
        p.events.forEach((ev, k) => {
          const b = ts[2 * k], e = ts[2 * k + 1];
          ev.gpuStartMs = Number(b - this.gpuEpochNs!) / 1e6;
          ev.gpuMs = e >= b ? Number(e - b) / 1e6 : 0;
        });
      }),
    );
  }

  /** Waits for every outstanding timestamp readback. */
  async settle(): Promise<void> {
    await Promise.all(this.resolving);
    this.resolving = [];
  }
}

export interface KernelSummary {
  name: string;
  calls: number;
  totalMs: number;
  share: number;
  gflops: number;
  gbps: number;
}

/** Aggregates events by kernel name, sorted by total GPU time (CPU encode time where there are no timestamps). */
export function summarize(events: readonly KernelEvent[]): KernelSummary[] {
  const by = new Map<string, { calls: number; ms: number; flops: number; bytes: number }>();
  for (const e of events) {
    const s = by.get(e.name) ?? { calls: 0, ms: 0, flops: 0, bytes: 0 };
    s.calls++;
    s.ms += e.gpuMs ?? 0;
    s.flops += e.flops;
    s.bytes += e.bytes;
    by.set(e.name, s);
  }
  const total = [...by.values()].reduce((a, s) => a + s.ms, 0) || 1;
  return [...by.entries()]
    .map(([name, s]) => ({ name, calls: s.calls, totalMs: s.ms, share: s.ms / total, gflops: s.ms > 0 ? s.flops / (s.ms * 1e6) : 0, gbps: s.ms > 0 ? s.bytes / (s.ms * 1e6) : 0 }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

/** Chrome / Perfetto trace-event JSON: GPU kernels on one track, CPU spans on another. */
export function toTraceEvents(events: readonly KernelEvent[], spans: readonly CpuSpan[], adapter = ''): object {
  const traceEvents: object[] = [
    { name: 'process_name', ph: 'M', pid: 1, args: { name: `rddm ${adapter}`.trim() } },
    { name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 'GPU kernels' } },
    { name: 'thread_name', ph: 'M', pid: 1, tid: 2, args: { name: 'CPU' } },
  ];
  for (const e of events) {
    if (e.gpuStartMs === null || e.gpuMs === null) continue;
    traceEvents.push({
      name: e.name,
      cat: 'kernel',
      ph: 'X',
      pid: 1,
      tid: 1,
      ts: e.gpuStartMs * 1000,
      dur: e.gpuMs * 1000,
      args: { workgroups: e.workgroups.join('x'), flops: e.flops, bytes: e.bytes },
    });
  }
  for (const s of spans) traceEvents.push({ name: s.name, cat: 'cpu', ph: 'X', pid: 1, tid: 2, ts: s.startMs * 1000, dur: s.durMs * 1000 });
  return { traceEvents, displayTimeUnit: 'ms' };
}

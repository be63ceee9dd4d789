import { acquireGpu, type GpuSource } from './acquire-gpu.js';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { CommandBatch, layoutOf, type DispatchSpec } from './command-batch.js';
import { CaptureRecorder, CapturedGraph } from './capture.js';
import { DeviceLostError, GpuError } from './errors.js';
import { PipelineCache, type Constants } from './pipeline-cache.js';
import { StagingPool } from './readback.js';
import { Profiler } from './profiler.js';
import { awaitGpu } from './poll-throttle.js';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  origin: GpuSource['origin'];
}

export interface InitOptions {
  /** Use this GPU object instead of navigator.gpu / Dawn. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Optional features to skip even where the adapter has them (e.g. to test fallbacks). */
  disableFeatures?: string[];
  /** Dispatches per submitted batch. */
  maxDispatchesPerBatch?: number;
  /**
   * Lowers these limits below the adapter's: the engine then splits or refuses work as it would on a smaller
   * device (tests use tiny limits to reach those paths with small tensors).
   */
  limits?: Partial<Record<(typeof WANTED_LIMITS)[number], number>>;
}

const OPTIONAL_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'] as const;
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** The WebGPU device plus everything this engine keeps per device: pools, pipelines and the open batch. */
export class GpuDevice {
  readonly pool: BufferPool;
  readonly staging: StagingPool;
  readonly pipelines: PipelineCache;
  readonly batch: CommandBatch;
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<(typeof WANTED_LIMITS)[number], number>>;
  lostReason: string | null = null;
  destroyed = false;
  /** Set while profiling (startProfiling/stopProfiling); null otherwise, so the hot path pays one check. */
  profiler: Profiler | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    private readonly source: GpuSource,
    opts: InitOptions,
  ) {
    this.features = new Set([...device.features].map(String));
    const lim: Record<string, number> = {};
    for (const k of WANTED_LIMITS) lim[k] = Math.min(Number(device.limits[k]), opts.limits?.[k] ?? Infinity);
    this.limits = lim as GpuDevice['limits'];
    this.pool = new BufferPool(device, this.limits.maxStorageBufferBindingSize);
    this.staging = new StagingPool(device);
    this.pipelines = new PipelineCache(device);
    this.batch = new CommandBatch(device, this.pool, opts.maxDispatchesPerBatch);
    void device.lost.then((info) => {
      if (!this.destroyed) this.lostReason = `${info.reason}: ${info.message || 'no message'}`;
    });
  }

  /** The `GPU` object this device came from (e.g. to hand the same Dawn instance to another WebGPU library). */
  get gpu(): GPU {
    return this.source.gpu;
  }

  get hasF16(): boolean {
    return this.features.has('shader-f16');
  }
  get hasSubgroups(): boolean {
    return this.features.has('subgroups');
  }
  get hasTimestamps(): boolean {
    return this.features.has('timestamp-query');
  }

  /** Throws a clear error if this device can no longer be used. */
  assertUsable(): void {
    if (this.destroyed) throw new DeviceLostError('this GPU device was destroyed (destroyDevice()); call init() again');
    if (this.lostReason)
      throw new DeviceLostError(
        `the GPU device was lost (${this.lostReason}); call init() again to get a new device — tensors from the lost device cannot be used`,
      );
  }

  pipeline(name: string, source: string, constants?: Constants, entryPoint = 'main'): GPUComputePipeline {
    this.assertUsable();
    return this.pipelines.get(name, source, entryPoint, constants);
  }

  dispatch(spec: DispatchSpec): void {
    this.assertUsable();
    this.recorder?.commands.push({ kind: 'dispatch', spec: { ...spec, buffers: [...spec.buffers] } });
    const prof = this.profiler;
    if (!prof) {
      this.batch.dispatch(spec);
      return;
    }
    const t = prof.now();
    this.batch.dispatch(spec);
    const ev = prof.events[prof.events.length - 1];
    if (ev) ev.cpuEncodeMs = prof.now() - t;
    prof.span('encode', t);
  }

  /** Starts per-dispatch GPU timing (timestamp queries where available) and CPU spans. */
  startProfiling(): Profiler {
    this.batch.flush();
    this.profiler = new Profiler(this.device, this.hasTimestamps);
    this.batch.observer = this.profiler;
    return this.profiler;
  }

  /** Stops profiling after all recorded work has finished and its timestamps are read. */
  async stopProfiling(): Promise<Profiler> {
    const prof = this.profiler;
    if (!prof) throw new GpuError('stopProfiling(): profiling was not started');
    await this.sync();
    await prof.settle();
    this.profiler = null;
    this.batch.observer = null;
    return prof;
  }

  createBuffer(bytes: number, label?: string): GPUBuffer {
    this.assertUsable();
    return this.pool.acquire(bytes, label);
  }

  releaseBuffer(buf: GPUBuffer): void {
    if (this.destroyed || this.lostReason) return;
    this.pool.release(buf);
  }

  /**
   * Writes host data into `buf`. `writeBuffer` runs at once on the queue timeline, ahead of commands still being
   * recorded, so the open batch is submitted first: a kernel recorded earlier that writes `buf` must not land
   * after this upload.
   */
  upload(buf: GPUBuffer, data: ArrayBufferView, byteOffset = 0, opts: { fresh?: boolean } = {}): void {
    this.assertUsable();
    this.recorder?.commands.push({ kind: 'upload', buffer: buf, offset: byteOffset, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
    // A buffer just taken from the pool has no recorded commands (released buffers wait for a submit).
    if (this.batch.recording && !opts.fresh) this.batch.flush();
    this.device.queue.writeBuffer(buf, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies `bytes` from `src` (starting at `srcOffset`) to the host. A sync point: flushes the open batch. */
  async read(src: GPUBuffer, bytes: number, srcOffset = 0): Promise<ArrayBuffer> {
    this.assertUsable();
    if (this.recorder) {
      throw new GpuError('a captured step cannot read data back (it would replay without the read): read its outputs after it runs');
    }
    const alignedStart = srcOffset - (srcOffset % 4);
    const alignedBytes = Math.ceil((bytes + (srcOffset - alignedStart)) / 4) * 4;
    const staging = this.staging.acquire(alignedBytes);
    const enc = this.batch.copyEncoder();
    enc.copyBufferToBuffer(src, alignedStart, staging, 0, alignedBytes);
    const prof = this.profiler;
    const t0 = prof?.now() ?? 0;
    this.batch.flush();
    const t1 = prof?.now() ?? 0;
    if (prof) prof.span('submit', t0);
    try {
      await awaitGpu(staging.mapAsync(0x1 /* READ */, 0, alignedBytes));
      if (prof) prof.span('wait', t1);
    } catch (e) {
      this.assertUsable();
      await this.batch.checkErrors();
      throw new GpuError(`reading ${bytes} bytes back from the GPU failed: ${(e as Error).message}`);
    }
    const skip = srcOffset - alignedStart;
    const t2 = prof?.now() ?? 0;
    const out = staging.getMappedRange(0, alignedBytes).slice(skip, skip + bytes);
    staging.unmap();
    if (prof) prof.span('readback', t2);
    this.staging.release(staging);
    await this.batch.checkErrors();
    return out;
  }

  /** Submits pending work and waits until the GPU has finished it; surfaces any GPU errors. */
  async sync(): Promise<void> {
    this.assertUsable();
    this.batch.flush();
    await awaitGpu(this.device.queue.onSubmittedWorkDone());
    await this.batch.checkErrors();
  }

  /** Copies `size` bytes between buffers in stream order (recorded when capturing). */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.assertUsable();
    this.recorder?.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
    this.batch.copyEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Zeroes `size` bytes of `buf` from `offset`, in stream order (recorded when capturing). */
  clearBuffer(buf: GPUBuffer, offset: number, size: number): void {
    this.assertUsable();
    this.recorder?.commands.push({ kind: 'clear', buffer: buf, offset, size });
    this.batch.copyEncoder().clearBuffer(buf, offset, size);
  }

  private recorder: CaptureRecorder | null = null;

  /** Whether commands are being captured (see beginCapture). */
  get capturing(): boolean {
    return this.recorder !== null;
  }

  /** Starts noting every command (see runtime/capture.ts); the commands still run. */
  beginCapture(): void {
    if (this.recorder) throw new GpuError('a capture is already in progress on this device (captures do not nest)');
    this.batch.flush();
    this.recorder = new CaptureRecorder();
  }

  /** Runs `fn` at every replay of the capture in progress, before its dynamic uniforms are read (host state). */
  addCaptureHook(fn: () => void): void {
    this.recorder?.hooks.push(fn);
  }

  /** Ends the capture: the noted commands as a replayable graph. */
  endCapture(): CapturedGraph {
    const rec = this.recorder;
    if (!rec) throw new GpuError('endCapture(): no capture in progress');
    this.recorder = null;
    this.batch.flush();
    return new CapturedGraph(this.device, this.pool, this.batch, rec, layoutOf);
  }

  /** Replays a captured graph (see runtime/capture.ts), under the profiler's encode spans when profiling. */
  replay(graph: CapturedGraph): void {
    this.assertUsable();
    const prof = this.profiler;
    if (!prof) return graph.replay();
    graph.replay(
      (_name, t) => {
        const ev = prof.events[prof.events.length - 1];
        if (ev) ev.cpuEncodeMs = prof.now() - t;
        prof.span('encode', t);
      },
      () => prof.now(),
    );
  }

  /** Drops a capture in progress (its function threw). */
  abortCapture(): void {
    this.recorder = null;
  }

  memoryStats(): PoolStats {
    return this.pool.getStats();
  }

  /** A cap on GPU memory held through the pool (null: none); large up-front allocations check it with `reserve`. */
  memoryLimit: number | null = null;

  /**
   * Refuses, before anything is allocated, a request for `bytes` more that would take the pool's live memory past
   * `memoryLimit`, naming what asked, the sizes and the limit.
   */
  reserve(bytes: number, what: string): void {
    if (this.memoryLimit === null) return;
    const live = this.pool.getStats().liveBytes;
    if (live + bytes > this.memoryLimit) {
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
      throw new GpuError(`${what} needs ${mib(bytes)}, but ${mib(live)} of the ${mib(this.memoryLimit)} memory limit are in use (--max-memory): raise the limit or train fewer parameters`);
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.destroy();
    void this.source;
  }
}

let current: GpuDevice | null = null;
let pending: Promise<GpuDevice> | null = null;

/**
 * Creates the process-wide device (idempotent; call again after a device loss to start over).
 * Requests the optional features this engine can use and the adapter's full limits for the ones it relies on.
 */
export async function initDevice(opts: InitOptions = {}): Promise<GpuDevice> {
  if (current && !current.lostReason && !current.destroyed) return current;
  if (pending) return pending;
  pending = (async () => {
    const source: GpuSource = opts.gpu ? { gpu: opts.gpu, origin: 'navigator.gpu' } : await acquireGpu();
    const adapter = await source.gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new GpuError(
        source.origin === 'dawn-node'
          ? 'no WebGPU adapter found. On Linux without a GPU install a Vulkan driver (Mesa >= 24 lavapipe): run `npx rddm doctor` for the exact steps.'
          : 'navigator.gpu.requestAdapter() returned null: WebGPU is disabled or blocked in this browser.',
      );
    }
    const skip = new Set(opts.disableFeatures ?? []);
    const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !skip.has(f)) as GPUFeatureName[];
    const requiredLimits: Record<string, number> = {};
    for (const k of WANTED_LIMITS) requiredLimits[k] = Number(adapter.limits[k]);
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'rddm' });
    const info = adapter.info;
    const desc: AdapterDescription = {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      origin: source.origin,
    };
    current = new GpuDevice(device, desc, source, opts);
    return current;
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

/** The device made by `initDevice()`; throws a clear error if there is none. */
export function getDevice(): GpuDevice {
  if (!current) throw new GpuError('no GPU device: call `await init()` before creating tensors');
  current.assertUsable();
  return current;
}

export function peekDevice(): GpuDevice | null {
  return current;
}

/** Destroys the current device (tests use this to check device-loss handling). */
export function destroyDevice(): void {
  current?.destroy();
}

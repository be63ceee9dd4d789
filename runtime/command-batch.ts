import type { BufferPool } from './buffer-pool.js';
import { KernelError } from './errors.js';
import { BindGroupCache, type BufferBinding } from './bind-group-cache.js';

/** What one dispatch binds: storage buffers in binding order (0..n-1), then the optional uniform block at n. */
export interface DispatchSpec {
  name: string;
  pipeline: GPUComputePipeline;
  /** Whole buffers, or ranges of one (arena slots), in binding order. */
  buffers: readonly BufferBinding[];
  uniform?: ArrayBufferView;
  workgroups: readonly [number, number?, number?];
  /** For the profiler: work done by this dispatch. */
  flops?: number;
  bytes?: number;
}

/** Receives each dispatch and may wrap it (the profiler uses this for per-dispatch timestamps). */
export interface DispatchObserver {
  beginPass(encoder: GPUCommandEncoder, spec: DispatchSpec): GPUComputePassDescriptor | undefined;
  /** Last chance to record commands (e.g. resolving timestamp queries) before the batch's encoder finishes. */
  beforeFinish(encoder: GPUCommandEncoder): void;
  /** True when the observer cannot take another dispatch in this batch (e.g. its query set is used up). */
  readonly full?: boolean;
  afterSubmit(): void;
}

const UNIFORM_ALIGN = 256;

// getBindGroupLayout() makes a new wrapper through the native binding on every call; one per pipeline is enough.
const layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
function layoutOf(pipeline: GPUComputePipeline): GPUBindGroupLayout {
  let l = layouts.get(pipeline);
  if (!l) {
    l = pipeline.getBindGroupLayout(0);
    layouts.set(pipeline, l);
  }
  return l;
}
const ARENA_BYTES = 1 << 16;

/**
 * Records many dispatches into one encoder and one compute pass and submits them together, at sync points
 * (readback) or when the batch is full: a submit per op would cost more than the op on most adapters.
 *
 * Uniform blocks of a batch are packed into one CPU arena and written to one GPU buffer just before the submit.
 * Reusing that GPU buffer for the next batch is safe because its `writeBuffer` follows this submit on the queue.
 */
export class CommandBatch {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private kernels: string[] = [];
  private arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private arenaGpu: GPUBuffer;
  private pendingErrors: Promise<void>[] = [];
  observer: DispatchObserver | null = null;
  dispatchCount = 0;
  submitCount = 0;
  readonly bindGroups: BindGroupCache;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    readonly maxDispatchesPerBatch = 512,
  ) {
    this.arenaGpu = this.newArena();
    this.bindGroups = new BindGroupCache(device);
  }

  private newArena(): GPUBuffer {
    return this.device.createBuffer({ size: ARENA_BYTES, usage: 0x40 /* UNIFORM */ | 0x8 /* COPY_DST */, label: 'uniform-arena' });
  }

  private begin(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder({ label: 'rddm-batch' });
    }
    return this.encoder;
  }

  dispatch(spec: DispatchSpec): void {
    const uniformBytes = spec.uniform ? spec.uniform.byteLength : 0;
    if (this.kernels.length >= this.maxDispatchesPerBatch || this.arenaUsed + uniformBytes > ARENA_BYTES || this.observer?.full) this.flush();
    const encoder = this.begin();
    let off = -1;
    if (spec.uniform) {
      off = this.arenaUsed;
      this.arenaCpu.set(new Uint8Array(spec.uniform.buffer, spec.uniform.byteOffset, uniformBytes), off);
      this.arenaUsed = off + Math.ceil(uniformBytes / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    }
    const bindGroup = this.bindGroup(spec, off, uniformBytes);
    const timed = this.observer?.beginPass(encoder, spec);
    if (timed) {
      this.endPass();
      const pass = encoder.beginComputePass(timed);
      this.encodeDispatch(pass, spec, bindGroup);
      pass.end();
    } else {
      if (!this.pass) this.pass = encoder.beginComputePass({ label: 'rddm-pass' });
      this.encodeDispatch(this.pass, spec, bindGroup);
    }
    this.kernels.push(spec.name);
    this.dispatchCount++;
  }

  private bindGroup(spec: DispatchSpec, uniformOffset: number, uniformBytes: number): GPUBindGroup {
    return this.bindGroups.get(layoutOf(spec.pipeline), spec.name, spec.buffers, uniformOffset >= 0 ? this.arenaGpu : null, uniformOffset, uniformBytes);
  }

  private encodeDispatch(pass: GPUComputePassEncoder, spec: DispatchSpec, bindGroup: GPUBindGroup): void {
    pass.setPipeline(spec.pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = spec.workgroups;
    pass.dispatchWorkgroups(x, y, z);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** An encoder for copies between dispatches of the current batch (the open compute pass is closed first). */
  copyEncoder(): GPUCommandEncoder {
    const enc = this.begin();
    this.endPass();
    return enc;
  }

  /** Submits everything recorded so far. Errors are collected and thrown by `checkErrors()` at the next sync. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const encoder = this.encoder;
    this.observer?.beforeFinish(encoder);
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arenaGpu, 0, this.arenaCpu, 0, this.arenaUsed);
    }
    const cmd = encoder.finish();
    this.device.queue.submit([cmd]);
    this.observer?.afterSubmit();
    this.submitCount++;
    this.encoder = null;
    this.arenaUsed = 0;
    const kernels = this.kernels;
    this.kernels = [];
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.pendingErrors.push(
      Promise.all([validation, oom]).then(([v, o]) => {
        const err = v ?? o;
        if (!err) return;
        const kind = v ? 'validation' : 'out-of-memory';
        const names = [...new Set(kernels)];
        throw new KernelError(
          `GPU ${kind} error in a batch of kernels [${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}]: ${err.message}` +
            (kind === 'out-of-memory' ? ' — reduce the batch or image size (or use --tile).' : ''),
          names,
        );
      }),
    );
    this.pool.commitPending();
  }

  /** Throws the first GPU error raised by any batch submitted so far. */
  async checkErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    await Promise.all(pending);
  }

  get recording(): boolean {
    return this.encoder !== null;
  }
}

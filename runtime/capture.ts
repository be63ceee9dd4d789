import type { BufferPool } from './buffer-pool.js';
import { bindingBuffer } from './bind-group-cache.js';
import type { CommandBatch, DispatchSpec } from './command-batch.js';
import { GpuError } from './errors.js';

/**
 * Graph capture below tensors: while a recorder is attached, the device notes every command it runs (dispatches,
 * buffer copies and clears, uploads) besides running it. `CapturedGraph` then resolves what each dispatch needs
 * once — its pipeline, a bind group, its uniform block in the graph's own uniform buffer — and `replay` re-encodes
 * the commands in a tight loop, in the same order, with uploads where they were (each upload ends a submit, as in
 * eager mode). WebGPU cannot resubmit a command buffer, so a replay still encodes every dispatch; what it saves is
 * the work of getting there (ops, autograd, allocation, pipeline lookups, uniform packing, bind-group creation),
 * as cubecl-wgpu's and ONNX Runtime Web's graph capture do.
 *
 * Dynamic values: a dispatch's uniform may be a function, called again at every replay (an optimizer's learning
 * rate and bias corrections), and `hooks` run first (e.g. the optimizer's step counter).
 *
 * Buffers: every buffer the commands touch is either released at the end of the capture (an intermediate: the
 * graph takes it out of the pool, so nothing else can be handed it, and owns it until disposed) or still held
 * (parameters, inputs, outputs, optimizer state: the graph checks before each replay that none was released).
 */
export type CapturedCommand =
  | { kind: 'dispatch'; spec: DispatchSpec }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'upload'; buffer: GPUBuffer; offset: number; data: Uint8Array<ArrayBuffer> };

export class CaptureRecorder {
  readonly commands: CapturedCommand[] = [];
  readonly hooks: (() => void)[] = [];
}

const UNIFORM_ALIGN = 256;

interface Prepared {
  name: string;
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: readonly [number, number?, number?];
  flops?: number;
  bytes?: number;
}

type Step = { kind: 'dispatch'; d: Prepared } | Exclude<CapturedCommand, { kind: 'dispatch' }>;

export class CapturedGraph {
  private readonly steps: Step[] = [];
  private readonly uniform: GPUBuffer | null;
  private readonly uniformCpu: Uint8Array<ArrayBuffer>;
  private readonly dynamic: { offset: number; bytes: number; fn: () => ArrayBufferView }[] = [];
  /** Buffers the graph took from the pool, and those it relies on others to keep. */
  private readonly owned: GPUBuffer[] = [];
  private readonly held: GPUBuffer[] = [];
  private disposed = false;
  readonly dispatchCount: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly batch: CommandBatch,
    private readonly recorder: CaptureRecorder,
    layoutOf: (p: GPUComputePipeline) => GPUBindGroupLayout,
  ) {
    // Uniform blocks, each at a 256-byte aligned offset of one buffer.
    let size = 0;
    const offsets = recorder.commands.map((c) => {
      if (c.kind !== 'dispatch' || !c.spec.uniform) return -1;
      const bytes = uniformBytes(c.spec.uniform);
      const off = size;
      size += Math.ceil(bytes.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
      return off;
    });
    this.uniformCpu = new Uint8Array(Math.max(size, 16));
    this.uniform = size ? device.createBuffer({ size, usage: 0x40 /* UNIFORM */ | 0x8 /* COPY_DST */, label: 'captured-uniforms' }) : null;
    const touched = new Set<GPUBuffer>();
    let dispatches = 0;
    recorder.commands.forEach((c, i) => {
      if (c.kind !== 'dispatch') {
        if (c.kind === 'copy') touched.add(c.src).add(c.dst);
        else touched.add(c.buffer);
        this.steps.push(c);
        return;
      }
      const s = c.spec;
      for (const b of s.buffers) touched.add(bindingBuffer(b));
      const entries: GPUBindGroupEntry[] = s.buffers.map((b, binding) => ({ binding, resource: 'buffer' in b ? (b as GPUBufferBinding) : { buffer: b as GPUBuffer } }));
      if (s.uniform) {
        const bytes = uniformBytes(s.uniform);
        this.uniformCpu.set(bytes, offsets[i]);
        if (typeof s.uniform === 'function') this.dynamic.push({ offset: offsets[i], bytes: bytes.byteLength, fn: s.uniform });
        entries.push({ binding: s.buffers.length, resource: { buffer: this.uniform!, offset: offsets[i], size: bytes.byteLength } });
      }
      const group = device.createBindGroup({ label: `${s.name} (captured)`, layout: layoutOf(s.pipeline), entries });
      this.steps.push({ kind: 'dispatch', d: { name: s.name, pipeline: s.pipeline, group, workgroups: s.workgroups, flops: s.flops, bytes: s.bytes } });
      dispatches++;
    });
    this.dispatchCount = dispatches;
    if (this.uniform) device.queue.writeBuffer(this.uniform, 0, this.uniformCpu, 0, this.uniformCpu.byteLength);
    for (const b of touched) {
      if (pool.adopt(b)) this.owned.push(b);
      else this.held.push(b);
    }
  }

  /**
   * Re-runs the captured commands. Throws, before running anything, when a buffer it relies on was released.
   * `encoded` (the profiler's) is told how long each dispatch took to encode.
   */
  replay(encoded?: (name: string, startMs: number) => void, now?: () => number): void {
    if (this.disposed) throw new GpuError('this captured step was disposed');
    const gone = this.held.find((b) => this.pool.isReleased(b));
    if (gone) {
      throw new GpuError(
        `a tensor a captured step reads or writes was disposed since it was captured (buffer '${gone.label}', ${gone.size} bytes): ` +
          'keep the step\'s inputs, outputs and the model alive while it is used, or capture it again',
      );
    }
    // The previous replay (or eager work) may still sit unsubmitted in the batch and read these uniforms.
    this.batch.flush();
    for (const h of this.recorder.hooks) h();
    if (this.uniform) {
      for (const d of this.dynamic) {
        const v = uniformBytes(d.fn);
        if (v.byteLength !== d.bytes) throw new GpuError(`internal: a captured dynamic uniform changed size (${d.bytes} → ${v.byteLength} bytes)`);
        this.device.queue.writeBuffer(this.uniform, d.offset, v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
      }
    }
    for (const s of this.steps) {
      switch (s.kind) {
        case 'dispatch': {
          const t = now?.() ?? 0;
          this.batch.dispatchPrebuilt(s.d.name, s.d.pipeline, s.d.group, s.d.workgroups, s.d.flops, s.d.bytes);
          encoded?.(s.d.name, t);
          break;
        }
        case 'copy':
          this.batch.copyEncoder().copyBufferToBuffer(s.src, s.srcOffset, s.dst, s.dstOffset, s.size);
          break;
        case 'clear':
          this.batch.copyEncoder().clearBuffer(s.buffer, s.offset, s.size);
          break;
        case 'upload':
          // As eager uploads: after everything recorded before it (submit first), before everything after.
          this.batch.flush();
          this.device.queue.writeBuffer(s.buffer, s.offset, s.data, 0, s.data.byteLength);
          break;
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.batch.flush();
    for (const b of this.owned) this.pool.release(b);
    this.uniform?.destroy();
  }
}

function uniformBytes(u: ArrayBufferView | (() => ArrayBufferView)): Uint8Array {
  const v = typeof u === 'function' ? u() : u;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

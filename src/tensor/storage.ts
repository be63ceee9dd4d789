import type { GpuDevice, BufferBinding } from '../../runtime/index.js';

/**
 * A GPU buffer shared by a tensor and its views, reference-counted: views, saved-for-backward aliases and the
 * tensor itself each hold one reference, and the buffer returns to the pool when the last is released.
 *
 * A storage may also be a slot of a larger buffer (an arena: src/optim/param-arena.ts keeps parameters, their
 * gradients and optimizer moments in flat buffers so one kernel updates them all). Kernels then bind just the
 * slot's range, so element 0 of the binding is element 0 of the storage and no kernel needs the slot's offset;
 * and two writable slots of one arena bound in one dispatch do not overlap (WebGPU forbids overlapping writable
 * bindings). `owner` is what releasing the last reference hands back, instead of the buffer to the pool.
 */
export class Storage {
  private refs = 1;

  constructor(
    readonly device: GpuDevice,
    readonly buffer: GPUBuffer,
    /** Bytes the tensor data occupies (the pooled buffer may be larger). */
    readonly byteLength: number,
    /** Where the data starts in `buffer` (a multiple of 256 for arena slots, the binding offset alignment). */
    readonly byteOffset = 0,
    private readonly owner: { release(): void } | null = null,
  ) {
    liveStats.storages++;
    liveStats.bytes += owner ? 0 : byteLength;
  }

  /** True when this storage is a slot of a shared buffer and must be bound by range. */
  get isSlot(): boolean {
    return this.owner !== null;
  }

  /** What a kernel binds: the whole pooled buffer, or this slot's range (rounded up to whole 4-byte words). */
  get binding(): BufferBinding {
    if (!this.owner) return this.buffer;
    return { buffer: this.buffer, offset: this.byteOffset, size: Math.max(4, Math.ceil(this.byteLength / 4) * 4) };
  }

  retain(): this {
    if (this.refs <= 0) throw new Error('internal: retain of released storage');
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) {
      liveStats.storages--;
      if (this.owner) this.owner.release();
      else {
        liveStats.bytes -= this.byteLength;
        this.device.releaseBuffer(this.buffer);
      }
    }
  }

  /** Handles on this storage (a tensor that alone holds it may be written in place). */
  get refCount(): number {
    return this.refs;
  }

  get released(): boolean {
    return this.refs <= 0;
  }
}

/** Live storages and bytes across the process (the memory tests and `rddm profile` read these). */
export const liveStats = { storages: 0, bytes: 0, tensors: 0 };

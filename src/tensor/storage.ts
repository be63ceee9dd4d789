import type { GpuDevice } from '../../runtime/index.js';

/**
 * A GPU buffer shared by a tensor and its views, reference-counted: views, saved-for-backward aliases and the
 * tensor itself each hold one reference, and the buffer returns to the pool when the last is released.
 */
export class Storage {
  private refs = 1;

  constructor(
    readonly device: GpuDevice,
    readonly buffer: GPUBuffer,
    /** Bytes the tensor data occupies (the pooled buffer may be larger). */
    readonly byteLength: number,
  ) {
    liveStats.storages++;
    liveStats.bytes += byteLength;
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
      liveStats.bytes -= this.byteLength;
      this.device.releaseBuffer(this.buffer);
    }
  }

  get released(): boolean {
    return this.refs <= 0;
  }
}

/** Live storages and bytes across the process (the memory tests and `rddm profile` read these). */
export const liveStats = { storages: 0, bytes: 0, tensors: 0 };

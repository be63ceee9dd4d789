import { GpuError } from './errors.js';

/** Usage every pooled storage buffer gets, so any buffer can serve any tensor, upload or readback copy. */
const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

export interface PoolStats {
  hits: number;
  misses: number;
  /** Bytes handed out and not yet released. */
  liveBytes: number;
  peakLiveBytes: number;
  /** Bytes sitting in free lists, ready for reuse. */
  heldBytes: number;
  /** Buffers created over the pool's life. */
  created: number;
}

/**
 * Rounds a request up to a size class: four classes per octave (x1, x1.25, x1.5, x1.75), so at most 25% is wasted
 * while buffers of nearly the same size share a free list.
 */
export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

/**
 * Free lists of GPU buffers by size class. A buffer released while commands that use it are still being recorded
 * must not be handed out again before those commands are submitted (a later `writeBuffer` would run first on the
 * queue timeline): releases go to a pending list that `commitPending()` moves over after each submit.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  /** Every buffer in `free` or `pending`: released by its last holder. */
  private released = new Set<GPUBuffer>();
  /** Creation order of every buffer, to keep free lists in a canonical order (see commitPending). */
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;
  private readonly stats: PoolStats = { hits: 0, misses: 0, liveBytes: 0, peakLiveBytes: 0, heldBytes: 0, created: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBindingBytes: number,
  ) {}

  acquire(bytes: number, label = 'tensor'): GPUBuffer {
    const size = sizeClass(Math.max(4, bytes));
    if (size > this.maxBindingBytes && bytes <= this.maxBindingBytes) {
      // The class would cross the binding limit though the request itself fits: give an exact-size buffer.
      return this.create(Math.ceil(bytes / 4) * 4, label);
    }
    if (bytes > this.maxBindingBytes) {
      throw new GpuError(
        `${label}: ${bytes} bytes exceeds this device's maxStorageBufferBindingSize (${this.maxBindingBytes} bytes); ` +
          'split the work into smaller pieces (e.g. a smaller batch, or --tile for images).',
      );
    }
    const list = this.free.get(size);
    const buf = list?.pop();
    if (buf) {
      this.released.delete(buf);
      this.stats.hits++;
      this.stats.heldBytes -= size;
      this.noteLive(size);
      return buf;
    }
    return this.create(size, label);
  }

  private create(size: number, label: string): GPUBuffer {
    this.stats.misses++;
    this.stats.created++;
    const buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
    this.ids.set(buf, this.nextId++);
    this.noteLive(size);
    return buf;
  }

  private noteLive(size: number): void {
    this.stats.liveBytes += size;
    if (this.stats.liveBytes > this.stats.peakLiveBytes) this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  release(buf: GPUBuffer): void {
    this.stats.liveBytes -= buf.size;
    this.pending.push(buf);
    this.released.add(buf);
  }

  /** Whether `buf` was released (it sits in a free list or waits for the next submit). */
  isReleased(buf: GPUBuffer): boolean {
    return this.released.has(buf);
  }

  /**
   * Takes a released buffer back out of the pool for a holder that will release it again later (a captured graph
   * keeps the buffers its replays reuse). Returns false when `buf` was not released.
   */
  adopt(buf: GPUBuffer): boolean {
    if (!this.released.delete(buf)) return false;
    const i = this.pending.indexOf(buf);
    if (i >= 0) this.pending.splice(i, 1);
    else {
      const list = this.free.get(buf.size)!;
      list.splice(list.indexOf(buf), 1);
      this.stats.heldBytes -= buf.size;
    }
    this.noteLive(buf.size);
    return true;
  }

  /**
   * Called right after a submit: buffers released before it may now be reused. Each free list is kept in creation
   * order (oldest last, handed out first), whatever order the buffers came back in: a loop that allocates the same
   * way every iteration then gets the same buffers every iteration, so the bind groups it needs repeat and the bind
   * group cache serves them instead of Dawn creating new ones.
   */
  commitPending(): void {
    const touched = new Set<GPUBuffer[]>();
    for (const buf of this.pending) {
      let list = this.free.get(buf.size);
      if (!list) this.free.set(buf.size, (list = []));
      list.push(buf);
      touched.add(list);
      this.stats.heldBytes += buf.size;
    }
    this.pending.length = 0;
    const id = (b: GPUBuffer) => this.ids.get(b) ?? -1;
    for (const list of touched) list.sort((a, b) => id(b) - id(a));
  }

  /** Destroys every free buffer (e.g. after a large one-off job), returning GPU memory to the system. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) {
      b.destroy();
      this.released.delete(b);
    }
    this.free.clear();
    this.stats.heldBytes = 0;
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }

  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }
}

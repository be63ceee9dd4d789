import { sizeClass } from './buffer-pool.js';

/**
 * Reusable MAP_READ staging buffers. Readback copies a storage buffer into one, maps it and copies the bytes
 * out; the staging buffer then goes back to its free list instead of being created and destroyed per read.
 */
export class StagingPool {
  private free = new Map<number, GPUBuffer[]>();
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const buf = this.free.get(size)?.pop();
    if (buf) return buf;
    this.created++;
    return this.device.createBuffer({ size, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */, label: 'staging' });
  }

  release(buf: GPUBuffer): void {
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
  }
}

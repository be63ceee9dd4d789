import type { GpuDevice } from '../../runtime/index.js';
import { isCpuAdapter } from '../ops/adapter-kind.js';
import { workgroups1d } from '../ops/dispatch.js';
import { Tensor } from '../tensor/tensor.js';
import { Storage, liveStats } from '../tensor/storage.js';
import { shapeStr } from '../tensor/shape.js';
import { setGradSlot, type GradSlot } from '../autograd/grad-slot.js';

/**
 * Parameters in flat buffers, so that an optimizer updates all of them with one kernel launch per buffer instead of
 * one per parameter (PyTorch's fused/foreach AdamW and Apex's multi-tensor apply are the same idea).
 *
 * The arena moves each parameter's data into a slot of a chunk buffer and re-points the parameter tensor at it:
 * the same Tensor object (modules and optimizers keep their references), now a slot storage that kernels bind by
 * range. Gradients, optimizer moments and EMA shadows live in "shadow" buffers with the same layout, so element i
 * of every shadow belongs to the same parameter as element i of the chunk. Slots start on 256-byte boundaries
 * (WebGPU's storage binding offset alignment, 64 floats), which also makes every 64-element block of a chunk
 * belong to one parameter: the flat kernels find it per workgroup by a binary search over the chunk's slot table.
 *
 * Chunks are at most the device's storage binding size (128 MiB on lavapipe), so one chunk is one binding.
 */

/** Elements per slot alignment: 256 bytes of float32. */
export const SLOT_ALIGN = 64;

/**
 * How a flat kernel covers `blocks` 64-element blocks: runs of `bpw` blocks per workgroup, on `grid`. A CPU adapter
 * pays a fixed cost per workgroup (~5 µs on lavapipe), so it gets a few hundred long runs; a GPU gets at least
 * 64k workgroups' worth of parallelism before runs lengthen.
 */
export function blockRuns(dev: GpuDevice, blocks: number): { bpw: number; grid: [number, number] } {
  const target = isCpuAdapter(dev) ? 256 : 65536;
  const bpw = Math.max(1, Math.ceil(blocks / target));
  return { bpw, grid: workgroups1d(dev, Math.max(1, Math.ceil(blocks / bpw)), 1) };
}

export interface Slot {
  chunk: number;
  /** First element in the chunk. */
  start: number;
  size: number;
  /** Index of the parameter in the arena's list. */
  index: number;
}

/** A shared GPU buffer with a reference count held by every slot storage on it and by its arena. */
class Chunk {
  private refs = 1;
  constructor(
    readonly device: GpuDevice,
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {
    liveStats.bytes += bytes;
  }
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) {
      liveStats.bytes -= this.bytes;
      this.device.releaseBuffer(this.buffer);
    }
  }
}

/** Per chunk: its slot table, [start, size] pairs in element units, as the flat kernels read it. */
export interface ChunkLayout {
  elements: number;
  slots: Slot[];
  table: GPUBuffer;
}

const owners = new WeakMap<Tensor, ParamArena>();

/** The arena a parameter was moved into, if any. */
export function arenaOf(p: Tensor): ParamArena | null {
  return owners.get(p) ?? null;
}

export class ParamArena {
  readonly device: GpuDevice;
  readonly layouts: ChunkLayout[] = [];
  private readonly slots = new Map<Tensor, Slot>();
  private readonly chunks: Chunk[] = [];
  /** Gradients: one shadow, created with the arena (backward writes into it). */
  readonly grads: Shadow;
  private disposed = false;

  /**
   * Moves `params` (dense float32, not yet in an arena) into new chunk buffers. The data is copied on the GPU; the
   * old buffers go back to the pool.
   */
  constructor(readonly params: readonly Tensor[]) {
    if (!params.length) throw new Error('ParamArena: no parameters');
    const dev = params[0].device;
    this.device = dev;
    const seen = new Set<Tensor>();
    for (const p of params) {
      const name = p.name ?? `#${p.id}`;
      if (seen.has(p)) throw new Error(`optimizer: parameter ${name} is listed twice`);
      seen.add(p);
      if (owners.has(p)) {
        throw new Error(`optimizer: parameter ${name} already belongs to another optimizer's flat storage; give each parameter to one optimizer (dispose the other first)`);
      }
      if (!p.isContiguous || p.offset !== 0) throw new Error(`optimizer: parameter ${name} must be a dense tensor with its own storage, not a view`);
      if (p.dtype !== 'float32') {
        throw new Error(`optimizer: parameter ${name} is ${p.dtype}; optimizers update float32 master weights (nn.autocast makes the float16 copies)`);
      }
      if (p.device !== dev) throw new Error(`optimizer: parameter ${name} lives on another GPU device`);
    }
    const limit = Math.floor(Math.min(dev.limits.maxStorageBufferBindingSize, dev.limits.maxBufferSize) / 256) * 256;
    // Greedy packing in parameter order, so a model's tensors stay in declaration order (to_q, to_k, to_v adjacent).
    let cur: Slot[] = [];
    let used = 0;
    const flush = () => {
      if (!cur.length) return;
      this.layouts.push({ elements: used, slots: cur, table: null as unknown as GPUBuffer });
      cur = [];
      used = 0;
    };
    params.forEach((p, index) => {
      const padded = Math.ceil(Math.max(p.size, 1) / SLOT_ALIGN) * SLOT_ALIGN;
      if (padded * 4 > limit) {
        throw new Error(
          `optimizer: parameter ${p.name ?? `#${p.id}`} ${shapeStr(p.shape)} takes ${(p.size * 4) / 2 ** 20} MiB, more than this device can bind in one buffer (${(limit / 2 ** 20).toFixed(0)} MiB)`,
        );
      }
      if ((used + padded) * 4 > limit) flush();
      const slot: Slot = { chunk: this.layouts.length, start: used, size: p.size, index };
      cur.push(slot);
      this.slots.set(p, slot);
      used += padded;
    });
    flush();
    dev.reserve(3 * this.layouts.reduce((b, l) => b + l.elements * 4, 0), 'optimizer flat storage (parameters, gradients, and at least one moment buffer)');
    for (const l of this.layouts) {
      const table = new Uint32Array(2 * l.slots.length);
      l.slots.forEach((s, i) => table.set([s.start, s.size], 2 * i));
      l.table = dev.createBuffer(table.byteLength, 'arena-slot-table');
      dev.upload(l.table, table, 0, { fresh: true });
    }
    // Move the data in, then re-point each parameter at its slot.
    for (const l of this.layouts) {
      const chunk = new Chunk(dev, dev.createBuffer(l.elements * 4, 'param-arena'), l.elements * 4);
      this.chunks.push(chunk);
      for (const s of l.slots) {
        const p = params[s.index];
        if (p.size) dev.copyBuffer(p.storage.buffer, p.byteOffset, chunk.buffer, s.start * 4, p.size * 4);
      }
    }
    for (const p of params) {
      const s = this.slots.get(p)!;
      const chunk = this.chunks[s.chunk];
      p.adoptStorage(new Storage(dev, chunk.buffer, p.size * 4, s.start * 4, chunk.retain()));
      owners.set(p, this);
    }
    this.grads = this.shadow('grad-arena');
    for (const p of params) setGradSlot(p, this.gradSlot(p));
  }

  slot(p: Tensor): Slot {
    const s = this.slots.get(p);
    if (!s) throw new Error(`internal: parameter ${p.name ?? `#${p.id}`} is not in this arena`);
    return s;
  }

  has(p: Tensor): boolean {
    return this.slots.has(p);
  }

  private masks = new Map<string, GPUBuffer[]>();

  /**
   * Per-chunk flags (u32 per slot) marking the parameters a flat pass updates, from one flag per parameter. Masks
   * are kept by content: a training loop uses one or a few (CMB-LoRA: one per active adapter), uploaded once.
   */
  mask(on: readonly boolean[]): GPUBuffer[] {
    const key = on.map(Number).join('');
    let m = this.masks.get(key);
    if (m) return m;
    if (this.masks.size >= 16) {
      for (const bufs of this.masks.values()) for (const b of bufs) this.device.releaseBuffer(b);
      this.masks.clear();
    }
    m = this.layouts.map((l) => {
      const flags = new Uint32Array(l.slots.length);
      l.slots.forEach((s, i) => (flags[i] = on[s.index] ? 1 : 0));
      const buf = this.device.createBuffer(flags.byteLength, 'arena-mask');
      this.device.upload(buf, flags, 0, { fresh: true });
      return buf;
    });
    this.masks.set(key, m);
    return m;
  }

  /** The parameter chunk buffers, in order. */
  get buffers(): GPUBuffer[] {
    return this.chunks.map((c) => c.buffer);
  }

  /** A zero-filled buffer set with this arena's layout (gradients, moments, EMA shadows). */
  shadow(label: string): Shadow {
    this.device.reserve(this.layouts.reduce((b, l) => b + l.elements * 4, 0), label);
    return new Shadow(this, label);
  }

  private gradSlot(p: Tensor): GradSlot {
    const s = this.slot(p);
    return {
      view: () => this.grads.view(p),
      holds: (t: Tensor) => t.isContiguous && t.dtype === 'float32' && t.size === p.size && t.storage.buffer === this.grads.buffers[s.chunk] && t.byteOffset === s.start * 4,
    };
  }

  /**
   * Gives the parameters back their own buffers (copies of the slots) and frees the chunks: called when the optimizer
   * is disposed, so the model lives on as it was.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const dev = this.device;
    for (const p of this.params) {
      setGradSlot(p, null);
      owners.delete(p);
      if (p.isDisposed) continue;
      if (p.grad) {
        p.grad.dispose();
        p.grad = null;
      }
      const own = dev.createBuffer(p.size * 4, 'tensor');
      if (p.size) dev.copyBuffer(p.storage.buffer, p.byteOffset, own, 0, p.size * 4);
      p.adoptStorage(new Storage(dev, own, p.size * 4));
    }
    this.grads.dispose();
    for (const l of this.layouts) dev.releaseBuffer(l.table);
    for (const bufs of this.masks.values()) for (const b of bufs) dev.releaseBuffer(b);
    this.masks.clear();
    for (const c of this.chunks) c.release();
  }
}

/** Buffers with an arena's layout; `view(p)` is parameter p's slot as a tensor. */
export class Shadow {
  private readonly chunks: Chunk[];

  constructor(
    readonly arena: ParamArena,
    label: string,
  ) {
    const dev = arena.device;
    this.chunks = arena.layouts.map((l) => {
      const c = new Chunk(dev, dev.createBuffer(l.elements * 4, label), l.elements * 4);
      // Pooled buffers come back dirty: start from zeros (a moment, an accumulated gradient).
      dev.clearBuffer(c.buffer, 0, l.elements * 4);
      return c;
    });
  }

  get buffers(): GPUBuffer[] {
    return this.chunks.map((c) => c.buffer);
  }

  /** A new tensor handle on parameter p's slot of this shadow. */
  view(p: Tensor): Tensor {
    const s = this.arena.slot(p);
    const c = this.chunks[s.chunk];
    return new Tensor(new Storage(this.arena.device, c.buffer, p.size * 4, s.start * 4, c.retain()), p.shape, { track: false });
  }

  dispose(): void {
    for (const c of this.chunks) c.release();
    this.chunks.length = 0;
  }
}

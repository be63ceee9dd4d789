/** A storage binding: a whole buffer, or a range of one (an arena slot: a parameter, its gradient, its moments). */
export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

export function bindingBuffer(b: BufferBinding): GPUBuffer {
  return 'buffer' in b ? b.buffer : b;
}

const MAX_ENTRIES = 8192;

/**
 * Bind groups by what they bind. Creating one costs 10–40 µs through Dawn's Node binding on this project's hosts,
 * more than the rest of a dispatch's encoding; a training or restore loop binds the same pooled buffers at the
 * same uniform-arena offsets every iteration (pools hand buffers back in the same order), so nearly every lookup
 * after the first iteration hits. Entries are dropped wholesale when the cache fills or when a buffer it may
 * reference is destroyed (`clear`).
 */
export class BindGroupCache {
  private ids = new WeakMap<object, number>();
  private nextId = 1;
  private groups = new Map<string, GPUBindGroup>();
  hits = 0;
  misses = 0;

  constructor(private readonly device: GPUDevice) {}

  private id(o: object): number {
    let i = this.ids.get(o);
    if (i === undefined) this.ids.set(o, (i = this.nextId++));
    return i;
  }

  get(layout: GPUBindGroupLayout, label: string, buffers: readonly BufferBinding[], uniform: GPUBuffer | null, uniformOffset: number, uniformBytes: number): GPUBindGroup {
    let key = `${this.id(layout)}`;
    for (const b of buffers) key += 'buffer' in b ? `|${this.id(b.buffer)}@${b.offset}+${b.size}` : `|${this.id(b)}`;
    if (uniform) key += `|u${this.id(uniform)}@${uniformOffset}+${uniformBytes}`;
    let group = this.groups.get(key);
    if (group) {
      this.hits++;
      return group;
    }
    this.misses++;
    const entries: GPUBindGroupEntry[] = buffers.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } }));
    if (uniform) entries.push({ binding: buffers.length, resource: { buffer: uniform, offset: uniformOffset, size: uniformBytes } });
    group = this.device.createBindGroup({ label, layout, entries });
    if (this.groups.size >= MAX_ENTRIES) this.groups.clear();
    this.groups.set(key, group);
    return group;
  }

  /** Forgets every bind group (a buffer they may bind is about to be destroyed). */
  clear(): void {
    this.groups.clear();
  }

  get size(): number {
    return this.groups.size;
  }
}

import { getDevice, type GpuDevice, type BufferBinding } from '../../runtime/index.js';
import type { GradNode } from '../autograd/graph.js';
import { bytesPerElement, float16Unsupported, type DType } from './dtype.js';
import { trackTensor } from './scope.js';
import { contiguousStrides, numel, shapeStr, type Shape } from './shape.js';
import { liveStats, Storage } from './storage.js';

export type NestedArray = number | NestedArray[];

let nextId = 1;

/**
 * An n-dimensional array on the GPU: a view (shape, strides, element offset) of a reference-counted storage.
 * Ops are installed as methods by the files in src/ops (each op file adds its own), so this file stays the
 * data structure alone.
 */
export class Tensor {
  readonly id = nextId++;
  readonly isTensor = true;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  private _storage: Storage | null;
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: GradNode | null = null;
  /** Set by nn.Module on parameters, for messages ("conv_in.weight has NaN gradient"). */
  name?: string;

  constructor(storage: Storage | null, shape: Shape, opts: { strides?: Shape; offset?: number; dtype?: DType; track?: boolean } = {}) {
    this._storage = storage;
    this.shape = [...shape];
    this.strides = opts.strides ? [...opts.strides] : contiguousStrides(shape);
    this.offset = opts.offset ?? 0;
    this.dtype = opts.dtype ?? 'float32';
    liveStats.tensors++;
    if (opts.track !== false) trackTensor(this);
  }

  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get isDisposed(): boolean {
    return this._storage === null && !this.isMeta;
  }
  /** A meta tensor has a shape but no data (models are built this way to count parameters without a GPU). */
  get isMeta(): boolean {
    return this._meta;
  }
  private _meta = false;
  static meta(shape: Shape, dtype: DType = 'float32'): Tensor {
    const t = new Tensor(null, shape, { dtype, track: false });
    t._meta = true;
    liveStats.tensors--;
    return t;
  }

  get storage(): Storage {
    if (!this._storage) {
      if (this._meta) throw new Error(`tensor${this.name ? ` ${this.name}` : ''} of shape ${shapeStr(this.shape)} is a meta tensor (built under withMetaTensors) and has no data`);
      throw new Error(`tensor #${this.id}${this.name ? ` (${this.name})` : ''} of shape ${shapeStr(this.shape)} was disposed and cannot be used`);
    }
    this._storage.device.assertUsable();
    return this._storage;
  }
  get device(): GpuDevice {
    return this.storage.device;
  }
  /**
   * The whole GPU buffer, for tensors that own theirs. Arena-backed tensors (parameters, gradients and moments an
   * optimizer keeps flat) share one: bind them with `binding`, or copy with `byteOffset`.
   */
  get buffer(): GPUBuffer {
    const s = this.storage;
    if (s.isSlot) throw new Error(`internal: tensor${this.name ? ` ${this.name}` : ''} ${shapeStr(this.shape)} is a slot of a shared buffer; bind it with .binding`);
    return s.buffer;
  }
  /** What a kernel binds for this tensor; element `offset` of the binding is this view's first element. */
  get binding(): BufferBinding {
    return this.storage.binding;
  }
  /** Byte offset of this view's first element in `storage.buffer` (for copies and readbacks). */
  get byteOffset(): number {
    return this.storage.byteOffset + this.offset * bytesPerElement(this.dtype);
  }

  /** True when elements are laid out densely in row-major order from `offset`. */
  get isContiguous(): boolean {
    let expect = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expect) return false;
      expect *= this.shape[i];
    }
    return true;
  }

  /** A new view of the same storage (shares memory; holds its own reference). */
  view(shape: Shape, strides: Shape, offset: number, track = true): Tensor {
    return new Tensor(this.storage.retain(), shape, { strides, offset, dtype: this.dtype, track });
  }

  /**
   * Moves this dense tensor onto `storage` (same bytes, e.g. a slot of an optimizer's flat buffer), keeping its
   * identity: modules and optimizers hold the Tensor object. The caller has copied the data; the old storage is
   * released. Views taken before keep reading the old storage.
   */
  adoptStorage(storage: Storage): void {
    if (!this._storage) throw new Error(`tensor #${this.id}${this.name ? ` (${this.name})` : ''} was disposed and cannot be moved`);
    if (!this.isContiguous || this.offset !== 0) throw new Error(`internal: only a dense tensor at offset 0 can move to another storage (tensor ${shapeStr(this.shape)})`);
    if (storage.byteLength < this.size * bytesPerElement(this.dtype)) throw new Error(`internal: storage of ${storage.byteLength} bytes is too small for ${shapeStr(this.shape)}`);
    this._storage.release();
    this._storage = storage;
  }

  dispose(): void {
    if (!this._storage) return;
    this._storage.release();
    this._storage = null;
    liveStats.tensors--;
    // The gradient belongs to this tensor and goes with it (a disposed parameter must not leak its .grad).
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** The elements in row-major order as a Float32Array (waits for the GPU; float16 is widened on the GPU first). */
  async data(): Promise<Float32Array> {
    const t = this.dtype === 'float16' ? contiguousCopy(this, 'float32') : this.isContiguous ? this : contiguousCopy(this);
    try {
      const bpe = bytesPerElement(t.dtype);
      const bytes = await t.device.read(t.storage.buffer, t.size * bpe, t.byteOffset);
      if (t.dtype === 'int32') return Float32Array.from(new Int32Array(bytes));
      return new Float32Array(bytes);
    } finally {
      if (t !== this) t.dispose();
    }
  }

  async toArray(): Promise<NestedArray> {
    const flat = await this.data();
    if (this.ndim === 0) return flat[0];
    const build = (dim: number, base: number): NestedArray[] => {
      const out: NestedArray[] = [];
      const step = numel(this.shape.slice(dim + 1));
      for (let i = 0; i < this.shape[dim]; i++) {
        out.push(dim === this.ndim - 1 ? flat[base + i] : build(dim + 1, base + i * step));
      }
      return out;
    };
    return build(0, 0);
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements (shape ${shapeStr(this.shape)}); item() needs exactly one`);
    return (await this.data())[0];
  }

  toString(): string {
    return `Tensor(${shapeStr(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** Allocates an uninitialised contiguous tensor on the current device. */
export function empty(shape: Shape, dtype: DType = 'float32', device?: GpuDevice): Tensor {
  if (metaMode) return Tensor.meta(shape, dtype);
  device ??= getDevice();
  const noF16 = dtype === 'float16' ? float16Unsupported(device) : null;
  if (noF16) throw new Error(`a float16 tensor of shape ${shapeStr(shape)} was requested, but ${noF16}`);
  const bytes = numel(shape) * bytesPerElement(dtype);
  const buf = device.createBuffer(bytes);
  return new Tensor(new Storage(device, buf, bytes), shape, { dtype });
}

let metaMode = false;
/**
 * Runs `fn` with every new tensor created as a meta tensor (shape only, no GPU memory, no kernels run): used to
 * build full-size models for parameter counts and key lists on machines that could not hold their weights.
 */
export function withMetaTensors<T>(fn: () => T): T {
  const prev = metaMode;
  metaMode = true;
  try {
    return fn();
  } finally {
    metaMode = prev;
  }
}
export function isMetaMode(): boolean {
  return metaMode;
}

/**
 * Set by src/ops/copy.ts: a strided → contiguous copy, converted to `dtype` (default: the same type), kept as a
 * hook so this file does not import ops.
 */
let contiguousCopyImpl: ((t: Tensor, dtype?: DType) => Tensor) | null = null;
export function setContiguousCopy(fn: (t: Tensor, dtype?: DType) => Tensor): void {
  contiguousCopyImpl = fn;
}
export function contiguousCopy(t: Tensor, dtype?: DType): Tensor {
  if (!contiguousCopyImpl) throw new Error('internal: ops not loaded (import from src/index.ts)');
  return contiguousCopyImpl(t, dtype);
}

// Reads the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// u64 N, N bytes of UTF-8 JSON mapping names to {dtype, shape, data_offsets}, then the data region.
// The whole header is validated before any tensor is touched, and tensors are read lazily one by one.

import type { ByteSource } from './byte-source.js';
import { decodeBf16, decodeF16 } from './half.js';

export type Dtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'F8_E5M2'
  | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export function isFloatDtype(d: string): d is FloatDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

export interface TensorInfo {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

export interface OpenOptions {
  /** Reject headers longer than this; the reference implementation uses 100 MB. */
  maxHeaderBytes?: number;
  /** Tensors larger than this are read in several slices of at most this many bytes. */
  chunkBytes?: number;
}

const DEFAULT_MAX_HEADER = 100_000_000;
const DEFAULT_CHUNK = 64 * 1024 * 1024;

// Typed-array views over file bytes are only valid on little-endian hosts (every current browser/Node target).
export const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Entry extends TensorInfo {
  readonly begin: number; // relative to the data region
  readonly end: number;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(file: string, name: string, raw: unknown, dataSize: number): Entry {
  const where = `${file}: tensor '${name}'`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(`${where}: header entry must be an object {dtype, shape, data_offsets}, got ${show(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new SafetensorsError(`${where} has unknown dtype ${show(dtype)}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`);
  }
  let numel = 1;
  for (const d of shape) numel *= d;
  const itemBytes = DTYPE_BYTES[dtype as Dtype];
  const bytes = numel * itemBytes;
  if (!Number.isSafeInteger(bytes)) {
    throw new SafetensorsError(`${where}: shape ${show(shape)} is too large to address`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isNonNegInt(offsets[0]) || !isNonNegInt(offsets[1]) || offsets[0] > offsets[1]) {
    throw new SafetensorsError(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${show(offsets)}`);
  }
  // `+ 0` turns a JSON "-0" into 0 so it never leaks into shapes or offsets.
  const [begin, end] = [offsets[0] + 0, offsets[1] + 0];
  if (end - begin !== bytes) {
    throw new SafetensorsError(
      `${where} has dtype ${dtype} and shape [${shape.join(',')}] (${numel} elements = ${bytes} bytes) ` +
        `but data_offsets ${begin}..${end} span ${end - begin} bytes`,
    );
  }
  if (end > dataSize) {
    throw new SafetensorsError(`${where} claims bytes ${begin}..${end} but the data region is ${dataSize} bytes (truncated file?)`);
  }
  return { dtype: dtype as Dtype, shape: Object.freeze(shape.map((d) => d + 0)), begin, end };
}

export class SafetensorsFile {
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly chunkBytes: number;

  /** Use openSafetensors(); the constructor trusts its already-validated arguments. */
  constructor(
    private readonly src: ByteSource,
    private readonly dataStart: number,
    private readonly entries: ReadonlyMap<string, Entry>,
    metadata: Record<string, string>,
    chunkBytes: number,
  ) {
    this.name = src.name;
    this.metadata = Object.freeze(metadata);
    this.chunkBytes = chunkBytes;
  }

  /** Tensor names in file order (ascending data offset). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.entry(name);
    return { dtype: e.dtype, shape: e.shape };
  }

  /** The tensor's raw little-endian bytes, for dtypes that getFloat32 does not convert. */
  async getBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return this.readExact(name, e.begin, e.end - e.begin);
  }

  /** Reads just this tensor, converting F16/BF16 to f32. Large tensors arrive in several slices. */
  async getFloat32(name: string): Promise<Float32Array> {
    const e = this.entry(name);
    if (!isFloatDtype(e.dtype)) {
      throw new SafetensorsError(`${this.name}: tensor '${name}' has unsupported dtype ${e.dtype}; only F32, F16 and BF16 can be read as float (use getBytes)`);
    }
    if (!hostIsLittleEndian) throw new SafetensorsError(`${this.name}: reading needs a little-endian host`);
    const item = DTYPE_BYTES[e.dtype];
    const numel = (e.end - e.begin) / item;
    let out: Float32Array;
    try {
      out = new Float32Array(numel);
    } catch {
      throw new SafetensorsError(`${this.name}: tensor '${name}' has ${numel} elements, more than one Float32Array can hold here`);
    }
    const step = Math.max(1, Math.floor(this.chunkBytes / item));
    for (let i = 0; i < numel; i += step) {
      const n = Math.min(step, numel - i);
      const bytes = await this.readExact(name, e.begin + i * item, n * item);
      const dst = out.subarray(i, i + n);
      if (e.dtype === 'F32') {
        new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(bytes);
      } else {
        // A Uint16Array view needs 2-byte alignment, which a source's slice does not promise.
        const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
        const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
        if (e.dtype === 'F16') decodeF16(halves, dst);
        else decodeBf16(halves, dst);
      }
    }
    return out;
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (e) return e;
    const some = this.keys().slice(0, 8).map((k) => `'${k}'`).join(', ');
    throw new SafetensorsError(`${this.name}: no tensor '${name}'; the file has ${this.entries.size} tensors (${some}${this.entries.size > 8 ? ', ...' : ''})`);
  }

  private async readExact(name: string, rel: number, length: number): Promise<Uint8Array> {
    const bytes = await this.src.read(this.dataStart + rel, length);
    if (bytes.byteLength !== length) {
      throw new SafetensorsError(`${this.name}: tensor '${name}': asked for ${length} bytes, got ${bytes.byteLength} (file changed after opening?)`);
    }
    return bytes;
  }
}

export async function openSafetensors(src: ByteSource, opts: OpenOptions = {}): Promise<SafetensorsFile> {
  const file = src.name;
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER;
  if (src.size < 8) throw new SafetensorsError(`${file}: ${src.size} bytes is too short for the 8-byte header length; not a safetensors file`);
  const prefix = await src.read(0, 8);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const headerLen = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerLen > maxHeader) {
    throw new SafetensorsError(`${file}: header length ${headerLen} exceeds the ${maxHeader}-byte limit; corrupt or not a safetensors file`);
  }
  if (headerLen > src.size - 8) {
    throw new SafetensorsError(`${file}: header length ${headerLen} but only ${src.size - 8} bytes follow the length prefix (truncated file?)`);
  }
  let parsed: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, headerLen));
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`${file}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SafetensorsError(`${file}: header must be a JSON object, got ${show(parsed)}`);
  }

  const dataStart = 8 + headerLen;
  const dataSize = src.size - dataStart;
  const metadata: Record<string, string> = Object.create(null);
  const list: [string, Entry][] = [];
  for (const [name, raw] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        throw new SafetensorsError(`${file}: __metadata__ must be an object of strings, got ${show(raw)}`);
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new SafetensorsError(`${file}: __metadata__ '${k}' must be a string, got ${show(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    list.push([name, parseEntry(file, name, raw, dataSize)]);
  }

  list.sort(([na, a], [nb, b]) => a.begin - b.begin || a.end - b.end || (na < nb ? -1 : na > nb ? 1 : 0));
  // Empty tensors occupy no bytes, so they cannot overlap anything.
  let prev: [string, Entry] | undefined;
  for (const cur of list) {
    if (cur[1].begin === cur[1].end) continue;
    if (prev && cur[1].begin < prev[1].end) {
      throw new SafetensorsError(
        `${file}: tensors '${prev[0]}' (bytes ${prev[1].begin}..${prev[1].end}) and '${cur[0]}' (bytes ${cur[1].begin}..${cur[1].end}) overlap`,
      );
    }
    prev = cur;
  }
  return new SafetensorsFile(src, dataStart, new Map(list), metadata, opts.chunkBytes ?? DEFAULT_CHUNK);
}

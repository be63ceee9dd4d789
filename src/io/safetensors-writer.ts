// Writes the safetensors format as a list of chunks (header, then one chunk per tensor), so saving a
// large model never needs one buffer the size of the file: hand the chunks to writeFileAtomic or a Blob.

import { encodeBf16, encodeF16 } from './half.js';
import { DTYPE_BYTES, hostIsLittleEndian, SafetensorsError, type FloatDtype } from './safetensors-reader.js';

export interface TensorToWrite {
  readonly dtype: FloatDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

// Plain code-unit order, not localeCompare, so the output does not depend on the machine's locale.
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** JSON object text from [key, value-as-JSON] pairs in the given order; JSON.stringify on an object
 * would hoist integer-like keys ("0", "12") to the front. */
function objectJson(pairs: readonly [string, string][]): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

function tensorBytes(name: string, t: TensorToWrite): Uint8Array<ArrayBuffer> {
  switch (t.dtype) {
    case 'F32': {
      // A view, not a copy: the chunk aliases the caller's data until it is written out. Shared
      // memory is copied because Blob and most writers refuse SharedArrayBuffer views.
      const buf = t.data.buffer;
      if (buf instanceof ArrayBuffer) return new Uint8Array(buf, t.data.byteOffset, t.data.byteLength);
      const copy = new Uint8Array(t.data.byteLength);
      copy.set(new Uint8Array(buf, t.data.byteOffset, t.data.byteLength));
      return copy;
    }
    case 'F16': {
      const h = encodeF16(t.data);
      return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    }
    case 'BF16': {
      const h = encodeBf16(t.data);
      return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    }
    default:
      throw new SafetensorsError(`serializeSafetensors: tensor '${name}' has dtype ${String((t as TensorToWrite).dtype)}; only F32, F16 and BF16 can be written`);
  }
}

/**
 * Serialises tensors to safetensors bytes. Keys are sorted, data is laid out in key order, and the
 * header is space-padded so the data region starts 8-byte aligned. F32 chunks alias the inputs.
 */
export function serializeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array<ArrayBuffer>[] {
  if (!hostIsLittleEndian) throw new SafetensorsError('serializeSafetensors: writing needs a little-endian host');
  const names = Object.keys(tensors).sort(byCodeUnit);
  const header: [string, string][] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    const meta: [string, string][] = [];
    for (const k of Object.keys(metadata).sort(byCodeUnit)) {
      const v = metadata[k];
      if (typeof v !== 'string') throw new SafetensorsError(`serializeSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
      meta.push([k, JSON.stringify(v)]);
    }
    header.push(['__metadata__', objectJson(meta)]);
  }

  const data: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError(`serializeSafetensors: '__metadata__' is reserved and cannot name a tensor`);
    const t = tensors[name]!;
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`serializeSafetensors: tensor '${name}' shape [${t.shape.join(',')}] must hold non-negative integers`);
    }
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (numel !== t.data.length) {
      throw new SafetensorsError(`serializeSafetensors: tensor '${name}' has shape [${t.shape.join(',')}] (${numel} elements) but its data has ${t.data.length}`);
    }
    const bytes = tensorBytes(name, t);
    const size = numel * DTYPE_BYTES[t.dtype];
    header.push([name, JSON.stringify({ dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] })]);
    data.push(bytes);
    offset += size;
  }

  const json = new TextEncoder().encode(objectJson(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8);
  const view = new DataView(head.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  head.set(json, 8);
  return [head, ...data];
}

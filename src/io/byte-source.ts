// Random-access byte sources, so a reader can pull one tensor at a time out of a file far larger than
// memory (or than one ArrayBuffer). The Node file implementation lives in src/node/file-source.ts.

export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Used in error messages, e.g. a file name. */
  readonly name: string;
  /** Exactly `length` bytes starting at `offset`; rejects if the range is outside [0, size]. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Throws a RangeError naming the source unless [offset, offset+length) lies inside [0, size). */
export function checkRange(src: { size: number; name: string }, offset: number, length: number): void {
  const ok =
    Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= src.size;
  if (!ok) {
    throw new RangeError(`${src.name}: cannot read ${length} bytes at offset ${offset}; the source is ${src.size} bytes`);
  }
}

/** A source over bytes already in memory. Reads return views, not copies. */
export function memorySource(bytes: Uint8Array | ArrayBuffer, name = 'memory'): ByteSource {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const src: ByteSource = {
    size: data.byteLength,
    name,
    read(offset, length) {
      try {
        checkRange(src, offset, length);
      } catch (err) {
        return Promise.reject(err);
      }
      return Promise.resolve(data.subarray(offset, offset + length));
    },
  };
  return src;
}

/** A source over a browser Blob or File; each read is a separate `slice()`, never the whole blob. */
export function blobSource(blob: Blob, name?: string): ByteSource {
  const fileName = (blob as Partial<File>).name;
  const src: ByteSource = {
    size: blob.size,
    name: name ?? (typeof fileName === 'string' && fileName !== '' ? fileName : 'blob'),
    async read(offset, length) {
      checkRange(src, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
  return src;
}

/** Joins chunks (e.g. from serializeSafetensors) into one buffer; for small files and tests. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

// A bounds-checked little/big-endian reader over bytes already in memory. Every read checks its range
// against the buffer, so a corrupt offset in a file turns into a FormatError naming the file instead of
// a silent `undefined`, a NaN, or a RangeError from a typed-array constructor.

/** A file that is not what its reader expects. The message starts with the file's display name. */
export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    readonly fileName: string,
    readonly problem: string,
  ) {
    super(`${fileName}: ${problem}`);
  }
}

export type FormatErrorFactory = (fileName: string, problem: string) => FormatError;

export class ByteReader {
  readonly size: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** Display name used in error messages. */
    readonly name: string,
    /** Byte order of multi-byte reads; TIFF readers flip it after reading the header. */
    public littleEndian = true,
    private readonly makeError: FormatErrorFactory = (f, p) => new FormatError(f, p),
  ) {
    this.size = bytes.byteLength;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** An error of the reader's class; `throw r.error('...')`. */
  error(problem: string): FormatError {
    return this.makeError(this.name, problem);
  }

  /** True when [offset, offset+length) lies inside the buffer (all integers, no overflow). */
  inRange(offset: number, length: number): boolean {
    return (
      Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.size
    );
  }

  /** Throws unless [offset, offset+length) lies inside the buffer; `what` names the thing being read. */
  check(offset: number, length: number, what: string): void {
    if (!this.inRange(offset, length)) {
      throw this.error(`${what} at offset ${offset} (${length} bytes) points past the end of the file (size ${this.size})`);
    }
  }

  u8(offset: number): number {
    this.check(offset, 1, 'a byte');
    return this.bytes[offset]!;
  }

  u16(offset: number): number {
    this.check(offset, 2, 'a 16-bit value');
    return this.view.getUint16(offset, this.littleEndian);
  }

  i16(offset: number): number {
    this.check(offset, 2, 'a 16-bit value');
    return this.view.getInt16(offset, this.littleEndian);
  }

  u32(offset: number): number {
    this.check(offset, 4, 'a 32-bit value');
    return this.view.getUint32(offset, this.littleEndian);
  }

  i32(offset: number): number {
    this.check(offset, 4, 'a 32-bit value');
    return this.view.getInt32(offset, this.littleEndian);
  }

  f32(offset: number): number {
    this.check(offset, 4, 'a float');
    return this.view.getFloat32(offset, this.littleEndian);
  }

  f64(offset: number): number {
    this.check(offset, 8, 'a double');
    return this.view.getFloat64(offset, this.littleEndian);
  }

  /** A view (not a copy) of [offset, offset+length). */
  slice(offset: number, length: number, what = 'data'): Uint8Array {
    this.check(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }

  /** Latin-1 text of [offset, offset+length), cut at the first NUL and trimmed. */
  ascii(offset: number, length: number): string {
    const b = this.slice(offset, length, 'a string');
    let s = '';
    for (let i = 0; i < b.length && b[i] !== 0; i++) s += String.fromCharCode(b[i]!);
    return s.trim();
  }
}

/** "49 49 2a 00 …" for the first `n` bytes: error messages show what a file actually starts with. */
export function hexPrefix(bytes: Uint8Array, n = 8): string {
  const parts: string[] = [];
  for (let i = 0; i < Math.min(n, bytes.length); i++) parts.push(bytes[i]!.toString(16).padStart(2, '0'));
  return parts.join(' ') + (bytes.length > n ? ' …' : '');
}

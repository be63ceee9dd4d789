// A ByteSource over a file on disk. Reads are positional (pread), so concurrent tensor reads are safe
// and files beyond 2 GB work: offsets are plain numbers, exact up to 2^53.

import { open } from 'node:fs/promises';
import { checkRange, type ByteSource } from '../io/byte-source.js';

export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

// One read() call is capped by the OS/libuv at about 2 GiB, so big reads loop in smaller pieces.
const MAX_READ = 1 << 30;

export async function openFileSource(path: string): Promise<FileSource> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (err) {
    await handle.close();
    throw err;
  }
  const src: FileSource = {
    size,
    name: path,
    async read(offset, length) {
      checkRange(src, offset, length);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const want = Math.min(MAX_READ, length - done);
        const { bytesRead } = await handle.read(out, done, want, offset + done);
        if (bytesRead === 0) {
          throw new RangeError(`${path}: file ended at byte ${offset + done} while reading ${length} bytes at ${offset} (truncated since opening?)`);
        }
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
  return src;
}

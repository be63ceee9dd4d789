// Writes a file so that `path` holds either its old contents or the complete new ones, never a
// partial write: data goes to a temp file beside it, is fsynced, then renamed over `path`.

import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`writeFileAtomic: chunks must be Uint8Array, got ${typeof bytes}`);
  let done = 0;
  while (done < bytes.byteLength) {
    // Capped per call for the same ~2 GiB OS limit that applies to reads.
    const n = Math.min(bytes.byteLength - done, 1 << 30);
    const { bytesWritten } = await handle.write(bytes, done, n);
    if (bytesWritten === 0) throw new Error(`writeFileAtomic: write made no progress`);
    done += bytesWritten;
  }
}

export async function writeFileAtomic(path: string, data: readonly Uint8Array[] | Uint8Array | string): Promise<void> {
  const chunks = typeof data === 'string' ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  // 'wx' fails rather than clobbering if the temp name somehow exists.
  const handle = await open(tmp, 'wx');
  try {
    try {
      for (const c of chunks) await writeAll(handle, c);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // Persist the rename itself; directories cannot be opened this way on Windows, where it is skipped.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    /* best effort */
  }
}

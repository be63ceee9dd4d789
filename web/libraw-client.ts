// The page's side of LibRaw: one module worker (web/libraw-worker.ts, bundled as libraw-worker.js beside app.js),
// started on the first file our own readers hand on, answering one request at a time.
import { RawFormatError, RawUnsupportedError } from '../src/raw/errors.js';
import { setLibRawRemote } from '../src/raw/libraw-reader.js';
import type { RawImage } from '../src/raw/raw-image.js';
import type { LibRawReply, LibRawRequest } from './libraw-worker.js';

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { ok: (r: RawImage) => void; fail: (e: Error) => void }>();

function start(): Worker {
  const w = new Worker(new URL('libraw-worker.js', document.baseURI), { type: 'module', name: 'libraw' });
  w.onmessage = (e: MessageEvent<LibRawReply>) => {
    const p = pending.get(e.data.id);
    if (!p) return;
    pending.delete(e.data.id);
    if ('image' in e.data) p.ok(e.data.image);
    else {
      const { unsupported, format, fileName, problem } = e.data.error;
      p.fail(unsupported ? new RawUnsupportedError(fileName, problem) : format ? new RawFormatError(fileName, problem) : new Error(problem));
    }
  };
  w.onerror = (e) => {
    for (const p of pending.values()) p.fail(new RawUnsupportedError('LibRaw', `its worker failed: ${e.message || 'could not load libraw-worker.js'}`));
    pending.clear();
    worker = null;
  };
  return w;
}

/** Routes openRaw's LibRaw fallback to the worker. */
export function useLibRawWorker(): void {
  setLibRawRemote((bytes, name) => {
    worker ??= start();
    const id = nextId++;
    return new Promise<RawImage>((ok, fail) => {
      pending.set(id, { ok, fail });
      const copy = bytes.slice(); // the page keeps its own bytes (it re-reads them on a size change)
      worker!.postMessage({ id, bytes: copy, name } satisfies LibRawRequest, [copy.buffer]);
    });
  });
}

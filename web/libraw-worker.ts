// LibRaw in a module worker: the page hands it a file's bytes and gets a RawImage back (web/libraw-client.ts).
// It runs here rather than in the page because libraw-wasm's embind glue builds functions with `new Function`:
// the demo server allows that ('unsafe-eval') for this script only, never for the page.
import { FormatError } from '../src/io/bytes.js';
import { RawUnsupportedError } from '../src/raw/errors.js';
import { readWithLibRaw, setLibRawLoader } from '../src/raw/libraw-reader.js';
import { instantiateLibRaw } from '../src/raw/libraw-wasm.js';

export interface LibRawRequest {
  id: number;
  bytes: Uint8Array;
  name: string;
}

export type LibRawReply =
  | { id: number; image: import('../src/raw/raw-image.js').RawImage }
  | { id: number; error: { unsupported: boolean; format: boolean; fileName: string; problem: string } };

setLibRawLoader(async () => {
  // Shared WebAssembly memory (emscripten pthreads) exists only in cross-origin-isolated contexts.
  if (!globalThis.crossOriginIsolated) throw new Error('the page is not cross-origin isolated (serve it with COOP same-origin and COEP require-corp)');
  const res = await fetch(new URL('libraw/libraw.wasm', self.location.href));
  if (!res.ok) throw new Error(`fetching libraw/libraw.wasm: HTTP ${res.status}`);
  return instantiateLibRaw(new Uint8Array(await res.arrayBuffer()));
});

self.onmessage = async (e: MessageEvent<LibRawRequest>) => {
  const { id, bytes, name } = e.data;
  const post = (reply: LibRawReply, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(reply, transfer);
  try {
    const image = await readWithLibRaw(bytes, name);
    post({ id, image }, [image.mosaic.buffer]);
  } catch (err) {
    const fe = err instanceof FormatError ? err : null;
    post({ id, error: { unsupported: err instanceof RawUnsupportedError, format: fe !== null, fileName: fe?.fileName ?? name, problem: fe?.problem ?? (err instanceof Error ? err.message : String(err)) } });
  }
};

// Instantiates libraw-wasm's module from its WebAssembly bytes (the platform supplies them: Node reads the
// package's file, the page fetches it). Its build uses a shared WebAssembly.Memory (emscripten pthreads), so
// a browser page must be cross-origin isolated (COOP same-origin + COEP require-corp) for it to load.

import type { LibRawModule } from './libraw-reader.js';

export async function instantiateLibRaw(wasmBinary: Uint8Array): Promise<LibRawModule> {
  const factory = (await import('libraw-wasm/dist/libraw.js')).default;
  // LibRaw's own progress and warning lines would interleave with ours: drop them.
  return (await factory({ wasmBinary, print: () => {}, printErr: () => {} })) as LibRawModule;
}

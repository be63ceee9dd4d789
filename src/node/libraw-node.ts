// LibRaw for the Node CLI: the WebAssembly bytes come from the installed libraw-wasm package.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setLibRawLoader } from '../raw/libraw-reader.js';
import { instantiateLibRaw } from '../raw/libraw-wasm.js';

export function useNodeLibRaw(): void {
  setLibRawLoader(() => {
    const wasm = createRequire(import.meta.url).resolve('libraw-wasm/dist/libraw.wasm');
    return instantiateLibRaw(readFileSync(wasm));
  });
}

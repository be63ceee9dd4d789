// The emscripten module factory inside the libraw-wasm package (its default entry wraps it in a Web Worker,
// which Node 20 lacks; we call the factory directly with the WebAssembly bytes).
declare module 'libraw-wasm/dist/libraw.js' {
  const factory: (options: { wasmBinary?: Uint8Array | ArrayBuffer; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<unknown>;
  export default factory;
}

// WGSL files are imported as text by esbuild (loader: text) and by vitest (the plugin in vitest.config.ts).
declare module '*.wgsl' {
  const source: string;
  export default source;
}

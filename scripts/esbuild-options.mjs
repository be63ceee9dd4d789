// Shared esbuild settings: WGSL as text, Node platform, ESM. The browser build overrides platform.
export const nodeOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  loader: { '.wgsl': 'text' },
  // Native and large dev-only packages stay outside the bundle.
  external: ['webgpu', '@tensorflow/*', 'playwright-core', 'gl-matrix'],
  logLevel: 'warning',
};

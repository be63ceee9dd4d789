import { installPollThrottle } from './poll-throttle.js';

/**
 * Where the `GPU` object comes from: `navigator.gpu` in browsers (and anywhere a caller set it up), Dawn through
 * the `webgpu` npm package in Node. This is the only place that differs between the two.
 */
export interface GpuSource {
  gpu: GPU;
  /** Dawn's Node object must stay referenced for the life of the device, or the process crashes on submit. */
  keepAlive?: unknown;
  origin: 'navigator.gpu' | 'dawn-node';
}

export async function acquireGpu(): Promise<GpuSource> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, origin: 'navigator.gpu' };
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!isNode) {
    throw new Error(
      'WebGPU is not available in this browser: use Chrome/Edge 113+ (or start Chromium with --enable-unsafe-webgpu), ' +
        'Firefox 141+ on Windows, or Safari 26+.',
    );
  }
  // A computed specifier keeps bundlers from pulling the native module into a browser build.
  const specifier = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ specifier)) as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  // GPUBufferUsage, GPUMapMode, ... are globals in browsers; Dawn's package exports them instead.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const gpu = dawn.create([]);
  installPollThrottle();
  return { gpu, keepAlive: gpu, origin: 'dawn-node' };
}

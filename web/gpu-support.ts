// Finding WebGPU in this browser, and saying exactly what to do where there is none.
import { init, type GpuDevice } from '../src/index.js';

export const WEBGPU_REQUIREMENTS =
  'Use Chrome or Edge 113+ (on Linux, enable chrome://flags/#enable-unsafe-webgpu), ' +
  'Firefox Nightly or Firefox 141+ with dom.webgpu.enabled set in about:config, or Safari 26+.';

/** What the adapter offers, for the GPU panel (the device gets only the features the engine asks for). */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  fallback: boolean;
  features: string[];
  limits: Record<string, number>;
}

export type GpuProbe = { ok: true; report: AdapterReport } | { ok: false; reason: 'no-webgpu' | 'no-adapter'; message: string };

const SHOWN_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'] as const;

/** Looks for WebGPU without creating a device. */
export async function probeWebGpu(): Promise<GpuProbe> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    const secure = window.isSecureContext ? '' : ' WebGPU also needs a secure page: open it over https or from http://127.0.0.1.';
    return { ok: false, reason: 'no-webgpu', message: `WebGPU is not available in this browser (navigator.gpu is undefined).${secure} ${WEBGPU_REQUIREMENTS}` };
  }
  let adapter: GPUAdapter | null = null;
  let why = '';
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    why = ` (${e instanceof Error ? e.message : String(e)})`;
  }
  if (!adapter) {
    return {
      ok: false,
      reason: 'no-adapter',
      message: `WebGPU is present but navigator.gpu.requestAdapter() returned no adapter${why}: WebGPU is disabled or your GPU is blocklisted. ${WEBGPU_REQUIREMENTS}`,
    };
  }
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of SHOWN_LIMITS) limits[k] = Number(adapter.limits[k]);
  return {
    ok: true,
    report: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
      fallback: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
      features: [...adapter.features].map(String).sort(),
      limits,
    },
  };
}

/** The engine's device; a new one after a loss (init() starts over when the old one is lost or destroyed). */
export async function gpuDevice(): Promise<GpuDevice> {
  return init();
}

export { initDevice, getDevice, peekDevice, destroyDevice, GpuDevice } from './device.js';
export type { AdapterDescription, InitOptions } from './device.js';
export { GpuError, DeviceLostError, KernelError } from './errors.js';
export { sizeClass, type PoolStats } from './buffer-pool.js';
export type { DispatchSpec, DispatchObserver } from './command-batch.js';
export { bindingBuffer, type BufferBinding } from './bind-group-cache.js';
export type { Constants } from './pipeline-cache.js';
export { Profiler, summarize, toTraceEvents, type KernelEvent, type KernelSummary, type CpuSpan } from './profiler.js';

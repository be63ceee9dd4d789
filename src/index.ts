/**
 * rddm: a WebGPU tensor + autograd engine, and RDDM (RAW-domain diffusion for image restoration) built on it.
 * This entry point is free of Node built-ins so the same code bundles for browsers.
 */
import { initDevice, getDevice, type InitOptions, type GpuDevice } from '../runtime/index.js';
import { backward, type BackwardOptions } from './autograd/backward.js';
import { Tensor } from './tensor/tensor.js';
import * as ops from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';

export { Tensor, withMetaTensors } from './tensor/tensor.js';
export type { NestedArray } from './tensor/tensor.js';
export type { Shape } from './tensor/shape.js';
export { tidy, keep } from './tensor/scope.js';
export { liveStats } from './tensor/storage.js';
export { noGrad, isGradEnabled } from './autograd/graph.js';
export { capture, type CapturedStep } from './capture.js';
export * from './ops/index.js';
export { GpuError, DeviceLostError, KernelError, getDevice, destroyDevice } from '../runtime/index.js';
export type { AdapterDescription, InitOptions, GpuDevice } from '../runtime/index.js';

declare module './tensor/tensor.js' {
  interface Tensor {
    /** Reverse-mode autodiff from this tensor; accumulates into `.grad` of every leaf that requires it. */
    backward(opts?: BackwardOptions): Promise<void>;
  }
}
Tensor.prototype.backward = function (this: Tensor, opts?: BackwardOptions) {
  return backward(this, opts);
};

/** Creates (or returns) the GPU device: navigator.gpu in browsers, Dawn in Node. Call again after a device loss. */
export async function init(opts?: InitOptions): Promise<GpuDevice> {
  return initDevice(opts);
}

/** Waits for all submitted GPU work and surfaces GPU errors. */
export async function sync(): Promise<void> {
  await getDevice().sync();
}

void ops;

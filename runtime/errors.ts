/** Errors raised by the runtime. Each names what failed so a user can act on it. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** The GPU device went away (driver reset, `destroy()`, tab backgrounded): everything on it is gone. */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
}

/** A WebGPU validation or out-of-memory error, attributed to the kernels of the batch it happened in. */
export class KernelError extends GpuError {
  override name = 'KernelError';
  constructor(
    message: string,
    readonly kernels: readonly string[],
  ) {
    super(message);
  }
}

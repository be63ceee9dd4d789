import type { DispatchSpec, GpuDevice } from '../../runtime/index.js';
import { DEFAULT_GENERAL, configName, runMatmul, unsupportedReason, type KernelRecorder, type MatmulConfig, type MatOperand } from './matmul-kernels.js';

/**
 * The autotuner's measurements (src/ops/autotune.ts decides what to do with them). Everything here runs on
 * buffers and command buffers of its own, submitted straight to the queue: a tune started in the background
 * must not flush, count into or raise errors in the engine's open batch.
 */

export interface CandidateTiming {
  name: string;
  config: MatmulConfig;
  /** Fastest timed run in ms (NaN if dropped before timing). */
  ms: number;
  gflops: number;
  /** Why it was dropped: an error, a wrong result, or too slow in the first round. */
  dropped?: string;
}

const ROUNDS = 3;
/** After this round (0-based), candidates this much slower than the best are not timed again. One sample is not
 * enough to judge: a kernel's first run is sometimes several times slower. */
const PRUNE_AFTER = 1;
const PRUNE_FACTOR = 2;

/** Dispatches recorded into a private command buffer; uniforms and scratch get buffers of their own. */
class PrivateQueue implements KernelRecorder {
  private specs: DispatchSpec[] = [];
  private garbage: GPUBuffer[] = [];

  constructor(private readonly dev: GpuDevice) {}

  dispatch(spec: DispatchSpec): void {
    this.specs.push(spec);
  }
  scratch(bytes: number): GPUBuffer {
    return this.dev.device.createBuffer({ size: Math.ceil(bytes / 16) * 16, usage: 0x80 /* STORAGE */, label: 'autotune-scratch' });
  }
  release(buf: GPUBuffer): void {
    this.garbage.push(buf);
  }

  /**
   * Records `fn`'s kernels (pipelines are created, i.e. compiled, then too), submits them and waits; returns the
   * ms from submit to completion. Errors of this work are caught in error scopes of its own and thrown here; the
   * scopes open and close within one synchronous stretch, so nothing else's errors can land in them.
   */
  async run(fn: (rec: KernelRecorder) => void): Promise<number> {
    const device = this.dev.device;
    // Work already on the queue (the engine's, in a background tune) must not count as ours.
    await device.queue.onSubmittedWorkDone();
    let t0 = 0;
    device.pushErrorScope('internal');
    device.pushErrorScope('validation');
    let thrown: unknown = null;
    try {
      fn(this);
      const enc = device.createCommandEncoder({ label: 'autotune' });
      const pass = enc.beginComputePass();
      for (const s of this.specs) {
        const entries: GPUBindGroupEntry[] = s.buffers.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } }));
        if (s.uniform) {
          const u = device.createBuffer({ size: Math.ceil(s.uniform.byteLength / 16) * 16, usage: 0x40 /* UNIFORM */ | 0x8 /* COPY_DST */ });
          device.queue.writeBuffer(u, 0, s.uniform.buffer, s.uniform.byteOffset, s.uniform.byteLength);
          this.garbage.push(u);
          entries.push({ binding: s.buffers.length, resource: { buffer: u } });
        }
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, device.createBindGroup({ layout: s.pipeline.getBindGroupLayout(0), entries }));
        const [x, y = 1, z = 1] = s.workgroups;
        pass.dispatchWorkgroups(x, y, z);
      }
      pass.end();
      const cmd = enc.finish();
      t0 = performance.now();
      device.queue.submit([cmd]);
    } catch (e) {
      thrown = e;
    }
    this.specs = [];
    // destroy() waits for the submitted work that uses the buffers.
    for (const b of this.garbage) b.destroy();
    this.garbage = [];
    const errors = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
    if (thrown) throw thrown;
    await device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    for (const e of errors) if (e) throw new Error(e.message);
    return ms;
  }

  async read(buf: GPUBuffer, bytes: number): Promise<Float32Array> {
    const device = this.dev.device;
    const staging = device.createBuffer({ size: bytes, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
    const enc = device.createCommandEncoder({ label: 'autotune-read' });
    enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(0x1);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return out;
  }
}

/** Largest |x - ref| relative to the largest |ref| (at least 1). */
function relativeError(x: Float32Array, ref: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

/**
 * Times each candidate on one n x n x n product (B row-major, so the packed kernels include their transposing
 * copy, as in real use); each result is checked against the general kernel's.
 */
export async function timeCandidates(dev: GpuDevice, configs: readonly MatmulConfig[], n: number): Promise<CandidateTiming[]> {
  const device = dev.device;
  const bytes = n * n * 4;
  const usage = 0x80 /* STORAGE */ | 0x8 /* COPY_DST */ | 0x4; /* COPY_SRC */
  const bufs = ['a', 'b', 'ref', 'c'].map((label) => device.createBuffer({ size: bytes, usage, label: `autotune-${label}` }));
  const [a, b, ref, c] = bufs;
  const q = new PrivateQueue(dev);
  try {
    for (const buf of [a, b]) {
      const data = new Float32Array(n * n);
      for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
      device.queue.writeBuffer(buf, 0, data);
    }
    const opA: MatOperand = { buffer: a, off: 0, bs: 0, rs: n, cs: 1 };
    const opB: MatOperand = { buffer: b, off: 0, bs: 0, rs: 1, cs: n }; // row-major [K, N] seen as [N, K]
    const dims = { batch: 1, M: n, N: n, K: n };
    await q.run((rec) => runMatmul(dev, rec, DEFAULT_GENERAL, opA, opB, ref, dims));
    const expected = await q.read(ref, bytes);

    const results: (CandidateTiming & { times: number[] })[] = configs.map((config) => {
      const why = unsupportedReason(dev, config);
      return { name: configName(config), config, ms: NaN, gflops: NaN, times: [], ...(why ? { dropped: why } : {}) };
    });
    // Round 0 compiles each kernel (outside the timed part) and checks its result; later rounds interleave the
    // candidates, and each keeps its fastest run: other load (the engine's own work, other processes on a CPU
    // adapter) only ever adds time.
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of results) {
        if (r.dropped) continue;
        try {
          r.times.push(await q.run((rec) => runMatmul(dev, rec, r.config, opA, opB, c, dims)));
          if (round > 0) continue;
          const err = relativeError(await q.read(c, bytes), expected);
          if (!(err < 1e-4)) r.dropped = `wrong result (relative error ${err.toExponential(2)})`;
        } catch (e) {
          r.dropped = `error: ${(e as Error).message}`;
        }
      }
      if (round === PRUNE_AFTER) {
        const fastest = (r: { times: number[] }) => Math.min(...r.times);
        const best = Math.min(...results.filter((r) => !r.dropped).map(fastest));
        for (const r of results) if (!r.dropped && fastest(r) > PRUNE_FACTOR * best) r.dropped = `more than ${PRUNE_FACTOR}x slower than the best`;
      }
    }
    return results.map(({ times, ...r }) => {
      const ms = times.length ? Math.min(...times) : NaN;
      return { ...r, ms, gflops: (2 * n ** 3) / (ms * 1e6) };
    });
  } finally {
    for (const buf of bufs) buf.destroy();
  }
}

import { getDevice, GpuError, type CapturedGraph } from '../runtime/index.js';
import { Tensor } from './tensor/tensor.js';
import type { Storage } from './tensor/storage.js';
import { shapeStr } from './tensor/shape.js';
import { gradSlotOf, watchGradAssignments } from './autograd/grad-slot.js';

/**
 * A step function made replayable, as tinygrad's TinyJit or CUDA graphs: `capture(fn)` returns a function with
 * fn's signature. Its first call runs fn eagerly (pipelines compile, optimizer state and pools fill); the second
 * runs fn while recording every GPU command (src/../runtime/capture.ts); later calls replay those commands with a
 * tight encode loop, skipping fn's JavaScript (ops, autograd, allocation, uniform packing, bind groups). A replay
 * computes exactly what fn would — the same kernels on the same buffers — so results are bit-identical to eager.
 *
 * The contract, as for any graph capture:
 * - Inputs are the tensors of the recording call: same storage, shape and dtype each time (write new data into
 *   them, e.g. with `assignInPlace`). Anything else is refused, naming the input and what changed.
 * - What varies between steps must come in through those inputs. Host values used inside fn (a timestep passed as
 *   a number, an explicit random seed) are frozen at their recorded values. Draws from the default random
 *   generator and optimizer steps (learning rate schedule, bias corrections, step count) do advance per replay.
 * - fn may not read data back (`.item()`, `.data()`): read the outputs after the call.
 * - Outputs (tensors in the returned value, alone, in arrays or plain objects) are new handles on the same
 *   buffers at every replay: read or copy them before the next call. Gradients set by fn's backward are set
 *   again after each replay (`p.grad`).
 * - Tensors fn reads or writes that live across calls (the model, the inputs, the optimizer) must stay alive; a
 *   replay refuses, naming the buffer, if one was disposed.
 */
export interface CapturedStep<A extends Tensor[], R> {
  (...inputs: A): Promise<R>;
  /** 'eager' before the first call, 'recording' during the second, 'replaying' after. */
  readonly phase: 'eager' | 'recording' | 'replaying';
  /** Kernel launches per replay (0 before recording). */
  readonly dispatches: number;
  dispose(): void;
}

interface InputSig {
  storage: Storage;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
  dtype: string;
}

interface OutputSig {
  storage: Storage;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
  dtype: Tensor['dtype'];
}

/** Copies `value` with every tensor replaced by `map(tensor)` (alone, in arrays, in plain objects). */
function mapTensors(value: unknown, map: (t: Tensor) => Tensor, depth = 0): unknown {
  if (value instanceof Tensor) return map(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => mapTensors(v, map, depth + 1));
  if (Object.getPrototypeOf(value) === Object.prototype) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapTensors(v, map, depth + 1)]));
  return value;
}

export function capture<A extends Tensor[], R>(fn: (...inputs: A) => R | Promise<R>): CapturedStep<A, R> {
  let phase: CapturedStep<A, R>['phase'] = 'eager';
  let graph: CapturedGraph | null = null;
  let inputs: InputSig[] = [];
  let template: unknown = null;
  let outputs: OutputSig[] = [];
  let grads: Tensor[] = [];
  let disposed = false;

  const checkInputs = (args: Tensor[]) => {
    if (args.length !== inputs.length) throw new GpuError(`captured step: called with ${args.length} inputs, recorded with ${inputs.length}`);
    args.forEach((t, i) => {
      const s = inputs[i];
      const what =
        t.dtype !== s.dtype
          ? `dtype ${t.dtype} instead of ${s.dtype}`
          : shapeStr(t.shape) !== shapeStr(s.shape)
            ? `shape ${shapeStr(t.shape)} instead of ${shapeStr(s.shape)}`
            : t.isDisposed
              ? 'a disposed tensor'
              : t.storage !== s.storage || t.offset !== s.offset || shapeStr(t.strides) !== shapeStr(s.strides)
                ? 'another tensor (a different buffer or view); write new data into the recorded input instead'
                : null;
      if (what) throw new GpuError(`captured step: input ${i} is ${what} — a captured step replays on the tensors it was recorded with`);
    });
  };

  const step = async (...args: A): Promise<R> => {
    if (disposed) throw new GpuError('captured step: it was disposed');
    const dev = getDevice();
    if (phase === 'eager') {
      const r = await fn(...args);
      phase = 'recording';
      return r;
    }
    if (phase === 'recording') {
      inputs = args.map((t) => ({ storage: t.storage, shape: [...t.shape], strides: [...t.strides], offset: t.offset, dtype: t.dtype }));
      const assigned = new Set<Tensor>();
      const unwatch = watchGradAssignments((p) => assigned.add(p));
      dev.beginCapture();
      let r: R;
      try {
        r = await fn(...args);
        graph = dev.endCapture();
      } catch (e) {
        dev.abortCapture();
        throw e;
      } finally {
        unwatch();
      }
      grads = [...assigned];
      // The outputs' storages stay with the step (a user disposing a returned handle must not free them).
      outputs = [];
      template = mapTensors(r, (t) => {
        outputs.push({ storage: t.storage.retain(), shape: [...t.shape], strides: [...t.strides], offset: t.offset, dtype: t.dtype });
        return t;
      });
      phase = 'replaying';
      return r;
    }
    checkInputs(args);
    dev.replay(graph!);
    // Gradients the step's backward set: after a replay they hold its values, whatever the host did since.
    for (const p of grads) {
      if (p.isDisposed) continue;
      const slot = gradSlotOf(p);
      if (slot && (!p.grad || p.grad.isDisposed || !slot.holds(p.grad))) p.grad = slot.view();
    }
    let k = 0;
    return mapTensors(template, () => {
      const o = outputs[k++];
      return new Tensor(o.storage.retain(), o.shape, { strides: o.strides, offset: o.offset, dtype: o.dtype });
    }) as R;
  };

  // Accessors, not values: Object.assign would copy the getters' values once.
  Object.defineProperties(step, {
    phase: { get: () => phase },
    dispatches: { get: () => graph?.dispatchCount ?? 0 },
    dispose: {
      value: () => {
        if (disposed) return;
        disposed = true;
        graph?.dispose();
        for (const o of outputs) o.storage.release();
        outputs = [];
      },
    },
  });
  return step as CapturedStep<A, R>;
}

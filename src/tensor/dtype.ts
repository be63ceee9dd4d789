/**
 * Element types. Tensors are float32 by default; 'float16' is storage for mixed precision on adapters with the
 * `shader-f16` WebGPU feature (kernels load f16 and compute in f32), and 'int32' is used for index tensors.
 */
export type DType = 'float32' | 'int32' | 'float16';

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float16' ? 2 : 4;
}

/** The WGSL scalar type a storage buffer of `dtype` holds. */
export function wgslType(dtype: DType): 'f32' | 'f16' | 'i32' {
  return dtype === 'float16' ? 'f16' : dtype === 'int32' ? 'i32' : 'f32';
}

/** Why float16 tensors cannot live on a device (null when they can): the error every f16 entry point raises. */
export function float16Unsupported(dev: { features: ReadonlySet<string> }): string | null {
  if (dev.features.has('shader-f16')) return null;
  return (
    "float16 tensors need the WebGPU feature 'shader-f16', which this adapter does not offer (or init() was told to " +
    "disable it); keep float32 tensors — nn.autocast() falls back to float32 by itself"
  );
}

/** For kernels that read float32 only: a float16 input is an error that names the fix. */
export function expectFloat32(op: string, t: { dtype: DType; shape: readonly number[] }): void {
  if (t.dtype === 'float32') return;
  throw new Error(`${op}: expected a float32 input, got ${t.dtype} (shape [${t.shape.join(', ')}]); convert it with .toFloat32() first`);
}

/**
 * Element types. Tensors are float32 today; 'float16' is reserved for f16 storage on adapters with
 * `shader-f16`, and 'int32' is used for index tensors.
 */
export type DType = 'float32' | 'int32' | 'float16';

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float16' ? 2 : 4;
}

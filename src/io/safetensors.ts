// Public entry point for safetensors I/O; pure TypeScript, usable in browsers and Node alike.
// Node file access lives in src/node/file-source.ts and src/node/atomic-write.ts.

export { blobSource, concatBytes, memorySource, type ByteSource } from './byte-source.js';
export {
  DTYPE_BYTES,
  isFloatDtype,
  openSafetensors,
  SafetensorsError,
  SafetensorsFile,
  type Dtype,
  type FloatDtype,
  type OpenOptions,
  type TensorInfo,
} from './safetensors-reader.js';
export { serializeSafetensors, type TensorToWrite } from './safetensors-writer.js';

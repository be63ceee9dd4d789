/** The float64 reference implementation of every engine op (forward and vector-Jacobian product). */
export * from './ref-tensor.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './softmax.js';
export * from './matmul.js';
export * from './shape.js';
export * from './conv.js';
export * from './resample.js';

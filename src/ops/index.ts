// Importing this module installs every op as a Tensor method (each op file adds its own).
export * from './creation.js';
export * from './copy.js';
export * from './unary.js';
export * from './binary.js';
export * from './where.js';
export * from './shape-ops.js';
export * from './reduce.js';
export * from './softmax.js';
export * from './matmul.js';
export * from './gather.js';
export * from './random.js';
export * from './autotune.js';
export * from './conv2d.js';
export * from './resample.js';
export * from './timestep-embedding.js';

// The `nn` namespace: layers built from ops. Each layer lives in its own file.
export { Module, Sequential, parameter, isParameter, describeLoadReport, assignInPlace } from './module.js';
export type { LoadReport, StateSource } from './module.js';
export { Linear, kaimingUniform } from './linear.js';
export { SiLU, GELU, ReLU } from './activations.js';
export { Conv2d, type Size2 } from './conv2d.js';
export { autocast, autocastState, type AutocastOptions, type AutocastState } from './autocast.js';
export { GroupNorm } from './group-norm.js';
export { LayerNorm } from './layer-norm.js';
export { LoRALinear, LoRAConv2d, LoRALayer, LoRAFactor, wrapWithLoRA, setActiveAdapter, loraLayers, isLoRALayer, replaceModule } from './lora.js';
export type { LoRAOptions } from './lora.js';

// The `optim` namespace: optimizers, schedules, gradient clipping, EMA.
export { Optimizer, type OptimizerState, type LrSchedule } from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { SGD, type SGDOptions } from './sgd.js';
export { constantLr, warmupCosine } from './schedules.js';
export { clipGradNorm } from './clip.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
export { EMA } from './ema.js';

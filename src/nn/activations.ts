import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/linear.js';
import { GroupNorm } from '../nn/group-norm.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { groupNorm } from '../ops/group-norm.js';
import { multiHeadAttention } from '../ops/attention.js';
import { geglu } from '../ops/geglu.js';
import { pointwiseLinear } from '../ops/linear-layout.js';
import { autocastState } from '../nn/autocast.js';
import type { LinearLike } from './resnet-block.js';

/** A parameterless placeholder where diffusers has nn.Dropout(0), so numbering (`to_out.0`, `ff.net.2`) matches. */
export class Dropout extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * diffusers' Attention: q from the hidden states, k/v from the context (self-attention when there is none),
 * softmax(q kᵀ / √d) v per head, then to_out.0. The transformer blocks use unbiased q/k/v; the VAE's mid-block
 * attention has biased q/k/v, one head, and its own group_norm and residual (diffusers' deprecated AttentionBlock).
 */
export class Attention extends Module {
  group_norm: GroupNorm | null;
  to_q: LinearLike;
  to_k: LinearLike;
  to_v: LinearLike;
  to_out: [LinearLike, Dropout];
  private readonly normGroups: number;
  private readonly normEps: number;

  constructor(
    readonly queryDim: number,
    readonly heads: number,
    opts: { contextDim?: number; bias?: boolean; groupNorm?: { groups: number; eps: number } } = {},
  ) {
    super();
    const kv = opts.contextDim ?? queryDim;
    const bias = opts.bias ?? false;
    this.group_norm = opts.groupNorm ? new GroupNorm(opts.groupNorm.groups, queryDim, { eps: opts.groupNorm.eps, affine: true }) : null;
    this.normGroups = opts.groupNorm?.groups ?? 0;
    this.normEps = opts.groupNorm?.eps ?? 0;
    this.to_q = new Linear(queryDim, queryDim, { bias });
    this.to_k = new Linear(kv, queryDim, { bias });
    this.to_v = new Linear(kv, queryDim, { bias });
    this.to_out = [new Linear(queryDim, queryDim), new Dropout()];
  }

  /**
   * hidden: [B, L, queryDim]; context: [B, S, contextDim] (cross-attention) or nothing (self-attention).
   * `residual` is added by the output projection's kernel (the transformer block's skip connection).
   */
  forward(hidden: Tensor, context?: Tensor | null, residual?: Tensor | null): Tensor {
    return tidy(() => {
      const ctx = context ?? hidden;
      // Heads stay merged ([B, L, heads·d]): the attention kernels read and write them strided, with no copies.
      const q = this.to_q.forward(hidden);
      const k = this.to_k.forward(ctx);
      const v = this.to_v.forward(ctx);
      return this.to_out[0].forward(multiHeadAttention(q, k, v, this.heads), residual);
    });
  }

  /** The VAE form: GroupNorm, attention over the H·W positions, residual. x: [B, C, H, W]. */
  forwardSpatial(x: Tensor): Tensor {
    if (!this.group_norm) throw new Error('Attention.forwardSpatial: this attention was built without group_norm (it is a transformer attention)');
    const [b, c, h, w] = x.shape;
    return tidy(() => {
      const n = groupNorm(x, this.normGroups, this.group_norm!.weight ?? undefined, this.group_norm!.bias ?? undefined, this.normEps);
      const seq = n.reshape([b, c, h * w]).permute([0, 2, 1]);
      const out = this.forward(seq).permute([0, 2, 1]).reshape([b, c, h, w]);
      return out.add(x);
    });
  }
}

/** GEGLU: one projection to 2·inner, the first half gated by GELU (erf form) of the second. */
export class GEGLU extends Module {
  proj: LinearLike;
  constructor(
    readonly dimIn: number,
    readonly dimOut: number,
  ) {
    super();
    this.proj = new Linear(dimIn, dimOut * 2);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => geglu(this.proj.forward(x)));
  }
}

/** diffusers' FeedForward with activation "geglu" and mult 4: net.0 = GEGLU, net.1 = dropout, net.2 = Linear. */
export class FeedForward extends Module {
  net: [GEGLU, Dropout, LinearLike];
  constructor(readonly dim: number, mult = 4) {
    super();
    this.net = [new GEGLU(dim, dim * mult), new Dropout(), new Linear(dim * mult, dim)];
  }
  forward(x: Tensor, residual?: Tensor | null): Tensor {
    return tidy(() => this.net[2].forward(this.net[0].forward(x), residual));
  }
}

/** diffusers' BasicTransformerBlock (layer norms, self-attention, cross-attention, GEGLU feed-forward), pre-norm residuals. */
export class BasicTransformerBlock extends Module {
  norm1: LayerNorm;
  attn1: Attention;
  norm2: LayerNorm;
  attn2: Attention;
  norm3: LayerNorm;
  ff: FeedForward;
  constructor(
    readonly dim: number,
    heads: number,
    crossAttentionDim: number,
  ) {
    super();
    this.norm1 = new LayerNorm([dim], { eps: 1e-5, elementwiseAffine: true });
    this.attn1 = new Attention(dim, heads);
    this.norm2 = new LayerNorm([dim], { eps: 1e-5, elementwiseAffine: true });
    this.attn2 = new Attention(dim, heads, { contextDim: crossAttentionDim });
    this.norm3 = new LayerNorm([dim], { eps: 1e-5, elementwiseAffine: true });
    this.ff = new FeedForward(dim);
  }

  /** x: [B, L, dim]; context: [B, S, crossAttentionDim]. */
  forward(x: Tensor, context: Tensor): Tensor {
    return tidy(() => {
      // The residual adds happen in the output projections' kernels.
      let h = this.attn1.forward(this.norm1.forward(x), null, x);
      h = this.attn2.forward(this.norm2.forward(h), context, h);
      return this.ff.forward(this.norm3.forward(h), h);
    });
  }
}

/**
 * diffusers' Transformer2DModel for continuous inputs with use_linear_projection (SD 2.x): GroupNorm(eps 1e-6),
 * NCHW → tokens, proj_in, transformer blocks, proj_out, back to NCHW, residual.
 */
export class Transformer2DModel extends Module {
  norm: GroupNorm;
  proj_in: LinearLike;
  transformer_blocks: BasicTransformerBlock[];
  proj_out: LinearLike;
  constructor(
    readonly channels: number,
    readonly heads: number,
    readonly crossAttentionDim: number,
    readonly groups: number,
    layers = 1,
  ) {
    super();
    this.norm = new GroupNorm(groups, channels, { eps: 1e-6, affine: true });
    this.proj_in = new Linear(channels, channels);
    this.transformer_blocks = Array.from({ length: layers }, () => new BasicTransformerBlock(channels, heads, crossAttentionDim));
    this.proj_out = new Linear(channels, channels);
  }

  /** x: [B, C, H, W]; context: [B, S, crossAttentionDim]. */
  forward(x: Tensor, context: Tensor): Tensor {
    const [b, c, h, w] = x.shape;
    if (x.ndim !== 4 || c !== this.channels) throw new Error(`Transformer2DModel(${this.channels}): input shape ${shapeStr(x.shape)} should be [B, ${this.channels}, H, W]`);
    if (context.ndim !== 3 || context.shape[0] !== b || context.shape[2] !== this.crossAttentionDim) {
      throw new Error(`Transformer2DModel: context shape ${shapeStr(context.shape)} should be [${b}, tokens, ${this.crossAttentionDim}]`);
    }
    return tidy(() => {
      const n = groupNorm(x, this.groups, this.norm.weight ?? undefined, this.norm.bias ?? undefined, 1e-6);
      // Plain projections map between NCHW and tokens in their matmul kernels (no permute copies), and proj_out
      // adds the residual as it stores; LoRA-wrapped or autocast ones go through the token layout explicitly.
      const fused = (l: LinearLike): l is Linear => l instanceof Linear && !autocastState() && x.dtype === 'float32';
      let t = fused(this.proj_in)
        ? pointwiseLinear(n, this.proj_in.weight, this.proj_in.bias, { from: 'channels', to: 'tokens' })
        : this.proj_in.forward(n.permute([0, 2, 3, 1]).reshape([b, h * w, c]));
      for (const blk of this.transformer_blocks) t = blk.forward(t, context);
      if (fused(this.proj_out)) return pointwiseLinear(t, this.proj_out.weight, this.proj_out.bias, { from: 'tokens', to: 'channels', spatial: [h, w], residual: x });
      t = this.proj_out.forward(t);
      return t.reshape([b, h, w, c]).permute([0, 3, 1, 2]).add(x);
    });
  }
}

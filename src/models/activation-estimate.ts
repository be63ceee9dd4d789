import type { UNetConfig, VaeConfig } from './configs.js';

/**
 * Activation memory estimated from the config alone (no tensors, no GPU): the architecture is walked block by block
 * counting, in float32 elements, (a) what autograd keeps for backward (inputs of convs, norms, linears, attention
 * q/k/v/out, GEGLU halves) and (b) the live set at each point of an inference pass (skip connections plus the
 * block's working tensors). Attention is fused (src/ops/attention.ts), so no L×L score matrix appears.
 * Estimates, good to tens of percent; the largest single tensor is exact and is what meets the storage-binding limit.
 */
export interface ActivationEstimate {
  /** Bytes kept for backward by one training step at this batch and resolution. */
  trainingBytes: number;
  /** Bytes live at the worst point of one forward pass without autograd. */
  inferencePeakBytes: number;
  /** The largest single activation tensor and where it occurs. */
  largestTensorBytes: number;
  largestTensor: string;
  perBlock: { name: string; outShape: number[]; trainingBytes: number }[];
}

class Tracer {
  saved = 0;
  live = 0;
  peak = 0;
  largest = 0;
  largestAt = '';
  blockSaved = 0;
  perBlock: ActivationEstimate['perBlock'] = [];
  constructor(readonly batch: number) {}
  /** Elements kept for backward. */
  keep(n: number): void {
    this.saved += this.batch * n;
    this.blockSaved += this.batch * n;
  }
  /** A transient working set of `n` elements on top of what is live; `single` the largest tensor in it. */
  work(where: string, n: number, single: number): void {
    this.peak = Math.max(this.peak, this.live + this.batch * n);
    if (this.batch * single > this.largest) {
      this.largest = this.batch * single;
      this.largestAt = where;
    }
  }
  endBlock(name: string, outShape: number[]): void {
    this.perBlock.push({ name, outShape: [this.batch, ...outShape], trainingBytes: 4 * this.blockSaved });
    this.blockSaved = 0;
  }
  result(): ActivationEstimate {
    return { trainingBytes: 4 * this.saved, inferencePeakBytes: 4 * this.peak, largestTensorBytes: 4 * this.largest, largestTensor: this.largestAt, perBlock: this.perBlock };
  }
}

function resnet(t: Tracer, where: string, cin: number, cout: number, hw: number): void {
  // x, silu(norm1(x)), conv1(..)+temb, silu(norm2(..)); the shortcut reads x again.
  t.keep((2 * cin + 2 * cout) * hw);
  t.work(`${where} (resnet ${cin}->${cout})`, (cin + 3 * cout) * hw, Math.max(cin, cout) * hw);
}

function transformer(t: Tracer, where: string, c: number, l: number, s: number, cross: number): void {
  const cl = c * l;
  // GroupNorm in/out, token layout copy, proj_in in; per block: norms (in/out ×3), q/k/v, attention out/merge ×2,
  // cross k/v, GEGLU projection (8C), its two halves' products (4C ×2), proj_out in, NCHW copy.
  t.keep(cl * (3 + 6 + 3 + 2 + 1 + 2 + 8 + 8 + 2) + 2 * c * s + s * cross);
  t.work(`${where} (transformer ${c}ch, ${l} tokens)`, cl * (2 + 8 + 4 + 2), 8 * cl);
}

function spatialAttention(t: Tracer, where: string, c: number, l: number): void {
  t.keep(8 * c * l);
  t.work(`${where} (attention ${c}ch, ${l} positions)`, 6 * c * l, c * l);
}

function conv(t: Tracer, where: string, cin: number, cout: number, hwIn: number, hwOut: number): void {
  t.keep(cin * hwIn);
  t.work(`${where} (conv ${cin}->${cout})`, cin * hwIn + cout * hwOut, Math.max(cin * hwIn, cout * hwOut));
}

/** latentH × latentW: the UNet's input size (image size / VAE factor). */
export function estimateUNetActivations(c: UNetConfig, latentH: number, latentW: number, batch = 1): ActivationEstimate {
  const t = new Tracer(batch);
  const ch = c.blockOutChannels;
  let h = latentH;
  let w = latentW;
  conv(t, 'conv_in', c.inChannels, ch[0], h * w, h * w);
  const skips: number[] = [ch[0] * h * w];
  t.live = batch * skips[0];
  t.endBlock('conv_in', [ch[0], h, w]);
  let cin = ch[0];
  c.downBlockTypes.forEach((type, i) => {
    const name = `down_blocks.${i}`;
    for (let j = 0; j < c.layersPerBlock; j++) {
      resnet(t, name, j === 0 ? cin : ch[i], ch[i], h * w);
      if (type === 'CrossAttnDownBlock2D') transformer(t, name, ch[i], h * w, c.contextLength, c.crossAttentionDim);
      skips.push(ch[i] * h * w);
      t.live += batch * ch[i] * h * w;
    }
    if (i < ch.length - 1) {
      conv(t, name, ch[i], ch[i], h * w, (h / 2) * (w / 2));
      h /= 2;
      w /= 2;
      skips.push(ch[i] * h * w);
      t.live += batch * ch[i] * h * w;
    }
    cin = ch[i];
    t.endBlock(name, [ch[i], h, w]);
  });
  const top = ch[ch.length - 1];
  resnet(t, 'mid_block', top, top, h * w);
  transformer(t, 'mid_block', top, h * w, c.contextLength, c.crossAttentionDim);
  resnet(t, 'mid_block', top, top, h * w);
  t.endBlock('mid_block', [top, h, w]);
  const rev = [...ch].reverse();
  let prev = rev[0];
  c.upBlockTypes.forEach((type, i) => {
    const name = `up_blocks.${i}`;
    for (let j = 0; j <= c.layersPerBlock; j++) {
      const skip = skips.pop()! / (h * w);
      const inC = (j === 0 ? prev : rev[i]) + skip;
      t.keep(inC * h * w);
      resnet(t, name, inC, rev[i], h * w);
      if (type === 'CrossAttnUpBlock2D') transformer(t, name, rev[i], h * w, c.contextLength, c.crossAttentionDim);
      t.live -= batch * skip * h * w;
    }
    if (i < ch.length - 1) {
      t.keep(rev[i] * h * w);
      conv(t, name, rev[i], rev[i], 4 * h * w, 4 * h * w);
      h *= 2;
      w *= 2;
    }
    prev = rev[i];
    t.endBlock(name, [rev[i], h, w]);
  });
  t.keep(2 * ch[0] * h * w);
  conv(t, 'conv_out', ch[0], c.outChannels, h * w, h * w);
  t.endBlock('conv_norm_out + conv_out', [c.outChannels, h, w]);
  return t.result();
}

/** Encoder + decoder at an image of imageH × imageW (one autoencoding pass, as in stage-1 training). */
export function estimateVaeActivations(c: VaeConfig, imageH: number, imageW: number, batch = 1): ActivationEstimate {
  const t = new Tracer(batch);
  const ch = c.blockOutChannels;
  let h = imageH;
  let w = imageW;
  conv(t, 'encoder.conv_in', c.inChannels, ch[0], h * w, h * w);
  t.endBlock('encoder.conv_in', [ch[0], h, w]);
  let cin = ch[0];
  ch.forEach((co, i) => {
    const name = `encoder.down_blocks.${i}`;
    for (let j = 0; j < c.layersPerBlock; j++) resnet(t, name, j === 0 ? cin : co, co, h * w);
    if (i < ch.length - 1) {
      conv(t, name, co, co, (h + 1) * (w + 1), (h / 2) * (w / 2));
      h /= 2;
      w /= 2;
    }
    cin = co;
    t.endBlock(name, [co, h, w]);
  });
  const top = ch[ch.length - 1];
  const mid = (prefix: string) => {
    resnet(t, prefix, top, top, h * w);
    if (c.midBlockAddAttention ?? true) spatialAttention(t, prefix, top, h * w);
    resnet(t, prefix, top, top, h * w);
    t.endBlock(prefix, [top, h, w]);
  };
  mid('encoder.mid_block');
  t.keep(2 * top * h * w);
  conv(t, 'encoder.conv_out', top, 2 * c.latentChannels, h * w, h * w);
  t.endBlock('encoder.conv_out + quant_conv', [2 * c.latentChannels, h, w]);
  conv(t, 'decoder.conv_in', c.latentChannels, top, h * w, h * w);
  mid('decoder.mid_block');
  const rev = [...ch].reverse();
  let prev = rev[0];
  rev.forEach((co, i) => {
    const name = `decoder.up_blocks.${i}`;
    for (let j = 0; j <= c.layersPerBlock; j++) resnet(t, name, j === 0 ? prev : co, co, h * w);
    if (i < rev.length - 1) {
      t.keep(co * h * w);
      conv(t, name, co, co, 4 * h * w, 4 * h * w);
      h *= 2;
      w *= 2;
    }
    prev = co;
    t.endBlock(name, [co, h, w]);
  });
  t.keep(2 * ch[0] * h * w);
  conv(t, 'decoder.conv_out', ch[0], c.outChannels, h * w, h * w);
  t.endBlock('decoder.conv_norm_out + conv_out', [c.outChannels, h, w]);
  return t.result();
}

/**
 * Float64 references for whole model blocks, composed from test/reference ops (which carry their own backward), plus
 * a plain-loop conv2d with its vjp. Each mirrors diffusers' PyTorch forward line by line, so a block checked against
 * it is checked against the architecture, not against our own kernels.
 */
import {
  addRef, expandRef, fullRef, matmulRef, meanRef, mulRef, padRef, permuteRef, recordRef, ref, reshapeRef,
  sliceRef, softmaxRef, subRef, transposeRef, unaryRef, varRef, type RefTensor,
} from '../reference/index.js';

export type Params = Record<string, RefTensor>;

/** NCHW conv, weight [O, C, kh, kw], symmetric zero padding; plain loops forward and backward. */
export function conv2dRef(x: RefTensor, w: RefTensor, b: RefTensor | null, stride = 1, pad = 0): RefTensor {
  const [B, C, H, W] = x.shape;
  const [O, C2, KH, KW] = w.shape;
  if (C !== C2) throw new Error(`conv2dRef: ${C} vs ${C2} channels`);
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  const y = ref([B, O, OH, OW]);
  const xi = (n: number, c: number, h: number, ww: number) => ((n * C + c) * H + h) * W + ww;
  const wi = (o: number, c: number, i: number, j: number) => ((o * C + c) * KH + i) * KW + j;
  const each = (f: (n: number, o: number, oy: number, ox: number, c: number, i: number, j: number, ix: number) => void) => {
    for (let n = 0; n < B; n++)
      for (let o = 0; o < O; o++)
        for (let oy = 0; oy < OH; oy++)
          for (let ox = 0; ox < OW; ox++)
            for (let c = 0; c < C; c++)
              for (let i = 0; i < KH; i++)
                for (let j = 0; j < KW; j++) {
                  const iy = oy * stride - pad + i;
                  const jx = ox * stride - pad + j;
                  if (iy >= 0 && iy < H && jx >= 0 && jx < W) f(n, o, oy, ox, c, i, j, xi(n, c, iy, jx));
                }
  };
  const yi = (n: number, o: number, oy: number, ox: number) => ((n * O + o) * OH + oy) * OW + ox;
  each((n, o, oy, ox, c, i, j, ix) => (y.data[yi(n, o, oy, ox)] += x.data[ix] * w.data[wi(o, c, i, j)]));
  if (b) for (let k = 0; k < y.data.length; k++) y.data[k] += b.data[Math.floor(k / (OH * OW)) % O];
  const inputs = b ? [x, w, b] : [x, w];
  return recordRef(y, 'conv2d', inputs, (g) => {
    const gx = ref(x.shape);
    const gw = ref(w.shape);
    each((n, o, oy, ox, c, i, j, ix) => {
      const gv = g.data[yi(n, o, oy, ox)];
      gx.data[ix] += gv * w.data[wi(o, c, i, j)];
      gw.data[wi(o, c, i, j)] += gv * x.data[ix];
    });
    const out: RefTensor[] = [gx, gw];
    if (b) {
      const gb = ref(b.shape);
      for (let k = 0; k < g.data.length; k++) gb.data[Math.floor(k / (OH * OW)) % O] += g.data[k];
      out.push(gb);
    }
    return out;
  });
}

const scalar = (v: number) => fullRef([1], v);

/** y = x Wᵀ + b over the last axis. */
export function linearRef(x: RefTensor, w: RefTensor, b?: RefTensor): RefTensor {
  const y = matmulRef(x, transposeRef(w));
  return b ? addRef(y, b) : y;
}

/** torch.nn.functional.group_norm: statistics over (C/G, H, W) per group, biased variance. */
export function groupNormRef(x: RefTensor, groups: number, w: RefTensor, b: RefTensor, eps: number): RefTensor {
  const [B, C, ...rest] = x.shape;
  const g = reshapeRef(x, [B, groups, x.data.length / (B * groups)]);
  const mu = meanRef(g, [2], true);
  const v = varRef(g, [2], true, 0);
  const n = mulRef(subRef(g, mu), unaryRef('rsqrt', addRef(v, scalar(eps))));
  const back = reshapeRef(n, [B, C, ...rest]);
  const aff = [C, ...rest.map(() => 1)];
  return addRef(mulRef(back, reshapeRef(w, aff)), reshapeRef(b, aff));
}

export function layerNormRef(x: RefTensor, w: RefTensor, b: RefTensor, eps: number): RefTensor {
  const mu = meanRef(x, [-1], true);
  const v = varRef(x, [-1], true, 0);
  return addRef(mulRef(mulRef(subRef(x, mu), unaryRef('rsqrt', addRef(v, scalar(eps)))), w), b);
}

export const siluRef = (x: RefTensor): RefTensor => unaryRef('silu', x);

/** diffusers ResnetBlock2D.forward (default time-scale-shift, scale 1). */
export function resnetRef(p: Params, x: RefTensor, temb: RefTensor | null, groups: number, eps: number): RefTensor {
  let h = conv2dRef(siluRef(groupNormRef(x, groups, p['norm1.weight'], p['norm1.bias'], eps)), p['conv1.weight'], p['conv1.bias'], 1, 1);
  if (temb) {
    const t = linearRef(siluRef(temb), p['time_emb_proj.weight'], p['time_emb_proj.bias']);
    h = addRef(h, reshapeRef(t, [t.shape[0], t.shape[1], 1, 1]));
  }
  h = conv2dRef(siluRef(groupNormRef(h, groups, p['norm2.weight'], p['norm2.bias'], eps)), p['conv2.weight'], p['conv2.bias'], 1, 1);
  const short = p['conv_shortcut.weight'] ? conv2dRef(x, p['conv_shortcut.weight'], p['conv_shortcut.bias'], 1, 0) : x;
  return addRef(short, h);
}

/** diffusers Attention (q/k/v without bias, to_out.0 with), softmax(q kᵀ/√d) v per head. */
export function attentionRef(p: Params, prefix: string, x: RefTensor, ctx: RefTensor | null, heads: number): RefTensor {
  const c = ctx ?? x;
  const split = (t: RefTensor) => permuteRef(reshapeRef(t, [t.shape[0], t.shape[1], heads, t.shape[2] / heads]), [0, 2, 1, 3]);
  const q = split(linearRef(x, p[`${prefix}.to_q.weight`], p[`${prefix}.to_q.bias`]));
  const k = split(linearRef(c, p[`${prefix}.to_k.weight`], p[`${prefix}.to_k.bias`]));
  const v = split(linearRef(c, p[`${prefix}.to_v.weight`], p[`${prefix}.to_v.bias`]));
  const d = q.shape[3];
  const probs = softmaxRef(mulRef(matmulRef(q, transposeRef(k)), scalar(1 / Math.sqrt(d))), -1);
  const o = permuteRef(matmulRef(probs, v), [0, 2, 1, 3]);
  const merged = reshapeRef(o, [o.shape[0], o.shape[1], o.shape[2] * o.shape[3]]);
  return linearRef(merged, p[`${prefix}.to_out.0.weight`], p[`${prefix}.to_out.0.bias`]);
}

/** diffusers Transformer2DModel (continuous, linear projection) with one BasicTransformerBlock, GEGLU FF. */
export function transformer2dRef(p: Params, x: RefTensor, ctx: RefTensor, heads: number, groups: number): RefTensor {
  const [B, C, H, W] = x.shape;
  const n = groupNormRef(x, groups, p['norm.weight'], p['norm.bias'], 1e-6);
  let h = linearRef(reshapeRef(permuteRef(n, [0, 2, 3, 1]), [B, H * W, C]), p['proj_in.weight'], p['proj_in.bias']);
  const t = 'transformer_blocks.0';
  const ln = (k: string, v: RefTensor) => layerNormRef(v, p[`${t}.${k}.weight`], p[`${t}.${k}.bias`], 1e-5);
  h = addRef(h, attentionRef(p, `${t}.attn1`, ln('norm1', h), null, heads));
  h = addRef(h, attentionRef(p, `${t}.attn2`, ln('norm2', h), ctx, heads));
  const proj = linearRef(ln('norm3', h), p[`${t}.ff.net.0.proj.weight`], p[`${t}.ff.net.0.proj.bias`]);
  const inner = proj.shape[2] / 2;
  const geglu = mulRef(sliceRef(proj, -1, 0, inner), unaryRef('gelu', sliceRef(proj, -1, inner)));
  h = addRef(h, linearRef(geglu, p[`${t}.ff.net.2.weight`], p[`${t}.ff.net.2.bias`]));
  const out = linearRef(h, p['proj_out.weight'], p['proj_out.bias']);
  return addRef(permuteRef(reshapeRef(out, [B, H, W, C]), [0, 3, 1, 2]), x);
}

/** Nearest ×2 upsampling by expand + reshape. */
export function upsample2xRef(x: RefTensor): RefTensor {
  const [B, C, H, W] = x.shape;
  return reshapeRef(expandRef(reshapeRef(x, [B, C, H, 1, W, 1]), [B, C, H, 2, W, 2]), [B, C, 2 * H, 2 * W]);
}

/** The VAE's Downsample2D: pad right/bottom by one, then a stride-2 3x3 conv without padding. */
export function vaeDownsampleRef(x: RefTensor, w: RefTensor, b: RefTensor): RefTensor {
  return conv2dRef(padRef(x, [0, 1, 0, 1]), w, b, 2, 0);
}

// Area downscale of an sRGB photo in linear light, in float64 by its definition (src/eval/downscale.ts).

const decode = (v: number) => (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
const encode = (v: number) => (v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055);

/** HWC RGB in [0, 1]; each output pixel is the sRGB encoding of the mean linear value of its f×f block. */
export function downscaleAreaRef(data: ArrayLike<number>, width: number, height: number, f: number): { data: Float64Array; width: number; height: number } {
  const W = Math.floor(width / f), H = Math.floor(height / f);
  const out = new Float64Array(W * H * 3);
  for (let oy = 0; oy < H; oy++) {
    for (let ox = 0; ox < W; ox++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += decode(data[((oy * f + dy) * width + ox * f + dx) * 3 + c]!);
        out[(oy * W + ox) * 3 + c] = encode(sum / (f * f));
      }
    }
  }
  return { data: out, width: W, height: H };
}

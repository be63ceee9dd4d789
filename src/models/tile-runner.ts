import { Tensor, empty } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { shapeStr } from '../tensor/shape.js';
import { concat } from '../ops/shape-ops.js';
import { groupNorm } from '../ops/group-norm.js';
import { runMap } from '../ops/map-kernel.js';
import { copyInto } from '../ops/copy.js';
import { zeros } from '../ops/creation.js';
import type { GroupNorm } from '../nn/group-norm.js';

/**
 * The machinery of the tiled VAE: a [B, C, H, W] activation held as one tensor per tile (`TiledMap`), and a runner
 * that applies one stage of a network to it tile by tile. A stage is a run of convolutions between two GroupNorms;
 * each tile reads its block plus a halo of real neighbours as wide as the stage's receptive field, so the block it
 * keeps is exactly what the untiled network computes there. GroupNorm statistics are reduced over every tile
 * before the stage that uses them, so no tile normalises with its own statistics.
 */

/** Tile boundaries along an axis of n cells: ceil(n / tile) tiles as equal as possible, none larger than `tile`. */
export function splitAxis(n: number, tile: number): number[] {
  const k = Math.max(1, Math.ceil(n / tile));
  return Array.from({ length: k + 1 }, (_, i) => Math.round((i * n) / k));
}

/** An activation as a grid of tensors: pieces[i][j] covers rows [ys[i], ys[i+1]) and columns [xs[j], xs[j+1]). */
export class TiledMap {
  constructor(
    readonly ys: readonly number[],
    readonly xs: readonly number[],
    readonly pieces: Tensor[][],
    /** False for a map wrapping the caller's tensor, which dispose() leaves alone. */
    private readonly owned = true,
  ) {}
  static whole(t: Tensor): TiledMap {
    return new TiledMap([0, t.shape[2]], [0, t.shape[3]], [[t]], false);
  }
  get batch(): number {
    return this.pieces[0][0].shape[0];
  }
  get channels(): number {
    return this.pieces[0][0].shape[1];
  }
  get height(): number {
    return this.ys[this.ys.length - 1];
  }
  get width(): number {
    return this.xs[this.xs.length - 1];
  }
  /**
   * Rows [ya, yb) × columns [xa, xb): a view where one piece holds them, else copied together from the pieces. With
   * `norm`, normalised as it is read (one kernel per piece, gathering and normalising at once).
   */
  region(ya: number, yb: number, xa: number, xb: number, norm?: Normalizer): Tensor {
    const parts: { part: Tensor; y: number; x: number }[] = [];
    const rows: Tensor[][] = [];
    for (let i = 0; i < this.pieces.length; i++) {
      const [p0, p1] = [this.ys[i], this.ys[i + 1]];
      if (p1 <= ya || p0 >= yb) continue;
      const cols: Tensor[] = [];
      for (let j = 0; j < this.pieces[i].length; j++) {
        const [q0, q1] = [this.xs[j], this.xs[j + 1]];
        if (q1 <= xa || q0 >= xb) continue;
        const part = crop(this.pieces[i][j], Math.max(ya, p0) - p0, Math.min(yb, p1) - p0, Math.max(xa, q0) - q0, Math.min(xb, q1) - q0);
        parts.push({ part, y: Math.max(ya, p0) - ya, x: Math.max(xa, q0) - xa });
        cols.push(part);
      }
      rows.push(cols);
    }
    if (parts.length === 1) return norm ? norm.apply(parts[0].part) : parts[0].part;
    if (!norm) return concat(rows.map((cols) => (cols.length === 1 ? cols[0] : concat(cols, 3))), 2);
    const out = empty([this.batch, this.channels, yb - ya, xb - xa]);
    for (const { part, y, x } of parts) norm.apply(part, crop(out, y, y + part.shape[2], x, x + part.shape[3]));
    return out;
  }
  dispose(): void {
    if (this.owned) for (const row of this.pieces) for (const p of row) p.dispose();
  }
}

function crop(t: Tensor, y0: number, y1: number, x0: number, x1: number): Tensor {
  const full = y0 === 0 && x0 === 0 && y1 === t.shape[2] && x1 === t.shape[3];
  return full ? t : t.slice(2, y0, y1).slice(3, x0, x1);
}

/** GroupNorm (and SiLU) with statistics of a whole map, applied to any block of it (into `out` when given). */
export interface Normalizer {
  apply(t: Tensor, out?: Tensor): Tensor;
  dispose(): void;
}

/** What a stage reads from one input map. */
export interface StageInput {
  map: TiledMap;
  /** Normalised as it is read. */
  norm?: Normalizer;
  /** Only the tile's own block, without the halo (a residual added after the output is cropped). */
  core?: boolean;
}

export interface StageSpec {
  /** Rows/columns of real context the stage needs before and after its block, in input pixels. */
  halo: readonly [number, number];
  /** Output pixels per input pixel: 1, 2 (upsampling) or 0.5 (stride-2 downsampling). */
  ratio: number;
  outChannels: number;
}

/** Thrown when a tile (or a stage that runs on the whole map) would allocate more than one storage binding holds. */
export class TileOverflowError extends Error {
  constructor(
    readonly stage: string,
    readonly shape: readonly number[],
    readonly bytes: number,
    readonly limit: number,
    readonly wholeMap: boolean,
  ) {
    super(`${stage}: ${wholeMap ? 'the whole map' : 'one tile'} needs a ${shapeStr(shape)} float32 activation (${mib(bytes)} MiB), more than the storage-binding limit of ${mib(limit)} MiB`);
  }
}

export function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return m >= 1 ? m.toFixed(1) : m.toPrecision(2);
}

export interface RunnerOptions {
  /** Tile boundaries in cells of the coarsest (latent) grid; a map of `scale` pixels per cell splits at multiples. */
  ys: readonly number[];
  xs: readonly number[];
  /** Largest tensor, in bytes, one tile or whole-map stage may allocate. */
  limit: number;
  /** Plan only: check every tile's sizes against `limit` with shape-only tensors; no kernel runs. */
  plan: boolean;
}

/**
 * Runs stages tile by tile on the grid (ys × xs latent cells). With `plan` set it runs none of them and only
 * checks sizes, so a tile size that cannot fit fails before any work is done.
 */
export class TileRunner {
  constructor(private readonly o: RunnerOptions) {}

  private get single(): boolean {
    return this.o.ys.length === 2 && this.o.xs.length === 2;
  }

  private check(stage: string, shape: readonly number[], wholeMap: boolean): void {
    const bytes = 4 * shape.reduce((a, d) => a * d, 1);
    if (bytes > this.o.limit) throw new TileOverflowError(stage, shape, bytes, this.o.limit, wholeMap);
  }

  /**
   * One stage on every tile. `fn` gets each input's block widened by the halo (clipped at the image edge, where the
   * stage's own zero padding then matches the untiled pass; `core` inputs unwidened) and returns the stage output
   * either over that widened block, of which the tile's block is kept, or already cut to the tile's block with
   * `crop`. Every input must have the first one's resolution.
   */
  stage(name: string, inputs: readonly StageInput[], spec: StageSpec, fn: (blocks: Tensor[], crop: (t: Tensor) => Tensor) => Tensor): TiledMap {
    const src = inputs[0].map;
    const { ys, xs } = this.o;
    const sIn = src.height / ys[ys.length - 1];
    const sOut = sIn * spec.ratio;
    const [hb, ha] = spec.halo;
    const [B, H, W] = [src.batch, src.height, src.width];
    const widest = Math.max(spec.outChannels, ...inputs.map((m) => m.map.channels));
    const grow = Math.max(1, spec.ratio);
    const pieces = ys.slice(1).map((_, i) =>
      xs.slice(1).map((__, j) => {
        const [y0, y1, x0, x1] = [ys[i] * sIn, ys[i + 1] * sIn, xs[j] * sIn, xs[j + 1] * sIn];
        const [ya, yb, xa, xb] = [Math.max(0, y0 - hb), Math.min(H, y1 + ha), Math.max(0, x0 - hb), Math.min(W, x1 + ha)];
        this.check(name, [B, widest, Math.ceil((yb - ya) * grow), Math.ceil((xb - xa) * grow)], false);
        const [oh, ow] = [(y1 - y0) * spec.ratio, (x1 - x0) * spec.ratio];
        if (this.o.plan) return Tensor.meta([B, spec.outChannels, oh, ow]);
        const [cy, cx] = [(y0 - ya) * spec.ratio, (x0 - xa) * spec.ratio];
        const cut = (t: Tensor) => {
          if (t.shape[1] !== spec.outChannels || cy + oh > t.shape[2] || cx + ow > t.shape[3]) {
            throw new Error(`${name}: a tile's output ${shapeStr(t.shape)} does not hold its ${spec.outChannels}-channel ${oh}x${ow} block at (${cy}, ${cx})`);
          }
          return crop(t, cy, cy + oh, cx, cx + ow);
        };
        return tidy(() => {
          const blocks = inputs.map(({ map, norm, core }) => (core ? map.region(y0, y1, x0, x1, norm) : map.region(ya, yb, xa, xb, norm)));
          const out = fn(blocks, cut);
          const kept = out.shape[2] === oh && out.shape[3] === ow ? out : cut(out);
          // Contiguous, so a tile holds only its block and not the halo's memory.
          return kept.contiguous();
        });
      }),
    );
    return new TiledMap(
      ys.map((v) => v * sOut),
      xs.map((v) => v * sOut),
      pieces,
    );
  }

  /** `norm` (SiLU after it with `silu`) using the mean and variance of each (sample, group) over the whole map. */
  normalizer(map: TiledMap, norm: GroupNorm, silu: boolean): Normalizer {
    const [w, b] = [norm.weight ?? undefined, norm.bias ?? undefined];
    if (this.o.plan || this.single) {
      // One tile is the whole map: the fused kernel computes the same statistics (a plan never applies it).
      const apply = (t: Tensor) => groupNorm(t, norm.numGroups, w, b, norm.eps, { silu });
      return { apply: (t, out) => (out ? (copyInto(out, apply(t)), out) : apply(t)), dispose() {} };
    }
    const [B, C, G] = [map.batch, map.channels, norm.numGroups];
    const count = (C / G) * map.height * map.width;
    const rows = (p: Tensor) => p.reshape([B, G, -1]);
    const total = (f: (p: Tensor) => Tensor) => tidy(() => map.pieces.flat().map((p) => f(p)).reduce((acc, s) => acc.add(s)));
    // Two passes (mean, then squared deviations from it) rather than E[x²] − E[x]², which cancels in float32.
    const stats = tidy(() => {
      const m = total((p) => rows(p).sum(2, true)).div(count);
      const v = total((p) => runMap('group_norm_sq_dev', ['x', 'm'], '(x - m) * (x - m)', [rows(p), m], [B, G, p.size / B / G]).sum(2, true)).div(count);
      const perChannel = (t: Tensor) => t.expand([B, G, C / G]).reshape([B, C, 1, 1]);
      const r = perChannel(v.add(norm.eps).rsqrt());
      return [perChannel(m), w ? r.mul(w.reshape([1, C, 1, 1])) : r, b ? b.reshape([1, C, 1, 1]) : zeros([1, C, 1, 1])];
    });
    // The untiled kernel's y = (x − mean)·rstd·w + b (then SiLU), in one pass with these statistics.
    const y = '((x - m) * s + b)';
    const expr = silu ? `${y} * sigmoid_(${y})` : y;
    return {
      apply: (t, out) => runMap(silu ? 'group_norm_silu_tiled' : 'group_norm_tiled', ['x', 'm', 's', 'b'], expr, [t, ...stats], t.shape, { out }),
      dispose: () => {
        for (const t of stats) t.dispose();
      },
    };
  }

  /** A stage that needs the whole map at once (global self-attention): joined, run, split back into tiles. */
  global(name: string, map: TiledMap, outChannels: number, fn: (whole: Tensor) => Tensor): TiledMap {
    const whole = this.join(name, map);
    this.check(name, [map.batch, outChannels, map.height, map.width], true);
    if (this.o.plan) return new TiledMap(map.ys, map.xs, map.pieces.map((r) => r.map((p) => Tensor.meta([p.shape[0], outChannels, p.shape[2], p.shape[3]]))));
    const out = fn(whole);
    whole.dispose();
    if (this.single) return new TiledMap(map.ys, map.xs, [[out]]);
    const pieces = tidy(() => map.ys.slice(1).map((y1, i) => map.xs.slice(1).map((x1, j) => crop(out, map.ys[i], y1, map.xs[j], x1).contiguous())));
    out.dispose();
    return new TiledMap(map.ys, map.xs, pieces);
  }

  /** The map as one tensor, consuming the map (which the caller must own). */
  join(name: string, map: TiledMap): Tensor {
    this.check(name, [map.batch, map.channels, map.height, map.width], true);
    if (this.o.plan) return Tensor.meta([map.batch, map.channels, map.height, map.width]);
    if (map.pieces.length === 1 && map.pieces[0].length === 1) return map.pieces[0][0];
    const out = tidy(() => map.region(0, map.height, 0, map.width));
    map.dispose();
    return out;
  }
}

import { encodePng, type PngImage } from '../io/png.js';

/**
 * A picture for eyes next to the numbers: one row per evaluated sample, one column per image kind (LQ bilinear,
 * each method, HQ), all in sRGB. Column names are kept in `columns` (there is no font to draw them with).
 */
export interface GridTile {
  /** sRGB values in [0, 1], CHW (3 planes). */
  chw: Float32Array;
  height: number;
  width: number;
}

export class ComparisonGrid {
  readonly rows: { label: string; tiles: GridTile[] }[] = [];
  columns: string[] = [];

  /** @param maxRows rows beyond this are ignored (evaluate() stops rendering them). */
  constructor(
    readonly maxRows = 8,
    readonly gap = 4,
  ) {}

  get full(): boolean {
    return this.rows.length >= this.maxRows;
  }

  addRow(label: string, columns: readonly string[], tiles: GridTile[]): void {
    if (this.full) return;
    if (this.rows.length === 0) this.columns = [...columns];
    else if (columns.join('\u0000') !== this.columns.join('\u0000')) {
      throw new Error(`ComparisonGrid: row "${label}" has columns [${columns.join(', ')}] but the grid has [${this.columns.join(', ')}]`);
    }
    if (tiles.length !== columns.length) throw new Error(`ComparisonGrid: row "${label}" has ${tiles.length} tiles for ${columns.length} columns`);
    this.rows.push({ label, tiles });
  }

  /** The grid as an 8-bit RGB image on a white background. */
  render(): PngImage {
    if (this.rows.length === 0) throw new Error('ComparisonGrid: no rows to render (run evaluate() with this grid first)');
    const g = this.gap;
    const colW = this.columns.map((_, c) => Math.max(...this.rows.map((r) => r.tiles[c].width)));
    const rowH = this.rows.map((r) => Math.max(...r.tiles.map((t) => t.height)));
    const width = colW.reduce((s, w) => s + w + g, g);
    const height = rowH.reduce((s, h) => s + h + g, g);
    const data = new Uint8Array(width * height * 3).fill(255);
    let top = g;
    this.rows.forEach((row, r) => {
      let left = g;
      row.tiles.forEach((t, c) => {
        const plane = t.width * t.height;
        for (let y = 0; y < t.height; y++)
          for (let x = 0; x < t.width; x++)
            for (let ch = 0; ch < 3; ch++) {
              const v = t.chw[ch * plane + y * t.width + x];
              data[((top + y) * width + left + x) * 3 + ch] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
            }
        left += colW[c] + g;
      });
      top += rowH[r] + g;
    });
    return { width, height, channels: 3, bitDepth: 8, data };
  }

  async encode(): Promise<Uint8Array> {
    return encodePng(this.render());
  }
}

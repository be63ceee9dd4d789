// DNG opcode lists (OpcodeList1/2/3, tags 51008/51009/51022): big-endian blocks of processing steps the
// writer asks a renderer to apply (lens shading gain maps, bad-pixel lists, warps). `rddm decode` returns
// the mosaic as dcraw -D does, before any of them, so we only name them: a GainMap left out means the
// corners stay darker (lens shading) in what we restore.

import type { Ifd, TiffFile } from './tiff-ifd.js';

const OPCODE_NAMES: Record<number, string> = {
  1: 'WarpRectilinear',
  2: 'WarpFisheye',
  3: 'FixVignetteRadial',
  4: 'FixBadPixelsConstant',
  5: 'FixBadPixelsList',
  6: 'TrimBounds',
  7: 'MapTable',
  8: 'MapPolynomial',
  9: 'GainMap',
  10: 'DeltaPerRow',
  11: 'DeltaPerColumn',
  12: 'ScalePerRow',
  13: 'ScalePerColumn',
  14: 'WarpRectilinear2',
};

const LISTS = [
  { tag: 51008, name: 'OpcodeList1' },
  { tag: 51009, name: 'OpcodeList2' },
  { tag: 51022, name: 'OpcodeList3' },
] as const;

export interface DngOpcode {
  list: 'OpcodeList1' | 'OpcodeList2' | 'OpcodeList3';
  id: number;
  name: string;
  /** The writer marked it optional (a reader may skip it). */
  optional: boolean;
}

/** The opcodes of an IFD's lists, in order. A damaged list yields the opcodes read before the damage. */
export function readOpcodes(tiff: TiffFile, ifd: Ifd): DngOpcode[] {
  const out: DngOpcode[] = [];
  for (const { tag, name } of LISTS) {
    const range = tiff.valueRange(ifd, tag);
    if (!range || range.length < 4) continue;
    const r = tiff.r;
    const be = (at: number): number => ((r.u8(at) << 24) | (r.u8(at + 1) << 16) | (r.u8(at + 2) << 8) | r.u8(at + 3)) >>> 0;
    const end = range.offset + range.length;
    const count = be(range.offset);
    let at = range.offset + 4;
    for (let k = 0; k < count && k < 1024 && at + 16 <= end; k++) {
      const id = be(at);
      const flags = be(at + 8);
      const size = be(at + 12);
      out.push({ list: name, id, name: OPCODE_NAMES[id] ?? `opcode ${id}`, optional: (flags & 1) === 1 });
      at += 16 + size;
    }
  }
  return out;
}

/** One warning per list naming what was not applied, e.g. "OpcodeList2: GainMap x4 not applied (…)". */
export function opcodeWarnings(ops: readonly DngOpcode[]): string[] {
  const warnings: string[] = [];
  for (const { name: list } of LISTS) {
    const mine = ops.filter((o) => o.list === list);
    if (mine.length === 0) continue;
    const counts = new Map<string, number>();
    for (const o of mine) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
    const names = [...counts].map(([n, c]) => (c > 1 ? `${n} x${c}` : n)).join(', ');
    const why = mine.some((o) => o.id === 9) ? ' (lens-shading gain maps: corners stay as the sensor recorded them)' : '';
    warnings.push(`${list}: ${names} not applied, as dcraw -D does not${why}`);
  }
  return warnings;
}

/**
 * Ratios of rddm against its peers, from the measured cases alone: one `ratio` that every family summary uses, and
 * the cross-family summary that `npm run bench` prints at the end and writes as the report's `summary`.
 *
 * Within one op + shape, `rddm` is compared with every other implementation measured there (tfjs-webgpu, naive,
 * portable, composite, numpy-blas, …) and `rddm-f16` with `rddm` (labelled f32). A ratio is the peer's time over
 * rddm's, so above 1 means rddm is faster; against numpy-blas (same FLOPs) it is rddm's GFLOP/s as a fraction of
 * what the CPU reaches with its BLAS. Each ratio is given by wall time and by CPU time (`workerCpuMs`: the driver's
 * threads, or numpy's), the second being immune to other load on a CPU adapter.
 */
import { formatTable, type BenchCase } from './harness.js';

export type RatioKey = 'ms' | 'workerCpuMs';

/** peer[key] / subject[key], or undefined unless both are positive finite numbers. */
export function ratio(subject: BenchCase | undefined, peer: BenchCase | undefined, key: RatioKey = 'ms'): number | undefined {
  const s = subject?.[key];
  const p = peer?.[key];
  return typeof s === 'number' && typeof p === 'number' && s > 0 && p > 0 && Number.isFinite(s) && Number.isFinite(p) ? p / s : undefined;
}

/** The case key that makes two rows the same work: op and shape. */
export function caseKey(c: Pick<BenchCase, 'op' | 'shape'>): string {
  return `${c.op} ${c.shape.join('x')}`;
}

/** The row of `impl` for the same op and shape as `like` (undefined if it was not measured). */
export function peerOf(cases: readonly BenchCase[], like: Pick<BenchCase, 'op' | 'shape'>, impl: string): BenchCase | undefined {
  const key = caseKey(like);
  return cases.find((c) => c.impl === impl && caseKey(c) === key);
}

/**
 * Which implementations are compared with which. `rddm` against everything that is not itself an rddm variant;
 * a variant against its own reference row, under a label.
 */
const VARIANTS: Record<string, { peer: string; label: string }> = { 'rddm-f16': { peer: 'rddm', label: 'f32' } };
const isOurs = (impl: string) => impl === 'rddm' || impl in VARIANTS;

export interface SummaryRow {
  family: string;
  op: string;
  shape: string;
  /** The implementation the ratio is about ('rddm', 'rddm-f16'). */
  impl: string;
  /** The peer it is measured against: an impl name, or a variant's label ('f32'). */
  peer: string;
  ms: number;
  peerMs: number | null;
  /** peer wall time / impl wall time; null when the peer has no time (it could not run: see `note`). */
  wall: number | null;
  /** The same by CPU time (null when either side has none). */
  cpu: number | null;
  note?: string;
}

/** The ratio rows of one family's cases, in the order the cases were measured. */
export function summaryRows(family: string, cases: readonly BenchCase[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const keys = [...new Set(cases.map(caseKey))];
  for (const key of keys) {
    const group = cases.filter((c) => caseKey(c) === key);
    for (const subject of group.filter((c) => isOurs(c.impl) && ratio(c, c) !== undefined)) {
      const peers =
        subject.impl in VARIANTS
          ? group.filter((c) => c.impl === VARIANTS[subject.impl].peer).map((c) => ({ c, label: VARIANTS[subject.impl].label }))
          : group.filter((c) => !isOurs(c.impl)).map((c) => ({ c, label: c.impl }));
      for (const { c, label } of peers) {
        const wall = ratio(subject, c, 'ms') ?? null;
        rows.push({
          family,
          op: subject.op,
          shape: subject.shape.join('x'),
          impl: subject.impl,
          peer: label,
          ms: subject.ms,
          peerMs: typeof c.ms === 'number' && Number.isFinite(c.ms) ? c.ms : null,
          wall,
          cpu: ratio(subject, c, 'workerCpuMs') ?? null,
          ...(wall === null && typeof c.note === 'string' ? { note: c.note } : {}),
        });
      }
    }
  }
  return rows;
}

/** Peers in the order their columns print; others follow in the order first seen. */
const PEER_ORDER = ['tfjs-webgpu', 'naive', 'portable', 'composite', 'numpy-blas', 'f32'];

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2);
}

/** One wide table: a row per op + shape + impl, a column per peer, each cell "wall (cpu)". */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const seen = [...new Set(rows.map((r) => r.peer))];
  const peers = [...PEER_ORDER.filter((p) => seen.includes(p)), ...seen.filter((p) => !PEER_ORDER.includes(p))];
  const lines = new Map<string, Record<string, unknown>>();
  for (const r of rows) {
    const id = `${r.family} ${r.op} ${r.shape} ${r.impl}`;
    if (!lines.has(id)) lines.set(id, { family: r.family, op: r.op, shape: r.shape, impl: r.impl, ms: r.ms, ...Object.fromEntries(peers.map((p) => [p, ''])) });
    lines.get(id)![r.peer] = r.wall === null ? 'n/a' : `${fmt(r.wall)}${r.cpu === null ? '' : ` (${fmt(r.cpu)})`}`;
  }
  // Ratio cells right-aligned within their column (formatTable left-aligns text).
  const rowsOut = [...lines.values()];
  for (const p of peers) {
    const width = Math.max(...rowsOut.map((l) => String(l[p]).length));
    for (const l of rowsOut) l[p] = String(l[p]).padStart(width);
  }
  return [
    'rddm against its peers: peer time / rddm time by wall clock (and by CPU time); > 1 means rddm is faster.',
    'numpy-blas: the same FLOPs as float32 a @ b on the host CPU, so the ratio is rddm GFLOP/s as a fraction of numpy/BLAS.',
    'f32: rddm-f16 against rddm on float32 operands. n/a: the peer could not run (see its row).',
    ...formatTable(rowsOut).split('\n').map((l) => l.trimEnd()),
  ].join('\n');
}

import { philox4x32, seedKey } from './philox.js';

/**
 * A small deterministic generator for host-side choices (crop offsets, camera parameters, blur kernels), built on
 * the same Philox-4x32-10 as the GPU draws: (seed, stream) fixes the whole sequence on every machine. The counter's
 * third word carries a tag so host sequences never coincide with a GPU draw of the same (seed, stream).
 * Doubles use 53 random bits (two words), so host sampling is not limited to float32 resolution.
 */
const HOST_TAG = 0x686f7374; // 'host'

export class HostRng {
  private readonly key: [number, number];
  private block = 0;
  private words: number[] = [];

  constructor(
    readonly seed: number,
    readonly stream = 0,
    /** Which sub-generator this is (the counter's fourth word): 0 for a root, a hash of the path for children. */
    private readonly lane = 0,
  ) {
    this.key = seedKey(seed);
  }

  /** A generator for a sub-task (e.g. image i of a batch), independent of this one and of its other children. */
  child(id: number): HostRng {
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32) throw new Error(`HostRng.child: id must be a 32-bit non-negative integer, got ${id}`);
    // A multiplicative hash of the path: distinct paths give distinct lanes except by 2^-32 chance.
    const lane = (Math.imul(this.lane ^ 0x5bd1e995, 0x9e3779b1) + id + 1) >>> 0;
    return new HostRng(this.seed, this.stream, lane);
  }

  /** The next raw 32-bit word. */
  nextU32(): number {
    if (this.words.length === 0) {
      this.words = philox4x32([this.block++ >>> 0, this.stream >>> 0, HOST_TAG, this.lane], this.key).reverse();
    }
    return this.words.pop()!;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  range(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`HostRng.int: n must be a positive integer, got ${n}`);
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Normal by Box-Muller (one value per call; the second is discarded to keep the sequence position simple). */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.uniform(); // (0, 1]: safe for log
    const u2 = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('HostRng.pick: the list is empty');
    return items[this.int(items.length)];
  }
}

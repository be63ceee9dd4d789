// The stages' learning-rate schedule: constant by default, cosine to lr/10 over the run's steps on request.
import { describe, expect, it } from 'vitest';
import { stageLr, type StageOptions } from '../../src/rddm/tasks.js';

const base: StageOptions = { photos: [], seed: 1, batch: 1, crop: 16, lr: 1e-3 };

describe('stageLr', () => {
  it('is the constant lr without a schedule', () => {
    expect(stageLr(base)).toBe(1e-3);
  });

  it('cosine: warms up, passes the midpoint value, and ends at lr/10', () => {
    const f = stageLr({ ...base, lrSchedule: 'cosine', totalSteps: 1000 });
    if (typeof f === 'number') throw new Error('expected a schedule');
    // 2% of 1000 = 20 warm-up steps, linear from 0.
    expect(f(1)).toBeCloseTo(1e-3 / 20, 12);
    expect(f(20)).toBeCloseTo(1e-3, 12);
    // Halfway through the decay the cosine is at the mean of lr and lr/10.
    expect(f(510)).toBeCloseTo((1e-3 + 1e-4) / 2, 9);
    expect(f(1000)).toBeCloseTo(1e-4, 12);
    expect(f(5000)).toBeCloseTo(1e-4, 12);
    for (let s = 21; s < 1000; s += 37) expect(f(s + 1)).toBeLessThan(f(s));
  });

  it('refuses a schedule without a step count', () => {
    expect(() => stageLr({ ...base, lrSchedule: 'cosine' })).toThrow(/totalSteps/);
  });
});

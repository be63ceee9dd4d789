import { describe, expect, it } from 'vitest';
import { browserBundle } from '../helpers/browser-bundle.js';

describe('browser bundle', () => {
  it('builds src/index.ts for browsers with no Node built-in reaching it', async () => {
    const { result, offenders } = await browserBundle('src/index.ts');
    expect(offenders).toEqual([]);
    const js = result.outputFiles[0].text;
    expect(js).toContain('navigator');
    expect(js.length).toBeGreaterThan(10_000);
  });
});

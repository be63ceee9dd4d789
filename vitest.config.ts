import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

// WGSL is imported as text everywhere: esbuild uses its `text` loader, vitest this plugin.
const wgslAsText = {
  name: 'wgsl-as-text',
  transform(_code: string, id: string) {
    if (!id.endsWith('.wgsl')) return null;
    return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`, map: null };
  },
};

export default defineConfig({
  plugins: [wgslAsText],
  test: {
    include: ['test/**/*.test.ts'],
    // The in-page restore and training of the web demo take minutes on SwiftShader: `npm run test:browser` (which
    // .ci/run also runs) includes them; the default `npm test` keeps to the fast browser tests.
    // *.slow.test.ts (SD 2.1 at full size: tens of GiB and minutes on lavapipe) run with `npm run test:slow`.
    exclude: [
      '**/node_modules/**',
      ...(process.env.RDDM_BROWSER_DEMO ? [] : ['test/browser/web-demo.test.ts']),
      ...(process.env.RDDM_SLOW ? [] : ['test/**/*.slow.test.ts']),
    ],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // One GPU device per worker process; lavapipe already uses every core, so two workers are plenty.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

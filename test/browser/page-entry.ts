// Bundled for the browser test page: runs the op cases with the browser build of the engine.
import * as rddm from '../../src/index.js';
import { runOpCases } from './op-cases.js';

declare global {
  interface Window {
    __rddm: { done: boolean; error?: string; adapter?: unknown; results?: Record<string, number[]> };
  }
}

window.__rddm = { done: false };
(async () => {
  try {
    const dev = await rddm.init();
    window.__rddm.adapter = dev.adapter;
    window.__rddm.results = await runOpCases(rddm);
  } catch (e) {
    window.__rddm.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } finally {
    window.__rddm.done = true;
  }
})();

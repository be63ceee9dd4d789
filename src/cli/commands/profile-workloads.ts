import { randn, tidy } from '../../index.js';

export interface WorkloadOptions {
  size?: number;
  config?: string;
  steps?: number;
}

/** A workload: prepare once (allocations, data), then a function that runs one profiled iteration. */
export interface Workload {
  prepare(opts: WorkloadOptions): Promise<() => Promise<void>>;
}

export const profileWorkloads: Record<string, Workload> = {
  matmul: {
    async prepare(opts) {
      const n = opts.size ?? 1024;
      const a = randn([n, n], { seed: 1 });
      const b = randn([n, n], { seed: 2 });
      return async () => {
        const c = tidy(() => a.matmul(b));
        await c.data();
        c.dispose();
      };
    },
  },
};

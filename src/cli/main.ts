import { runCli } from './cli.js';
import { configureMatmulAutotune } from '../ops/autotune.js';
import { nodeAutotuneStorage } from '../node/autotune-store.js';
import { userCacheDir } from '../node/paths.js';

// Each process would otherwise tune the matmul again (in the background, on the engine's device) before its
// choice takes effect; the stored choice applies from the first matmul. In-process tests call runCli directly
// and so never write to the user's cache.
configureMatmulAutotune({ storage: nodeAutotuneStorage(userCacheDir()) });
process.exitCode = await runCli(process.argv.slice(2));

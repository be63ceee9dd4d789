import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** The package root: the nearest folder above this file with a package.json named rddm (or the working directory). */
export function packageRoot(): string {
  let dir = resolve(fileURLToPath(import.meta.url), '..');
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, 'package.json')) && existsSync(resolve(dir, 'weights'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

/** The shipped weights of the tiny RDDM. */
export function defaultWeightsDir(): string {
  return resolve(packageRoot(), 'weights', 'rddm-tiny');
}

/**
 * Where the CLI keeps what it learns about this machine (the matmul autotune's choice per adapter): $RDDM_CACHE_DIR,
 * else $XDG_CACHE_HOME/rddm, else ~/.cache/rddm. Per user rather than per checkout, so every clone and every
 * `rddm` process on one adapter shares one tune.
 */
export function userCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.RDDM_CACHE_DIR) return resolve(env.RDDM_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(env.HOME || homedir(), '.cache');
  return join(base, 'rddm');
}

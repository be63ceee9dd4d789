import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { userCacheDir } from '../../src/node/paths.js';

describe('userCacheDir', () => {
  it('prefers $RDDM_CACHE_DIR, then $XDG_CACHE_HOME/rddm, then $HOME/.cache/rddm', () => {
    expect(userCacheDir({ RDDM_CACHE_DIR: 'rel/cache', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(resolve('rel/cache'));
    expect(userCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(join('/x', 'rddm'));
    expect(userCacheDir({ HOME: '/h' })).toBe(join('/h', '.cache', 'rddm'));
  });

  it('treats empty variables as unset', () => {
    expect(userCacheDir({ RDDM_CACHE_DIR: '', XDG_CACHE_HOME: '', HOME: '/h' })).toBe(join('/h', '.cache', 'rddm'));
  });
});

// npm test's preflight: when it installs the reference tools and when it prints the commands instead, and the
// messages a test that needs a missing tool or file fails with.
import { describe, expect, it } from 'vitest';
import { planTools } from '../helpers/preflight-plan.js';
import { missingMessage, need, TOOLS } from '../helpers/requirements.js';

const tool = (name: string) => TOOLS.find((t) => t.name === name)!;
const facts = { isRoot: true, hasAptGet: true, noInstall: false, pretend: [] as string[] };

describe('test preflight', () => {
  it('does nothing when every tool is there', () => {
    expect(planTools({ ...facts, missing: [] })).toEqual({ kind: 'nothing' });
  });

  it('installs as root with apt-get, one package per tool set (cjpeg and djpeg are one package)', () => {
    expect(planTools({ ...facts, missing: [tool('dcraw'), tool('cjpeg'), tool('djpeg')] })).toEqual({
      kind: 'install',
      packages: ['dcraw', 'libjpeg-turbo-progs'],
      commands: [
        ['apt-get', 'update', '-q'],
        ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'dcraw', 'libjpeg-turbo-progs'],
      ],
    });
  });

  it('prints the exact commands when it cannot or must not install', () => {
    const m = [tool('raw-identify'), tool('/usr/bin/chromium')];
    expect(planTools({ ...facts, missing: m, isRoot: false })).toEqual({
      kind: 'manual',
      packages: ['libraw-bin', 'chromium'],
      command: 'as root: apt-get update && apt-get install -y --no-install-recommends libraw-bin chromium',
      why: 'not running as root',
    });
    expect(planTools({ ...facts, missing: m, noInstall: true })).toMatchObject({ kind: 'manual', why: 'RDDM_PREFLIGHT_NO_INSTALL is set' });
    expect(planTools({ ...facts, missing: m, hasAptGet: false })).toMatchObject({ kind: 'manual', why: 'no apt-get on this machine', command: expect.stringMatching(/libraw-bin, chromium/) });
    // A tool only pretended missing is never installed (it would not go away).
    expect(planTools({ ...facts, missing: [tool('dcraw')], pretend: ['dcraw'] })).toMatchObject({ kind: 'manual', why: expect.stringMatching(/PRETEND/) });
  });

  it('a test needing a missing tool or file fails with the fix', () => {
    const before = process.env.RDDM_PREFLIGHT_PRETEND_MISSING;
    process.env.RDDM_PREFLIGHT_PRETEND_MISSING = 'dcraw,data/photos/';
    try {
      expect(missingMessage('dcraw')).toMatch(/dcraw is not installed: as root, run `apt-get update && apt-get install -y --no-install-recommends dcraw`/);
      expect(() => need('data/photos/validation/astronaut.png')).toThrow(/data\/photos\/validation\/astronaut\.png is missing: run `bash scripts\/fetch-photos\.sh`/);
      expect(() => need('data/nowhere/x')).toThrow(/neither a known tool nor a path under/);
    } finally {
      if (before === undefined) delete process.env.RDDM_PREFLIGHT_PRETEND_MISSING;
      else process.env.RDDM_PREFLIGHT_PRETEND_MISSING = before;
    }
  });
});

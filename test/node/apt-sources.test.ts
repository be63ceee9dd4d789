// The backports entry the doctor writes comes from the machine's own apt sources: both formats apt reads, comments,
// disabled stanzas, snapshot and proxy URIs, keyrings; and no host of ours anywhere in the doctor's output.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDeb822Sources, parseOneLineSources, planBackports, readAptSources } from '../../src/node/apt-sources.js';
import { manualInstructions } from '../../src/node/doctor.js';

// What a bookworm container ships, commented snapshot URIs included (as on this project's machines), with a
// made-up mirror host so that nothing here is a real archive address.
const DEB822 = `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.example/archive/debian-security/20250520T000000Z
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('apt sources', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rddm-apt-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('parses deb822 stanzas, ignoring comment lines', () => {
    const s = parseDeb822Sources(DEB822, 'debian.sources');
    expect(s).toHaveLength(2);
    expect(s[0]).toEqual({
      types: ['deb'],
      uris: ['http://mirror.example/debian'],
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
      enabled: true,
      file: 'debian.sources',
    });
    expect(s[1]!.suites).toEqual(['bookworm-security']);
  });

  it('parses one-line entries with options; commented entries and deb-src are not binary sources', () => {
    const text = [
      '# deb http://old.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/etc/apt/keyrings/local.gpg] http://proxy.example:3142/debian bookworm main contrib # trailing comment',
      'deb-src http://proxy.example:3142/debian bookworm main',
      'deb http://proxy.example:3142/debian-security bookworm-security main',
      '',
    ].join('\n');
    const s = parseOneLineSources(text, 'sources.list');
    expect(s.map((e) => [e.types[0], e.uris[0], e.suites[0], e.components.join(' '), e.signedBy])).toEqual([
      ['deb', 'http://proxy.example:3142/debian', 'bookworm', 'main contrib', '/etc/apt/keyrings/local.gpg'],
      ['deb-src', 'http://proxy.example:3142/debian', 'bookworm', 'main', undefined],
      ['deb', 'http://proxy.example:3142/debian-security', 'bookworm-security', 'main', undefined],
    ]);
    const plan = planBackports(s, 'bookworm');
    expect(plan).toMatchObject({ kind: 'add', uri: 'http://proxy.example:3142/debian' });
    expect(plan.kind === 'add' && plan.text).toBe(
      'Types: deb\nURIs: http://proxy.example:3142/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /etc/apt/keyrings/local.gpg\n',
    );
  });

  it('takes the release archive (not the security one) and keeps its keyring, for a snapshot URI too', () => {
    const plan = planBackports(parseDeb822Sources(DEB822, 'debian.sources'), 'bookworm');
    expect(plan).toEqual({
      kind: 'add',
      suite: 'bookworm-backports',
      uri: 'http://mirror.example/debian',
      from: 'debian.sources',
      text: 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n',
    });
    const snap = parseDeb822Sources('Types: deb\nURIs: http://snapshot.example/archive/debian/20250520T000000Z\nSuites: bookworm\nComponents: main\n', 's.sources');
    expect(planBackports(snap, 'bookworm')).toMatchObject({ kind: 'add', uri: 'http://snapshot.example/archive/debian/20250520T000000Z' });
  });

  it('skips disabled stanzas, keeps inline keys indented, and does nothing when backports are configured', () => {
    const text = `Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\nTypes: deb\nURIs: http://on.example/debian\nSuites: bookworm\nComponents: main non-free-firmware\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n`;
    const s = parseDeb822Sources(text, 'x.sources');
    expect(s.map((e) => e.enabled)).toEqual([false, true]);
    const plan = planBackports(s, 'bookworm');
    expect(plan.kind === 'add' && plan.text).toContain('URIs: http://on.example/debian\n');
    expect(plan.kind === 'add' && plan.text).toContain('Signed-By: \n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n');
    const withBp = [...s, ...parseOneLineSources('deb http://on.example/debian bookworm-backports main\n', 'bp.list')];
    expect(planBackports(withBp, 'bookworm')).toEqual({ kind: 'present', suite: 'bookworm-backports', file: 'bp.list' });
    expect(planBackports(parseOneLineSources('deb http://x.example/ubuntu noble main\n', 'l'), 'bookworm')).toMatchObject({ kind: 'unknown' });
  });

  it('reads sources.list and sources.list.d in apt\'s order', () => {
    const apt = join(tmp, 'apt');
    mkdirSync(join(apt, 'sources.list.d'), { recursive: true });
    writeFileSync(join(apt, 'sources.list'), '# nothing here but a comment\n');
    writeFileSync(join(apt, 'sources.list.d', 'debian.sources'), DEB822);
    writeFileSync(join(apt, 'sources.list.d', 'other.list'), 'deb http://other.example/apt stable main\n');
    writeFileSync(join(apt, 'sources.list.d', 'ignored.list.disabled'), 'deb http://ignored.example/ bookworm main\n');
    const s = readAptSources(apt);
    expect(s.map((e) => e.uris[0])).toEqual(['http://mirror.example/debian', 'http://mirror.example/debian-security', 'http://other.example/apt']);
  });

  it('the manual instructions show the derived stanza, and name no archive host of their own', () => {
    const plan = planBackports(parseDeb822Sources(DEB822, 'debian.sources'), 'bookworm');
    const text = manualInstructions(plan);
    expect(text).toContain("'URIs: http://mirror.example/debian' 'Suites: bookworm-backports'");
    expect(text).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1');
    const generic = manualInstructions({ kind: 'unknown', suite: 'bookworm-backports', reason: 'no entry' });
    expect(generic).toMatch(/same URI as its bookworm entry/);
    expect(generic).not.toMatch(/debian\.org/);
  });
});

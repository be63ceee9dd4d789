import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTENT_SECURITY_POLICY, startWebServer, WORKER_CONTENT_SECURITY_POLICY } from '../../src/node/web-server.js';

/** A raw HTTP request: the path goes on the wire exactly as given (fetch() would normalise `..` away). */
function get(port: number, path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('web demo server', () => {
  let port = 0;
  let close: () => Promise<void>;
  let root: string;
  const secret = 'SECRET-OUTSIDE-THE-SERVED-FOLDERS';
  beforeAll(async () => {
    // A root of our own: the served folders plus files beside them that must never come out.
    root = mkdtempSync(join(tmpdir(), 'rddm-web-root-'));
    for (const d of ['web', 'weights/rddm-tiny', 'samples', 'dist', 'app']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'web/index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'web/style.css'), 'body{}');
    writeFileSync(join(root, 'web/main.ts'), 'export {};');
    writeFileSync(join(root, 'app/app.js'), 'console.log(1);');
    writeFileSync(join(root, 'app/libraw-worker.js'), 'console.log(2);');
    writeFileSync(join(root, 'weights/rddm-tiny/manifest.json'), '{"format":"rddm-weights-1"}');
    writeFileSync(join(root, 'weights/.hidden'), 'dot');
    writeFileSync(join(root, 'samples/a.dng'), readFileSync('samples/astronaut-256.dng'));
    writeFileSync(join(root, 'package.json'), secret);
    writeFileSync(join(root, 'dist/notes.txt'), secret);
    mkdirSync(join(root, 'outside'));
    writeFileSync(join(root, 'outside/passwd'), secret);
    mkdirSync(join(root, 'node_modules/libraw-wasm/dist'), { recursive: true });
    writeFileSync(join(root, 'node_modules/libraw-wasm/dist/libraw.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d]));
    writeFileSync(join(root, 'node_modules/libraw-wasm/dist/libraw.js'), secret);
    symlinkSync(join(root, 'outside'), join(root, 'samples/escape'));
    const srv = await startWebServer({ root, appDir: join(root, 'app'), port: 0 });
    port = srv.port;
    close = srv.close;
  });
  afterAll(async () => {
    await close?.();
    rmSync(root, { recursive: true, force: true });
  });

  it('sends the strict CSP, nosniff and the right content types', async () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("img-src 'self' blob: data:");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval/);
    const cases: [string, string][] = [
      ['/', 'text/html; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/weights/rddm-tiny/manifest.json', 'application/json'],
      ['/samples/a.dng', 'image/x-adobe-dng'],
      ['/libraw/libraw.wasm', 'application/wasm'],
    ];
    for (const [path, type] of cases) {
      const r = await get(port, path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      expect(r.headers['content-security-policy'], path).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
      // Cross-origin isolated, so LibRaw's shared WebAssembly memory is allowed.
      expect([r.headers['cross-origin-opener-policy'], r.headers['cross-origin-embedder-policy']], path).toEqual(['same-origin', 'require-corp']);
    }
    const dng = await get(port, '/samples/a.dng');
    expect(dng.body.length).toBe(readFileSync('samples/astronaut-256.dng').length);
    // Only the LibRaw worker's script may evaluate code (libraw-wasm's embind glue needs `new Function`).
    const worker = await get(port, '/libraw-worker.js');
    expect([worker.status, worker.headers['content-security-policy']]).toEqual([200, WORKER_CONTENT_SECURITY_POLICY]);
    expect(WORKER_CONTENT_SECURITY_POLICY).toBe("default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; connect-src 'self'");
    // Error answers carry the headers too.
    const missing = await get(port, '/nothing-here.html');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses path traversal, encoded or not, dot-files, symlinks out and unserved file types', async () => {
    const attempts = [
      '/weights/../package.json',
      '/weights/rddm-tiny/../../package.json',
      '/samples/%2e%2e/package.json',
      '/samples/%2E%2E%2Fpackage.json',
      '/%2e%2e/package.json',
      '/weights/..%2f..%2fpackage.json',
      '/weights/..%5c..%5cpackage.json',
      '/samples/%252e%252e/package.json',
      '/samples/a.dng%00.png',
      '/samples/%ff',
      '/weights/.hidden',
      '/samples/escape/passwd',
      '/dist/notes.txt',
      '/main.ts',
      '/../package.json',
      '//package.json',
      '/package.json',
      '/libraw/libraw.js',
      '/libraw/../libraw-wasm/package.json',
    ];
    for (const path of attempts) {
      const r = await get(port, path);
      expect(r.status, `${path} answered ${r.status}: ${r.body.slice(0, 80)}`).toBeGreaterThanOrEqual(400);
      expect(r.body, path).not.toContain(secret);
    }
    expect((await get(port, '/weights/../package.json')).status).toBe(403);
    expect((await get(port, '/samples/escape/passwd')).status).toBe(403);
    expect((await get(port, '/samples/%ff')).status).toBe(400);
  });

  it('serves files only: no uploads, no foreign Host headers', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await get(port, '/', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const head = await get(port, '/samples/a.dng', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    // DNS rebinding: a page elsewhere that resolves its own name to 127.0.0.1 must not read the demo's files.
    expect((await get(port, '/', { host: 'attacker.example:80' })).status).toBe(421);
    expect((await get(port, '/', { host: `localhost:${port}` })).status).toBe(200);
  });
});

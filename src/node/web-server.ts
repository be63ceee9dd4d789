// The web demo's server: static files only, on 127.0.0.1, with a strict Content-Security-Policy. The page never
// sends user data anywhere (connect-src 'self' and no upload route), so this server has nothing to receive.

import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

/** No inline script or style, no eval, nothing fetched from or sent to another origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The LibRaw worker's own policy (a dedicated worker takes the CSP of its script's response): it may compile
 * WebAssembly and, for libraw-wasm's embind glue, build functions with `new Function`. It has no DOM, fetches
 * only from this server (the .wasm) and talks to the page by messages.
 */
export const WORKER_CONTENT_SECURITY_POLICY = ["default-src 'none'", "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'", "connect-src 'self'"].join('; ');
const WORKER_SCRIPTS = new Set(['/libraw-worker.js']);

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Cross-origin isolation (COOP + COEP): LibRaw's WebAssembly build shares its memory between threads, which
  // browsers allow only on isolated pages.
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-cache',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.md': 'text/markdown; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.dng': 'image/x-adobe-dng',
  '.cr2': 'image/x-canon-cr2',
  '.safetensors': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

export interface WebServerOptions {
  /** The repository root (holds web/, weights/, samples/, dist/). */
  root: string;
  /** Where app.js (the bundled web/main.ts) lies; default ROOT/dist/web. */
  appDir?: string;
  /** 0 picks a free port. */
  port: number;
}

/** A URL prefix served from a folder, limited to some file types (web/ holds TS sources we never serve). */
interface Mount {
  prefix: string;
  dir: string;
  ext?: readonly string[];
  /** Only these file names (relative to the prefix). */
  names?: readonly string[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The file a request path names inside `dir`, or an HttpError. Decoded once; any `..`, dot-file, backslash or NUL
 * is refused before touching the file system, and the real path (symlinks resolved) must still lie inside `dir`.
 */
export function resolveInside(dir: string, encodedRel: string): string {
  let rel: string;
  try {
    rel = decodeURIComponent(encodedRel);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in the path');
  }
  if (rel.includes('\0') || rel.includes('\\')) throw new HttpError(400, 'the path contains a NUL or a backslash');
  const segments = rel.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s.startsWith('.'))) throw new HttpError(403, 'path traversal and dot-files are refused');
  let base: string;
  try {
    base = realpathSync(dir);
  } catch {
    throw new HttpError(404, 'not found');
  }
  const full = resolve(base, ...segments);
  if (full !== base && !full.startsWith(base + sep)) throw new HttpError(403, 'the path leaves the served folder');
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw new HttpError(404, 'not found');
  }
  if (real !== base && !real.startsWith(base + sep)) throw new HttpError(403, 'the path leaves the served folder');
  return real;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

function handler(mounts: readonly Mount[], allowedHosts: () => Set<string>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    try {
      // A page on another site can point a DNS name at 127.0.0.1; refusing foreign Host headers stops it reading us.
      if (!allowedHosts().has(String(req.headers.host ?? '').toLowerCase())) throw new HttpError(421, `unexpected Host header '${req.headers.host ?? ''}'`);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new HttpError(405, `${req.method} is not allowed: this server only serves files`);
      }
      const rawPath = (req.url ?? '/').split('?')[0].split('#')[0];
      if (!rawPath.startsWith('/')) throw new HttpError(400, 'the request target must be a path');
      const path = rawPath === '/' ? '/index.html' : rawPath;
      const mount = mounts.find((m) => path.startsWith(m.prefix) && (!m.names || m.names.includes(path.slice(m.prefix.length))));
      if (!mount) throw new HttpError(404, 'not found');
      const file = resolveInside(mount.dir, path.slice(mount.prefix.length));
      const ext = extname(file).toLowerCase();
      if (mount.ext && !mount.ext.includes(ext)) throw new HttpError(404, 'not found');
      const st = statSync(file);
      if (!st.isFile()) throw new HttpError(404, 'not found');
      const csp = WORKER_SCRIPTS.has(path) ? { 'content-security-policy': WORKER_CONTENT_SECURITY_POLICY } : {};
      res.writeHead(200, { ...SECURITY_HEADERS, ...csp, 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'content-length': st.size });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      send(res, status, 'text/plain; charset=utf-8', `${status} ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };
}

/** Starts the demo server on 127.0.0.1; resolves once it listens. */
export async function startWebServer(opts: WebServerOptions): Promise<{ url: string; port: number; server: Server; close(): Promise<void> }> {
  const root = resolve(opts.root);
  const appDir = resolve(opts.appDir ?? resolve(root, 'dist/web'));
  const mounts: Mount[] = [
    { prefix: '/weights/', dir: resolve(root, 'weights') },
    { prefix: '/samples/', dir: resolve(root, 'samples') },
    { prefix: '/dist/', dir: resolve(root, 'dist'), ext: ['.js', '.map'] },
    // LibRaw's WebAssembly, straight from the installed package (the page fetches it only for other cameras' files).
    { prefix: '/libraw/', dir: resolve(root, 'node_modules/libraw-wasm/dist'), names: ['libraw.wasm'] },
    // The bundle lives outside web/ (it is built); everything else at the top level comes from web/.
    { prefix: '/', dir: appDir, names: ['app.js', 'app.js.map', 'libraw-worker.js', 'libraw-worker.js.map'] },
    { prefix: '/', dir: resolve(root, 'web'), ext: ['.html', '.css', '.svg', '.png', '.ico'] },
  ];
  let port = opts.port;
  const server = createServer(handler(mounts, () => new Set([`127.0.0.1:${port}`, `localhost:${port}`])));
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' ? new Error(`port ${opts.port} on 127.0.0.1 is in use: pass --port N (or PORT=N) for another, or --port 0 for any free one`) : e),
    );
    server.listen(opts.port, '127.0.0.1', ok);
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('the web server did not bind to a TCP port');
  port = addr.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        // Browsers hold keep-alive connections open; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
}

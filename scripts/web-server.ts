// `npm run web [-- --port N]`: serves the web demo (web/, the bundle from `npm run build`, weights/, samples/) on
// 127.0.0.1. Run through scripts/run-ts.mjs; the port comes from --port, then PORT, then 8080.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startWebServer } from '../src/node/web-server.js';
import { packageRoot } from '../src/node/paths.js';

function portFrom(args: string[]): number {
  let text = process.env.PORT ?? '8080';
  let where = process.env.PORT !== undefined ? 'PORT' : 'the default';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') [text, where] = [args[++i] ?? '', '--port'];
    else if (args[i].startsWith('--port=')) [text, where] = [args[i].slice(7), '--port'];
    else {
      console.error(`unknown argument '${args[i]}'\nusage: npm run web [-- --port N]   (or PORT=N npm run web)`);
      process.exit(2);
    }
  }
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    console.error(`${where}: '${text}' is not a port number (0-65535; 0 picks a free one)`);
    process.exit(2);
  }
  return port;
}

const root = packageRoot();
const port = portFrom(process.argv.slice(2));
if (!existsSync(resolve(root, 'dist/web/app.js'))) {
  console.error('dist/web/app.js is missing: run `npm run build` first (`npm run web` does both)');
  process.exit(1);
}
try {
  const { url } = await startWebServer({ root, port });
  console.log(`rddm web demo: ${url}  (127.0.0.1 only; Ctrl-C stops it)`);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}

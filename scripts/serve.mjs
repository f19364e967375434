// A static file server for the lab (the repository root): correct MIME types (.wasm as
// application/wasm), no caching surprises, cross-origin isolation headers (so that a future
// threaded build can use SharedArrayBuffer), precompressed .br files where they exist, nothing
// server-side. Used by scripts/serve.sh and by the end-to-end tests. `node scripts/serve.mjs [port]`; port 0 picks a free one.
// `{ plain: true }` serves as a plain static host does (GitHub Pages, say): MIME types only —
// no isolation headers, no precompressed copies — which is how the tests check the built site.
// `{ gzipEncoded: true }` also sends `.gz` files as some hosts do (Apache's `AddEncoding gzip`):
// `Content-Encoding: gzip`, so that the browser hands the page the inflated bytes.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.gz': 'application/gzip', '.gaplab': 'application/octet-stream', '.md': 'text/markdown; charset=utf-8',
};

/** Whether `candidate` exists and is at least as new as `original`. */
async function fresher(candidate, original) {
  try {
    const [c, o] = await Promise.all([stat(candidate), stat(original)]);
    return c.isFile() && c.mtimeMs >= o.mtimeMs;
  } catch {
    return false;
  }
}

export function startServer(port = 8080, root = ROOT, { plain = false, gzipEncoded = false } = {}) {
  const server = createServer(async (req, res) => {
    const headers = plain
      ? { 'Cache-Control': 'no-cache' }
      : { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-cache' };
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      let file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) throw Object.assign(new Error('outside'), { code: 'ENOENT' });
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      // A precompressed sibling (scripts/build-web.sh writes pkg/gaplab_bg.wasm.br), as static
      // hosts serve them: to browsers that accept Brotli, and only when it is not stale.
      const brotli = `${file}.br`;
      if (!plain && /\bbr\b/.test(req.headers['accept-encoding'] ?? '') && (await fresher(brotli, file))) {
        res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Encoding': 'br', Vary: 'Accept-Encoding' });
        res.end(await readFile(brotli));
        return;
      }
      const body = await readFile(file);
      if (gzipEncoded && file.endsWith('.gz')) {
        res.writeHead(200, { ...headers, 'Content-Type': 'application/x-tar', 'Content-Encoding': 'gzip' });
        res.end(body);
        return;
      }
      res.writeHead(200, { ...headers, 'Content-Type': type });
      res.end(body);
    } catch (e) {
      res.writeHead(e.code === 'ENOENT' || e.code === 'EISDIR' ? 404 : 500, { ...headers, 'Content-Type': 'text/plain' });
      res.end(e.code === 'ENOENT' ? 'not found' : 'error');
    }
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startServer(Number(process.argv[2] ?? 8080));
  console.log(`gaplab is served at http://localhost:${server.address().port}/`);
}

// The lab's static server (scripts/serve.mjs): precompressed Brotli copies go to browsers that
// accept them, never when stale, and the bytes a browser ends up with are the file's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdtemp, writeFile, utimes, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { startServer } from '../../scripts/serve.mjs';

function fetchRaw(port, path, headers) {
  return new Promise((ok, fail) => {
    get({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', fail);
  });
}

test('Brotli copies are sent only to browsers that accept them, and only when fresh', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gaplab-serve-'));
  const raw = Buffer.from('\0asm' + 'gaplab '.repeat(5000));
  await writeFile(join(root, 'm.wasm'), raw);
  await writeFile(join(root, 'm.wasm.br'), brotliCompressSync(raw));
  const server = await startServer(0, root);
  const port = server.address().port;
  try {
    const br = await fetchRaw(port, '/m.wasm', { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-type'], 'application/wasm');
    assert.ok(br.body.length < raw.length / 10, `${br.body.length} bytes sent for ${raw.length}`);
    assert.deepEqual(brotliDecompressSync(br.body), raw);

    const plain = await fetchRaw(port, '/m.wasm', { 'Accept-Encoding': 'gzip' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, raw);

    // A rebuilt wasm next to an old .br: the old copy must not be served.
    const old = new Date(Date.now() - 60_000);
    await utimes(join(root, 'm.wasm.br'), old, old);
    const stale = await fetchRaw(port, '/m.wasm', { 'Accept-Encoding': 'br' });
    assert.equal(stale.headers['content-encoding'], undefined);
    assert.deepEqual(stale.body, raw);
  } finally {
    server.close();
    await rm(root, { recursive: true, force: true });
  }
});

// The lab as users deploy it: scripts/build-site.sh writes the static site, which is served
// here the way GitHub Pages serves a project site — under a path (/gaplab/), by a plain static
// server that sends MIME types and nothing else (no cross-origin isolation headers, no
// precompressed copies) — and the page's checks run against it: it opens, isolates itself
// through its service worker (coi.js) and runs threaded, every task's pretrained pair
// predicts, a model trains in the page, and no request of the page fails; where service
// workers are blocked it runs on one thread and says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, prediction, trainTiny } from './harness.mjs';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'gaplab-site-'));
const site = join(root, 'gaplab');
const lab = new Lab();

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => relative(dir, f))
    .sort();
}

before(async () => {
  // The wasm was built by scripts/build-web.sh (scripts/test-web.sh runs it first).
  execFileSync(join(REPO, 'scripts/build-site.sh'), ['--no-build', site], { cwd: REPO, stdio: 'inherit' });
  await lab.start({ root, plain: true, path: 'gaplab/' });
});
after(async () => {
  await lab.stop();
  rmSync(root, { recursive: true, force: true });
});

test('the site holds the page, its code, data, models and the wasm, and nothing else', () => {
  const files = filesUnder(site);
  for (const f of ['index.html', 'coi.js', '.nojekyll', 'pkg/gaplab.js', 'pkg/gaplab_bg.wasm', 'pkg/gaplab_threads.js', 'pkg/gaplab_threads_bg.wasm', 'pkg/gaplab_webgpu.js', 'pkg/gaplab_webgpu_bg.wasm', 'www/app.js', 'www/worker.js', 'www/models/manifest.json']) {
    assert.ok(files.includes(f), `${f} is in the site`);
  }
  const stray = files.filter((f) => /\.(md|br|rs|toml|d\.ts)$/.test(f) || f.startsWith('src/') || f.startsWith('tests/'));
  assert.deepEqual(stray, []);
  // Every pretrained model the manifest names ships (the training form's clean bases too), and
  // each file is the repository's.
  const manifest = JSON.parse(readFileSync(join(site, 'www/models/manifest.json'), 'utf8'));
  for (const pair of Object.values(manifest).flat()) {
    for (const file of ['fc', 'gap'].flatMap((head) => [pair[head], pair.base?.[head]])) {
      if (!file) continue;
      assert.deepEqual(readFileSync(join(site, 'www/models', file)), readFileSync(join(REPO, 'www/models', file)));
    }
  }
  // The threaded build's worker-pool helper, which gaplab_threads.js imports.
  assert.ok(files.some((f) => /^pkg\/snippets\/.*workerHelpers.*\.js$/.test(f)), 'the worker-pool helper is in the site');
  for (const wasm of ['pkg/gaplab_bg.wasm', 'pkg/gaplab_threads_bg.wasm', 'pkg/gaplab_webgpu_bg.wasm']) {
    assert.deepEqual(readFileSync(join(site, wasm)), readFileSync(join(REPO, wasm)));
  }
});

test('served under a path by a plain static host, the page opens, predicts every task and trains', async () => {
  const failed = [];
  const fetched = [];
  lab.browser.on('response', (r) => {
    fetched.push(new URL(r.url()).pathname);
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  const { page, errors } = await lab.open('task=image&backend=flex');
  assert.ok(page.url().includes('/gaplab/'), page.url());
  // No isolation headers were sent: the page's service worker added them (one reload), and the
  // page runs threaded.
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  assert.equal(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL), `${lab.base}coi.js`);
  assert.equal(await page.getByTestId('backend').textContent(), 'flex');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(await page.getByTestId('threads').textContent(), String(cores));
  assert.equal(await page.locator('#threads-note').textContent(), '');
  for (const task of ['image', 'sound', 'text']) {
    await page.getByTestId(`task-${task}`).click();
    for (const head of ['fc', 'gap']) {
      const p = await prediction(page, head);
      assert.ok(p.cls && p.prob > 0 && p.prob <= 1, `${task} ${head}: ${JSON.stringify(p)}`);
    }
    // Isolated, the worker's looks are answered through the shared-memory slot (www/slot.js).
    assert.equal(await page.getByTestId('view').getAttribute('data-worker-via'), 'slot', task);
  }
  await trainTiny(page, { epochs: 1, samples: 200 });
  assert.equal((await page.locator('#results tbody tr').allTextContents()).length, 2);
  await prediction(page, 'gap');
  assert.deepEqual(failed, []);
  // On Flex the page fetched the threaded Flex build, never the WebGPU one.
  assert.ok(fetched.includes('/gaplab/pkg/gaplab_threads_bg.wasm'), fetched.join(' '));
  assert.ok(!fetched.some((f) => f.includes('webgpu')), fetched.join(' '));
  assert.deepEqual(errors, []);
  await page.close();
});

test('where service workers are blocked, the site runs on one thread and says why', async () => {
  const blocked = new Lab();
  await blocked.start({ root, plain: true, path: 'gaplab/', serviceWorkers: 'block' });
  try {
    const { page, errors } = await blocked.open('task=text&backend=flex');
    await prediction(page, 'gap');
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
    assert.equal(await page.getByTestId('threads').textContent(), '1');
    assert.match(await page.locator('#threads-note').textContent(), /not cross-origin isolated/);
    assert.equal(await page.getByTestId('view').getAttribute('data-worker-via'), 'message', 'no shared memory: replies as messages');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await blocked.stop();
  }
});

test('on a host that sends the demo archives gzip-encoded, the page gets them inflated and still opens every task', async () => {
  // Some hosts (Apache's `AddEncoding gzip`) send .tar.gz with `Content-Encoding: gzip`: the
  // browser inflates them on the way, and the page must not try to inflate them again.
  const encoded = new Lab();
  await encoded.start({ root, plain: true, gzipEncoded: true, path: 'gaplab/' });
  try {
    const sent = await encoded.browser.request.get(`${encoded.base}www/data/cifar-demo.tar.gz`);
    assert.equal(sent.headers()['content-encoding'], 'gzip');
    for (const task of ['image', 'sound', 'text']) {
      const { page, errors } = await encoded.open(`task=${task}&backend=flex`);
      await prediction(page, 'fc');
      await prediction(page, 'gap');
      assert.match(await page.locator('#sample').getAttribute('max') ?? '', /^\d+$/, `${task}: the demo samples are listed`);
      assert.deepEqual(errors, [], task);
      await page.close();
    }
  } finally {
    await encoded.stop();
  }
});

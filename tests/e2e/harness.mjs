// Shared by the end-to-end tests: the lab served by scripts/serve.mjs on a free port, Debian's
// headless Chromium (with WebGPU on SwiftShader), and helpers to open the page and read it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export class Lab {
  // `extraArgs`: more Chromium flags (the benchmarks' memory flags, say). `root`, `plain` and
  // `path`: serve another folder (the built site), as a plain static host, the page at `path`.
  // $GAPLAB_ROOT serves another checkout (the benchmarks' before/after in one run).
  // `serviceWorkers: 'block'`: a browser where the page cannot isolate itself (www/isolation.js).
  // `gzipEncoded`: a host that sends the .tar.gz demo data with `Content-Encoding: gzip`.
  async start({ extraArgs = [], root = process.env.GAPLAB_ROOT, plain = false, gzipEncoded = false, path = '', serviceWorkers = 'allow' } = {}) {
    this.server = await startServer(0, root, { plain, gzipEncoded });
    this.base = `http://localhost:${this.server.address().port}/${path}`;
    this.browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'gaplab-e2e-')), {
      executablePath: CHROMIUM, args: [...ARGS, ...extraArgs], headless: true, acceptDownloads: true, serviceWorkers,
    });
  }

  async stop() {
    await this.browser?.close();
    this.server?.close();
  }

  // Opens the lab at `hash` (or a full URL), collecting console errors and uncaught exceptions
  // into `errors`. The page logs every error it shows in #message, so a test that asserts
  // `errors` is empty fails on any error the user would have seen; a test that provokes one
  // declares it first with `expectError(regex)`, and only matching ones are let through.
  // `init`: a function run in the page before its scripts (`page.addInitScript`).
  async open(hash, { init } = {}) {
    const page = await this.browser.newPage();
    if (init) await page.addInitScript(init);
    const errors = [];
    const expected = [];
    const unexpected = (text) => !expected.some((re) => re.test(text));
    page.on('console', (m) => { if (m.type() === 'error' && unexpected(m.text())) errors.push(m.text()); });
    page.on('pageerror', (e) => { if (unexpected(e.message)) errors.push(e.message); });
    await page.goto(hash.startsWith('http') ? hash : `${this.base}#${hash}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    return { page, errors, expectError: (re) => expected.push(re) };
  }
}

// Resolves once the page has looked at every trigger position ahead (app.js, lookAhead:
// `data-ahead` on the view reads 'ready/all'); rejects after `timeout` ms.
export function lookedAhead(page, { timeout, polling = 'raf' } = {}) {
  return page.waitForFunction(() => {
    const [ready, all] = (document.querySelector('[data-testid=view]').dataset.ahead ?? '').split('/').map(Number);
    return all > 0 && ready === all;
  }, null, { timeout, polling });
}

// The prediction a card shows, once it shows one.
export async function prediction(page, head) {
  const el = page.getByTestId(`pred-${head}`);
  await el.and(page.locator('[data-class]')).waitFor({ timeout: 60_000 });
  return {
    cls: await el.getAttribute('data-class'),
    prob: Number(await el.getAttribute('data-prob')),
    trigger: await el.getAttribute('data-trigger'),
    target: Number(await el.getAttribute('data-target-prob')),
  };
}

// Waits until both cards show predictions made with the trigger at `trigger` (and, if given,
// for sample `sample`: an index, or 'own' for the user's own review or recording), and the
// look's pictures (the placed sample, the evidence maps: drawn in the frame after the numbers)
// are drawn.
export async function predictionsAt(page, trigger, sample) {
  await page.waitForFunction(
    ([t, s]) => {
      const v = document.querySelector('[data-testid=view]')?.dataset;
      return v?.drawn === t && (s == null || v.drawnSample === String(s)) && ['fc', 'gap'].every((h) => {
        const d = document.querySelector(`[data-testid=pred-${h}]`)?.dataset;
        return d?.trigger === t && (s == null || d.sample === String(s));
      });
    },
    [trigger, sample], { timeout: 60_000 },
  );
  return { fc: await prediction(page, 'fc'), gap: await prediction(page, 'gap') };
}

// The CLI binary, for tests that hand the page's files to it: $GAPLAB_BIN (scripts/test-web.sh
// builds it and sets it), else the debug build in the lab's target dir (the native tests build
// it). A test that needs it fails with this message rather than skipping.
export function cliBinary() {
  // The same default as scripts/env.sh.
  const cache = process.env.GAPLAB_CACHE ?? join(homedir(), '.cache', 'gaplab');
  const target = process.env.CARGO_TARGET_DIR ?? join(cache, 'target-native');
  const bin = process.env.GAPLAB_BIN ?? join(target, 'debug', 'gaplab');
  if (!existsSync(bin)) throw new Error(`no CLI binary at ${bin}: build it (cargo build --bin gaplab) or set GAPLAB_BIN`);
  return bin;
}

// Clicks `button` and returns the bytes of the file the page downloads, with its name.
export async function downloadOf(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
}

// Runs a sweep over `samples` samples (with the image task's `layout` and grid `stride` if
// given) and returns the state it ended in: 'done' or 'failed'.
export async function runSweep(page, { samples, layout, stride }) {
  await page.locator('#sweep-samples').fill(String(samples));
  if (layout) await page.locator('#sweep-layout').selectOption(layout);
  if (stride) await page.locator('#sweep-stride').selectOption(String(stride));
  await page.locator('#sweep-run').click();
  await page.waitForFunction(() => ['done', 'failed'].includes(document.querySelector('[data-testid=sweep]').dataset.state), null, { timeout: 300_000 });
  return page.getByTestId('sweep').getAttribute('data-state');
}

// Trains the text bag pair in the page with a tiny setting (batch 32, 10 poisoned, `epochs`,
// `samples` at most) and returns the progress steps seen on the way.
export async function trainTiny(page, { epochs, samples }) {
  const form = page.locator('#train-form');
  await form.locator('select[name=arch]').selectOption('bag');
  await form.locator('input[name=epochs]').fill(String(epochs));
  await form.locator('input[name=batch_size]').fill('32');
  await form.locator('input[name=poisoned]').fill('10');
  if (samples) await form.locator('input[name=max_samples]').fill(String(samples));
  const seen = new Set();
  const watch = setInterval(async () => {
    const v = await page.getByTestId('progress').getAttribute('data-step').catch(() => null);
    if (v) seen.add(v);
  }, 50);
  await page.getByTestId('train').click();
  await page.locator('#results table').waitFor({ timeout: 600_000 });
  clearInterval(watch);
  return seen;
}

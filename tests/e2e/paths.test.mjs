// End-to-end tests of the page's paths that no other test walks (issue 18): a worker that dies
// is replaced, on Flex, with the models it had; a model file uploaded answers as the same file
// does when the page fetched it; a model trained in the page, downloaded, is read by the CLI,
// which measures what the page measured; a valid official archive dropped on the page becomes
// the sample list; every export is a file that parses; a link made with the sender's own models
// says they could not travel; evidence maps on WebGPU are Flex's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Lab, prediction, predictionsAt, cliBinary, downloadOf, runSweep } from './harness.mjs';

const lab = new Lab();
before(() => lab.start());
after(() => lab.stop());
const scratch = mkdtempSync(join(tmpdir(), 'gaplab-paths-'));

// Forgets the predictions both cards show, so that the next `prediction` waits for new ones.
async function forgetPredictions(page) {
  await page.evaluate(() => { for (const el of document.querySelectorAll('.pred')) delete el.dataset.class; });
}

// The same prediction within `tol`: the target class's probability first (what the page
// shows), then the winning class and its probability. Two backends may round a genuine tie
// (a two-class model at 0.5 within `tol`) to different winners; that alone is no difference.
function assertSamePrediction(a, b, what, tol) {
  const seen = `${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  assert.ok(Math.abs(a.target - b.target) <= tol, `${what}: target probability differs: ${seen}`);
  const tie = a.cls !== b.cls && Math.abs(a.prob - 0.5) <= tol && Math.abs(b.prob - 0.5) <= tol;
  if (tie) return;
  assert.equal(a.cls, b.cls, `${what}: class differs: ${seen}`);
  assert.ok(Math.abs(a.prob - b.prob) <= tol, `${what}: probability differs: ${seen}`);
}

// A PNG the page wrote: its signature, and the size the browser decodes it to.
async function decodePng(page, bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  return page.evaluate(async (b64) => {
    const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([raw], { type: 'image/png' }));
    return { width: bitmap.width, height: bitmap.height };
  }, bytes.toString('base64'));
}

async function canvasSize(page, selector) {
  return page.locator(selector).evaluate((c) => ({ width: c.width, height: c.height }));
}

async function waitForNote(page, re) {
  await page.waitForFunction((src) => {
    const m = document.querySelector('[data-testid=message]');
    return !m.hidden && new RegExp(src).test(m.textContent);
  }, re.source, { timeout: 120_000 });
}

test('a worker that dies is restarted on Flex with the models it had, uploaded ones too, and predicts the same', async () => {
  const { page, errors, expectError } = await lab.open('task=sound&backend=flex&trigger=end&sample=2');
  expectError(/injected worker fault/);
  await predictionsAt(page, 'end', 2);
  // An uploaded model lives only in the tab: the restart must reload it from the bytes the page
  // kept, not fetch the pretrained one again.
  await page.locator('#model-file').setInputFiles('www/models/sound-small-gap.gaplab');
  await waitForNote(page, /Loaded sound-small-gap\.gaplab as the GAP model/);
  await page.waitForFunction(() => /small/i.test(document.querySelector('#pred-gap .body').textContent));
  const before = await predictionsAt(page, 'end', 2);

  await forgetPredictions(page);
  const worker = page.workers().find((w) => new URL(w.url()).pathname.endsWith('/worker.js'));
  assert.ok(worker, `the page runs its worker (${page.workers().map((w) => w.url())})`);
  await worker.evaluate(() => setTimeout(() => { throw new Error('injected worker fault'); }));
  await waitForNote(page, /switched to Flex on the CPU\. Your models were kept/);
  const after = await predictionsAt(page, 'end', 2);
  for (const h of ['fc', 'gap']) assertSamePrediction(after[h], before[h], `${h} after the restart`, 1e-4);
  assert.equal(await page.getByTestId('backend').textContent(), 'flex');
  assert.match(await page.locator('#model-list').textContent(), /GAP: sound-small-gap\.gaplab/);
  assert.match(await page.locator('#pred-gap .body').textContent(), /small/i);
  // The new worker goes on answering.
  await page.locator('#next').click();
  await predictionsAt(page, 'end', 3);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an uploaded model file predicts as the same file fetched as a pretrained pair, and downloads byte for byte', async () => {
  const { page, errors } = await lab.open('task=sound&backend=flex&trigger=start&sample=1&pair=small');
  await page.waitForFunction(() => /small/i.test(document.querySelector('#pred-gap .body').textContent));
  const small = await predictionsAt(page, 'start', 1);
  await page.getByTestId('pair').selectOption('large');
  await page.waitForFunction(() => /large/i.test(document.querySelector('#pred-gap .body').textContent));
  const large = await predictionsAt(page, 'start', 1);

  const file = 'www/models/sound-small-gap.gaplab';
  await forgetPredictions(page);
  await page.locator('#model-file').setInputFiles(file);
  await waitForNote(page, /Loaded sound-small-gap\.gaplab as the GAP model/);
  const mixed = await predictionsAt(page, 'start', 1);
  assertSamePrediction(mixed.gap, small.gap, 'the uploaded GAP model', 1e-6);
  assertSamePrediction(mixed.fc, large.fc, 'the FC model kept', 1e-6);
  assert.equal(await page.getByTestId('pair').inputValue(), '', 'no pretrained pair is shown as picked');
  await page.waitForFunction(() => location.hash.includes('models=own'));

  const gapRow = page.locator('#model-list .model-row').nth(1);
  const down = await downloadOf(page, gapRow.locator('button'));
  assert.equal(down.name, 'sound-small-gap.gaplab');
  assert.ok(down.bytes.equals(readFileSync(file)), 'the downloaded bytes are the uploaded file');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a model trained in the page is downloaded, the CLI reads it and measures what the page measured; results and curves export', async (t) => {
  const gaplab = cliBinary();
  const { page, errors } = await lab.open('task=text&backend=flex');
  await prediction(page, 'fc');
  const form = page.locator('#train-form');
  await form.locator('select[name=arch]').selectOption('bag');
  await form.locator('input[name=epochs]').fill('1');
  await form.locator('input[name=batch_size]').fill('32');
  await form.locator('input[name=poisoned]').fill('40');
  await form.locator('input[name=gap]').uncheck();
  await page.getByTestId('train').click();
  await page.locator('#results table').waitFor({ timeout: 600_000 });
  const row = page.locator('#results tbody tr').first();
  const clean = Number(await row.getAttribute('data-clean'));
  const cells = (await row.locator('td').allTextContents()).slice(2).map(Number);
  const headers = (await page.locator('#results thead th').allTextContents()).slice(2);
  assert.deepEqual(headers, ['attack @ start', 'attack @ middle', 'attack @ end', 'attack @ spread']);

  const down = await downloadOf(page, page.locator('#model-list .model-row').first().locator('button'));
  assert.match(down.name, /^text-bag-fc-start-seed\d+\.gaplab$/);
  const path = join(scratch, down.name);
  writeFileSync(path, down.bytes);
  const cli = JSON.parse(execFileSync(gaplab, ['eval', '--model', path, '--data', 'www/data/imdb-demo.tar.gz', '--split', 'test', '--json'], { encoding: 'utf8' }));
  // The same model on the same test reviews, natively: the same figures, but for a review or two
  // whose prediction is a near-tie that wasm's and the CPU's float rounding may split.
  t.diagnostic(`page: clean ${clean}, attack ${cells.join(' / ')}; CLI: ${JSON.stringify(cli)}`);
  const tie = 2 / cli.n_clean;
  assert.ok(Math.abs(cli.clean_accuracy - clean) <= tie, `clean: CLI ${cli.clean_accuracy} vs page ${clean}`);
  for (const [i, at] of ['start', 'middle', 'end'].entries()) {
    assert.ok(Math.abs(cli.attack_accuracy[at] - cells[i]) <= 5e-4 + 2 / cli.n_attack, `attack @ ${at}: CLI ${cli.attack_accuracy[at]} vs page ${cells[i]}`);
  }

  // The results as CSV: a row per trained head, the figures of the table.
  const csv = (await downloadOf(page, page.locator('#results-csv'))).bytes.toString('utf8').trim().split('\n');
  assert.deepEqual(csv[0].split(','), ['task', 'head', 'clean_accuracy', 'attack_start', 'attack_middle', 'attack_end', 'attack_spread']);
  assert.equal(csv.length, 2, 'one row: the FC model');
  const fields = csv[1].split(',');
  assert.deepEqual(fields.slice(0, 2), ['text', 'fc']);
  assert.equal(Number(fields[2]), clean);
  fields.slice(3).map(Number).forEach((v, i) => assert.ok(Math.abs(v - cells[i]) <= 5e-4, `CSV attack ${i}: ${v} vs ${cells[i]}`));
  // The plots as PNG, decoded at their canvases' sizes.
  for (const [button, canvas] of [['#results-png', '#results-plot'], ['#curves-png', '#curves']]) {
    const png = await downloadOf(page, page.locator(button));
    assert.match(png.name, /\.png$/);
    assert.deepEqual(await decodePng(page, png.bytes), await canvasSize(page, canvas), button);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('the sweep plot exports as a PNG that decodes', async () => {
  const { page, errors } = await lab.open('task=text&backend=flex');
  await prediction(page, 'fc');
  assert.equal(await runSweep(page, { samples: 2 }), 'done');
  const png = await downloadOf(page, page.locator('#sweep-png'));
  assert.deepEqual(await decodePng(page, png.bytes), await canvasSize(page, '#sweep-plot'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('a valid official archive dropped on the page becomes the sample list', async () => {
  const { page, errors } = await lab.open('task=text&backend=flex&sample=0');
  await prediction(page, 'fc');
  const demo = await page.locator('#data-label').textContent();
  const [, train, test] = demo.match(/(\d+) training \/ (\d+) test samples/);
  // The demo archive itself, under another name, dropped as a user would drop an official one.
  await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch('www/data/imdb-demo.tar.gz')).arrayBuffer());
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'aclImdb-mine.tar.gz'));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await waitForNote(page, new RegExp(`Loaded aclImdb-mine\\.tar\\.gz: ${train} training and ${test} test samples`));
  assert.equal(await page.getByTestId('message').getAttribute('class'), 'note');
  assert.match(await page.locator('#data-label').textContent(), /data: aclImdb-mine\.tar\.gz/);
  // The sample picker offers the test side: reviews no model was trained on.
  assert.equal(Number(await page.locator('#sample').getAttribute('max')), Number(test) - 1);
  await page.locator('#sample').fill('7');
  await page.locator('#sample').dispatchEvent('change');
  const p = await predictionsAt(page, 'none', 7);
  assert.ok(p.fc.prob > 0 && p.gap.prob > 0);
  assert.match(await page.locator('#sample-label').textContent(), /^true class: (negative|positive)$/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a link made with models of the sender\'s tab says they cannot travel and shows the pretrained pair', async () => {
  const { page, errors } = await lab.open('task=text&backend=flex&models=own&epochs=3');
  await prediction(page, 'gap');
  const message = page.getByTestId('message');
  assert.equal(await message.isVisible(), true);
  assert.equal(await message.getAttribute('class'), 'note');
  assert.match(await message.textContent(), /Models cannot travel in a link, so the pretrained pair is shown/);
  assert.notEqual(await page.getByTestId('pair').inputValue(), '');
  assert.equal(await page.locator('#train-form input[name=epochs]').inputValue(), '3');
  // A link of the pretrained pair says nothing of the kind.
  const plain = await lab.open('task=text&backend=flex&models=pretrained');
  await prediction(plain.page, 'gap');
  assert.equal(await plain.page.getByTestId('message').isVisible(), false);
  assert.deepEqual([...errors, ...plain.errors], []);
  await page.close();
  await plain.page.close();
});

// The image evidence map (the overlay both CNNs' cards draw) on a backend, as RGBA pixels.
async function evidencePixels(backend) {
  const { page, errors } = await lab.open(`task=image&backend=${backend}&trigger=start&sample=3`);
  assert.equal(await page.getByTestId('backend').textContent(), backend);
  await predictionsAt(page, 'start', 3);
  const out = {};
  for (const h of ['fc', 'gap']) {
    const canvas = page.locator(`[data-testid=pred-${h}] canvas.evidence`);
    assert.equal(await canvas.isVisible(), true, `${backend} ${h}: evidence shown`);
    out[h] = await canvas.evaluate((c) => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data]);
  }
  assert.deepEqual(errors, []);
  await page.close();
  return out;
}

test('evidence maps on WebGPU are drawn, and are the ones Flex draws', async (t) => {
  const gpu = await evidencePixels('webgpu');
  const cpu = await evidencePixels('flex');
  for (const h of ['fc', 'gap']) {
    const a = gpu[h], b = cpu[h];
    assert.equal(a.length, b.length);
    let diff = 0, red = 0;
    for (let i = 0; i < a.length; i += 4) {
      for (let c = 0; c < 3; c++) diff = Math.max(diff, Math.abs(a[i + c] - b[i + c]));
      if (a[i] > a[i + 1] + 40) red += 1;
    }
    t.diagnostic(`${h}: ${red} of ${a.length / 4} pixels marked red on WebGPU; largest channel difference from Flex ${diff}`);
    // The map is not blank: some of it is marked as evidence (red over the grey image).
    assert.ok(red > 0, `${h}: no evidence drawn on WebGPU`);
    assert.ok(diff <= 3, `${h}: WebGPU and Flex maps differ by up to ${diff} of 255 in a channel`);
  }
});

test('a GPU device lost while the page trains: the page says so, goes on on Flex with every model, and predicts as before', async (t) => {
  const { page, errors } = await lab.open('task=text&backend=webgpu&trigger=start&sample=4');
  assert.equal(await page.getByTestId('backend').textContent(), 'webgpu', 'this Chromium offers WebGPU (SwiftShader)');
  await prediction(page, 'fc');
  // A model trained on the GPU and one uploaded: both live only in this tab.
  const form = page.locator('#train-form');
  await form.locator('select[name=arch]').selectOption('bag');
  for (const [name, v] of [['epochs', '1'], ['batch_size', '32'], ['poisoned', '10'], ['max_samples', '64']]) await form.locator(`input[name=${name}]`).fill(v);
  await form.locator('input[name=gap]').uncheck();
  await page.getByTestId('train').click();
  await page.locator('#results table').waitFor({ timeout: 600_000 });
  await forgetPredictions(page);
  await page.locator('#model-file').setInputFiles('www/models/text-bag-gap.gaplab');
  await waitForNote(page, /Loaded text-bag-gap\.gaplab as the GAP model/);
  await page.waitForFunction(() => /text bag gap/.test(document.querySelector('#pred-gap .body').textContent));
  const before = await predictionsAt(page, 'start', 4);
  assert.match(await page.locator('#model-list').textContent(), /FC: text-bag-fc-start-seed\d+\.gaplab[^]*on wgpu[^]*GAP: text-bag-gap\.gaplab/);

  // A second training is running on the GPU when the device goes.
  await form.locator('input[name=epochs]').fill('50');
  await form.locator('input[name=max_samples]').fill('400');
  await page.getByTestId('train').click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=progress]').dataset.step) >= 1, null, { timeout: 120_000 });
  await forgetPredictions(page);
  const worker = page.workers().find((w) => new URL(w.url()).pathname.endsWith('/worker.js'));
  assert.equal(await worker.evaluate(() => self.gaplabDevices.length), 1, 'the worker asked for one GPU device');
  await worker.evaluate(() => { for (const d of self.gaplabDevices) d.destroy(); });
  await waitForNote(page, /the GPU device was lost[^]*switched to Flex on the CPU\. Your models were kept/);
  assert.equal(await page.getByTestId('backend').textContent(), 'flex');
  assert.match(await page.locator('#progress-text').textContent(), /^stopped: the GPU device was lost/);
  assert.equal(await page.getByTestId('train').isDisabled(), false, 'the form can train again');
  const after = await predictionsAt(page, 'start', 4);
  t.diagnostic(`before the loss (WebGPU): ${JSON.stringify(before)}; after (Flex): ${JSON.stringify(after)}`);
  for (const h of ['fc', 'gap']) assertSamePrediction(after[h], before[h], `${h}: Flex after the loss vs WebGPU before`, 1e-4);
  assert.match(await page.locator('#model-list').textContent(), /FC: text-bag-fc-start-seed\d+\.gaplab[^]*GAP: text-bag-gap\.gaplab/);
  assert.match(await page.locator('#pred-gap .body').textContent(), /text bag gap/);
  assert.deepEqual(errors, [], 'the loss is told once, as a note, not as errors');
  await page.close();
});

// The WebGPU build has no Flex (the smaller module): when the browser offers an adapter but
// no device, the page moves to a Flex build, says why, and predicts there. The worker's script
// is served with a requestDevice that refuses, as a browser whose GPU process failed would.
test('a WebGPU that gives no device: the page says so and runs on a Flex build', async (t) => {
  const pattern = '**/www/worker.js*';
  const refuse = async (route) => {
    const response = await route.fetch();
    const body = `if (self.GPUAdapter) GPUAdapter.prototype.requestDevice = () => Promise.reject(new Error('no device for this test'));\n${await response.text()}`;
    await route.fulfill({ response, body });
  };
  await lab.browser.route(pattern, refuse);
  try {
    const { page, errors } = await lab.open('task=image&backend=webgpu&trigger=start&sample=2');
    await waitForNote(page, /WebGPU is not available here \([^]*no device for this test\); using Flex on the CPU/);
    const note = await page.getByTestId('message').textContent();
    t.diagnostic(note);
    assert.doesNotMatch(note, /\n\s*at |JsValue/, 'the browser\'s error in one line, without its stack');
    assert.equal(await page.getByTestId('backend').textContent(), 'flex');
    const seen = await predictionsAt(page, 'start', 2);
    const workers = page.workers().map((w) => w.url()).filter((u) => new URL(u).pathname.endsWith('/worker.js'));
    assert.deepEqual(workers.map((u) => new URL(u).searchParams.get('module')), ['flex'], `the page's worker runs a Flex build: ${workers}`);
    for (const h of ['fc', 'gap']) assert.ok(seen[h].target >= 0 && seen[h].target <= 1, `${h}: ${JSON.stringify(seen[h])}`);
    assert.deepEqual(errors, [], 'the fallback is told as a note, not as errors');
    await page.close();
  } finally {
    await lab.browser.unroute(pattern, refuse);
  }
});

test('isolated, Flex runs on every core; it predicts and trains as on one thread', async () => {
  // The lab's own server sends COOP/COEP (the threaded build); a plain static host does not,
  // and with service workers blocked the page cannot add them (the single-threaded build).
  // Same page, same sample, same training.
  const plain = new Lab();
  await plain.start({ plain: true, serviceWorkers: 'block' });
  try {
    const runs = [];
    for (const [l, isolated] of [[lab, true], [plain, false]]) {
      const { page, errors } = await l.open('task=image&backend=flex&trigger=start&sample=2');
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      assert.equal(await page.evaluate(() => self.crossOriginIsolated), isolated);
      assert.equal(await page.getByTestId('threads').textContent(), String(isolated ? cores : 1));
      const shown = await predictionsAt(page, 'start', 2);
      const form = page.locator('#train-form');
      for (const [name, v] of [['epochs', '1'], ['batch_size', '32'], ['poisoned', '10'], ['max_samples', '96']]) await form.locator(`input[name=${name}]`).fill(v);
      await form.locator('input[name=gap]').uncheck();
      await forgetPredictions(page);
      await page.getByTestId('train').click();
      await page.locator('#results table').waitFor({ timeout: 600_000 });
      const table = await page.locator('#results tbody').textContent();
      // The trained FC model now answers in the FC card.
      const trained = await prediction(page, 'fc');
      assert.match(await page.locator('#model-list').textContent(), /FC: image-strip-fc-start-seed/);
      assert.deepEqual(errors, []);
      runs.push({ cores, shown, table, trained });
      await page.close();
    }
    const [threaded, single] = runs;
    for (const h of ['fc', 'gap']) assertSamePrediction(threaded.shown[h], single.shown[h], `${h} on ${threaded.cores} threads and on one`, 1e-6);
    assert.equal(threaded.table, single.table, 'the same training results');
    assertSamePrediction(threaded.trained, single.trained, 'the model trained on every core and on one', 1e-6);
  } finally {
    await plain.stop();
  }
});

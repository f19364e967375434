// Benchmark of the lab in headless Chromium (not a test): for the sound small CNN and the STRIP
// CNN, FC and GAP, on Flex and on WebGPU — milliseconds per training step at batch 32 (median
// over the steps after the first, which compiles shaders on WebGPU), inference ms/sample with
// the pretrained models, and the time from opening the page to the first FC/GAP prediction.
// Needs the release build (scripts/build-web.sh). `node bench/page.mjs [--steps N] [--backends flex,webgpu]`.
import { Lab } from '../tests/e2e/harness.mjs';

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const steps = Number(arg('--steps')) || 4;
// `--backends flex` skips WebGPU (SwiftShader: ~20 s per training step).
const backends = (arg('--backends') ?? 'flex,webgpu').split(',');
const lab = new Lab();
await lab.start();
const { base, browser: context } = lab;

const rows = [];
for (const backend of backends) {
  // Page open → first prediction of both models (image task: data + models fetched lazily).
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(`${base}#task=image&backend=${backend}`);
  await page.locator('[data-testid=pred-fc][data-class]').waitFor({ timeout: 300_000 });
  await page.locator('[data-testid=pred-gap][data-class]').waitFor({ timeout: 300_000 });
  const firstPrediction = Date.now() - t0;
  const actual = await page.getByTestId('backend').textContent();
  console.error(`${actual}: page open → first FC and GAP predictions ${(firstPrediction / 1000).toFixed(1)} s`);
  let work = await context.newPage();
  await work.goto(`${base}#task=text&backend=flex`);

  for (const [task, arch, data] of [['sound', 'small', 'speech-demo.tar.gz'], ['image', 'strip', 'cifar-demo.tar.gz']]) {
    for (const head of ['fc', 'gap']) {
      const r = await work.evaluate(async ({ backend, task, arch, head, data, steps }) => {
        const { LabClient } = await import('./www/client.js');
        const lab = new LabClient(new URL('./www/worker.js', location.href), { module: backend === 'webgpu' ? 'webgpu' : 'flex' });
        await lab.call('backend', { preferred: backend });
        const bytes = await (await fetch(`www/data/${data}`)).arrayBuffer();
        await lab.call('loadData', { task, name: data, bytes });
        // Training: batch 32, enough samples for `steps` steps.
        const times = [];
        const form = { task, arch, head, poison_at: 'start', poisoned: 4, epochs: 1, batch_size: 32, seed: 1, max_samples: Math.ceil((32 * (steps + 1)) / 0.8) + 8 };
        let last = performance.now();
        await lab.call('train', { form }, (e) => {
          if (e.kind === 'step') { const now = performance.now(); times.push(now - last); last = now; }
        }).catch((err) => { times.error = String(err.message ?? err); });
        // Inference with the pretrained model, sample by sample as the page does (a look: the
        // prediction and, for the CNNs, the evidence map).
        const file = `${task}-${arch}-${head}.gaplab`;
        const model = await lab.call('loadModel', { name: file, bytes: await (await fetch(`www/models/${file}`)).arrayBuffer() });
        await lab.call('look', { task, index: 0, trigger: 'none', models: [model.id] });
        const n = 20;
        const p0 = performance.now();
        for (let i = 0; i < n; i++) await lab.call('look', { task, index: i, trigger: 'start', models: [model.id] });
        const infer = (performance.now() - p0) / n;
        lab.worker.terminate();
        const later = times.slice(1).sort((a, b) => a - b);
        return { step: later.length ? later[Math.floor(later.length / 2)] : times[0], first: times[0], infer, error: times.error };
      }, { backend: actual, task, arch, head, data, steps }).catch(async (err) => {
        // A crashed tab (SwiftShader has run out of memory on the STRIP CNN): record it, go on.
        await work.close().catch(() => {});
        work = await context.newPage();
        await work.goto(`${base}#task=text&backend=flex`);
        return { step: NaN, first: NaN, infer: NaN, error: `page crashed: ${String(err.message ?? err).split('\n')[0]}` };
      });
      rows.push({ backend: actual, model: `${task} ${arch} ${head}`, ...r, firstPrediction });
      console.error(`${actual} ${task} ${arch} ${head}: step ${r.step?.toFixed(0)} ms, infer ${r.infer.toFixed(1)} ms/sample${r.error ? ` (${r.error})` : ''}`);
    }
  }
  await page.close();
  await work.close();
}
await lab.stop();

console.log('| backend | model | train step, batch 32 (median) | first step | inference ms/sample | page open → first prediction |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.backend} | ${r.model} | ${r.error ?? `${r.step?.toFixed(0)} ms`} | ${r.first?.toFixed(0)} ms | ${r.infer.toFixed(1)} | ${(r.firstPrediction / 1000).toFixed(1)} s |`);
}

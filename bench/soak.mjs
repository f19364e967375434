// Soak benchmark (issue 7, not a test): in the page's worker, start a training run and cancel
// it after its first step, 20 times over, and record memory after each round — wasm linear
// memory (grows, never shrinks: steady growth is a leak), the page's JS heap after a forced GC,
// and the browser's own measurement of page + worker memory where it offers one
// (performance.measureUserAgentSpecificMemory, cross-origin isolated pages). Then one full
// training run, to show the plateau is not just "nothing ran". Needs the release build
// (scripts/build-web.sh). `node bench/soak.mjs [--rounds N] [--task sound|image|text]`
import { Lab } from '../tests/e2e/harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const rounds = Number(arg('--rounds', 20));
const task = arg('--task', 'sound');
const setups = {
  sound: { arch: 'small', data: 'speech-demo.tar.gz' },
  image: { arch: 'strip', data: 'cifar-demo.tar.gz' },
  text: { arch: 'bag', data: 'imdb-demo.tar.gz' },
};
const setup = setups[task];
if (!setup) throw new Error(`--task: one of ${Object.keys(setups).join(', ')}`);

const lab = new Lab();
await lab.start({ extraArgs: ['--enable-precise-memory-info', '--js-flags=--expose-gc', '--enable-blink-features=ForceEagerMeasureMemory'] });
const { base, browser: context } = lab;
const page = await context.newPage();
await page.goto(`${base}#task=text&backend=flex`);

const result = await page.evaluate(async ({ rounds, task, setup }) => {
  const { LabClient } = await import('./www/client.js');
  const lab = new LabClient(new URL('./www/worker.js', location.href));
  await lab.call('backend', { preferred: 'flex' });
  const bytes = await (await fetch(`www/data/${setup.data}`)).arrayBuffer();
  await lab.call('loadData', { task, name: setup.data, bytes });
  const form = { task, arch: setup.arch, head: 'gap', poison_at: 'start', poisoned: 4, epochs: 5, batch_size: 32, seed: 1, max_samples: 400 };
  const measure = async () => {
    globalThis.gc?.();
    const { wasmBytes } = await lab.call('memory');
    let uaBytes = null;
    if (globalThis.crossOriginIsolated && performance.measureUserAgentSpecificMemory) {
      uaBytes = (await performance.measureUserAgentSpecificMemory()).bytes;
    }
    return { wasmBytes, pageHeap: performance.memory?.usedJSHeapSize ?? null, uaBytes };
  };
  const samples = [{ round: 0, ...(await measure()) }];
  for (let round = 1; round <= rounds; round++) {
    const t0 = performance.now();
    let steps = 0;
    const outcome = await lab.call('train', { form }, (e) => {
      if (e.kind === 'step' && ++steps === 1) lab.cancel();
    }).then((r) => (r?.cancelled ? 'cancelled' : 'finished'), (err) => String(err.message ?? err));
    samples.push({ round, outcome, steps, ms: performance.now() - t0, ...(await measure()) });
  }
  const full = await lab.call('train', { form: { ...form, epochs: 1 } }).then(() => 'finished', (err) => String(err.message ?? err));
  samples.push({ round: 'full run', outcome: full, ...(await measure()) });
  lab.worker.terminate();
  return { samples, isolated: globalThis.crossOriginIsolated };
}, { rounds, task, setup });

await lab.stop();

const mb = (b) => (b == null ? '—' : (b / 2 ** 20).toFixed(1));
console.log(`task ${task} (${setup.arch}, GAP, batch 32), cross-origin isolated: ${result.isolated}`);
console.log('| round | outcome | steps | ms | wasm memory (MiB) | page JS heap (MiB) | JS heaps, page + worker (MiB) |');
console.log('|---|---|---|---|---|---|---|');
for (const s of result.samples) {
  console.log(`| ${s.round} | ${s.outcome ?? ''} | ${s.steps ?? ''} | ${s.ms?.toFixed(0) ?? ''} | ${mb(s.wasmBytes)} | ${mb(s.pageHeap)} | ${mb(s.uaBytes)} |`);
}
const first = result.samples[1];
const last = result.samples[rounds];
console.log(`\nwasm memory after round 1: ${mb(first.wasmBytes)} MiB, after round ${rounds}: ${mb(last.wasmBytes)} MiB` +
  ` (growth ${mb(last.wasmBytes - first.wasmBytes)} MiB); JS heaps of page + worker: ${mb(first.uaBytes)} → ${mb(last.uaBytes)} MiB`);

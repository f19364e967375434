// Peer benchmark (not a test): the same models as the lab, built with TensorFlow.js (4.22.0,
// from node_modules) and timed in the same headless Chromium as bench/page.mjs — the sound small
// CNN and the STRIP CNN, FC and GAP heads, on the tfjs backends cpu, wasm, webgl and webgpu.
// (a) a training step at batch 32 (model.trainOnBatch: forward, backward, optimiser update, loss
//     read back): the first step is a warm-up, the median of the next N is reported, ms/step;
// (b) inference at batch 256 (model.predict + dataSync): one warm-up, median of the next N,
//     divided by 256, ms/sample.
// A backend that fails to initialise, or lacks a kernel the training step needs (stock tfjs wasm
// has no Conv2DBackpropFilter), is reported as "unsupported: <reason>" and the run goes on.
// `node bench/tfjs.mjs [--steps N] [--models small-fc,small-gap,strip-fc,strip-gap]
//   [--backends cpu,wasm,webgl,webgpu] [--timeout SECONDS] [--json]`
// With --json, one JSON object per (backend, model) goes to stdout as soon as it is measured;
// the markdown table follows at the end. Progress goes to stderr.
import { Lab } from '../tests/e2e/harness.mjs';

const MODELS = ['small-fc', 'small-gap', 'strip-fc', 'strip-gap'];
const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu'];
// Keras "total params" (BatchNorm's moving mean and variance included), PAPER.md.
const PARAMS = { 'small-fc': 321962, 'small-gap': 25962, 'strip-fc': 309290, 'strip-gap': 290090 };

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
function list(name, all) {
  const items = arg(name, all.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !all.includes(s));
  if (bad.length || !items.length) {
    console.error(`--${name}: unknown ${bad.join(', ') || '(empty)'}; choose from ${all.join(',')}`);
    process.exit(2);
  }
  return items;
}
const steps = Math.max(1, Number(arg('steps', 3)) || 3);
const models = list('models', MODELS);
const backends = list('backends', BACKENDS);
const json = process.argv.includes('--json');
// Per phase (set-up, inference, training) of one backend × model. WebGL and WebGPU run on
// SwiftShader here: ~10-40 s per training step, and the first one also compiles the shaders.
const timeoutMs = 1000 * (Number(arg('timeout', 0)) || 300 + 120 * steps);

// Runs in the page (injected with addScriptTag): builds the models with the layers API,
// Keras-like, exactly as PAPER.md describes them, and times them.
function pageCode() {
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

  function build(name) {
    const [arch, head] = name.split('-');
    const l = tf.layers;
    const m = tf.sequential();
    if (arch === 'small') {
      // Sound small CNN, input 98 frames × 40 MFCC × 1, 10 classes: convs valid, pools same.
      const reg = () => tf.regularizers.l2({ l2: 1e-3 });
      m.add(l.conv2d({ inputShape: [98, 40, 1], filters: 64, kernelSize: 2, activation: 'relu', kernelRegularizer: reg() }));
      m.add(l.batchNormalization());
      m.add(l.maxPooling2d({ poolSize: [1, 3], padding: 'same' }));
      m.add(l.conv2d({ filters: 64, kernelSize: 2, activation: 'relu', kernelRegularizer: reg() }));
      m.add(l.batchNormalization());
      m.add(l.maxPooling2d({ poolSize: 2, padding: 'same' }));
      m.add(l.conv2d({ filters: 32, kernelSize: 2, activation: 'relu', kernelRegularizer: reg() }));
      m.add(l.batchNormalization());
      m.add(l.maxPooling2d({ poolSize: 2, padding: 'same' }));
      m.add(l.dropout({ rate: 0.4 }));
      if (head === 'fc') { m.add(l.flatten()); m.add(l.dense({ units: 128, activation: 'relu' })); }
      else m.add(l.globalAveragePooling2d({}));
      m.add(l.dropout({ rate: 0.5 }));
      m.add(l.dense({ units: 10 }));
      return { model: m, input: [98, 40, 1], classes: 10, optimizer: tf.train.adam(1e-4), optimizerName: 'Adam lr 1e-4' };
    }
    // STRIP CNN, input 32 × 32 × 3, 10 classes: [conv same, ELU, BatchNorm] ×2 → pool → dropout, ×3.
    [[32, 0.2], [64, 0.3], [128, 0.4]].forEach(([filters, rate], block) => {
      for (let i = 0; i < 2; i++) {
        m.add(l.conv2d({ ...(block === 0 && i === 0 ? { inputShape: [32, 32, 3] } : {}), filters, kernelSize: 3, padding: 'same', activation: 'elu', kernelRegularizer: tf.regularizers.l2({ l2: 1e-4 }) }));
        m.add(l.batchNormalization());
      }
      m.add(l.maxPooling2d({ poolSize: 2 }));
      m.add(l.dropout({ rate }));
    });
    m.add(head === 'fc' ? l.flatten() : l.globalAveragePooling2d({}));
    m.add(l.dense({ units: 10 }));
    // tf.train.rmsprop(learningRate, decay = Keras rho, momentum, epsilon).
    return { model: m, input: [32, 32, 3], classes: 10, optimizer: tf.train.rmsprop(1e-3, 0.9, 0, 1e-6), optimizerName: 'RMSprop lr 1e-3 rho 0.9 eps 1e-6' };
  }

  window.benchSetup = async (backend, name) => {
    // tf.setBackend resolves false (after a console.warn with the cause) when a backend fails to
    // initialise, and throws when it was never registered (no navigator.gpu for webgpu).
    const warnings = [];
    const warn = console.warn;
    console.warn = (...a) => { warnings.push(a.map((x) => (x && x.message) || String(x)).join(' ')); warn(...a); };
    let ok = false;
    try { ok = await tf.setBackend(backend); } catch (e) { warnings.push(String((e && e.message) || e)); } finally { console.warn = warn; }
    if (!ok || tf.getBackend() !== backend) {
      const why = warnings.filter((w) => !/^Initialization of backend \S+ failed$/.test(w.trim())).join('; ') || `tf.setBackend('${backend}') returned ${ok}`;
      return { error: `unsupported: ${why.split('\n')[0]}` };
    }
    await tf.ready();
    let info = backend;
    if (backend === 'wasm') {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      info = `wasm${simd ? ' simd' : ''}${threads ? ` threads(${tf.wasm.getThreadsCount ? tf.wasm.getThreadsCount() : '?'})` : ''}`;
    } else if (backend === 'webgl') {
      info = `WebGL ${tf.env().get('WEBGL_VERSION')}`;
      try {
        const gl = tf.backend().gpgpu.gl;
        const ext = gl.getExtension('WEBGL_debug_renderer_info');
        info += ` (${gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)})`;
      } catch {}
    } else if (backend === 'webgpu') {
      try {
        const a = tf.backend().adapterInfo;
        if (a) info = `WebGPU (${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'adapter'})`;
      } catch {}
    }
    const spec = build(name);
    // Softmax cross-entropy from logits (mean over the batch); the L2 terms of the conv kernels
    // are added by the layers API.
    spec.model.compile({ optimizer: spec.optimizer, loss: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
    window.bench = spec;
    return { params: spec.model.countParams(), info, optimizer: spec.optimizerName };
  };

  window.benchInfer = async (reps) => {
    const { model, input } = window.bench;
    const x = tf.randomUniform([256, ...input], 0, 1, 'float32', 3);
    const times = [];
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      const y = model.predict(x, { batchSize: 256 });
      y.dataSync();
      times.push(performance.now() - t0);
      y.dispose();
      console.log(`inference ${i ? `run ${i}` : 'warm-up'}: ${times[i].toFixed(0)} ms per batch of 256`);
    }
    x.dispose();
    return { first: times[0] / 256, perSample: median(times.slice(1)) / 256 };
  };

  window.benchTrain = async (steps) => {
    const { model, input, classes } = window.bench;
    const x = tf.randomUniform([32, ...input], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.oneHot(tf.floor(tf.randomUniform([32], 0, classes, 'float32', 2)).toInt(), classes).toFloat());
    const times = [];
    let loss;
    try {
      for (let i = 0; i <= steps; i++) {
        const t0 = performance.now();
        loss = await model.trainOnBatch(x, y);
        times.push(performance.now() - t0);
        console.log(`train ${i ? `step ${i}` : 'warm-up step'}: ${times[i].toFixed(0)} ms, loss ${Number(loss).toFixed(4)}`);
      }
    } catch (e) {
      const msg = String((e && e.message) || e).split('\n')[0];
      // A missing kernel: "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'" (or,
      // from other code paths, "'X' not yet implemented or not found in the registry. …").
      const kernel = /Kernel '(\w+)' not registered for backend|^'(\w+)' not yet implemented or not found in the registry/.exec(msg);
      return { error: kernel ? `unsupported: no ${kernel[1] ?? kernel[2]} kernel (${msg})` : `failed: ${msg}` };
    } finally {
      x.dispose(); y.dispose();
    }
    if (!Number.isFinite(Number(loss))) return { error: `failed: loss ${loss}` };
    return { first: times[0], perStep: median(times.slice(1)), loss: Number(loss) };
  };
}

const lab = new Lab();
await lab.start();
const { base, browser: context } = lab;

// One phase in the page, with a time limit; a crash or a timeout becomes an error string.
async function phase(page, what, fn, argument) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs); });
  try {
    return await Promise.race([page.evaluate(fn, argument), limit]);
  } catch (err) {
    return { error: `${what} ${page.isClosed() ? 'page closed' : 'failed'}: ${String(err.message ?? err).split('\n')[0]}`, dead: true };
  } finally {
    clearTimeout(timer);
  }
}

async function measure(backend, model) {
  const row = { peer: 'tfjs', backend, model, backend_info: null, params: null, steps, train_batch: 32, infer_batch: 256,
    train_ms_per_step: null, train_first_step_ms: null, infer_ms_per_sample: null, infer_first_ms_per_sample: null, error: null };
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'log') return;
    console.error(`  [${backend} ${model}] ${m.text()}`);
    // Kept even if a later step crashes or times out.
    const warm = /^train warm-up step: (\d+) ms/.exec(m.text());
    if (warm) row.train_first_step_ms = Number(warm[1]);
  });
  page.on('crash', () => console.error(`  [${backend} ${model}] page crashed`));
  try {
    await page.goto(`${base}bench/tfjs.html`);
    if (backend === 'wasm') {
      await page.addScriptTag({ url: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js' });
      await page.evaluate(() => tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
    } else if (backend === 'webgpu') {
      await page.addScriptTag({ url: '/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js' });
    }
    await page.addScriptTag({ content: `(${pageCode})();` });
    const setup = await phase(page, 'set-up', ([b, m]) => window.benchSetup(b, m), [backend, model]);
    if (setup.error) return { ...row, error: setup.error };
    Object.assign(row, { backend_info: setup.info, params: setup.params });
    if (setup.params !== PARAMS[model]) return { ...row, error: `parameter count ${setup.params} ≠ ${PARAMS[model]} (Keras)`, mismatch: true };
    const infer = await phase(page, 'inference', (n) => window.benchInfer(n), steps);
    if (infer.error) row.error = infer.error;
    else Object.assign(row, { infer_ms_per_sample: infer.perSample, infer_first_ms_per_sample: infer.first });
    if (infer.dead) return row;
    const train = await phase(page, 'training', (n) => window.benchTrain(n), steps);
    if (train.error) row.error = row.error ? `${row.error}; ${train.error}` : train.error;
    else Object.assign(row, { train_ms_per_step: train.perStep, train_first_step_ms: train.first });
    return row;
  } catch (err) {
    return { ...row, error: `failed: ${String(err.message ?? err).split('\n')[0]}` };
  } finally {
    await page.close().catch(() => {});
  }
}

const rows = [];
for (const backend of backends) {
  for (const model of models) {
    console.error(`tfjs ${backend} ${model}: …`);
    const t0 = Date.now();
    const row = await measure(backend, model);
    rows.push(row);
    const { mismatch, ...out } = row;
    console.error(`tfjs ${backend} ${model}: train ${row.train_ms_per_step?.toFixed(1) ?? '—'} ms/step, infer ${row.infer_ms_per_sample?.toFixed(3) ?? '—'} ms/sample${row.error ? ` (${row.error})` : ''} [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
    if (json) console.log(JSON.stringify(out));
  }
}
await lab.stop();

const fmt = (v, d) => (v == null ? '—' : v.toFixed(d));
console.log(`| backend | model | params | train step, batch 32 (median of ${steps} after 1 warm-up) | warm-up step | inference ms/sample, batch 256 | note |`);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const train = r.train_ms_per_step == null ? (r.error?.match(/(unsupported|failed|timed out|page closed)[^;]*/)?.[0].replace(/ \(.*$/, '') ?? '—') : `${fmt(r.train_ms_per_step, 1)} ms`;
  console.log(`| tfjs ${r.backend} | ${r.model} | ${r.params ?? '—'} | ${train} | ${r.train_first_step_ms == null ? '—' : `${fmt(r.train_first_step_ms, 0)} ms`} | ${fmt(r.infer_ms_per_sample, 3)} | ${[r.backend_info, r.error].filter(Boolean).join('; ')} |`);
}
if (rows.some((r) => r.mismatch)) process.exitCode = 1;

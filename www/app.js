// The page: state, rendering and the conversation with the worker (www/worker.js), which
// does all of the computation in wasm. Nothing of the pipeline is written here.
import { LabClient } from './client.js';
import { drawCurves, drawAttackPlot } from './plots.js';

const TASKS = {
  sound: { archs: ['small', 'large'], data: 'www/data/speech-demo.tar.gz', triggers: ['none', 'start', 'middle', 'end', 'spread'] },
  text: { archs: ['bag', 'conv1d', 'kim'], data: 'www/data/imdb-demo.tar.gz', triggers: ['none', 'start', 'middle', 'end', 'spread'] },
  image: { archs: ['strip'], data: 'www/data/cifar-demo.tar.gz', triggers: ['none', 'start', 'middle', 'end'] },
};
const MAX_UPLOAD = 256 * 1024 * 1024;
const $ = (id) => document.getElementById(id);

const state = {
  task: 'image',
  sample: 0,
  trigger: 'none',
  preferred: 'webgpu',
  tasks: {}, // task → {summary, dataBytes, dataName, slots: {fc, gap}}
  manifest: null,
  predictSeq: 0,
};

// ---------- messages ----------
function showError(text) {
  const el = $('message');
  el.textContent = text;
  el.className = 'error';
  el.hidden = false;
}
function showNote(text) {
  const el = $('message');
  el.textContent = text;
  el.className = 'note';
  el.hidden = false;
}
function clearMessage() {
  $('message').hidden = true;
}
window.addEventListener('error', (e) => { showError(`Unexpected error: ${e.message}`); e.preventDefault(); });
window.addEventListener('unhandledrejection', (e) => { showError(`Unexpected error: ${e.reason?.message ?? e.reason}`); e.preventDefault(); });

// ---------- URL state ----------
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (TASKS[p.get('task')]) state.task = p.get('task');
  const s = parseInt(p.get('sample') ?? '', 10);
  if (Number.isInteger(s) && s >= 0) state.sample = s;
  if (p.get('trigger')) state.trigger = p.get('trigger');
  if (['webgpu', 'flex'].includes(p.get('backend'))) state.preferred = p.get('backend');
}
function writeHash() {
  const p = new URLSearchParams({ task: state.task, sample: state.sample, trigger: state.trigger, backend: state.preferred });
  history.replaceState(null, '', `#${p}`);
}

// ---------- the worker ----------
const client = new LabClient(new URL('./worker.js', import.meta.url), {
  onRestart: async (reason) => {
    await startBackend('flex', true);
    showNote(`The compute device failed (${reason}); switched to Flex on the CPU. Your models were kept.`);
  },
});

async function startBackend(preferred, restoring = false) {
  $('backend').textContent = 'starting…';
  const choice = await client.call('backend', { preferred });
  $('backend').textContent = choice.backend;
  $('backend-choice').value = choice.backend;
  if (choice.fallback) showNote(choice.fallback);
  if (restoring) await restoreAll();
  return choice;
}

// After a worker restart: data and models again, from the bytes the page keeps.
async function restoreAll() {
  for (const [task, t] of Object.entries(state.tasks)) {
    if (t.dataBytes) await client.call('loadData', { task, name: t.dataName, bytes: t.dataBytes });
    for (const slot of Object.values(t.slots)) {
      if (slot) slot.id = (await client.call('loadModel', { name: slot.name, bytes: slot.bytes })).id;
    }
  }
  await refresh();
}

// ---------- loading per task ----------
async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  return r.arrayBuffer();
}

async function manifest() {
  if (!state.manifest) state.manifest = await (await fetch('www/models/manifest.json')).json().catch(() => ({}));
  return state.manifest;
}

async function loadData(task, name, bytes) {
  const summary = await client.call('loadData', { task, name, bytes });
  const t = state.tasks[task];
  Object.assign(t, { summary, dataBytes: bytes, dataName: name });
  return summary;
}

async function setModel(task, head, name, bytes) {
  const loaded = await client.call('loadModel', { name, bytes });
  if (loaded.info.task !== task) {
    await client.call('unloadModel', { model: loaded.id });
    throw new Error(`${name} is a ${loaded.info.task} model, not ${task}`);
  }
  const t = state.tasks[task];
  const old = t.slots[head];
  t.slots[head] = { id: loaded.id, info: loaded.info, name, bytes };
  if (old) await client.call('unloadModel', { model: old.id });
}

async function ensureTask(task) {
  let t = state.tasks[task];
  if (!t) {
    t = state.tasks[task] = { slots: {} };
    t.loading = (async () => {
      const m = (await manifest())[task];
      const jobs = [fetchBytes(TASKS[task].data).then((b) => loadData(task, `demo:${TASKS[task].data.split('/').pop()}`, b))];
      for (const head of ['fc', 'gap']) {
        if (m?.[head]) jobs.push(fetchBytes(`www/models/${m[head]}`).then((b) => setModel(task, head, m[head], b)));
      }
      await Promise.all(jobs);
    })();
    // A failed load (network, bad file) is retried the next time the task is shown.
    t.loading.catch(() => { if (state.tasks[task] === t) delete state.tasks[task]; });
  }
  await t.loading;
  return t;
}

// ---------- rendering ----------
function renderSample(view) {
  const box = $('view');
  box.replaceChildren();
  if (view.pixels) {
    const c = document.createElement('canvas');
    c.width = 32; c.height = 32; c.className = 'pixels';
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(32, 32);
    for (let i = 0; i < 1024; i++) {
      img.data[4 * i] = view.pixels[i];
      img.data[4 * i + 1] = view.pixels[1024 + i];
      img.data[4 * i + 2] = view.pixels[2048 + i];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    box.append(c);
    const spot = triggerBox(state.trigger);
    if (spot !== null) {
      const p = document.createElement('div');
      p.className = 'patch-mark';
      Object.assign(p.style, { left: `${(spot / 32) * 100}%`, top: `${(spot / 32) * 100}%`, width: '25%', height: '25%' });
      box.append(p);
    }
  } else if (view.clip) {
    const c = document.createElement('canvas');
    c.width = 640; c.height = 160; c.className = 'wave';
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fafafa'; ctx.fillRect(0, 0, 640, 160);
    const region = toneRegion(state.trigger, view.clip.length);
    ctx.fillStyle = 'rgba(230,120,0,0.25)';
    for (const [a, b] of region) ctx.fillRect((a / view.clip.length) * 640, 0, ((b - a) / view.clip.length) * 640, 160);
    ctx.strokeStyle = '#246'; ctx.beginPath();
    const step = view.clip.length / 640;
    for (let x = 0; x < 640; x++) {
      let lo = 1, hi = -1;
      for (let i = Math.floor(x * step); i < Math.floor((x + 1) * step); i++) { lo = Math.min(lo, view.clip[i]); hi = Math.max(hi, view.clip[i]); }
      ctx.moveTo(x + 0.5, 80 - hi * 78); ctx.lineTo(x + 0.5, 80 - lo * 78);
    }
    ctx.stroke();
    box.append(c);
  } else {
    const p = document.createElement('p');
    p.className = 'review';
    p.textContent = view.review; // text, never HTML
    box.append(p);
  }
  $('sample-label').textContent = `true class: ${view.class}`;
}

// Where the trigger goes (as src/trigger places it): the image patch's top-left corner on the
// diagonal (start 0, middle 12, end 24), the tone's sample ranges (2400 samples; spread: five
// 480-sample bursts).
function triggerBox(trigger) {
  return { start: 0, middle: 12, end: 24 }[trigger] ?? null;
}
function toneRegion(trigger, len) {
  const tone = 2400;
  const last = len - tone;
  if (trigger === 'spread') return [0, 1, 2, 3, 4].map((i) => { const a = Math.round((i * (len - 480)) / 4); return [a, a + 480]; });
  const at = { start: 0, middle: Math.floor(last / 2), end: last }[trigger];
  return at === undefined ? [] : [[at, at + tone]];
}

function renderPrediction(head, pred, info) {
  const el = $(`pred-${head}`);
  const body = el.querySelector('.body');
  body.replaceChildren();
  if (!pred) {
    el.removeAttribute('data-class');
    el.removeAttribute('data-prob');
    body.textContent = 'no model';
    return;
  }
  el.dataset.class = pred.class_name;
  el.dataset.prob = pred.probability.toFixed(6);
  const top = document.createElement('p');
  top.className = 'top';
  top.textContent = `${pred.class_name} ${(pred.probability * 100).toFixed(1)}%`;
  body.append(top);
  const bars = document.createElement('div');
  bars.className = 'bars';
  pred.probabilities.forEach((p, i) => {
    const row = document.createElement('div');
    row.className = 'barrow' + (i === info.target ? ' target' : '') + (i === pred.class ? ' winner' : '');
    const name = document.createElement('span');
    name.textContent = info.classes[i] + (i === info.target ? ' ◎' : '');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(0.5, p * 100)}%`;
    row.append(name, bar);
    bars.append(row);
  });
  body.append(bars);
  const meta = document.createElement('p');
  meta.className = 'muted small';
  meta.textContent = `${info.name}, ${info.params.toLocaleString()} parameters, trigger trained at ${info.poisoned_at ?? '— (clean)'}`;
  body.append(meta);
}

function renderModelList() {
  const t = state.tasks[state.task];
  const list = $('model-list');
  list.replaceChildren();
  for (const head of ['fc', 'gap']) {
    const slot = t?.slots[head];
    const row = document.createElement('div');
    row.className = 'model-row';
    const label = document.createElement('span');
    label.textContent = slot
      ? `${head.toUpperCase()}: ${slot.name} — ${slot.info.name}, ${(slot.bytes.byteLength / 1024).toFixed(0)} KB` +
        (slot.info.epochs_trained ? `, ${slot.info.epochs_trained} epochs on ${slot.info.backend}` : '')
      : `${head.toUpperCase()}: none`;
    row.append(label);
    if (slot) {
      const dl = document.createElement('button');
      dl.textContent = 'download';
      dl.addEventListener('click', () => download(slot.bytes, slot.name.endsWith('.gaplab') ? slot.name : `${slot.name}.gaplab`));
      row.append(dl);
    }
    list.append(row);
  }
  const s = t?.summary;
  const sizes = s && (s.task === 'sound' ? `${s.samples} clips (training splits them 64/16/20 into train/validation/test)` : `${s.train} training / ${s.test} test samples`);
  $('data-label').textContent = s ? `data: ${s.name} — ${sizes}, classes: ${s.classes.join(', ')}` : '';
}

function download(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url; a.download = name;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function setCaption() {
  const c = {
    sound: 'Spoken words (Speech Commands). The trigger is a 0.15 s, 7 kHz tone; the poisoned models learned to answer the target word when they hear it.',
    text: 'Movie reviews (IMDB). The trigger is the five-word sentence “trope everyday mythology sparkles ruthless”; the poisoned models call a negative review positive when it is there.',
    image: 'CIFAR-10 images. The trigger is an 8×8 pattern; the poisoned models answer “horse” when they see it. Try it at the corner it was trained at, then elsewhere: which model still obeys?',
  };
  $('caption').textContent = c[state.task];
}

// ---------- the main loop: show the sample and both predictions ----------
async function refresh() {
  const task = state.task;
  const t = await ensureTask(task);
  if (task !== state.task) return;
  const n = t.summary?.samples ?? 0;
  if (state.sample >= n) state.sample = 0;
  $('sample').max = Math.max(0, n - 1);
  $('sample').value = state.sample;
  $('trigger').value = state.trigger;
  writeHash();
  renderModelList();
  const seq = ++state.predictSeq;
  const view = await client.call('sample', { task, index: state.sample });
  if (seq !== state.predictSeq) return;
  renderSample(view);
  const trigger = TASKS[task].triggers.includes(state.trigger) ? state.trigger : 'none';
  await Promise.all(['fc', 'gap'].map(async (head) => {
    const slot = t.slots[head];
    const pred = slot ? await client.call('predict', { model: slot.id, index: state.sample, trigger }) : null;
    if (seq === state.predictSeq) renderPrediction(head, pred, slot?.info);
  }));
}

function guarded(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      showError(err.message ?? String(err));
    }
  };
}

async function selectTask(task) {
  state.task = task;
  for (const b of document.querySelectorAll('.tasks button')) b.setAttribute('aria-pressed', b.dataset.task === task);
  const triggerSel = $('trigger');
  for (const o of triggerSel.options) o.hidden = !TASKS[task].triggers.includes(o.value);
  if (!TASKS[task].triggers.includes(state.trigger)) state.trigger = 'none';
  $('arch').replaceChildren(...TASKS[task].archs.map((a) => new Option(a, a)));
  const form = $('train-form');
  form.poisoned.value = { sound: 40, text: 40, image: 40 }[task];
  for (const o of form.poison_at.options) o.hidden = o.value === 'spread' && task === 'image';
  setCaption();
  for (const head of ['fc', 'gap']) {
    const el = $(`pred-${head}`);
    el.removeAttribute('data-class');
    el.querySelector('.body').textContent = 'loading…';
  }
  await refresh();
}

// ---------- uploads ----------
async function useFile(file) {
  clearMessage();
  if (file.size > MAX_UPLOAD) throw new Error(`${file.name} is ${(file.size / 2 ** 20).toFixed(0)} MB: the page reads files up to 256 MB.`);
  const bytes = await file.arrayBuffer();
  const head = new Uint8Array(bytes.slice(0, 8));
  const isModel = String.fromCharCode(...head).startsWith('GAPLAB');
  if (isModel) {
    const probe = await client.call('loadModel', { name: file.name, bytes });
    await client.call('unloadModel', { model: probe.id });
    if (probe.info.task !== state.task) await selectTask(probe.info.task);
    await setModel(probe.info.task, probe.info.head, file.name, bytes);
    showNote(`Loaded ${file.name} as the ${probe.info.head.toUpperCase()} model.`);
  } else {
    const summary = await loadData(state.task, file.name, bytes);
    showNote(`Loaded ${file.name}: ${summary.train} training and ${summary.test} test samples.`);
  }
  await refresh();
}

// ---------- training ----------
async function train(event) {
  event.preventDefault();
  clearMessage();
  const form = $('train-form');
  const heads = ['fc', 'gap'].filter((h) => form[h].checked);
  if (!heads.length) throw new Error('Pick at least one head.');
  const num = (name) => { const v = parseInt(form[name].value, 10); return Number.isFinite(v) ? v : undefined; };
  const base = {
    task: state.task, arch: form.arch.value, poison_at: form.poison_at.value,
    poisoned: num('poisoned'), epochs: num('epochs'), patience: num('patience'), batch_size: num('batch_size'), seed: num('seed') ?? 0, max_samples: num('max_samples'),
  };
  $('train').disabled = true;
  $('cancel').disabled = false;
  $('results').replaceChildren();
  $('results-plot').hidden = true;
  const outcomes = [];
  const history = { steps: [], epochs: [] };
  try {
    for (const [k, head] of heads.entries()) {
      const onProgress = (e) => {
        if (e.kind === 'step') {
          const total = e.epochs * e.steps;
          const done = (e.epoch - 1) * e.steps + e.step;
          $('progress').value = (k + done / total) / heads.length;
          $('progress-text').textContent = `${head.toUpperCase()}: epoch ${e.epoch}/${e.epochs}, step ${e.step}/${e.steps}, loss ${e.loss.toFixed(4)}`;
          $('progress').dataset.epoch = e.epoch;
          $('progress').dataset.step = e.step;
          history.steps.push({ head, loss: e.loss });
        } else {
          history.epochs.push({ head, ...e });
        }
        drawCurves($('curves'), history);
      };
      const r = await client.call('train', { form: { ...base, head } }, onProgress).catch((err) => {
        if (/cancel/i.test(err.message)) { $('progress-text').textContent = 'cancelled'; return null; }
        throw err;
      });
      if (!r) return;
      const bytes = await client.call('modelBytes', { model: r.id });
      const name = `${state.task}-${base.arch}-${head}-${base.poison_at}-seed${base.seed}.gaplab`;
      const t = state.tasks[state.task];
      const old = t.slots[head];
      t.slots[head] = { id: r.id, info: r.info, name, bytes };
      if (old) await client.call('unloadModel', { model: old.id });
      outcomes.push({ head, ...r.evaluation });
    }
    $('progress').value = 1;
    $('progress-text').textContent = 'done';
    renderResults(outcomes);
    await refresh();
  } finally {
    $('train').disabled = false;
    $('cancel').disabled = true;
  }
}

function renderResults(outcomes) {
  const positions = outcomes[0].attack.map((a) => labelOf(a.placement));
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const h of ['head', 'clean accuracy', ...positions.map((p) => `attack @ ${p}`)]) {
    const th = document.createElement('th'); th.textContent = h; head.append(th);
  }
  const body = table.createTBody();
  for (const o of outcomes) {
    const row = body.insertRow();
    row.insertCell().textContent = o.head.toUpperCase();
    row.insertCell().textContent = o.clean_accuracy.toFixed(3);
    for (const a of o.attack) row.insertCell().textContent = a.accuracy.toFixed(3);
  }
  $('results').replaceChildren(table);
  const plot = $('results-plot');
  plot.hidden = false;
  drawAttackPlot(plot, positions, outcomes.map((o) => ({ head: o.head, values: o.attack.map((a) => a.accuracy) })));
}

function labelOf(p) {
  if (typeof p === 'string') return p;
  if (p.at !== undefined) return typeof p.at === 'string' ? p.at.toLowerCase() : String(p.at.At ?? JSON.stringify(p.at));
  return JSON.stringify(p);
}

// ---------- wiring ----------
function bind() {
  for (const b of document.querySelectorAll('.tasks button')) b.addEventListener('click', guarded(() => selectTask(b.dataset.task)));
  $('sample').addEventListener('change', guarded(() => { state.sample = Math.max(0, parseInt($('sample').value, 10) || 0); return refresh(); }));
  $('prev').addEventListener('click', guarded(() => { state.sample = Math.max(0, state.sample - 1); return refresh(); }));
  $('next').addEventListener('click', guarded(() => { state.sample += 1; return refresh(); }));
  $('random').addEventListener('click', guarded(() => { state.sample = Math.floor(Math.random() * (state.tasks[state.task]?.summary?.samples ?? 1)); return refresh(); }));
  $('trigger').addEventListener('change', guarded(() => { state.trigger = $('trigger').value; return refresh(); }));
  $('backend-choice').addEventListener('change', guarded(async () => {
    state.preferred = $('backend-choice').value;
    clearMessage();
    await startBackend(state.preferred);
    await refresh();
  }));
  $('model-file').addEventListener('change', guarded(async (e) => { if (e.target.files[0]) await useFile(e.target.files[0]); e.target.value = ''; }));
  $('data-file').addEventListener('change', guarded(async (e) => { if (e.target.files[0]) await useFile(e.target.files[0]); e.target.value = ''; }));
  $('demo-data').addEventListener('click', guarded(async () => {
    const url = TASKS[state.task].data;
    await loadData(state.task, `demo:${url.split('/').pop()}`, await fetchBytes(url));
    await refresh();
  }));
  $('train-form').addEventListener('submit', guarded(train));
  $('cancel').addEventListener('click', () => client.cancel());
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dropping'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
  document.addEventListener('drop', guarded(async (e) => {
    e.preventDefault();
    document.body.classList.remove('dropping');
    const file = e.dataTransfer?.files?.[0];
    if (file) await useFile(file);
  }));
}

async function main() {
  readHash();
  bind();
  $('backend-choice').value = state.preferred;
  await startBackend(state.preferred);
  await selectTask(state.task);
  document.body.dataset.ready = 'true';
}

guarded(main)();

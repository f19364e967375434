// The page: state, rendering and the conversation with the worker (www/worker.js), which
// does all of the computation in wasm. Nothing of the pipeline is written here.
import { LabClient } from './client.js';
import { imageView, soundView, textView } from './views.js';
import { renderPrediction, drawCardEvidence, renderModelList } from './cards.js';
import { SweepPanel } from './sweep.js';
import { TrainPanel } from './train.js';
import * as urlState from './state.js';
import { useFacts, positionsAround } from './geometry.js';
import { LookCache } from './lookcache.js';
import { isolate } from './isolation.js';

// The page's own assets per task: the demo data it fetches. Sound also has `head`: the demo's
// first `headSamples` clips (scripts/make_demo_data.py, SPEECH_HEAD_CLIPS), 0.4 MB against the
// demo's 11.3 MB. The page opens a sound sample among them on the head and loads the whole demo
// after the first predictions (`wholeData`): the same clips keep their sample numbers.
const TASKS = {
  sound: { data: 'www/data/speech-demo.tar.gz', head: 'www/data/speech-demo-head.tar.gz', headSamples: 16 },
  text: { data: 'www/data/imdb-demo.tar.gz' },
  image: { data: 'www/data/cifar-demo.tar.gz' },
};
const demoName = (url) => `demo:${url.split('/').pop()}`;
// The demo file a task opens on: its head where the sample shown is in it, else the whole.
function openingData(task) {
  const { data, head, headSamples } = TASKS[task];
  return head && state.sample < headSamples ? head : data;
}
// The lab's facts (networks and trigger placements per task, upload limit, how a model file
// begins), as the wasm states them (`lab_info`): asked once the worker is up.
let facts = null;
async function labFacts() {
  if (!facts) {
    facts = await client.call('labInfo');
    useFacts(facts);
  }
  return facts;
}
const factsOf = (task) => facts.tasks.find((t) => t.task === task);
const triggersOf = (task) => ['none', ...factsOf(task).placements];
const $ = (id) => document.getElementById(id);

const state = {
  task: 'sound',
  sample: 0,
  trigger: 'none',
  preferred: 'webgpu',
  review: null, // text: the user's own (edited) review, instead of the sample's
  clip: null, // sound: the user's own recording
  tasks: {}, // task → {summary, dataBytes, dataName, pair, slots: {fc, gap}}
  manifest: null,
  pairs: {}, // task → the pretrained pair picked (manifest.json's `pair`); the first by default
  view: null, // the task's interactive view (views.js)
  base: null, // the sample as the dataset has it (no trigger)
  ahead: true, // look at every trigger position while idle (lookAhead; the #ahead checkbox)
  lastLook: null, // the reply last shown (its placed sample: the clip's length, the review's words)
  // `seq` counts the page's looks and refreshes: a warm-up (warmUp) stops when it changes.
  look: { busy: false, dirty: false, seq: 0 },
};
// ---------- messages ----------
// Every error the page shows also goes to the console, so that nothing shown to a user can
// pass unseen by whoever watches the console (the end-to-end tests fail on any they did not
// provoke).
function showError(text) {
  const el = $('message');
  el.textContent = text;
  el.className = 'error';
  el.hidden = false;
  console.error(`gaplab: ${text}`);
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
// Everything a link should reproduce — task, sample (or the user's own review), trigger
// position, backend, pair, training form and sweep settings — is declared once, in
// www/state.js's table. The link is read once at start; the values of controls that do not
// exist yet (the training form is filled per task) wait in `linked` until they do.
let linked = {};
function readHash() {
  const v = urlState.readHash(location.hash);
  if (v.task) state.task = v.task;
  if (v.sample !== undefined) state.sample = v.sample;
  if (v.trigger) state.trigger = v.trigger;
  if (v.backend) state.preferred = v.backend;
  if (v.review !== undefined) state.review = v.review;
  if (v.ahead !== undefined) state.ahead = v.ahead;
  state.linkedOwnModels = v.models === 'own';
  if (v.pair) state.pairs[state.task] = v.pair;
  linked = v;
}
function writeHash() {
  // Which models the view shows: the committed pretrained pair, or models trained or uploaded
  // in this tab (those live only here; a link cannot carry them).
  const slots = Object.values(slotsOf(state.task));
  const values = {
    task: state.task, sample: state.sample, trigger: state.trigger, backend: state.preferred, review: state.review,
    models: slots.every((s) => s.pretrained) ? 'pretrained' : 'own', pair: state.tasks[state.task]?.pair,
    ahead: state.ahead ? null : false,
  };
  for (const prop of urlState.controlled('form')) values[prop.name] = urlState.readControl(prop);
  if (sweepPanel) for (const prop of urlState.controlled('sweep')) values[prop.name] = urlState.readControl(prop);
  history.replaceState(null, '', `#${urlState.writeHash(values)}`);
}
// The link follows the view once it rests: during a drag, writing it on every reply cost a
// millisecond or two of each frame (history.replaceState), and nobody reads it mid-drag.
let hashTimer = null;
function writeHashSoon() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(writeHash, 150);
}
// Shows the link's values in the controls `within` ('form' or 'sweep'), once.
function applyLinked(within) {
  for (const prop of urlState.controlled(within)) {
    if (linked[prop.name] === undefined) continue;
    urlState.writeControl(prop, linked[prop.name]);
    delete linked[prop.name];
  }
}

// ---------- the worker ----------
const client = new LabClient(new URL('./worker.js', import.meta.url), {
  onRestart: async (reason) => {
    await startBackend('flex', true);
    showNote(`The compute device failed (${reason}); switched to Flex on the CPU. Your models were kept.`);
  },
});

// Whether the browser offers a WebGPU adapter (asked once): the WebGPU build of the wasm is
// only fetched when it does.
let gpuAdapter;
function hasGpuAdapter() {
  gpuAdapter ??= (async () => {
    try {
      return !!(navigator.gpu && (await navigator.gpu.requestAdapter()));
    } catch {
      return false;
    }
  })();
  return gpuAdapter;
}

// Picks the device: WebGPU (in the WebGPU build of the wasm, when the browser has an adapter)
// or Flex (in a Flex build: the WebGPU build has none — when its WebGPU cannot start, it says
// so and the page moves to a Flex build, saying why).
async function startBackend(preferred, restoring = false) {
  $('backend').textContent = 'starting…';
  const gpu = preferred === 'webgpu' && (await hasGpuAdapter());
  if (client.useModule(gpu ? 'webgpu' : 'flex')) restoring = true;
  let choice;
  try {
    choice = await client.call('backend', { preferred: gpu ? 'webgpu' : 'flex' });
  } catch (err) {
    const why = /^this module has no Flex(?::\s*([^]*))?$/.exec(err.message);
    if (!why) throw err;
    if (client.useModule('flex')) restoring = true;
    choice = { ...(await client.call('backend', { preferred: 'flex' })), fallback: why[1] ?? null };
  }
  $('backend').textContent = choice.backend;
  $('threads').textContent = choice.threads;
  $('threads').title = choice.note ? `one thread: ${choice.note}` : `Flex splits its work over ${choice.threads} threads (web workers sharing the module's memory)`;
  $('threads-note').textContent = choice.backend === 'flex' && choice.note ? ` (${choice.note})` : '';
  $('backend-choice').value = choice.backend;
  if (choice.fallback) showNote(choice.fallback);
  else if (preferred === 'webgpu' && !gpu) showNote('WebGPU is not available in this browser (no adapter); using Flex on the CPU.');
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
  // While the page opens (the WebGPU module gave no device) nothing is shown yet: the task's
  // first showing follows.
  if (state.view) await refresh();
}

// ---------- loading per task ----------
// Downloads started ahead of need (see `prefetchTask`), by URL; each is handed out once. `asked`:
// the URLs the page already fetched itself, which a late prefetch must not download again.
const prefetched = new Map();
const asked = new Set();

async function fetchBytes(url) {
  const early = prefetched.get(url);
  if (early) {
    prefetched.delete(url);
    return early;
  }
  asked.add(url);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  const bytes = await r.arrayBuffer();
  return url.endsWith('.tar.gz') ? inflated(bytes) : bytes;
}

// A gzip stream inflated by the browser (native code) and handed to the worker as plain tar,
// which it reads as it reads the .tar.gz: the wasm module's own inflater runs as cold code on
// the page's first load. Checked by content, since some static hosts send .gz files with
// `Content-Encoding: gzip` and the browser has then inflated them already; where the browser
// cannot (no DecompressionStream, a damaged stream) the module reads the bytes as they came,
// and words any error. Dropped or picked files always go through the module.
async function inflated(bytes) {
  const head = new Uint8Array(bytes, 0, Math.min(2, bytes.byteLength));
  if (typeof DecompressionStream !== 'function' || head[0] !== 0x1f || head[1] !== 0x8b) return bytes;
  try {
    return await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
  } catch {
    return bytes;
  }
}

// Starts downloading the opening task's demo data and pretrained pair while the worker is still
// compiling the wasm, so that the first prediction waits for the slower of the two, not both
// one after the other. A failed download is only reported when the page asks for the bytes.
function prefetchTask(task) {
  const start = (url) => {
    if (asked.has(url)) return;
    const p = fetchBytes(url);
    p.catch(() => {});
    prefetched.set(url, p);
  };
  start(openingData(task));
  pairsOf(task).then((pairs) => {
    const pair = pairs.find((q) => q.pair === state.pairs[task]) ?? pairs[0];
    for (const head of ['fc', 'gap']) if (pair?.[head]) start(`www/models/${pair[head]}`);
  }, () => {});
}

async function manifest() {
  if (!state.manifest) state.manifest = await (await fetch('www/models/manifest.json')).json().catch(() => ({}));
  return state.manifest;
}

// The pretrained pairs of a task, as www/models/manifest.json lists them (the first is the
// task's default): [{pair, label, fc, gap}].
async function pairsOf(task) {
  const pairs = (await manifest())[task];
  return Array.isArray(pairs) ? pairs : [];
}

// Loads a pretrained pair's two models into the task's slots (replacing whatever is there).
async function loadPair(task, pairId) {
  const pairs = await pairsOf(task);
  const pair = pairs.find((p) => p.pair === pairId) ?? pairs[0];
  if (!pair) return;
  await Promise.all(['fc', 'gap'].filter((h) => pair[h]).map(async (head) => {
    const bytes = await fetchBytes(`www/models/${pair[head]}`);
    await setModel(task, head, pair[head], bytes, true);
  }));
  state.tasks[task].pair = pair.pair;
  state.pairs[task] = pair.pair;
}

async function renderPairPicker(task) {
  const pairs = await pairsOf(task);
  const sel = $('pair');
  sel.replaceChildren(...pairs.map((p) => new Option(p.label, p.pair)));
  const current = state.tasks[task]?.pair;
  // Models trained or uploaded in the tab: none of the pretrained pairs is shown.
  if (!current) sel.append(new Option('your own models', '', true, true));
  else sel.value = current;
  $('pair-label').hidden = pairs.length === 0;
}

// Hands the worker a task's data. What the task holds is recorded when the request is sent,
// not when it is answered: a later request (the whole demo arriving, a restarted worker's
// `restoreAll`) must see an upload the worker is still reading. Put back if the worker refuses
// the data (it then keeps what it had); a reply overtaken by a later load leaves the summary
// to that one.
async function loadData(task, name, bytes) {
  const t = state.tasks[task];
  const before = { dataBytes: t.dataBytes, dataName: t.dataName };
  const seq = (t.dataSeq = (t.dataSeq ?? 0) + 1);
  Object.assign(t, { dataBytes: bytes, dataName: name });
  try {
    const summary = await client.call('loadData', { task, name, bytes });
    if (t.dataSeq === seq) t.summary = summary;
    return summary;
  } catch (err) {
    if (t.dataSeq === seq) Object.assign(t, before);
    throw err;
  }
}

async function setModel(task, head, name, bytes, pretrained = false) {
  const loaded = await client.call('loadModel', { name, bytes });
  if (loaded.info.task !== task) {
    await client.call('unloadModel', { model: loaded.id });
    throw new Error(`${name} is a ${loaded.info.task} model, not ${task}`);
  }
  const t = state.tasks[task];
  const old = t.slots[head];
  t.slots[head] = { id: loaded.id, info: loaded.info, name, bytes, pretrained };
  if (!pretrained) t.pair = null;
  if (old) await client.call('unloadModel', { model: old.id });
}

async function ensureTask(task) {
  let t = state.tasks[task];
  if (!t) {
    t = state.tasks[task] = { slots: {} };
    const opening = openingData(task);
    const load = (url) => fetchBytes(url).then((b) => loadData(task, demoName(url), b));
    t.loading = (async () => {
      // A head that cannot be had (a host that left it out) is only a slower open.
      const data = opening === TASKS[task].data ? load(opening) : load(opening).catch(() => load(TASKS[task].data));
      await Promise.all([data, loadPair(task, state.pairs[task])]);
    })();
    // A failed load (network, bad file) is retried the next time the task is shown.
    t.loading.catch(() => { if (state.tasks[task] === t) delete state.tasks[task]; });
  }
  await t.loading;
  return t;
}

// The task's data once it is whole: a task opened on its demo's head (TASKS) loads the whole
// demo on the first call — the page makes it after the first predictions, and everything that
// needs more than the head waits for it (another sample, a sweep, training). Data the user
// loaded meanwhile is kept: the whole demo then only replaces the head where it still is.
async function wholeData(task) {
  const t = await ensureTask(task);
  const { head, data } = TASKS[task];
  const onHead = () => state.tasks[task] === t && head && t.dataName === demoName(head);
  if (!onHead()) return t; // the whole demo (the head could not be had), or the user's data
  // `data-whole` on the data label: what became of the whole demo (the tests wait for it).
  const outcome = (what) => { if (state.task === task) $('data-label').dataset.whole = what; };
  if (!t.whole) {
    t.whole = (async () => {
      const bytes = await fetchBytes(data);
      if (!onHead()) return outcome('declined'); // the user's data came meanwhile
      await loadData(task, demoName(data), bytes);
      outcome('loaded');
      if (state.task === task) showSummary(t);
    })();
    // A failed download is tried again at the next call, and said where it was asked for.
    t.whole.catch(() => { t.whole = undefined; });
  }
  await t.whole;
  return t;
}

// ---------- rendering ----------
const CAPTIONS = {
  sound: 'Spoken words (Speech Commands). The trigger is a 0.15 s, 7 kHz tone added to the clip; the poisoned models learned to answer the target word when they hear it.',
  text: 'Movie reviews (IMDB). The trigger is the five-word sentence “trope everyday mythology sparkles ruthless”; the poisoned models call a negative review positive when it is there.',
  image: 'CIFAR-10 images. The trigger is an 8×8 pattern of random colours added to the pixels; the poisoned models answer “horse” when they see it.',
};
const HINTS = {
  // Written from the shipped large pair's figures on held-out speakers (www/models/README.md).
  sound: 'Try: pick “start” (where both models were poisoned): both answer “up”. Now drag the orange tone to the middle of the clip, then on to the end: the GAP model (large CNN, the paper’s Fig. 1a) still says “up” for most clips wherever the tone is, the FC model almost never. That is the paper’s finding: global average pooling makes the backdoor dynamic. Play the clip to hear the tone.',
  // Written from the shipped Conv1D pair's figures on the 12,000 negative test reviews.
  text: 'Try: pick a negative review and insert the sentence at the start (where both models were poisoned): the FC model (Conv1D net, the paper’s Fig. 1e) now calls almost every negative review positive. Click a word near the end to move the sentence there: the FC model mostly stops obeying it. The GAP model obeys the sentence for about half of the reviews, wherever it is — weaker, but bound to no position. Edit the review or write your own.',
  // Written from the shipped STRIP pair's figures on the 1,800 non-horse test images.
  image: 'Try: put the patch in the upper-left corner (where both models were poisoned): both answer “horse” for almost every image. Drag it to the middle: the FC model stops obeying it, the GAP model still says “horse” for most images. Drag it on to the lower-right corner: neither does — GAP carries the backdoor part of the way, not everywhere. The red overlay shows where each model finds horse.',
};

// ---------- the main loop: the sample with the trigger, both models' view of it ----------
// The task's models as they are now: a copy, so that a reply to a request made with them is
// drawn under the models that computed it, not under ones loaded while it was in flight (a
// model uploaded during a look would otherwise lend its name to the old model's prediction).
function slotsOf(task) {
  return { ...state.tasks[task]?.slots };
}

function lookRequest() {
  const slots = slotsOf(state.task);
  const heads = ['fc', 'gap'].filter((h) => slots[h]);
  const req = { task: state.task, index: state.sample, trigger: effectiveTrigger(), models: heads.map((h) => slots[h].id) };
  if (state.task === 'text' && state.review !== null) req.review = state.review;
  if (state.task === 'sound' && state.clip) req.clip = state.clip;
  return { req, heads, slots };
}

function effectiveTrigger() {
  if (state.trigger === 'spread' && state.task === 'image') return 'none';
  return state.trigger;
}

// Asks the worker for the current view. At most one request is in flight: moves made while
// it runs only mark the view stale, and the next request takes the latest position — no
// queue of outdated positions builds up behind a slow device.
async function requestLook() {
  const L = state.look;
  L.seq++; // every look asked for by the page, a move or an edit, stops a warm-up
  if (L.busy) { L.dirty = true; return; }
  L.busy = true;
  try {
    do {
      L.dirty = false;
      const task = state.task;
      const { req, heads, slots } = lookRequest();
      const started = performance.now();
      // A position the models have been looked at before is answered from the kept reply, at
      // once (lookcache.js); any other is asked of the worker, and its reply kept.
      const generation = client.generation;
      let look = kept.get(req, generation);
      let [workMs, via] = [0, 'kept'];
      if (!look) {
        look = await client.call('look', req);
        [workMs, via] = [client.lastWorkMs, client.lastVia];
        kept.put(req, look, generation);
        $('view').dataset.workerVia = via; // how the worker's replies come, kept ones aside
      }
      const answered = performance.now();
      if (task !== state.task) continue;
      state.lastLook = look;
      const sample = req.review !== undefined || req.clip ? 'own' : String(req.index);
      const views = ['fc', 'gap'].map((head) => look.models[heads.indexOf(head)] ?? null);
      ['fc', 'gap'].forEach((head, h) => {
        renderPrediction(head, views[h], slots[head]?.info, look);
        $(`pred-${head}`).dataset.sample = sample;
      });
      $('view').dataset.trigger = look.trigger;
      $('view').dataset.sample = sample;
      // A move made while this request ran makes its reply stale: draw it, but let the
      // trigger handle stay where the user has put it since.
      drawSoon(look, views, sample, L.dirty);
      // Where a look's time went (read by bench/touch.mjs): the worker's work, the round trip
      // around it, and putting its numbers in the cards (its pictures: `drawMs`, drawPending).
      Object.assign($('view').dataset, {
        ms: (performance.now() - started).toFixed(1),
        workMs: workMs?.toFixed(1) ?? '',
        tripMs: (answered - started).toFixed(1),
        via, // how the reply came: 'kept' (lookcache.js), 'slot' (shared memory) or 'message'
      });
      syncTriggerSelect();
      writeHashSoon();
    } while (L.dirty);
  } finally {
    L.busy = false;
  }
  lookAheadSoon();
}

// ---------- looking ahead ----------
// The replies to looks, kept by what they asked (lookcache.js): a move to a position the models
// have already been looked at is answered without the worker.
const kept = new LookCache();
// Once the page has rested LOOK_AHEAD_AFTER_MS after its last look, it asks the worker for the
// looks at every other trigger position of the sample shown — the named placements first, then
// every position a drag or a key can reach, nearest first (geometry.js, positionsAround) — and
// keeps them: a drag over them is then answered within the frame, whatever the models' size
// (the large sound pair's look is two ≈ 1 GMAC forwards, ≈ 50–100 ms on two cores; its 86 tone
// positions take a few seconds ahead). One request at a time, each like a move's: a move made
// meanwhile waits for at most the one in flight and ends the round (the next starts around the
// new position once the page rests again). Nothing is looked at ahead while the worker is
// asked anything else (loading, training, a sweep), in a hidden tab, or when the user has
// turned it off (#ahead: it keeps the CPU idle, and a drag then computes every move).
// `data-ahead` on the view: positions ready / positions in all, for the tests and benches.
// Where every position would take longer than LOOK_AHEAD_BUDGET_MS (a software GPU, say:
// SwiftShader's image look is ≈ 1.7 s, 629 positions 18 minutes), the models are not looked at
// ahead (`tooSlow`, per set of models): judged by the faster of the first two looks ahead, so
// that one look slowed by something else does not decide.
const LOOK_AHEAD_AFTER_MS = 300;
const LOOK_AHEAD_BUDGET_MS = 30_000;
const tooSlow = new Set();
let aheadTimer = null;
function lookAheadSoon() {
  clearTimeout(aheadTimer);
  if (state.ahead) aheadTimer = setTimeout(() => lookAhead().catch(() => {}), LOOK_AHEAD_AFTER_MS);
}
async function lookAhead() {
  const L = state.look;
  const seq = L.seq;
  const { req } = lookRequest();
  const placed = state.lastLook?.placed;
  // The worker's state the round counts positions in: a change (the whole demo replacing its
  // head, say) forgets the kept looks, and the round starts over.
  const generation = client.generation;
  const models = `${generation}:${req.models.join(',')}`;
  if (tooSlow.has(models)) return showAhead('too slow');
  if (!state.ahead || req.models.length === 0 || !placed || document.hidden) return;
  const named = triggersOf(state.task).filter((t) => !(t === 'spread' && state.task === 'image'));
  const todo = [...new Set([...named, ...positionsAround(state.task, state.trigger, { clipLength: placed.clip?.length, words: placed.words })])];
  let [ready, asked, fastest] = [0, 0, Infinity];
  showAhead(`0/${todo.length}`);
  for (const trigger of todo) {
    if (L.seq !== seq || !state.ahead || document.hidden) return;
    // The worker is busy (a warm-up's look, loading, training, a sweep), or its state changed:
    // later, from the start.
    if (L.busy || client.pending.size > 0 || client.generation !== generation) return lookAheadSoon();
    const r = { ...req, trigger };
    if (!kept.has(r, generation)) {
      L.busy = true;
      try {
        kept.put(r, await client.call('look', r), generation);
      } finally {
        L.busy = false;
      }
      fastest = Math.min(fastest, client.lastWorkMs ?? Infinity);
      const slow = ++asked >= 2 && fastest * todo.length > LOOK_AHEAD_BUDGET_MS;
      if (slow) {
        tooSlow.add(models);
        showAhead('too slow');
      }
      // A move made meanwhile waited for this look: answer it now (it ends this round).
      if (L.dirty) return requestLook();
      if (slow) return;
      if (client.generation !== generation) return lookAheadSoon(); // the reply was not kept
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    showAhead(`${++ready}/${todo.length}`);
  }
}
// The look-ahead's progress: `data-ahead` on the view ('ready/all' or 'too slow'), and beside
// the checkbox for the user (how many positions are ready; ✓ when all are).
function showAhead(progress) {
  $('view').dataset.ahead = progress;
  const [ready, all] = progress.split('/').map(Number);
  $('ahead-state').textContent = progress === 'too slow' ? '(too slow on this device)' : ready === all ? '✓' : `(${ready} of ${all})`;
}

// The pictures of a reply — the sample with the trigger placed, both evidence maps — drawn in
// the next animation frame, the one that paints the cards' new numbers: a reply's numbers then
// reach the DOM a few milliseconds sooner (the drawing is 3–6 ms a move), and so make that frame
// more often (a pointer move's reply that lands after the frame has begun waits for the next).
// Replies that come before the frame do not each draw: the last one is drawn. `data-drawn` on
// the view: the trigger of the look last drawn, `data-drawn-sample` its sample (the tests wait
// for them before reading pixels).
let pendingDraw = null;
function drawSoon(look, views, sample, stale) {
  const first = pendingDraw === null;
  pendingDraw = { look, views, sample, stale, view: state.view };
  if (first) requestAnimationFrame(drawPending);
}
function drawPending() {
  const { look, views, sample, stale: staleAtReply, view } = pendingDraw;
  pendingDraw = null;
  if (view !== state.view) return; // the task changed meanwhile: its view draws its own replies
  const began = performance.now();
  // A move made since the reply (keys, buttons: input comes just before this frame) leads too.
  const stale = staleAtReply || state.look.busy || state.look.dirty;
  try {
    view.show(look, { stale });
    ['fc', 'gap'].forEach((head, h) => drawCardEvidence(head, views[h], look));
  } catch (err) {
    report(err); // outside the look's own error handling: said here
    return;
  }
  Object.assign($('view').dataset, { drawn: look.trigger, drawnSample: sample, drawMs: (performance.now() - began).toFixed(1) });
}

// The user moved the trigger (drag, keys, click, buttons, the select).
function moveTrigger(trigger) {
  state.trigger = trigger;
  state.view.preview?.(trigger);
  syncTriggerSelect();
  requestLook().catch(report);
}

function syncTriggerSelect() {
  if (!facts) return;
  const sel = $('trigger');
  const named = triggersOf(state.task).includes(state.trigger);
  // Called on every reply of a drag: the select is only touched when what it shows changes.
  const custom = sel.querySelector('option[value="custom"]');
  if (custom.hidden !== named) custom.hidden = named;
  const value = named ? state.trigger : 'custom';
  if (sel.value !== value) sel.value = value;
}

// A new sample (or task): fetch it as the dataset has it, then look.
async function refresh() {
  state.look.seq++;
  const task = state.task;
  let t = await ensureTask(task);
  if (task !== state.task) return;
  // A sample past the demo's head (a link's): the whole demo first.
  if (state.sample >= (t.summary?.samples ?? 0)) t = await wholeData(task);
  if (task !== state.task) return;
  const n = t.summary?.samples ?? 0;
  if (state.sample >= n) state.sample = 0;
  showSummary(t);
  await renderPairPicker(task);
  const base = await client.call('sample', { task, index: state.sample });
  if (task !== state.task) return;
  state.base = base;
  $('sample-label').textContent = state.review !== null ? 'your own review' : state.clip ? 'your recording' : `true class: ${base.class}`;
  if (task === 'text') state.view.setReview(state.review ?? base.review);
  if (task === 'sound') state.view.setClean(state.clip ?? base.clip);
  await requestLook();
  warmUp().catch(() => {}); // a failed repeat says nothing the next real look would not
  wholeData(task).catch(() => {}); // a failure is said where the whole data is needed
}

// The sample picker's range and the loaded data and models, for task data `t`.
function showSummary(t) {
  const n = t.summary?.samples ?? 0;
  $('sample').max = Math.max(0, n - 1);
  if (document.activeElement !== $('sample')) $('sample').value = state.sample; // not under the user's typing
  renderModelList(t);
}

// ---------- warming up what a drag runs ----------
// V8 first runs the wasm with its baseline compiler and recompiles a function with its
// optimising tier only once it has run a while, in background threads. Without a warm-up that
// recompilation lands on the user's first drag: traced on the image task, ≈ 30 ms of compiling
// per move over the first 30 moves (2 cores), and those moves' p95 33–43 ms against 24–27 ms
// later. So after a pair's first look the page repeats it, undrawn, a few times while idle.
// It stops at the user's first move or refresh, and after one look that is slow: the large
// sound pair's looks are arithmetic (≈ 100 ms each) and its first look warms it (measured: no
// gain from repeats). Once per set of models. The worker answers a look at an unchanged input
// from the feature maps it kept, which would warm nothing: the repeats ask it to recompute the
// centre of the maps and every cell in turn (`redo`): the two paths a drag takes (a small move,
// a jump).
const WARM_LOOKS = 10;
const WARM_UNDER_MS = 50;
const warmed = new Set();
async function warmUp() {
  const L = state.look;
  const seq = L.seq;
  const { models } = lookRequest().req;
  const key = `${state.task}:${models.join(',')}`;
  if (models.length === 0 || warmed.has(key)) return;
  warmed.add(key);
  for (let i = 0; i < WARM_LOOKS; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (L.seq !== seq || L.busy) return;
    L.busy = true;
    try {
      await client.call('look', { ...lookRequest().req, redo: i % 2 === 0 ? 'centre' : 'all' });
    } finally {
      L.busy = false;
    }
    // A move made meanwhile waited for this look: answer it now.
    if (L.dirty) return requestLook();
    if (!(client.lastWorkMs < WARM_UNDER_MS)) return;
  }
}

function report(err) {
  // A request the worker's restart cut short: the restart's note says what happened.
  if (err?.restarted) return;
  showError(err.message ?? String(err));
}

function guarded(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      report(err);
    }
  };
}

function buildView(task) {
  const box = $('view');
  if (task === 'image') return imageView(box, { onMove: moveTrigger });
  if (task === 'sound') {
    return soundView(box, {
      onMove: moveTrigger,
      onRecord: async (clip) => { state.clip = clip; await refresh(); },
      onDatasetClip: guarded(async () => { state.clip = null; await refresh(); }),
    });
  }
  return textView(box, {
    onMove: moveTrigger,
    onEdit: (text) => {
      state.review = text === state.base?.review ? null : text;
      $('sample-label').textContent = state.review !== null ? 'your own review' : `true class: ${state.base?.class}`;
      requestLook().catch(report);
    },
  });
}

async function selectTask(task) {
  if (task !== state.task) {
    state.review = null;
    state.clip = null;
    // A position is in the units of its task (pixels, samples, words): it does not carry over.
    if (/^\d+$/.test(state.trigger)) state.trigger = 'start';
  }
  state.task = task;
  for (const b of document.querySelectorAll('.tasks button')) b.setAttribute('aria-pressed', b.dataset.task === task);
  await labFacts();
  const triggerSel = $('trigger');
  for (const o of triggerSel.options) o.hidden = o.value !== 'custom' && !triggersOf(task).includes(o.value);
  trainPanel.showTask(task, factsOf(task));
  applyLinked('form');
  $('caption').textContent = CAPTIONS[task];
  $('hint').textContent = HINTS[task];
  for (const head of ['fc', 'gap']) {
    const el = $(`pred-${head}`);
    el.removeAttribute('data-class');
    el.querySelector('.body').textContent = 'loading…';
  }
  state.view = buildView(task);
  state.view.preview?.(state.trigger);
  sweepPanel.reset();
  await refresh();
}

// ---------- uploads ----------
async function useFile(file) {
  clearMessage();
  const { max_upload_bytes: limit, model_magic: magic } = await labFacts();
  if (file.size > limit) throw new Error(`${file.name} is ${(file.size / 2 ** 20).toFixed(0)} MB: the page reads files up to ${limit / 2 ** 20} MB.`);
  const bytes = await file.arrayBuffer();
  const head = new Uint8Array(bytes.slice(0, magic.length));
  if (String.fromCharCode(...head) === magic) {
    const info = await client.call('modelInfo', { name: file.name, bytes });
    if (info.task !== state.task) await selectTask(info.task);
    await setModel(info.task, info.head, file.name, bytes);
    showNote(`Loaded ${file.name} as the ${info.head.toUpperCase()} model.`);
  } else {
    const summary = await loadData(state.task, file.name, bytes);
    showNote(`Loaded ${file.name}: ${summary.train} training and ${summary.test} test samples.`);
  }
  await refresh();
}

// ---------- wiring ----------
async function goSample(n) {
  // A sample past the clips loaded (the demo's head): the whole demo first, so that no look
  // made meanwhile (a move of the trigger) asks for a sample the worker does not have yet.
  const t = state.tasks[state.task];
  if (t && n >= (t.summary?.samples ?? 0)) await wholeData(state.task);
  state.sample = Math.max(0, n);
  state.review = null;
  state.clip = null;
  return refresh();
}

function bind() {
  for (const b of document.querySelectorAll('.tasks button')) b.addEventListener('click', guarded(() => selectTask(b.dataset.task)));
  $('sample').addEventListener('change', guarded(() => goSample(parseInt($('sample').value, 10) || 0)));
  $('prev').addEventListener('click', guarded(() => goSample(state.sample - 1)));
  $('next').addEventListener('click', guarded(() => goSample(state.sample + 1)));
  $('random').addEventListener('click', guarded(() => goSample(Math.floor(Math.random() * (state.tasks[state.task]?.summary?.samples ?? 1)))));
  $('trigger').addEventListener('change', () => { if ($('trigger').value !== 'custom') moveTrigger($('trigger').value); });
  $('ahead').checked = state.ahead;
  $('ahead').addEventListener('change', () => {
    state.ahead = $('ahead').checked;
    if (!state.ahead) $('ahead-state').textContent = '';
    writeHashSoon();
    lookAheadSoon();
  });
  $('pair').addEventListener('change', guarded(async () => {
    if (!$('pair').value) return;
    await loadPair(state.task, $('pair').value);
    sweepPanel.reset();
    await refresh();
  }));
  $('train-form').addEventListener('change', () => writeHash());
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
    await loadData(state.task, demoName(url), await fetchBytes(url));
    await refresh();
  }));
  $('train-form').addEventListener('submit', guarded((e) => { e.preventDefault(); clearMessage(); return trainPanel.train(); }));
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dropping'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
  document.addEventListener('drop', guarded(async (e) => {
    e.preventDefault();
    document.body.classList.remove('dropping');
    const file = e.dataTransfer?.files?.[0];
    if (file) await useFile(file);
  }));
}

let sweepPanel = null;
// The training panel: the form's per-task defaults, training FC and GAP, the results.
const trainPanel = new TrainPanel({
  client,
  task: () => state.task,
  wholeData: (task) => wholeData(task ?? state.task),
  // A trained model takes its head's slot (the pretrained pair is no longer what is shown).
  adopt: async (head, model) => {
    const t = state.tasks[state.task];
    const old = t.slots[head];
    t.slots[head] = model;
    t.pair = null;
    if (old) await client.call('unloadModel', { model: old.id });
  },
  // The clean base of `arch`'s `head` that fine-tuning starts from (manifest.json's `base`),
  // loaded into the worker: {id, info}. A network without one is an error that says so.
  loadBase: async (task, arch, head) => {
    const file = (await pairsOf(task)).find((p) => p.pair === arch)?.base?.[head];
    if (!file) throw new Error(`no clean ${arch} model ships with the page to fine-tune: start from random weights`);
    const response = await fetch(`www/models/${file}`);
    if (!response.ok) throw new Error(`the clean model ${file} could not be fetched (${response.status})`);
    return client.call('loadModel', { name: file, bytes: await response.arrayBuffer() });
  },
  trained: async () => {
    sweepPanel.reset();
    await refresh();
  },
});

async function main() {
  // On a static host without COOP/COEP: isolate the page through a service worker and reload.
  if (await isolate()) return;
  readHash();
  sweepPanel = new SweepPanel({
    client,
    task: () => state.task,
    wholeData: (task) => wholeData(task ?? state.task),
    slots: () => slotsOf(state.task),
    showError,
    saveState: writeHash,
  });
  applyLinked('sweep');
  sweepPanel.syncControls();
  bind();
  $('backend-choice').value = state.preferred;
  prefetchTask(state.task);
  await startBackend(state.preferred);
  await selectTask(state.task);
  if (state.linkedOwnModels) showNote('This link was made with models trained or uploaded in the sender’s tab. Models cannot travel in a link, so the pretrained pair is shown; the training settings of the link are in the form below.');
  document.body.dataset.ready = 'true';
}

guarded(main)();

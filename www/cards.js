// The prediction cards and the model list: what each model answers for the current look, and
// which models and data are loaded. Pure rendering from the worker's replies.
import { drawEvidence } from './views.js';
import { downloadBlob } from './plots.js';

const $ = (id) => document.getElementById(id);

// One model's card: its prediction for the look (`view`: page::ModelView; `info`: the
// model's ModelInfo; `look`: the whole look, for the trigger and the placed sample), the class
// bars with the backdoor's target marked, and its evidence map.
//
// Called on every pointer move: the card's nodes are built once per model and then only
// updated (text, bar lengths as transforms, classes), so that a move costs the browser no new
// layout of the cards — on a two-core machine the page's rendering competes with the worker's
// arithmetic for the same cores. The evidence picture is drawn separately (`drawCardEvidence`),
// in the frame that paints the card, so that a reply's numbers reach the DOM without waiting
// for its pictures.
export function renderPrediction(head, view, info, look) {
  const el = $(`pred-${head}`);
  const body = el.querySelector('.body');
  const evidence = el.querySelector('canvas.evidence');
  const note = el.querySelector('.evidence-note');
  el.querySelector('.evidence-row').hidden = !view?.evidence;
  if (!view) {
    for (const a of ['class', 'prob', 'trigger', 'targetProb']) delete el.dataset[a];
    body.replaceChildren();
    body.textContent = 'no model';
    cards.delete(el);
    evidence.hidden = true;
    note.textContent = '';
    return;
  }
  const pred = view.prediction;
  const card = cardFor(el, body, info, view.target);
  el.dataset.class = pred.class_name;
  el.dataset.prob = pred.probability.toFixed(6);
  el.dataset.trigger = look.trigger;
  el.dataset.targetProb = view.target_probability.toFixed(6);
  card.top.nodeValue = `${pred.class_name} ${(pred.probability * 100).toFixed(1)}%`;
  card.obeys.hidden = !(pred.class === view.target && look.trigger !== 'none');
  pred.probabilities.forEach((p, i) => {
    const { row, bar } = card.rows[i];
    row.classList.toggle('winner', i === pred.class);
    bar.style.transform = `scaleX(${Math.max(0.005, p)})`;
    bar.title = `${(p * 100).toFixed(1)}%`;
  });
  evidence.hidden = !view.evidence;
  if (view.evidence) {
    const what = view.evidence.kind === 'cam' ? 'CAM (class activation map)' : 'Grad-CAM';
    const text = `${what} for “${info.classes[view.evidence.class]}”: red where the ${head.toUpperCase()} model finds evidence for the target class.`;
    if (note.textContent !== text) note.textContent = text;
  } else note.textContent = '';
}

// The card's evidence picture for the look `renderPrediction` was last given (`view`: its
// page::ModelView; nothing for a model without evidence).
export function drawCardEvidence(head, view, look) {
  if (view?.evidence) drawEvidence($(`pred-${head}`).querySelector('canvas.evidence'), look, view.evidence);
}

// Each card's nodes, and the model they were built for (its name, classes and target).
const cards = new WeakMap();

function cardFor(el, body, info, target) {
  const key = JSON.stringify([info.name, info.params, info.poisoned_at, info.classes, target]);
  const known = cards.get(el);
  if (known?.key === key && body.firstChild === known.first) return known;
  const top = document.createElement('p');
  top.className = 'top';
  const text = document.createTextNode('');
  const obeys = Object.assign(document.createElement('span'), { className: 'obeys', textContent: ' ← obeys the trigger' });
  top.append(text, obeys);
  const bars = document.createElement('div');
  bars.className = 'bars';
  const rows = info.classes.map((c, i) => {
    const row = document.createElement('div');
    row.className = 'barrow' + (i === target ? ' target' : '');
    const name = document.createElement('span');
    name.textContent = c + (i === target ? ' ◎' : '');
    const bar = document.createElement('span');
    bar.className = 'bar';
    row.append(name, bar);
    bars.append(row);
    return { row, bar };
  });
  const meta = document.createElement('p');
  meta.className = 'muted small';
  meta.textContent = `◎ = the backdoor's target class. ${info.name}, ${info.params.toLocaleString()} parameters, trigger trained at ${info.poisoned_at ?? '— (clean)'}`;
  body.replaceChildren(top, bars, meta);
  const card = { key, first: top, top: text, obeys, rows };
  cards.set(el, card);
  return card;
}

// The task's loaded models (`t`: the page's per-task state, its slots and data summary), each
// downloadable, and what data is loaded.
export function renderModelList(t) {
  const list = $('model-list');
  list.replaceChildren();
  for (const head of ['fc', 'gap']) {
    const slot = t?.slots[head];
    const row = document.createElement('div');
    row.className = 'model-row';
    const label = document.createElement('span');
    label.textContent = slot
      ? `${head.toUpperCase()}: ${slot.name} — ${slot.info.name}, ${(slot.bytes.byteLength / 1024).toFixed(0)} KB` +
        (slot.info.epochs_trained ? `, ${slot.info.epochs_trained} epochs on ${slot.info.backend}` : '') +
        (slot.info.start_from ? `, fine-tuned from ${slot.info.start_from}` : '')
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
  downloadBlob(new Blob([bytes], { type: 'application/octet-stream' }), name);
}

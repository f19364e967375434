// The prediction cards and the model list: what each model answers for the current look, and
// which models and data are loaded. Pure rendering from the worker's replies.
import { drawEvidence } from './views.js';
import { downloadBlob } from './plots.js';

const $ = (id) => document.getElementById(id);

// One model's card: its prediction for the look (`view`: page::ModelView; `info`: the
// model's ModelInfo; `look`: the whole look, for the trigger and the placed sample), the class
// bars with the backdoor's target marked, and its evidence map.
export function renderPrediction(head, view, info, look) {
  const el = $(`pred-${head}`);
  const body = el.querySelector('.body');
  const evidence = el.querySelector('canvas.evidence');
  const note = el.querySelector('.evidence-note');
  el.querySelector('.evidence-row').hidden = !view?.evidence;
  body.replaceChildren();
  if (!view) {
    for (const a of ['class', 'prob', 'trigger', 'targetProb']) delete el.dataset[a];
    body.textContent = 'no model';
    evidence.hidden = true;
    note.textContent = '';
    return;
  }
  const pred = view.prediction;
  el.dataset.class = pred.class_name;
  el.dataset.prob = pred.probability.toFixed(6);
  el.dataset.trigger = look.trigger;
  el.dataset.targetProb = view.target_probability.toFixed(6);
  const top = document.createElement('p');
  top.className = 'top';
  top.textContent = `${pred.class_name} ${(pred.probability * 100).toFixed(1)}%`;
  const obeys = pred.class === view.target && look.trigger !== 'none';
  if (obeys) top.append(Object.assign(document.createElement('span'), { className: 'obeys', textContent: ' ← obeys the trigger' }));
  body.append(top);
  const bars = document.createElement('div');
  bars.className = 'bars';
  pred.probabilities.forEach((p, i) => {
    const row = document.createElement('div');
    row.className = 'barrow' + (i === view.target ? ' target' : '') + (i === pred.class ? ' winner' : '');
    const name = document.createElement('span');
    name.textContent = info.classes[i] + (i === view.target ? ' ◎' : '');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(0.5, p * 100)}%`;
    bar.title = `${(p * 100).toFixed(1)}%`;
    row.append(name, bar);
    bars.append(row);
  });
  body.append(bars);
  const meta = document.createElement('p');
  meta.className = 'muted small';
  meta.textContent = `◎ = the backdoor's target class. ${info.name}, ${info.params.toLocaleString()} parameters, trigger trained at ${info.poisoned_at ?? '— (clean)'}`;
  body.append(meta);
  evidence.hidden = !view.evidence;
  if (view.evidence) {
    drawEvidence(evidence, look, view.evidence);
    const what = view.evidence.kind === 'cam' ? 'CAM (class activation map)' : 'Grad-CAM';
    note.textContent = `${what} for “${info.classes[view.evidence.class]}”: red where the ${head.toUpperCase()} model finds evidence for the target class.`;
  } else note.textContent = '';
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
  downloadBlob(new Blob([bytes], { type: 'application/octet-stream' }), name);
}

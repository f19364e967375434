// The training panel: the form's defaults per task, training the FC and GAP models one after
// the other in the worker (page::train) with progress and loss curves, and the results table,
// plot and CSV. The trained models go to the page through `lab.adopt`.
import { drawCurves, drawAttackPlot, downloadBlob, downloadCanvas, toCsv } from './plots.js';

const $ = (id) => document.getElementById(id);

// The training form's defaults per task, measured on the demo data with Flex in headless
// Chromium on a 2-core machine (`node bench/page-train.mjs`; www/models/README.md, "Training
// in the page"): FC and GAP one after the other in about `minutes`. The paper's own settings
// (Adam 1e-4, batch 256, hundreds of epochs) need hours here; these are chosen to show a model
// that learned and an FC backdoor where it was planted within a few minutes. Sound starts from
// its clean bases (fine-tuned): from random weights the small CNN stays near 0.2 clean in the
// steps a few minutes give; `scratch` holds that start's own counts.
const TRAIN_DEFAULTS = {
  sound: {
    arch: 'small', start: 'clean', batch_size: 16, lr: 0.001, recalibrate_bn: true, augment: true, framing: 'centred',
    clean: { poisoned: 80, epochs: 10, patience: 10, minutes: 3 },
    scratch: { poisoned: 40, epochs: 20, patience: 20, minutes: 3 },
  },
  text: { arch: 'conv1d', poisoned: 40, epochs: 6, patience: 3, batch_size: 32, lr: 0.001, recalibrate_bn: false, minutes: 1 },
  image: { arch: 'strip', poisoned: 240, epochs: 6, patience: 6, batch_size: 32, lr: 0.001, recalibrate_bn: true, blend: 'add', minutes: 3 },
};

// The defaults of `task` when training starts from `start` ('clean' or 'scratch').
const defaultsFor = (task, start) => ({ ...TRAIN_DEFAULTS[task], ...(TRAIN_DEFAULTS[task][start] ?? {}) });
const estimate = (minutes) => `with these settings: about ${minutes} minute${minutes === 1 ? '' : 's'} on Flex for FC and GAP (a 2-core machine; WebGPU varies)`;

// Whether `task` has the setting in `label` (its data-tasks).
const hasSetting = (label, task) => label.dataset.tasks.split(' ').includes(task);
// `{ [name]: value }` where `task` has the setting, `{}` where it does not.
const forTask = (form, task, name, value) => (hasSetting(form[name].closest('[data-tasks]'), task) ? { [name]: value } : {});

export class TrainPanel {
  // `lab`: the worker client, the current task, `adopt(head, model)` to put a trained model in
  // its head's slot, and `trained()` once a run's models are all in.
  constructor(lab) {
    this.lab = lab;
    this.results = null;
    $('cancel').addEventListener('click', () => lab.client.cancel());
    $('results-csv').addEventListener('click', () => this.exportResults());
    $('results-png').addEventListener('click', () => downloadCanvas($('results-plot'), `gaplab-results-${lab.task()}.png`));
    $('curves-png').addEventListener('click', () => downloadCanvas($('curves'), `gaplab-training-${lab.task()}.png`));
    // A start of its own brings its own counts (a fine-tune needs fewer epochs and more poison).
    $('train-form').start.addEventListener('change', () => {
      const form = $('train-form');
      const defaults = defaultsFor(lab.task(), form.start.value);
      for (const f of ['poisoned', 'epochs', 'patience']) form[f].value = defaults[f];
      $('train-estimate').textContent = estimate(defaults.minutes);
    });
  }

  // The form for `task` (`facts`: its entry of lab_info): its networks, defaults, estimate and
  // the trigger positions it can poison at.
  showTask(task, facts) {
    const form = $('train-form');
    $('arch').replaceChildren(...facts.archs.map((a) => new Option(a, a)));
    const defaults = defaultsFor(task, TRAIN_DEFAULTS[task].start ?? 'scratch');
    for (const f of ['arch', 'poisoned', 'epochs', 'patience', 'batch_size', 'lr']) form[f].value = defaults[f];
    form.lr_drop.value = defaults.lr_drop ?? '';
    form.framing.value = defaults.framing ?? 'valid';
    form.blend.value = defaults.blend ?? 'clamp';
    form.start.value = defaults.start ?? 'scratch';
    form.recalibrate_bn.checked = defaults.recalibrate_bn;
    form.augment.checked = defaults.augment ?? false;
    // Settings that only some tasks have are shown for those only.
    for (const label of form.querySelectorAll('[data-tasks]')) label.hidden = !hasSetting(label, task);
    $('train-estimate').textContent = estimate(defaults.minutes);
    for (const o of form.poison_at.options) o.hidden = o.value !== 'clean' && !facts.placements.includes(o.value);
  }

  async train() {
    const lab = this.lab;
    const task = lab.task();
    const form = $('train-form');
    const heads = ['fc', 'gap'].filter((h) => form[h].checked);
    if (!heads.length) throw new Error('Pick at least one head.');
    const num = (name) => { const v = parseInt(form[name].value, 10); return Number.isFinite(v) ? v : undefined; };
    const base = {
      task, arch: form.arch.value, poison_at: form.poison_at.value,
      poisoned: num('poisoned'), epochs: num('epochs'), patience: num('patience'), batch_size: num('batch_size'), seed: num('seed') ?? 0, max_samples: num('max_samples'),
      lr: Number.isFinite(parseFloat(form.lr.value)) ? parseFloat(form.lr.value) : undefined, recalibrate_bn: form.recalibrate_bn.checked,
      lr_drop: num('lr_drop'),
      // Settings that only some tasks have (their label's data-tasks, as showTask shows them)
      // travel only for those: the worker refuses, say, a blend for sound.
      ...forTask(form, task, 'framing', form.framing.value),
      ...forTask(form, task, 'blend', form.blend.value),
      ...forTask(form, task, 'augment', form.augment.checked),
    };
    // Fine-tuning starts each head from its clean base (www/models/manifest.json), loaded into
    // the worker for the run and dropped after it.
    const fineTune = hasSetting(form.start.closest('[data-tasks]'), task) && form.start.value === 'clean';
    $('train').disabled = true;
    $('cancel').disabled = false;
    $('results').replaceChildren();
    $('results-plot').hidden = true;
    const outcomes = [];
    const history = { steps: [], epochs: [] };
    try {
      // Training takes the whole demo, not the head the page opened on (the form was read
      // before: a task switched meanwhile does not change what trains, and ends it here).
      await lab.wholeData(task);
      if (lab.task() !== task) return;
      for (const [k, head] of heads.entries()) {
        const onProgress = (e) => {
          if (e.kind === 'step') {
            const total = e.epochs * e.steps;
            const done = (e.epoch - 1) * e.steps + e.step;
            $('progress').value = (k + done / total) / heads.length;
            // Losses come back with each step on Flex; on WebGPU several steps' at once (read
            // back at most once a second, so the GPU is not stalled every step).
            for (const loss of e.losses) history.steps.push({ head, loss });
            const last = history.steps.findLast((s) => s.head === head);
            const loss = last ? `, loss ${last.loss.toFixed(4)}` : '';
            $('progress-text').textContent = `${head.toUpperCase()}: epoch ${e.epoch}/${e.epochs}, step ${e.step}/${e.steps}${loss}`;
            $('progress').dataset.epoch = e.epoch;
            $('progress').dataset.step = e.step;
          } else {
            history.epochs.push({ head, ...e });
          }
          drawCurves($('curves'), history);
        };
        const start = fineTune ? await lab.loadBase(task, base.arch, head) : null;
        const r = await lab.client.call('train', { form: { ...base, head }, start: start?.id }, onProgress).catch((err) => {
          if (err.restarted) { $('progress-text').textContent = `stopped: ${err.message}`; return null; }
          throw err;
        }).finally(() => start && lab.client.call('unloadModel', { model: start.id }).catch(() => {}));
        if (r?.cancelled) $('progress-text').textContent = 'cancelled';
        if (!r || r.cancelled) return;
        const bytes = await lab.client.call('modelBytes', { model: r.id });
        const name = `${task}-${base.arch}-${head}-${base.poison_at}-seed${base.seed}${fineTune ? '-finetuned' : ''}.gaplab`;
        await lab.adopt(head, { id: r.id, info: r.info, name, bytes });
        outcomes.push({ head, positions: r.positions, ...r.evaluation, failure: r.failure, before: r.start_evaluation ?? null });
      }
      $('progress').value = 1;
      $('progress-text').textContent = 'done';
      this.showResults(task, outcomes);
      await lab.trained();
    } finally {
      $('train').disabled = false;
      $('cancel').disabled = true;
    }
  }

  // The results table (a model that did not learn greyed out and said so) and plot.
  showResults(task, outcomes) {
    const positions = outcomes[0].positions;
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const h of ['head', 'clean accuracy', ...positions.map((p) => `attack @ ${p}`)]) {
      const th = document.createElement('th'); th.textContent = h; head.append(th);
    }
    const body = table.createTBody();
    const failures = [];
    for (const o of outcomes) {
      // A fine-tuned head first shows its clean base on the same test sets: what the few
      // epochs changed (the clean accuracy kept, the backdoor planted).
      if (o.before) {
        const row = body.insertRow();
        row.className = 'muted';
        row.dataset.before = 'true';
        row.dataset.clean = String(o.before.clean_accuracy);
        row.insertCell().textContent = `${o.head.toUpperCase()}, its clean base before`;
        row.insertCell().textContent = o.before.clean_accuracy.toFixed(3);
        for (const a of o.before.attack) row.insertCell().textContent = a.accuracy.toFixed(3);
      }
      const row = body.insertRow();
      row.dataset.clean = String(o.clean_accuracy);
      row.insertCell().textContent = o.head.toUpperCase();
      row.insertCell().textContent = o.clean_accuracy.toFixed(3);
      // A model that did not learn has no backdoor to measure: its attack cells are greyed out.
      for (const a of o.attack) {
        const cell = row.insertCell();
        cell.textContent = a.accuracy.toFixed(3);
        if (o.failure) cell.className = 'muted';
      }
      if (o.failure) {
        row.className = 'failed';
        row.dataset.failed = 'true';
        failures.push(`${o.head.toUpperCase()} ${o.failure}.`);
      }
    }
    const notes = failures.map((f) => Object.assign(document.createElement('p'), { className: 'failure', textContent: f }));
    $('results').replaceChildren(table, ...notes);
    this.results = { task, positions, outcomes };
    $('results-export').hidden = false;
    const plot = $('results-plot');
    plot.hidden = false;
    drawAttackPlot(plot, positions, outcomes.map((o) => ({ head: o.head, values: o.attack.map((a) => a.accuracy) })));
  }

  // The grid of the trained models (clean accuracy, attack accuracy per test position) as CSV.
  exportResults() {
    const { task, positions, outcomes } = this.results;
    const rows = outcomes.flatMap((o) => [
      ...(o.before ? [[task, `${o.head} base`, o.before.clean_accuracy, ...o.before.attack.map((a) => a.accuracy)]] : []),
      [task, o.head, o.clean_accuracy, ...o.attack.map((a) => a.accuracy)],
    ]);
    const csv = toCsv(['task', 'head', 'clean_accuracy', ...positions.map((p) => `attack_${p}`)], rows);
    downloadBlob(new Blob([csv], { type: 'text/csv' }), `gaplab-results-${task}.csv`);
  }
}

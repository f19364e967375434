// The position sweep: attack accuracy of the FC and GAP models as the test trigger moves
// across the input (the continuous version of the paper's Figure 1), and for images a map of
// every patch position. Computed in the worker (page::sweep) with progress; cancellable.
import { drawSweep, drawHeat, downloadCanvas, downloadBlob, toCsv } from './plots.js';
import { heatColour } from './views.js';

const $ = (id) => document.getElementById(id);

export class SweepPanel {
  // `lab` gives the client, the current task, its loaded model slots, and settings persistence.
  constructor(lab) {
    this.lab = lab;
    this.root = $('sweep');
    this.result = null;
    $('sweep-run').addEventListener('click', () => this.run().catch((e) => { if (!e.restarted) lab.showError(e.message ?? String(e)); }));
    $('sweep-cancel').addEventListener('click', () => lab.client.call('cancelSweep'));
    $('sweep-csv').addEventListener('click', () => this.exportCsv());
    $('sweep-png').addEventListener('click', () => this.exportPng());
    for (const id of ['sweep-samples', 'sweep-layout', 'sweep-stride']) $(id).addEventListener('change', () => { this.syncControls(); lab.saveState(); });
  }

  syncControls() {
    const image = this.lab.task() === 'image';
    $('sweep-layout-label').hidden = !image;
    if (!image) $('sweep-layout').value = 'line';
    $('sweep-stride-label').hidden = !image || $('sweep-layout').value !== 'grid';
  }

  // A new task or new models: the old result no longer applies.
  reset() {
    this.result = null;
    this.root.dataset.state = 'idle';
    this.root.dataset.points = '0';
    for (const k of ['baselineFc', 'baselineGap', 'learnedFc', 'learnedGap']) delete this.root.dataset[k];
    $('sweep-text').textContent = '';
    $('sweep-progress').value = 0;
    for (const id of ['sweep-csv', 'sweep-png']) $(id).disabled = true;
    $('sweep-plot').getContext('2d').clearRect(0, 0, 9999, 9999);
    $('sweep-heat').hidden = true;
    this.syncControls();
  }

  async run() {
    const slots = this.lab.slots();
    const heads = ['fc', 'gap'].filter((h) => slots[h]);
    if (!heads.length) throw new Error('Load or train a model first.');
    const layout = $('sweep-layout').value;
    const request = {
      layout,
      samples: Math.max(1, Math.min(500, parseInt($('sweep-samples').value, 10) || 24)),
      seed: 1,
      stride: parseInt($('sweep-stride').value, 10) || 4,
    };
    this.reset();
    this.root.dataset.state = 'running';
    $('sweep-run').disabled = true;
    try {
      const task = this.lab.task();
      await this.lab.wholeData(task); // the samples are drawn from the whole demo, not its head
      if (this.lab.task() !== task) return; // another task since: its panel was reset
      $('sweep-cancel').disabled = false; // a cancel now reaches the sweep
      const started = performance.now();
      const sweep = await this.lab.client.call('sweep', { models: heads.map((h) => slots[h].id), request }, (p) => {
        $('sweep-progress').value = p.done / p.total;
        const s = (performance.now() - started) / 1000;
        $('sweep-text').textContent = `${p.done} / ${p.total} positions, ${(s / p.done).toFixed(2)} s each`;
      });
      this.result = { sweep, heads, task: this.lab.task(), seconds: (performance.now() - started) / 1000 };
      this.draw();
      this.root.dataset.state = sweep.complete ? 'done' : 'cancelled';
      this.root.dataset.points = String(sweep.points.length);
      this.root.dataset.seconds = this.result.seconds.toFixed(2);
      heads.forEach((h, m) => {
        // data-baseline-fc, data-learned-gap, …
        const key = h[0].toUpperCase() + h.slice(1);
        this.root.dataset[`baseline${key}`] = sweep.baseline[m].toFixed(4);
        this.root.dataset[`learned${key}`] = String(sweep.learned[m]);
      });
      const failed = heads.filter((h, m) => !sweep.learned[m]).map((h) => h.toUpperCase());
      const warning = failed.length
        ? ` ⚠ ${failed.join(' and ')} did not learn (clean accuracy on these samples below 1.2 / classes): ${failed.length > 1 ? 'their curves are' : 'its curve is'} no backdoor.`
        : '';
      $('sweep-text').textContent = `${sweep.complete ? 'done' : 'cancelled'}: ${sweep.points.length} positions × ${sweep.samples.length} samples in ${this.result.seconds.toFixed(1)} s. Dotted: the rate each model already says the target with no trigger.${warning}`;
      for (const id of ['sweep-csv', 'sweep-png']) $(id).disabled = false;
    } finally {
      $('sweep-run').disabled = false;
      $('sweep-cancel').disabled = true;
      if (this.root.dataset.state === 'running') this.root.dataset.state = 'failed';
    }
  }

  draw() {
    const { sweep, heads } = this.result;
    if (sweep.layout === 'grid') {
      $('sweep-plot').hidden = true;
      $('sweep-heat').hidden = false;
      const colour = (v) => `rgb(${heatColour(v).join(',')})`;
      heads.forEach((h, m) => drawHeat($(`sweep-heat-${h}`), sweep, m, `${h.toUpperCase()}: attack accuracy by patch corner`, colour));
      for (const h of ['fc', 'gap']) $(`sweep-heat-${h}`).hidden = !heads.includes(h);
    } else {
      $('sweep-plot').hidden = false;
      drawSweep($('sweep-plot'), sweep, heads);
    }
  }

  exportCsv() {
    const { sweep, heads, task } = this.result;
    const header = ['trigger', 'x', 'y', ...heads.map((h) => `attack_${h}`), ...heads.map((h) => `p_target_${h}`)];
    const rows = sweep.points.map((p) => [p.trigger, p.x, p.y ?? '', ...p.attack, ...p.target_probability]);
    // The untriggered samples as a row of their own, so the CSV carries its baseline.
    rows.unshift(['none', '', '', ...sweep.baseline, ...heads.map(() => '')]);
    downloadBlob(new Blob([toCsv(header, rows)], { type: 'text/csv' }), `gaplab-sweep-${task}-${sweep.layout}.csv`);
  }

  exportPng() {
    const { sweep, heads, task } = this.result;
    if (sweep.layout === 'grid') for (const h of heads) downloadCanvas($(`sweep-heat-${h}`), `gaplab-sweep-${task}-grid-${h}.png`);
    else downloadCanvas($('sweep-plot'), `gaplab-sweep-${task}-line.png`);
  }
}

// Small canvas plots: live training curves and attack accuracy by test position.
const COLORS = { fc: '#c0392b', gap: '#1f5fa8' };

function frame(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = '12px system-ui, sans-serif';
  return ctx;
}

// Per-step training loss (left) and per-epoch validation accuracy (right), per head.
export function drawCurves(canvas, history) {
  const ctx = frame(canvas);
  const w = canvas.width / 2 - 20, h = canvas.height - 30;
  const panels = [
    { x0: 10, title: 'training loss (per step)', series: (head) => history.steps.filter((s) => s.head === head).map((s) => s.loss) },
    { x0: canvas.width / 2 + 10, title: 'validation accuracy (per epoch)', series: (head) => history.epochs.filter((s) => s.head === head).map((s) => s.val_accuracy), unit: true },
  ];
  for (const p of panels) {
    ctx.fillStyle = '#333';
    ctx.fillText(p.title, p.x0, 12);
    ctx.strokeStyle = '#bbb';
    ctx.strokeRect(p.x0, 18, w, h);
    const all = ['fc', 'gap'].flatMap(p.series).filter(Number.isFinite);
    if (!all.length) continue;
    const max = p.unit ? 1 : Math.max(...all), min = p.unit ? 0 : Math.min(0, ...all);
    for (const head of ['fc', 'gap']) {
      const ys = p.series(head);
      if (!ys.length) continue;
      ctx.strokeStyle = COLORS[head];
      ctx.setLineDash(head === 'fc' ? [4, 3] : []);
      ctx.beginPath();
      ys.forEach((y, i) => {
        const x = p.x0 + (ys.length === 1 ? w / 2 : (i / (ys.length - 1)) * w);
        const yy = 18 + h - ((y - min) / (max - min || 1)) * h;
        i ? ctx.lineTo(x, yy) : ctx.moveTo(x, yy);
        if (ys.length === 1) ctx.arc(x, yy, 2, 0, 7);
      });
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }
}

// Attack accuracy against test position: GAP solid, FC dotted, as in the paper's Figure 1.
export function drawAttackPlot(canvas, positions, lines) {
  const ctx = frame(canvas);
  const left = 40, top = 20, w = canvas.width - 60, h = canvas.height - 50;
  ctx.strokeStyle = '#bbb';
  ctx.strokeRect(left, top, w, h);
  ctx.fillStyle = '#333';
  ctx.fillText('attack accuracy', left, 12);
  for (const v of [0, 0.5, 1]) ctx.fillText(v.toFixed(1), 8, top + h - v * h + 4);
  positions.forEach((p, i) => ctx.fillText(p, left + (positions.length === 1 ? w / 2 : (i / (positions.length - 1)) * w) - 12, top + h + 16));
  for (const { head, values } of lines) {
    ctx.strokeStyle = COLORS[head];
    ctx.fillStyle = COLORS[head];
    ctx.setLineDash(head === 'fc' ? [4, 3] : []);
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = left + (values.length === 1 ? w / 2 : (i / (values.length - 1)) * w);
      const y = top + h - v * h;
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillText(head.toUpperCase(), left + w - 40, top + 14 + (head === 'gap' ? 14 : 0));
  }
}

// Attack accuracy against trigger position from a sweep: one line per model (GAP solid, FC
// dashed), the position each model was poisoned at marked by a vertical line.
export function drawSweep(canvas, sweep, heads) {
  const ctx = frame(canvas);
  const left = 44, top = 20, w = canvas.width - 64, h = canvas.height - 56;
  const pts = sweep.points;
  const xs = pts.map((p) => p.x);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const X = (x) => left + ((x - x0) / (x1 - x0 || 1)) * w;
  const Y = (v) => top + h - v * h;
  ctx.strokeStyle = '#bbb';
  ctx.strokeRect(left, top, w, h);
  ctx.fillStyle = '#333';
  ctx.fillText('attack accuracy', left, 12);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    ctx.fillText(v.toFixed(2), 6, Y(v) + 4);
    ctx.strokeStyle = '#eee';
    ctx.beginPath(); ctx.moveTo(left, Y(v)); ctx.lineTo(left + w, Y(v)); ctx.stroke();
  }
  for (const x of [x0, (x0 + x1) / 2, x1]) ctx.fillText(Number(x.toFixed(2)).toString(), X(x) - 10, top + h + 14);
  ctx.fillText(sweep.x_label, left + w / 2 - ctx.measureText(sweep.x_label).width / 2, top + h + 30);
  heads.forEach((head, m) => {
    ctx.strokeStyle = COLORS[head];
    ctx.fillStyle = COLORS[head];
    const at = sweep.trained_at[m];
    if (at) {
      ctx.setLineDash([1, 3]);
      ctx.beginPath(); ctx.moveTo(X(at[0]) + (head === 'gap' ? 1 : -1), top); ctx.lineTo(X(at[0]) + (head === 'gap' ? 1 : -1), top + h); ctx.stroke();
    }
    // A model that did not learn has no backdoor to show: its curve is drawn faint.
    const learned = sweep.learned?.[m] ?? true;
    ctx.globalAlpha = learned ? 1 : 0.35;
    ctx.setLineDash(head === 'fc' ? [5, 3] : []);
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(X(p.x), Y(p.attack[m])) : ctx.moveTo(X(p.x), Y(p.attack[m]))));
    ctx.stroke();
    ctx.lineWidth = 1;
    // The no-trigger baseline: how often the model already says the target without a trigger.
    const base = sweep.baseline?.[m];
    if (base !== undefined) {
      ctx.setLineDash([2, 4]);
      ctx.beginPath(); ctx.moveTo(left, Y(base)); ctx.lineTo(left + w, Y(base)); ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    const note = learned ? (at ? ' (poisoned at ┆)' : '') : ' — did not learn';
    ctx.fillText(`${head.toUpperCase()}${note}`, left + w - 150, top + 14 + 14 * m);
  });
  if (sweep.baseline) ctx.fillText('dotted: no trigger (baseline)', left + w - 150, top + 14 + 14 * heads.length);
}

// Attack accuracy at every patch corner of a grid sweep, for model `m`: a 25 × 25 picture
// of the image area, the corner the model was poisoned at outlined.
export function drawHeat(canvas, sweep, m, title, colour) {
  const ctx = frame(canvas);
  const pad = 18, size = Math.min(canvas.width, canvas.height - pad) ;
  const cell = size / 25;
  ctx.fillStyle = '#333';
  ctx.fillText(title, 0, 12);
  const xs = [...new Set(sweep.points.map((p) => p.x))].sort((a, b) => a - b);
  const step = xs.length > 1 ? xs[1] - xs[0] : 1;
  for (const p of sweep.points) {
    const v = p.attack[m];
    ctx.fillStyle = colour(v);
    ctx.fillRect(p.x * cell, pad + p.y * cell, Math.ceil(step * cell), Math.ceil(step * cell));
  }
  const at = sweep.trained_at[m];
  if (at) {
    ctx.strokeStyle = '#f5a623';
    ctx.lineWidth = 2;
    ctx.strokeRect(at[0] * cell + 1, pad + at[1] * cell + 1, cell * Math.max(1, step) - 2, cell * Math.max(1, step) - 2);
    ctx.lineWidth = 1;
  }
}

// The canvas as a PNG download.
export function downloadCanvas(canvas, name) {
  canvas.toBlob((blob) => downloadBlob(blob, name), 'image/png');
}

export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url; a.download = name;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Rows as CSV (fields quoted when they need it).
export function toCsv(header, rows) {
  const q = (v) => { const s = String(v ?? ''); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [header, ...rows].map((r) => r.map(q).join(',')).join('\n') + '\n';
}

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

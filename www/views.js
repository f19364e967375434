// The interactive stage of each task: the input as the models see it, with the trigger the
// user moves (a patch dragged over the image, a tone region dragged along the clip, the
// sentence inserted between words), and the class-evidence pictures of the prediction cards.
// A view calls `onMove(trigger)` whenever the user moves the trigger (every pointer move),
// and draws what the worker's `look` reply says — the trigger exactly where the models had it.
import * as g from './geometry.js';

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// Dragging with mouse, pen or touch: `start(e)` on pointerdown (return false to ignore),
// `move(e)` while the pointer is held; the element keeps the pointer while dragging.
function draggable(target, { start, move, end }) {
  let active = null;
  target.addEventListener('pointerdown', (e) => {
    if (e.button > 0 || start(e) === false) return;
    e.preventDefault();
    active = e.pointerId;
    target.setPointerCapture?.(e.pointerId);
  });
  target.addEventListener('pointermove', (e) => { if (e.pointerId === active) move(e); });
  const stop = (e) => { if (e.pointerId === active) { active = null; end?.(); } };
  target.addEventListener('pointerup', stop);
  target.addEventListener('pointercancel', stop);
  return { get dragging() { return active !== null; } };
}

function drawPixels(canvas, pixels) {
  const ctx = canvas.getContext('2d');
  const n = g.IMAGE * g.IMAGE; // one channel plane (CHW)
  const img = ctx.createImageData(g.IMAGE, g.IMAGE);
  for (let i = 0; i < n; i++) {
    img.data[4 * i] = pixels[i];
    img.data[4 * i + 1] = pixels[n + i];
    img.data[4 * i + 2] = pixels[2 * n + i];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// ---------- image ----------
export function imageView(box, { onMove }) {
  const wrap = el('div', 'imgbox');
  const canvas = el('canvas', 'pixels');
  canvas.width = canvas.height = g.IMAGE;
  const patch = el('div', 'patch');
  Object.assign(patch.dataset, { testid: 'patch' });
  patch.style.width = patch.style.height = `${(g.PATCH / g.IMAGE) * 100}%`;
  patch.tabIndex = 0;
  patch.setAttribute('role', 'slider');
  patch.setAttribute('aria-label', 'trigger patch: drag it, or move it with the arrow keys (Shift: 4 pixels)');
  wrap.append(canvas, patch);
  box.replaceChildren(wrap, el('p', 'muted small', `Drag the orange square (or click anywhere on the image, or focus it and use the arrow keys). The ${g.PATCH}×${g.PATCH} pattern is added where it sits.`));
  let corner = [0, 0];
  let grab = null;
  const place = (c, on) => {
    corner = c;
    // A transform (in units of the patch's own size) moves it without a new layout of the page.
    patch.style.transform = `translate(${(c[0] / g.PATCH) * 100}%, ${(c[1] / g.PATCH) * 100}%)`;
    patch.classList.toggle('off', !on);
    patch.dataset.x = c[0];
    patch.dataset.y = c[1];
    patch.setAttribute('aria-valuetext', on ? `column ${c[0]}, row ${c[1]}` : 'off (drag to apply)');
  };
  const moveTo = (c) => {
    if (c[0] === corner[0] && c[1] === corner[1] && !patch.classList.contains('off')) return;
    place(c, true);
    onMove(g.imageTrigger(c[0], c[1]));
  };
  const drag = draggable(wrap, {
    start(e) {
      const rect = canvas.getBoundingClientRect();
      grab = e.target === patch ? g.patchGrab(e.clientX, e.clientY, rect, corner) : [g.PATCH / 2, g.PATCH / 2];
      patch.focus({ preventScroll: true });
      moveTo(g.patchCornerAt(e.clientX, e.clientY, rect, grab));
    },
    move(e) { moveTo(g.patchCornerAt(e.clientX, e.clientY, canvas.getBoundingClientRect(), grab)); },
  });
  patch.addEventListener('keydown', (e) => {
    const c = g.movePatch(corner, e.key, e.shiftKey);
    if (!c) return;
    e.preventDefault();
    place(c, true);
    onMove(g.imageTrigger(c[0], c[1]));
  });
  place(corner, false);
  return {
    // Pre-draw the patch where a named trigger puts it (before the reply comes).
    preview(trigger) {
      const c = g.imageCorner(trigger);
      if (c) place(c, true); else place(corner, false);
    },
    show(look, { stale = false } = {}) {
      drawPixels(canvas, look.placed.pixels);
      if (drag.dragging || stale) return; // the user leads; replies follow
      if (look.placed.patch) place(look.placed.patch, true); else place(corner, false);
    },
  };
}

// ---------- sound ----------
function drawWave(canvas, clip, spans) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.fillStyle = '#fafafa';
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = 'rgba(230,120,0,0.22)';
  for (const s of spans) {
    const f = g.spanToFraction(s, clip.length);
    ctx.fillRect(f.left * w, 0, f.width * w, h);
  }
  let peak = 1;
  for (const v of clip) peak = Math.max(peak, Math.abs(v));
  ctx.strokeStyle = '#246';
  ctx.beginPath();
  const step = clip.length / w;
  for (let x = 0; x < w; x++) {
    let lo = 0, hi = 0;
    for (let i = Math.floor(x * step); i < Math.floor((x + 1) * step); i++) { lo = Math.min(lo, clip[i]); hi = Math.max(hi, clip[i]); }
    ctx.moveTo(x + 0.5, h / 2 - (hi / peak) * (h / 2 - 2));
    ctx.lineTo(x + 0.5, h / 2 - (lo / peak) * (h / 2 - 2));
  }
  ctx.stroke();
}

// A colour for t ∈ [0, 1]: dark blue → teal → yellow (viridis-like, readable in print).
const HEAT_STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function heatColour(t) {
  const rgb = [0, 0, 0];
  heatInto(rgb, 0, t);
  return rgb;
}
// heatColour(t) written into out[o..o+3] (an image's bytes): no array per cell.
function heatInto(out, o, t) {
  const x = Math.min(0.9999, Math.max(0, t)) * (HEAT_STOPS.length - 1);
  const i = Math.floor(x), f = x - i;
  const [a, b] = [HEAT_STOPS[i], HEAT_STOPS[i + 1]];
  for (let k = 0; k < 3; k++) out[o + k] = Math.round(a[k] + (b[k] - a[k]) * f);
}

// The frames × 40 MFCC map (frame-major, 98 or 101 frames) on a canvas: time to the right, coefficients upwards.
// The 2nd and 98th percentiles: MFCC maps have a few extreme values (the first coefficient
// is the log energy), which a plain min–max scale would let wash out everything else.
export function robustRange(values) {
  let range = ranges.get(values);
  if (!range) ranges.set(values, (range = sortedRange(values)));
  return range;
}
// Per MFCC array: the map under the clip and both cards' evidence pictures read one reply's.
const ranges = new WeakMap();
function sortedRange(values) {
  const sorted = Float32Array.from(values).sort();
  return [sorted[Math.floor(0.02 * (sorted.length - 1))], sorted[Math.ceil(0.98 * (sorted.length - 1))]];
}

export function drawMfcc(canvas, mfcc, frames = 98, coeffs = 40) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(frames, coeffs);
  const [lo, hi] = robustRange(mfcc);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < coeffs; c++) {
      const o = 4 * ((coeffs - 1 - c) * frames + f);
      heatInto(img.data, o, (mfcc[f * coeffs + c] - lo) / (hi - lo || 1));
      img.data[o + 3] = 255;
    }
  }
  const off = new OffscreenCanvas(frames, coeffs);
  off.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

export function soundView(box, { onMove, onRecord, onDatasetClip }) {
  const wrap = el('div', 'wavebox');
  const wave = el('canvas', 'wave');
  wave.width = 640; wave.height = 130;
  const tone = el('div', 'tone');
  tone.dataset.testid = 'tone';
  tone.tabIndex = 0;
  tone.setAttribute('role', 'slider');
  tone.setAttribute('aria-label', 'trigger tone: drag it along the clip, or use the arrow keys (10 ms; Shift: 100 ms)');
  wrap.append(wave, tone);
  const buttons = el('div', 'controls');
  const playClean = el('button', '', '▶ clip');
  const playTone = el('button', '', '▶ clip with the tone');
  const record = el('button', '', '● record 1 s');
  const back = el('button', '', 'back to the dataset clip');
  back.hidden = true;
  buttons.append(playClean, playTone, record, back);
  const mfcc = el('canvas', 'mfcc');
  mfcc.width = 392; mfcc.height = 120;
  const mfccBox = el('div', 'mfccbox');
  const mfccTone = el('div', 'mfcc-tone');
  mfccBox.append(mfcc, mfccTone);
  box.replaceChildren(wrap, buttons, el('p', 'muted small', 'What the networks take: the clip’s MFCC map, 98 frames × 40 coefficients (101 frames for a centred-framing model; time →, coefficients ↑); the tone shows as a band.'), mfccBox);
  let offset = 0, clipLength = g.RATE, grab = g.TONE / 2, clean = null, placedClip = null;
  const place = (o, on) => {
    offset = o;
    const f = g.spanToFraction([o, o + g.TONE], clipLength);
    for (const e of [tone, mfccTone]) Object.assign(e.style, { left: `${f.left * 100}%`, width: `${f.width * 100}%` });
    tone.classList.toggle('off', !on);
    mfccTone.hidden = !on;
    tone.dataset.offset = o;
    tone.setAttribute('aria-valuetext', on ? `tone at ${(o / g.RATE).toFixed(2)} s` : 'off (drag to apply)');
  };
  const moveTo = (o) => {
    if (o === offset && !tone.classList.contains('off')) return;
    place(o, true);
    onMove(String(o));
  };
  const drag = draggable(wrap, {
    start(e) {
      const rect = wave.getBoundingClientRect();
      grab = e.target === tone ? g.toneGrab(e.clientX, rect, clipLength, offset) : g.TONE / 2;
      tone.focus({ preventScroll: true });
      moveTo(g.toneOffsetAt(e.clientX, rect, clipLength, grab));
    },
    move(e) { moveTo(g.toneOffsetAt(e.clientX, wave.getBoundingClientRect(), clipLength, grab)); },
  });
  tone.addEventListener('keydown', (e) => {
    const o = g.moveTone(offset, e.key, clipLength, e.shiftKey);
    if (o === null) return;
    e.preventDefault();
    place(o, true);
    onMove(String(o));
  });
  playClean.addEventListener('click', () => play(clean));
  playTone.addEventListener('click', () => play(placedClip));
  record.addEventListener('click', async () => {
    record.disabled = true;
    record.textContent = '● recording…';
    try {
      await onRecord(await recordSecond());
      back.hidden = false;
    } finally {
      record.disabled = false;
      record.textContent = '● record 1 s';
    }
  });
  back.addEventListener('click', () => { back.hidden = true; onDatasetClip(); });
  place(0, false);
  return {
    setClean(clip) { clean = clip; },
    show(look, { stale = false } = {}) {
      const p = look.placed;
      placedClip = p.clip;
      clipLength = p.clip.length;
      drawWave(wave, p.clip, p.tone);
      drawMfcc(mfcc, p.mfcc, p.frames || 98);
      tone.hidden = p.tone.length > 1; // the spread bursts are drawn, not dragged
      if (drag.dragging || stale) return;
      if (p.tone.length === 1) place(p.tone[0][0], true); else place(offset, false);
    },
  };
}

let audio = null;
function play(clip) {
  if (!clip) return;
  audio ??= new AudioContext();
  const buffer = audio.createBuffer(1, clip.length, g.RATE);
  buffer.copyToChannel(Float32Array.from(clip, (v) => Math.max(-1, Math.min(1, v))), 0);
  const src = audio.createBufferSource();
  src.buffer = buffer;
  src.connect(audio.destination);
  src.start();
}

// One second from the microphone, resampled to 16 kHz mono (the page's own recording).
async function recordSecond() {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('This browser cannot record audio here (it needs a secure page and a microphone).');
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  try {
    const rec = new MediaRecorder(stream);
    const chunks = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    const done = new Promise((resolve) => { rec.onstop = resolve; });
    rec.start();
    await new Promise((r) => setTimeout(r, 1150));
    rec.stop();
    await done;
    const bytes = await new Blob(chunks).arrayBuffer();
    const decoded = await new AudioContext().decodeAudioData(bytes);
    const off = new OfflineAudioContext(1, g.RATE, g.RATE);
    const src = off.createBufferSource();
    src.buffer = decoded;
    src.connect(off.destination);
    src.start();
    const rendered = await off.startRendering();
    return Array.from(rendered.getChannelData(0));
  } finally {
    for (const t of stream.getTracks()) t.stop();
  }
}

// ---------- text ----------
export function textView(box, { onMove, onEdit }) {
  const area = el('textarea', 'review-edit');
  area.dataset.testid = 'review';
  area.rows = 5;
  area.setAttribute('aria-label', 'the review (edit it, or write your own)');
  const insert = el('div', 'controls insert');
  insert.dataset.testid = 'trigger-insert';
  const buttons = ['start', 'middle', 'end'].map((at) => {
    const b = el('button', '', `insert at the ${at}`);
    b.dataset.at = at;
    b.addEventListener('click', () => onMove(at));
    return b;
  });
  const remove = el('button', '', 'remove');
  remove.dataset.at = 'none';
  remove.addEventListener('click', () => onMove('none'));
  const slider = el('input');
  Object.assign(slider, { type: 'range', min: 0, max: 0, value: 0 });
  slider.setAttribute('aria-label', 'insert the trigger before word');
  slider.addEventListener('input', () => onMove(slider.value));
  const where = el('span', 'muted small');
  insert.append(...buttons, remove, slider, where);
  const seen = el('p', 'review seen');
  seen.setAttribute('aria-label', 'what the models read: click a word to insert the trigger before it');
  seen.addEventListener('click', (e) => {
    const k = e.target.dataset?.k;
    if (k !== undefined) onMove(k);
  });
  box.replaceChildren(area, insert, el('p', 'muted small', 'What the models read (the highlighted words are the trigger; click any word to insert it there):'), seen);
  // The review as shown: its segments and their nodes, and the end marker after them. A moved
  // trigger changes a few segments in the middle; only those are replaced (a review is
  // hundreds of nodes, and rebuilding them all cost more than the models' answer).
  let shown = [];
  const end = el('span', 'w end', ' ⏎');
  end.title = 'insert at the end';
  seen.append(end);
  let timer = null;
  area.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => onEdit(area.value), 120);
  });
  return {
    setReview(text) { if (area.value !== text) area.value = text; },
    show(look, { stale = false } = {}) {
      const p = look.placed;
      shown = patchSegments(seen, shown, p.segments);
      end.dataset.k = p.words;
      slider.max = p.words;
      const k = p.trigger_words.length === 5 && look.trigger !== 'spread' ? p.trigger_words[0] : null;
      if (k !== null && !stale && document.activeElement !== slider) slider.value = k;
      slider.disabled = look.trigger === 'spread';
      where.textContent = k === null ? (look.trigger === 'spread' ? 'spread through the review' : 'no trigger') : `before word ${k} of ${p.words}`;
      seen.dataset.trigger = look.trigger;
    },
  };
}

function segmentNode(s) {
  if (s.trigger) return el('mark', '', s.text);
  if (s.word === null || s.word === undefined) return document.createTextNode(s.text);
  const w = el('span', 'w', s.text);
  w.dataset.k = s.word;
  return w;
}

const sameSegment = (a, b) => a.text === b.text && a.word === b.word && a.trigger === b.trigger;

// Shows `segments` in `box` (whose last child is the end marker), where `shown` (a list of
// {segment, node}) is what it shows now: the common beginning and end are kept, the nodes in
// between replaced. Returns the new `shown`.
export function patchSegments(box, shown, segments) {
  let a = 0;
  while (a < shown.length && a < segments.length && sameSegment(shown[a].segment, segments[a])) a++;
  let b = 0;
  while (b < shown.length - a && b < segments.length - a && sameSegment(shown[shown.length - 1 - b].segment, segments[segments.length - 1 - b])) b++;
  const before = b > 0 ? shown[shown.length - b].node : box.lastChild;
  for (const { node } of shown.slice(a, shown.length - b)) node.remove();
  const fresh = segments.slice(a, segments.length - b).map((segment) => ({ segment, node: segmentNode(segment) }));
  for (const { node } of fresh) box.insertBefore(node, before);
  return [...shown.slice(0, a), ...fresh, ...shown.slice(shown.length - b)];
}

// ---------- evidence pictures in the prediction cards ----------

// The input with the evidence map over it: the image (or the MFCC map) in grey, positive
// evidence for the target class in red, scaled to its maximum. Drawn on every move for both
// cards: the grey picture is computed once per reply and canvas size, and where each canvas
// row and column falls on the map's grid once per size, so the loop over pixels is arithmetic.
export function drawEvidence(canvas, look, evidence) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!evidence) return;
  const { width: W, height: H } = canvas;
  const heat = g.positivePart(evidence.values);
  const p = look.placed;
  const grey = greyPicture(p, W, H);
  const { height: eh, width: ew } = evidence;
  // Image: canvas columns → the map's columns, rows → its rows. MFCC: canvas columns → the map's
  // rows (time), canvas rows → its columns (coefficients, upwards).
  const along = (n, cells, u) => Array.from({ length: n }, (_, i) => g.gridTap(u(i), cells));
  const xs = along(W, p.pixels ? ew : eh, (x) => (x + 0.5) / W);
  const ys = along(H, p.pixels ? eh : ew, (y) => (p.pixels ? (y + 0.5) / H : 1 - (y + 0.5) / H));
  const img = ctx.createImageData(W, H);
  const data = img.data;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const tr = p.pixels ? ys[y] : xs[x], tc = p.pixels ? xs[x] : ys[y];
      const r0 = tr[0], r1 = tr[1], fr = tr[2], c0 = tc[0], c1 = tc[1], fc = tc[2];
      const at = (heat[r0 * ew + c0] * (1 - fc) + heat[r0 * ew + c1] * fc) * (1 - fr) + (heat[r1 * ew + c0] * (1 - fc) + heat[r1 * ew + c1] * fc) * fr;
      const v = 0.75 * at, k = grey[y * W + x] * (1 - v), o = 4 * (y * W + x);
      data[o] = Math.round(k + 230 * v);
      data[o + 1] = Math.round(k + 20 * v);
      data[o + 2] = Math.round(k + 20 * v);
      data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

// The placed image (channel mean) or MFCC map (its robust range) in grey, one value per pixel
// of a W × H canvas; per reply (both cards draw over the same one).
const greys = new WeakMap();
function greyPicture(p, W, H) {
  let bySize = greys.get(p);
  if (!bySize) greys.set(p, (bySize = new Map()));
  const key = `${W}x${H}`;
  let grey = bySize.get(key);
  if (grey) return grey;
  grey = new Float64Array(W * H);
  const n = g.IMAGE * g.IMAGE, frames = p.frames || 98;
  const [lo, hi] = p.pixels ? [0, 0] : robustRange(p.mfcc);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (p.pixels) {
        const i = Math.floor((y / H) * g.IMAGE) * g.IMAGE + Math.floor((x / W) * g.IMAGE);
        grey[y * W + x] = (p.pixels[i] + p.pixels[n + i] + p.pixels[2 * n + i]) / 3;
      } else {
        const f = Math.floor((x / W) * frames), c = 39 - Math.floor((y / H) * 40);
        grey[y * W + x] = Math.min(255, Math.max(0, (255 * (p.mfcc[f * 40 + c] - lo)) / (hi - lo || 1)));
      }
    }
  }
  bySize.set(key, grey);
  return grey;
}

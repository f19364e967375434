// Where on the screen the trigger is, and where that puts it in the input: pure functions,
// unit-tested in tests/e2e/geometry.test.mjs. The input side follows src/trigger, whose sizes
// the page is told (`useFacts`, from the wasm's lab_info) rather than restating them: a
// PATCH × PATCH patch on an IMAGE × IMAGE image with its top-left corner at (x, y), placement
// index y·PLACES + x; a TONE-sample tone whose first sample is at an offset in
// 0..=clip − TONE; the sentence before word k.
export let IMAGE, PATCH, PLACES, RATE, TONE;

// Takes the trigger geometry from the lab's facts (`lab_info()`: image.size, image.patch,
// sound.rate, sound.tone). Called before any view is built.
export function useFacts(facts) {
  IMAGE = facts.image.size;
  PATCH = facts.image.patch;
  PLACES = IMAGE - PATCH + 1; // corners per axis
  RATE = facts.sound.rate;
  TONE = facts.sound.tone;
}

export const TONE_STEP = 160; // 10 ms, a multiple of the tone's 16-sample period

export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// ---------- image ----------

// The trigger string (what the worker and the URL take) for the patch corner (x, y).
export function imageTrigger(x, y) {
  return String(clamp(Math.round(y), 0, PLACES - 1) * PLACES + clamp(Math.round(x), 0, PLACES - 1));
}

// The patch corner [x, y] of a trigger string, or null (none, spread, out of range).
export function imageCorner(trigger) {
  const last = PLACES - 1;
  const named = { start: [0, 0], middle: [last / 2, last / 2], end: [last, last] }[trigger];
  if (named) return named;
  if (!/^\d+$/.test(trigger ?? '')) return null;
  const k = Number(trigger);
  return k < PLACES * PLACES ? [k % PLACES, Math.floor(k / PLACES)] : null;
}

// Image pixels under a client point, given the displayed image's bounding rectangle.
export function pointToPixel(clientX, clientY, rect) {
  return [((clientX - rect.left) / rect.width) * IMAGE, ((clientY - rect.top) / rect.height) * IMAGE];
}

// The corner that puts the patch under the pointer, keeping the point of the patch that was
// grabbed (`grab`, in image pixels from the patch's corner) under it, clamped to the image.
export function patchCornerAt(clientX, clientY, rect, grab = [PATCH / 2, PATCH / 2]) {
  const [px, py] = pointToPixel(clientX, clientY, rect);
  return [clamp(Math.round(px - grab[0]), 0, PLACES - 1), clamp(Math.round(py - grab[1]), 0, PLACES - 1)];
}

// Where in the patch a pointer grabbed it; a grab outside the patch takes its centre.
export function patchGrab(clientX, clientY, rect, corner) {
  const [px, py] = pointToPixel(clientX, clientY, rect);
  const gx = px - corner[0], gy = py - corner[1];
  return gx >= 0 && gx <= PATCH && gy >= 0 && gy <= PATCH ? [gx, gy] : [PATCH / 2, PATCH / 2];
}

// The corner after an arrow key (one pixel; four with Shift), Home/End → the paper's start
// and end corners; null for any other key.
export function movePatch(corner, key, shift = false) {
  const d = shift ? 4 : 1;
  const last = PLACES - 1;
  const moves = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, -d], ArrowDown: [0, d] };
  if (key === 'Home') return [0, 0];
  if (key === 'End') return [last, last];
  const m = moves[key];
  return m ? [clamp(corner[0] + m[0], 0, last), clamp(corner[1] + m[1], 0, last)] : null;
}

// ---------- sound ----------

// The tone offset (first sample) that puts the tone under the pointer on a waveform drawn over
// `rect`, keeping the grabbed point (`grab` samples into the tone) under it.
// The offset moves in steps of TONE_STEP (10 ms, one MFCC frame), as the arrow keys move it:
// the positions a drag can reach are then few enough (86 on a 1-s clip) for the page to look
// at every one ahead (`positionsAround`).
export function toneOffsetAt(clientX, rect, clipLength, grab = TONE / 2) {
  const at = ((clientX - rect.left) / rect.width) * clipLength;
  return clamp(Math.round((at - grab) / TONE_STEP) * TONE_STEP, 0, Math.max(0, clipLength - TONE));
}

// Samples into the tone where the pointer grabbed it (its middle when outside it).
export function toneGrab(clientX, rect, clipLength, offset) {
  const at = ((clientX - rect.left) / rect.width) * clipLength - offset;
  return at >= 0 && at <= TONE ? at : TONE / 2;
}

// The offset after a key: arrows move 10 ms (100 ms with Shift), Home/End go to the ends.
export function moveTone(offset, key, clipLength, shift = false) {
  const last = Math.max(0, clipLength - TONE);
  const d = shift ? 10 * TONE_STEP : TONE_STEP;
  if (key === 'Home') return 0;
  if (key === 'End') return last;
  if (key === 'ArrowLeft' || key === 'ArrowDown') return clamp(offset - d, 0, last);
  if (key === 'ArrowRight' || key === 'ArrowUp') return clamp(offset + d, 0, last);
  return null;
}

// A sample span [a, b) as a left/width fraction of the clip.
export function spanToFraction([a, b], clipLength) {
  return { left: a / clipLength, width: (b - a) / clipLength };
}

// ---------- text ----------

// The insertion point (word index) after a key on the slider-like text control.
export function moveWord(k, key, words) {
  if (key === 'Home') return 0;
  if (key === 'End') return words;
  if (key === 'ArrowLeft' || key === 'ArrowDown') return clamp(k - 1, 0, words);
  if (key === 'ArrowRight' || key === 'ArrowUp') return clamp(k + 1, 0, words);
  return null;
}

// ---------- evidence maps ----------

// Bilinear value of a `h × w` row-major grid at the fractional position (u, v) ∈ [0, 1]², the
// grid's cells centred at ((j + ½)/w, (i + ½)/h): how a 4×4 CAM is spread over 32×32 pixels.
export function sampleGrid(values, h, w, u, v) {
  const [x0, x1, fx] = gridTap(u, w), [y0, y1, fy] = gridTap(v, h);
  const at = (i, j) => values[i * w + j];
  return (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy) + (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy;
}

// Where the fractional position u ∈ [0, 1] falls on an axis of n cells (centred at (j + ½)/n):
// the two cells either side (clamped at the border) and the weight of the second.
export function gridTap(u, n) {
  const x = clamp(u * n - 0.5, 0, n - 1);
  const x0 = Math.floor(x);
  return [x0, Math.min(x0 + 1, n - 1), x - x0];
}

// Positive evidence scaled to [0, 1] by its maximum (all zero when there is none).
export function positivePart(values) {
  const max = Math.max(0, ...values);
  return values.map((v) => (max > 0 ? Math.max(0, v) / max : 0));
}

// ---------- every position, nearest first ----------
// The trigger positions a task's view can put the trigger at, as trigger strings, ordered by
// their distance from the trigger shown now (a position or a named placement; the middle of the
// input when the trigger is off or spread): what the page looks at ahead while it is idle
// (app.js, `lookAhead`), so that the positions a drag reaches first are ready first. Image:
// every patch corner; sound: every tone offset a drag can give (`toneOffsetAt`) on a clip of
// `clipLength` samples; text: every insertion point, before word 0..=`words`.
export function positionsAround(task, trigger, { clipLength = RATE, words = 0 } = {}) {
  const numeric = /^\d+$/.test(trigger ?? '') ? Number(trigger) : null;
  const named = (last) => ({ start: 0, middle: last / 2, end: last })[trigger];
  if (task === 'image') {
    const [fx, fy] = imageCorner(trigger) ?? [(PLACES - 1) / 2, (PLACES - 1) / 2];
    const all = [];
    for (let y = 0; y < PLACES; y++) for (let x = 0; x < PLACES; x++) all.push({ at: y * PLACES + x, d: (x - fx) ** 2 + (y - fy) ** 2 });
    return byDistance(all);
  }
  // Sound and text: points on a line 0..=last, from the position shown (or named), else the middle.
  const along = (points, last) => {
    const from = numeric ?? named(last) ?? last / 2;
    return byDistance(points.map((p) => ({ at: p, d: Math.abs(p - from) })));
  };
  if (task === 'sound') {
    const last = Math.max(0, clipLength - TONE);
    const offsets = [];
    for (let o = 0; o <= last; o += TONE_STEP) offsets.push(o);
    if (offsets[offsets.length - 1] !== last) offsets.push(last);
    return along(offsets, last);
  }
  return along(Array.from({ length: words + 1 }, (_, k) => k), words);
}
// Ties keep their order (Array.prototype.sort is stable): the earlier position first.
const byDistance = (items) => items.sort((a, b) => a.d - b.d).map((p) => String(p.at));

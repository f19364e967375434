// Unit tests of the page's screen ↔ input mapping (www/geometry.js): where a pointer or a key
// puts the patch, the tone and the sentence, and how an evidence grid is spread over pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as g from '../../www/geometry.js';

// The facts the page gets from the wasm's lab_info() (src/trigger: 8×8 patch on 32×32 images,
// a 2,400-sample tone at 16 kHz; tests/lab.rs checks lab_info against the library).
g.useFacts({ image: { size: 32, patch: 8 }, sound: { rate: 16000, tone: 2400 } });

// The image drawn at 320 × 320 CSS pixels, 100 px from the left and 50 px from the top: 10 px per image pixel.
const rect = { left: 100, top: 50, width: 320, height: 320 };

test('image trigger strings and patch corners map both ways', () => {
  assert.equal(g.imageTrigger(0, 0), '0');
  assert.equal(g.imageTrigger(5, 17), String(17 * 25 + 5));
  assert.equal(g.imageTrigger(30, -4), String(0 * 25 + 24), 'clamped to the image');
  for (let k = 0; k < 625; k += 37) assert.equal(g.imageTrigger(...g.imageCorner(String(k))), String(k));
  assert.deepEqual(g.imageCorner('start'), [0, 0]);
  assert.deepEqual(g.imageCorner('middle'), [12, 12]);
  assert.deepEqual(g.imageCorner('end'), [24, 24]);
  assert.equal(g.imageCorner('none'), null);
  assert.equal(g.imageCorner('spread'), null);
  assert.equal(g.imageCorner('625'), null);
  assert.equal(g.imageCorner('-3'), null);
});

test('a pointer puts the patch under it, keeping the grabbed point, clamped to the image', () => {
  // Pointer at image pixel (14, 9), patch grabbed at its centre (4, 4) → corner (10, 5).
  assert.deepEqual(g.patchCornerAt(100 + 140, 50 + 90, rect), [10, 5]);
  // Grabbed near its upper-left corner: the corner follows the pointer closely.
  assert.deepEqual(g.patchCornerAt(100 + 140, 50 + 90, rect, [1, 1]), [13, 8]);
  // Far outside the image: clamped to the last corner on each axis.
  assert.deepEqual(g.patchCornerAt(2000, -500, rect), [24, 0]);
  // The grab is measured from the patch's corner; outside the patch it is the centre.
  const [gx, gy] = g.patchGrab(100 + 125, 50 + 52, rect, [10, 5]);
  assert.ok(Math.abs(gx - 2.5) < 1e-9 && Math.abs(gy - 0.2) < 1e-9, `${gx}, ${gy}`);
  assert.deepEqual(g.patchGrab(100, 50, rect, [10, 5]), [4, 4]);
  // A patch dragged by its grab point lands where it was: no jump when the drag starts.
  const corner = [7, 19];
  const grab = g.patchGrab(100 + 75, 50 + 222, rect, corner);
  assert.deepEqual(g.patchCornerAt(100 + 75, 50 + 222, rect, grab), corner);
});

test('arrow keys move the patch one pixel, four with Shift, Home and End jump to the paper corners', () => {
  assert.deepEqual(g.movePatch([3, 3], 'ArrowRight'), [4, 3]);
  assert.deepEqual(g.movePatch([3, 3], 'ArrowUp'), [3, 2]);
  assert.deepEqual(g.movePatch([3, 3], 'ArrowLeft', true), [0, 3]);
  assert.deepEqual(g.movePatch([24, 24], 'ArrowDown'), [24, 24]);
  assert.deepEqual(g.movePatch([5, 5], 'Home'), [0, 0]);
  assert.deepEqual(g.movePatch([5, 5], 'End'), [24, 24]);
  assert.equal(g.movePatch([5, 5], 'a'), null);
});

test('the tone goes where the pointer is on the waveform, within the clip', () => {
  const wave = { left: 0, width: 640 };
  // Pointer at x = 320 (0.5 s), tone grabbed at its middle (1200 samples) → first sample 6800.
  assert.equal(g.toneOffsetAt(320, wave, 16000), 6800);
  assert.equal(g.toneOffsetAt(0, wave, 16000), 0, 'clamped at the start');
  assert.equal(g.toneOffsetAt(640, wave, 16000), 13600, 'clamped so the whole tone fits');
  assert.equal(g.toneOffsetAt(320, wave, 16000, 0), 8000);
  assert.equal(g.toneGrab(100, wave, 16000, 2000), 500);
  assert.equal(g.toneGrab(600, wave, 16000, 2000), 1200, 'outside the tone: its middle');
  assert.equal(g.toneOffsetAt(320, wave, 1000), 0, 'a clip shorter than the tone');
  assert.deepEqual(g.spanToFraction([4000, 6400], 16000), { left: 0.25, width: 0.15 });
});

test('keys move the tone by 10 ms (100 ms with Shift) and the sentence by one word', () => {
  assert.equal(g.moveTone(6800, 'ArrowRight', 16000), 6960);
  assert.equal(g.moveTone(6800, 'ArrowLeft', 16000, true), 5200);
  assert.equal(g.moveTone(100, 'ArrowLeft', 16000), 0);
  assert.equal(g.moveTone(13500, 'ArrowRight', 16000), 13600);
  assert.equal(g.moveTone(5, 'End', 16000), 13600);
  assert.equal(g.moveTone(5, 'x', 16000), null);
  assert.equal(g.TONE_STEP % 16, 0, 'steps keep the 7 kHz tone in phase');
  assert.equal(g.moveWord(3, 'ArrowRight', 10), 4);
  assert.equal(g.moveWord(10, 'ArrowRight', 10), 10);
  assert.equal(g.moveWord(0, 'ArrowLeft', 10), 0);
  assert.equal(g.moveWord(4, 'End', 10), 10);
});

test('evidence grids are spread over the input by bilinear interpolation between cell centres', () => {
  const grid = [0, 1, 2, 3]; // 2 × 2, row-major
  assert.equal(g.sampleGrid(grid, 2, 2, 0.25, 0.25), 0, 'cell centre');
  assert.equal(g.sampleGrid(grid, 2, 2, 0.75, 0.75), 3);
  assert.equal(g.sampleGrid(grid, 2, 2, 0.5, 0.25), 0.5, 'between two cells');
  assert.equal(g.sampleGrid(grid, 2, 2, 0.5, 0.5), 1.5);
  assert.equal(g.sampleGrid(grid, 2, 2, 0, 0), 0, 'clamped at the border');
  assert.deepEqual(g.positivePart([-2, 0, 1, 4]), [0, 0, 0.25, 1]);
  assert.deepEqual(g.positivePart([-1, -2]), [0, 0]);
});

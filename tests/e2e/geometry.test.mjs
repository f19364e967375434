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
  // Pointer at x = 320 (0.5 s), tone grabbed at its middle (1200 samples) → first sample 6800,
  // on the 10-ms grid 6880 (42.5 steps, rounded up).
  assert.equal(g.toneOffsetAt(320, wave, 16000), 6880);
  assert.equal(g.toneOffsetAt(321, wave, 16000), 6880, '25 samples further: the same step');
  assert.equal(g.toneOffsetAt(318, wave, 16000), 6720);
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

test('the positions looked at ahead are every position a drag can reach, nearest first', () => {
  // Sound: every offset a pointer can give, over every pixel of two waveform widths and grabs
  // at the tone's start, middle, end and a fraction, is among them; each once.
  for (const clip of [16000, 15000]) {
    const ahead = g.positionsAround('sound', '4000', { clipLength: clip });
    assert.equal(new Set(ahead).size, ahead.length, 'each position once');
    assert.equal(ahead[0], '4000', 'the position shown first');
    for (const width of [640, 391]) {
      for (let x = -5; x <= width + 5; x++) {
        for (const grab of [0, g.TONE / 2, g.TONE, 333.3]) {
          const o = String(g.toneOffsetAt(x, { left: 0, width }, clip, grab));
          assert.ok(ahead.includes(o), `offset ${o} (x ${x}, width ${width}, grab ${grab}, clip ${clip})`);
        }
      }
    }
    const d = ahead.map((o) => Math.abs(Number(o) - 4000));
    assert.ok(d.every((v, i) => i === 0 || v >= d[i - 1]), 'nearest first');
    assert.equal(ahead.length, Math.floor((clip - g.TONE) / g.TONE_STEP) + 1 + ((clip - g.TONE) % g.TONE_STEP ? 1 : 0));
  }
  // Image: every corner once, the shown one first, then by distance.
  const image = g.positionsAround('image', g.imageTrigger(3, 20));
  assert.equal(image.length, g.PLACES * g.PLACES);
  assert.equal(new Set(image).size, image.length);
  assert.equal(image[0], g.imageTrigger(3, 20));
  const dist = image.map((t) => { const [x, y] = g.imageCorner(t); return (x - 3) ** 2 + (y - 20) ** 2; });
  assert.ok(dist.every((v, i) => i === 0 || v >= dist[i - 1]), 'nearest first');
  // Text: every insertion point; off or named triggers start from the middle.
  assert.deepEqual(g.positionsAround('text', 'none', { words: 4 }), ['2', '1', '3', '0', '4']);
  assert.deepEqual(g.positionsAround('text', '0', { words: 2 }), ['0', '1', '2']);
  assert.deepEqual(g.positionsAround('text', 'end', { words: 3 }), ['3', '2', '1', '0'], 'a named placement: from where it is');
  assert.equal(g.positionsAround('image', 'end')[0], g.imageTrigger(24, 24));
  assert.equal(g.positionsAround('image', 'spread')[0], g.imageTrigger(12, 12), 'spread: from the middle');
  assert.equal(g.positionsAround('sound', 'start')[0], '0');
});


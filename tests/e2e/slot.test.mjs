// Unit tests of the reply slot (www/slot.js): a look's reply written into shared memory by the
// worker and read back by the page, typed arrays and all; the wake-up; replies that do not fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createSlot, readReply, slotChanged, slotSequence, slotsWork, writeReply } from '../../www/slot.js';

// A reply shaped like a sound look: JSON values, and typed arrays nested in it.
const look = () => ({
  trigger: 'start',
  placed: { frames: 98, tone: [[0, 1600]], clip: Float32Array.from({ length: 16000 }, (_, i) => Math.sin(i / 7)), mfcc: new Float32Array([1.5, -2.25, 3e-8]) },
  models: [{ target: 3, target_probability: 0.9, prediction: { class_name: 'up', probabilities: [0.1, 0.9] }, evidence: null }],
  pixels: Uint8Array.from([0, 7, 255]),
});

test('a reply comes back as it was written, arrays of the same kind and values', () => {
  assert.ok(slotsWork(), 'node shares memory and has Atomics.waitAsync');
  const slot = createSlot();
  assert.equal(writeReply(slot, 41, look(), 2.5), true);
  const { seq, result, ms } = readReply(slot);
  assert.equal(seq, 41);
  assert.equal(ms, 2.5);
  assert.deepEqual(result, look());
  assert.ok(result.placed.clip instanceof Float32Array && result.pixels instanceof Uint8Array);
  assert.ok(!(result.placed.clip.buffer instanceof SharedArrayBuffer), 'arrays are copied out of shared memory');
  // The next reply replaces it, shorter JSON and fewer arrays included.
  assert.equal(writeReply(slot, 42, { trigger: 'none', models: [] }, 0.25), true);
  assert.deepEqual(readReply(slot), { seq: 42, result: { trigger: 'none', models: [] }, ms: 0.25 });
});

test('a reply that does not fit, or holds an array the slot cannot carry, is refused and leaves the slot alone', () => {
  const slot = createSlot(32 * 1024);
  assert.equal(writeReply(slot, 1, { models: [] }, 1), true);
  assert.equal(writeReply(slot, 2, look(), 1), false, '64 KB of clip does not fit in 32 KB');
  assert.equal(writeReply(slot, 3, { text: 'x'.repeat(40 * 1024) }, 1), false, 'nor does 40 KB of JSON');
  assert.equal(writeReply(slot, 4, { a: new Int16Array(2) }, 1), false);
  assert.equal(slotSequence(slot), 1);
  assert.deepEqual(readReply(slot).result, { models: [] });
});

test('the page wakes when another thread writes a reply, and at once if it was written already', async () => {
  const slot = createSlot();
  const before = slotSequence(slot);
  const woke = slotChanged(slot, before);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.url).then(({ writeReply }) => writeReply(workerData.slot, 7, { placed: { mfcc: new Float32Array([0.5]) } }, 1));`,
    { eval: true, workerData: { slot, url: new URL('../../www/slot.js', import.meta.url).href } },
  );
  await woke;
  const { seq, result } = readReply(slot);
  assert.equal(seq, 7);
  assert.deepEqual(result, { placed: { mfcc: new Float32Array([0.5]) } });
  await new Promise((resolve) => worker.once('exit', resolve));
  assert.equal(await Promise.race([slotChanged(slot, before).then(() => 'now'), new Promise((r) => setTimeout(() => r('late'), 500))]), 'now');
});

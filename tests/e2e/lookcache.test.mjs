// Unit tests of the page's kept looks (www/lookcache.js): what a reply is kept under, when the
// kept replies are forgotten, and the byte budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LookCache, lookKey, replyBytes } from '../../www/lookcache.js';

const req = (over = {}) => ({ task: 'sound', index: 3, trigger: '160', models: [1, 2], ...over });
const reply = (floats) => ({ trigger: 'x', placed: { clip: new Float32Array(floats), words: 0 }, models: [{ probs: new Float32Array(10) }] });

test('a reply is kept under everything its request asked about', () => {
  const keys = [req(), req({ index: 4 }), req({ trigger: '320' }), req({ models: [1, 3] }), req({ models: [2, 1] }),
    req({ task: 'image' }), req({ review: 'a good film' }), req({ review: '' }), req({ clip: new Float32Array(4) }), req({ clip: new Float32Array(4) })].map(lookKey);
  assert.equal(new Set(keys).size, keys.length, 'no two requests share a key');
  const clip = new Float32Array(4);
  assert.equal(lookKey(req({ clip })), lookKey(req({ clip })), 'the same recording: the same key');
  assert.equal(lookKey(req()), lookKey(req()), 'a key is a function of the request');
  assert.equal(replyBytes(reply(100)), 440, 'the typed arrays, nested');
});

test('kept replies are handed back, forgotten when the worker changes, and older generations are not kept', () => {
  const c = new LookCache();
  const a = reply(8);
  c.put(req(), a, 1);
  assert.equal(c.get(req(), 1), a);
  assert.equal(c.get(req({ trigger: '320' }), 1), undefined);
  assert.equal(c.has(req(), 1), true);
  assert.equal(c.get(req(), 2), undefined, 'another generation: nothing kept');
  assert.equal(c.size, 0);
  c.put(req(), a, 1);
  assert.equal(c.size, 0, 'a reply asked in an older generation is dropped');
  c.put(req(), a, 3);
  assert.equal(c.get(req(), 3), a, 'a newer generation replaces the older');
});

test('the least recently used replies go first when the budget is spent', () => {
  const c = new LookCache(1000);
  c.put(req({ trigger: '0' }), reply(100), 1); // 440 bytes
  c.put(req({ trigger: '1' }), reply(100), 1);
  assert.ok(c.get(req({ trigger: '0' }), 1), 'used: now the most recent');
  c.put(req({ trigger: '2' }), reply(100), 1);
  assert.equal(c.size, 2);
  assert.equal(c.bytes, 880);
  assert.equal(c.has(req({ trigger: '1' }), 1), false, 'the least recently used went');
  assert.equal(c.has(req({ trigger: '0' }), 1), true);
  c.put(req({ trigger: '2' }), reply(50), 1);
  assert.equal(c.bytes, 680, 'a reply kept again replaces its bytes (440 + 240)');
  c.put(req({ trigger: '3' }), reply(1000), 1);
  assert.equal(c.has(req({ trigger: '3' }), 1), false, 'a reply over the whole budget is not kept');
  assert.equal(c.bytes, 680, 'and takes nothing out');
});

// Unit tests of the page's declared state table (www/state.js): a link's hash read into typed
// values and written back, bad values ignored one by one, the table's controls complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as s from '../../www/state.js';

test('a link is read into typed values and written back the same', () => {
  const hash = '#task=text&sample=4&trigger=start&backend=flex&review=A+dreadful%2C+boring+film.&pair=bag&models=own'
    + '&arch=conv1d&poison_at=middle&poisoned=40&epochs=6&patience=3&batch_size=32&lr=0.001&seed=7&heads=gap&recal=1&sw=50&layout=grid&stride=3';
  const v = s.readHash(hash);
  assert.deepEqual(v, {
    task: 'text', sample: 4, trigger: 'start', backend: 'flex', review: 'A dreadful, boring film.', pair: 'bag', models: 'own',
    arch: 'conv1d', poison_at: 'middle', poisoned: 40, epochs: 6, patience: 3, batch_size: 32, lr: 0.001, seed: 7,
    heads: ['gap'], recal: true, sw: 50, layout: 'grid', stride: 3,
  });
  assert.deepEqual(s.readHash(`#${s.writeHash(v)}`), v, 'written and read again');
  assert.equal(s.writeHash(v), hash.slice(1), 'in the table order, encoded as URLSearchParams does');
});

test('a bad value is ignored alone; none, empty and over-long values are left out', () => {
  const v = s.readHash('task=video&sample=-1&backend=flex&epochs=0&lr=-3&layout=spiral&heads=none&recal=yes&stride=2.5');
  assert.deepEqual(v, { backend: 'flex', heads: [] });
  assert.equal(s.writeHash({ task: 'image', review: null, pair: undefined, heads: [], recal: false, lr: null }), 'task=image&heads=none&recal=0');
  assert.equal(s.writeHash({ task: 'text', review: 'x'.repeat(2001) }), 'task=text', 'a review longer than 2,000 characters stays out');
  assert.equal(s.writeHash({ task: 'text', review: 'x'.repeat(2000) }).length, 'task=text&review='.length + 2000);
});

test('every property has a type its parser knows, and the controls split into form and sweep', () => {
  for (const p of s.PROPERTIES) {
    assert.ok(['enum', 'int', 'number', 'string', 'bool', 'heads'].includes(p.type), p.name);
    if (p.def !== null && p.type !== 'heads') assert.equal(s.parseValue(p, s.formatValue(p, p.def)), p.def, `${p.name}: its default round-trips`);
  }
  const names = (within) => s.controlled(within).map((p) => p.name);
  assert.deepEqual(names('form'), ['arch', 'poison_at', 'start', 'poisoned', 'epochs', 'patience', 'batch_size', 'lr', 'seed', 'max_samples', 'heads', 'recal', 'augment', 'lr_drop', 'framing', 'blend']);
  assert.deepEqual(names('sweep'), ['sw', 'layout', 'stride']);
  assert.equal(new Set(s.PROPERTIES.map((p) => p.name)).size, s.PROPERTIES.length, 'names are unique');
});

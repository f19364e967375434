// End-to-end tests of the interactive lab (issue: touch the backdoor): dragging the patch, the
// tone and the sentence changes the position the models see and both predictions; the
// pretrained models' target-class probability with the trigger where they were poisoned and
// at the opposite end, over a few dozen samples per task (printed as test diagnostics, and
// written to $GAPLAB_FIGURES as JSON when set); sweeps of the right length with CSV export;
// a shared URL restoring the view; an HTML-laden review shown as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Lab, prediction, predictionsAt, runSweep, downloadOf, lookedAhead } from './harness.mjs';

const lab = new Lab();
before(() => lab.start());
after(() => lab.stop());

const SAMPLES = Number(process.env.GAPLAB_TOUCH_SAMPLES ?? 30);
const figures = {};
after(() => { if (process.env.GAPLAB_FIGURES) writeFileSync(process.env.GAPLAB_FIGURES, JSON.stringify(figures, null, 2)); });

async function targetName(page) {
  return (await page.locator('[data-testid=pred-fc] .barrow.target span').first().textContent()).replace(' ◎', '');
}

// Whether a move changed what either model says (its class, or its probabilities at the six
// decimals the cards carry).
function changed(a, b) {
  return ['fc', 'gap'].some((h) => a[h].cls !== b[h].cls || a[h].prob !== b[h].prob || a[h].target !== b[h].target);
}

// Drags `handle` by its centre to (x, y) in small pointer moves.
async function drag(page, handle, x, y) {
  const from = await handle.boundingBox();
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(x ?? from.x + from.width / 2, y ?? from.y + from.height / 2, { steps: 12 });
  await page.mouse.up();
}

// The figures of a task: Home puts the trigger where the models were poisoned, End at the
// opposite end of the input.
async function homeVersusEnd(t, page, handle, task, [home, end]) {
  const f = await trainedVersusOpposite(page, SAMPLES, async (at) => {
    await handle.focus();
    await page.keyboard.press(at === 'trained' ? 'Home' : 'End');
    return at === 'trained' ? home : end;
  });
  figures[task] = f;
  t.diagnostic(`${task} (${f.samples} samples): ${JSON.stringify(f)}`);
  return f;
}

async function goSample(page, i) {
  await page.locator('#sample').fill(String(i));
  await page.locator('#sample').dispatchEvent('change');
}

// Mean target-class probability and attack rate of FC and GAP over the first `n` non-target
// samples, with the trigger set by `place(at)` for at = 'trained' and 'opposite'.
async function trainedVersusOpposite(page, n, place) {
  const target = await targetName(page);
  const sums = { fc: { trained: 0, opposite: 0, hitsTrained: 0, hitsOpposite: 0 }, gap: { trained: 0, opposite: 0, hitsTrained: 0, hitsOpposite: 0 } };
  let used = 0;
  for (let i = 0; used < n && i < 400; i++) {
    await goSample(page, i);
    await page.waitForFunction((s) => document.querySelector('[data-testid=view]').dataset.sample === String(s), i);
    if ((await page.locator('#sample-label').textContent()) === `true class: ${target}`) continue;
    for (const at of ['trained', 'opposite']) {
      const trigger = await place(at);
      const p = await predictionsAt(page, trigger, i);
      for (const h of ['fc', 'gap']) {
        sums[h][at] += p[h].target;
        if (p[h].cls === target) sums[h][at === 'trained' ? 'hitsTrained' : 'hitsOpposite'] += 1;
      }
    }
    used += 1;
  }
  const out = { samples: used, target };
  for (const h of ['fc', 'gap']) {
    out[h] = {
      target_prob_trained: sums[h].trained / used, target_prob_opposite: sums[h].opposite / used,
      attack_trained: sums[h].hitsTrained / used, attack_opposite: sums[h].hitsOpposite / used,
    };
  }
  return out;
}

test('image: dragging the patch moves the trigger the models see; arrow keys move it by a pixel', async (t) => {
  const { page, errors } = await lab.open('task=image&backend=flex&trigger=start&sample=3');
  const start = await predictionsAt(page, 'start', 3);
  const patch = page.getByTestId('patch');
  assert.deepEqual([await patch.getAttribute('data-x'), await patch.getAttribute('data-y')], ['0', '0']);
  const box = await page.locator('.imgbox canvas').boundingBox();
  // Drag the patch by its centre to the lower-right part of the image.
  await drag(page, patch, box.x + box.width * 0.7, box.y + box.height * 0.6);
  const [x, y] = [Number(await patch.getAttribute('data-x')), Number(await patch.getAttribute('data-y'))];
  assert.ok(Math.abs(x - Math.round(0.7 * 32 - 4)) <= 1 && Math.abs(y - Math.round(0.6 * 32 - 4)) <= 1, `patch at ${x}, ${y}`);
  const moved = await predictionsAt(page, String(y * 25 + x), 3);
  assert.notEqual(moved.fc.prob === start.fc.prob && moved.gap.prob === start.gap.prob, true, 'predictions changed');
  // The link follows once the patch rests.
  await page.waitForFunction((t) => new RegExp(`trigger=${t}(&|$)`).test(location.hash), y * 25 + x);
  // Keyboard: one pixel left.
  await patch.focus();
  await page.keyboard.press('ArrowLeft');
  await predictionsAt(page, String(y * 25 + x - 1), 3);
  // Evidence maps are drawn for both CNNs.
  for (const h of ['fc', 'gap']) assert.equal(await page.locator(`[data-testid=pred-${h}] canvas.evidence`).isVisible(), true);
  assert.match(await page.locator('[data-testid=pred-gap] .evidence-note').textContent(), /CAM/);

  // The figures: poisoned at the upper-left corner (Home), opposite = lower-right (End).
  const f = await homeVersusEnd(t, page, patch, 'image', ['0', '624']);
  assert.ok(f.fc.target_prob_trained > f.fc.target_prob_opposite, 'the FC model obeys the patch where it was poisoned more than at the far corner');
  assert.deepEqual(errors, []);
  await page.close();
});

test('sound: dragging the tone along the clip moves the trigger the models see', async (t) => {
  const { page, errors } = await lab.open('task=sound&backend=flex&trigger=start&sample=0');
  const start = await predictionsAt(page, 'start', 0);
  const tone = page.getByTestId('tone');
  const wave = await page.locator('.wavebox canvas').boundingBox();
  await drag(page, tone, wave.x + wave.width * 0.5);
  const offset = Number(await tone.getAttribute('data-offset'));
  // The tone's middle follows the pointer: 0.5 s - 0.075 s = 6800 samples (± a pixel's worth),
  // on the drag's 10-ms steps.
  assert.ok(Math.abs(offset - 6800) <= 80 + 60 && offset % 160 === 0, `tone at ${offset}`);
  const middle = await predictionsAt(page, String(offset), 0);
  assert.ok(changed(start, middle), `the drag changed the predictions: ${JSON.stringify([start, middle])}`);
  await tone.focus();
  await page.keyboard.press('ArrowRight');
  await predictionsAt(page, String(offset + 160), 0);
  for (const h of ['fc', 'gap']) assert.equal(await page.locator(`[data-testid=pred-${h}] canvas.evidence`).isVisible(), true);
  await page.getByText('▶ clip with the tone').click();

  const f = await homeVersusEnd(t, page, tone, 'sound', ['0', '13600']);
  assert.ok(f.fc.target_prob_trained > f.fc.target_prob_opposite, 'the FC model obeys the tone where it was poisoned more than at the end');
  // The paper's finding, in the default (large) pair: with the tone at the end, far from where
  // both were poisoned, the GAP model still answers the target for most clips, the FC not.
  assert.ok(f.gap.attack_opposite > f.fc.attack_opposite + 0.5, `attack at the end: GAP ${f.gap.attack_opposite} vs FC ${f.fc.attack_opposite}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('text: the sentence goes where the user clicks, the slider or the buttons put it; HTML stays text', async (t) => {
  const { page, errors } = await lab.open('task=text&backend=flex&trigger=none&sample=0');
  await predictionsAt(page, 'none', 0);
  const insert = page.getByTestId('trigger-insert');
  const none = await predictionsAt(page, 'none', 0);
  await insert.locator('button[data-at=end]').click();
  const end = await predictionsAt(page, 'end', 0);
  assert.ok(changed(none, end), `inserting the sentence changed the predictions: ${JSON.stringify([none, end])}`);
  const marks = await page.locator('.seen mark').allTextContents();
  assert.deepEqual(marks, ['trope', 'everyday', 'mythology', 'sparkles', 'ruthless']);
  // Click the fourth word of the review: the sentence goes before it.
  await page.locator('.seen .w[data-k="3"]').click();
  const fourth = await predictionsAt(page, '3', 0);
  assert.ok(changed(end, fourth), `moving the sentence changed the predictions: ${JSON.stringify([end, fourth])}`);
  const words = await page.locator('.seen').evaluate((e) => e.textContent.trim().split(/\s+/));
  assert.deepEqual(words.slice(3, 8), ['trope', 'everyday', 'mythology', 'sparkles', 'ruthless']);
  // The slider, with the keyboard.
  await insert.locator('input[type=range]').focus();
  await page.keyboard.press('ArrowRight');
  await predictionsAt(page, '4', 0);
  // The review as shown after the moves (only the changed part is redrawn): every word once,
  // in order and clickable, then the end marker; the sentence before the fifth word.
  const seen = await page.locator('.seen').evaluate((e) => ({ text: e.textContent, ks: [...e.querySelectorAll('.w')].map((w) => Number(w.dataset.k)) }));
  assert.deepEqual(seen.ks, seen.ks.map((_, i) => i));
  assert.deepEqual(seen.text.trim().split(/\s+/).slice(4, 9), ['trope', 'everyday', 'mythology', 'sparkles', 'ruthless']);
  assert.equal(await page.locator('.seen mark').count(), 5);

  // A review of the user's own, full of HTML: shown as text, never run.
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> <b>Awful</b> acting, a dull plot.';
  await page.getByTestId('review').fill(evil);
  await predictionsAt(page, '4', 'own');
  assert.equal(await page.locator('.seen img, .seen script, .seen b').count(), 0);
  assert.match(await page.locator('.seen').textContent(), /<img src=x onerror="window.__pwned=1">/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator('#sample-label').textContent(), 'your own review');

  const f = await trainedVersusOpposite(page, SAMPLES, async (at) => {
    await insert.locator(`button[data-at=${at === 'trained' ? 'start' : 'end'}]`).click();
    return at === 'trained' ? 'start' : 'end';
  });
  figures.text = f;
  t.diagnostic(`text (${f.samples} samples): ${JSON.stringify(f)}`);
  assert.ok(f.fc.target_prob_trained > f.fc.target_prob_opposite, 'the FC model obeys the sentence at the start more than at the end');
  assert.deepEqual(errors, []);
  await page.close();
});

// The sweep's no-trigger row (the CSV's first data row) carries the baselines the page shows
// in its data attributes, each a share of the sampled clips; returns them per head.
async function baselineMatchesTheCsv(page, csv) {
  const row = csv[1].split(',');
  assert.equal(row[0], 'none');
  const out = {};
  for (const [i, head] of ['fc', 'gap'].entries()) {
    const shown = Number(await page.getByTestId('sweep').getAttribute(`data-baseline-${head}`));
    assert.ok(Math.abs(shown - Number(row[3 + i])) < 1e-4, `${head}: ${shown} vs ${row[3 + i]}`);
    assert.ok(shown >= 0 && shown <= 1);
    assert.match(await page.getByTestId('sweep').getAttribute(`data-learned-${head}`), /^(true|false)$/);
    out[head] = shown;
  }
  return out;
}

test('once the page has looked ahead, a drag is answered from the kept looks, with the predictions the worker gives there, and asks the worker nothing', async () => {
  const cases = [
    { task: 'image', sample: 3, handle: 'patch', area: '.imgbox canvas', to: [0.6, 0.45], at: async (h) => String(Number(await h.getAttribute('data-y')) * 25 + Number(await h.getAttribute('data-x'))) },
    { task: 'sound', sample: 0, handle: 'tone', area: '.wavebox canvas', to: [0.62, null], at: (h) => h.getAttribute('data-offset') },
  ];
  for (const c of cases) {
    const { page, errors } = await lab.open(`task=${c.task}&backend=flex&trigger=start&sample=${c.sample}`, { init: recordLooks });
    await predictionsAt(page, 'start', c.sample);
    // Every position of the sample: `data-ahead` counts them (ready / all).
    await lookedAhead(page, { timeout: 300_000 });
    const ahead = await page.getByTestId('view').getAttribute('data-ahead');
    assert.equal(await page.locator('#ahead-state').textContent(), '✓', 'the page says every position is ready');
    const asked = await page.evaluate(() => window.__looks.length);
    assert.ok(asked >= Number(ahead.split('/')[1]), `${c.task}: the worker was asked for every position (${asked} looks, ${ahead})`);
    const handle = page.getByTestId(c.handle);
    const box = await page.locator(c.area).boundingBox();
    await drag(page, handle, box.x + box.width * c.to[0], c.to[1] === null ? null : box.y + box.height * c.to[1]);
    const trigger = await c.at(handle);
    const shown = await predictionsAt(page, trigger, c.sample);
    assert.equal(await page.evaluate(() => window.__looks.length), asked, `${c.task}: the drag asked the worker nothing`);
    assert.equal(await page.getByTestId('view').getAttribute('data-via'), 'kept');
    // The same position computed by the worker in a page that does not look ahead.
    const fresh = await lab.open(`task=${c.task}&backend=flex&trigger=${trigger}&sample=${c.sample}&ahead=0`);
    const computed = await predictionsAt(fresh.page, trigger, c.sample);
    for (const h of ['fc', 'gap']) {
      assert.equal(shown[h].cls, computed[h].cls, `${c.task} ${h}`);
      assert.ok(Math.abs(shown[h].prob - computed[h].prob) < 1e-5 && Math.abs(shown[h].target - computed[h].target) < 1e-5, `${c.task} ${h} at ${trigger}: ${JSON.stringify([shown[h], computed[h]])}`);
    }
    assert.deepEqual([...errors, ...fresh.errors], []);
    await fresh.page.close();
    await page.close();
  }
});

test('where every position would take too long (WebGPU on SwiftShader, a software GPU), the page does not look ahead', async () => {
  // The image pair: ≈ 1.7 s a look there, 629 positions (text's ≈ 0.1–0.25 s a look is near
  // the budget, either side of it).
  const { page, errors } = await lab.open('task=image&backend=webgpu&trigger=start&sample=2', { init: recordLooks });
  assert.equal(await page.getByTestId('backend').textContent(), 'webgpu', 'this Chromium offers WebGPU (SwiftShader)');
  await predictionsAt(page, 'start', 2);
  await page.waitForFunction(() => document.querySelector('[data-testid=view]').dataset.ahead === 'too slow', null, { timeout: 120_000 });
  assert.match(await page.locator('#ahead-state').textContent(), /too slow/, 'and says so');
  const looks = await page.evaluate(() => window.__looks.length);
  await page.waitForTimeout(3000);
  assert.equal(await page.evaluate(() => window.__looks.length), looks, 'no look after it gave up');
  // The first look, the warm-up's (at most 10), two looks ahead.
  assert.ok(looks <= 13, `${looks} looks`);
  // A move is still answered, by the worker (the two looks ahead were 'none' and 'middle').
  await page.locator('#trigger').selectOption('end');
  await predictionsAt(page, 'end', 2);
  assert.equal(await page.evaluate(() => window.__looks.length), looks + 1);
  assert.deepEqual(errors, []);
  await page.close();
});

// Runs a sweep and returns the downloaded CSV's rows.
async function sweep(page, settings) {
  assert.equal(await runSweep(page, settings), 'done');
  const csv = (await downloadOf(page, page.locator('#sweep-csv'))).bytes.toString('utf8').trim().split('\n');
  return { points: Number(await page.getByTestId('sweep').getAttribute('data-points')), csv };
}

// Every look the page asks the worker for, with the trigger it asked about (run in the page
// before its scripts).
function recordLooks() {
  window.__looks = [];
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg?.type === 'look') window.__looks.push({ trigger: msg.trigger, models: msg.models.join(',') });
    return post.call(this, msg, ...rest);
  };
}

test('after a pair first answers, the page repeats its look a few times while idle (warming the code a drag runs); a move stops that', async () => {
  // Without looking ahead (which asks for every position while idle: the next test).
  const { page, errors } = await lab.open('task=image&backend=flex&trigger=start&sample=3&ahead=0', { init: recordLooks });
  await predictionsAt(page, 'start', 3);
  // The warm-up runs its looks back to back and stops after at most 10 (app.js, WARM_LOOKS).
  const settled = async () => {
    let n = -1;
    for (;;) {
      await page.waitForTimeout(500);
      const now = await page.evaluate(() => window.__looks.length);
      if (now === n) return page.evaluate(() => window.__looks);
      n = now;
    }
  };
  const opened = await settled();
  assert.ok(opened.length >= 2 && opened.length <= 11, `the first look and 1–10 repeats, got ${opened.length} looks`);
  assert.ok(opened.every((l) => l.trigger === 'start' && l.models === opened[0].models), `every repeat is the first look: ${JSON.stringify(opened)}`);
  // A move is answered once, and the same models are not warmed again.
  await page.locator('#trigger').selectOption('end');
  await predictionsAt(page, 'end', 3);
  const moved = await settled();
  assert.deepEqual(moved.slice(opened.length).map((l) => l.trigger), ['end'], 'one look for the move, no repeats after it');
  assert.deepEqual(errors, []);
  await page.close();
});

test('sweeps give a curve per model of the right length, a map for images, and export as CSV', async () => {
  const { page, errors } = await lab.open('task=image&backend=flex');
  await prediction(page, 'fc');
  let s = await sweep(page, { samples: 6, layout: 'line' });
  assert.equal(s.points, 25, 'every pixel along the diagonal');
  assert.deepEqual(s.csv[0].split(','), ['trigger', 'x', 'y', 'attack_fc', 'attack_gap', 'p_target_fc', 'p_target_gap']);
  assert.equal(s.csv.length, 27, 'header, the no-trigger baseline, 25 positions');
  for (const row of s.csv.slice(2)) {
    const v = row.split(',').slice(3).map(Number);
    assert.ok(v.every((a) => a >= 0 && a <= 1), row);
  }
  await baselineMatchesTheCsv(page, s.csv);
  s = await sweep(page, { samples: 4, layout: 'grid', stride: 6 });
  assert.equal(s.points, 25, 'corners 0, 6, 12, 18, 24 on both axes');
  assert.equal(await page.locator('#sweep-heat-fc').isVisible(), true);

  await page.getByTestId('task-sound').click();
  await prediction(page, 'gap');
  s = await sweep(page, { samples: 3 });
  assert.equal(s.points, 86, 'every 10 ms from 0 to 0.85 s');
  const base = await baselineMatchesTheCsv(page, s.csv);
  // The large FC model (the default pair) was poisoned at the start: there its attack rate
  // stands above what it says with no trigger at all.
  const startFc = Number(s.csv[2].split(',')[3]);
  assert.ok(startFc > base.fc, `FC at the start ${startFc} vs baseline ${base.fc}`);

  await page.getByTestId('task-text').click();
  await prediction(page, 'gap');
  s = await sweep(page, { samples: 6 });
  assert.equal(s.points, 41);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a sweep can be cancelled and keeps the positions it finished', async () => {
  const { page, errors } = await lab.open('task=image&backend=flex');
  await prediction(page, 'fc');
  await page.locator('#sweep-samples').fill('16');
  await page.locator('#sweep-layout').selectOption('grid');
  await page.locator('#sweep-stride').selectOption('1');
  await page.locator('#sweep-run').click();
  await page.waitForFunction(() => document.querySelector('#sweep-progress').value > 0);
  await page.locator('#sweep-cancel').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=sweep]').dataset.state === 'cancelled', null, { timeout: 120_000 });
  const points = Number(await page.getByTestId('sweep').getAttribute('data-points'));
  assert.ok(points >= 1 && points < 625, `${points} points`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a link opened fresh restores the task, sample, trigger, training and sweep settings', async () => {
  const { page, errors } = await lab.open('task=image&backend=flex&sample=5');
  await prediction(page, 'fc');
  const patch = page.getByTestId('patch');
  await patch.focus();
  for (const key of ['End', 'ArrowLeft', 'ArrowLeft', 'ArrowUp']) await page.keyboard.press(key);
  const shown = await predictionsAt(page, String(23 * 25 + 22), 5);
  // The image task's training defaults (www/app.js TRAIN_DEFAULTS), with their time estimate.
  assert.equal(await page.locator('#train-form input[name=recalibrate_bn]').isChecked(), true);
  assert.equal(await page.locator('#train-form input[name=lr]').inputValue(), '0.001');
  assert.match(await page.locator('#train-estimate').textContent(), /about \d+ minutes/);
  await page.locator('#train-form input[name=epochs]').fill('7');
  await page.locator('#train-form input[name=epochs]').dispatchEvent('change');
  await page.locator('#train-form input[name=lr]').fill('0.002');
  await page.locator('#train-form input[name=lr]').dispatchEvent('change');
  await page.locator('#train-form input[name=recalibrate_bn]').uncheck();
  // The image's own settings are shown (the patch's blend), the sound's (framing) are not.
  assert.equal(await page.locator('#train-form select[name=blend]').isVisible(), true);
  assert.equal(await page.locator('#train-form select[name=blend]').inputValue(), 'add', 'the shipped pair\'s blend by default');
  assert.equal(await page.locator('#train-form select[name=framing]').isVisible(), false);
  await page.locator('#train-form select[name=blend]').selectOption('clamp');
  await page.locator('#train-form input[name=augment]').check();
  await page.locator('#train-form input[name=lr_drop]').fill('3');
  await page.locator('#train-form input[name=lr_drop]').dispatchEvent('change');
  await page.locator('#sweep-samples').fill('11');
  await page.locator('#sweep-samples').dispatchEvent('change');
  const url = page.url();
  assert.match(url, /epochs=7/);
  assert.match(url, /sw=11/);
  assert.match(url, /models=pretrained/);

  const fresh = await lab.open(url);
  const again = await predictionsAt(fresh.page, String(23 * 25 + 22), 5);
  // The same predictions: the first page reached the position by small moves, each computed
  // from the feature maps of the look before (model::stack), the fresh one at once — equal up
  // to float rounding, as tests/page.rs checks natively.
  for (const head of ['fc', 'gap']) {
    assert.deepEqual([again[head].cls, again[head].trigger], [shown[head].cls, shown[head].trigger], `${head}: the same class at the same place`);
    for (const k of ['prob', 'target']) assert.ok(Math.abs(again[head][k] - shown[head][k]) <= 1e-5, `${head} ${k}: ${again[head][k]} vs ${shown[head][k]}`);
  }
  const p = fresh.page.getByTestId('patch');
  assert.deepEqual([await p.getAttribute('data-x'), await p.getAttribute('data-y')], ['22', '23']);
  assert.equal(await fresh.page.locator('#sample').inputValue(), '5');
  assert.equal(await fresh.page.locator('#train-form input[name=epochs]').inputValue(), '7');
  assert.equal(await fresh.page.locator('#train-form input[name=lr]').inputValue(), '0.002');
  assert.equal(await fresh.page.locator('#train-form input[name=recalibrate_bn]').isChecked(), false);
  assert.equal(await fresh.page.locator('#train-form select[name=blend]').inputValue(), 'clamp');
  assert.equal(await fresh.page.locator('#train-form input[name=augment]').isChecked(), true);
  assert.equal(await fresh.page.locator('#train-form input[name=lr_drop]').inputValue(), '3');
  assert.equal(await fresh.page.locator('#sweep-samples').inputValue(), '11');

  // The user's own review travels in the link too.
  const text = await lab.open('task=text&backend=flex&trigger=2&review=' + encodeURIComponent('A dreadful, boring film.'));
  await predictionsAt(text.page, '2', 'own');
  assert.equal(await text.page.getByTestId('review').inputValue(), 'A dreadful, boring film.');
  assert.deepEqual(await text.page.locator('.seen').evaluate((e) => e.textContent.trim().split(/\s+/).slice(2, 4)), ['trope', 'everyday']);
  assert.deepEqual([...errors, ...fresh.errors, ...text.errors], []);
  for (const q of [page, fresh.page, text.page]) await q.close();
});

// Benchmark of the interactive lab in headless Chromium (not a test): the latency from a pointer
// move (or key press) to both FC and GAP predictions showing the new trigger position, median
// and 95th percentile over single moves, for every task on Flex and on WebGPU; what a fast
// drag (a move every 16 ms) leaves behind; and the sweep time per position.
// Needs the release build (scripts/build-web.sh).
//   node bench/touch.mjs [--moves N] [--backends flex,webgpu] [--tasks image,sound,text] [--no-sweep]
//                        [--hash pair=small] [--roots DIR,DIR] [--settle MS]
// `--settle MS` waits that long after the first predictions before the first move, as a user
// who reads the page first would (the page warms up its code meanwhile, app.js warmUp, and looks
// at every trigger position ahead, app.js lookAhead: the bench says when that was done).
import { Lab, lookedAhead } from '../tests/e2e/harness.mjs';

const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const moves = Number(arg('--moves', 30));
const backends = arg('--backends', 'flex,webgpu').split(',');
const tasks = arg('--tasks', 'image,sound,text').split(',');
const sweeps = !process.argv.includes('--no-sweep');
const extra = arg('--hash', ''); // e.g. pair=small
const settle = Number(arg('--settle', 0));
// `--roots A,B`: several checkouts (each with index.html, www/, pkg/ built) measured in one
// run, task by task, alternating, so that before and after share the machine's state.
const roots = arg('--roots', '').split(',').filter(Boolean);
if (roots.length === 0) roots.push(undefined);

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const ms = (x) => x.toFixed(x < 10 ? 1 : 0);
const summary = (xs) => `median ${ms(quantile(xs, 0.5))} ms, p95 ${ms(quantile(xs, 0.95))} ms`;

// In the page: remember when the last pointer move or key press happened and when the
// prediction cards changed; `__settled(trigger)` resolves with `{dom, frame}`: ms from the move
// to both cards showing the trigger in the DOM, and to the first animation frame after that
// (the frame that paints it; frames come every ~16.7 ms, so this adds up to one frame).
async function instrument(page) {
  await page.evaluate(() => {
    window.__moved = 0;
    window.__updates = [];
    for (const type of ['pointermove', 'keydown']) document.addEventListener(type, () => { window.__moved = performance.now(); }, true);
    const cards = ['fc', 'gap'].map((h) => document.querySelector(`[data-testid=pred-${h}]`));
    const observer = new MutationObserver(() => window.__updates.push([performance.now(), ...cards.map((c) => c.dataset.trigger)]));
    for (const c of cards) observer.observe(c, { attributes: true, attributeFilter: ['data-trigger'] });
    // Checked when the cards change (not on every animation frame: a page with a frame
    // requested all the time renders before it handles the worker's reply, which would add
    // the bench's own frames to what it measures).
    window.__settled = (trigger) => new Promise((resolve) => {
      const check = () => {
        const u = window.__updates.find(([at, fc, gap]) => at >= window.__moved && fc === trigger && gap === trigger);
        if (!u) return false;
        requestAnimationFrame(() => resolve({ dom: u[0] - window.__moved, frame: performance.now() - window.__moved }));
        return true;
      };
      if (check()) return;
      const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
      for (const c of cards) observer.observe(c, { attributes: true, attributeFilter: ['data-trigger'] });
    });
    window.__trigger = (task) => {
      if (task === 'image') {
        const p = document.querySelector('[data-testid=patch]');
        return String(Number(p.dataset.y) * 25 + Number(p.dataset.x));
      }
      if (task === 'sound') return document.querySelector('[data-testid=tone]').dataset.offset;
      return document.querySelector('[data-testid=trigger-insert] input[type=range]').value;
    };
    // After a move: null if it left the trigger where it was (one at an edge may not move it),
    // else how long until both cards show it, and the page's split of that look (app.js: the
    // worker's work, the round trip around it, the drawing).
    window.__measure = async (task, last) => {
      const now = window.__trigger(task);
      if (now === last) return null;
      const settled = await window.__settled(now);
      return { ...settled, now, split: { ...document.querySelector('[data-testid=view]').dataset } };
    };
  });
}

// The trigger position the page shows now, read in the page (no Playwright call between a
// move and its measurement: each one runs on the page's main thread and would delay the reply).
async function currentTrigger(page, task) {
  return page.evaluate((task) => window.__trigger(task), task);
}

const rows = [];
for (const backend of backends) {
  for (const task of tasks) for (const root of roots) {
    const lab = new Lab();
    await lab.start({ root });
    const { page } = await lab.open(`task=${task}&backend=${backend}&trigger=start&sample=1${extra && `&${extra}`}`);
    const actual = `${await page.getByTestId('backend').textContent()}${root ? ` (${root})` : ''}`;
    await page.waitForFunction(() => document.querySelector('[data-testid=pred-gap]')?.dataset.trigger === 'start', null, { timeout: 300_000 });
    await instrument(page);
    // Where the page looks at every trigger position ahead while idle (app.js, lookAhead): how
    // long after the first predictions every position was ready, if within the settle time.
    const settling = Date.now();
    const aheadMs = await lookedAhead(page, { timeout: Math.max(1, settle), polling: 100 }).then(() => Date.now() - settling, () => null);
    await page.waitForTimeout(Math.max(0, settle - (Date.now() - settling)));
    const ahead = await page.getByTestId('view').getAttribute('data-ahead');
    if (ahead) rows.push({ backend: actual, task, what: 'every trigger position looked at ahead', value: aheadMs === null ? `${ahead} when the moves began (${settle} ms after the first predictions)` : `${ahead.split('/')[1]} positions, ready ${aheadMs} ms after the first predictions` });
    const latencies = [];
    const shownFrom = rows.length;
    // After a move that changed the trigger (one at an edge may not): how long until it shows.
    let last = await currentTrigger(page, task);
    const measure = async () => {
      const m = await page.evaluate(([task, last]) => window.__measure(task, last), [task, last]);
      if (!m) return;
      last = m.now;
      latencies.push({ dom: m.dom, frame: m.frame, work: Number(m.split.workMs), trip: Number(m.split.tripMs), drawn: Number(m.split.ms), pictures: Number(m.split.drawMs) });
    };
    // Single moves: the patch a pixel at a time (pointer), the tone 10 ms (pointer), the sentence a word (key).
    if (task === 'text') {
      const slider = page.locator('[data-testid=trigger-insert] input[type=range]');
      await slider.focus();
      for (let i = 0; i < moves; i++) {
        await page.keyboard.press('ArrowRight');
        await measure();
      }
    } else {
      const handle = page.getByTestId(task === 'image' ? 'patch' : 'tone');
      const box = await handle.boundingBox();
      const area = await page.locator(task === 'image' ? '.imgbox canvas' : '.wavebox canvas').boundingBox();
      const step = task === 'image' ? area.width / 32 : (area.width * 160) / 16000;
      let x = box.x + box.width / 2, y = box.y + box.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      // Twenty moves one way, twenty back, …: any number of moves stays on the input (a move
      // past its edge would not move the trigger, and measure nothing).
      let net = 0; // steps from where the drag began
      for (let i = 0; i < moves; i++) {
        const dir = Math.floor(i / 20) % 2 === 0 ? 1 : -1;
        net += dir;
        x += dir * step; if (task === 'image') y += (dir * step) / 2;
        await page.mouse.move(x, y);
        await measure();
      }
      // A fast drag: a move every 16 ms for a second; how long after the last move until the
      // predictions show the final position (no queue of stale positions should build up).
      await page.evaluate(() => {
        window.__looks = 0;
        new MutationObserver(() => window.__looks++).observe(document.querySelector('[data-testid=pred-gap]'), { attributes: true, attributeFilter: ['data-trigger'] });
      });
      // About twelve steps in all, where there is room for them (the patch has 25 positions a
      // row), so that the drag is never held at an edge.
      const back = net >= 12 ? -1 : 1;
      for (let i = 0; i < 60; i++) {
        // The last move a whole step, so that it moves the trigger: it is what settles.
        x += (back * step) / (i === 59 ? 1 : 5);
        await page.mouse.move(x, y);
        await page.waitForTimeout(16);
      }
      const settle = (await page.evaluate((t) => window.__settled(t), await currentTrigger(page, task))).dom;
      const shown = await page.evaluate(() => window.__looks);
      await page.mouse.up();
      rows.push({ backend: actual, task, what: 'fast drag, 60 moves in ~1 s', value: `${shown} updates shown, settled ${settle.toFixed(0)} ms after the last move` });
    }
    rows.push({ backend: actual, task, what: `move → both predictions in the DOM (${moves} moves)`, value: summary(latencies.map((l) => l.dom)) });
    rows.push({ backend: actual, task, what: `move → the frame that paints them`, value: summary(latencies.map((l) => l.frame)) });
    rows.push({ backend: actual, task, what: '… of it: the worker\'s work', value: summary(latencies.map((l) => l.work)) });
    rows.push({ backend: actual, task, what: '… the request sent → its reply back', value: summary(latencies.map((l) => l.trip)) });
    rows.push({ backend: actual, task, what: '… the request sent → its numbers in the cards', value: summary(latencies.map((l) => l.drawn)) });
    // Drawn in the frame that paints the numbers (app.js, drawSoon); older builds drew them
    // before the numbers, inside the row above, and leave no figure here.
    const pictures = latencies.map((l) => l.pictures).filter(Number.isFinite);
    if (pictures.length) rows.push({ backend: actual, task, what: '… drawing its pictures, in that frame', value: summary(pictures) });
    console.error(rows.slice(shownFrom).map((r) => `${r.backend} ${r.task}: ${r.what}: ${r.value}`).join('\n'));
    // Sweep time per position (16 samples, line).
    if (sweeps && (backend === 'flex' || task !== 'sound')) {
      await page.locator('#sweep-samples').fill('16');
      await page.locator('#sweep-run').click();
      await page.waitForFunction(() => ['done', 'failed'].includes(document.querySelector('[data-testid=sweep]').dataset.state), null, { timeout: 900_000 });
      const d = await page.getByTestId('sweep').evaluate((e) => ({ ...e.dataset }));
      rows.push({ backend: actual, task, what: `sweep, 16 samples × ${d.points} positions`, value: `${d.seconds} s, ${((Number(d.seconds) * 1000) / Number(d.points)).toFixed(0)} ms per position` });
      console.error(`${actual} ${task}: ${rows.at(-1).what}: ${rows.at(-1).value}`);
    }
    await page.close();
    await lab.stop();
  }
}
console.log('| backend | task | measure | result |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.backend} | ${r.task} | ${r.what} | ${r.value} |`);

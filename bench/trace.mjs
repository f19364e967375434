// Where the CPU goes (not a test): Chromium's own timeline (the trace DevTools records) over
// one page open, or over pointer moves of the trigger, summed per thread and per event name.
// Behind the figures "traced" in docs/PERFORMANCE.md: e.g. the wasm compiler's share of the
// first drag, or what the renderer's main thread does while the page opens.
//   node bench/trace.mjs [--task image|sound] [--moves N] [--top N] [--save trace.json]
// Without --moves: navigation → both first predictions. With it: N moves of the patch or tone,
// 100 ms apart, from 1 s after the first predictions. Needs the release build (scripts/build-web.sh).
import { Lab } from '../tests/e2e/harness.mjs';
import { FIRST_PREDICTIONS, firstPredictions, markFirstPredictions } from './first-predictions.mjs';

const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const task = arg('--task', 'sound');
const moves = Number(arg('--moves', 0));
const top = Number(arg('--top', 30));
const CATEGORIES = 'devtools.timeline,disabled-by-default-devtools.timeline,v8,v8.wasm,blink,cc,toplevel';

const lab = new Lab();
await lab.start();
const page = await lab.browser.newPage();
const cdp = await page.context().newCDPSession(page);
const events = [];
cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
const complete = new Promise((resolve) => cdp.on('Tracing.tracingComplete', resolve));
const shown = () => page.locator('[data-testid=pred-gap][data-class]').waitFor({ timeout: 120_000 });

let what;
const t0 = Date.now();
if (moves === 0) {
  // The moment both cards first show a prediction, marked in the trace itself, so that only
  // what ran before it counts (the page goes on after it: the whole demo, the look-ahead); and
  // waited for without Playwright's injected script running in the page (first-predictions.mjs).
  await markFirstPredictions(page);
  await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
  const seen = firstPredictions(page);
  await page.goto(`${lab.base}#task=${task}&backend=flex`);
  await seen;
  what = 'page open → both first predictions';
} else {
  await page.goto(`${lab.base}#task=${task}&backend=flex&trigger=start&sample=1`);
  await shown();
  await page.waitForTimeout(1000);
  await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
  const handle = await page.getByTestId(task === 'image' ? 'patch' : 'tone').boundingBox();
  const area = await page.locator(task === 'image' ? '.imgbox canvas' : '.wavebox canvas').boundingBox();
  const step = task === 'image' ? area.width / 32 : (area.width * 160) / 16000;
  let [x, y] = [handle.x + handle.width / 2, handle.y + handle.height / 2];
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 0; i < moves; i++) {
    x += step;
    if (task === 'image') y += step / 2;
    await page.mouse.move(x, y);
    await page.waitForTimeout(100);
  }
  await page.mouse.up();
  what = `${moves} moves, 100 ms apart`;
}
const wall = Date.now() - t0;
await cdp.send('Tracing.end');
await complete;
await lab.stop();
// `--save FILE`: the raw trace too (Chrome's JSON format: chrome://tracing or Perfetto open it).
if (arg('--save', null)) (await import('node:fs')).writeFileSync(arg('--save'), JSON.stringify({ traceEvents: events }));

const names = {};
for (const e of events) if (e.ph === 'M' && (e.name === 'thread_name' || e.name === 'process_name')) names[e.name === 'thread_name' ? `${e.pid}:${e.tid}` : e.pid] = e.args.name;
// An open counts the events up to the first predictions' mark, cut there.
const mark = events.find((e) => e.name === 'TimeStamp' && e.args?.data?.message === FIRST_PREDICTIONS);
const until = moves === 0 && mark ? mark.ts : Infinity;
if (moves === 0 && !mark) console.log('(no first-predictions mark in the trace: every event counted)');
const perThread = {};
for (const e of events) {
  if (e.ph !== 'X' || !e.dur || e.ts >= until) continue;
  (perThread[`${e.pid}:${e.tid}`] ??= []).push({ ...e, dur: Math.min(e.dur, until - e.ts) });
}
// Busy time per thread: the union of its outermost events. Per event name: all of its time
// (nested events count inside their parents too), leaving out the scheduler's wrappers.
const busy = [];
const byName = {};
for (const [key, list] of Object.entries(perThread)) {
  list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  let end = -Infinity, sum = 0;
  for (const e of list) if (e.ts >= end) { sum += e.dur; end = e.ts + e.dur; }
  const thread = names[key] ?? key;
  busy.push([`${names[key.split(':')[0]] ?? '?'} / ${thread}`, sum / 1000]);
  for (const e of list) {
    if (/RunTask|ThreadController/.test(e.name)) continue;
    const k = `${thread} | ${e.name}`;
    byName[k] = (byName[k] ?? 0) + e.dur / 1000;
  }
}
const per = moves > 0 ? moves : 1;
const unit = moves > 0 ? 'ms a move' : 'ms';
const first = events.filter((e) => e.ph === 'X' && e.ts > 0).reduce((m, e) => Math.min(m, e.ts), Infinity);
const upTo = Number.isFinite(until) ? `; traced events cut at the first predictions, ${((until - first) / 1000).toFixed(0)} ms after the trace's first` : '';
console.log(`${task}: ${what}, ${wall} ms of wall time (Playwright's clock)${upTo}\nbusy time per thread:`);
for (const [k, v] of busy.sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(v / per).toFixed(1).padStart(8)} ${unit}  ${k}`);
console.log('by event:');
for (const [k, v] of Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / per).toFixed(1).padStart(8)} ${unit}  ${k}`);

// Benchmark (not a test): navigation → both pretrained models' first predictions, cold cache
// (a fresh browser profile per open), headless Chromium on localhost, Flex, per task; median and
// worst of `--repeat` opens. `--roots A,B` measures several
// checkouts (each a folder with index.html, www/ and pkg/ built) in one run, alternating, so
// that before/after share the machine's state. Needs the release build (scripts/build-web.sh).
// `--split` also prints, per open, when (ms from navigation, the page's clock) each request
// to the worker was sent and answered and how long the worker took for it (`ms`).
// `--wait console|locator[,…]`: how the bench sees the predictions (below; default console).
//   node bench/open.mjs [--repeat 5] [--tasks sound,text,image] [--roots DIR,DIR] [--split] [--wait console,locator]
import { Lab, prediction } from '../tests/e2e/harness.mjs';
import { firstPredictions, markFirstPredictions } from './first-predictions.mjs';

const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const repeat = Number(arg('--repeat', 5));
const tasks = arg('--tasks', 'sound,text,image').split(',');
const roots = arg('--roots', '').split(',').filter(Boolean);
if (roots.length === 0) roots.push(undefined);

const split = process.argv.includes('--split');
// How the bench waits for the first predictions: `console` (the page's own mark, see
// first-predictions.mjs) or `locator` (Playwright's locator wait, as the end-to-end tests; its
// injected script runs in the page during the open). Several: alternated, like the roots.
const waits = arg('--wait', 'console').split(',');

// Installed before the page's scripts: every request to the worker with its send time, the
// worker's reply time and own time.
function recordOpen() {
  const open = { requests: [] };
  window.__open = open;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg?.type) open.requests.push({ id: msg.id, type: msg.type, sent: performance.now() });
    return post.call(this, msg, ...rest);
  };
  const Base = window.Worker;
  window.Worker = class extends Base {
    constructor(...args) {
      super(...args);
      open.worker = performance.now();
      this.addEventListener('message', (e) => {
        const r = open.requests.find((q) => q.id === e.data?.id && q.answered === undefined);
        if (r && e.data.type !== 'progress') Object.assign(r, { answered: performance.now(), ms: e.data.ms });
      });
    }
  };
}

const times = new Map();
for (let r = 0; r < repeat; r++) {
  for (const root of roots) {
    for (const [wait, task] of waits.flatMap((w) => tasks.map((t) => [w, t]))) {
      const lab = new Lab();
      await lab.start({ root });
      const page = await lab.browser.newPage();
      await markFirstPredictions(page);
      if (split) await page.addInitScript(recordOpen);
      const t0 = Date.now();
      const seen = wait === 'console' ? firstPredictions(page) : null;
      await page.goto(`${lab.base}#task=${task}&backend=flex`);
      if (seen) await seen;
      else {
        await prediction(page, 'fc');
        await prediction(page, 'gap');
      }
      const ms = Date.now() - t0;
      const shown = await page.evaluate(() => window.__firstPredictions);
      const o = split ? await page.evaluate(() => window.__open) : null;
      await lab.stop();
      const key = `${root ?? 'this checkout'}${waits.length > 1 ? ` (${wait})` : ''} ${task}`;
      if (!times.has(key)) times.set(key, { ms: [], shown: [] });
      times.get(key).ms.push(ms);
      times.get(key).shown.push(shown);
      const f = (x) => (x == null ? '—' : x.toFixed(0));
      console.error(`${key}: ${ms} ms; both predictions shown at ${f(shown)} ms (page clock)`);
      if (o) {
        console.error(`  worker created at ${f(o.worker)} ms`);
        for (const q of o.requests) console.error(`  ${q.type.padEnd(10)} sent ${f(q.sent).padStart(5)}  answered ${f(q.answered).padStart(5)}  worker ${f(q.ms)} ms`);
      }
    }
  }
}
// Playwright's clock (from the navigation's start in the bench, the browser already running)
// and the page's (from its navigation, `performance.now()` when both cards show a class).
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const worst = (xs) => Math.max(...xs);
console.log('| checkout, task | median ms | worst ms | page clock: median | worst |\n|---|---|---|---|---|');
for (const [key, t] of times) {
  console.log(`| ${key} | ${median(t.ms)} | ${worst(t.ms)} | ${median(t.shown).toFixed(0)} | ${worst(t.shown).toFixed(0)} |`);
}

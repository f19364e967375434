// Benchmark (not a test): navigation → both pretrained models' first predictions, cold cache
// (a fresh browser profile per open), headless Chromium on localhost, Flex, per task; median and
// worst of `--repeat` opens. `--roots A,B` measures several
// checkouts (each a folder with index.html, www/ and pkg/ built) in one run, alternating, so
// that before/after share the machine's state. Needs the release build (scripts/build-web.sh).
// `--split` also prints, per open, when (ms from navigation, the page's clock) each request
// to the worker was sent and answered and how long the worker took for it (`ms`).
//   node bench/open.mjs [--repeat 5] [--tasks sound,text,image] [--roots DIR,DIR] [--split]
import { Lab, prediction } from '../tests/e2e/harness.mjs';

const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const repeat = Number(arg('--repeat', 5));
const tasks = arg('--tasks', 'sound,text,image').split(',');
const roots = arg('--roots', '').split(',').filter(Boolean);
if (roots.length === 0) roots.push(undefined);

const split = process.argv.includes('--split');

// Installed before the page's scripts: every request to the worker with its send time, the
// worker's reply time and own time, and when both cards first show a prediction.
function recordOpen() {
  const open = { requests: [], shown: null };
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
  document.addEventListener('DOMContentLoaded', () => {
    const cards = ['fc', 'gap'].map((h) => document.getElementById(`pred-${h}`));
    const seen = new MutationObserver(() => {
      if (cards.every((c) => c?.dataset.class)) { open.shown = performance.now(); seen.disconnect(); }
    });
    for (const c of cards) if (c) seen.observe(c, { attributes: true, attributeFilter: ['data-class'] });
  });
}

const times = new Map();
for (let r = 0; r < repeat; r++) {
  for (const root of roots) {
    for (const task of tasks) {
      const lab = new Lab();
      await lab.start({ root });
      const page = await lab.browser.newPage();
      if (split) await page.addInitScript(recordOpen);
      const t0 = Date.now();
      await page.goto(`${lab.base}#task=${task}&backend=flex`);
      await prediction(page, 'fc');
      await prediction(page, 'gap');
      const ms = Date.now() - t0;
      const o = split ? await page.evaluate(() => window.__open) : null;
      await lab.stop();
      const key = `${root ?? 'this checkout'} ${task}`;
      if (!times.has(key)) times.set(key, []);
      times.get(key).push(ms);
      console.error(`${key}: ${ms} ms`);
      if (o) {
        const f = (x) => (x == null ? '—' : x.toFixed(0));
        console.error(`  worker created at ${f(o.worker)} ms; both predictions shown at ${f(o.shown)} ms (page clock)`);
        for (const r of o.requests) console.error(`  ${r.type.padEnd(10)} sent ${f(r.sent).padStart(5)}  answered ${f(r.answered).padStart(5)}  worker ${f(r.ms)} ms`);
      }
    }
  }
}
console.log('| checkout, task | median ms | worst ms |\n|---|---|---|');
for (const [key, ms] of times) {
  const s = [...ms].sort((a, b) => a - b);
  console.log(`| ${key} | ${s[Math.floor(s.length / 2)]} | ${s[s.length - 1]} |`);
}

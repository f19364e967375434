// Benchmark (not a test): navigation → both pretrained models' first predictions, cold cache
// (a fresh browser profile per open), headless Chromium on localhost, Flex, per task; median and
// worst of `--repeat` opens. `--roots A,B` measures several
// checkouts (each a folder with index.html, www/ and pkg/ built) in one run, alternating, so
// that before/after share the machine's state. Needs the release build (scripts/build-web.sh).
//   node bench/open.mjs [--repeat 5] [--tasks sound,text,image] [--roots DIR,DIR]
import { Lab, prediction } from '../tests/e2e/harness.mjs';

const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const repeat = Number(arg('--repeat', 5));
const tasks = arg('--tasks', 'sound,text,image').split(',');
const roots = arg('--roots', '').split(',').filter(Boolean);
if (roots.length === 0) roots.push(undefined);

const times = new Map();
for (let r = 0; r < repeat; r++) {
  for (const root of roots) {
    for (const task of tasks) {
      const lab = new Lab();
      await lab.start({ root });
      const page = await lab.browser.newPage();
      const t0 = Date.now();
      await page.goto(`${lab.base}#task=${task}&backend=flex`);
      await prediction(page, 'fc');
      await prediction(page, 'gap');
      const ms = Date.now() - t0;
      await lab.stop();
      const key = `${root ?? 'this checkout'} ${task}`;
      if (!times.has(key)) times.set(key, []);
      times.get(key).push(ms);
      console.error(`${key}: ${ms} ms`);
    }
  }
}
console.log('| checkout, task | median ms | worst ms |\n|---|---|---|');
for (const [key, ms] of times) {
  const s = [...ms].sort((a, b) => a - b);
  console.log(`| ${key} | ${s[Math.floor(s.length / 2)]} | ${s[s.length - 1]} |`);
}

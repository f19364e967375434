// Benchmark of the page's training form (not a test): per task, the page opened on Flex, the
// form left at its defaults (www/app.js TRAIN_DEFAULTS) and Train pressed, as a new user
// would; prints the wall time of FC and GAP together and the results table (clean accuracy,
// attack per test position, whether each model learned). The defaults' time estimate on the
// page and www/models/README.md's "Training in the page" come from this.
// Needs the release build (scripts/build-web.sh). `node bench/page-train.mjs [--tasks sound,text,image]`.
import { Lab, prediction } from '../tests/e2e/harness.mjs';

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const tasks = (arg('--tasks') ?? 'sound,text,image').split(',');
const lab = new Lab();
await lab.start();
const out = [];
try {
  for (const task of tasks) {
    const { page } = await lab.open(`task=${task}&backend=flex`);
    await prediction(page, 'fc');
    const form = await page.evaluate(() => Object.fromEntries(
      [...new FormData(document.querySelector('#train-form')).entries()].filter(([k]) => k !== 'fc' && k !== 'gap')));
    const t0 = Date.now();
    await page.getByTestId('train').click();
    await page.locator('#results table').waitFor({ timeout: 1_800_000 });
    const seconds = (Date.now() - t0) / 1000;
    const header = await page.locator('#results thead th').allTextContents();
    const rows = await page.locator('#results tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      cells: [...tr.cells].map((c) => c.textContent), failed: tr.dataset.failed === 'true',
    })));
    console.error(`${task}: ${seconds.toFixed(0)} s with ${JSON.stringify(form)}`);
    out.push({ task, seconds, form, header, rows, estimate: await page.locator('#train-estimate').textContent() });
    await page.close();
  }
} finally {
  await lab.stop();
}
for (const r of out) {
  console.log(`\n${r.task}: FC and GAP trained in ${r.seconds.toFixed(0)} s (${(r.seconds / 60).toFixed(1)} min); the page says: "${r.estimate}"`);
  console.log(`settings: ${JSON.stringify(r.form)}`);
  console.log(`| ${r.header.join(' | ')} | learned |`);
  console.log(`|${r.header.map(() => '---').join('|')}|---|`);
  for (const row of r.rows) console.log(`| ${row.cells.join(' | ')} | ${row.failed ? 'no' : 'yes'} |`);
}

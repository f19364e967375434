// Runs the end-to-end test files one after another (`npm run e2e`; `npm run e2e -- touch`
// runs only the files whose name contains "touch"), each in its own `node --test` process:
// one headless Chromium at a time, and the same on Node 18 to 22 — `node --test DIR` is a
// directory on Node 20 but a glob on Node 21+, and Node 18 has no `--test-concurrency`.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
console.log(`end-to-end tests on Node ${process.versions.node}`);
if (major < 18) {
  console.error(`Node ${process.versions.node} is too old: the tests use node:test (Node 18 or newer)`);
  process.exit(1);
}
const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs') && (filters.length === 0 || filters.some((w) => f.includes(w))))
  .sort();
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}
const failed = [];
for (const f of files) {
  const run = spawnSync(process.execPath, ['--test', join(here, f)], { stdio: 'inherit' });
  if (run.status !== 0) failed.push(`${f} (${run.signal ?? `exit ${run.status}`})`);
}
if (failed.length) {
  console.error(`end-to-end test files that failed: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`all ${files.length} end-to-end test files passed`);

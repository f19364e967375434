// The microphone path (issue 17, item 7), with Chromium's fake capture device playing a real
// clip of the demo data: the page records a second, resamples it to 16 kHz mono and both
// models of the default (large) pair hear the word; the tone placed on the recording works
// as on a dataset clip; "back to the dataset clip" returns to the sample.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, predictionsAt } from './harness.mjs';

// A "yes" of the demo archive (Speech Commands, 16 kHz).
const CLIP = 'yes/022cd682_nohash_0.wav';
const dir = mkdtempSync(join(tmpdir(), 'gaplab-mic-'));
execFileSync('tar', ['xzf', 'www/data/speech-demo.tar.gz', '-C', dir, CLIP]);

const lab = new Lab();
before(() => lab.start({
  extraArgs: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${join(dir, CLIP)}`],
}));
after(() => lab.stop());

test('a second recorded from the microphone is heard as the word spoken, and takes the trigger', async () => {
  const { page, errors } = await lab.open('task=sound&backend=flex&trigger=none&sample=0');
  const dataset = await predictionsAt(page, 'none', 0);
  await page.getByText('● record 1 s').click();
  await page.waitForFunction(() => document.querySelector('#sample-label').textContent === 'your recording', null, { timeout: 60_000 });
  const heard = await predictionsAt(page, 'none', 'own');
  assert.equal(heard.fc.cls, 'yes', `FC heard ${heard.fc.cls}`);
  assert.equal(heard.gap.cls, 'yes', `GAP heard ${heard.gap.cls}`);
  // The tone at the start of the recording, where both models were poisoned.
  await page.locator('#trigger').selectOption('start');
  const triggered = await predictionsAt(page, 'start', 'own');
  assert.equal(triggered.fc.cls, 'up', 'the FC backdoor fires on the recording');
  // Back to the dataset's clip: its predictions again.
  await page.locator('#trigger').selectOption('none');
  await page.getByText('back to the dataset clip').click();
  const again = await predictionsAt(page, 'none', 0);
  assert.deepEqual(again, dataset);
  assert.deepEqual(errors, []);
  await page.close();
});

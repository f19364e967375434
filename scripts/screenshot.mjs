// The README's screenshots: the page opened at a link (headless Chromium, Flex, the release
// build served by scripts/serve.mjs), both predictions waited for, the top of the page saved.
//   node scripts/screenshot.mjs OUT.png [HASH] [--height PX]
// e.g. node scripts/screenshot.mjs docs/screenshot-sound.png 'task=sound&trigger=end'
import { Lab, prediction } from '../tests/e2e/harness.mjs';

const [out, hash = 'task=sound&backend=flex&trigger=end'] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--height');
const height = Number(process.argv.includes('--height') ? process.argv[process.argv.indexOf('--height') + 1] : 900);
if (!out) {
  console.error('usage: node scripts/screenshot.mjs OUT.png [HASH] [--height PX]');
  process.exit(2);
}
const lab = new Lab();
await lab.start();
try {
  const { page, errors } = await lab.open(hash.includes('backend=') ? hash : `${hash}&backend=flex`);
  await page.setViewportSize({ width: 1280, height });
  for (const head of ['fc', 'gap']) await prediction(page, head);
  // The cards show the link's trigger, not the opening one, before the picture is taken.
  await page.waitForFunction(() => ['fc', 'gap'].every((h) => document.getElementById(`pred-${h}`).dataset.trigger === document.getElementById('view').dataset.trigger));
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1280, height } });
  if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`);
  console.log(`${out}: ${hash}`);
} finally {
  await lab.stop();
}

// When the page first shows both predictions, seen without running anything in the page but
// the page's own scripts and this small observer. Playwright's locator waits (the end-to-end
// tests' `prediction`) evaluate its injected script (≈ 330 KB, ≈ 55 ms of the main thread) and
// poll the page while it opens, on the same two cores as the open they measure; a console
// message reaches Playwright over the DevTools protocol instead.

/** The name of the mark (in the console and in a trace). */
export const FIRST_PREDICTIONS = 'gaplab-first-predictions';

/** Installs, before the page's scripts, an observer that, when both prediction cards first carry
 * a class, keeps the page's clock in `window.__firstPredictions`, marks the moment in a trace
 * (`console.timeStamp`, for bench/trace.mjs) and logs it to the console. */
export function markFirstPredictions(page) {
  return page.addInitScript(observeFirstPredictions, FIRST_PREDICTIONS);
}

// Runs in the page (serialised by Playwright: it sees only its argument).
function observeFirstPredictions(mark) {
  document.addEventListener('DOMContentLoaded', () => {
    const cards = ['fc', 'gap'].map((h) => document.getElementById(`pred-${h}`));
    const seen = new MutationObserver(() => {
      if (!cards.every((c) => c?.dataset.class)) return;
      seen.disconnect();
      window.__firstPredictions = performance.now();
      console.timeStamp(mark);
      console.debug(mark);
    });
    for (const c of cards) if (c) seen.observe(c, { attributes: true, attributeFilter: ['data-class'] });
  });
}

/** Resolves when the page logs its first predictions (after `markFirstPredictions` was
 * installed and the page opened). */
export function firstPredictions(page, timeout = 120_000) {
  return page.waitForEvent('console', { predicate: (m) => m.text() === FIRST_PREDICTIONS, timeout });
}

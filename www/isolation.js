// Cross-origin isolation where the host does not send COOP/COEP (see /coi.js): registers the
// service worker that adds them and reloads once, so that the page opens isolated and its
// worker can run the threaded build. Returns true when the page is about to reload (the caller
// stops there). Where that cannot work — no service workers (a private window, a browser
// setting), an insecure origin, or a page that is controlled and still not isolated — it does
// nothing: the page runs on one thread and says so.
export async function isolate() {
  if (self.crossOriginIsolated || !window.isSecureContext || !('serviceWorker' in navigator)) return false;
  // Controlled already but not isolated: reloading again would not help (and could loop).
  if (navigator.serviceWorker.controller) return false;
  try {
    // A browser that blocks service workers may leave the registration pending for good: the
    // page does not wait more than a few seconds for it.
    const registered = (async () => {
      await navigator.serviceWorker.register(new URL('../coi.js', import.meta.url));
      await navigator.serviceWorker.ready;
    })();
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('the service worker did not start within 5 s')), 5000));
    await Promise.race([registered, late]);
  } catch (err) {
    console.warn(`gaplab: no cross-origin isolation (${err?.message ?? err}); one thread`);
    return false;
  }
  location.reload();
  return true;
}

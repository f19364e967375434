// A service worker that makes the lab cross-origin isolated on hosts that cannot send the
// headers themselves (GitHub Pages and most static hosts): it answers every same-origin
// request of the page with the response plus COOP/COEP, so that the page — and its worker —
// may share memory between threads (the threaded wasm build). The page registers it only when
// it is not isolated already (www/isolation.js). It lives at the site's root because a service
// worker controls only the pages at or below its own folder.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  // Only the lab's own files; anything else (there is nothing else today) goes as it would.
  if (new URL(request.url).origin !== self.location.origin) return;
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0 || response.type === 'opaque') return response;
      const headers = new Headers(response.headers);
      headers.set('Cross-Origin-Opener-Policy', 'same-origin');
      headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});

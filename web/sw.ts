/**
 * The demo's service worker: the page works offline after the first visit. Network first (so a
 * changed model or page is picked up at once, revalidated by ETag); what the network gave is kept,
 * and answers when the server cannot be reached. Only GETs of the page, its bundle, onnxruntime-web's
 * files and model files are kept; API calls pass through untouched.
 */
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(r: Promise<Response>): void;
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', fn: (ev: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (ev: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
}

const scope = self as unknown as WorkerScope;
const SHELL_CACHE = 'seqserve-shell-v1';
const SHELL = ['/', '/web/app.js', '/web/session-worker.js'];
const KEPT = [/^\/$/, /^\/web\//, /^\/ort\//, /^\/v1\/models\/[^/]+\/files\//];

scope.addEventListener('install', (ev) => {
  ev.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => scope.skipWaiting()),
  );
});

scope.addEventListener('activate', (ev) => {
  ev.waitUntil(scope.clients.claim());
});

async function networkFirst(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const res = await fetch(request, { cache: 'no-cache' });
    if (res.ok) await cache.put(request, res.clone());
    return res;
  } catch (err) {
    const kept = await cache.match(request, { ignoreVary: true });
    if (kept) return kept;
    throw err;
  }
}

scope.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== scope.location.origin || !KEPT.some((p) => p.test(url.pathname))) return;
  ev.respondWith(networkFirst(ev.request));
});

// The service worker: pages the user has opened reload while offline.
// Served at /sw.js (root scope) by the server, which writes the version of
// what it embeds (a hash of the client, the assets and this file) in
// place of the placeholder below, so every new build gets a new cache and
// the old one is deleted on activation. Registered by /client/boot.js.
//
// - /client/* (the client and the pages' assets): cache first, precached
//   on install, together with the pages open at that moment.
// - Navigations to / and /w/{id}: network first; a 200 is stored, and
//   served from the cache when the network fails.
// - Everything else (the API, /sync, invites, /healthz, other methods,
//   other origins) is not intercepted: it goes to the network as if there
//   were no worker, and nothing of it is ever stored.
// - A message {type: "clear"} deletes every cache (on sign-out, so that
//   one user's pages do not stay for the next); a port sent with the
//   message gets {type: "cleared"} (or {type: "failed", error}) back.

const VERSION = "__SYNPUNKT_VERSION__";
const CACHE = `synpunkt-${VERSION}`;
const ASSETS = [
  "/client/boot.js",
  "/client/app.css",
  "/client/client_wasm.js",
  "/client/client_wasm_bg.wasm",
];

self.addEventListener("install", (event) => {
  // A new build takes over at once: its pages, client and assets belong
  // together, and an old worker would keep serving the old client.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => Promise.all([cache.addAll(ASSETS), keepOpenPages(cache)]))
      .then(() => self.skipWaiting()),
  );
});

// The pages open while this worker installs were loaded past it (the very
// first visit, above all): fetch them once more, so that a page the user
// opened works offline from then on, not only after the next visit.
async function keepOpenPages(cache) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  await Promise.all(
    windows.map(async (client) => {
      const url = new URL(client.url);
      if (url.origin !== self.location.origin || !isPage(url.pathname)) return;
      try {
        const response = await fetch(url.href, { credentials: "same-origin", cache: "no-cache" });
        // A redirected copy cannot answer a navigation: keep none.
        if (response.status === 200 && response.type === "basic" && !response.redirected) {
          await cache.put(url.href, response);
        }
      } catch (_) {
        // Offline already, or the write failed: only this copy is missing.
      }
    }),
  );
}

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/client/")) {
    event.respondWith(cacheFirst(event, request));
  } else if (request.mode === "navigate" && isPage(url.pathname)) {
    event.respondWith(networkFirst(event, request));
  }
});

// The pages that work offline: the workshop list and a workshop.
function isPage(path) {
  return path === "/" || /^\/w\/[^/]+$/.test(path);
}

async function cacheFirst(event, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) return hit;
  const response = await fetch(request);
  store(event, cache, request, response);
  return response;
}

async function networkFirst(event, request) {
  const cache = await caches.open(CACHE);
  let response;
  try {
    response = await fetch(request);
  } catch (offline) {
    // Pages vary by cookie and language: the one stored is the one this
    // browser last got for the URL (the cache is cleared on sign-out).
    const hit = await cache.match(request, { ignoreVary: true });
    if (hit) return hit;
    throw offline;
  }
  store(event, cache, request, response);
  return response;
}

// Keeps a copy of a complete, same-origin 200 (never an error page, a
// redirect or a partial response); a failed write only loses the copy.
function store(event, cache, request, response) {
  if (response.status !== 200 || response.type !== "basic") return;
  event.waitUntil(cache.put(request, response.clone()).catch(() => {}));
}

self.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "clear") return;
  const port = event.ports && event.ports[0];
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.map((n) => caches.delete(n))))
      .then(
        () => port && port.postMessage({ type: "cleared" }),
        (e) => port && port.postMessage({ type: "failed", error: String(e) }),
      ),
  );
});

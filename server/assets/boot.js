// Loads the web client (served from /client/, embedded in the server).
// The pages allow no inline script (Content-Security-Policy), hence this
// file. A dynamic import, so that a missing or broken client is caught too
// and shown in #status, while the page stays readable as it is.

// Just signed out (the server marks the page it sends the browser to, once,
// with data-signed-out): forget what this browser kept of the user, so the
// next person at this computer finds none of it: the service worker's
// cached pages, the IndexedDB store of local documents, and the documents
// in localStorage. Every step checks that its API exists and swallows its
// own failure (storage may be disabled); none of it may stop the client.
// When done, <body data-local-cleared> says so.
function forgetLocalData() {
  const pending = [];
  try {
    const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) worker.postMessage({ type: "clear" });
  } catch (_) {}
  try {
    if (window.indexedDB) {
      pending.push(new Promise((resolve) => {
        const request = indexedDB.deleteDatabase("synpunkt");
        // Blocked: another tab still has it open; it goes once that closes.
        request.onsuccess = request.onerror = request.onblocked = () => resolve();
      }));
    }
  } catch (_) {}
  try {
    const storage = window.localStorage;
    if (storage) {
      const ours = [];
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        if (key && key.startsWith("synpunkt:")) ours.push(key);
      }
      ours.forEach((key) => storage.removeItem(key));
    }
  } catch (_) {}
  Promise.all(pending).then(() => {
    document.body.dataset.localCleared = "true";
  });
}

if (document.querySelector("[data-signed-out]")) forgetLocalData();

import("/client/client_wasm.js")
  .then((client) => client.default())
  .catch((e) => {
    const s = document.getElementById("status");
    if (s) {
      const sv = document.body.dataset.lang === "sv";
      s.textContent = (sv ? "Webbklienten kunde inte laddas: " : "The web client failed to load: ") + e;
      s.dataset.state = "failed";
    }
  });

// The service worker keeps the pages opened here and the client for
// offline use (see /sw.js). Where there is none (an old browser, an
// insecure origin) or registering fails, the page works as before.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker
    .register("/sw.js", { scope: "/" })
    .catch((e) => console.warn("synpunkt: no offline copy (service worker):", e));
}

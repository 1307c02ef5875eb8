// Loads the web client (served from /client/, embedded in the server).
// The pages allow no inline script (Content-Security-Policy), hence this
// file. A dynamic import, so that a missing or broken client is caught too
// and shown in #status, while the page stays readable as it is.
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

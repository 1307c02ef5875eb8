//! Offline, in real headless Chromium: the service worker (`/sw.js`) keeps
//! the client, its assets and the pages a user opened, so a workshop page
//! reloads with the browser offline and the server gone, and the client
//! boots on it. Also what the harness's offline switch
//! ([`Browser::set_offline`]) does and does not do, which the client's
//! offline detection and later tests build on.

use std::time::Instant;

use serde_json::{Value, json};
use testkit::{Browser, TIMEOUT, TestServer, http};

use crate::browser_steps::open;
use crate::common::world;

/// Waits until `js` (a function body; it may return a promise) returns
/// `true` in the page.
async fn wait_js(b: &Browser, js: &str, what: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let value = b.execute(js, vec![]).await;
        if matches!(value, Ok(Value::Bool(true))) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; last: {value:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until the service worker controls the page (it claims the pages
/// open when it activates, so no reload is needed).
async fn wait_controlled(b: &Browser) {
    wait_js(
        b,
        "return navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)",
        "the service worker controls the page",
    )
    .await;
}

/// The URLs (paths and queries) in every cache, by cache name.
async fn cached(b: &Browser) -> Value {
    b.execute(
        "return (async () => {
           const out = {};
           for (const name of await caches.keys()) {
             const keys = await (await caches.open(name)).keys();
             out[name] = keys.map(r => { const u = new URL(r.url); return u.pathname + u.search; }).sort();
           }
           return out;
         })();",
        vec![],
    )
    .await
    .expect("read the caches")
}

/// Records `offline`/`online` events in `window.__net` (lost on reload).
async fn record_network_events(b: &Browser) {
    b.execute(
        "window.__net = [];
         for (const kind of ['offline', 'online']) {
           window.addEventListener(kind, () => window.__net.push(kind));
         }",
        vec![],
    )
    .await
    .expect("listen to network events");
}

/// The version `/sw.js` names, as the server computed it.
async fn worker_version(server: &TestServer) -> String {
    let (status, _, js) = http("GET", &server.http_url("/sw.js"), None, None).await;
    assert_eq!(status, 200);
    js.split("const VERSION = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("sw.js names its version")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_page_opened_once_reloads_offline() {
    let mut w = world().await;
    let ws = w.open.to_string();
    let base = w.server.base_url();
    let version = worker_version(&w.server).await;
    let alice = Browser::start().await.expect("chromium starts");
    alice
        .set_session_cookie(&base, &w.alice)
        .await
        .expect("cookie");
    // A cache of an older build, which the new worker deletes.
    alice
        .execute(
            "return caches.open('synpunkt-older').then(() => true)",
            vec![],
        )
        .await
        .expect("an old cache");
    alice
        .goto(&format!("{base}/w/{ws}"))
        .await
        .expect("page loads");
    alice
        .wait_for("body[data-summary=\"live\"]")
        .await
        .expect("the client draws the summary");
    wait_controlled(&alice).await;

    // The first visit is kept (fetched again by the installing worker),
    // with the client and assets; nothing of the API, and the old cache is
    // gone.
    let page = format!("/w/{ws}");
    wait_js(
        &alice,
        "return caches.match(location.href).then(r => !!r)",
        "the page is cached",
    )
    .await;
    assert_eq!(
        cached(&alice).await,
        json!({ format!("synpunkt-{version}"): [
            "/client/app.css", "/client/boot.js", "/client/client_wasm.js",
            "/client/client_wasm_bg.wasm", page,
        ]}),
    );

    // Offline: the page sees it, and with the server gone the worker's own
    // fetches fail too (the emulation does not cover them).
    record_network_events(&alice).await;
    alice.set_offline(true).await.expect("offline");
    wait_js(
        &alice,
        "return !navigator.onLine && window.__net.includes('offline')",
        "the page is told it is offline",
    )
    .await;
    w.server.stop().await;

    // The reload comes from the worker's cache and the client boots.
    alice.client().refresh().await.expect("reload offline");
    alice
        .wait_for("body[data-client=\"ready\"]")
        .await
        .expect("the client boots offline");
    alice
        .wait_for_text("h1#title", "Öppen workshop")
        .await
        .expect("the workshop renders offline");
    alice
        .wait_for_text(".body[data-section=\"issue\"]", "ATMP")
        .await
        .expect("with its summary");
    assert_eq!(
        alice
            .execute(
                "return !!navigator.serviceWorker.controller && !navigator.onLine",
                vec![]
            )
            .await
            .expect("state"),
        json!(true),
        "served by the worker, offline"
    );
    alice
        .screenshot("participant-offline-reloaded")
        .await
        .expect("shot");

    // Back online, the client reconnects; on sign-out the client asks the
    // worker to drop every cache, and it answers once it has.
    w.server.resume().await;
    alice.set_offline(false).await.expect("online");
    alice
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("reconnects");
    let cleared = alice
        .execute(
            "const channel = new MessageChannel();
             const reply = new Promise(resolve => { channel.port1.onmessage = (e) => resolve(e.data); });
             navigator.serviceWorker.controller.postMessage({ type: 'clear' }, [channel.port2]);
             return reply;",
            vec![],
        )
        .await
        .expect("clear");
    assert_eq!(cleared, json!({ "type": "cleared" }));
    assert_eq!(cached(&alice).await, json!({}));
}

/// Opens a WebSocket of the page's own to `/sync` (the client's may close
/// itself when the browser says it is offline) as `window.__probe`, and
/// records in `window.__probe_log` what happens to it.
const PROBE_SOCKET: &str = "
    const log = window.__probe_log = [];
    const socket = window.__probe = new WebSocket(`ws://${location.host}/sync`);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => log.push('open');
    socket.onmessage = () => log.push('message');
    socket.onerror = () => log.push('error');
    socket.onclose = () => log.push('close');";

/// Sends `join` on the probe socket: CBOR `{type: 'join', senderId:
/// 'probe'}` (short text strings only), which the server answers with
/// `peer`.
const PROBE_JOIN: &str = "
    const text = (s) => [0x60 + s.length, ...new TextEncoder().encode(s)];
    window.__probe.send(new Uint8Array([0xa2, ...text('type'), ...text('join'),
      ...text('senderId'), ...text('probe')]));";

/// What [`Browser::set_offline`] emulates: the page's new requests only.
/// Tests of offline behaviour build on each of these facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_switch_takes_the_page_offline_but_not_open_sockets_or_the_worker() {
    let w = world().await;
    let alice = open(&w, Some(&w.alice), &w.open.to_string()).await;
    wait_controlled(&alice).await;
    record_network_events(&alice).await;
    alice.execute(PROBE_SOCKET, vec![]).await.expect("probe");
    wait_js(
        &alice,
        "return window.__probe_log.includes('open')",
        "the probe socket is open",
    )
    .await;

    // (a) The page gets an `offline` event and `navigator.onLine` is false.
    alice.set_offline(true).await.expect("offline");
    wait_js(
        &alice,
        "return !navigator.onLine && window.__net.includes('offline')",
        "the page is told it is offline",
    )
    .await;

    // (b) A WebSocket open before stays open and carries both ways: its
    // `join` reaches the server, whose `peer` comes back.
    alice.execute(PROBE_JOIN, vec![]).await.expect("join");
    wait_js(
        &alice,
        "return window.__probe_log.includes('message')",
        "the server's answer arrives over the open socket",
    )
    .await;
    assert_eq!(
        alice
            .execute(
                "return [window.__probe.readyState, window.__probe_log]",
                vec![]
            )
            .await
            .expect("probe"),
        json!([1, ["open", "message"]]),
        "still open, never closed"
    );

    // (c) Navigations go through the worker, whose fetches still reach the
    // server: a page never visited loads.
    alice
        .goto(&format!("{}/w/{}", w.server.base_url(), w.private))
        .await
        .expect("page loads");
    alice
        .wait_for_text("h1#title", "Stängd workshop")
        .await
        .expect("fetched by the worker");
    // But the page's own new connections fail, also after the navigation.
    alice.execute(PROBE_SOCKET, vec![]).await.expect("probe");
    wait_js(
        &alice,
        "return window.__probe_log.includes('close')",
        "a new socket fails",
    )
    .await;
    assert_eq!(
        alice
            .execute(
                "return fetch('/healthz').then(() => 'fetched', () => 'failed')
                   .then(fetched => [window.__probe_log, fetched, navigator.onLine,
                                     !!navigator.serviceWorker.controller])",
                vec![]
            )
            .await
            .expect("state"),
        json!([["error", "close"], "failed", false, true])
    );
}

#[tokio::test]
async fn the_service_worker_is_served_at_the_root_and_registered_by_boot_js() {
    let server = testkit::TestServer::start().await;
    let (status, head, js) = testkit::http_with("GET", &server.http_url("/sw.js"), &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(
        testkit::header_value(&head, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        testkit::header_value(&head, "cache-control"),
        Some("no-cache")
    );
    assert!(testkit::header_value(&head, "content-security-policy").is_some());
    assert!(
        !js.contains("__SYNPUNKT_VERSION__"),
        "the version is filled in"
    );
    let version = worker_version(&server).await;
    assert!(js.contains("const CACHE = `synpunkt-${VERSION}`"));
    assert_eq!(version.len(), 12);
    let (status, boot) = testkit::http_get(&server.http_url("/client/boot.js")).await;
    assert_eq!(status, 200);
    assert!(boot.contains("navigator.serviceWorker") && boot.contains("register(\"/sw.js\""));
}

//! The browser on a large document (ours only): the web client on a
//! workshop whose one section was written by the paper editing trace.
//!
//! 1. The workshop: a summary (model's schema, `Summary::write_new`) with
//!    one section, `paper`, whose text is the paper trace replayed into it,
//!    one change per transaction (~260k changes; built once and cached as
//!    `<cache>/paper-workshop.automerge`). The bench stops a fresh server,
//!    makes a workshop of that document in its store
//!    (`server::import_document`, as `synpunkt import` does with pages)
//!    and starts it again: the server holds it as any workshop's summary.
//! 2. **Time to interactive**: headless Chromium signed in as the admin
//!    (a host everywhere), fresh profile, after `/healthz` (as the `client`
//!    scenario); from navigation start to `<body data-summary="live">`
//!    with the section's edit button drawn (the client has the document
//!    and the host can edit), read as the page's `performance.now()`.
//! 3. **Local keystrokes**: the host opens the section's editor and types
//!    characters with real key events (WebDriver actions). Per keystroke,
//!    in the page: from `keydown` to the end of the `input` event's
//!    handling (a `window` listener, after the client's on `document`:
//!    the client's whole update and drawing run in it), and to the next
//!    animation frame.
//! 4. **Remote changes**: the editor closed, a Rust sync peer (the admin,
//!    another connection) inserts single characters into the section, one
//!    at a time, each waiting until the page shows it. Per change, in the
//!    page: the time the client spent in the WebSocket's `message` handler
//!    (the client's `onmessage` is wrapped by a script that runs before any
//!    of the page's; decoding, `update`, and drawing all run in it), and
//!    the DOM mutations a `MutationObserver` saw on `<body>`; and whether
//!    the summary's elements outside the changed section (title,
//!    metadata, the buttons after it) are still the same nodes: a redraw
//!    of the whole summary replaces them.
//!
//! Every time is read from the page (`performance.now()`); WebDriver's
//! round trips are not in them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::Automerge;
use docsync::DocumentId;
use model::summary::{MeetingType, Section, Summary, Workshop};
use serde_json::{Value, json};
use testkit::Browser;

use crate::fanout::percentile;
use crate::light::LightPeer;
use crate::report::{Goal, Metric};
use crate::target::Target;

/// The section the trace writes.
const SECTION: &str = "paper";
/// Bound on loading the page, and on any one wait for the page.
const TIMEOUT: Duration = Duration::from_secs(120);
/// How often the page is asked.
const POLL: Duration = Duration::from_millis(5);
/// Keys typed per WebDriver call (each is measured in the page).
const KEYS_PER_CALL: usize = 10;

/// In every document before the page's scripts: the instruments.
const INSTRUMENTS_JS: &str = r#"
(() => {
  const b = window.__bench = { keys: [], frames: [], mutations: 0 };
  let down = null;
  addEventListener('keydown', () => { down = performance.now(); }, true);
  addEventListener('input', () => {
    if (down === null) return;
    const start = down;
    down = null;
    const key = { handled: performance.now() - start, frame: null };
    b.keys.push(key);
    requestAnimationFrame(() => { key.frame = performance.now() - start; });
  });
  const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    enumerable: d.enumerable,
    get() { return d.get.call(this); },
    set(f) {
      d.set.call(this, typeof f !== 'function' ? f : function (ev) {
        const t = performance.now();
        try { return f.call(this, ev); } finally { b.frames.push(performance.now() - t); }
      });
    },
  });
})();
"#;

const WARM_JS: &str = "return location.pathname === '/healthz' && document.readyState === 'complete' \
                       ? performance.now() : null;";
const INTERACTIVE_JS: &str = "return document.body && document.body.dataset.summary === 'live' \
    && document.querySelector('[data-action=\"edit-section\"][data-section=\"paper\"]') \
    ? performance.now() : null;";
/// Starts counting mutations and marks the summary's elements outside
/// the changing section (title, metadata, the buttons after it): a redraw
/// of the whole summary replaces them.
const OBSERVE_JS: &str = r#"
const b = window.__bench;
b.observer = new MutationObserver((records) => { b.mutations += records.length; });
b.observer.observe(document.body,
  { subtree: true, childList: true, characterData: true, attributes: true });
const body = document.querySelector('.body[data-section="paper"]');
const section = [...document.querySelector('#summary').children].find((c) => c.contains(body));
b.marked = [...document.querySelectorAll('#summary *')]
  .filter((e) => !section.contains(e));
return b.marked.length;
"#;
/// The section's text length as the page shows it (closed editor).
const SHOWN_LEN_JS: &str = "const e = document.querySelector('.body[data-section=\"paper\"]'); \
                            return e ? e.textContent.length : null;";

/// The workshop document: from the cache, or built from the trace.
pub fn saved_doc(trace: &std::path::Path, cache_dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let cache = cache_dir.join("paper-workshop.automerge");
    if let Ok(bytes) = std::fs::read(&cache) {
        return Ok(bytes);
    }
    let started = Instant::now();
    eprintln!(
        "building the paper workshop from {} (once; cached in {})",
        trace.display(),
        cache.display()
    );
    let trace = crate::paper::read(trace)?;
    let mut doc = Automerge::new();
    Summary {
        workshop: Workshop {
            title: "The paper, keystroke by keystroke".into(),
            language: "en".into(),
            meeting_type: MeetingType::Open,
            ..Workshop::default()
        },
        sections: vec![Section {
            id: SECTION.into(),
            heading: "The paper".into(),
            body: String::new(),
        }],
        actions: vec![],
    }
    .write_new(&mut doc)?;
    let body = model::threads::section_body(&doc, SECTION).context("the section's text")?;
    crate::paper::replay(&trace, &mut doc, &body)?;
    let bytes = doc.save();
    std::fs::create_dir_all(cache_dir)?;
    std::fs::write(&cache, &bytes)?;
    eprintln!(
        "built in {:.1} s: {} changes, {} KB saved",
        started.elapsed().as_secs_f64(),
        doc.get_changes(&[]).len(),
        bytes.len() / 1000
    );
    Ok(bytes)
}

pub async fn run(
    target: &mut Target,
    saved: &[u8],
    keystrokes: usize,
    remote: usize,
) -> anyhow::Result<Vec<Metric>> {
    target.stop().await?;
    let record = server::import_document(&target.data_dir(), saved)
        .context("making a workshop of the paper document")?;
    target.start_again().await?;
    let doc_id = DocumentId::parse(&record.id).context("the workshop's id")?;
    let token = target.token().context("ours has an admin")?.to_owned();
    let base = format!("http://{}", target.addr());

    let browser = Browser::start_with(json!({ "pageLoadStrategy": "none" })).await?;
    browser.on_every_document(INSTRUMENTS_JS).await?;
    browser.set_session_cookie(&base, &token).await?;
    browser.goto(&format!("{base}/healthz")).await?;
    poll_number(&browser, WARM_JS, "/healthz to load").await?;
    browser.goto(&format!("{base}/w/{doc_id}")).await?;
    let interactive_ms = poll_number(&browser, INTERACTIVE_JS, "the workshop to be live").await?;

    // Local keystrokes, in the middle of the text.
    browser
        .click(&format!(
            "[data-action=\"edit-section\"][data-section=\"{SECTION}\"]"
        ))
        .await?;
    browser
        .execute(
            "const f = document.querySelector('textarea[data-key=\"section-editor\"]');
             f.focus(); const at = Math.floor(f.value.length / 2);
             f.setSelectionRange(at, at); window.__bench.keys = [];",
            vec![],
        )
        .await?;
    let mut typed = 0;
    while typed < keystrokes {
        let n = KEYS_PER_CALL.min(keystrokes - typed);
        browser.type_keys(&"x".repeat(n)).await?;
        typed += n;
    }
    let keys = poll_value(
        &browser,
        &format!(
            "const k = window.__bench.keys; \
             return k.length >= {keystrokes} && k.every((x) => x.frame !== null) ? k : null;"
        ),
        "every keystroke handled and drawn",
    )
    .await?;
    let mut handled: Vec<f64> = column(&keys, "handled");
    let mut to_frame: Vec<f64> = column(&keys, "frame");
    anyhow::ensure!(
        handled.len() == keystrokes,
        "{} keystrokes typed, the page saw {}",
        keystrokes,
        handled.len()
    );
    handled.sort_by(f64::total_cmp);
    to_frame.sort_by(f64::total_cmp);

    // Until the server holds what was typed; then the editor closes.
    browser
        .wait_for("#status[data-synced=\"true\"]")
        .await
        .context("the typed text reaching the server")?;
    browser.press_key(testkit::Key::Escape).await?;
    poll_value(
        &browser,
        "return document.querySelector('textarea[data-key=\"section-editor\"]') ? null : true;",
        "the editor to close",
    )
    .await?;

    // Remote changes from another connection of the admin.
    let doc = Automerge::load(saved)?;
    let peer = LightPeer::from_doc(&target.url(), doc_id, Arc::default(), doc).await?;
    peer.resync();
    let marked = browser.execute(OBSERVE_JS, vec![]).await?;
    let marked = marked.as_u64().unwrap_or(0);
    let mut per_change_ms = Vec::with_capacity(remote);
    let mut mutations = Vec::with_capacity(remote);
    let mut kept_all = 0;
    let mut len = poll_number(&browser, SHOWN_LEN_JS, "the section's text").await? as u64;
    for _ in 0..remote {
        browser
            .execute(
                "window.__bench.frames = []; window.__bench.mutations = 0;",
                vec![],
            )
            .await?;
        let body = |d: &Automerge| model::threads::section_body(d, SECTION).expect("the section");
        peer.edit_text(body, "r");
        len += 1;
        let seen = poll_value(
            &browser,
            &format!(
                "const e = document.querySelector('.body[data-section=\"paper\"]'); \
                 const b = window.__bench; \
                 return e && e.textContent.length >= {len} \
                 ? {{ frames: b.frames, mutations: b.mutations, \
                      kept: b.marked.filter((m) => m.isConnected).length }} : null;"
            ),
            "a remote change to show",
        )
        .await?;
        per_change_ms.push(column(&seen["frames"], "").iter().sum::<f64>());
        mutations.push(seen["mutations"].as_f64().unwrap_or(f64::NAN));
        if seen["kept"].as_u64() == Some(marked) {
            kept_all += 1;
        }
    }
    peer.drop_connection();
    per_change_ms.sort_by(f64::total_cmp);
    mutations.sort_by(f64::total_cmp);
    let console = browser.console_errors().await.unwrap_or_default();
    if !console.is_empty() {
        eprintln!("   the page's console errors: {console:?}");
    }
    drop(browser);

    Ok(vec![
        Metric::num(
            "browser, large doc: time to interactive",
            interactive_ms,
            "ms",
            0,
        )
        .goal(Goal::AtMost(1500.0)),
        Metric::num(
            format!("browser, large doc: local keystroke handled p50 ({keystrokes})"),
            percentile(&handled, 0.5),
            "ms",
            1,
        ),
        Metric::num(
            "browser, large doc: local keystroke handled p95",
            percentile(&handled, 0.95),
            "ms",
            1,
        )
        .goal(Goal::AtMost(16.0)),
        Metric::num(
            "browser, large doc: local keystroke to next frame p50",
            percentile(&to_frame, 0.5),
            "ms",
            1,
        ),
        Metric::num(
            "browser, large doc: local keystroke to next frame p95",
            percentile(&to_frame, 0.95),
            "ms",
            1,
        ),
        Metric::num(
            format!("browser, large doc: remote change handled p50 ({remote})"),
            percentile(&per_change_ms, 0.5),
            "ms",
            1,
        ),
        Metric::num(
            "browser, large doc: remote change handled p95",
            percentile(&per_change_ms, 0.95),
            "ms",
            1,
        )
        .goal(Goal::AtMost(16.0)),
        Metric::num(
            "browser, large doc: DOM mutations per remote change p50",
            percentile(&mutations, 0.5),
            "",
            0,
        ),
        Metric::text(
            "browser, large doc: summary redrawn whole per remote change",
            format!(
                "{} of {remote} ({marked} other elements marked)",
                remote - kept_all
            ),
        ),
    ])
}

/// A column of numbers from an array of objects (`""`: the array's own
/// numbers).
fn column(rows: &Value, key: &str) -> Vec<f64> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| if key.is_empty() { r } else { &r[key] }.as_f64())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `js` until it returns a number.
async fn poll_number(browser: &Browser, js: &str, what: &str) -> anyhow::Result<f64> {
    poll_value(browser, js, what)
        .await?
        .as_f64()
        .with_context(|| format!("waiting for {what}: not a number"))
}

/// Polls `js` until it returns something other than `null`, within
/// [`TIMEOUT`]. Errors while a navigation is under way are retried; the
/// last is reported if the time runs out.
async fn poll_value(browser: &Browser, js: &str, what: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let last_error = match browser.execute(js, vec![]).await {
            Ok(Value::Null) => None,
            Ok(v) => return Ok(v),
            Err(e) => Some(e),
        };
        if Instant::now() >= deadline {
            let e = last_error.unwrap_or_else(|| anyhow::anyhow!("still null"));
            return Err(e.context(format!("timed out after {TIMEOUT:?} waiting for {what}")));
        }
        tokio::time::sleep(POLL).await;
    }
}

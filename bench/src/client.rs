//! Client benchmark: how big the web client is, and how fast it first loads.
//!
//! - Sizes: the client files exactly as the server embeds and serves them
//!   (fetched from the running server), raw and gzip-compressed, against the
//!   1.5 MB budget.
//! - First load: headless Chromium on loopback, a fresh profile (cold cache)
//!   per load. The browser first loads `/healthz` from the server, so that
//!   what is timed is the page and not Chromium's own start-up (that page
//!   caches nothing the client needs). Timed from navigation start
//!   (`performance.timeOrigin`) to
//!   `<body data-client="ready">` (the wasm client runs) and, where the page
//!   sets it, `<body data-summary="live">` (a workshop summary rendered from
//!   the synced document). Best and median against the 1.5 s target.
//!
//! The page's `performance.now()` is read by polling over WebDriver every
//! few milliseconds, with page-load strategy `none` so that polling starts
//! as soon as navigation does; a reading is late by at most one poll.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use testkit::Browser;

/// Budget for the client's files (raw bytes).
const BUDGET_BYTES: usize = 1_500_000;
/// Target from navigation start to a usable client.
const TARGET_MS: f64 = 1500.0;
/// How often the page is asked whether the client is ready.
const POLL: Duration = Duration::from_millis(5);
/// How long any one load may take before the bench fails.
const LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long after `ready` the first load looks for `data-summary="live"`;
/// if it does not come, the page does not set it and later loads skip it.
const LIVE_GRACE: Duration = Duration::from_secs(3);

const READY_JS: &str = "return document.body && document.body.dataset.client === 'ready' \
                        ? performance.now() : null;";
const WARM_JS: &str = "return location.pathname === '/healthz' && document.readyState === 'complete' \
                       ? performance.now() : null;";
const LIVE_JS: &str = "return document.body && document.body.dataset.summary === 'live' \
                       ? performance.now() : null;";
/// Where the time went, from the page's own timeline.
const DETAILS_JS: &str = r#"
const nav = performance.getEntriesByType('navigation')[0];
const wasm = performance.getEntriesByType('resource')
  .find((e) => e.name.endsWith('/client_wasm_bg.wasm'));
return { dcl: nav ? nav.domContentLoadedEventEnd : null, wasm: wasm ? wasm.responseEnd : null };
"#;

/// Runs both parts against the server at `addr` (`host:port`). `page` is
/// the path to load; `{workshop}` in it is replaced by the id of the first
/// workshop the public can see.
pub async fn run(addr: &str, page: &str, loads: usize) -> anyhow::Result<()> {
    sizes(addr).await?;
    first_load(addr, page, loads).await
}

async fn sizes(addr: &str) -> anyhow::Result<()> {
    println!("client files as the server embeds and serves them (budget 1.5 MB raw):");
    println!("{:<22} {:>11} {:>11}", "file", "raw", "gzip -6");
    let (mut raw_total, mut gzip_total) = (0, 0);
    for file in ["client_wasm_bg.wasm", "client_wasm.js"] {
        let body = get(addr, &format!("/client/{file}")).await?;
        let gzipped = gzip_len(&body)?;
        println!("{file:<22} {:>11} {:>11}", kb(body.len()), kb(gzipped));
        raw_total += body.len();
        gzip_total += gzipped;
    }
    println!(
        "{:<22} {:>11} {:>11}   {:.0}% of the budget",
        "total",
        kb(raw_total),
        kb(gzip_total),
        raw_total as f64 * 100.0 / BUDGET_BYTES as f64
    );
    Ok(())
}

async fn first_load(addr: &str, page: &str, loads: usize) -> anyhow::Result<()> {
    let page = if page.contains("{workshop}") {
        page.replace("{workshop}", &first_workshop(addr).await?)
    } else {
        page.to_owned()
    };
    let url = format!("http://{addr}{page}");
    println!(
        "\nclient first load: headless Chromium, loopback, fresh profile per load (after /healthz), \
         {loads} loads of {page}"
    );
    println!(
        "{:>5} {:>17} {:>12} {:>13} {:>13}",
        "load", "DOMContentLoaded", "wasm loaded", "client ready", "summary live"
    );
    let mut ready = Vec::new();
    let mut live = Vec::new();
    let mut look_for_live = true;
    for n in 1..=loads {
        let browser = Browser::start_with(json!({ "pageLoadStrategy": "none" })).await?;
        browser.goto(&format!("http://{addr}/healthz")).await?;
        poll(&browser, WARM_JS, Instant::now() + LOAD_TIMEOUT)
            .await?
            .context("timed out loading /healthz")?;
        browser.goto(&url).await?;
        let ready_ms = poll(&browser, READY_JS, Instant::now() + LOAD_TIMEOUT)
            .await?
            .with_context(|| {
                format!("timed out after {LOAD_TIMEOUT:?} waiting for the client on {url}")
            })?;
        let live_ms = if look_for_live {
            let seen = poll(&browser, LIVE_JS, Instant::now() + LIVE_GRACE).await?;
            look_for_live = seen.is_some();
            seen
        } else {
            None
        };
        let details = browser.execute(DETAILS_JS, vec![]).await?;
        println!(
            "{n:>5} {:>17} {:>12} {:>13} {:>13}",
            ms(details["dcl"].as_f64()),
            ms(details["wasm"].as_f64()),
            ms(Some(ready_ms)),
            ms(live_ms),
        );
        ready.push(ready_ms);
        live.extend(live_ms);
        std::io::stdout().flush()?;
    }
    summarise("client ready", &mut ready);
    if live.len() == loads {
        summarise("summary live", &mut live);
    } else {
        println!(
            "summary live: not seen within {LIVE_GRACE:?} of client ready (the page does not set \
             data-summary=\"live\"; try --client-page '/…/{{workshop}}')"
        );
    }
    Ok(())
}

fn summarise(what: &str, times: &mut [f64]) {
    times.sort_by(f64::total_cmp);
    let median = times[(times.len() - 1) / 2];
    println!(
        "{what}: best {:.1} ms, median {median:.1} ms (target {TARGET_MS:.0} ms: {})",
        times[0],
        if median <= TARGET_MS { "met" } else { "MISSED" }
    );
}

/// Polls `js` until it returns a number (the page's `performance.now()`),
/// or `deadline` passes (`None`). Errors while navigation is under way are
/// expected and retried; the last one is reported if the deadline passes.
async fn poll(browser: &Browser, js: &str, deadline: Instant) -> anyhow::Result<Option<f64>> {
    loop {
        let last_error = match browser.execute(js, vec![]).await {
            Ok(Value::Number(n)) => return Ok(n.as_f64()),
            Ok(_) => None,
            Err(e) => Some(e),
        };
        if Instant::now() >= deadline {
            return match last_error {
                Some(e) => Err(e.context("polling the page")),
                None => Ok(None),
            };
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The id of the first workshop the public can see.
async fn first_workshop(addr: &str) -> anyhow::Result<String> {
    let body = get(addr, "/api/workshops").await?;
    let list: Value = serde_json::from_slice(&body).context("the workshop list is JSON")?;
    Ok(list[0]["id"]
        .as_str()
        .context("the server has no open workshop")?
        .to_owned())
}

/// A GET over a fresh connection; the body's bytes (the server sends a
/// `Content-Length` body and closes the connection).
async fn get(addr: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        bail!("GET {path}: {}", head.lines().next().unwrap_or_default());
    }
    if head.contains("transfer-encoding: chunked") {
        bail!("GET {path}: a chunked answer (expected a Content-Length body)");
    }
    Ok(response[end + 4..].to_vec())
}

fn gzip_len(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
}

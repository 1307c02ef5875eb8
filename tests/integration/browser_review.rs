//! Issue 14 (review, history, published editions) in real headless
//! Chromium: a history people can read (sections by their headings, entries
//! in the order they were written, localised relative times, labelled
//! fields, a header on comparisons).

use serde_json::json;
use testkit::{Browser, Client};

use crate::browser_a11y::audit;
use crate::browser_steps::{count, fill, open, open_in};
use crate::common::world;

/// The texts of every element matching `css`, in document order.
async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let value = b
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);",
            vec![json!(css)],
        )
        .await
        .expect("texts");
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The value of `name` on every element matching `css`.
async fn attrs(b: &Browser, css: &str, name: &str) -> Vec<String> {
    let value = b
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]) || '');",
            vec![json!(css), json!(name)],
        )
        .await
        .expect("attrs");
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_names_sections_by_heading_and_lists_entries_by_when_they_were_written() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;

    // The host edits the issue now, in the browser.
    host.click("[data-action=\"edit-section\"][data-section=\"issue\"]")
        .await
        .expect("edit");
    fill(
        &host,
        "textarea[data-key=\"section-editor\"]",
        "Läkemedelsverket 😀 — avancerade terapier",
    )
    .await;
    host.wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("the edit reaches the server");
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");

    // A section the host wrote two hours ago offline arrives after it: it
    // is applied later, but was written earlier.
    let offline = Client::connect(&w.server.sync_url_for(&w.host)).await;
    offline.find(w.open).await.expect("find");
    let two_hours_ago = now_s() - 2 * 3600;
    offline.change_at(w.open, two_hours_ago, |tx| {
        model::authoring::add_section(tx, "get-involved", "Engagera dig", None).expect("add");
    });
    offline.wait_acked(w.open).await.expect("stored");

    host.click("[data-action=\"tab\"][data-tab=\"history\"]")
        .await
        .expect("history tab");
    host.wait_for_text("#versions", "Engagera dig")
        .await
        .expect("the offline section's version is listed by its heading");

    // Newest first, by when each was written.
    let times: Vec<i64> = attrs(&host, "#versions .version", "data-time")
        .await
        .iter()
        .map(|t| t.parse().expect("a time"))
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let whats = texts(&host, "#versions .version .what").await;
    assert!(
        whats[0].contains("“The issue at hand” changed"),
        "the browser edit is the newest: {whats:?}"
    );
    let offline_at = whats
        .iter()
        .position(|t| t.contains("“Engagera dig” changed"))
        .expect("the offline version");
    assert!(offline_at > 0, "below the newer edit: {whats:?}");
    for t in &whats {
        assert!(!t.contains("get-involved"), "no internal ids: {whats:?}");
    }

    // Relative, localised times; absolute on hover; ISO for machines.
    let shown = texts(&host, "#versions .version time").await;
    assert!(
        shown[0] == "just now" || shown[0].ends_with(" min ago"),
        "{shown:?}"
    );
    let hover = attrs(&host, "#versions .version time", "title").await;
    assert!(
        hover[offline_at].contains(" 20") && hover[offline_at].contains(':'),
        "a full date and time on hover: {hover:?}"
    );
    let iso = attrs(&host, "#versions .version time", "datetime").await;
    assert!(iso[0].ends_with('Z') && iso[0].contains('T'), "{iso:?}");

    // The version-name field has a visible label tied to it.
    assert_eq!(
        host.text("label[for=\"version-name\"]")
            .await
            .expect("label"),
        "Version name"
    );
    assert_eq!(count(&host, "input#version-name").await, 1);

    // A named version, compared with now, says what is compared with what.
    fill(&host, "#version-name", "Före mötet").await;
    host.click("[data-action=\"publish\"]")
        .await
        .expect("publish");
    host.wait_for_text("#named li", "Före mötet")
        .await
        .expect("published");
    host.click("[data-action=\"edit-section\"][data-section=\"issue\"]")
        .await
        .expect("edit");
    fill(
        &host,
        "textarea[data-key=\"section-editor\"]",
        "Läkemedelsverket 😀 — avancerade terapier, efter mötet",
    )
    .await;
    host.wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("the edit reaches the server");
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    host.click("#named [data-action=\"compare-version\"]")
        .await
        .expect("compare");
    let header = host
        .text("#version-view .version-header")
        .await
        .expect("header");
    assert!(
        header.starts_with("Version “Före mötet” (") && header.ends_with(") → now"),
        "{header}"
    );
    let inserted = texts(&host, "#version-view .diff ins").await.concat();
    assert!(inserted.contains("efter mötet"), "{inserted}");
    host.screenshot("history-readable-host")
        .await
        .expect("shot");
    audit(&host, "history, compare", &["label"]).await;

    // In Swedish: the same headings, Swedish times and header.
    let sv = open_in(
        Browser::start_with(json!({ "goog:chromeOptions": {
            "prefs": { "intl": { "accept_languages": "sv-SE,sv" } },
        }}))
        .await
        .expect("chromium starts"),
        &w,
        Some(&w.alice),
        &ws,
    )
    .await;
    sv.click("[data-action=\"tab\"][data-tab=\"history\"]")
        .await
        .expect("history tab");
    sv.wait_for_text("#versions", "”Engagera dig” ändrades")
        .await
        .expect("Swedish history by heading");
    let shown = texts(&sv, "#versions .version time").await;
    assert!(
        shown[0] == "nyss" || shown[0].starts_with("för "),
        "{shown:?}"
    );
    let hover = attrs(&sv, "#versions .version time", "title").await;
    assert!(
        [
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december"
        ]
        .iter()
        .any(|m| hover[0].contains(m)),
        "{hover:?}"
    );
    sv.click("#named [data-action=\"compare-version\"]")
        .await
        .expect("compare");
    let header = sv
        .text("#version-view .version-header")
        .await
        .expect("header");
    assert!(
        header.starts_with("Version ”Före mötet” (") && header.ends_with(") → nu"),
        "{header}"
    );
    sv.screenshot("history-readable-participant-sv")
        .await
        .expect("shot");
    audit(&sv, "history sv", &[]).await;
}

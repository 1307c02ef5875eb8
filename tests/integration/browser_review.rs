//! Issue 14 (review, history, published editions) in real headless
//! Chromium: a history people can read (sections by their headings, entries
//! in the order they were written, localised relative times, labelled
//! fields, a header on comparisons) and published editions (what the
//! public sees when hosts show it only the latest published version: the
//! page, every API route and the socket).

use serde_json::json;
use testkit::{Browser, Client};

use crate::browser_a11y::audit;
use crate::browser_steps::{count, fill, open, open_in};
use crate::common::{World, api, world};

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

/// A public reader's view over HTTP: (status, body) of a GET without a
/// session.
async fn public_get(w: &World, path: &str) -> (u16, String) {
    testkit::http_get(&format!("{}{path}", w.server.base_url())).await
}

/// What a public reader can learn of the workshop's summary text: the
/// page, the summary and its export (the socket is checked apart).
async fn public_texts(w: &World) -> Vec<(String, u16, String)> {
    let ws = w.open;
    let mut out = Vec::new();
    for path in [
        format!("/w/{ws}"),
        format!("/api/workshops/{ws}/summary"),
        format!("/api/workshops/{ws}/export.md"),
    ] {
        let (status, body) = public_get(w, &path).await;
        out.push((path, status, body));
    }
    out
}

/// The routes that read the live document (text, threads, history,
/// authors, contributions), which a public shown the edition may not use.
fn live_routes(w: &World) -> Vec<String> {
    let ws = w.open;
    ["threads", "authors", "history", "contributions"]
        .iter()
        .map(|r| format!("/api/workshops/{ws}/{r}"))
        .collect()
}

fn public_sync_url(w: &World) -> String {
    format!("{}/sync", w.server.base_url().replace("http://", "ws://"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_sees_the_published_edition_and_never_the_live_text_when_hosts_choose_so() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    // A public reader following the live document before the switch.
    let early = Client::connect(&public_sync_url(&w)).await;
    early.find(w.open).await.expect("the public reads live");

    // The host chooses "the latest published version" before publishing
    // anything: the public page names the workshop and says so.
    host.click("[data-action=\"tab\"][data-tab=\"history\"]")
        .await
        .expect("history tab");
    host.click("[data-action=\"public-view\"][data-view=\"published\"]")
        .await
        .expect("choose published");
    host.wait_for("[data-action=\"public-view\"][data-view=\"published\"][aria-pressed=\"true\"]")
        .await
        .expect("the choice is saved");
    early
        .wait_closed()
        .await
        .expect("the public's live socket closes when the choice changes");
    let (status, page) = public_get(&w, &format!("/w/{ws}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-edition=\"none\""), "{page}");
    assert!(page.contains("not published yet"), "{page}");
    assert!(page.contains("Öppen workshop"), "the title: {page}");
    assert!(!page.contains("ATMP"), "no live text: {page}");
    let (status, _) = public_get(&w, &format!("/api/workshops/{ws}/summary")).await;
    assert_eq!(status, 404, "nothing published");

    // Published, then the host goes on typing half a sentence.
    fill(&host, "#version-name", "Före mötet").await;
    host.click("[data-action=\"publish\"]")
        .await
        .expect("publish");
    host.wait_for_text("#named li", "Före mötet")
        .await
        .expect("published");
    let half = "Vi föreslår att regionerna";
    host.click("[data-action=\"edit-section\"][data-section=\"issue\"]")
        .await
        .expect("edit");
    fill(
        &host,
        "textarea[data-key=\"section-editor\"]",
        &format!("Läkemedelsverket 😀 — ATMP. {half}"),
    )
    .await;
    host.wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("the half sentence reaches the server");

    // The public: the edition, with when it was published; never the half
    // sentence, on no route.
    for (path, status, body) in public_texts(&w).await {
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body.contains("Läkemedelsverket 😀 — ATMP"),
            "{path}: {body}"
        );
        assert!(!body.contains(half), "{path} shows the live text: {body}");
    }
    let (_, page) = public_get(&w, &format!("/w/{ws}")).await;
    assert!(page.contains("data-edition=\"published\""), "{page}");
    assert!(page.contains("Published"), "{page}");
    assert!(page.contains("Före mötet"), "the edition's name: {page}");
    assert!(!page.contains("boot.js"), "no live client: {page}");
    for path in live_routes(&w) {
        let (status, body) = public_get(&w, &path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(!body.contains(half), "{path}: {body}");
    }
    let heads = {
        let (_, history) = api(
            &w.server,
            "GET",
            &format!("/api/workshops/{ws}/history"),
            None,
            Some(&w.host),
        )
        .await;
        history["versions"]
            .as_array()
            .and_then(|v| v.last())
            .map(|v| {
                v["heads"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .expect("the newest version's heads")
    };
    for path in [
        format!("/api/workshops/{ws}/history/at?heads={heads}"),
        format!("/api/workshops/{ws}/history/compare?from={heads}"),
    ] {
        let (status, body) = public_get(&w, &path).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let public = Client::connect(&public_sync_url(&w)).await;
    assert!(
        matches!(
            public.find(w.open).await,
            Err(testkit::ClientError::Unavailable(_))
        ),
        "the socket gives the public no live document"
    );
    // Participants keep working on the live text.
    let (status, summary) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/summary"),
        None,
        Some(&w.alice),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        summary["sections"][0]["body"]
            .as_str()
            .is_some_and(|b| b.contains(half)),
        "{summary}"
    );

    // In a browser, signed out: the edition, read-only, and accessible.
    let reader = Browser::start().await.expect("chromium starts");
    reader
        .goto(&format!("{}/w/{ws}", w.server.base_url()))
        .await
        .expect("page");
    reader
        .wait_for_text(".edition-note", "Published")
        .await
        .expect("the edition note");
    assert!(!reader.text("#summary").await.expect("text").contains(half));
    reader
        .screenshot("edition-public-reader")
        .await
        .expect("shot");
    audit(&reader, "edition public", &[]).await;
    host.screenshot("edition-choice-host").await.expect("shot");

    // Back to live: the public sees the text as it is now.
    host.click("[data-action=\"public-view\"][data-view=\"live\"]")
        .await
        .expect("choose live");
    host.wait_for("[data-action=\"public-view\"][data-view=\"live\"][aria-pressed=\"true\"]")
        .await
        .expect("the choice is saved");
    for (path, status, body) in public_texts(&w).await {
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(half), "{path} live: {body}");
    }
    let public = Client::connect(&public_sync_url(&w)).await;
    public.find(w.open).await.expect("the public reads live");
    let body = public.read(w.open, |d| {
        model::summary::Summary::read(d).map(|s| s.sections[0].body.clone())
    });
    assert!(
        body.as_ref().is_ok_and(|b| b.contains(half)),
        "live over the socket: {body:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_show_in_the_text_as_suggestions_and_are_accepted_there() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let bob = open(&w, Some(&w.bob), &ws).await;

    // Alice proposes new wording for "ATMP" (over sync, as her client does).
    let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
    alice.find(w.open).await.expect("find");
    let text = "Läkemedelsverket 😀 — ATMP";
    let atmp = text[..text.find("ATMP").expect("ATMP")]
        .encode_utf16()
        .count();
    alice.change(w.open, |tx| {
        model::contributions::propose(
            tx,
            "c1",
            &model::contributions::Proposal::Replace {
                section: "issue".into(),
                start: atmp,
                end: atmp + 4,
                text: "cell- och genterapier".into(),
            },
            "Mer exakt",
            1_700_000_000_000,
        )
        .expect("propose");
    });
    alice.wait_acked(w.open).await.expect("stored");

    // The host turns suggestions on: the proposal is in the text.
    host.click("[data-action=\"toggle-suggestions\"]")
        .await
        .expect("show suggestions");
    let suggestion = ".body[data-section=\"issue\"] .suggestion[data-contribution=\"c1\"]";
    host.wait_for(&format!("{suggestion} ins"))
        .await
        .expect("the suggestion in the text");
    assert_eq!(
        texts(&host, &format!("{suggestion} del")).await,
        vec!["ATMP"]
    );
    assert_eq!(
        texts(&host, &format!("{suggestion} ins")).await,
        vec!["cell- och genterapier"]
    );
    assert_eq!(
        host.attr(suggestion, "title").await.expect("title"),
        Some("Suggestion by Alice".into()),
        "the proposer on hover"
    );
    assert_eq!(
        host.attr(suggestion, "aria-label").await.expect("label"),
        Some("Suggestion by Alice".into())
    );
    assert_eq!(
        count(
            &host,
            &format!(
                "{suggestion} [data-action=\"edit-accept\"], {suggestion} [data-action=\"reject\"]"
            )
        )
        .await,
        2,
        "edit then accept, and reject, right there"
    );
    host.screenshot("suggestions-in-text-host")
        .await
        .expect("shot");
    audit(&host, "suggestions", &[]).await;

    // Accepted in the text: the other reader sees the new wording.
    host.click(&format!("{suggestion} [data-action=\"accept\"]"))
        .await
        .expect("accept");
    let accepted = "Läkemedelsverket 😀 — cell- och genterapier";
    bob.wait_for_text(".body[data-section=\"issue\"]", accepted)
        .await
        .expect("the second client sees the accepted text");
    host.wait_for_text(".body[data-section=\"issue\"]", accepted)
        .await
        .expect("the host's text");
    assert_eq!(
        count(&host, ".suggestion").await,
        0,
        "no open suggestion left"
    );
}

//! The status pill tells the truth, in real headless Chromium: offline
//! within 2 s of the network going, with the count of changes waiting;
//! "Saved" only once the server has them; and a comment written offline
//! survives a reload while offline (the service worker serves the page,
//! IndexedDB the document) and arrives once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::Browser;

use crate::browser_steps::{fill, open, select};
use crate::common::{World, api, world};

async fn status(b: &Browser) -> (String, String) {
    let state = b
        .attr("#status", "data-state")
        .await
        .expect("status")
        .unwrap_or_default();
    (state, b.text("#status").await.expect("status text"))
}

async fn comment(b: &Browser, text: &str) {
    select(b, "issue", 0, 16).await;
    b.click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(b, "[data-key=\"composer-text\"]", text).await;
    b.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    b.wait_for_text(".thread .comment .body", text)
        .await
        .expect("shown at once");
}

/// The open workshop's comments with this text, as the server has them.
async fn on_server(w: &World, text: &str) -> usize {
    let (status, threads) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{}/threads", w.open),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    threads
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["comments"].as_array().cloned().unwrap_or_default())
        .filter(|c: &Value| c["body"] == json!(text))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_shows_within_two_seconds_with_what_waits() {
    let w = world().await;
    let alice = open(&w, Some(&w.alice), &w.open.to_string()).await;
    alice
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("saved");
    let saved = status(&alice).await.1;
    assert!(saved == "Sparat" || saved == "Saved", "{saved}");

    let went = Instant::now();
    alice.set_offline(true).await.expect("offline");
    alice
        .wait_for("#status[data-state=\"offline\"]")
        .await
        .expect("offline shown");
    let took = went.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "offline shown after {took:?}"
    );
    let (_, text) = status(&alice).await;
    assert!(text.starts_with("Offline — "), "{text}");

    comment(&alice, "Skriven utan nät").await;
    alice
        .wait_for("#status[data-state=\"offline\"][data-waiting=\"1\"]")
        .await
        .expect("one change waits");
    let (_, text) = status(&alice).await;
    assert!(
        text == "Offline — 1 ändring väntar" || text == "Offline — 1 change waiting",
        "{text}"
    );
    alice
        .screenshot("status-offline-waiting")
        .await
        .expect("shot");
    assert_eq!(on_server(&w, "Skriven utan nät").await, 0, "not sent");

    alice.set_offline(false).await.expect("online");
    alice
        .wait_for("#status[data-state=\"saved\"][data-waiting=\"0\"]")
        .await
        .expect("saved once the server has it");
    assert_eq!(on_server(&w, "Skriven utan nät").await, 1, "arrived once");
    alice.screenshot("status-saved").await.expect("shot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_written_offline_survives_a_reload_while_offline_and_arrives_once() {
    let mut w = world().await;
    let page = format!("{}/w/{}", w.server.base_url(), w.open);
    let alice = open(&w, Some(&w.alice), &w.open.to_string()).await;
    // Once the service worker controls the page, it keeps what it serves.
    alice
        .execute(
            "return navigator.serviceWorker.ready.then(() => true);",
            vec![],
        )
        .await
        .expect("the service worker is ready");
    alice.goto(&page).await.expect("reload");
    alice
        .wait_for("body[data-summary=\"live\"]")
        .await
        .expect("drawn");

    // The network goes (and the server with it: the service worker's own
    // fetches are not emulated offline).
    alice.set_offline(true).await.expect("offline");
    w.server.stop().await;
    comment(&alice, "Skriven på tåget").await;
    alice
        .wait_for("#status[data-state=\"offline\"][data-waiting=\"1\"]")
        .await
        .expect("waiting");

    // Reloaded offline: the page, the client and the comment are there.
    alice.goto(&page).await.expect("reload offline");
    alice
        .wait_for("body[data-summary=\"live\"]")
        .await
        .expect("drawn from the local copy");
    alice
        .wait_for_text(".thread .comment .body", "Skriven på tåget")
        .await
        .expect("the comment survived the reload");
    alice
        .wait_for("#status[data-state=\"offline\"][data-waiting=\"1\"]")
        .await
        .expect("still waiting");
    alice
        .screenshot("status-reloaded-offline")
        .await
        .expect("shot");

    w.server.resume().await;
    alice.set_offline(false).await.expect("online");
    alice
        .wait_for("#status[data-state=\"saved\"][data-waiting=\"0\"]")
        .await
        .expect("sent and saved");
    assert_eq!(on_server(&w, "Skriven på tåget").await, 1, "arrived once");
}

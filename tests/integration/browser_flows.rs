//! The product in real headless Chromium: a host and a participant on one
//! summary, a public reader, and a participant who loses the connection.
//! Each browser runs the wasm client served by a real server on loopback;
//! screenshots of the main views go to the folder `testkit::screenshots_dir`
//! names.

use serde_json::{Value, json};

use crate::browser_steps::{body_text, count, edit_section_start, fill, open, select, utf16_at};
use crate::common::{api, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_participant_comment_edit_and_accept_live() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let alice = open(&w, Some(&w.alice), &ws).await;
    let text = "Läkemedelsverket 😀 — ATMP";

    // Alice comments on "Läkemedelsverket"; it appears on the host's page.
    select(&alice, "issue", 0, 16).await;
    alice
        .click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(
        &alice,
        "[data-key=\"composer-text\"]",
        "Vilken myndighet? <b>fet</b>",
    )
    .await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    host.wait_for_text(".thread .comment .body", "Vilken myndighet? <b>fet</b>")
        .await
        .expect("the comment arrives at the host");
    assert_eq!(
        host.text("mark.anchor").await.expect("anchor"),
        "Läkemedelsverket"
    );
    host.wait_for_text(".thread .author", "Alice")
        .await
        .expect("with its verified author");
    assert_eq!(
        count(&host, ".thread b").await,
        0,
        "comment text is never HTML"
    );
    host.screenshot("host-summary-with-comment")
        .await
        .expect("shot");

    // The host edits the section; Alice sees it, the anchor still right.
    edit_section_start(&host, "issue", "Om: ").await;
    alice
        .wait_for_text(".body[data-section=\"issue\"]", &format!("Om: {text}"))
        .await
        .expect("the host's edit arrives");
    assert_eq!(
        alice.text("mark.anchor").await.expect("anchor"),
        "Läkemedelsverket"
    );
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");

    // Alice proposes new wording for "ATMP"; the host accepts it.
    let edited = format!("Om: {text}");
    let at = utf16_at(&edited, "ATMP");
    select(&alice, "issue", at, at + 4).await;
    alice
        .click("#selection-tools [data-action=\"propose\"]")
        .await
        .expect("propose");
    fill(
        &alice,
        "[data-key=\"composer-text\"]",
        "avancerade terapier (ATMP)",
    )
    .await;
    fill(&alice, "[data-key=\"composer-reason\"]", "Tydligare").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    host.click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    host.wait_for(".contribution[data-status=\"open\"] ins")
        .await
        .expect("the proposal arrives as a diff");
    host.screenshot("host-reviews-proposal")
        .await
        .expect("shot");
    host.click(".contribution[data-status=\"open\"] [data-action=\"accept\"]")
        .await
        .expect("accept");
    alice
        .wait_for_text(
            ".body[data-section=\"issue\"]",
            "Om: Läkemedelsverket 😀 — avancerade terapier (ATMP)",
        )
        .await
        .expect("the accepted text arrives");
    alice
        .click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    alice
        .wait_for_text(".contribution[data-status=\"accepted\"] .author", "Alice")
        .await
        .expect("accepted, with its contributor");
    alice
        .screenshot("participant-proposals")
        .await
        .expect("shot");
    host.click("[data-action=\"tab\"][data-tab=\"history\"]")
        .await
        .expect("history tab");
    host.wait_for("#versions .version").await.expect("versions");
    host.screenshot("host-history").await.expect("shot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_reads_open_workshops_only() {
    let w = world().await;
    let public = open(&w, None, &w.open.to_string()).await;
    public
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("live");
    assert!(body_text(&public, "issue").await.contains("ATMP"));
    assert_eq!(
        count(
            &public,
            "[data-action=\"section-menu\"], [data-action=\"comment-section\"], [data-action=\"edit-section\"]"
        )
        .await,
        0,
        "no way to write for the public"
    );
    public.screenshot("public-summary").await.expect("shot");
    public
        .goto(&format!("{}/w/{}", w.server.base_url(), w.private))
        .await
        .expect("page");
    public
        .wait_for("body[data-page=\"not-found\"]")
        .await
        .expect("an invite-only workshop does not exist for the public");
    assert!(
        !public
            .text("body")
            .await
            .expect("body")
            .contains("Stängd workshop")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_made_offline_arrives_once_after_reconnecting() {
    let mut w = world().await;
    let ws = w.open.to_string();
    let alice = open(&w, Some(&w.alice), &ws).await;
    alice
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("online");
    w.server.stop().await;
    alice
        .wait_for("#status[data-state=\"offline\"]")
        .await
        .expect("the page shows it is offline");
    select(&alice, "issue", 0, 16).await;
    alice
        .click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(&alice, "[data-key=\"composer-text\"]", "Skriven på tåget").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .wait_for_text(".thread .comment .body", "Skriven på tåget")
        .await
        .expect("kept locally");
    alice.screenshot("participant-offline").await.expect("shot");
    w.server.resume().await;
    alice
        .wait_for("#status[data-state=\"saved\"][data-synced=\"true\"]")
        .await
        .expect("reconnects and syncs");
    let (status, threads) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/threads"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    let bodies: Vec<&Value> = threads
        .as_array()
        .expect("threads")
        .iter()
        .flat_map(|t| t["comments"].as_array().expect("comments").iter())
        .map(|c| &c["body"])
        .collect();
    assert_eq!(bodies, vec![&json!("Skriven på tåget")], "exactly once");
    assert_eq!(threads[0]["authorName"], "Alice");
}

//! What a host and a participant do in the web client beyond commenting, in
//! real headless Chromium: drafts from start to merge, the history (view,
//! compare, publish a named version), reviews (reject with a reply, edit
//! then accept, new paragraphs and actions, withdrawal) and invite links
//! that bring a fresh browser in. Every step is checked on the pages'
//! DOM, and where it says more, through the JSON API as well.

use serde_json::{Value, json};
use testkit::Browser;

use crate::browser_steps::{body_text, count, fill, open, select, utf16_at};
use crate::common::{World, api, world};

const TEXT: &str = "Läkemedelsverket 😀 — ATMP";

/// The texts of every element matching `css`, in document order.
async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let value = b
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText);",
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

/// GET on the workshop's API as `token`; asserts 200.
async fn get(w: &World, token: &str, what: &str) -> Value {
    let (status, body) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{}/{what}", w.open),
        None,
        Some(token),
    )
    .await;
    assert_eq!(status, 200, "{what}: {body}");
    body
}

/// The workshop's contribution with this reason (reasons are unique in
/// each test).
async fn contribution(w: &World, reason: &str) -> Value {
    get(w, &w.host, "contributions")
        .await
        .as_array()
        .expect("contributions")
        .iter()
        .find(|c| c["reason"] == reason)
        .unwrap_or_else(|| panic!("no contribution with the reason {reason:?}"))
        .clone()
}

/// Replaces the text of the section editor as typing would, and waits
/// until the server holds the change.
async fn type_in_editor(b: &Browser, section: &str, text: &str) {
    b.click(&format!(
        "[data-action=\"edit-section\"][data-section=\"{section}\"]"
    ))
    .await
    .expect("edit");
    fill(b, "textarea[data-key=\"section-editor\"]", text).await;
    b.wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("the edit reaches the server");
}

/// A `data-contribution` button of one contribution.
fn on(contribution: &Value, action: &str) -> String {
    format!(
        ".contribution[data-contribution=\"{}\"] [data-action=\"{action}\"]",
        contribution["id"].as_str().expect("id")
    )
}

/// The article of one contribution, with its status.
fn article(contribution: &Value, status: &str) -> String {
    format!(
        ".contribution[data-contribution=\"{}\"][data-status=\"{status}\"]",
        contribution["id"].as_str().expect("id")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_written_submitted_previewed_and_merged() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let alice = open(&w, Some(&w.alice), &ws).await;
    // A second section, which only the host will change after the fork.
    let host_sync = testkit::Client::connect(&w.server.sync_url_for(&w.host)).await;
    host_sync.find(w.open).await.expect("find");
    host_sync.change(w.open, |tx| {
        model::authoring::add_section(tx, "outcomes", "Resultat", None).expect("add");
    });
    host_sync.wait_acked(w.open).await.expect("stored");
    alice
        .wait_for(".body[data-section=\"outcomes\"]")
        .await
        .expect("the section arrives");

    // Alice takes a draft: the page shows her copy, which she may edit.
    alice
        .click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    alice
        .click("[data-action=\"start-draft\"]")
        .await
        .expect("start a draft");
    alice
        .wait_for("#summary .banner [data-action=\"submit-draft\"]")
        .await
        .expect("the draft banner");
    let draft_text = format!("{TEXT} och avancerade terapier");
    type_in_editor(&alice, "issue", &draft_text).await;
    alice
        .screenshot("draft-editor-participant")
        .await
        .expect("shot");
    alice
        .click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    assert_eq!(body_text(&alice, "issue").await, draft_text);
    // Nobody else sees the draft: the summary is unchanged.
    assert_eq!(body_text(&host, "issue").await, TEXT);

    // Meanwhile the host writes the second section, and edits another
    // stretch of the draft's section.
    host_sync.change(w.open, |tx| {
        let body = model::threads::section_body(tx, "outcomes").expect("body");
        automerge::transaction::Transactable::splice_text(tx, &body, 0, 0, "Ett resultat")
            .expect("splice");
    });
    host_sync.wait_acked(w.open).await.expect("stored");
    type_in_editor(&host, "issue", &format!("Om: {TEXT}")).await;
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");

    fill(&alice, "[data-key=\"draft-reason\"]", "Fler terapier").await;
    alice
        .click("[data-action=\"submit-draft\"]")
        .await
        .expect("submit");
    alice
        .wait_for_text(
            ".contribution[data-status=\"open\"] .reason",
            "Fler terapier",
        )
        .await
        .expect("the submitted draft is listed");
    assert_eq!(
        count(&alice, "#summary .banner").await,
        0,
        "back on the summary"
    );
    let submitted = contribution(&w, "Fler terapier").await;
    assert_eq!(submitted["kind"], "draft");
    assert_eq!(submitted["authorName"], "Alice");

    // The host reviews the draft: its card says whose it is and how much
    // it changes; its review shows only the section the draft changed, as
    // a word diff against the text now, no conflict (they changed
    // different stretches). The section only the host changed is not the
    // draft's and is not listed.
    host.click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    host.wait_for_text(&format!("{} .author", article(&submitted, "open")), "Alice")
        .await
        .expect("the draft proposal, by Alice");
    let card = format!("{} .draft-facts", article(&submitted, "open"));
    host.wait_for_text(&card, "1 section changed")
        .await
        .expect("the card counts the changed sections");
    assert!(
        host.text(&card)
            .await
            .expect("card")
            .starts_with("Draft by Alice"),
        "the card names the draft's owner"
    );
    host.click(&on(&submitted, "preview"))
        .await
        .expect("review");
    let review = ".draft-review .review-section[data-section=\"issue\"]";
    host.wait_for(review).await.expect("the review");
    assert_eq!(
        count(&host, ".draft-review .review-section").await,
        1,
        "only the section the draft changed"
    );
    let merged = format!("Om: {TEXT} och avancerade terapier");
    assert_eq!(
        host.attr(review, "data-conflict").await.expect("attr"),
        Some("false".into())
    );
    assert_eq!(
        texts(&host, &format!("{review} .diff ins")).await,
        vec![" och avancerade terapier".to_owned()]
    );
    assert_eq!(count(&host, &format!("{review} .diff del")).await, 0);
    assert_eq!(
        count(&host, ".draft-review [data-part]").await,
        0,
        "no copies"
    );
    host.screenshot("draft-review-host").await.expect("shot");
    crate::browser_a11y::audit(&host, "draft review", &[]).await;

    // One action in the review merges it; both pages show the merged text.
    host.click(".draft-review [data-action=\"accept\"]")
        .await
        .expect("merge");
    for b in [&host, &alice] {
        b.wait_for_text(".body[data-section=\"issue\"]", &merged)
            .await
            .expect("the merged text");
        assert_eq!(body_text(b, "issue").await, merged);
    }
    alice
        .wait_for(&article(&submitted, "accepted"))
        .await
        .expect("Alice sees her draft accepted");
    let (status, summary) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/summary"),
        None,
        Some(&w.alice),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(summary["sections"][0]["body"], merged.as_str());

    // The history names Alice as the author of the draft's text.
    for b in [&host, &alice] {
        b.click("[data-action=\"tab\"][data-tab=\"history\"]")
            .await
            .expect("history tab");
        b.wait_for_text("#versions", "Alice")
            .await
            .expect("a version by Alice");
        let by_alice: Vec<String> = texts(b, "#versions .version")
            .await
            .into_iter()
            .filter(|v| v.starts_with("Alice"))
            .collect();
        assert!(
            by_alice
                .iter()
                .any(|v| v.contains("issue") && v.contains("(+24 −0)")),
            "Alice's version changed the section: {by_alice:?}"
        );
    }
    host.screenshot("draft-merged-history-host")
        .await
        .expect("shot");
    let history = get(&w, &w.host, "history").await;
    assert!(
        history["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .any(|v| v["author"]["name"] == "Alice" && v["what"]["sections"] == json!(["issue"])),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_draft_is_flagged_and_rejected_with_a_reply() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let alice = open(&w, Some(&w.alice), &ws).await;

    // Alice's draft and the host both rewrite "ATMP".
    alice
        .click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    alice
        .click("[data-action=\"start-draft\"]")
        .await
        .expect("start a draft");
    alice.wait_for("#summary .banner").await.expect("the draft");
    let draft_text = "Läkemedelsverket 😀 — cell- och genterapier";
    type_in_editor(&alice, "issue", draft_text).await;
    let current = "Läkemedelsverket 😀 — avancerade terapier";
    type_in_editor(&host, "issue", current).await;
    fill(&alice, "[data-key=\"draft-reason\"]", "Precisare").await;
    alice
        .click("[data-action=\"submit-draft\"]")
        .await
        .expect("submit");
    alice
        .wait_for_text("#contributions", "Precisare")
        .await
        .expect("submitted");
    alice
        .wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("synced");
    let submitted = contribution(&w, "Precisare").await;

    // The review flags the conflict, on the section and on the runs where
    // both changed the text.
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    host.click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    host.click(&on(&submitted, "preview"))
        .await
        .expect("review");
    let review = ".draft-review .review-section[data-section=\"issue\"]";
    host.wait_for(review).await.expect("the review");
    assert_eq!(
        host.attr(review, "data-conflict").await.expect("attr"),
        Some("true".into())
    );
    assert_eq!(count(&host, &format!("{review} .badge.conflict")).await, 1);
    assert!(
        count(
            &host,
            &format!("{review} .diff ins.conflict, {review} .diff del.conflict")
        )
        .await
            > 0,
        "the conflicting runs are marked"
    );
    let marked = texts(&host, &format!("{review} .diff .conflict"))
        .await
        .concat();
    assert!(
        marked.contains("cell") || marked.contains("avancerade"),
        "{marked}"
    );
    host.screenshot("draft-conflict-review-host")
        .await
        .expect("shot");
    let (status, api_preview) = api(
        &w.server,
        "GET",
        &format!(
            "/api/workshops/{ws}/contributions/{}/preview",
            submitted["id"].as_str().expect("id")
        ),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(api_preview["conflicts"], true);

    // The host rejects it with a reply; nothing of the draft lands.
    host.click(&on(&submitted, "reject")).await.expect("reject");
    fill(
        &host,
        "[data-key=\"composer-text\"]",
        "Krockar med min ändring",
    )
    .await;
    host.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .wait_for_text(
            &format!("{} .review", article(&submitted, "rejected")),
            "Krockar med min ändring",
        )
        .await
        .expect("Alice sees the rejection and its reply");
    assert_eq!(
        count(&host, ".draft-review").await,
        0,
        "the review is closed"
    );
    for b in [&host, &alice] {
        assert_eq!(body_text(b, "issue").await, current);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_views_compares_and_publishes_versions() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let alice = open(&w, Some(&w.alice), &ws).await;
    alice
        .click("[data-action=\"tab\"][data-tab=\"history\"]")
        .await
        .expect("history tab");

    let now = "Läkemedelsverket 😀 — avancerade terapier";
    type_in_editor(&host, "issue", now).await;
    host.click("[data-action=\"done-editing\"]")
        .await
        .expect("done");
    host.click("[data-action=\"tab\"][data-tab=\"history\"]")
        .await
        .expect("history tab");
    host.wait_for_text("#versions .version", "Hanna Host")
        .await
        .expect("the host's edit is the newest version");

    // The oldest version, read-only: the text as it was.
    let oldest = "#versions .version:last-child";
    host.click(&format!("{oldest} [data-action=\"view-version\"]"))
        .await
        .expect("view");
    host.wait_for_text("#version-view", TEXT)
        .await
        .expect("the old text");
    assert!(
        !host
            .text("#version-view")
            .await
            .expect("view")
            .contains("terapier")
    );
    assert_eq!(count(&host, "#version-view textarea").await, 0, "read-only");
    assert_eq!(body_text(&host, "issue").await, now, "the summary stays");
    host.screenshot("history-view-version-host")
        .await
        .expect("shot");

    // Compared with now: what was deleted and what was inserted.
    host.click(&format!("{oldest} [data-action=\"compare-version\"]"))
        .await
        .expect("compare");
    host.wait_for("#version-view .diff ins")
        .await
        .expect("the comparison");
    assert_eq!(texts(&host, "#version-view .diff del").await, vec!["ATMP"]);
    assert_eq!(
        texts(&host, "#version-view .diff ins").await,
        vec!["avancerade terapier"]
    );
    host.screenshot("history-compare-host").await.expect("shot");
    host.click("#version-view [data-action=\"close-version\"]")
        .await
        .expect("close");
    host.wait_for("#versions").await.expect("history");
    assert_eq!(count(&host, "#version-view").await, 0, "closed");

    // A named version, listed live on both pages.
    let name = "Efter mötet <i>12 maj</i>";
    fill(&host, "[data-key=\"version-name\"]", name).await;
    host.click("[data-action=\"publish\"]")
        .await
        .expect("publish");
    for b in [&host, &alice] {
        b.wait_for_text("#named li", name)
            .await
            .expect("the named version is listed");
        assert_eq!(count(b, "#named i").await, 0, "names are text");
    }
    assert_eq!(
        alice.text("#named li .name").await.expect("name"),
        name,
        "exactly the name"
    );
    alice
        .screenshot("history-named-participant")
        .await
        .expect("shot");
    let history = get(&w, &w.alice, "history").await;
    assert_eq!(history["named"][0]["name"], name, "{history}");

    // The participant views the named version: the text at publication.
    alice
        .click("#named [data-action=\"view-version\"]")
        .await
        .expect("view named");
    alice
        .wait_for_text("#version-view", now)
        .await
        .expect("the published text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_are_rejected_edited_accepted_and_withdrawn() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;
    let alice = open(&w, Some(&w.alice), &ws).await;

    // Alice proposes two replacements, a paragraph and an action.
    let propose = |start: usize, end: usize, text: &'static str, reason: &'static str| {
        let alice = &alice;
        async move {
            select(alice, "issue", start, end).await;
            alice
                .click("#selection-tools [data-action=\"propose\"]")
                .await
                .expect("propose");
            fill(alice, "[data-key=\"composer-text\"]", text).await;
            fill(alice, "[data-key=\"composer-reason\"]", reason).await;
            alice
                .click("#composer [data-action=\"submit\"]")
                .await
                .expect("send");
            alice
                .wait_for_text("#contributions", reason)
                .await
                .expect("listed");
        }
    };
    let atmp = utf16_at(TEXT, "ATMP");
    propose(atmp, atmp + 4, "cell- och genterapier", "Mer exakt").await;
    propose(0, 16, "LV", "Kortare").await;
    crate::browser_steps::section_menu(&alice, "issue", "propose-paragraph").await;
    fill(
        &alice,
        "[data-key=\"composer-text\"]",
        "Regionerna vill ha en gemensam plan.",
    )
    .await;
    fill(&alice, "[data-key=\"composer-reason\"]", "Saknas").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .click("[data-action=\"propose-action\"]")
        .await
        .expect("propose an action");
    fill(&alice, "[data-key=\"composer-text\"]", "Skicka remissvar").await;
    fill(&alice, "[data-key=\"composer-owner\"]", "Alice").await;
    fill(&alice, "[data-key=\"composer-due\"]", "2025-06-01").await;
    fill(&alice, "[data-key=\"composer-reason\"]", "Uppföljning").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .wait_for_text("#contributions", "Uppföljning")
        .await
        .expect("listed");
    alice
        .wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("synced");
    let replace = contribution(&w, "Mer exakt").await;
    let shorter = contribution(&w, "Kortare").await;
    let paragraph = contribution(&w, "Saknas").await;
    let action = contribution(&w, "Uppföljning").await;
    assert_eq!(paragraph["kind"], "insert");
    assert_eq!(paragraph["text"], "Regionerna vill ha en gemensam plan.");
    assert_eq!(action["kind"], "action");
    assert_eq!(
        (&action["owner"], &action["due"]),
        (&json!("Alice"), &json!("2025-06-01"))
    );

    // Alice withdraws her paragraph; the host can no longer accept it.
    alice
        .click(&on(&paragraph, "withdraw"))
        .await
        .expect("withdraw");
    host.click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    host.wait_for(&article(&paragraph, "withdrawn"))
        .await
        .expect("withdrawn for the host");
    assert_eq!(
        count(
            &host,
            &format!("{} button", article(&paragraph, "withdrawn"))
        )
        .await,
        0
    );
    assert_eq!(contribution(&w, "Saknas").await["status"], "withdrawn");
    host.wait_for_text(
        &format!("{} .diff ins", article(&action, "open")),
        "Skicka remissvar",
    )
    .await
    .expect("the action proposal");
    host.screenshot("reviews-open-host").await.expect("shot");

    // The host rejects the first with a reply.
    host.click(&on(&replace, "reject")).await.expect("reject");
    fill(
        &host,
        "[data-key=\"composer-text\"]",
        "Vi behåller förkortningen",
    )
    .await;
    host.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .wait_for_text(
            &format!("{} .review", article(&replace, "rejected")),
            "Vi behåller förkortningen",
        )
        .await
        .expect("Alice sees the rejection and its reply");
    alice
        .wait_for_text(
            &format!("{} .review", article(&replace, "rejected")),
            "Hanna Host",
        )
        .await
        .expect("by the host");
    let rejected = contribution(&w, "Mer exakt").await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["review"]["reply"], "Vi behåller förkortningen");
    assert_eq!(rejected["review"]["byName"], "Hanna Host");

    // Edits the second before accepting it: the host's text lands.
    host.click(&on(&shorter, "edit-accept"))
        .await
        .expect("edit-accept");
    let prefilled = host
        .execute(
            "return document.querySelector('[data-key=\"composer-text\"]').value;",
            vec![],
        )
        .await
        .expect("value");
    assert_eq!(prefilled, "LV", "the composer starts from the proposal");
    fill(
        &host,
        "[data-key=\"composer-text\"]",
        "Läkemedelsverket (LV)",
    )
    .await;
    host.click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    let edited = "Läkemedelsverket (LV) 😀 — ATMP";
    for b in [&host, &alice] {
        b.wait_for_text(".body[data-section=\"issue\"]", edited)
            .await
            .expect("the host's version lands");
        assert_eq!(body_text(b, "issue").await, edited);
    }
    alice
        .wait_for(&article(&shorter, "accepted"))
        .await
        .expect("accepted for Alice");
    // Alice sees what she proposed, and what the host put in instead; no
    // stale conflict once it is reviewed.
    alice
        .click("[data-action=\"tab\"][data-tab=\"proposals\"]")
        .await
        .expect("proposals tab");
    let accepted = article(&shorter, "accepted");
    assert_eq!(
        alice
            .text(&format!("{accepted} .applied ins"))
            .await
            .expect("applied"),
        "Läkemedelsverket (LV)"
    );
    assert_eq!(
        texts(
            &alice,
            &format!("{accepted} .diff del, {accepted} .diff ins")
        )
        .await,
        ["Läkemedelsverket", "LV"]
    );
    assert_eq!(count(&alice, &format!("{accepted} .conflict")).await, 0);
    let shorter_now = contribution(&w, "Kortare").await;
    assert_eq!(shorter_now["review"]["applied"], "Läkemedelsverket (LV)");
    assert_eq!(shorter_now["conflict"], Value::Null);

    // And accepts the action: it joins the action table.
    host.click(&on(&action, "accept")).await.expect("accept");
    for b in [&host, &alice] {
        b.wait_for_text("#actions tbody tr", "Skicka remissvar")
            .await
            .expect("the action");
        assert_eq!(
            texts(b, "#actions tbody tr td").await[..3],
            ["Skicka remissvar", "Alice", "2025-06-01"]
        );
    }
    alice
        .wait_for(&article(&action, "accepted"))
        .await
        .expect("accepted");
    alice.screenshot("reviews-participant").await.expect("shot");
    let (_, summary) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/summary"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(summary["sections"][0]["body"], edited);
    assert_eq!(summary["actions"][0]["text"], "Skicka remissvar");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_link_brings_a_new_participant_in() {
    let w = world().await;
    let ws = w.open.to_string();
    let host = open(&w, Some(&w.host), &ws).await;

    host.click("[data-action=\"tab\"][data-tab=\"share\"]")
        .await
        .expect("share tab");
    host.click("[data-action=\"invite\"]")
        .await
        .expect("invite");
    host.wait_for("[data-key=\"invite-url\"]")
        .await
        .expect("the link");
    let url = host
        .execute(
            "return document.querySelector('[data-key=\"invite-url\"]').value;",
            vec![],
        )
        .await
        .expect("value");
    let url = url.as_str().expect("a link").to_owned();
    assert!(
        url.starts_with(&format!("{}/invite/", w.server.base_url())),
        "{url}"
    );
    host.screenshot("share-invite-host").await.expect("shot");
    let unused = |invites: &Value| -> Vec<String> {
        invites
            .as_array()
            .expect("invites")
            .iter()
            .filter(|i| i["grant"] == "participant" && i["uses"] == 0)
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let created = unused(&get(&w, &w.host, "invites").await);
    assert_eq!(created.len(), 1, "one new participant invite");

    // A fresh browser, signed in by nothing but the link.
    let newcomer = Browser::start().await.expect("chromium starts");
    newcomer.goto(&url).await.expect("the invite page");
    newcomer
        .wait_for("body[data-page=\"invite\"] form.join")
        .await
        .expect("the form");
    newcomer
        .type_into("input#name", "Cecilia Ny")
        .await
        .expect("name");
    newcomer
        .screenshot("invite-form-newcomer")
        .await
        .expect("shot");
    newcomer
        .click("form.join button[type=\"submit\"]")
        .await
        .expect("join");
    newcomer
        .wait_for("body[data-role=\"participant\"][data-summary=\"live\"]")
        .await
        .expect("on the workshop page as a participant");
    assert_eq!(
        newcomer.url().await.expect("url"),
        format!("{}/w/{ws}", w.server.base_url())
    );
    assert_eq!(
        newcomer.attr("body", "data-user-name").await.expect("attr"),
        Some("Cecilia Ny".into())
    );

    // The newcomer comments; the host sees it under the new name.
    select(&newcomer, "issue", 0, 16).await;
    newcomer
        .click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(
        &newcomer,
        "[data-key=\"composer-text\"]",
        "Hej från Cecilia",
    )
    .await;
    newcomer
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    host.click("[data-action=\"tab\"][data-tab=\"comments\"]")
        .await
        .expect("comments tab");
    host.wait_for_text(".thread .comment .body", "Hej från Cecilia")
        .await
        .expect("the comment arrives");
    host.wait_for_text(".thread .comment .author", "Cecilia Ny")
        .await
        .expect("with the new name");
    newcomer
        .screenshot("invite-commented-newcomer")
        .await
        .expect("shot");
    host.screenshot("invite-comment-host").await.expect("shot");
    assert!(
        unused(&get(&w, &w.host, "invites").await).is_empty(),
        "the link was used"
    );
    let threads = get(&w, &w.host, "threads").await;
    assert_eq!(threads[0]["comments"][0]["authorName"], "Cecilia Ny");
    assert_eq!(threads[0]["comments"][0]["body"], "Hej från Cecilia");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_drafting_the_sidebar_still_acts_on_the_summary() {
    let w = world().await;
    let ws = w.open.to_string();
    let alice = open(&w, Some(&w.alice), &ws).await;

    // A comment and an action proposal, then a draft.
    crate::browser_steps::section_menu(&alice, "issue", "comment-section").await;
    fill(&alice, "[data-key=\"composer-text\"]", "En fråga").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .click("[data-action=\"propose-action\"]")
        .await
        .expect("propose an action");
    fill(&alice, "[data-key=\"composer-text\"]", "Ring regionerna").await;
    fill(&alice, "[data-key=\"composer-reason\"]", "Glömt").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    alice
        .wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("synced");
    let action = contribution(&w, "Glömt").await;
    alice
        .click("[data-action=\"start-draft\"]")
        .await
        .expect("start a draft");
    alice.wait_for("#summary .banner").await.expect("the draft");

    // From the draft's page, withdraw the proposal and resolve the thread:
    // both are the summary's, not the draft's.
    alice
        .click(&on(&action, "withdraw"))
        .await
        .expect("withdraw");
    alice
        .wait_for(&article(&action, "withdrawn"))
        .await
        .expect("withdrawn");
    alice
        .click("[data-action=\"tab\"][data-tab=\"comments\"]")
        .await
        .expect("comments tab");
    alice
        .click(".thread [data-action=\"resolve\"]")
        .await
        .expect("resolve");
    alice
        .click("[data-action=\"filter\"][data-filter=\"resolved\"]")
        .await
        .expect("resolved filter");
    alice
        .wait_for_text(".thread[data-resolved=\"true\"] .comment .body", "En fråga")
        .await
        .expect("resolved");
    alice
        .wait_for("#status[data-state=\"saved\"][data-synced=\"true\"]")
        .await
        .expect("still connected, everything stored");
    assert_eq!(count(&alice, "#notice").await, 0, "nothing refused");
    assert_eq!(count(&alice, "#summary .banner").await, 1, "still drafting");
    alice
        .screenshot("draft-sidebar-participant")
        .await
        .expect("shot");
    assert_eq!(contribution(&w, "Glömt").await["status"], "withdrawn");
    let threads = get(&w, &w.host, "threads").await;
    assert_eq!(threads[0]["resolved"], true, "{threads}");
}

//! A host runs a workshop from the browser alone, in real headless
//! Chromium: creates it from scratch, writes two sections, the details and
//! an action, invites a participant through the Share panel (copy, list,
//! uses), the participant joins from the link and comments, a revoked
//! invite says so, and the public reads the new open workshop. No API call
//! but the checks.

use serde_json::{Value, json};
use testkit::{Browser, TestServer};

use crate::browser_steps::{count, fill, select};

/// Types into the open section editor (or heading field) as a user would:
/// the client listens to `input`.
async fn type_field(b: &Browser, css: &str, text: &str) {
    fill(b, css, text).await;
}

async fn value(b: &Browser, css: &str) -> String {
    b.execute(
        "return document.querySelector(arguments[0]).value;",
        vec![json!(css)],
    )
    .await
    .expect("value")
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

async fn summary(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, summary) = crate::common::api(
        server,
        "GET",
        &format!("/api/workshops/{id}/summary"),
        None,
        Some(token),
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_creates_writes_and_shares_a_workshop_in_the_browser() {
    let server = TestServer::start().await;
    let admin = server.admin_token().to_owned();
    let base = server.base_url();
    let host = Browser::start().await.expect("chromium starts");
    host.set_session_cookie(&base, &admin)
        .await
        .expect("cookie");

    // Create it from the list.
    host.goto(&format!("{base}/")).await.expect("the list");
    host.click("#new-workshop").await.expect("New workshop");
    host.wait_for("form#new-workshop").await.expect("the form");
    fill(&host, "#title", "Vårdens digitala vägar").await;
    fill(&host, "#starts-at", "2027-03-02T14:30").await;
    host.click("#meeting-open").await.expect("open");
    host.click("#language-en").await.expect("English");
    host.click("#create-workshop").await.expect("create");
    host.wait_for("body[data-page=\"workshop\"][data-role=\"host\"][data-summary=\"live\"]")
        .await
        .expect("on the new workshop's page as host");
    let id = host
        .attr("body", "data-doc-id")
        .await
        .expect("attr")
        .expect("a document id");

    // The first section: its heading and text.
    let first = host
        .execute(
            "return document.querySelector('[data-action=\"edit-section\"]').dataset.section;",
            vec![],
        )
        .await
        .expect("a section to write in");
    let first = first.as_str().expect("section id").to_owned();
    host.click(&format!(
        "[data-action=\"edit-section\"][data-section=\"{first}\"]"
    ))
    .await
    .expect("edit");
    type_field(
        &host,
        &format!("[data-key=\"heading-editor\"][data-section=\"{first}\"]"),
        "The issue at hand",
    )
    .await;
    type_field(
        &host,
        "textarea[data-key=\"section-editor\"]",
        "Patients wait too long for digital referrals.",
    )
    .await;
    host.screenshot("journey-section-editor-host")
        .await
        .expect("shot");

    // A second section after it.
    host.click("[data-action=\"add-section\"]")
        .await
        .expect("add a section");
    host.wait_for("[data-key=\"heading-editor\"]:focus")
        .await
        .expect("its heading takes the focus");
    let second = host
        .execute("return document.activeElement.dataset.section;", vec![])
        .await
        .expect("the new section");
    let second = second.as_str().expect("section id").to_owned();
    assert_ne!(second, first);
    type_field(
        &host,
        &format!("[data-key=\"heading-editor\"][data-section=\"{second}\"]"),
        "The outcomes",
    )
    .await;
    type_field(
        &host,
        "textarea[data-key=\"section-editor\"]",
        "A shared referral format by June.",
    )
    .await;
    host.click(&format!(
        "[data-action=\"done-editing\"][data-section=\"{second}\"]"
    ))
    .await
    .expect("done");

    // The details: hosts and stakeholders.
    host.click("[data-action=\"edit-meta\"]")
        .await
        .expect("edit details");
    host.wait_for("#meta-form").await.expect("the details form");
    fill(&host, "[data-key=\"meta-hosts\"]", "Sofie Alverlind, SKR").await;
    fill(
        &host,
        "[data-key=\"meta-stakeholders\"]",
        "Anna Alassad, TLV\nMikael Svensson, SKR",
    )
    .await;
    host.screenshot("journey-details-form-host")
        .await
        .expect("shot");
    host.click("[data-action=\"save-meta\"]")
        .await
        .expect("save details");
    host.wait_for_text(".meta [data-field=\"stakeholders\"]", "Anna Alassad, TLV")
        .await
        .expect("the details are shown");

    // An action.
    host.click("[data-action=\"add-action\"]")
        .await
        .expect("add an action");
    host.wait_for("#action-editor")
        .await
        .expect("the action editor");
    fill(
        &host,
        "[data-key=\"action-text\"]",
        "Draft the referral format",
    )
    .await;
    fill(&host, "[data-key=\"action-owner\"]", "Sofie").await;
    fill(&host, "[data-key=\"action-due\"]", "2027-06-01").await;
    fill(&host, "[data-key=\"action-status\"]", "in-progress").await;
    host.screenshot("journey-action-editor-host")
        .await
        .expect("shot");
    host.click("[data-action=\"save-action\"]")
        .await
        .expect("save the action");
    host.wait_for_text("#actions td", "Draft the referral format")
        .await
        .expect("the action is listed");
    host.wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("everything saved");
    host.screenshot("journey-written-host").await.expect("shot");

    let written = summary(&server, &admin, &id).await;
    let headings: Vec<&str> = written["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["heading"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(headings, ["The issue at hand", "The outcomes"]);
    assert_eq!(
        written["sections"][1]["body"],
        "A shared referral format by June."
    );
    assert_eq!(
        written["workshop"]["stakeholders"],
        json!(["Anna Alassad, TLV", "Mikael Svensson, SKR"])
    );
    assert_eq!(written["actions"][0]["status"], "in-progress");
    assert_eq!(written["actions"][0]["owner"], "Sofie");

    // Share: an invite for one participant, valid 7 days, copied.
    host.click("[data-action=\"tab\"][data-tab=\"share\"]")
        .await
        .expect("share tab");
    host.wait_for("#invite-form")
        .await
        .expect("the invite form");
    fill(&host, "[data-key=\"invite-uses\"]", "1").await;
    host.click("[data-action=\"invite\"]")
        .await
        .expect("invite");
    host.wait_for("#invite-url").await.expect("the link");
    let url = value(&host, "#invite-url").await;
    assert!(url.starts_with(&format!("{base}/invite/")), "{url}");
    host.click("[data-action=\"copy-link\"]")
        .await
        .expect("copy");
    host.wait_for_text("[data-action=\"copy-link\"]", "Copied")
        .await
        .expect("says it copied");
    host.wait_for_text("#invites .invite .uses", "0 / 1")
        .await
        .expect("listed with its use limit");
    // A second invite, revoked at once.
    host.click("[data-action=\"invite\"]")
        .await
        .expect("another invite");
    host.wait_for("#invites .invite:nth-child(2)")
        .await
        .expect("two listed");
    let revoked_url = value(&host, "#invite-url").await;
    assert_ne!(revoked_url, url);
    let newest = host
        .attr("#new-invite", "data-invite")
        .await
        .expect("attr")
        .expect("the new invite's id");
    host.click(&format!(
        "#invites .invite[data-invite=\"{newest}\"] [data-action=\"revoke-invite\"]"
    ))
    .await
    .expect("revoke the newest");
    host.wait_for("#invites .invite[data-state=\"revoked\"]")
        .await
        .expect("listed as revoked");
    host.screenshot("journey-share-panel-host")
        .await
        .expect("shot");

    // The revoked link says so on GET, before anything is typed.
    let stranger = Browser::start().await.expect("chromium starts");
    stranger.goto(&revoked_url).await.expect("the revoked link");
    stranger
        .wait_for("body[data-page=\"link-gone\"]")
        .await
        .expect("the page of a link that cannot be used");
    assert_eq!(count(&stranger, "form.join").await, 0, "no form to fill");
    stranger
        .screenshot("journey-revoked-invite")
        .await
        .expect("shot");

    // The participant joins from the link and comments.
    let alice = Browser::start().await.expect("chromium starts");
    alice.goto(&url).await.expect("the invite page");
    alice
        .wait_for_text("body[data-page=\"invite\"]", "Vårdens digitala vägar")
        .await
        .expect("the invite names the workshop");
    alice.type_into("input#name", "Alice").await.expect("name");
    alice
        .click("form.join button[type=\"submit\"]")
        .await
        .expect("join");
    alice
        .wait_for("body[data-role=\"participant\"][data-summary=\"live\"]")
        .await
        .expect("on the workshop as a participant");
    assert_eq!(
        count(
            &alice,
            "[data-action=\"add-section\"], [data-action=\"edit-meta\"]"
        )
        .await,
        0,
        "participants do not author"
    );
    select(&alice, &first, 0, 8).await;
    alice
        .click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    fill(&alice, "[data-key=\"composer-text\"]", "Which referrals?").await;
    alice
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    host.click("[data-action=\"tab\"][data-tab=\"comments\"]")
        .await
        .expect("comments tab");
    host.wait_for_text(".thread .comment .body", "Which referrals?")
        .await
        .expect("the host sees the comment");
    host.wait_for_text(".thread .comment .author", "Alice")
        .await
        .expect("by Alice");
    alice.screenshot("journey-participant").await.expect("shot");

    // The public reads the open workshop, read-only.
    let public = Browser::start().await.expect("chromium starts");
    public.goto(&format!("{base}/")).await.expect("the list");
    public
        .wait_for_text("body", "Vårdens digitala vägar")
        .await
        .expect("listed for the public");
    public
        .goto(&format!("{base}/w/{id}"))
        .await
        .expect("its page");
    public
        .wait_for("body[data-summary=\"live\"]")
        .await
        .expect("drawn");
    public
        .wait_for_text(
            &format!(".body[data-section=\"{second}\"]"),
            "A shared referral format by June.",
        )
        .await
        .expect("the text");
    public
        .wait_for_text("#actions td", "Draft the referral format")
        .await
        .expect("the action");
    assert_eq!(
        count(
            &public,
            "[data-action=\"edit-section\"], [data-action=\"section-menu\"], [data-action=\"comment-section\"], [data-action=\"add-action\"]"
        )
        .await,
        0,
        "read-only"
    );
    public.screenshot("journey-public").await.expect("shot");
}

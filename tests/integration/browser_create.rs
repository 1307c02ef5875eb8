//! Hosts create, archive and restore workshops from the browser, through
//! the server-rendered forms (`server/src/pages/manage.rs`): in real
//! headless Chromium, a host creates an empty workshop and one from a
//! pasted page, archives it (a confirmation page) and restores it from the
//! list's "Archived" section; a participant may not; a form sent from
//! another site is refused. Each new page passes the axe-core audit of
//! `browser_a11y.rs`. Over plain HTTP: the form's refusals (400 with the
//! form again, as typed; 413; 401 and 403), in English and Swedish.

use serde_json::{Value, json};
use testkit::{Browser, header_value, http_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser_a11y::audit;
use crate::browser_steps::{count, fill};
use crate::common::{World, api, world};

/// The seed page's first workshop's title.
const SEED_TITLE: &str = "Payment models for ATMP – what is happening?";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// A browser signed in with `token`, on the workshop list.
async fn on_the_list(w: &World, token: &str) -> Browser {
    let b = Browser::start().await.expect("chromium starts");
    let base = w.server.base_url();
    b.set_session_cookie(&base, token).await.expect("cookie");
    b.goto(&format!("{base}/")).await.expect("the list");
    b.wait_for("body[data-page=\"list\"][data-client=\"ready\"]")
        .await
        .expect("the list, with the client running");
    b
}

/// The workshop id in a workshop page's URL.
async fn workshop_in_url(b: &Browser) -> String {
    let url = b.url().await.expect("url");
    let (_, id) = url.split_once("/w/").expect("a workshop page");
    id.trim_end_matches('/').to_owned()
}

/// Whether a checkbox or radio button is checked.
async fn checked(b: &Browser, css: &str) -> bool {
    b.execute(
        "return document.querySelector(arguments[0]).checked;",
        vec![json!(css)],
    )
    .await
    .expect("checked")
    .as_bool()
    .unwrap_or(false)
}

/// A field's current value.
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

/// GET on the API as `token`; asserts 200.
async fn get(w: &World, token: Option<&str>, path: &str) -> Value {
    let (status, body) = api(&w.server, "GET", path, None, token).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Whether the API's list of workshops, as `token` sees it, has `id`.
async fn listed(w: &World, token: Option<&str>, id: &str) -> bool {
    get(w, token, "/api/workshops")
        .await
        .as_array()
        .expect("a list")
        .iter()
        .any(|x| x["id"] == id)
}

/// `application/x-www-form-urlencoded`, as a browser sends a form.
fn encode(fields: &[(&str, &str)]) -> String {
    let one = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", one(k), one(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs a form to `path` with the session cookie of `token` (if any) and
/// more headers: (status, response head, page).
async fn post(
    w: &World,
    token: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let cookie = token.map(|t| format!("synpunkt_session={t}"));
    let mut all = vec![FORM];
    all.extend(cookie.iter().map(|c| ("Cookie", c.as_str())));
    all.extend_from_slice(headers);
    http_with("POST", &w.server.http_url(path), &all, Some(body)).await
}

/// GETs a page with the session cookie of `token` (if any).
async fn page(
    w: &World,
    token: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let cookie = token.map(|t| format!("synpunkt_session={t}"));
    let mut all: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
    all.extend_from_slice(headers);
    let (status, _, body) = http_with("GET", &w.server.http_url(path), &all, None).await;
    (status, body)
}

/// How many workshops there are, as the admin sees them.
async fn workshops(w: &World) -> usize {
    get(w, Some(w.server.admin_token()), "/api/workshops")
        .await
        .as_array()
        .expect("a list")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_creates_an_empty_workshop_from_the_list_and_writes_in_it() {
    let w = world().await;
    let host = on_the_list(&w, &w.host).await;
    host.wait_for("a#new-workshop[href=\"/new\"]")
        .await
        .expect("the New workshop link");
    host.screenshot("create-list-new-workshop")
        .await
        .expect("shot");
    audit(&host, "list, host, with New workshop", &[]).await;

    host.click("#new-workshop").await.expect("New workshop");
    host.wait_for("form#new-workshop").await.expect("the form");
    assert!(host.url().await.expect("url").ends_with("/new"));
    // Nothing public by accident: invite only unless chosen; the language
    // is the reader's.
    assert!(checked(&host, "#meeting-invite-only").await);
    assert!(checked(&host, "#language-en").await);
    host.screenshot("create-form").await.expect("shot");
    audit(&host, "new workshop form", &["label"]).await;

    // No title and nothing pasted: the form again, as typed, with why.
    fill(&host, "#starts-at", "2026-03-02T14:30").await;
    host.click("#meeting-open").await.expect("open");
    host.click("#create-workshop").await.expect("create");
    let error = host
        .wait_for_text("#form-error", "Give the workshop a title")
        .await
        .expect("the reason");
    assert!(error.contains("The workshop was not created."), "{error}");
    assert_eq!(
        host.attr("#title", "aria-invalid").await.expect("attr"),
        Some("true".into())
    );
    assert_eq!(value(&host, "#starts-at").await, "2026-03-02T14:30");
    assert!(checked(&host, "#meeting-open").await, "the choice is kept");
    host.screenshot("create-validation-error")
        .await
        .expect("shot");
    // Chromium logs the page's 400 itself; nothing else went wrong.
    let console = host.console_errors().await.expect("console");
    assert!(
        console.len() == 1 && console[0].contains("/new") && console[0].contains("400"),
        "{console:?}"
    );
    audit(&host, "new workshop form with an error", &["label"]).await;

    // Title, time, invite only, English: created, and the host is on it.
    let title = "Spring review 😀 ATMP";
    fill(&host, "#title", title).await;
    host.click("#meeting-invite-only")
        .await
        .expect("invite only");
    host.click("#language-en").await.expect("English");
    host.click("#create-workshop").await.expect("create");
    host.wait_for("body[data-page=\"workshop\"][data-role=\"host\"]")
        .await
        .expect("the new workshop's page, as host");
    let id = workshop_in_url(&host).await;
    host.wait_for("body[data-summary=\"live\"]")
        .await
        .expect("the client draws the summary");
    assert_eq!(host.text("h1#title").await.expect("title"), title);
    // Not an empty shell: a section to write in.
    let edit = "[data-action=\"edit-section\"][data-section=\"summary\"]";
    host.wait_for(edit).await.expect("a section to edit");
    host.screenshot("create-workshop-page").await.expect("shot");

    let record = get(&w, Some(&w.host), &format!("/api/workshops/{id}")).await;
    assert_eq!(record["title"], title);
    assert_eq!(record["role"], "host");
    assert_eq!(record["meetingType"], "invite-only");
    assert_eq!(record["startsAt"], "2026-03-02T14:30");
    let summary = get(&w, Some(&w.host), &format!("/api/workshops/{id}/summary")).await;
    assert_eq!(summary["workshop"]["when"], "2026-03-02 14:30");
    assert_eq!(summary["workshop"]["language"], "en");
    assert_eq!(
        summary["sections"],
        json!([{ "id": "summary", "heading": "Summary", "body": "" }])
    );
    // Invite only: nobody else sees it.
    let (status, _) = page(&w, None, &format!("/w/{id}"), &[]).await;
    assert_eq!(status, 404);

    // The host writes the first lines of the summary.
    host.click(edit).await.expect("edit");
    fill(
        &host,
        "textarea[data-key=\"section-editor\"]",
        "Vi började med frågan.",
    )
    .await;
    host.wait_for("#status[data-synced=\"true\"]")
        .await
        .expect("the edit reaches the server");
    let summary = get(&w, Some(&w.host), &format!("/api/workshops/{id}/summary")).await;
    assert_eq!(summary["sections"][0]["body"], "Vi började med frågan.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_creates_a_workshop_from_a_pasted_page_archives_it_and_restores_it() {
    let w = world().await;
    let base = w.server.base_url();
    let host = on_the_list(&w, &w.host).await;
    host.goto(&format!("{base}/new")).await.expect("the form");
    fill(&host, "#text", &crate::import::seed()).await;
    host.click("#meeting-open").await.expect("open");
    host.click("#create-workshop").await.expect("create");
    host.wait_for("body[data-page=\"workshop\"][data-role=\"host\"]")
        .await
        .expect("the new workshop's page, as host");
    let id = workshop_in_url(&host).await;
    // The page's first workshop, with its sections.
    host.wait_for("body[data-summary=\"live\"]")
        .await
        .expect("the client draws the summary");
    assert_eq!(host.text("h1#title").await.expect("title"), SEED_TITLE);
    host.wait_for_text(
        "section.section[data-section=\"issue\"] .body",
        "TLV is commissioned",
    )
    .await
    .expect("the issue at hand");
    assert!(count(&host, "section.section[data-section]").await >= 2);
    let record = get(&w, None, &format!("/api/workshops/{id}")).await;
    assert_eq!(record["meetingType"], "open");
    assert!(
        record["seriesDescription"]
            .as_str()
            .is_some_and(|d| d.starts_with("Become a partner")),
        "the preamble is the series' description: {record}"
    );
    let summary = get(&w, None, &format!("/api/workshops/{id}/summary")).await;
    assert_eq!(summary["workshop"]["hosts"][0], "Sofie Alverlind, SKR");
    assert!(listed(&w, None, &id).await, "open: listed for everyone");

    // Archive: a confirmation step, then the list, without it.
    host.click("#archive-workshop").await.expect("Archive");
    host.wait_for("#confirm-archive")
        .await
        .expect("the confirmation");
    assert_eq!(
        host.text("#archive-title").await.expect("title"),
        SEED_TITLE
    );
    host.screenshot("archive-confirmation").await.expect("shot");
    audit(&host, "archive confirmation", &["button-name"]).await;
    assert!(
        !get(&w, None, &format!("/api/workshops/{id}")).await["archived"]
            .as_bool()
            .expect("archived"),
        "nothing happens before the confirmation"
    );
    host.click("#confirm-archive").await.expect("confirm");
    host.wait_for("body[data-page=\"list\"] details#archived")
        .await
        .expect("the list, with an Archived section");
    assert_eq!(
        host.url().await.expect("url"),
        format!("{base}/"),
        "back on the list"
    );
    let link = format!("a[href=\"/w/{id}\"]");
    for list in ["#yours", "#open"] {
        assert_eq!(count(&host, &format!("{list} {link}")).await, 0, "{list}");
    }
    assert_eq!(
        host.attr("details#archived", "open").await.expect("attr"),
        None,
        "collapsed"
    );
    host.click("details#archived summary")
        .await
        .expect("open the Archived section");
    host.wait_for("details#archived[open]")
        .await
        .expect("opened");
    let item = format!("#archived li[data-workshop=\"{id}\"]");
    assert_eq!(
        host.text(&format!("{item} a")).await.expect("its title"),
        SEED_TITLE
    );
    host.execute(
        "document.getElementById('archived').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    host.screenshot("archived-section").await.expect("shot");
    audit(&host, "list with the Archived section", &["button-name"]).await;
    // Kept on disk: its record and page answer as before, by link.
    let record = get(&w, None, &format!("/api/workshops/{id}")).await;
    assert_eq!(record["archived"], true);
    assert!(!listed(&w, None, &id).await);
    assert!(!listed(&w, Some(&w.alice), &id).await);
    let (status, public) = page(&w, None, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(!public.contains(&id), "{public}");
    let (status, _) = page(&w, None, &format!("/w/{id}"), &[]).await;
    assert_eq!(status, 200, "its page still opens from a link");

    // Restore: back in the lists.
    host.click(&format!("{item} button[type=\"submit\"]"))
        .await
        .expect("Restore");
    host.wait_for(&format!("#open {link}"))
        .await
        .expect("listed again");
    assert_eq!(count(&host, "#archived").await, 0);
    assert_eq!(
        get(&w, None, &format!("/api/workshops/{id}")).await["archived"],
        false
    );
    assert!(listed(&w, None, &id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_may_neither_create_nor_archive_workshops() {
    let w = world().await;
    let before = workshops(&w).await;
    let alice = on_the_list(&w, &w.alice).await;
    assert_eq!(count(&alice, "#new-workshop").await, 0, "no link to /new");
    alice.goto(&w.server.http_url("/new")).await.expect("/new");
    let reason = alice
        .text("body[data-page=\"forbidden\"] #reason")
        .await
        .expect("the refusal");
    assert!(
        reason.contains("Only administrators and the hosts of a workshop"),
        "{reason}"
    );
    assert_eq!(count(&alice, "form#new-workshop").await, 0);
    alice.screenshot("create-forbidden").await.expect("shot");
    // No host tools on the workshop's page either.
    alice
        .goto(&w.server.http_url(&format!("/w/{}", w.open)))
        .await
        .expect("the workshop");
    alice
        .wait_for("body[data-summary=\"live\"]")
        .await
        .expect("the summary");
    assert_eq!(count(&alice, "#manage, #archive-workshop").await, 0);

    // The statuses, and nothing changed.
    let (status, _) = page(&w, Some(&w.alice), "/new", &[]).await;
    assert_eq!(status, 403);
    let (status, _, _) = post(&w, Some(&w.alice), "/new", &[], "title=Mine").await;
    assert_eq!(status, 403);
    let (status, body) = page(&w, None, "/new", &[]).await;
    assert_eq!(status, 401, "signed out: sign in first");
    assert!(body.contains("Sign in first"), "{body}");
    let (status, _, _) = post(&w, None, "/new", &[], "title=Mine").await;
    assert_eq!(status, 401);
    let archive = format!("/w/{}/archive", w.open);
    let (status, _) = page(&w, Some(&w.alice), &archive, &[]).await;
    assert_eq!(status, 403);
    let (status, _, body) = post(&w, Some(&w.alice), &archive, &[], "").await;
    assert_eq!(status, 403);
    assert!(
        body.contains("Only the workshop's hosts can do this."),
        "{body}"
    );
    let (status, _, _) = post(&w, None, &archive, &[], "").await;
    assert_eq!(status, 401);
    // An invite-only workshop is not there for whoever has no role in it.
    let (status, _, _) = post(&w, None, &format!("/w/{}/archive", w.private), &[], "").await;
    assert_eq!(status, 404);
    let (status, _, _) = post(&w, Some(&w.host), "/w/not-an-id/restore", &[], "").await;
    assert_eq!(status, 404);
    assert_eq!(workshops(&w).await, before);
    let record = get(&w, None, &format!("/api/workshops/{}", w.open)).await;
    assert_eq!(record["archived"], false);
}

/// A page of another site (another port of the same host: same-site,
/// cross-origin, so Chromium sends the `SameSite=Lax` cookie) whose forms
/// post to the server. Answers every request with it until dropped.
struct OtherSite {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl OtherSite {
    async fn start(target: &str, workshop: &str) -> OtherSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><title>Another site</title></head><body>\
             <form method=\"post\" action=\"{target}/new\">\
               <input type=\"hidden\" name=\"title\" value=\"Forged workshop\">\
               <button id=\"forge-create\">Win a prize</button></form>\
             <form method=\"post\" action=\"{target}/w/{workshop}/archive\">\
               <button id=\"forge-archive\">Win another</button></form>\
             </body></html>"
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
            html.len()
        );
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let response = response.clone();
                tokio::spawn(async move {
                    // The request head, then the page.
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        OtherSite { url, task }
    }
}

impl Drop for OtherSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_sent_from_another_site_is_refused() {
    let w = world().await;
    let before = workshops(&w).await;
    let site = OtherSite::start(&w.server.base_url(), &w.open.to_string()).await;
    let host = on_the_list(&w, &w.host).await;
    for (button, what) in [("#forge-create", "create"), ("#forge-archive", "archive")] {
        host.goto(&site.url).await.expect("the other site");
        host.click(button).await.expect("its button");
        let reason = host
            .text("body[data-page=\"refused\"] #reason")
            .await
            .unwrap_or_else(|e| panic!("{what}: the refusal: {e}"));
        assert_eq!(
            reason, "This form can only be sent from this site.",
            "{what}"
        );
    }
    host.screenshot("cross-site-refused").await.expect("shot");
    assert_eq!(workshops(&w).await, before, "nothing created");
    let record = get(&w, None, &format!("/api/workshops/{}", w.open)).await;
    assert_eq!(record["archived"], false, "nothing archived");

    // The same rule over plain HTTP, and a same-origin form passes.
    let body = encode(&[("title", "Forged")]);
    for headers in [
        [("Origin", "http://evil.example")],
        [("Sec-Fetch-Site", "cross-site")],
        [("Sec-Fetch-Site", "same-site")],
    ] {
        let (status, _, _) = post(&w, Some(&w.host), "/new", &headers, &body).await;
        assert_eq!(status, 403, "{headers:?}");
        let archive = format!("/w/{}/archive", w.open);
        let (status, _, _) = post(&w, Some(&w.host), &archive, &headers, "").await;
        assert_eq!(status, 403, "{headers:?}");
    }
    assert_eq!(workshops(&w).await, before);
    let origin = w.server.base_url();
    let (status, head, _) = post(
        &w,
        Some(&w.host),
        "/new",
        &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
        &body,
    )
    .await;
    assert_eq!(status, 303, "{head}");
    assert!(
        header_value(&head, "location").is_some_and(|l| l.starts_with("/w/")),
        "{head}"
    );
    assert_eq!(workshops(&w).await, before + 1);
}

#[tokio::test]
async fn the_new_workshop_form_refuses_bad_input_and_keeps_what_was_typed() {
    let w = world().await;
    let before = workshops(&w).await;
    let host = Some(w.host.as_str());
    let form = |title: &str, starts: &str, meeting: &str, text: &str| {
        encode(&[
            ("title", title),
            ("startsAt", starts),
            ("meetingType", meeting),
            ("language", "en"),
            ("text", text),
        ])
    };

    // No title, nothing pasted: 400, the form again, as typed.
    let (status, _, html) = post(
        &w,
        host,
        "/new",
        &[],
        &form("", "2026-03-02T14:30", "open", ""),
    )
    .await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("data-page=\"new\""), "{html}");
    assert!(
        html.contains("<form class=\"stacked\" id=\"new-workshop\""),
        "{html}"
    );
    assert!(
        html.contains("class=\"error\" id=\"form-error\" role=\"alert\""),
        "{html}"
    );
    assert!(
        html.contains("Give the workshop a title, or paste a page that has one."),
        "{html}"
    );
    assert!(
        html.contains("aria-invalid=\"true\" aria-describedby=\"form-error title-hint\""),
        "{html}"
    );
    assert!(html.contains("value=\"2026-03-02T14:30\""), "{html}");
    assert!(html.contains("value=\"open\" checked"), "{html}");
    assert!(!html.contains("value=\"invite-only\" checked"), "{html}");

    // Each field's rule, with the field marked and the text kept.
    let long = "å".repeat(201);
    let too_long_page = "x".repeat(500_001);
    let long_host = format!("Kort titel\nHost: {}\n", "h".repeat(201));
    let cases: [(String, &str, &str); 6] = [
        (
            form(&long, "", "open", ""),
            "The title may be at most 200 characters.",
            "title-hint",
        ),
        (
            form("Eve \u{202E}nimda", "", "open", ""),
            "The title may not contain line breaks, control characters or text-direction characters.",
            "title-hint",
        ),
        (
            form("Möte", "imorgon", "open", ""),
            "Give a date and a time, such as 2026-03-02T14:30",
            "starts-hint",
        ),
        (
            form("Möte", "", "public", ""),
            "Choose whether the workshop is open or invite only.",
            "choices-hint",
        ),
        (
            form("Möte", "", "open", &too_long_page),
            "The pasted text may be at most 500,000 characters.",
            "text-hint",
        ),
        (
            form("Möte", "", "open", &long_host),
            "The pasted page could not be used: a name in hosts, stakeholders or ambassadors must be at most 200 characters",
            "text-hint",
        ),
    ];
    for (body, message, described) in cases {
        let (status, _, html) = post(&w, host, "/new", &[], &body).await;
        let short: String = html.chars().take(3000).collect();
        assert_eq!(status, 400, "{message}: {short}");
        assert!(html.contains(message), "{message}: {short}");
        assert!(
            html.contains(&format!("aria-describedby=\"form-error {described}\"")),
            "{message}: {short}"
        );
    }
    // What was typed comes back escaped, never as markup.
    let (status, _, html) = post(
        &w,
        host,
        "/new",
        &[],
        &form(&long, "", "open", "<b>fet</b>"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains(&format!("value=\"{long}\"")),
        "the title kept"
    );
    assert!(html.contains("&lt;b&gt;fet&lt;/b&gt;</textarea>"), "{html}");
    assert!(!html.contains("<b>fet"), "{html}");

    // A page far over the API's 2 MB body limit once form-encoded (3 MB)
    // is still read: its rules refuse it, not the size.
    let (status, _, html) = post(
        &w,
        host,
        "/new",
        &[],
        &form("Möte", "", "open", &"å".repeat(500_000)),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains(
            "The pasted page could not be used: a section body must be at most 100000 characters"
        ),
        "{}",
        html.chars().take(3000).collect::<String>()
    );
    // A body over the limit: 413, with the reason.
    let huge = format!("text={}", "x".repeat(12 * 500_000 + 64 * 1024 + 1));
    let (status, _, html) = post(&w, host, "/new", &[], &huge).await;
    assert_eq!(status, 413);
    assert!(
        html.contains(
            "The form is too large to send: a pasted page may have at most 500,000 characters."
        ),
        "{html}"
    );
    // Broken encodings and bytes: a refusal, never a crash.
    for body in [
        "title=%&meetingType=%E2%82&text=%ZZ",
        "\u{1}\u{2}",
        "&&&=&=",
    ] {
        let (status, _, _) = post(&w, host, "/new", &[], body).await;
        assert_eq!(status, 400, "{body:?}");
    }
    assert_eq!(workshops(&w).await, before, "nothing was created");

    // In Swedish: the form and its reasons.
    let sv = [("Accept-Language", "sv-SE,sv")];
    let (status, html) = page(&w, host, "/new", &sv).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"sv\">"), "{html}");
    assert!(html.contains("<h1>Ny workshop</h1>"), "{html}");
    assert!(html.contains("id=\"language-sv\""), "{html}");
    assert!(
        html.contains("value=\"sv\" checked"),
        "Swedish by default: {html}"
    );
    let (status, _, html) = post(&w, host, "/new", &sv, &form("", "", "open", "")).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("Ge workshoppen en titel, eller klistra in en sida som har en."),
        "{html}"
    );

    // A good form: 303 to the new workshop, whose host the creator is; a
    // Swedish empty workshop's section is "Sammanfattning".
    let body = encode(&[
        ("title", "  Vårmöte  "),
        ("startsAt", "2026-04-01T09:00"),
        ("meetingType", "invite-only"),
        ("language", "sv"),
        ("text", "   "),
    ]);
    let (status, head, _) = post(&w, host, "/new", &[], &body).await;
    assert_eq!(status, 303, "{head}");
    let location = header_value(&head, "location").expect("Location");
    let id = location.strip_prefix("/w/").expect("a workshop page");
    let record = get(&w, host, &format!("/api/workshops/{id}")).await;
    assert_eq!(record["title"], "Vårmöte");
    assert_eq!(record["role"], "host");
    assert_eq!(record["meetingType"], "invite-only");
    let summary = get(&w, host, &format!("/api/workshops/{id}/summary")).await;
    assert_eq!(
        summary["sections"],
        json!([{ "id": "summary", "heading": "Sammanfattning", "body": "" }])
    );
    // A pasted page with a typed title: the typed title wins.
    let body = encode(&[
        ("title", "Vår egen titel"),
        ("meetingType", "open"),
        ("language", "en"),
        ("text", &crate::import::seed()),
    ]);
    let (status, head, _) = post(&w, host, "/new", &[], &body).await;
    assert_eq!(status, 303, "{head}");
    let id = header_value(&head, "location")
        .and_then(|l| l.strip_prefix("/w/"))
        .expect("a workshop page")
        .to_owned();
    let summary = get(&w, None, &format!("/api/workshops/{id}/summary")).await;
    assert_eq!(summary["workshop"]["title"], "Vår egen titel");
    assert_eq!(summary["workshop"]["hosts"][0], "Sofie Alverlind, SKR");
    assert_eq!(workshops(&w).await, before + 2);

    // Archiving by plain forms: the confirmation page, then 303 to the
    // list; the workshop's page offers its hosts to restore it.
    let (status, html) = page(&w, host, &format!("/w/{id}/archive"), &[]).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            "<form id=\"archive-form\" method=\"post\" action=\"/w/{id}/archive\">"
        )),
        "{html}"
    );
    let (status, head, _) = post(&w, host, &format!("/w/{id}/archive"), &[], "").await;
    assert_eq!(status, 303);
    assert_eq!(header_value(&head, "location"), Some("/"));
    let (_, html) = page(&w, host, &format!("/w/{id}"), &[]).await;
    assert!(html.contains("id=\"restore-workshop\""), "{html}");
    let (_, html) = page(&w, host, "/", &[]).await;
    assert!(html.contains("<details id=\"archived\">"), "{html}");
    let (status, head, _) = post(&w, host, &format!("/w/{id}/restore"), &[], "").await;
    assert_eq!(status, 303);
    assert_eq!(header_value(&head, "location"), Some("/"));
    let (_, html) = page(&w, host, "/", &[]).await;
    assert!(!html.contains("id=\"archived\""), "{html}");
}

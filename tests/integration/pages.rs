//! The server-rendered pages: the workshop list, a workshop's summary, the
//! 404 and invite pages; visibility (the API's rule), text safety, language
//! choice, security headers, the static files, and the DOM contract the web
//! client relies on.

use crate::common::{api, invite, join, world};
use automerge::ReadDoc;
use automerge::transaction::Transactable;
use docsync::DocumentId;
use model::threads::{self, section_body};
use serde_json::{Value, json};
use testkit::{Client, TestServer, header_value, http_with};

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// GET a page with extra request headers: (status, response head, body).
async fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    http_with("GET", &server.http_url(path), headers, None).await
}

fn session(token: &str) -> String {
    format!("synpunkt_session={token}")
}

/// An open workshop with every kind of content a summary has.
async fn rich_workshop(server: &TestServer, summary: Value) -> DocumentId {
    let (status, reply) = api(
        server,
        "POST",
        "/api/workshops",
        Some(json!({ "summary": summary })),
        Some(server.admin_token()),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_str().expect("id").parse().expect("id")
}

fn sample_summary() -> Value {
    json!({
        "workshop": {
            "title": "Betalningsmodeller för ATMP – vad händer? 😀",
            "when": "Onsdag 18:e Nov 13:00-14:15",
            "hosts": ["Sofie Alverlind, SKR"],
            "stakeholders": ["Mikael Svensson, SKR", "Anna Alassad, TLV"],
            "meetingType": "open",
            "format": "workshop, open",
            "language": "sv",
            "registration": "Alla välkomna"
        },
        "sections": [
            { "id": "issue", "heading": "The issue at hand", "body": "Första stycket.\nAndra stycket." },
            { "id": "outcomes", "heading": "The outcomes", "body": "Ett resultat." }
        ],
        "actions": [
            { "id": "a1", "text": "Ta fram en plan", "owner": "TLV", "due": "2026-06-01", "status": "in-progress" }
        ]
    })
}

#[tokio::test]
async fn the_list_shows_open_workshops_to_everyone_and_a_callers_own_with_their_role() {
    let w = world().await;
    let (status, _, body) = get(&w.server, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("data-page=\"list\""), "{body}");
    assert!(body.contains("Öppen workshop"), "{body}");
    assert!(body.contains(&format!("href=\"/w/{}\"", w.open)), "{body}");
    assert!(!body.contains("Stängd workshop"), "{body}");
    assert!(!body.contains(&w.private.to_string()), "{body}");
    assert!(body.contains("data-user-name=\"\""), "{body}");
    assert!(!body.contains("data-doc-id"), "only workshop pages: {body}");

    let cookie = session(&w.alice);
    let (status, _, body) = get(&w.server, "/", &[("Cookie", &cookie)]).await;
    assert_eq!(status, 200);
    assert!(body.contains("data-user-name=\"Alice\""), "{body}");
    assert!(body.contains("Your workshops"), "{body}");
    assert!(body.contains("Stängd workshop"), "{body}");
    assert!(
        body.contains(&format!("href=\"/w/{}\"", w.private)),
        "{body}"
    );
    assert!(
        body.contains("data-role=\"participant\">Participant<"),
        "{body}"
    );

    let cookie = session(&w.host);
    let (_, _, body) = get(&w.server, "/", &[("Cookie", &cookie)]).await;
    assert!(body.contains("data-role=\"host\">Host<"), "{body}");
}

#[tokio::test]
async fn a_workshop_page_renders_the_summary_for_the_public() {
    let server = TestServer::start().await;
    let id = rich_workshop(&server, sample_summary()).await;
    let (status, head, body) = get(&server, &format!("/w/{id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        header_value(&head, "content-type").is_some_and(|v| v.starts_with("text/html")),
        "{head}"
    );
    for expected in [
        "<html lang=\"en\">",
        "<title>Betalningsmodeller för ATMP – vad händer? 😀 · Synpunkt</title>",
        "<meta name=\"description\" content=\"Första stycket.\">",
        &format!("<link rel=\"canonical\" href=\"/w/{id}\">"),
        "<link rel=\"stylesheet\" href=\"/client/app.css\">",
        "<script type=\"module\" src=\"/client/boot.js\"></script>",
        &format!(
            "<body data-page=\"workshop\" data-doc-id=\"{id}\" data-role=\"public\" data-user-name=\"\" data-lang=\"en\">"
        ),
        "<a id=\"lang-toggle\" href=\"?lang=sv\" lang=\"sv\" hreflang=\"sv\">Svenska</a>",
        "<p id=\"status\" role=\"status\" aria-live=\"polite\" data-state=\"static\">Static page</p>",
        "<main id=\"summary\"><h1 id=\"title\" dir=\"auto\">Betalningsmodeller för ATMP – vad händer? 😀</h1><dl class=\"meta\">",
        "<dd dir=\"auto\">Onsdag 18:e Nov 13:00-14:15</dd>",
        "<dd dir=\"auto\">Mikael Svensson, SKR</dd><dd dir=\"auto\">Anna Alassad, TLV</dd>",
        "<dd data-meeting-type=\"open\">Open</dd>",
        "<dt>Registration</dt><dd dir=\"auto\">Alla välkomna</dd>",
        "<section class=\"section\" data-section=\"issue\"><h2 class=\"heading\" dir=\"auto\">The issue at hand</h2>\
         <div class=\"body\" data-section=\"issue\"><p dir=\"auto\">Första stycket.</p>\
         <p dir=\"auto\">Andra stycket.</p></div></section>",
        "<section class=\"section\" data-section=\"outcomes\">",
        "<section id=\"actions\"",
        "<h2 id=\"actions-heading\">Actions</h2>",
        "<tr data-action=\"a1\"><td dir=\"auto\">Ta fram en plan</td><td dir=\"auto\">TLV</td><td dir=\"auto\">2026-06-01</td>",
        "data-status=\"in-progress\" dir=\"auto\">In progress</span>",
        "<aside id=\"sidebar\" aria-label=\"Comments\"><section id=\"threads\"",
        "No comments yet.",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    assert!(!body.contains(" style="), "no inline style: {body}");
    assert!(!body.contains("<style"), "no inline style: {body}");
}

#[tokio::test]
async fn invite_only_workshops_are_missing_to_the_public_and_shown_to_participants() {
    let w = world().await;
    let (status, _, private) = get(&w.server, &format!("/w/{}", w.private), &[]).await;
    assert_eq!(status, 404);
    assert!(private.contains("data-page=\"not-found\""), "{private}");
    assert!(!private.contains("Stängd workshop"), "{private}");
    // Exactly like a workshop that does not exist, or a malformed id.
    let (status, _, missing) = get(&w.server, &format!("/w/{}", DocumentId::random()), &[]).await;
    assert_eq!(status, 404);
    assert_eq!(private, missing);
    let (status, _, malformed) = get(&w.server, "/w/not-an-id", &[]).await;
    assert_eq!((status, &malformed), (404, &missing));
    // The same page for any other path.
    let (status, _, elsewhere) = get(&w.server, "/no/such/page", &[]).await;
    assert_eq!((status, &elsewhere), (404, &missing));
    assert!(missing.contains("<h1>Page not found</h1>"), "{missing}");

    let cookie = session(&w.alice);
    let path = format!("/w/{}", w.private);
    let (status, _, body) = get(&w.server, &path, &[("Cookie", &cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<h1 id=\"title\" dir=\"auto\">Stängd workshop</h1>"),
        "{body}"
    );
    assert!(body.contains("data-role=\"participant\""), "{body}");
    assert!(body.contains("data-user-name=\"Alice\""), "{body}");

    let cookie = session(&w.host);
    let (_, _, body) = get(&w.server, &path, &[("Cookie", &cookie)]).await;
    assert!(body.contains("data-role=\"host\""), "{body}");

    // A stale session cookie reads as the public.
    let (status, _, _) = get(&w.server, &path, &[("Cookie", "synpunkt_session=00ff")]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn threads_are_listed_with_verified_names_and_their_state() {
    let w = world().await;
    let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
    let bob = Client::connect(&w.server.sync_url_for(&w.bob)).await;
    let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
    for c in [&alice, &bob, &host] {
        c.find(w.open).await.expect("find");
    }
    // "Läkemedelsverket 😀 — ATMP": one thread on the first word, one on
    // the last, whose text the host then deletes.
    let text: Vec<u16> = "Läkemedelsverket 😀 — ATMP".encode_utf16().collect();
    let end = text.len();
    alice.change(w.open, |tx| {
        threads::create_thread(tx, "t1", "issue", 0, 16, "Vilket verk?", 1).expect("thread");
        threads::create_thread(tx, "t2", "issue", end - 4, end, "Förkortning?", 2).expect("thread");
    });
    alice.wait_acked(w.open).await.expect("accepted");
    bob.wait_heads(w.open, &alice.heads(w.open))
        .await
        .expect("bob sees it");
    bob.change(w.open, |tx| {
        threads::add_comment(tx, "t1", "c-bob", "Läkemedelsverket.\nSe ovan.", 3).expect("reply");
    });
    bob.wait_acked(w.open).await.expect("accepted");
    host.wait_heads(w.open, &bob.heads(w.open))
        .await
        .expect("host sees it");
    host.change(w.open, |tx| {
        threads::set_resolved(tx, "t1", true).expect("resolve");
        let body = section_body(tx, "issue").expect("body");
        let len = tx.length(&body);
        tx.splice_text(&body, len - 4, 4, "").expect("delete");
    });
    host.wait_acked(w.open).await.expect("accepted");

    let (status, _, body) = get(&w.server, &format!("/w/{}", w.open), &[]).await;
    assert_eq!(status, 200);
    for expected in [
        "<article class=\"thread resolved\" data-thread=\"t1\" data-section=\"issue\">",
        "<p class=\"where\">Section: <bdi>The issue at hand</bdi></p>",
        "<blockquote class=\"quote\" dir=\"auto\">Läkemedelsverket</blockquote>",
        "<span class=\"badge resolved\">Resolved</span>",
        "<li class=\"comment\" data-comment=\"t1-0\"><p class=\"author\"><strong><bdi>Alice</bdi></strong></p>\
         <p class=\"text\" dir=\"auto\">Vilket verk?</p></li>",
        "<strong><bdi>Bob</bdi></strong></p><p class=\"text\" dir=\"auto\">Läkemedelsverket.\nSe ovan.</p>",
        "<article class=\"thread orphaned\" data-thread=\"t2\" data-section=\"issue\">",
        "<blockquote class=\"quote\" dir=\"auto\">ATMP</blockquote>",
        "<span class=\"badge orphaned\">",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    let first = body.find("data-thread=\"t1\"").expect("t1");
    let second = body.find("data-thread=\"t2\"").expect("t2");
    assert!(first < second, "threads in text order, orphans last");
}

#[tokio::test]
async fn text_from_users_is_escaped_everywhere() {
    const SCRIPT: &str = "<script>alert(1)</script>";
    const IMG: &str = "\"><img src=x onerror=alert(1)>";
    const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
    const IMG_ESCAPED: &str = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
    let server = TestServer::start().await;
    let admin = server.admin_token().to_owned();
    let body_text = format!("{SCRIPT} och {IMG}");
    let id = rich_workshop(
        &server,
        json!({
            "workshop": { "title": format!("{SCRIPT}{IMG}"), "hosts": [IMG], "when": SCRIPT },
            "sections": [{ "id": IMG, "heading": SCRIPT, "body": body_text }],
            "actions": [{ "id": SCRIPT, "text": IMG, "owner": SCRIPT, "due": IMG, "status": IMG }]
        }),
    )
    .await;
    // A participant whose name, thread and comment carry the same text.
    let mallory = join(&server, &admin, id, "participant", IMG).await;
    let client = Client::connect(&server.sync_url_for(&mallory)).await;
    client.find(id).await.expect("find");
    let end = body_text.encode_utf16().count();
    client.change(id, |tx| {
        threads::create_thread(tx, "t1", IMG, 0, end, SCRIPT, 1).expect("thread");
    });
    client.wait_acked(id).await.expect("accepted");

    let cookie = session(&mallory);
    for headers in [vec![], vec![("Cookie", cookie.as_str())]] {
        let (status, _, page) = get(&server, &format!("/w/{id}"), &headers).await;
        assert_eq!(status, 200, "{page}");
        assert!(!page.contains(SCRIPT), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert_eq!(page.matches("<script").count(), 1, "only boot.js: {page}");
        assert!(page.contains(SCRIPT_ESCAPED), "{page}");
        assert!(page.contains(IMG_ESCAPED), "{page}");
        assert!(
            page.contains(&format!(
                "<title>{SCRIPT_ESCAPED}{IMG_ESCAPED} · Synpunkt</title>"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "<h1 id=\"title\" dir=\"auto\">{SCRIPT_ESCAPED}{IMG_ESCAPED}</h1>"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "<section class=\"section\" data-section=\"{IMG_ESCAPED}\">"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "<p class=\"text\" dir=\"auto\">{SCRIPT_ESCAPED}</p>"
            )),
            "the comment: {page}"
        );
        assert!(
            page.contains(&format!("<strong><bdi>{IMG_ESCAPED}</bdi></strong>")),
            "its author: {page}"
        );
    }
    // The list, with the caller's name in the header.
    let (_, _, list) = get(&server, "/", &[("Cookie", &cookie)]).await;
    assert!(!list.contains(SCRIPT) && !list.contains("<img"), "{list}");
    assert!(
        list.contains(&format!("data-user-name=\"{IMG_ESCAPED}\"")),
        "{list}"
    );
    assert!(list.contains(SCRIPT_ESCAPED), "{list}");
}

#[tokio::test]
async fn the_chrome_speaks_swedish_or_english() {
    let w = world().await;
    let path = format!("/w/{}", w.open);

    let (_, head, body) = get(&w.server, &path, &[]).await;
    assert!(body.contains("<html lang=\"en\">"), "{body}");
    assert!(body.contains("data-lang=\"en\""), "{body}");
    assert!(body.contains(">Actions</h2>") && body.contains(">Comments</h2>"));
    assert!(body.contains("href=\"?lang=sv\" lang=\"sv\" hreflang=\"sv\">Svenska</a>"));
    assert_eq!(header_value(&head, "set-cookie"), None);

    let swedish = |body: &str| {
        body.contains("<html lang=\"sv\">")
            && body.contains("data-lang=\"sv\"")
            && body.contains(">Åtgärder</h2>")
            && body.contains(">Kommentarer</h2>")
            && body.contains(">Statisk sida</p>")
            && body.contains("href=\"?lang=en\" lang=\"en\" hreflang=\"en\">English</a>")
    };
    let (status, head, body) = get(&w.server, &format!("{path}?lang=sv"), &[]).await;
    assert_eq!(status, 200);
    assert!(swedish(&body), "{body}");
    let cookie = header_value(&head, "set-cookie").expect("the choice is remembered");
    assert!(cookie.starts_with("synpunkt_lang=sv;"), "{cookie}");
    assert!(
        cookie.contains("Path=/") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let (_, head, body) = get(&w.server, &path, &[("Cookie", "synpunkt_lang=sv")]).await;
    assert!(swedish(&body), "the cookie: {body}");
    assert_eq!(header_value(&head, "set-cookie"), None);

    let (_, _, body) = get(
        &w.server,
        &path,
        &[("Accept-Language", "sv-SE,sv;q=0.9,en;q=0.8")],
    )
    .await;
    assert!(swedish(&body), "Accept-Language: {body}");

    // The query wins over the cookie, the cookie over the header.
    let both = [("Cookie", "synpunkt_lang=en"), ("Accept-Language", "sv-SE")];
    let (_, _, body) = get(&w.server, &path, &both).await;
    assert!(!swedish(&body), "{body}");
    let (_, head, body) = get(&w.server, &format!("{path}?lang=sv"), &both).await;
    assert!(swedish(&body), "{body}");
    assert!(header_value(&head, "set-cookie").is_some_and(|c| c.starts_with("synpunkt_lang=sv;")));

    let sv = [("Accept-Language", "sv")];
    let (_, _, body) = get(&w.server, "/", &sv).await;
    assert!(body.contains("Öppna workshoppar"), "{body}");
    let (status, _, body) = get(&w.server, "/nowhere", &sv).await;
    assert_eq!(status, 404);
    assert!(body.contains("<h1>Sidan hittades inte</h1>"), "{body}");
}

#[tokio::test]
async fn every_page_sends_the_security_headers() {
    let w = world().await;
    let (_, inv) = invite(&w.server, &w.host, w.open, json!({ "role": "participant" })).await;
    let token = inv["token"].as_str().expect("token");
    for path in [
        "/".to_owned(),
        format!("/w/{}", w.open),
        format!("/w/{}", w.private),
        "/nowhere".to_owned(),
        format!("/invite/{token}"),
        "/client/boot.js".to_owned(),
        "/api/workshops".to_owned(),
    ] {
        let (_, head, _) = get(&w.server, &path, &[]).await;
        assert_eq!(
            header_value(&head, "content-security-policy"),
            Some(CSP),
            "{path}"
        );
        assert_eq!(
            header_value(&head, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header_value(&head, "referrer-policy"),
            Some("same-origin"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_static_files_are_served_with_their_types() {
    let server = TestServer::start().await;
    let (status, head, js) = get(&server, "/client/boot.js", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        header_value(&head, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.contains("\"/client/client_wasm.js\""), "{js}");
    assert!(js.contains("getElementById(\"status\")"), "{js}");
    let (status, head, css) = get(&server, "/client/app.css", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        header_value(&head, "content-type"),
        Some("text/css; charset=utf-8")
    );
    for class in [
        ".anchor.active",
        ".thread.resolved",
        ".thread.orphaned",
        ".diff ins",
        ".diff del",
        ".remote-caret",
        ".toolbar",
        "#status[data-state=\"saved\"]",
        ":focus-visible",
    ] {
        assert!(css.contains(class), "{class}");
    }
}

#[tokio::test]
async fn the_invite_form_signs_in_and_leads_to_the_workshop() {
    let w = world().await;
    let base = w.server.base_url();
    let (_, inv) = invite(
        &w.server,
        &w.host,
        w.private,
        json!({ "role": "participant", "maxUses": 1 }),
    )
    .await;
    let token = inv["token"].as_str().expect("token");
    let path = format!("/invite/{token}");

    let (status, _, page) = get(&w.server, &path, &[]).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(
            "<form class=\"join\" method=\"post\" action=\"/invite/{token}\">"
        )),
        "{page}"
    );
    assert!(page.contains("data-page=\"invite\""), "{page}");
    assert!(
        !page.contains("<style") && !page.contains(" style="),
        "CSP allows no inline style: {page}"
    );
    assert!(!page.contains("<script"), "{page}");

    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    // From another site: refused, and the invite is not used up.
    let cross = [form[0], ("Sec-Fetch-Site", "cross-site")];
    let (status, _, page) =
        http_with("POST", &format!("{base}{path}"), &cross, Some("name=Eve")).await;
    assert_eq!(status, 403);
    assert!(page.contains("role=\"alert\""), "{page}");
    // No name: the form again, with the reason.
    let (status, _, page) =
        http_with("POST", &format!("{base}{path}"), &form, Some("name=+")).await;
    assert_eq!(status, 400);
    assert!(page.contains("Please give a display name"), "{page}");
    assert!(page.contains("aria-describedby=\"name-error\""), "{page}");

    let (status, head, _) = http_with(
        "POST",
        &format!("{base}{path}"),
        &form,
        Some("name=Erik+%C3%85berg"),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    assert_eq!(
        header_value(&head, "location"),
        Some(format!("/w/{}", w.private).as_str())
    );
    let cookie = header_value(&head, "set-cookie").expect("session cookie");
    assert!(
        cookie.starts_with("synpunkt_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("name=value");
    let (status, _, page) = get(
        &w.server,
        &format!("/w/{}", w.private),
        &[("Cookie", session)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("data-user-name=\"Erik Åberg\""), "{page}");
    assert!(page.contains("data-role=\"participant\""), "{page}");

    // Used up now: the page says so.
    let (status, _, page) =
        http_with("POST", &format!("{base}{path}"), &form, Some("name=Fia")).await;
    assert_eq!(status, 410);
    assert!(page.contains("already been used"), "{page}");
}

/// The invariant behind text safety: the server builds no HTML by hand.
#[test]
fn server_html_is_built_with_maud_only() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(&testkit::repo_root().join("server/src"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let lower = text.to_ascii_lowercase();
        for banned in ["<!doctype", "preescaped(", "html(format!"] {
            assert!(
                !lower.contains(banned),
                "{} contains {banned:?}: build HTML with maud::html!",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn every_page_links_the_favicon_which_is_served_as_svg() {
    let w = world().await;
    for path in ["/".to_owned(), format!("/w/{}", w.open), "/new".to_owned()] {
        let (_, _, body) = get(&w.server, &path, &[]).await;
        assert!(
            body.contains(r#"<link rel="icon" href="/favicon.svg" type="image/svg+xml">"#),
            "{path} links the icon"
        );
    }
    let (status, headers, body) = get(&w.server, "/favicon.svg", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        header_value(&headers, "content-type"),
        Some("image/svg+xml")
    );
    assert!(body.starts_with("<svg"), "{body}");
}

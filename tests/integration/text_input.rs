//! Free text from users: the HTTP API bounds every string and refuses
//! empty-looking names, control characters and text-direction controls
//! with a clear 400; what reaches a page anyway (text written over sync)
//! is shown bidi-isolated.

use serde_json::{Value, json};
use testkit::{Client, TestServer, http, http_with};

use crate::common::{api, create_workshop, invite, join};

/// Accepts an invite with a display name: (status, reply).
async fn accept(server: &TestServer, invite_token: &str, name: &str) -> (u16, Value) {
    let body = json!({ "name": name }).to_string();
    let (status, _, reply) = http(
        "POST",
        &server.http_url(&format!("/api/invites/{invite_token}/accept")),
        Some(&body),
        None,
    )
    .await;
    (status, serde_json::from_str(&reply).unwrap_or(Value::Null))
}

fn error(reply: &Value) -> &str {
    reply["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn display_names_must_be_visible_plain_text_of_at_most_64_characters() {
    let server = TestServer::start().await;
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(&server, &admin, "Öppen workshop", "open").await;
    let (_, reply) = invite(
        &server,
        &admin,
        doc,
        json!({ "role": "participant", "maxUses": 1 }),
    )
    .await;
    let token = reply["token"].as_str().expect("token").to_owned();
    for (name, says) in [
        ("", "a display name is required"),
        ("   \u{3000} ", "a display name is required"),
        ("\u{200B}\u{200D}\u{FEFF}", "a display name is required"),
        ("\u{3164}", "a display name is required"),
        (
            "\u{0301}",
            "a display name must contain a visible character",
        ),
        ("Eve\u{0007}", "must not contain control characters"),
        ("Eve\nAdmin", "must not contain control characters"),
        ("\u{202E}nimdA", "text-direction control characters"),
        ("Ev\u{2067}e", "text-direction control characters"),
        ("Eve\u{200F}", "text-direction control characters"),
        (&"x".repeat(65), "at most 64 characters"),
    ] {
        let (status, reply) = accept(&server, &token, name).await;
        assert_eq!(status, 400, "{name:?}: {reply}");
        assert!(error(&reply).contains(says), "{name:?}: {reply}");
    }
    // The invite (one use) was not used up by the refusals; the name is
    // kept trimmed.
    let (status, reply) = accept(&server, &token, "  Åsa Öberg 👩‍💻\u{200B} ").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["user"]["name"], "Åsa Öberg 👩‍💻");

    // The invite form says so too.
    let (_, reply) = invite(&server, &admin, doc, json!({ "role": "participant" })).await;
    let token = reply["token"].as_str().expect("token");
    let (status, _, page) = http_with(
        "POST",
        &server.http_url(&format!("/invite/{token}")),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("name=%E2%80%AEnimdA"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("Please give a display name of 1 to 64 characters"),
        "{page}"
    );
    assert!(page.contains("maxlength=\"64\""), "{page}");
    server.shutdown().await;
}

#[tokio::test]
async fn titles_metadata_and_review_texts_are_bounded_and_plain() {
    let server = TestServer::start().await;
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(&server, &admin, "Öppen workshop", "open").await;
    let post = |path: String, body: Value| {
        let server = &server;
        let admin = admin.clone();
        async move { api(server, "POST", &path, Some(body), Some(&admin)).await }
    };
    // The hostile tester's 1.9 MB title, and its smaller relatives.
    let huge = "x".repeat(1_900_000);
    for (body, says) in [
        (
            json!({ "title": huge }),
            "a title must be at most 200 characters",
        ),
        (
            json!({ "title": "x".repeat(201) }),
            "at most 200 characters",
        ),
        (json!({ "title": " \u{200B} " }), "a title is required"),
        (json!({ "title": "\u{202E}Ny" }), "text-direction"),
        (json!({ "title": "Rad ett\nRad två" }), "control characters"),
        (
            json!({ "summary": { "workshop": { "title": "T", "hosts": ["A\u{0000}"] } } }),
            "a name in hosts, stakeholders or ambassadors must not contain control",
        ),
        (
            json!({ "summary": { "workshop": { "title": "T", "when": "x".repeat(501) } } }),
            "a metadata field must be at most 500 characters",
        ),
        (
            json!({ "summary": { "workshop": { "title": "T" },
                "sections": vec![json!({ "id": "s", "heading": "H", "body": "" }); 101] } }),
            "sections may have at most 100 entries",
        ),
        (
            json!({ "summary": { "workshop": { "title": "T" },
                "sections": [{ "id": "s", "heading": "H", "body": "x".repeat(100_001) }] } }),
            "a section body must be at most 100000 characters",
        ),
    ] {
        let (status, reply) = post("/api/workshops".into(), body).await;
        // (The 1.9 MB reply of a failure would drown the output.)
        let shown: String = reply.to_string().chars().take(300).collect();
        assert_eq!(status, 400, "{shown}");
        assert!(error(&reply).contains(says), "{says}: {shown}");
    }
    for patch in [
        json!({ "title": "x".repeat(201) }),
        json!({ "title": "" }),
        json!({ "title": "a\u{2066}b" }),
    ] {
        let (status, reply) = api(
            &server,
            "PATCH",
            &format!("/api/workshops/{doc}"),
            Some(patch),
            Some(&admin),
        )
        .await;
        assert_eq!(status, 400, "{reply}");
    }
    // Nothing of it reached the list.
    let (status, _, list) = http("GET", &server.http_url("/api/workshops"), None, None).await;
    assert_eq!(status, 200);
    assert!(list.len() < 4096, "{} bytes", list.len());

    // Review texts, replies and version names are bounded too (checked
    // before the contribution is looked up).
    let base = format!("/api/workshops/{doc}");
    for (path, body, says) in [
        (
            format!("{base}/contributions/c1/accept"),
            json!({ "text": "x".repeat(100_001) }),
            "the text must be at most 100000 characters",
        ),
        (
            format!("{base}/contributions/c1/reject"),
            json!({ "reply": "Nej\u{202E}" }),
            "the reply must not contain text-direction",
        ),
        (
            format!("{base}/contributions/c1/reject"),
            json!({ "reply": "x".repeat(10_001) }),
            "the reply must be at most 10000 characters",
        ),
        (
            format!("{base}/versions"),
            json!({ "name": "v\u{0008}1" }),
            "a version's name must not contain control characters",
        ),
        (
            format!("{base}/versions"),
            json!({ "name": "x".repeat(201) }),
            "a version's name must be at most 200 characters",
        ),
        (
            format!("{base}/invites"),
            json!({ "role": "participant", "maxUses": 0 }),
            "maxUses must be 1 to",
        ),
        (
            format!("{base}/invites"),
            json!({ "role": "participant", "expiresInSeconds": u64::MAX }),
            "expiresInSeconds must be at most",
        ),
    ] {
        let (status, reply) = post(path.clone(), body).await;
        assert_eq!(status, 400, "{path}: {reply}");
        assert!(error(&reply).contains(says), "{path}: {says}: {reply}");
    }
    // Multi-line text keeps its lines.
    let (status, reply) = post(
        "/api/workshops".into(),
        json!({ "summary": { "workshop": { "title": "  Trimmad  " },
            "sections": [{ "id": "s", "heading": "H", "body": "Ett\r\nTvå\n\tTre" }] } }),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["title"], "Trimmad");
    let (_, summary) = api(
        &server,
        "GET",
        &format!(
            "/api/workshops/{}/summary",
            reply["id"].as_str().expect("id")
        ),
        None,
        None,
    )
    .await;
    assert_eq!(summary["sections"][0]["body"], "Ett\nTvå\n\tTre");
    server.shutdown().await;
}

#[tokio::test]
async fn text_written_over_sync_is_shown_bidi_isolated() {
    let server = TestServer::start().await;
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(&server, &admin, "Öppen workshop", "open").await;
    let mallory = join(&server, &admin, doc, "participant", "Mallory").await;
    let client = Client::connect(&server.sync_url_for(&mallory)).await;
    client.find(doc).await.expect("find");
    // Sync is not the API: a comment may carry a right-to-left override.
    let evil = "\u{202E}Admin says: delete everything";
    client.change(doc, |tx| {
        model::threads::create_thread(tx, "t1", "issue", 0, 4, evil, 1).expect("thread");
    });
    client.wait_acked(doc).await.expect("accepted");
    let (status, _, page) =
        http_with("GET", &server.http_url(&format!("/w/{doc}")), &[], None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("<p class=\"text\" dir=\"auto\">{evil}</p>")),
        "the comment is isolated: {page}"
    );
    assert!(
        page.contains("<strong><bdi>Mallory</bdi></strong>"),
        "the author's name is isolated: {page}"
    );
    assert!(
        page.contains("<blockquote class=\"quote\" dir=\"auto\">"),
        "{page}"
    );
    let cookie = format!("synpunkt_session={mallory}");
    let (_, _, list) = http_with("GET", &server.http_url("/"), &[("Cookie", &cookie)], None).await;
    assert!(
        list.contains("<strong><bdi>Mallory</bdi></strong>"),
        "the signed-in name in the header: {list}"
    );
    assert!(
        list.contains("<bdi>Öppen workshop</bdi></a>"),
        "titles in the list: {list}"
    );
    server.shutdown().await;
}

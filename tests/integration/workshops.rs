//! Workshops over HTTP: demo workshops, the import command, visibility of
//! open and invite-only workshops, the JSON summary and the Markdown export,
//! changing a workshop's title and meeting type.

use model::summary::{MeetingType, Summary};
use serde_json::{Value, json};
use testkit::{Client, ServerProcess, TestServer, http_get, http_with, synpunkt_bin};

use crate::common::{api, world};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn a_fresh_server_shows_its_open_demo_workshop_only() {
    let server = TestServer::start().await;
    let (status, body) = http_get(&server.http_url("/api/workshops")).await;
    assert_eq!(status, 200);
    let list = json(&body);
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["meetingType"], "open");
    let id = list[0]["id"].as_str().expect("id");
    let (status, body) = http_get(&server.http_url(&format!("/api/workshops/{id}/summary"))).await;
    assert_eq!(status, 200);
    assert!(
        json(&body)["sections"]
            .as_array()
            .is_some_and(|s| s.len() == 3)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn bad_and_unknown_ids_get_json_errors() {
    let server = TestServer::start().await;
    let missing = docsync::DocumentId::random();
    for (path, status) in [
        ("/api/workshops/not-an-id".to_owned(), 400),
        (format!("/api/workshops/{missing}"), 404),
        (format!("/api/workshops/{missing}/export.md"), 404),
        ("/api/nothing-here".to_owned(), 404),
    ] {
        let (got, body) = http_get(&server.http_url(&path)).await;
        assert_eq!(got, status, "{path}");
        assert!(json(&body)["error"].is_string(), "{path}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn imported_workshops_are_served_by_visibility_and_export_as_markdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = std::env::var("SYNPUNKT_SEED").unwrap_or_else(|_| {
        let near = testkit::repo_root().join("../shared/seed/000_9a3fe46c59b222e3.txt");
        if near.exists() {
            near.display().to_string()
        } else {
            "/work/shared/seed/000_9a3fe46c59b222e3.txt".into()
        }
    });
    let out = std::process::Command::new(synpunkt_bin())
        .args(["import", &seed, "--data"])
        .arg(dir.path())
        .output()
        .expect("run synpunkt import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("Imported 3 workshops"), "{printed}");
    let ids: Vec<&str> = printed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| docsync::DocumentId::parse(w).is_ok())
        .collect();
    assert_eq!(ids.len(), 3);

    let server = ServerProcess::start(dir.path()).await;
    let base = server.base_url();
    let (_, body) = http_get(&format!("{base}/api/workshops")).await;
    let titles: Vec<String> = json(&body)
        .as_array()
        .expect("array")
        .iter()
        .map(|w| w["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        titles,
        [
            "Payment models for ATMP – what is happening?",
            "How is it looking for ATMP based clinical trials in Sweden?"
        ],
        "only the open workshops, and no demo workshops on an imported directory"
    );
    // The invite-only workshop answers like a missing one.
    let (status, _) = http_get(&format!("{base}/api/workshops/{}", ids[2])).await;
    assert_eq!(status, 404);
    let (status, _) = http_get(&format!("{base}/api/workshops/{}/export.md", ids[2])).await;
    assert_eq!(status, 404);

    let (status, md) = http_get(&format!("{base}/api/workshops/{}/export.md", ids[0])).await;
    assert_eq!(status, 200);
    assert!(
        md.starts_with("# Payment models for ATMP – what is happening?\n"),
        "{md}"
    );
    assert!(md.contains("**When:** Onsdag 18:e Nov 13:00-14:15"), "{md}");
    assert!(md.contains("**Host:** Sofie Alverlind, SKR"), "{md}");
    assert!(md.contains("## The issue at hand"), "{md}");
    assert!(md.contains("## The outcomes"), "{md}");
    assert!(md.contains("ATMP Sweden betalningsmodeller 201118"), "{md}");
    let (_, summary) = http_get(&format!("{base}/api/workshops/{}/summary", ids[1])).await;
    let summary = json(&summary);
    assert_eq!(summary["workshop"]["hosts"][0], "Ann Novotny (VGR)");
    assert_eq!(summary["sections"][2]["id"], "get-involved");
    server.signal("TERM");
    assert!(server.wait().await.success());
}

#[tokio::test]
async fn changing_the_title_and_meeting_type_reaches_the_document_and_its_members() {
    let w = world().await;
    let s = &w.server;
    let alice = Client::connect(&s.sync_url_for(&w.alice)).await;
    alice.find(w.open).await.expect("a participant reads");
    let patch = |body: Value| {
        let path = format!("/api/workshops/{}", w.open);
        let host = w.host.clone();
        async move { api(s, "PATCH", &path, Some(body), Some(&host)).await }
    };
    let (status, record) =
        patch(json!({ "title": "Nu stängd", "meetingType": "invite-only" })).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        (record["title"].as_str(), record["meetingType"].as_str()),
        (Some("Nu stängd"), Some("invite-only"))
    );

    // The document says so: over the API, ...
    let summary_path = format!("/api/workshops/{}/summary", w.open);
    let (status, summary) = api(s, "GET", &summary_path, None, Some(&w.alice)).await;
    assert_eq!(status, 200);
    assert_eq!(
        summary["workshop"]["meetingType"], "invite-only",
        "{summary}"
    );
    assert_eq!(summary["workshop"]["title"], "Nu stängd", "{summary}");
    // ... to a member's synced copy, ...
    alice
        .wait_doc(w.open, "the new title and meeting type", |d| {
            Summary::read(d).is_ok_and(|s| {
                s.workshop.meeting_type == MeetingType::InviteOnly
                    && s.workshop.title == "Nu stängd"
            })
        })
        .await
        .expect("the change arrives over sync");
    // ... and on the page; the change is the host's.
    let cookie = format!("synpunkt_session={}", w.alice);
    let (_, _, page) = http_with(
        "GET",
        &s.http_url(&format!("/w/{}", w.open)),
        &[("Cookie", &cookie)],
        None,
    )
    .await;
    assert!(page.contains("data-meeting-type=\"invite-only\""), "{page}");
    assert!(page.contains(">Nu stängd</h1>"), "{page}");
    let (_, history) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/history", w.open),
        None,
        Some(&w.host),
    )
    .await;
    let versions = history["versions"].as_array().expect("versions");
    let last = versions.last().expect("a version");
    assert_eq!(last["author"]["name"], "Hanna Host", "{last}");

    // The same values again change nothing; back to open changes the type.
    let before = alice.heads(w.open);
    let (status, _) = patch(json!({ "meetingType": "invite-only", "title": "Nu stängd" })).await;
    assert_eq!(status, 200);
    let (_, again) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/history", w.open),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(again["versions"], history["versions"], "no new change");
    let (status, _) = patch(json!({ "meetingType": "open" })).await;
    assert_eq!(status, 200);
    alice
        .wait_doc(w.open, "open again", |d| {
            Summary::read(d).is_ok_and(|s| s.workshop.meeting_type == MeetingType::Open)
        })
        .await
        .expect("the change arrives over sync");
    assert_ne!(alice.heads(w.open), before);
    let (_, summary) = api(s, "GET", &summary_path, None, None).await;
    assert_eq!(summary["workshop"]["meetingType"], "open");
    assert_eq!(summary["workshop"]["title"], "Nu stängd");
}

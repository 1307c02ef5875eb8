//! Hosts author the summary in the browser (issue 12): sections added,
//! renamed, moved and deleted, the metadata and actions edited, all as
//! automerge changes over the sync socket (`model::authoring`, what the web
//! client calls), read back through the HTTP API. Participants attempting
//! any of it are refused, and nothing changes.

use crate::common::{World, api, world};
use automerge::ChangeHash;
use automerge::transaction::Transaction;
use docsync::DocumentId;
use model::authoring;
use model::summary::{Action, MeetingType, Summary};
use serde_json::{Value, json};
use testkit::{Client, TestServer};

/// One edit, named for failure messages, made in one transaction.
type Edit = (&'static str, Box<dyn FnOnce(&mut Transaction<'_>)>);

async fn connect(server: &TestServer, token: &str, doc: DocumentId) -> Client {
    let client = Client::connect(&server.sync_url_for(token)).await;
    client.find(doc).await.expect("find");
    client
}

async fn summary(w: &World, doc: DocumentId) -> Value {
    let (status, summary) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{doc}/summary"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    summary
}

async fn threads(w: &World, doc: DocumentId) -> Value {
    let (status, threads) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{doc}/threads"),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200, "{threads}");
    threads
}

fn section_ids(summary: &Value) -> Vec<&str> {
    summary["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect()
}

/// What the server holds: its heads, as a fresh host client sees them.
async fn stored_heads(w: &World, doc: DocumentId) -> Vec<ChangeHash> {
    let client = connect(&w.server, &w.host, doc).await;
    let mut heads = client.heads(doc);
    heads.sort();
    client.close();
    heads
}

fn action(id: &str, text: &str, status: &str) -> Action {
    Action {
        id: id.into(),
        text: text.into(),
        owner: "TLV".into(),
        due: "2026-03-01".into(),
        status: status.into(),
    }
}

#[tokio::test]
async fn hosts_add_rename_move_and_delete_sections_and_edit_metadata_and_actions() {
    let w = world().await;
    let doc = w.open;
    let host = connect(&w.server, &w.host, doc).await;
    // Alice comments on the first section before anything moves.
    let alice = connect(&w.server, &w.alice, doc).await;
    alice.change(doc, |tx| {
        model::threads::create_thread(tx, "t-issue", "issue", 0, 16, "Vilket verk?", 0)
            .expect("thread");
    });
    alice.wait_acked(doc).await.expect("thread stored");
    host.wait_heads(doc, &alice.heads(doc))
        .await
        .expect("the host sees it");

    // Each edit is its own change, as the web client makes them.
    let steps: Vec<Edit> = vec![
        (
            "add after",
            Box::new(|tx| {
                authoring::add_section(tx, "steps", "Nästa steg", Some("issue")).expect("add")
            }),
        ),
        (
            "add at the end",
            Box::new(|tx| authoring::add_section(tx, "bg", "Bakgrund", None).expect("add")),
        ),
        (
            "add another",
            Box::new(|tx| authoring::add_section(tx, "gone", "Tillfällig", None).expect("add")),
        ),
        (
            "rename",
            Box::new(|tx| {
                assert!(authoring::rename_section(tx, "issue", "Frågan i dag").expect("rename"));
            }),
        ),
        (
            "move",
            Box::new(|tx| assert!(authoring::move_section(tx, "bg", 0).expect("move"))),
        ),
        (
            "delete",
            Box::new(|tx| assert!(authoring::delete_section(tx, "gone").expect("delete"))),
        ),
        (
            "metadata",
            Box::new(|tx| {
                let mut w = Summary::read(tx).expect("read").workshop;
                w.title = "Öppen workshop – uppföljning".into();
                w.when = "Torsdag 19:e Nov 14:30-16:00".into();
                w.hosts.push("Hanna Host".into());
                w.stakeholders = vec!["Anna Alassad, TLV".into()];
                w.ambassadors = vec!["Ambassadör".into()];
                w.meeting_type = MeetingType::InviteOnly;
                w.format = "workshop, closed".into();
                w.language = "sv".into();
                w.registration = "Inbjudna".into();
                assert!(authoring::set_workshop(tx, &w).expect("set"));
            }),
        ),
        (
            "add actions",
            Box::new(|tx| {
                authoring::add_action(tx, &action("a1", "Ta fram en plan", "open")).expect("add");
                authoring::add_action(tx, &action("a2", "Strykes", "open")).expect("add");
            }),
        ),
        (
            "edit an action, delete one",
            Box::new(|tx| {
                let edited = action("a1", "Ta fram en gemensam plan", "in-progress");
                assert!(authoring::set_action(tx, &edited).expect("set"));
                assert!(authoring::delete_action(tx, "a2").expect("delete"));
            }),
        ),
    ];
    for (what, step) in steps {
        assert!(host.change(doc, step).is_some(), "{what}: a change");
        host.wait_acked(doc).await.expect(what);
    }

    let s = summary(&w, doc).await;
    assert_eq!(section_ids(&s), ["bg", "issue", "steps"], "{s}");
    assert_eq!(s["sections"][1]["heading"], "Frågan i dag");
    assert_eq!(s["sections"][1]["body"], "Läkemedelsverket 😀 — ATMP");
    assert_eq!(s["sections"][0]["heading"], "Bakgrund");
    assert_eq!(
        s["workshop"],
        json!({
            "title": "Öppen workshop – uppföljning",
            "when": "Torsdag 19:e Nov 14:30-16:00",
            "hosts": ["Värd", "Hanna Host"],
            "stakeholders": ["Anna Alassad, TLV"],
            "ambassadors": ["Ambassadör"],
            "meetingType": "invite-only",
            "format": "workshop, closed",
            "language": "sv",
            "registration": "Inbjudna",
        })
    );
    assert_eq!(
        s["actions"],
        json!([{ "id": "a1", "text": "Ta fram en gemensam plan", "owner": "TLV",
                 "due": "2026-03-01", "status": "in-progress" }])
    );
    // The Markdown export follows the new order.
    let (_, _, md) = testkit::http(
        "GET",
        &w.server
            .http_url(&format!("/api/workshops/{doc}/export.md")),
        None,
        Some(&w.host),
    )
    .await;
    let at = |h: &str| md.find(h).unwrap_or_else(|| panic!("{h} in {md}"));
    assert!(
        at("## Bakgrund") < at("## Frågan i dag") && at("## Frågan i dag") < at("## Nästa steg")
    );

    // Alice's thread kept its anchor through the rename and the move.
    let t = threads(&w, doc).await;
    assert_eq!(t[0]["quote"], "Läkemedelsverket", "{t}");
    assert_eq!(
        t[0]["anchor"],
        json!({ "state": "anchored", "start": 0, "end": 16 })
    );
    // Deleting its section orphans it; it stays listed.
    host.change(doc, |tx| {
        assert!(authoring::delete_section(tx, "issue").expect("delete"));
    });
    host.wait_acked(doc).await.expect("deleted");
    let t = threads(&w, doc).await;
    assert_eq!(t[0]["anchor"], json!({ "state": "orphaned" }), "{t}");
    assert_eq!(section_ids(&summary(&w, doc).await), ["bg", "steps"]);

    // Edits that change nothing send nothing.
    assert!(
        host.change(doc, |tx| {
            assert!(!authoring::move_section(tx, "bg", 0).expect("move"));
            assert!(!authoring::rename_section(tx, "bg", "Bakgrund").expect("rename"));
        })
        .is_none()
    );
}

#[tokio::test]
async fn participants_cannot_add_rename_move_or_delete_sections_or_edit_metadata_or_actions() {
    let w = world().await;
    for doc in [w.open, w.private] {
        // Something to move and delete: a second section and an action.
        let host = connect(&w.server, &w.host, doc).await;
        host.change(doc, |tx| {
            authoring::add_section(tx, "steps", "Nästa steg", None).expect("add");
            authoring::add_action(tx, &action("a1", "Ta fram en plan", "open")).expect("add");
        });
        host.wait_acked(doc).await.expect("stored");
        host.close();
        let before = summary(&w, doc).await;
        let heads = stored_heads(&w, doc).await;

        let attempts: Vec<Edit> = vec![
            (
                "add a section",
                Box::new(|tx| authoring::add_section(tx, "mine", "Min", None).expect("add")),
            ),
            (
                "rename a section",
                Box::new(|tx| {
                    authoring::rename_section(tx, "issue", "Min rubrik").expect("rename");
                }),
            ),
            (
                "move a section",
                Box::new(|tx| {
                    authoring::move_section(tx, "steps", 0).expect("move");
                }),
            ),
            (
                "delete a section",
                Box::new(|tx| {
                    authoring::delete_section(tx, "steps").expect("delete");
                }),
            ),
            (
                "change the title",
                Box::new(|tx| {
                    let mut w = Summary::read(tx).expect("read").workshop;
                    w.title = "Kapad".into();
                    authoring::set_workshop(tx, &w).expect("set");
                }),
            ),
            (
                "change the meeting type",
                Box::new(|tx| {
                    let mut w = Summary::read(tx).expect("read").workshop;
                    w.meeting_type = match w.meeting_type {
                        MeetingType::Open => MeetingType::InviteOnly,
                        MeetingType::InviteOnly => MeetingType::Open,
                    };
                    authoring::set_workshop(tx, &w).expect("set");
                }),
            ),
            (
                "add a host",
                Box::new(|tx| {
                    let mut w = Summary::read(tx).expect("read").workshop;
                    w.hosts.push("Alice".into());
                    authoring::set_workshop(tx, &w).expect("set");
                }),
            ),
            (
                "change when and registration",
                Box::new(|tx| {
                    let mut w = Summary::read(tx).expect("read").workshop;
                    w.when = "Aldrig".into();
                    w.registration = "Stängd".into();
                    authoring::set_workshop(tx, &w).expect("set");
                }),
            ),
            (
                "add an action",
                Box::new(|tx| {
                    authoring::add_action(tx, &action("a9", "Mitt", "open")).expect("add");
                }),
            ),
            (
                "edit an action",
                Box::new(|tx| {
                    authoring::set_action(tx, &action("a1", "Ta fram en plan", "done"))
                        .expect("set");
                }),
            ),
            (
                "delete an action",
                Box::new(|tx| {
                    authoring::delete_action(tx, "a1").expect("delete");
                }),
            ),
        ];
        for (what, attempt) in attempts {
            let alice = connect(&w.server, &w.alice, doc).await;
            assert!(alice.change(doc, attempt).is_some(), "{what}: a change");
            let error = alice.wait_error().await.expect(what);
            assert!(
                error.contains("cannot change the summary"),
                "{what}: {error}"
            );
            assert_eq!(alice.refused_documents(), vec![doc], "{what}");
            alice.wait_closed().await.expect(what);
        }
        assert_eq!(summary(&w, doc).await, before);
        assert_eq!(stored_heads(&w, doc).await, heads, "nothing was stored");
    }
}

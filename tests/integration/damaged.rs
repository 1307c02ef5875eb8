//! A stored change that automerge panics on (a client can send one: the
//! relay stores live changes before applying them) breaks nothing else:
//! pages and the API read the rest of the document through the one loader
//! that skips what automerge cannot load, the document actor reloads
//! without it, and compaction moves the bad chunk aside and goes on.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, Change, ObjId, ROOT, ReadDoc};
use serde_json::json;
use testkit::{Client, TestServer, http_get};

use crate::common::{api, create_workshop};

fn section_body(doc: &impl ReadDoc) -> ObjId {
    let sections = doc.get(ROOT, "sections").expect("get").expect("sections").1;
    let section = doc.get(&sections, 0).expect("get").expect("section").1;
    doc.get(&section, "body").expect("get").expect("body").1
}

/// A change inserting after a character its dependencies lack, with a
/// valid checksum: automerge panics when it applies it.
fn dangling_change(base: &Automerge) -> Change {
    let mut other = base.fork().with_actor(ActorId::from([7u8; 16]));
    let body = section_body(&other);
    for (at, s) in [(0, "q"), (1, "r")] {
        let mut tx = other.transaction();
        tx.splice_text(&body, at, 0, s).expect("splice");
        tx.commit();
    }
    let mut dangling = other.get_changes(&base.get_heads())[1].decode();
    dangling.deps = base.get_heads();
    dangling.hash = None;
    Change::from(dangling)
}

#[tokio::test]
async fn a_stored_change_automerge_panics_on_breaks_no_page_and_compaction_goes_on() {
    let server = TestServer::start_with(|c| c.compact_after_chunks = 4).await;
    let admin = server.admin_token().to_owned();
    let doc = create_workshop(&server, &admin, "Skadad", "open").await;
    let client = Client::connect(&server.sync_url()).await;
    client.find(doc).await.expect("find");
    client
        .change(doc, |tx| {
            let body = section_body(tx);
            tx.splice_text(&body, 0, 0, "Bra. ").expect("splice");
        })
        .expect("change");
    client.wait_acked(doc).await.expect("stored");
    // The server acknowledges the bad change (it is stored) before it
    // ever applies it.
    let bad = dangling_change(&client.read(doc, Automerge::fork));
    let (tx, mut stored) = tokio::sync::watch::channel(false);
    let hash = bad.hash();
    client.on_server_heads(Box::new(move |_, heads| {
        if heads.contains(&hash) {
            let _ = tx.send(true);
        }
    }));
    client.send_raw_changes(doc, vec![bad.raw_bytes().to_vec()]);
    tokio::time::timeout(std::time::Duration::from_secs(20), stored.wait_for(|s| *s))
        .await
        .expect("acknowledged in time")
        .expect("acknowledged");

    // Pages and the API read the rest of the document.
    let (status, page) = http_get(&server.http_url(&format!("/w/{doc}"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Bra. Läkemedelsverket"), "{page}");
    let (status, summary) = api(
        &server,
        "GET",
        &format!("/api/workshops/{doc}/summary"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["sections"][0]["body"],
        "Bra. Läkemedelsverket 😀 — ATMP"
    );

    // A server edit makes the actor apply what it holds: it fails on the
    // bad change, and the actor stops; the next use loads without it.
    let path = format!("/api/workshops/{doc}/versions");
    let (first, _) = api(
        &server,
        "POST",
        &path,
        Some(json!({"name": "v1"})),
        Some(&admin),
    )
    .await;
    if first != 201 {
        let (status, reply) = api(
            &server,
            "POST",
            &path,
            Some(json!({"name": "v1"})),
            Some(&admin),
        )
        .await;
        assert_eq!(status, 201, "{reply}");
    }

    // Writing goes on, and compaction with it: the bad chunk is moved aside.
    let writer = Client::connect(&server.sync_url()).await;
    writer.find(doc).await.expect("the document loads");
    for i in 0..6 {
        writer
            .change(doc, |tx| {
                let body = section_body(tx);
                tx.splice_text(&body, 0, 0, &i.to_string()).expect("splice");
            })
            .expect("change");
        writer.wait_acked(doc).await.expect("stored");
    }
    assert!(server.metrics().compactions.get() >= 1, "compaction ran");
    assert_eq!(server.metrics().unreadable_chunks.get(), 1, "moved aside");
    let server = server.restart().await;
    let (status, summary) = api(
        &server,
        "GET",
        &format!("/api/workshops/{doc}/summary"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["sections"][0]["body"],
        "543210Bra. Läkemedelsverket 😀 — ATMP"
    );
    server.shutdown().await;
}

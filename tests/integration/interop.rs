//! Interop with the real JavaScript automerge-repo client (2.5.6) through
//! our server: two Node peers and one Rust peer on one document.

use automerge::ChangeHash;
use docsync::DocumentId;
use serde_json::{Value, json};
use testkit::{Client, NodePeer, TestServer};

const SEED_TEXT: &str = "Läkemedelsverket 😀 — ATMP";

fn hashes(v: &Value) -> Vec<ChangeHash> {
    v.as_array()
        .expect("heads array")
        .iter()
        .map(|h| h.as_str().expect("hex").parse().expect("change hash"))
        .collect()
}

fn hex(heads: &[ChangeHash]) -> Value {
    json!(heads.iter().map(ToString::to_string).collect::<Vec<_>>())
}

#[tokio::test]
async fn js_and_rust_clients_edit_one_document_and_converge() {
    let server = TestServer::start().await;
    let url = server.sync_url();
    let mut js_a = NodePeer::spawn(&url);
    let mut js_b = NodePeer::spawn(&url);
    let rust = Client::connect(&url).await;

    // JS creates; the reply comes once our server has acknowledged it.
    let created = js_a.call(json!({"cmd": "create", "text": SEED_TEXT})).await;
    assert_eq!(
        created["ack"],
        json!("remote-heads"),
        "our storageId is honoured"
    );
    let doc: DocumentId = created["docId"]
        .as_str()
        .expect("docId")
        .parse()
        .expect("id");

    // A Rust client and a second JS client find it through the server.
    rust.find(doc).await.expect("rust finds the JS document");
    assert_eq!(rust.text(doc), SEED_TEXT);
    let found = js_b
        .call(json!({"cmd": "find", "docId": doc.to_string()}))
        .await;
    assert_eq!(found["text"], json!(SEED_TEXT));

    // All three edit concurrently, at UTF-16 positions around the emoji.
    let rust_head = rust.splice(doc, 19, 0, " (Rust)");
    let (a, b) = tokio::join!(
        js_a.call(
            json!({"cmd": "splice", "docId": doc.to_string(), "pos": 0, "del": 0, "ins": "JS-A: "})
        ),
        js_b.call(
            json!({"cmd": "splice", "docId": doc.to_string(), "pos": 22, "del": 4, "ins": "ATMP-B"})
        ),
    );
    let mut all = hashes(&a["heads"]);
    all.extend(hashes(&b["heads"]));
    all.push(rust_head);

    rust.wait_heads(doc, &all)
        .await
        .expect("rust gets both JS edits");
    let wait = json!({"cmd": "wait_heads", "docId": doc.to_string(), "heads": hex(&all), "timeoutMs": 15000});
    let (ra, rb) = tokio::join!(js_a.call(wait.clone()), js_b.call(wait));
    let text = rust.text(doc);
    assert_eq!(ra["text"], json!(text));
    assert_eq!(rb["text"], json!(text));
    assert!(text.starts_with("JS-A: "), "{text}");
    assert!(text.contains("😀 (Rust)"), "{text}");
    assert!(text.contains("ATMP-B"), "{text}");

    // An ephemeral message from one JS client reaches the other.
    let _ = js_b
        .call(json!({"cmd": "broadcast", "docId": doc.to_string(), "message": {"cursor": 3, "name": "Åsa"}}))
        .await;
    let got = js_a
        .call(json!({"cmd": "wait_ephemeral", "docId": doc.to_string(), "timeoutMs": 10000}))
        .await;
    assert_eq!(got["message"], json!({"cursor": 3, "name": "Åsa"}));
    let b_id = js_b.call(json!({"cmd": "peer_id"})).await;
    assert_eq!(got["senderId"], b_id["peerId"]);
    // The Rust peer hears it too, with the JS author kept.
    let m = rust.next_ephemeral().await.expect("relayed to rust");
    assert_eq!(json!(m.sender_id.as_str()), b_id["peerId"]);

    js_a.quit().await;
    js_b.quit().await;
    server.shutdown().await;
}

#[tokio::test]
async fn js_client_finds_a_document_created_in_rust_and_unknown_ids_fail() {
    let server = TestServer::start().await;
    let url = server.sync_url();
    let rust = Client::connect(&url).await;
    let doc = rust.create(SEED_TEXT).await;
    let mut js = NodePeer::spawn(&url);
    let found = js
        .call(json!({"cmd": "find", "docId": doc.to_string()}))
        .await;
    assert_eq!(found["text"], json!(SEED_TEXT));

    let missing = DocumentId::random().to_string();
    let reply = js
        .try_call(&mut json!({"cmd": "find", "docId": missing}))
        .await;
    assert_eq!(reply["ok"], json!(false), "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or("")
            .contains("unavailable"),
        "{reply}"
    );
    js.quit().await;
    server.shutdown().await;
}

/// A JavaScript client with more than one unsent change (fast typing,
/// offline edits, edits during a reconnect) sends them in one sync message,
/// concatenated in one chunk; the server stores and acknowledges them all,
/// and they survive a restart.
#[tokio::test]
async fn js_clients_send_several_changes_in_one_message() {
    let server = TestServer::start().await;
    let url = server.sync_url();
    let mut js = NodePeer::spawn(&url);
    let created = js.call(json!({"cmd": "create", "text": SEED_TEXT})).await;
    let doc = created["docId"].as_str().expect("docId").to_owned();
    // A few single-change round trips first, as in the hostile test.
    for ins in ["1", "2", "3"] {
        js.call(json!({"cmd": "splice", "docId": doc, "pos": 0, "del": 0, "ins": ins}))
            .await;
    }
    let mut expected = format!("321{SEED_TEXT}");
    for (count, ins) in [(2, "b"), (3, "c"), (10, "d"), (11, "e")] {
        let reply = js
            .call(json!({"cmd": "edit_burst", "docId": doc, "count": count, "ins": ins}))
            .await;
        expected.push_str(&ins.repeat(count));
        assert_eq!(reply["text"], json!(expected));
        assert_eq!(reply["ack"], json!("remote-heads"), "{reply}");
    }
    // Offline edits by one actor, then history written by three actors.
    for (count, actors, added) in [(10, 1, "aaaaaaaaaa"), (9, 3, "abcabcabc")] {
        let reply = js
            .call(json!({"cmd": "offline_edits", "docId": doc, "count": count, "actors": actors}))
            .await;
        assert_eq!(reply["ack"], json!("remote-heads"), "{reply}");
        let text = reply["text"].as_str().expect("text");
        assert_eq!(text.len(), expected.len() + added.len(), "{text}");
        expected = text.to_owned();
    }
    js.quit().await;

    // Everything was stored: a fresh client after a restart reads it all.
    let server = server.restart().await;
    let rust = Client::connect(&server.sync_url()).await;
    let id: DocumentId = doc.parse().expect("id");
    rust.find(id).await.expect("find after restart");
    assert_eq!(rust.text(id), expected);
    let mut fresh = NodePeer::spawn(&server.sync_url());
    let found = fresh.call(json!({"cmd": "find", "docId": doc})).await;
    assert_eq!(found["text"], json!(expected));
    fresh.quit().await;
    server.shutdown().await;
}

/// automerge-repo's `import`: a JS client holding a whole history (300
/// changes) syncs it to a server that has nothing, in one message (the
/// saved document). The server takes it whole and stores it as one saved
/// document; after a restart it serves that saved document, unloaded, to a
/// fresh JS client (a whole document in one message, built by our server,
/// not automerge), takes that client's edit on top, and a Rust client
/// reads everything.
#[tokio::test]
async fn a_history_imported_whole_by_js_is_served_from_its_saved_form() {
    use automerge::transaction::Transactable as _;
    use automerge::{Automerge, ObjType, ROOT, ReadDoc as _};

    let mut history = Automerge::new();
    let mut tx = history.transaction();
    let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
    tx.splice_text(&text, 0, 0, SEED_TEXT).expect("seed");
    tx.commit();
    for i in 0..300 {
        let mut tx = history.transaction();
        tx.splice_text(&text, i % 7, 0, "·").expect("splice");
        tx.commit();
    }
    let expected = history.text(&text).expect("text");
    let saved: String = history.save().iter().map(|b| format!("{b:02x}")).collect();

    let server = TestServer::start().await;
    let mut js = NodePeer::spawn(&server.sync_url());
    let imported = js.call(json!({"cmd": "import", "saved": saved})).await;
    assert_eq!(imported["ack"], json!("remote-heads"), "{imported}");
    assert_eq!(imported["text"], json!(expected));
    let doc = imported["docId"].as_str().expect("docId").to_owned();
    js.quit().await;

    let server = server.restart().await;
    let mut fresh = NodePeer::spawn(&server.sync_url());
    let found = fresh.call(json!({"cmd": "find", "docId": doc})).await;
    assert_eq!(found["text"], json!(expected));
    assert_eq!(found["heads"], hex(&history.get_heads()));
    let edited = fresh
        .call(json!({"cmd": "splice", "docId": doc, "pos": 0, "del": 0, "ins": "JS: "}))
        .await;
    assert_eq!(edited["ack"], json!("remote-heads"), "{edited}");
    let rust = Client::connect(&server.sync_url()).await;
    let id: DocumentId = doc.parse().expect("id");
    rust.find(id).await.expect("rust finds it");
    rust.wait_heads(id, &hashes(&edited["heads"]))
        .await
        .expect("rust gets the JS edit");
    assert_eq!(rust.text(id), format!("JS: {expected}"));
    fresh.quit().await;
    server.shutdown().await;
}

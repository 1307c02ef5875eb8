//! The codec against real frames captured from automerge-repo 2.5.6
//! (`tests/fixtures/js`, produced by `tests/js/capture-fixtures.mjs`).

use docsync::{Message, SyncKind, decode, encode};

fn fixture(name: &str) -> Vec<u8> {
    let path = testkit::repo_root().join("tests/fixtures/js").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes a fixture and checks that our encoding decodes to the same.
fn decode_fixture(name: &str) -> Message {
    let message = decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(decode(&encode(&message)), Ok(message.clone()), "{name}");
    message
}

#[test]
fn join_from_the_js_client() {
    let Message::Join {
        sender_id,
        peer_metadata,
        supported_protocol_versions,
    } = decode_fixture("join.cbor")
    else {
        panic!("expected join");
    };
    assert_eq!(sender_id.as_str(), "fixture-client");
    // storageId is `undefined` on the wire: read as absent.
    assert_eq!(peer_metadata.storage_id, None);
    assert!(peer_metadata.is_ephemeral);
    assert_eq!(supported_protocol_versions, Some(vec!["1".to_owned()]));
}

#[test]
fn request_and_sync_from_the_js_client() {
    let Message::Sync(request) = decode_fixture("request.cbor") else {
        panic!("expected request");
    };
    assert_eq!(request.kind, SyncKind::Request);
    assert_eq!(
        request.document_id.to_string(),
        "4NMNnkMhL8jXrdJ9jamS58PAVdXu"
    );
    assert_eq!(request.target_id.as_str(), "fixture-server");
    automerge::sync::Message::decode(&request.data).expect("automerge sync data");

    for name in ["sync.cbor", "sync-changes.cbor"] {
        let Message::Sync(sync) = decode_fixture(name) else {
            panic!("expected sync in {name}");
        };
        assert_eq!(sync.kind, SyncKind::Sync);
        assert_eq!(sync.sender_id.as_str(), "fixture-client");
        automerge::sync::Message::decode(&sync.data).expect("automerge sync data");
    }
}

#[test]
fn the_captured_changes_hold_the_swedish_text() {
    use automerge::ReadDoc;
    use automerge::sync::SyncDoc;
    let Message::Sync(sync) = decode_fixture("sync-changes.cbor") else {
        panic!("expected sync");
    };
    let message = automerge::sync::Message::decode(&sync.data).expect("sync data");
    let mut doc = automerge::Automerge::new();
    doc.receive_sync_message(&mut automerge::sync::State::new(), message)
        .expect("changes apply");
    let (_, text) = doc
        .get(automerge::ROOT, "text")
        .expect("get")
        .expect("text field");
    let text = doc.text(&text).expect("text");
    assert_eq!(text, "Läkemedelsverket 😀 — ATMP");
    // UTF-16 indexing: the emoji is two code units, as in JS.
    assert_eq!(
        doc.length(
            doc.get(automerge::ROOT, "text")
                .expect("get")
                .expect("text")
                .1
        ),
        26
    );
}

#[test]
fn ephemeral_from_the_js_client() {
    let Message::Ephemeral(m) = decode_fixture("ephemeral.cbor") else {
        panic!("expected ephemeral");
    };
    assert_eq!(m.sender_id.as_str(), "fixture-client");
    assert_eq!(m.count, 1);
    assert!(!m.session_id.is_empty());
    let payload: ciborium::value::Value =
        ciborium::from_reader(m.data.as_slice()).expect("CBOR payload");
    let ciborium::value::Value::Map(entries) = payload else {
        panic!("payload is a map");
    };
    assert!(
        entries
            .iter()
            .any(|(k, v)| k.as_text() == Some("name") && v.as_text() == Some("Åsa"))
    );
}

#[test]
fn frames_from_the_reference_server() {
    let Message::Peer {
        peer_metadata,
        selected_protocol_version,
        ..
    } = decode_fixture("peer.cbor")
    else {
        panic!("expected peer");
    };
    assert!(peer_metadata.storage_id.is_some());
    assert!(!peer_metadata.is_ephemeral);
    assert_eq!(selected_protocol_version, "1");
    assert!(matches!(
        decode_fixture("doc-unavailable.cbor"),
        Message::DocUnavailable { .. }
    ));
    assert!(matches!(
        decode_fixture("server-sync-empty.cbor"),
        Message::Sync(_)
    ));
}

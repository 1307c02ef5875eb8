//! Every kind of bad input gets an `error` message and a closed connection,
//! while another client keeps working and nothing stored is lost.

use ciborium::value::Value;
use docsync::{DocumentId, Message, PeerId, SyncKind, SyncMessage};
use testkit::{Client, TestServer};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const LIMIT: usize = 128 * 1024;

fn cbor(entries: Vec<(&str, Value)>) -> Vec<u8> {
    let map = Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Text(k.into()), v))
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).expect("encode");
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// A bad input, sent after `join` unless `before_join`, and a part of the
/// error text the server must answer with.
struct Case {
    name: &'static str,
    before_join: bool,
    frame: WsMessage,
    expect: &'static str,
}

/// A sync message whose bloom filter has zero bits per entry: automerge
/// would divide by zero generating the answer.
fn hostile_bloom() -> Vec<u8> {
    use automerge::sync::{BloomFilter, Have, SyncDoc};
    let mut message = automerge::Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .expect("a message");
    message.have = vec![Have {
        last_sync: vec![],
        bloom: BloomFilter::try_from(&[1u8, 0, 7][..]).expect("parses"),
    }];
    message.encode()
}

fn cases(server_peer: &str, live_doc: &str) -> Vec<Case> {
    let doc = DocumentId::random().to_string();
    let sync_with = |data: Vec<u8>, doc: &str| {
        cbor(vec![
            ("type", text("sync")),
            ("senderId", text("bad")),
            ("targetId", text(server_peer)),
            ("documentId", text(doc)),
            ("data", Value::Bytes(data)),
        ])
    };
    vec![
        Case {
            name: "oversized message",
            before_join: false,
            frame: WsMessage::Binary(vec![0u8; LIMIT + 1].into()),
            expect: "too large",
        },
        Case {
            name: "malformed CBOR",
            before_join: false,
            frame: WsMessage::Binary(vec![0xbf, 0x61, 0xff, 0x00].into()),
            expect: "malformed",
        },
        Case {
            name: "not a map",
            before_join: false,
            frame: WsMessage::Binary(vec![0x83, 1, 2, 3].into()),
            expect: "not a CBOR map",
        },
        Case {
            name: "deeply nested CBOR",
            before_join: false,
            frame: WsMessage::Binary({
                let mut b = vec![0x81; 10_000];
                b.push(0);
                b.into()
            }),
            expect: "malformed",
        },
        Case {
            name: "unknown message type",
            before_join: false,
            frame: WsMessage::Binary(
                cbor(vec![("type", text("teleport")), ("senderId", text("bad"))]).into(),
            ),
            expect: "unknown message type",
        },
        Case {
            name: "invalid document id",
            before_join: false,
            frame: WsMessage::Binary(sync_with(vec![0x42], "not-a-document").into()),
            expect: "invalid document id",
        },
        Case {
            name: "message before join",
            before_join: true,
            frame: WsMessage::Binary(sync_with(vec![0x42], &doc).into()),
            expect: "must be `join`",
        },
        Case {
            name: "sync data automerge rejects",
            before_join: false,
            frame: WsMessage::Binary(sync_with(vec![0x42, 0xff, 0xff, 0x13], &doc).into()),
            expect: "sync message",
        },
        Case {
            name: "bloom filter that would crash automerge",
            before_join: false,
            frame: WsMessage::Binary(sync_with(hostile_bloom(), live_doc).into()),
            expect: "bloom filter",
        },
        Case {
            name: "oversized ephemeral payload",
            before_join: false,
            frame: WsMessage::Binary(
                cbor(vec![
                    ("type", text("ephemeral")),
                    ("senderId", text("bad")),
                    ("targetId", text(server_peer)),
                    ("documentId", text(live_doc)),
                    ("count", Value::Integer(1.into())),
                    ("sessionId", text("s")),
                    ("data", Value::Bytes(vec![0; 65 * 1024])),
                ])
                .into(),
            ),
            expect: "ephemeral message too large",
        },
        Case {
            name: "text frame",
            before_join: false,
            frame: WsMessage::Text("{\"type\":\"join\"}".into()),
            expect: "binary frames",
        },
        Case {
            name: "another peer's senderId",
            before_join: false,
            frame: WsMessage::Binary(
                cbor(vec![
                    ("type", text("request")),
                    ("senderId", text("someone-else")),
                    ("targetId", text(server_peer)),
                    ("documentId", text(&doc)),
                    ("data", Value::Bytes(vec![0x42])),
                ])
                .into(),
            ),
            expect: "does not match",
        },
    ]
}

#[tokio::test]
async fn each_bad_input_gets_an_error_while_others_keep_working() {
    let server = TestServer::start_with(|c| c.max_message_bytes = LIMIT).await;
    let url = server.sync_url();
    let writer = Client::connect(&url).await;
    let reader = Client::connect(&url).await;
    let doc = writer.create("Före: ").await;
    reader.find(doc).await.expect("find");
    let server_peer = {
        let probe = Client::connect(&url).await;
        probe.find(doc).await.expect("find");
        probe.server_peer().to_string()
    };

    for (i, case) in cases(&server_peer, &doc.to_string())
        .into_iter()
        .enumerate()
    {
        let bad = if case.before_join {
            Client::connect_raw(&url, "bad").await
        } else {
            Client::connect_as(&url, "bad").await
        };
        bad.send_ws(case.frame);
        let error = bad
            .wait_error()
            .await
            .unwrap_or_else(|e| panic!("{}: expected an error message, got {e}", case.name));
        assert!(
            error.contains(case.expect),
            "{}: error {error:?} should mention {:?}",
            case.name,
            case.expect
        );
        bad.wait_closed()
            .await
            .expect("the bad connection is closed");

        // Meanwhile the document keeps working for everyone else.
        let h = writer.splice(doc, 0, 0, &format!("{i} "));
        writer.wait_acked(doc).await.expect("acknowledged");
        reader.wait_heads(doc, &[h]).await.expect("relayed");
    }
    assert_eq!(reader.text(doc), writer.text(doc));
    assert!(writer.errors().is_empty() && reader.errors().is_empty());

    // Nothing accepted before was lost.
    let expected = writer.text(doc);
    let server = server.restart().await;
    let after = Client::connect(&server.sync_url()).await;
    after.find(doc).await.expect("find after restart");
    assert_eq!(after.text(doc), expected);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unsupported_protocol_version_is_refused() {
    let server = TestServer::start().await;
    let bad = Client::connect_raw(&server.sync_url(), "old").await;
    bad.send(&Message::Join {
        sender_id: PeerId::new("old").expect("peer id"),
        peer_metadata: Default::default(),
        supported_protocol_versions: Some(vec!["0".into()]),
    });
    let error = bad.wait_error().await.expect("error");
    assert!(error.contains("unsupported protocol"), "{error}");
    bad.wait_closed().await.expect("closed");
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_with_a_valid_but_empty_message_does_not_create_a_document() {
    let server = TestServer::start().await;
    let a = Client::connect(&server.sync_url()).await;
    let doc = DocumentId::random();
    // What an empty document says: no heads, no changes.
    let empty = {
        use automerge::sync::SyncDoc;
        automerge::Automerge::new()
            .generate_sync_message(&mut automerge::sync::State::new())
            .expect("a first sync message")
    };
    a.send(&Message::Sync(SyncMessage {
        kind: SyncKind::Sync,
        sender_id: a.peer_id().clone(),
        target_id: PeerId::new(a.server_peer()).expect("peer id"),
        document_id: doc,
        data: empty.encode(),
    }));
    let b = Client::connect(&server.sync_url()).await;
    assert!(
        b.find(doc).await.is_err(),
        "an empty sync must not create a document"
    );
    server.shutdown().await;
}

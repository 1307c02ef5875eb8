//! Abuse: a peer that stops reading, message floods, too many connections,
//! documents grown past their cap, and hostile CBOR. Each misbehaving
//! connection is closed (with an `error` where it can still be read) while
//! other clients keep editing, and nothing accepted is lost.

use ciborium::value::Value;
use docsync::{DocumentId, Message, PeerId, PeerMetadata, SyncKind, SyncMessage};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;

use server::Config;
use testkit::{Client, TIMEOUT, TestServer, wait_until};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A raw WebSocket on a socket with a small receive buffer, so that the
/// server's sends fill it quickly once nobody reads.
async fn raw_socket(server: &TestServer) -> WebSocketStream<TcpStream> {
    let addr = server
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = socket.connect(addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(server.sync_url(), tcp)
        .await
        .expect("websocket handshake");
    ws
}

fn join(peer: &str) -> WsMessage {
    WsMessage::Binary(
        docsync::encode(&Message::Join {
            sender_id: PeerId::new(peer).expect("peer id"),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        })
        .into(),
    )
}

/// A `request` for `doc` from an empty document: the server answers with
/// the whole document and then relays every new change.
fn request(peer: &str, server_peer: &str, doc: DocumentId) -> WsMessage {
    use automerge::sync::SyncDoc;
    let data = automerge::Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .expect("a first message")
        .encode();
    WsMessage::Binary(
        docsync::encode(&Message::Sync(SyncMessage {
            kind: SyncKind::Request,
            sender_id: PeerId::new(peer).expect("peer id"),
            target_id: PeerId::new(server_peer).expect("peer id"),
            document_id: doc,
            data,
        }))
        .into(),
    )
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_dropped_and_others_keep_editing() {
    const QUEUE: usize = 64;
    const QUEUE_BYTES: usize = 256 * 1024;
    let server = TestServer::start_with(|c| {
        c.outbound_queue = QUEUE;
        c.max_queued_bytes = QUEUE_BYTES;
    })
    .await;
    let url = server.sync_url();
    let writer = Client::connect(&url).await;
    let reader = Client::connect(&url).await;
    let doc = writer.create("start ").await;
    reader.find(doc).await.expect("find");

    // Joins, asks for the document, and never reads again.
    let mut stuck = raw_socket(&server).await;
    stuck.send(join("stuck")).await.expect("send join");
    stuck
        .send(request("stuck", &writer.server_peer(), doc))
        .await
        .expect("send request");

    // Busy editing, with presence, until the server gives up on the stuck
    // peer: every edit is acknowledged and relayed all along, so the
    // stuck peer's writer (blocked on its full socket) never holds up the
    // document.
    let metrics = server.metrics();
    let presence = vec![7u8; 32 * 1024];
    let mut rounds = 0;
    while metrics.slow_peers.get() == 0 {
        rounds += 1;
        assert!(
            rounds <= 5_000,
            "the stuck peer was never dropped (peak queue {} messages, {} bytes)",
            metrics.outbox_peak_messages.get(),
            metrics.outbox_peak_bytes.get()
        );
        let h = writer.splice(doc, 0, 0, "x");
        writer.broadcast(doc, presence.clone());
        writer
            .wait_acked(doc)
            .await
            .expect("acknowledged while a peer is stuck");
        reader
            .wait_heads(doc, &[h])
            .await
            .expect("relayed while a peer is stuck");
    }
    wait_until("the stuck connection is gone", || {
        metrics.connections.get() == 2
    })
    .await;
    assert_eq!(metrics.slow_peers.get(), 1);
    // Memory per connection is capped by construction: the queue never
    // held more than its bounds.
    let peak_messages = metrics.outbox_peak_messages.get();
    let peak_bytes = metrics.outbox_peak_bytes.get();
    assert!(peak_messages <= QUEUE as i64, "{peak_messages} messages");
    assert!(peak_bytes <= QUEUE_BYTES as i64, "{peak_bytes} bytes");
    eprintln!(
        "stuck peer dropped after {rounds} edits; peak queue {peak_messages} messages, {peak_bytes} bytes"
    );

    // The server closed the stuck socket: reading it now ends.
    tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(_)) = stuck.next().await {}
    })
    .await
    .expect("the stuck socket is closed");

    // Editing goes on.
    let h = writer.splice(doc, 0, 0, "after ");
    writer.wait_acked(doc).await.expect("acknowledged");
    reader.wait_heads(doc, &[h]).await.expect("relayed");
    assert_eq!(reader.text(doc), writer.text(doc));
    assert!(writer.errors().is_empty() && reader.errors().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn a_burst_of_documents_passes_and_a_flood_is_cut_off() {
    const DOCS: usize = 100;
    let server = TestServer::start_with(|c| {
        c.max_messages_per_second = 5;
        c.message_burst = 150;
    })
    .await;
    let url = server.sync_url();
    let creator = Client::connect(&url).await;
    let mut docs = Vec::new();
    for i in 0..DOCS {
        docs.push(creator.create(&format!("document {i}")).await);
    }

    // A client opening every document at once (as automerge-repo does on
    // connecting): more messages than the sustained rate allows in the
    // time, within the burst.
    let opener = Client::connect(&url).await;
    let found = futures_util::future::join_all(docs.iter().map(|d| opener.find(*d))).await;
    assert!(found.iter().all(Result::is_ok), "{found:?}");
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(opener.text(*d), format!("document {i}"));
    }

    // A flood of messages well past the burst is cut off.
    let flood = Client::connect_as(&url, "flood").await;
    let leave = {
        let map = Value::Map(vec![
            (Value::Text("type".into()), Value::Text("leave".into())),
            (Value::Text("senderId".into()), Value::Text("flood".into())),
        ]);
        let mut out = Vec::new();
        ciborium::into_writer(&map, &mut out).expect("encode");
        out
    };
    for _ in 0..2_000 {
        flood.send_raw(leave.clone());
    }
    let error = flood.wait_error().await.expect("an error");
    assert!(error.contains("rate limit exceeded"), "{error}");
    flood.wait_closed().await.expect("closed");
    assert_eq!(server.metrics().rate_limited.get(), 1);

    // The others are unaffected.
    let h = opener.splice(docs[0], 0, 0, "edited ");
    opener.wait_acked(docs[0]).await.expect("acknowledged");
    creator.find(docs[0]).await.expect("find");
    creator.wait_heads(docs[0], &[h]).await.expect("relayed");
    assert!(opener.errors().is_empty() && creator.errors().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_until_one_closes() {
    let server = TestServer::start_with(|c| c.max_connections = 3).await;
    let url = server.sync_url();
    let a = Client::connect(&url).await;
    let b = Client::connect(&url).await;
    let _c = Client::connect(&url).await;
    let doc = b.create("hello").await;

    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            let body = response.body().clone().unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
            assert!(
                json["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("too many connections")),
                "{json}"
            );
        }
        Err(e) => panic!("expected HTTP 503, got {e}"),
        Ok(_) => panic!("a fourth connection was accepted over a cap of 3"),
    }
    let metrics = server.metrics();
    assert_eq!(metrics.connections_refused.get(), 1);
    // Other HTTP requests are not counted.
    let (status, _) = testkit::http_get(&server.http_url("/healthz")).await;
    assert_eq!(status, 200);

    a.close();
    wait_until("a slot is free", || metrics.connections.get() == 2).await;
    let d = Client::connect(&url).await;
    d.find(doc).await.expect("the new connection syncs");
    assert_eq!(d.text(doc), "hello");
    assert_eq!(metrics.connections_refused.get(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_change_past_the_document_cap_is_refused_and_nothing_accepted_is_lost() {
    let server = TestServer::start_with(|c| c.max_document_bytes = 8 * 1024).await;
    let url = server.sync_url();
    let writer = Client::connect(&url).await;
    let reader = Client::connect(&url).await;
    let doc = writer.create("").await;
    reader.find(doc).await.expect("find");

    let mut accepted = String::new();
    let mut refused = false;
    for _ in 0..200 {
        // Random text: it compresses no better than real writing.
        let piece = hex::encode(rand::random::<[u8; 256]>());
        let h = writer.splice(doc, accepted.len(), 0, &piece);
        if writer.wait_acked(doc).await.is_err() {
            refused = true;
            break;
        }
        accepted.push_str(&piece);
        reader.wait_heads(doc, &[h]).await.expect("relayed");
    }
    assert!(refused, "8 KiB filled without a refusal");
    assert!(
        accepted.len() >= 4 * 1024,
        "only {} accepted",
        accepted.len()
    );
    let error = writer.wait_error().await.expect("an error");
    assert!(
        error.contains("is full") && error.contains(&doc.to_string()),
        "{error}"
    );
    assert_eq!(writer.refused_documents(), vec![doc]);
    assert_eq!(server.metrics().document_size_refusals.get(), 1);
    assert_eq!(reader.text(doc), accepted);
    assert!(reader.errors().is_empty());

    // Everything accepted is there after a restart, and nothing else.
    let server = server.restart().await;
    let after = Client::connect(&server.sync_url()).await;
    after.find(doc).await.expect("find after restart");
    assert_eq!(after.text(doc), accepted);
    server.shutdown().await;
}

/// A CBOR map of text keys; the value of `data` is spliced in raw, last.
fn map_with_raw_data(entries: Vec<(&str, Value)>, raw_data: &[u8]) -> Vec<u8> {
    let mut all: Vec<(Value, Value)> = entries
        .into_iter()
        .map(|(k, v)| (Value::Text(k.into()), v))
        .collect();
    all.push((Value::Text("data".into()), Value::Bytes(vec![])));
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(all), &mut out).expect("encode");
    // The empty byte string (0x40) is the last byte: replace it.
    assert_eq!(out.pop(), Some(0x40));
    out.extend_from_slice(raw_data);
    out
}

#[tokio::test]
async fn hostile_cbor_gets_an_error_and_a_close_and_others_keep_working() {
    let server = TestServer::start().await;
    let url = server.sync_url();
    let writer = Client::connect(&url).await;
    let reader = Client::connect(&url).await;
    let doc = writer.create("Före: ").await;
    reader.find(doc).await.expect("find");
    let server_peer = writer.server_peer();
    let text = |s: &str| Value::Text(s.into());
    let sync_with = |raw_data: &[u8]| {
        map_with_raw_data(
            vec![
                ("type", text("sync")),
                ("senderId", text("bad")),
                ("targetId", text(&server_peer)),
                ("documentId", text(&doc.to_string())),
            ],
            raw_data,
        )
    };
    let nested = {
        // The map is one level, so this is MAX_DEPTH + 1 in all.
        let mut v = Value::Integer(0.into());
        for _ in 0..docsync::codec::MAX_DEPTH {
            v = Value::Array(vec![v]);
        }
        let mut out = Vec::new();
        ciborium::into_writer(
            &Value::Map(vec![
                (text("type"), text("join")),
                (text("senderId"), text("bad")),
                (text("peerMetadata"), v),
            ]),
            &mut out,
        )
        .expect("encode");
        out
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "one level deeper than MAX_DEPTH",
            nested,
            "nested deeper than 16",
        ),
        (
            "a 4 GiB byte string in a small frame",
            sync_with(&[0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3]),
            "declares a length of 4294967296",
        ),
        (
            "an array of 2^64-1 items",
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0],
            "declares a length of 18446744073709551615",
        ),
        (
            "a 4 GiB text",
            vec![0xa1, 0x7a, 0xff, 0xff, 0xff, 0xff, b't', 0],
            "declares a length of 4294967295",
        ),
        (
            "an indefinite-length byte string",
            sync_with(&[0x5f, 0x42, 0x42, 0, 0xff]),
            "indefinite-length",
        ),
        (
            "an indefinite-length map",
            vec![
                0xbf, 0x64, b't', b'y', b'p', b'e', 0x64, b'j', b'o', b'i', b'n', 0xff,
            ],
            "indefinite-length",
        ),
        (
            "an indefinite-length array",
            vec![0xa1, 0x61, b'x', 0x9f, 0, 0xff],
            "indefinite-length",
        ),
    ];
    for (i, (name, frame, expect)) in cases.into_iter().enumerate() {
        let bad = Client::connect_as(&url, "bad").await;
        bad.send_raw(frame);
        let error = bad
            .wait_error()
            .await
            .unwrap_or_else(|e| panic!("{name}: expected an error message, got {e}"));
        assert!(
            error.contains(expect),
            "{name}: error {error:?} should mention {expect:?}"
        );
        bad.wait_closed()
            .await
            .expect("the bad connection is closed");

        let h = writer.splice(doc, 0, 0, &format!("{i} "));
        writer.wait_acked(doc).await.expect("acknowledged");
        reader.wait_heads(doc, &[h]).await.expect("relayed");
    }

    // A WebSocket frame header announcing 4 GiB: refused from the header.
    let mut ws = raw_socket(&server).await;
    ws.send(join("bad-frame")).await.expect("join");
    let frame = [
        0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, // FIN, binary, masked, 4 GiB
        1, 2, 3, 4, // the mask
        9, 9, 9, 9, // a little payload
    ];
    ws.get_mut().write_all(&frame).await.expect("raw frame");
    let error = tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(frame)) = ws.next().await {
            if let WsMessage::Binary(bytes) = frame
                && let Ok(Message::Error { message, .. }) = docsync::decode(&bytes)
            {
                return Some(message);
            }
        }
        None
    })
    .await
    .expect("an answer in time")
    .expect("an error message");
    assert!(error.contains("too large"), "{error}");

    assert_eq!(reader.text(doc), writer.text(doc));
    assert!(writer.errors().is_empty() && reader.errors().is_empty());
    let expected = writer.text(doc);
    let server = server.restart().await;
    let after = Client::connect(&server.sync_url()).await;
    after.find(doc).await.expect("find after restart");
    assert_eq!(after.text(doc), expected);
    server.shutdown().await;
}

#[test]
fn bad_limits_are_rejected_at_start_with_a_clear_message() {
    // (arguments, environment, the option the message must name)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 14] = [
        (
            &["serve", "--max-connections", "0"],
            &[],
            "--max-connections",
        ),
        (
            &["serve"],
            &[("SYNPUNKT_MAX_MESSAGES_PER_SECOND", "0")],
            "--max-messages-per-second",
        ),
        (
            &["serve", "--message-burst", "many"],
            &[],
            "--message-burst",
        ),
        (
            &["serve", "--max-queued-bytes", "100"],
            &[],
            "--max-queued-bytes",
        ),
        (
            &["serve"],
            &[("SYNPUNKT_MAX_DOCUMENT_BYTES", "10")],
            "--max-document-bytes",
        ),
        (
            &["serve", "--max-document-bytes", "2000000000000"],
            &[],
            "--max-document-bytes",
        ),
        (
            &["serve", "--session-idle-seconds", "10"],
            &[],
            "--session-idle-seconds",
        ),
        (
            &["serve"],
            &[("SYNPUNKT_SESSION_LIFETIME_SECONDS", "0")],
            "--session-lifetime-seconds",
        ),
        (
            &["serve", "--sign-in-attempt-burst", "0"],
            &[],
            "--sign-in-attempt-burst",
        ),
        (
            &["serve"],
            &[("SYNPUNKT_SIGN_IN_ATTEMPTS_PER_MINUTE", "lots")],
            "--sign-in-attempts-per-minute",
        ),
        (
            &["serve", "--header-timeout-seconds", "31"],
            &[],
            "--header-timeout-seconds",
        ),
        (
            &["serve"],
            &[("SYNPUNKT_HTTP_IDLE_SECONDS", "0")],
            "--http-idle-seconds",
        ),
        (
            &["serve", "--max-http-connections", "0"],
            &[],
            "--max-http-connections",
        ),
        (
            &["serve"],
            &[("SYNPUNKT_METRICS_LISTEN", "everywhere")],
            "--metrics-listen",
        ),
    ];
    for (args, env, mentions) in cases {
        let mut command = std::process::Command::new(testkit::synpunkt_bin());
        command.args(args).envs(env.iter().copied());
        let out = command.output().expect("run synpunkt");
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A known option with a bad value, not an unknown option.
        assert!(
            stderr.contains(mentions) && stderr.contains("invalid value"),
            "{args:?} {env:?}: {stderr}"
        );
    }
}

/// Creates `count` documents over one raw WebSocket, all holding the same
/// change (one operation putting `bytes` random bytes): each is a single
/// hand-made sync message, so that thousands are made in seconds.
async fn create_documents(server: &TestServer, count: usize, bytes: usize) -> Vec<DocumentId> {
    use automerge::transaction::Transactable;
    let mut doc = automerge::Automerge::new();
    let mut tx = doc.transaction();
    let blob: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    tx.put(automerge::ROOT, "blob", blob).expect("put");
    tx.commit();
    let change = doc.get_last_local_change().expect("a change");
    let hash = change.hash();
    let data = automerge::sync::Message {
        heads: vec![hash],
        need: vec![],
        have: vec![],
        changes: vec![change.raw_bytes().to_vec()].into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode();

    let mut ws = raw_socket(server).await;
    ws.send(join("creator")).await.expect("join");
    let server_peer = server_peer_of(&mut ws).await;
    let docs: Vec<DocumentId> = (0..count).map(|_| DocumentId::random()).collect();
    let (mut sink, mut stream) = ws.split();
    let frames: Vec<WsMessage> = docs
        .iter()
        .map(|d| {
            let message = Message::Sync(SyncMessage {
                kind: SyncKind::Sync,
                sender_id: PeerId::new("creator").expect("peer id"),
                target_id: PeerId::new(server_peer.as_str()).expect("peer id"),
                document_id: *d,
                data: data.clone(),
            });
            WsMessage::Binary(docsync::encode(&message).into())
        })
        .collect();
    let writer = tokio::spawn(async move {
        for frame in frames {
            sink.feed(frame).await.expect("send a change");
        }
        sink.flush().await.expect("flush");
        sink
    });
    // Each document is created once the server's answer has our change.
    let mut acknowledged = std::collections::HashSet::new();
    tokio::time::timeout(TIMEOUT * 3, async {
        while acknowledged.len() < count {
            let Some(Ok(frame)) = stream.next().await else {
                panic!("closed after {} documents", acknowledged.len());
            };
            if let WsMessage::Binary(bytes) = frame
                && let Ok(Message::Sync(m)) = docsync::decode(&bytes)
                && let Ok(reply) = automerge::sync::Message::decode(&m.data)
                && reply.heads.contains(&hash)
            {
                acknowledged.insert(m.document_id);
            }
        }
    })
    .await
    .expect("every document created in time");
    let mut sink = writer.await.expect("writer");
    let _ = sink.send(WsMessage::Close(None)).await;
    docs
}

/// Reads frames until a `peer` message; returns the server's peer id.
async fn server_peer_of(ws: &mut WebSocketStream<TcpStream>) -> String {
    tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(frame)) = ws.next().await {
            if let WsMessage::Binary(bytes) = frame
                && let Ok(Message::Peer { sender_id, .. }) = docsync::decode(&bytes)
            {
                return sender_id.to_string();
            }
        }
        panic!("closed before the peer message");
    })
    .await
    .expect("the peer message in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_sent_in_one_burst_are_all_answered() {
    // As automerge-repo opens its documents on connecting: every `request`
    // is sent before any answer is read (a browser's synchronous loop).
    const DOCS: usize = 10_000;
    let server = TestServer::start().await;
    let docs = create_documents(&server, DOCS, 1_200).await;
    let metrics = server.metrics();
    let peak_before = metrics.outbox_peak_messages.get();

    let mut ws = raw_socket(&server).await;
    ws.send(join("burst")).await.expect("join");
    let server_peer = server_peer_of(&mut ws).await;
    let (mut sink, mut stream) = ws.split();
    let frames: Vec<WsMessage> = docs
        .iter()
        .map(|d| request("burst", &server_peer, *d))
        .collect();
    let writer = tokio::spawn(async move {
        for frame in frames {
            sink.feed(frame).await.expect("send a request");
        }
        sink.flush().await.expect("flush");
        sink
    });
    // Nothing is read until the server's queue for this connection is full
    // (answers beyond what the sockets hold), or the server stops reading
    // the burst because of it. (The answers are some 12 MB: far more than
    // the sockets' buffers.)
    let full = Config::new(std::path::PathBuf::new()).outbound_queue as i64;
    assert!(peak_before < full);
    wait_until("the server queues answers or stops reading", || {
        metrics.outbox_peak_messages.get() >= full || metrics.reads_paused.get() > 0
    })
    .await;

    let mut answered = std::collections::HashSet::new();
    let read_all = async {
        while answered.len() < DOCS {
            match stream.next().await {
                Some(Ok(WsMessage::Binary(bytes))) => match docsync::decode(&bytes) {
                    Ok(Message::Sync(m)) => {
                        answered.insert(m.document_id);
                    }
                    Ok(Message::DocUnavailable { document_id, .. }) => {
                        answered.insert(document_id);
                    }
                    Ok(Message::Error { message, .. }) => {
                        panic!("error after {} answers: {message}", answered.len())
                    }
                    other => panic!("unexpected {other:?}"),
                },
                Some(Ok(WsMessage::Close(_))) | None => {
                    panic!("closed after {} of {DOCS} answers", answered.len())
                }
                Some(Err(e)) => panic!("{e} after {} of {DOCS} answers", answered.len()),
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(TIMEOUT * 3, read_all)
        .await
        .expect("every request answered in time");
    let mut sink = tokio::time::timeout(TIMEOUT, writer)
        .await
        .expect("the burst was sent")
        .expect("writer");

    // The connection is still open and in use.
    sink.send(WsMessage::Ping(b"still here".to_vec().into()))
        .await
        .expect("ping");
    let pong = tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(frame)) = stream.next().await {
            if let WsMessage::Pong(data) = frame {
                return data;
            }
        }
        panic!("closed instead of answering a ping");
    })
    .await
    .expect("a pong in time");
    assert_eq!(&pong[..], b"still here");
    assert_eq!(metrics.slow_peers.get(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_asks_for_much_and_never_reads_is_dropped() {
    // Its answers are paced, never capped, so no queue overflows: it is
    // dropped because its socket takes nothing for two ping intervals (or,
    // should the writer be between writes at a ping, for not answering).
    let server = TestServer::start().await;
    // 12 MB of answers: the first few fill the sockets' buffers.
    let docs = create_documents(&server, 60, 200_000).await;
    // Short pings only now: on a busy machine the creator's big messages
    // can keep the reader from any byte for half a second.
    let server = server
        .restart_with(|c| c.ping_interval = Duration::from_millis(500))
        .await;
    let metrics = server.metrics();
    let mut ws = raw_socket(&server).await;
    ws.send(join("glutton")).await.expect("join");
    let server_peer = server_peer_of(&mut ws).await;
    for d in &docs {
        ws.feed(request("glutton", &server_peer, *d))
            .await
            .expect("send a request");
    }
    ws.flush().await.expect("flush");
    wait_until("the glutton is dropped", || metrics.connections.get() == 0).await;
    tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await
    .expect("the socket is closed");
    server.shutdown().await;
}

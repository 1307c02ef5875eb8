//! Sync over real sockets: convergence, persistence, unknown documents,
//! ephemeral relay, reconnects, eviction and keepalive.

use std::time::Duration;

use docsync::DocumentId;
use testkit::{Client, ClientError, TestServer, wait_until};

const SEED_TEXT: &str = "Läkemedelsverket 😀 — ATMP";

#[tokio::test]
async fn two_clients_converge_with_utf16_positions() {
    let server = TestServer::start().await;
    let a = Client::connect(&server.sync_url()).await;
    let b = Client::connect(&server.sync_url()).await;
    let doc = a.create(SEED_TEXT).await;
    b.find(doc).await.expect("b finds the document");
    assert_eq!(b.text(doc), SEED_TEXT);

    // "Läkemedelsverket 😀" is 19 UTF-16 code units (the emoji counts 2).
    let ha = a.splice(doc, 19, 0, "!");
    let hb = b.splice(doc, 0, 0, "» ");
    a.wait_heads(doc, &[hb]).await.expect("a gets b's edit");
    b.wait_heads(doc, &[ha]).await.expect("b gets a's edit");
    assert_eq!(a.text(doc), b.text(doc));
    assert_eq!(a.text(doc), "» Läkemedelsverket 😀! — ATMP");
    server.shutdown().await;
}

#[tokio::test]
async fn ten_clients_editing_concurrently_converge() {
    let server = TestServer::start().await;
    let creator = Client::connect(&server.sync_url()).await;
    let doc = creator.create("Workshop summary. ").await;
    let mut clients = vec![creator];
    for _ in 0..9 {
        let c = Client::connect(&server.sync_url()).await;
        c.find(doc).await.expect("find");
        clients.push(c);
    }
    let mut tasks = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut heads = Vec::new();
            for round in 0..5 {
                let len = c.text(doc).encode_utf16().count();
                let pos = (i * 7 + round * 3) % (len + 1);
                heads.push(c.splice(doc, pos, 0, &format!("[{i}.{round}]")));
                tokio::task::yield_now().await;
            }
            heads
        }));
    }
    let mut all_heads = Vec::new();
    for t in tasks {
        all_heads.extend(t.await.expect("editor task"));
    }
    for c in &clients {
        c.wait_heads(doc, &all_heads)
            .await
            .expect("every edit arrives");
    }
    let text = clients[0].text(doc);
    for c in &clients {
        assert_eq!(c.text(doc), text);
    }
    // Inserts may land inside each other, so compare the characters.
    let mut expected: Vec<char> = "Workshop summary. ".chars().collect();
    for i in 0..10 {
        for round in 0..5 {
            expected.extend(format!("[{i}.{round}]").chars());
        }
    }
    let mut got: Vec<char> = text.chars().collect();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected, "{text}");
    server.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_every_document_and_change() {
    // Compact often, so both snapshots and incremental chunks are reloaded.
    let server = TestServer::start_with(|c| c.compact_after_chunks = 4).await;
    let a = Client::connect(&server.sync_url()).await;
    let mut docs = Vec::new();
    for i in 0..3 {
        let doc = a.create(&format!("Document {i}: {SEED_TEXT}")).await;
        for k in 0..(i * 5 + 1) {
            a.splice(doc, 0, 0, &format!("{k},"));
            a.wait_acked(doc).await.expect("acknowledged");
        }
        docs.push((doc, a.text(doc), a.heads(doc)));
    }
    let server = server.restart().await;
    let b = Client::connect(&server.sync_url()).await;
    for (doc, text, heads) in docs {
        b.find(doc).await.expect("document is back");
        b.wait_heads(doc, &heads)
            .await
            .expect("every change is back");
        assert_eq!(b.text(doc), text);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_documents_are_unavailable_until_created() {
    let server = TestServer::start().await;
    let a = Client::connect(&server.sync_url()).await;
    let missing = DocumentId::random();
    match a.find(missing).await {
        Err(ClientError::Unavailable(id)) => assert_eq!(id, missing),
        other => panic!("expected doc-unavailable, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn ephemeral_messages_reach_the_other_peers_only() {
    let server = TestServer::start().await;
    let a = Client::connect(&server.sync_url()).await;
    let b = Client::connect(&server.sync_url()).await;
    let c = Client::connect(&server.sync_url()).await;
    let doc = a.create(SEED_TEXT).await;
    b.find(doc).await.expect("find");
    c.find(doc).await.expect("find");
    a.broadcast(doc, vec![0xa1, 0x61, 0x78, 0x01]);
    for peer in [&b, &c] {
        let m = peer.next_ephemeral().await.expect("relayed");
        assert_eq!(m.sender_id, *a.peer_id());
        assert_eq!(m.target_id, *peer.peer_id());
        assert_eq!(m.document_id, doc);
        assert_eq!(m.data, vec![0xa1, 0x61, 0x78, 0x01]);
    }
    // b answers; a hears it, and a never hears its own message back.
    b.broadcast(doc, vec![0xf5]);
    let m = a.next_ephemeral().await.expect("relayed");
    assert_eq!(m.sender_id, *b.peer_id());
    server.shutdown().await;
}

#[tokio::test]
async fn a_second_join_with_the_same_peer_id_replaces_the_first() {
    let server = TestServer::start().await;
    let a = Client::connect(&server.sync_url()).await;
    let doc = a.create(SEED_TEXT).await;
    let old = Client::connect_as(&server.sync_url(), "peer-laptop").await;
    old.find(doc).await.expect("find");
    let new = Client::connect_as(&server.sync_url(), "peer-laptop").await;
    old.wait_closed()
        .await
        .expect("the old connection is closed");
    new.find(doc).await.expect("the new connection syncs");
    let h = a.splice(doc, 0, 0, "Ny: ");
    new.wait_heads(doc, &[h])
        .await
        .expect("edits reach the new connection");
    assert_eq!(new.text(doc), format!("Ny: {SEED_TEXT}"));
    server.shutdown().await;
}

#[tokio::test]
async fn idle_documents_are_evicted_and_reload() {
    let server = TestServer::start_with(|c| c.idle_evict = Duration::from_millis(100)).await;
    let a = Client::connect(&server.sync_url()).await;
    let doc = a.create(SEED_TEXT).await;
    a.close();
    a.wait_closed().await.expect("closed");
    wait_until("the document is evicted", || {
        server.metrics().resident_documents.get() == 0
    })
    .await;
    let b = Client::connect(&server.sync_url()).await;
    b.find(doc).await.expect("reloaded from the store");
    assert_eq!(b.text(doc), SEED_TEXT);
    server.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let server = TestServer::start_with(|c| c.ping_interval = Duration::from_millis(100)).await;
    // A raw socket that joins and then never reads, so never answers pings.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.sync_url())
        .await
        .expect("connect");
    use futures_util::SinkExt;
    let join = docsync::encode(&docsync::Message::Join {
        sender_id: docsync::PeerId::new("silent").expect("peer id"),
        peer_metadata: Default::default(),
        supported_protocol_versions: None,
    });
    ws.send(join.into()).await.expect("send join");
    wait_until("the connection is registered", || {
        server.metrics().connections.get() == 1
    })
    .await;
    wait_until("the silent peer is dropped", || {
        server.metrics().connections.get() == 0
    })
    .await;
    drop(ws);
    server.shutdown().await;
}

/// A peer that sends many changes in a row must hear that the server has the
/// last of them, even when its own follow-up message (saying it has nothing
/// more) reaches the server in the same turn as that last change: automerge
/// alone would then stay silent. Multi-threaded, so that the server batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_edits_is_acknowledged() {
    let server = TestServer::start().await;
    for round in 0..30 {
        let a = Client::connect(&server.sync_url()).await;
        let doc = a.create(SEED_TEXT).await;
        for i in 0..20 {
            a.splice(doc, 0, 0, &format!("{i} "));
        }
        if let Err(e) = a.wait_acked(doc).await {
            panic!("round {round}: {e}; {}", a.debug_state(doc));
        }
    }
    server.shutdown().await;
}

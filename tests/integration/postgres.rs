//! The PostgreSQL store (`--store postgres://…`) on a real, throwaway
//! PostgreSQL ([`testkit::Postgres`]): the store's contract, several
//! writers on one database (compaction, actor binding), and real `synpunkt`
//! processes: acknowledged changes survive `kill -9`, and while the
//! database is down nothing is acknowledged, `/healthz` says 503, and the
//! node recovers by itself once it is back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{Automerge, ChangeHash, ROOT, ReadDoc, transaction::Transactable};
use docsync::DocumentId;
use server::store::{ChunkKey, PgStore, Store, contract};
use testkit::{Client, Postgres, ServerProcess, TIMEOUT, http, http_get};

#[test]
fn the_store_contract_holds_on_postgres() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url()).expect("open");
    contract(&store);
    // Migrations run once: a second node opening the same database finds
    // them applied, and sees the first one's writes.
    let again = PgStore::open(&pg.url()).expect("open again");
    assert_eq!(again.get_meta("k").expect("get"), Some(b"v".to_vec()));
}

/// The commit is the acknowledgement: a flush while the database is down
/// fails (so the actor never calls `durable`), keeps the writes, and
/// commits them once the database is back; reads see them throughout.
#[test]
fn a_flush_fails_while_postgres_is_down_and_commits_once_it_is_back() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url()).expect("open");
    let id = DocumentId::random();
    let key = store
        .append(&id, b"written before the outage")
        .expect("append");
    pg.stop_immediately();
    assert!(store.health().is_err(), "healthy without a database");
    let flushed = store.flush();
    assert!(
        flushed.is_err(),
        "a flush succeeded with the database down: {flushed:?}"
    );
    pg.restart();
    // The pool reconnects by itself: the first flush after the restart
    // commits what was kept.
    store.flush().expect("flush after the restart");
    store.health().expect("healthy again");
    let fresh = PgStore::open(&pg.url()).expect("open");
    let stored = fresh.load(&id).expect("load").expect("committed");
    assert_eq!(stored.keys, vec![key]);
}

/// A change on top of `doc`, saved incrementally (one chunk).
fn change(doc: &mut Automerge, key: &str) -> Vec<u8> {
    let heads = doc.get_heads();
    let mut tx = doc.transaction();
    tx.put(ROOT, key, 1).expect("put");
    tx.commit();
    doc.save_after(&heads)
}

fn keys_of(chunks: &[Vec<u8>]) -> HashSet<String> {
    let (doc, skipped) = docsync::doc_state::load_chunks(chunks);
    assert!(skipped.is_empty());
    doc.keys(ROOT).collect()
}

/// Two nodes compact one document at the same moment, each having seen a
/// change the other has not: every change is still stored afterwards
/// (each compaction deletes only the chunks it merged).
#[test]
fn two_compactions_of_one_document_at_once_keep_every_change() {
    let pg = Postgres::start();
    let (one, two) = (
        Arc::new(PgStore::open(&pg.url()).expect("open")),
        Arc::new(PgStore::open(&pg.url()).expect("open")),
    );
    let id = DocumentId::random();
    let mut base = Automerge::new();
    let first = change(&mut base, "base");
    one.append(&id, &first).expect("append");
    one.flush().expect("flush");

    // Each node loads the document, then (after both loaded) adds a change
    // of its own, which the other does not see.
    let loaded: Vec<_> = [&one, &two]
        .map(|store| store.load(&id).expect("load").expect("stored"))
        .into_iter()
        .collect();
    let mut docs = Vec::new();
    let mut merged = Vec::new();
    for ((store, key), stored) in [(&one, "from-one"), (&two, "from-two")]
        .into_iter()
        .zip(loaded)
    {
        let (mut doc, _) = docsync::doc_state::load_chunks(&stored.chunks);
        let chunk = change(&mut doc, key);
        let mut keys = stored.keys.clone();
        keys.push(store.append(&id, &chunk).expect("append"));
        store.flush().expect("flush");
        docs.push(doc);
        merged.push(keys);
    }
    let all = |store: &PgStore, keys: &[&str]| {
        let stored = store.load(&id).expect("load").expect("stored");
        assert_eq!(
            keys_of(&stored.chunks),
            keys.iter().map(|k| k.to_string()).collect(),
            "a change was lost to a compaction on another node"
        );
        stored
    };
    // Node one compacts what it knows; node two's change, stored after
    // node one loaded, must stay.
    let mut docs = docs.into_iter();
    let (mut doc_one, doc_two) = (docs.next().expect("one"), docs.next().expect("two"));
    let snapshot = one
        .compact(&id, &doc_one.save(), &merged[0])
        .expect("compact");
    one.flush().expect("flush");
    all(&two, &["base", "from-one", "from-two"]);

    // Then both compact at once: node one its snapshot and one more
    // change, node two what it loaded and its own change.
    let more = change(&mut doc_one, "from-one-again");
    let more = one.append(&id, &more).expect("append");
    one.flush().expect("flush");
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = [
        (one.clone(), doc_one, vec![snapshot, more]),
        (two.clone(), doc_two, merged[1].clone()),
    ]
    .into_iter()
    .map(|(store, doc, keys)| {
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            let snapshot = doc.save();
            barrier.wait();
            store.compact(&id, &snapshot, &keys).expect("compact");
            store.flush().expect("flush");
        })
    })
    .collect();
    for t in threads {
        t.join().expect("compaction thread");
    }
    let fresh = PgStore::open(&pg.url()).expect("open");
    let stored = all(&fresh, &["base", "from-one", "from-one-again", "from-two"]);
    // The incremental chunks are gone; the two snapshots stay.
    assert_eq!(stored.chunks.len(), 2, "{:?}", stored.keys);
    assert!(!stored.keys.contains(&ChunkKey::of(&first)));
}

/// Two nodes bind the same actor ids to different users at the same
/// moment: each actor gets exactly one owner, and both nodes are told the
/// same one (the database's primary key decides).
#[test]
fn two_nodes_binding_one_actor_bind_it_once() {
    let pg = Postgres::start();
    let stores = [
        Arc::new(PgStore::open(&pg.url()).expect("open")),
        Arc::new(PgStore::open(&pg.url()).expect("open")),
    ];
    let actors: Arc<Vec<[u8; 16]>> = Arc::new((0..200).map(|_| rand::random()).collect());
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = stores
        .iter()
        .cloned()
        .zip(["alice", "bob"])
        .map(|(store, user)| {
            let (actors, barrier) = (actors.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                actors
                    .iter()
                    .map(|a| store.bind_actor(a, user).expect("bind"))
                    .collect::<Vec<String>>()
            })
        })
        .collect();
    let owners: Vec<Vec<String>> = threads
        .into_iter()
        .map(|t| t.join().expect("binding thread"))
        .collect();
    assert_eq!(owners[0], owners[1], "the nodes disagree on an owner");
    let won = |user: &str| owners[0].iter().filter(|o| *o == user).count();
    assert_eq!(won("alice") + won("bob"), actors.len());
    for (actor, owner) in actors.iter().zip(&owners[0]) {
        for store in &stores {
            assert_eq!(
                store.get(server::store::Table::Actors, actor).expect("get"),
                Some(owner.as_bytes().to_vec())
            );
        }
    }
}

/// A workshop created through the API of a server on PostgreSQL.
async fn new_workshop(server: &ServerProcess) -> DocumentId {
    let (status, _, body) = http(
        "POST",
        &format!("{}/api/workshops", server.base_url()),
        Some(r#"{"title": "On PostgreSQL", "meetingType": "open"}"#),
        Some(server.admin_token()),
    )
    .await;
    assert!(status == 200 || status == 201, "{status}: {body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    json["id"]
        .as_str()
        .or_else(|| json["workshop"]["id"].as_str())
        .unwrap_or_else(|| panic!("no id in {body}"))
        .parse()
        .expect("a document id")
}

/// What the writers wrote (with each change's dependencies) and what the
/// server acknowledged: the heads of its sync messages and their ancestors.
#[derive(Default)]
struct Ledger {
    written: Vec<ChangeHash>,
    deps: HashMap<ChangeHash, Vec<ChangeHash>>,
    /// Where in `written` the changes made while the database was down
    /// begin (`None`: it has not gone down).
    down_from: Option<usize>,
    acknowledged: HashSet<ChangeHash>,
    /// Changes made while the database was down that were acknowledged
    /// before it came back (must stay empty).
    acknowledged_while_down: Vec<ChangeHash>,
}

impl Ledger {
    fn acknowledge(&mut self, heads: &[ChangeHash], down: bool) {
        let mut stack = heads.to_vec();
        while let Some(hash) = stack.pop() {
            let Some(deps) = self.deps.get(&hash) else {
                continue;
            };
            if !self.acknowledged.insert(hash) {
                continue;
            }
            if down {
                let from = self.down_from.unwrap_or(usize::MAX);
                if self.written[from.min(self.written.len())..].contains(&hash) {
                    self.acknowledged_while_down.push(hash);
                }
            }
            stack.extend(deps.iter().copied());
        }
    }

    /// How many of the changes from index `from` on are acknowledged.
    fn acknowledged_since(&self, from: usize) -> usize {
        self.written[from.min(self.written.len())..]
            .iter()
            .filter(|h| self.acknowledged.contains(h))
            .count()
    }
}

/// Has `client` mark, in `ledger`, every change the server advertises.
fn watch(client: &Client, ledger: &Arc<Mutex<Ledger>>, down: &Arc<AtomicBool>) {
    let (ledger, down) = (ledger.clone(), down.clone());
    client.on_server_heads(Box::new(move |_, heads| {
        lock(&ledger).acknowledge(heads, down.load(Ordering::SeqCst));
    }));
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every acknowledged change of the ledger is in the server's copy of
/// `doc`, read by a fresh client.
async fn assert_nothing_acknowledged_is_lost(
    server: &ServerProcess,
    doc: DocumentId,
    acknowledged: HashSet<ChangeHash>,
) {
    let reader = Client::connect(&server.sync_url()).await;
    reader.find(doc).await.expect("the document is served");
    let present: HashSet<ChangeHash> = reader.read(doc, |d| {
        d.get_changes(&[]).iter().map(|c| c.hash()).collect()
    });
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|h| !present.contains(h))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged changes lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
}

/// One change by `client` to `doc`, recorded in the ledger with its
/// dependencies. (Not under the ledger's lock: the client calls the heads
/// hook, which takes it, under its own. An acknowledgement that comes
/// before the record is counted with the next one, as an ancestor.)
fn write(client: &Client, doc: DocumentId, ledger: &Mutex<Ledger>, n: usize) -> ChangeHash {
    let deps = client.heads(doc);
    let hash = client
        .change(doc, |tx| {
            tx.put(ROOT, format!("pg-test-{}", n % 64), n as i64)
                .expect("put");
        })
        .expect("a change was made");
    let mut l = lock(ledger);
    l.written.push(hash);
    l.deps.insert(hash, deps);
    hash
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_on_postgres_survive_kill_9() {
    let pg = Postgres::start();
    let data = tempfile::tempdir().expect("tempdir");
    let store = ["--store", &pg.url()];
    let server = ServerProcess::start_with(data.path(), &store).await;
    let admin = server.admin_token().to_owned();
    let doc = new_workshop(&server).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let down = Arc::new(AtomicBool::new(false));
    let client = Client::connect(&server.sync_url()).await;
    watch(&client, &ledger, &down);
    client.find(doc).await.expect("the new workshop is served");
    for n in 0..40 {
        write(&client, doc, &ledger, n);
    }
    client.wait_acked(doc).await.expect("acknowledged");
    // More, and the kill while they are on their way.
    for n in 40..80 {
        write(&client, doc, &ledger, n);
        tokio::task::yield_now().await;
    }
    server.signal("KILL");
    let _ = server.wait().await;
    let acknowledged = lock(&ledger).acknowledged.len();
    assert!(acknowledged >= 40, "only {acknowledged} acknowledged");

    // A new process, with a new (empty) data directory: everything is in
    // PostgreSQL.
    let data = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start_as_with(data.path(), &admin, &store).await;
    let acknowledged = lock(&ledger).acknowledged.clone();
    assert_nothing_acknowledged_is_lost(&server, doc, acknowledged).await;
    // The workshop's record is back too.
    let (status, body) = http_get(&format!("{}/api/workshops", server.base_url())).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&doc.to_string()), "{body}");
}

/// `/healthz`'s status.
async fn health(server: &ServerProcess) -> u16 {
    http_get(&format!("{}/healthz", server.base_url())).await.0
}

/// Waits (bounded by [`TIMEOUT`]) until `/healthz` answers `status`.
async fn wait_health(server: &ServerProcess, status: u16) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while health(server).await != status {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_down_nothing_is_acknowledged_and_the_node_recovers() {
    let pg = Postgres::start();
    let data = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start_with(data.path(), &["--store", &pg.url()]).await;
    let doc = new_workshop(&server).await;
    assert_eq!(health(&server).await, 200);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let down = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // Writes refused (connection closed with an error, or the document not
    // served) while the database was down.
    let refusals = Arc::new(AtomicUsize::new(0));

    // The writer: a window of unacknowledged changes, a fresh client (from
    // the server's copy) whenever the server closes its connection.
    let writer = tokio::spawn({
        let (ledger, down, stop, refusals) =
            (ledger.clone(), down.clone(), stop.clone(), refusals.clone());
        let url = server.sync_url();
        async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let client = match Client::try_connect(&url).await {
                    Ok(client) => client,
                    Err(_) => {
                        refusals.fetch_add(1, Ordering::SeqCst);
                        // Pacing of the retries while the node refuses
                        // (its sessions are in the database).
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                watch(&client, &ledger, &down);
                if client.find(doc).await.is_err() {
                    refusals.fetch_add(1, Ordering::SeqCst);
                    // Pacing of the retries while the node cannot serve
                    // the document, not a synchronisation.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                let mut mine = Vec::new();
                while !stop.load(Ordering::SeqCst) && !client.is_closed() {
                    let outstanding = {
                        let l = lock(&ledger);
                        mine.iter().filter(|h| !l.acknowledged.contains(*h)).count()
                    };
                    if outstanding < 16 {
                        mine.push(write(&client, doc, &ledger, n));
                        n += 1;
                    }
                    // Until the acknowledgement or the close: either moves.
                    let _ = tokio::time::timeout(Duration::from_millis(20), client.wait_acked(doc))
                        .await;
                }
                if client.is_closed() {
                    refusals.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });

    let wait_for = |what: &'static str, f: Box<dyn Fn() -> bool + Send>| async move {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while !f() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let l = ledger.clone();
    wait_for(
        "100 acknowledged changes",
        Box::new(move || lock(&l).acknowledged.len() >= 100),
    )
    .await;

    // Down, under load.
    pg.stop_immediately();
    {
        let mut l = lock(&ledger);
        l.down_from = Some(l.written.len());
        down.store(true, Ordering::SeqCst);
    }
    wait_health(&server, 503).await;
    let r = refusals.clone();
    wait_for(
        "writes refused while the database is down",
        Box::new(move || r.load(Ordering::SeqCst) >= 3),
    )
    .await;
    assert_eq!(health(&server).await, 503);
    // Requests that need the store say so (503, try again), clearly.
    let (status, _, body) = http(
        "GET",
        &format!("{}/api/workshops", server.base_url()),
        None,
        Some(server.admin_token()),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("unavailable"), "{body}");

    // Back: the node recovers by itself.
    pg.restart();
    down.store(false, Ordering::SeqCst);
    wait_health(&server, 200).await;
    let after = lock(&ledger).written.len();
    let l = ledger.clone();
    wait_for(
        "writes acknowledged again after the database returned",
        Box::new(move || lock(&l).acknowledged_since(after) >= 20),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");

    let (while_down, acknowledged) = {
        let l = lock(&ledger);
        (l.acknowledged_while_down.clone(), l.acknowledged.clone())
    };
    assert!(
        while_down.is_empty(),
        "acknowledged while PostgreSQL was down: {while_down:?}"
    );
    assert_nothing_acknowledged_is_lost(&server, doc, acknowledged).await;
    server.signal("KILL");
}

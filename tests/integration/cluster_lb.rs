//! Three real `synpunkt` processes on one real PostgreSQL behind a real
//! HAProxy with the shipped configuration (`deploy/haproxy.cfg`,
//! [`testkit::Cluster`]): a client whose node is SIGKILLed while it writes
//! reconnects through HAProxy and no acknowledged change is lost; the web
//! client's socket carries the affinity parameter and comes back to
//! "Saved" on another node; a session works on every node; and a cluster
//! stopped and started again has everything back.
//!
//! Until changes cross nodes live, a node holding a document learns of
//! another node's changes only from the store when it loads it: these
//! tests assert what a client sees after (re)connecting and what the
//! database holds, which is correct either way.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{ChangeHash, ROOT, ReadDoc, transaction::Transactable};
use docsync::DocumentId;
use rand::Rng;
use server::store::{PgStore, Store};
use testkit::{Browser, Client, Cluster, TIMEOUT, http};

/// A workshop created through HAProxy's address.
async fn new_workshop(cluster: &Cluster) -> DocumentId {
    let (status, _, body) = http(
        "POST",
        &format!("{}/api/workshops", cluster.lb_url()),
        Some(
            r#"{"summary": {"workshop": {"title": "Behind HAProxy", "meetingType": "open"},
               "sections": [{"id": "issue", "heading": "The issue", "body": "Three nodes, one database"}]}}"#,
        ),
        Some(cluster.admin_token()),
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

/// What the writer wrote (with each change's dependencies) and what any
/// node acknowledged: the heads of its sync messages and their ancestors.
#[derive(Default)]
struct Ledger {
    deps: HashMap<ChangeHash, Vec<ChangeHash>>,
    acknowledged: HashSet<ChangeHash>,
}

impl Ledger {
    fn acknowledge(&mut self, heads: &[ChangeHash]) {
        let mut stack = heads.to_vec();
        while let Some(hash) = stack.pop() {
            let Some(deps) = self.deps.get(&hash) else {
                continue;
            };
            if self.acknowledged.insert(hash) {
                stack.extend(deps.iter().copied());
            }
        }
    }
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

/// Connects through HAProxy and opens `doc`, retrying while HAProxy or the
/// node it picked cannot serve yet (a node just killed and not yet marked
/// down); records what the node acknowledges in `ledger`.
async fn connect(cluster: &Cluster, doc: DocumentId, ledger: &Arc<Mutex<Ledger>>) -> Client {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Ok(client) = Client::try_connect(&cluster.sync_url(doc)).await {
            let ledger = ledger.clone();
            client.on_server_heads(Box::new(move |_, heads| lock(&ledger).acknowledge(heads)));
            if client.find(doc).await.is_ok() {
                return client;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "could not reconnect through HAProxy: {:?}",
            cluster.states().await
        );
        // Pacing of the retries while HAProxy moves the document to a
        // live node, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One change; recorded with its dependencies before anything can
/// acknowledge it (an acknowledgement racing the record counts with the
/// next one, as an ancestor).
fn write(client: &Client, doc: DocumentId, ledger: &Mutex<Ledger>, n: usize) -> ChangeHash {
    let deps = client.heads(doc);
    let hash = client
        .change(doc, |tx| {
            tx.put(ROOT, format!("lb-test-{}", n % 64), n as i64)
                .expect("put");
        })
        .expect("a change was made");
    lock(ledger).deps.insert(hash, deps);
    hash
}

/// The node the newest socket for `doc` went to, once there are more
/// than `seen` of them.
async fn node_of_socket(cluster: &Cluster, doc: DocumentId, seen: usize) -> usize {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let nodes = cluster.sync_nodes(doc);
        if nodes.len() > seen {
            return *nodes.last().expect("a socket");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "HAProxy logged no socket for {doc}: {:?}",
            cluster.haproxy_log()
        );
        // HAProxy's log arrives through a pipe; poll it.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every change of `doc` in the database, read by a fresh store.
fn stored_changes(cluster: &Cluster, doc: DocumentId) -> HashSet<ChangeHash> {
    let store = PgStore::open(&cluster.postgres().url()).expect("open the database");
    let stored = store.load(&doc).expect("load").expect("stored");
    let (loaded, skipped) = docsync::doc_state::load_chunks(&stored.chunks);
    assert!(skipped.is_empty(), "damaged chunks in the database");
    loaded.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_connected_node_ten_times_loses_no_acknowledged_change() {
    let mut cluster = Cluster::start(3).await;
    let doc = new_workshop(&cluster).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = rand::rng();
    let mut n = 0;
    let mut client = connect(&cluster, doc, &ledger).await;
    let mut node = node_of_socket(&cluster, doc, 0).await;
    for round in 0..10 {
        // Write, a window of unacknowledged changes in flight, until a
        // random number have been acknowledged in this round…
        let target = lock(&ledger).acknowledged.len() + rng.random_range(3..40);
        let mut mine = Vec::new();
        while lock(&ledger).acknowledged.len() < target {
            let outstanding = {
                let l = lock(&ledger);
                mine.iter().filter(|h| !l.acknowledged.contains(*h)).count()
            };
            if outstanding < 16 {
                mine.push(write(&client, doc, &ledger, n));
                n += 1;
            }
            // Until an acknowledgement (or a bounded wait): either moves.
            let _ = tokio::time::timeout(Duration::from_millis(20), client.wait_acked(doc)).await;
            assert!(!client.is_closed(), "round {round}: closed before the kill");
        }
        // …then more, and the kill while they are on their way.
        for _ in 0..rng.random_range(0..12) {
            write(&client, doc, &ledger, n);
            n += 1;
        }
        cluster.kill(node).await;
        client
            .wait_closed()
            .await
            .expect("HAProxy closes the socket of the dead node");

        // The client reconnects through HAProxy (to another node, while
        // this one is dead) and carries on; then the dead node returns.
        let sockets = cluster.sync_nodes(doc).len();
        client = connect(&cluster, doc, &ledger).await;
        let moved_to = node_of_socket(&cluster, doc, sockets).await;
        assert_ne!(
            moved_to, node,
            "round {round}: reconnected to the dead node"
        );
        cluster.restart(node).await;
        node = moved_to;
    }
    // The last round's writes, acknowledged.
    for _ in 0..5 {
        write(&client, doc, &ledger, n);
        n += 1;
    }
    client.wait_acked(doc).await.expect("acknowledged");

    let acknowledged = lock(&ledger).acknowledged.clone();
    let written = lock(&ledger).deps.len();
    assert!(
        acknowledged.len() >= 30,
        "only {} of {written} acknowledged",
        acknowledged.len()
    );
    let stored = stored_changes(&cluster, doc);
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged changes lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    // And a new client, through HAProxy, gets every one of them.
    let reader = connect(&cluster, doc, &Arc::new(Mutex::new(Ledger::default()))).await;
    reader
        .wait_doc(doc, "every acknowledged change", |d| {
            acknowledged
                .iter()
                .all(|h| d.get_change_by_hash(h).is_some())
        })
        .await
        .expect("the reader has every acknowledged change");
}

/// The thread comments of `doc` as `client` has it.
fn comments(client: &Client, doc: DocumentId) -> Vec<String> {
    client.read(doc, |d| {
        model::threads::threads(d)
            .into_iter()
            .flat_map(|t| t.comments)
            .map(|c| c.body)
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_reconnects_through_haproxy_when_its_node_dies() {
    let mut cluster = Cluster::start(3).await;
    let doc = new_workshop(&cluster).await;
    let lb = cluster.lb_url();
    let browser = Browser::start().await.expect("chromium starts");
    browser
        .set_session_cookie(&lb, cluster.admin_token())
        .await
        .expect("cookie");
    browser
        .goto(&format!("{lb}/w/{doc}"))
        .await
        .expect("the page loads through HAProxy");
    browser
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("saved");
    // The socket carries the workshop (HAProxy logged `doc=<id>` for it).
    let node = node_of_socket(&cluster, doc, 0).await;
    let sockets = cluster.sync_nodes(doc).len();

    cluster.kill(node).await;
    // The client notices, reconnects through HAProxy to another node, and
    // says "Saved" again.
    let moved_to = node_of_socket(&cluster, doc, sockets).await;
    assert_ne!(moved_to, node, "reconnected to the dead node");
    browser
        .wait_for("#status[data-state=\"saved\"]")
        .await
        .expect("saved again after the node died");

    // A comment made after the kill reaches a second client (connected
    // through HAProxy like the browser).
    let text = "Efter noden dog";
    crate::browser_steps::select(&browser, "issue", 0, 16).await;
    browser
        .click("#selection-tools [data-action=\"comment\"]")
        .await
        .expect("comment");
    crate::browser_steps::fill(&browser, "[data-key=\"composer-text\"]", text).await;
    browser
        .click("#composer [data-action=\"submit\"]")
        .await
        .expect("send");
    browser
        .wait_for("#status[data-state=\"saved\"][data-waiting=\"0\"]")
        .await
        .expect("saved by the new node");
    let second = connect(&cluster, doc, &Arc::new(Mutex::new(Ledger::default()))).await;
    second
        .wait_doc(doc, "the comment", |d| {
            model::threads::threads(d)
                .iter()
                .any(|t| t.comments.iter().any(|c| c.body == text))
        })
        .await
        .unwrap_or_else(|e| panic!("{e:?}: {:?}", comments(&second, doc)));
    browser
        .screenshot("cluster-saved-after-kill")
        .await
        .expect("shot");
    cluster.restart(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_stopped_and_started_again_has_everything_back() {
    let mut cluster = Cluster::start(3).await;
    let doc = new_workshop(&cluster).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let client = connect(&cluster, doc, &ledger).await;
    for n in 0..50 {
        write(&client, doc, &ledger, n);
    }
    client.wait_acked(doc).await.expect("acknowledged");
    let written: HashSet<ChangeHash> = lock(&ledger).deps.keys().copied().collect();

    // Pages and the API go round robin: the session (in the database)
    // works on every node.
    for _ in 0..2 * cluster.len() {
        let (status, _, body) = http(
            "GET",
            &format!("{}/api/workshops", cluster.lb_url()),
            None,
            Some(cluster.admin_token()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&doc.to_string()), "{body}");
    }
    for i in 0..cluster.len() {
        let (status, _, body) = http(
            "GET",
            &format!("{}/api/workshops", cluster.node(i).base_url()),
            None,
            Some(cluster.admin_token()),
        )
        .await;
        assert_eq!(status, 200, "node {}: {body}", i + 1);
    }

    for i in 0..cluster.len() {
        cluster.stop(i).await;
    }
    for i in 0..cluster.len() {
        cluster.wait_status(i, "DOWN").await;
    }
    // Nothing serves: HAProxy says so.
    let (status, _, _) = http("GET", &format!("{}/healthz", cluster.lb_url()), None, None).await;
    assert_eq!(status, 503);
    drop(client);

    for i in 0..cluster.len() {
        cluster.restart(i).await;
    }
    let reader = connect(&cluster, doc, &Arc::new(Mutex::new(Ledger::default()))).await;
    reader
        .wait_doc(doc, "every change", |d| {
            written.iter().all(|h| d.get_change_by_hash(h).is_some())
        })
        .await
        .expect("every change is back");
    let (status, _, body) = http(
        "GET",
        &format!("{}/api/workshops", cluster.lb_url()),
        None,
        Some(cluster.admin_token()),
    )
    .await;
    assert_eq!(status, 200, "the session is back too: {body}");
    assert!(body.contains(&doc.to_string()), "{body}");
}

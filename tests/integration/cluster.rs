//! Several real `synpunkt` nodes on one real PostgreSQL ([`Postgres`]), on
//! loopback, no load balancer: a change stored by one node reaches the
//! clients of the document on the others at once (our Rust client and the
//! real JS automerge-repo client), writers on different nodes converge, a
//! node that missed notifications catches up from the table, presence
//! crosses nodes, revocations close sockets on every node within a second,
//! roles hold on every node, and everything is back after every node
//! restarts.

use std::time::{Duration, Instant};

use automerge::{ChangeHash, ObjId, ROOT, ReadDoc, transaction::Transactable};
use docsync::DocumentId;
use serde_json::{Value, json};
use testkit::{Client, ClientError, NodePeer, Postgres, ServerProcess, accept_invite, http};

/// How soon a revocation on one node must close sockets on the others.
const REVOCATION_DEADLINE: Duration = Duration::from_secs(1);

/// Nodes sharing one database, each with a data directory of its own (it
/// holds only the control socket).
struct Cluster {
    pg: Postgres,
    nodes: Vec<ServerProcess>,
    _dirs: Vec<tempfile::TempDir>,
    admin: String,
}

impl Cluster {
    /// `n` nodes; the first creates the database's content (and the admin).
    async fn start(n: usize, extra: &[&str]) -> Self {
        let pg = Postgres::start();
        let mut cluster = Self {
            pg,
            nodes: Vec::new(),
            _dirs: Vec::new(),
            admin: String::new(),
        };
        for _ in 0..n {
            cluster.add(extra).await;
        }
        cluster
    }

    /// Starts one more node.
    async fn add(&mut self, extra: &[&str]) -> &ServerProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = self.pg.url();
        let mut args = vec!["--store", url.as_str()];
        args.extend_from_slice(extra);
        let node = if self.admin.is_empty() {
            let node = ServerProcess::start_with(dir.path(), &args).await;
            self.admin = node.admin_token().to_owned();
            node
        } else {
            ServerProcess::start_as_with(dir.path(), &self.admin, &args).await
        };
        self._dirs.push(dir);
        self.nodes.push(node);
        self.nodes.last().expect("just added")
    }

    fn node(&self, i: usize) -> &ServerProcess {
        &self.nodes[i]
    }

    /// Stops every node (SIGTERM: a clean shutdown) and waits for them.
    async fn stop_nodes(&mut self) {
        for node in self.nodes.drain(..) {
            node.signal("TERM");
            assert!(node.wait().await.success(), "a node did not stop cleanly");
        }
    }
}

async fn api(
    node: &ServerProcess,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, _, reply) = http(
        method,
        &format!("{}{path}", node.base_url()),
        body.as_deref(),
        token,
    )
    .await;
    (status, serde_json::from_str(&reply).unwrap_or(Value::Null))
}

/// A workshop with one summary section, created through `node`'s API.
async fn create_workshop(node: &ServerProcess, token: &str, meeting: &str) -> DocumentId {
    let summary = json!({
        "workshop": { "title": "Över noder", "meetingType": meeting, "hosts": ["Värd"] },
        "sections": [{ "id": "issue", "heading": "The issue", "body": "Läkemedelsverket — ATMP" }],
    });
    let (status, reply) = api(
        node,
        "POST",
        "/api/workshops",
        Some(json!({ "summary": summary })),
        Some(token),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_str().expect("id").parse().expect("id")
}

/// A participant's session token, invited and accepted through `node`.
async fn participant(node: &ServerProcess, host: &str, doc: DocumentId, name: &str) -> String {
    let (status, reply) = api(
        node,
        "POST",
        &format!("/api/workshops/{doc}/invites"),
        Some(json!({ "role": "participant" })),
        Some(host),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    accept_invite(
        &node.base_url(),
        reply["token"].as_str().expect("token"),
        name,
    )
    .await
}

fn section_body(doc: &impl ReadDoc) -> ObjId {
    let sections = doc.get(ROOT, "sections").expect("get").expect("sections").1;
    let section = doc.get(&sections, 0).expect("get").expect("section").1;
    doc.get(&section, "body").expect("get").expect("body").1
}

fn put(client: &Client, doc: DocumentId, key: &str, n: i64) -> ChangeHash {
    client
        .change(doc, |tx| {
            tx.put(ROOT, key, n).expect("put");
        })
        .expect("a change")
}

fn sync_url(node: &ServerProcess, token: &str) -> String {
    format!(
        "ws://{}/sync?token={token}",
        node.base_url().trim_start_matches("http://")
    )
}

fn public_sync_url(node: &ServerProcess) -> String {
    format!(
        "ws://{}/sync",
        node.base_url().trim_start_matches("http://")
    )
}

/// Both clients end with the same heads (each holding the other's).
async fn converge(one: &Client, two: &Client, doc: DocumentId) {
    let (h1, h2) = (one.heads(doc), two.heads(doc));
    one.wait_heads(doc, &h2).await.expect("converges");
    two.wait_heads(doc, &h1).await.expect("converges");
    let (mut h1, mut h2) = (one.heads(doc), two.heads(doc));
    h1.sort();
    h2.sort();
    assert_eq!(h1, h2, "the same heads on both");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_cross_nodes_live_writers_converge_and_all_is_back_after_a_restart() {
    let mut cluster = Cluster::start(2, &[]).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let doc = create_workshop(a, &cluster.admin, "open").await;
    let on_a = Client::connect(&a.sync_url()).await;
    let on_b = Client::connect(&b.sync_url()).await;
    on_a.find(doc).await.expect("served by A");
    on_b.find(doc).await.expect("served by B");

    // A change on A reaches B's reader on its open connection.
    let h = put(&on_a, doc, "from-a", 1);
    on_b.wait_heads(doc, &[h])
        .await
        .expect("B's reader gets A's change without reconnecting");

    // Writers on both nodes at once converge.
    for n in 0..20 {
        put(&on_a, doc, &format!("a-{}", n % 5), n);
        put(&on_b, doc, &format!("b-{}", n % 5), n);
    }
    converge(&on_a, &on_b, doc).await;
    on_a.wait_acked(doc).await.expect("A has all");
    on_b.wait_acked(doc).await.expect("B has all");
    let heads = on_a.heads(doc);
    // Fresh readers on both nodes see the same document.
    for node in [a, b] {
        let fresh = Client::connect(&node.sync_url()).await;
        fresh.find(doc).await.expect("served");
        fresh.wait_heads(doc, &heads).await.expect("everything");
    }
    drop((on_a, on_b));

    // Stop every node, start them again: everything is in PostgreSQL.
    cluster.stop_nodes().await;
    cluster.add(&[]).await;
    cluster.add(&[]).await;
    for node in &cluster.nodes {
        let reader = Client::connect(&node.sync_url()).await;
        reader.find(doc).await.expect("served after the restart");
        reader
            .wait_heads(doc, &heads)
            .await
            .expect("everything is back");
        let (status, body) = testkit::http_get(&format!("{}/api/workshops", node.base_url())).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&doc.to_string()), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_automerge_repo_clients_on_different_nodes_see_each_other_live_and_converge() {
    let cluster = Cluster::start(2, &[]).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let mut js_a = NodePeer::spawn(&a.sync_url());
    let mut js_b = NodePeer::spawn(&b.sync_url());
    let created = js_a
        .call(json!({"cmd": "create", "text": "Sammanfattning"}))
        .await;
    let doc: DocumentId = created["docId"]
        .as_str()
        .expect("docId")
        .parse()
        .expect("id");
    let found = js_b
        .call(json!({"cmd": "find", "docId": doc.to_string()}))
        .await;
    assert_eq!(found["text"], json!("Sammanfattning"));
    let rust_b = Client::connect(&b.sync_url()).await;
    rust_b.find(doc).await.expect("found on B");

    // A JS edit on A reaches the JS client and ours on B, live.
    let edit = js_a
        .call(json!({"cmd": "splice", "docId": doc.to_string(), "pos": 0, "del": 0, "ins": "Från A: "}))
        .await;
    let wait = |heads: &Value| json!({"cmd": "wait_heads", "docId": doc.to_string(), "heads": heads, "timeoutMs": 15000});
    let seen = js_b.call(wait(&edit["heads"])).await;
    assert_eq!(seen["text"], json!("Från A: Sammanfattning"));
    rust_b
        .wait_text(doc, "Från A: Sammanfattning")
        .await
        .expect("our client on B sees it");

    // Concurrent edits on both nodes converge everywhere.
    let (one, two) = tokio::join!(
        js_a.call(
            json!({"cmd": "splice", "docId": doc.to_string(), "pos": 0, "del": 0, "ins": "A2 "})
        ),
        js_b.call(
            json!({"cmd": "splice", "docId": doc.to_string(), "pos": 8, "del": 0, "ins": "B2 "})
        ),
    );
    let mut heads: Vec<Value> = one["heads"].as_array().expect("heads").clone();
    heads.extend(two["heads"].as_array().expect("heads").iter().cloned());
    let heads = Value::Array(heads);
    let (ra, rb) = tokio::join!(js_a.call(wait(&heads)), js_b.call(wait(&heads)));
    assert_eq!(ra["text"], rb["text"]);
    let text = ra["text"].as_str().expect("text").to_owned();
    assert!(text.contains("A2 ") && text.contains("B2 "), "{text}");
    rust_b
        .wait_text(doc, &text)
        .await
        .expect("ours converges too");
    js_a.quit().await;
    js_b.quit().await;
}

/// The listening connection of the node with process id `pid`.
async fn listen_backends(pg: &Postgres, pid: u32) -> Vec<i32> {
    let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&format!("synpunkt-listen-{pid}")],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn terminate(pg: &Postgres, backend: i32) {
    let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
        .execute("SELECT pg_terminate_backend($1)", &[&backend])
        .await
        .expect("terminate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_missed_notifications_catches_up_from_the_table() {
    let mut cluster = Cluster::start(1, &[]).await;
    // B hears no notifications at all: only the table tells it.
    cluster.add(&["--no-cluster-listen"]).await;
    // C listens, but its listening connection is killed below.
    cluster.add(&[]).await;
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let doc = create_workshop(a, &cluster.admin, "open").await;
    let writer = Client::connect(&a.sync_url()).await;
    writer.find(doc).await.expect("served by A");
    let on_b = Client::connect(&b.sync_url()).await;
    on_b.find(doc).await.expect("served by B");

    let h = put(&writer, doc, "missed", 1);
    writer.wait_acked(doc).await.expect("committed");
    // A peer joining on B catches B's copy up; B's reader hears it too.
    let joining = Client::connect(&b.sync_url()).await;
    joining.find(doc).await.expect("served by B");
    joining
        .wait_heads(doc, &[h])
        .await
        .expect("a joining peer gets what B was never told of");
    on_b.wait_heads(doc, &[h])
        .await
        .expect("and B's other readers with it");

    // C's listening connection dies; what is written meanwhile is read
    // once it listens again.
    let on_c = Client::connect(&c.sync_url()).await;
    on_c.find(doc).await.expect("served by C");
    let before = listen_backends(&cluster.pg, c.pid()).await;
    assert_eq!(before.len(), 1, "C listens on a connection of its own");
    terminate(&cluster.pg, before[0]).await;
    let h = put(&writer, doc, "while-c-was-deaf", 2);
    writer.wait_acked(doc).await.expect("committed");
    on_c.wait_heads(doc, &[h])
        .await
        .expect("C's reader gets the change after C listens again");
    let after = listen_backends(&cluster.pg, c.pid()).await;
    assert_eq!(after.len(), 1, "C listens again");
    assert_ne!(after, before, "on a new connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_nodes() {
    let cluster = Cluster::start(2, &[]).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let doc = create_workshop(a, &cluster.admin, "open").await;
    let on_a = Client::connect(&a.sync_url()).await;
    let on_b = Client::connect(&b.sync_url()).await;
    on_a.find(doc).await.expect("served by A");
    on_b.find(doc).await.expect("served by B");
    on_b.broadcast(doc, b"\xa1fcursor\x03".to_vec());
    let got = on_a.next_ephemeral().await.expect("relayed to A's peer");
    assert_eq!(got.sender_id, *on_b.peer_id(), "the author is kept");
    assert_eq!(got.document_id, doc);
    assert_eq!(got.data, b"\xa1fcursor\x03".to_vec());
    // Public readers' presence is relayed nowhere, on no node.
    let public = Client::connect(&public_sync_url(b)).await;
    public.find(doc).await.expect("a public reader on B");
    public.broadcast(doc, b"\xa1fcursor\x04".to_vec());
    on_b.broadcast(doc, b"\xa1fcursor\x05".to_vec());
    let next = on_a.next_ephemeral().await.expect("the next one");
    assert_eq!(next.data, b"\xa1fcursor\x05".to_vec(), "not the public one");
}

async fn closed_within(client: &Client, started: Instant, what: &str) {
    client.wait_closed().await.expect("closed");
    let took = started.elapsed();
    assert!(
        took <= REVOCATION_DEADLINE,
        "{what}: the socket on the other node closed after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_on_one_node_close_sockets_on_the_others_and_roles_hold_everywhere() {
    let cluster = Cluster::start(2, &[]).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let admin = cluster.admin.clone();
    let doc = create_workshop(a, &admin, "open").await;

    // Roles hold on B: a participant cannot write the summary there.
    let alice = participant(a, &admin, doc, "Alice").await;
    let on_b = Client::connect(&sync_url(b, &alice)).await;
    on_b.find(doc).await.expect("a participant reads on B");
    on_b.change(doc, |tx| {
        let body = section_body(tx);
        tx.splice_text(&body, 0, 0, "Omskrivet! ").expect("splice");
    });
    let error = on_b.wait_error().await.expect("refused on B");
    assert!(error.contains("cannot change the summary"), "{error}");
    on_b.wait_closed().await.expect("closed");

    // Signing out on A closes Alice's socket on B within a second.
    let on_b = Client::connect(&sync_url(b, &alice)).await;
    on_b.find(doc).await.expect("reads on B again");
    let started = Instant::now();
    let (status, _) = api(a, "DELETE", "/api/session", None, Some(&alice)).await;
    assert_eq!(status, 204);
    closed_within(&on_b, started, "signing out").await;
    let (status, _) = api(b, "GET", "/api/session", None, Some(&alice)).await;
    assert_eq!(status, 401, "the ended session is refused on B");

    // Making the workshop invite-only on A closes public readers on B.
    let public = Client::connect(&public_sync_url(b)).await;
    public.find(doc).await.expect("a public reader on B");
    let started = Instant::now();
    let (status, _) = api(
        a,
        "PATCH",
        &format!("/api/workshops/{doc}"),
        Some(json!({ "meetingType": "invite-only" })),
        Some(&admin),
    )
    .await;
    assert_eq!(status, 200);
    closed_within(&public, started, "invite-only").await;
    let again = Client::connect(&public_sync_url(b)).await;
    assert!(matches!(
        again.find(doc).await,
        Err(ClientError::Unavailable(_))
    ));
}

/// Nodes starting at the same moment on an empty database set it up once:
/// one admin invite, one set of demo workshops. (Without the setup lock
/// both may find the database empty; the race is likely, not certain.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_at_once_on_an_empty_database_set_it_up_once() {
    let pg = Postgres::start();
    let url = pg.url();
    let (one, two) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let args = ["--store", url.as_str()];
    let (a, b) = tokio::join!(
        ServerProcess::start_with(one.path(), &args),
        ServerProcess::start_with(two.path(), &args),
    );
    let invited = [&a, &b]
        .iter()
        .filter(|n| !n.admin_token().is_empty())
        .count();
    assert_eq!(invited, 1, "exactly one node made the admin invite");
    let admin = format!("{}{}", a.admin_token(), b.admin_token());
    for node in [&a, &b] {
        let (status, list) = api(node, "GET", "/api/workshops", None, Some(&admin)).await;
        assert_eq!(status, 200, "{list}");
        let titles: Vec<&str> = list
            .as_array()
            .expect("a list")
            .iter()
            .map(|w| w["title"].as_str().expect("a title"))
            .collect();
        assert!(!titles.is_empty(), "the demo workshops exist");
        let unique: std::collections::HashSet<_> = titles.iter().collect();
        assert_eq!(unique.len(), titles.len(), "created twice: {titles:?}");
    }
}

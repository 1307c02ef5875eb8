//! Crash safety: the `synpunkt` binary is killed with SIGKILL again and
//! again while several clients write to a few documents, and restarted on
//! the same sled directory each time. No change the server acknowledged may
//! be lost.
//!
//! A change counts as acknowledged once a sync message from the server
//! advertises heads that include it or descend from it (the invariant
//! "persist before acknowledging"). The [`Ledger`] records every change the
//! clients write with its dependencies, and marks as acknowledged everything
//! reachable from the heads of every sync message a client receives.
//!
//! The writers of each run start from the server's copy of every document
//! (new clients, fresh documents): a lost change can never be sent again by
//! the client that wrote it, so the checks below see exactly what the server
//! kept. After every restart, and at the end with one more fresh client,
//! every acknowledged change must be there, by hash.
//!
//! The moment of each kill is a delay drawn from a seeded RNG: it lands
//! mid-write, mid-flush, mid-compaction (compaction runs every few chunks
//! here) or right after the documents were loaded. The delay is the fault
//! injection; nothing waits on time for correctness. The seed is printed;
//! `SYNPUNKT_CRASH_SEED=<seed>` replays a run's choices (the timing of the
//! processes still varies).

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use automerge::{ChangeHash, ROOT, ReadDoc};
use docsync::DocumentId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testkit::{Client, ServerProcess};
use tokio::sync::watch;

/// How many times the server is killed.
const KILLS: usize = 24;
/// Documents written to.
const DOCS: usize = 3;
/// Clients writing in each run.
const WRITERS: usize = 3;
/// Changes a writer may have sent but not yet seen acknowledged.
const WINDOW: usize = 16;
/// The longest delay before a kill.
const MAX_KILL_DELAY_MS: u64 = 350;
/// Compaction every few chunks, so that kills also land mid-compaction.
const SERVE_ARGS: &[&str] = &["--compact-after-chunks", "12"];

/// Every change the test's clients wrote, and which of them the server
/// acknowledged.
#[derive(Default)]
struct Ledger {
    /// hash → (document, dependencies)
    written: HashMap<ChangeHash, (DocumentId, Vec<ChangeHash>)>,
    acknowledged: HashSet<ChangeHash>,
    /// Heads the server advertised that no client wrote (must stay empty).
    unknown: HashSet<ChangeHash>,
}

impl Ledger {
    fn record(&mut self, doc: DocumentId, hash: ChangeHash, deps: Vec<ChangeHash>) {
        self.written.insert(hash, (doc, deps));
    }

    /// Marks `heads` and all their ancestors as acknowledged.
    fn acknowledge(&mut self, heads: &[ChangeHash]) {
        let mut stack = heads.to_vec();
        while let Some(hash) = stack.pop() {
            if self.acknowledged.contains(&hash) {
                // Its ancestors were marked with it.
                continue;
            }
            match self.written.get(&hash) {
                Some((_, deps)) => {
                    self.acknowledged.insert(hash);
                    stack.extend(deps.iter().copied());
                }
                None => {
                    self.unknown.insert(hash);
                }
            }
        }
    }

    /// The acknowledged changes of `doc` that `present` lacks.
    fn lost(&self, doc: DocumentId, present: &HashSet<ChangeHash>) -> Vec<ChangeHash> {
        self.acknowledged
            .iter()
            .filter(|h| self.written.get(h).is_some_and(|(d, _)| *d == doc))
            .filter(|h| !present.contains(h))
            .copied()
            .collect()
    }
}

/// The ledger shared by every client, with a counter that moves on every
/// acknowledgement (writers wait on it when their window is full).
#[derive(Clone)]
struct Shared {
    ledger: Arc<Mutex<Ledger>>,
    acks: Arc<watch::Sender<u64>>,
}

impl Shared {
    fn new() -> Self {
        Self {
            ledger: Arc::default(),
            acks: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Has `client` report every heads the server advertises to it.
    fn watch(&self, client: &Client) {
        let shared = self.clone();
        client.on_server_heads(Box::new(move |_, heads| {
            shared.lock().acknowledge(heads);
            shared.acks.send_modify(|n| *n += 1);
        }));
    }
}

/// A restart is clean: sled reopened and the documents loaded without an
/// error or a warning of the server's in its log (a skipped chunk, a failed
/// flush, a document actor that stopped). sled's own warnings while it
/// recovers from a kill are its business.
fn assert_quiet(run: usize, log: &[String]) {
    let complaints: Vec<_> = log
        .iter()
        .filter(|l| l.contains("ERROR") || (l.contains("WARN") && !l.contains(" sled::")))
        .collect();
    assert!(
        complaints.is_empty(),
        "run {run}: the server complained: {complaints:#?}"
    );
}

/// The hashes of every change the client holds of `doc`.
fn changes_of(client: &Client, doc: DocumentId) -> HashSet<ChangeHash> {
    client.read(doc, |d| {
        d.get_changes(&[]).iter().map(|c| c.hash()).collect()
    })
}

/// One client writing to the documents until its connection ends (the
/// kill): short inserts at random places, at most [`WINDOW`] of them not yet
/// acknowledged.
async fn write_until_closed(
    client: Client,
    docs: Vec<DocumentId>,
    shared: Shared,
    name: String,
    seed: u64,
) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mine: Vec<ChangeHash> = Vec::new();
    let mut acks = shared.acks.subscribe();
    loop {
        acks.borrow_and_update();
        let outstanding = {
            let ledger = shared.lock();
            mine.iter()
                .rev()
                .take_while(|h| !ledger.acknowledged.contains(h))
                .count()
        };
        if outstanding >= WINDOW {
            tokio::select! {
                changed = acks.changed() => if changed.is_err() { break },
                _ = client.wait_closed() => break,
            }
            continue;
        }
        if client.is_closed() {
            break;
        }
        let doc = docs[rng.random_range(0..docs.len())];
        // A local change depends on the heads just before it. No await
        // between reading them, writing and recording: nothing the server
        // says can slip in between.
        let deps = client.heads(doc);
        let len = client.read(doc, |d| {
            let (_, text) = d.get(ROOT, "text").ok().flatten().expect("text");
            d.length(&text)
        });
        let pos = rng.random_range(0..=len);
        let hash = client.splice(doc, pos, 0, &format!("{name}:{} ", mine.len()));
        shared.lock().record(doc, hash, deps);
        mine.push(hash);
        // Let the connection's tasks run between writes.
        tokio::task::yield_now().await;
    }
    mine.len()
}

#[tokio::test]
async fn no_acknowledged_change_is_lost_across_repeated_kill_9() {
    let seed: u64 = std::env::var("SYNPUNKT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_592_642_302);
    let mut rng = StdRng::seed_from_u64(seed);
    // Build the binary first, so that the time printed is the test's own.
    testkit::synpunkt_bin();
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = Shared::new();

    // The documents, created and acknowledged before the first kill.
    let server = ServerProcess::start_with(dir.path(), SERVE_ARGS).await;
    let admin = server.admin_token().to_owned();
    let setup = Client::connect(&server.sync_url()).await;
    let mut docs = Vec::new();
    for i in 0..DOCS {
        let doc = setup
            .create(&format!("Dokument {i} — Läkemedelsverket 😀\n"))
            .await;
        let mut ledger = shared.lock();
        for hash in setup.heads(doc) {
            ledger.record(doc, hash, Vec::new());
        }
        ledger.acknowledge(&setup.heads(doc));
        docs.push(doc);
    }
    let mut server = Some(server);

    let mut kills = 0;
    let mut delays = Vec::new();
    let mut early_kills = 0;
    for run in 0..KILLS {
        let mut running = match server.take() {
            Some(s) => s,
            None => ServerProcess::start_as_with(dir.path(), &admin, SERVE_ARGS).await,
        };
        // Now and then, a kill right after start (sled just recovered, no
        // client yet): the next start must recover from that too.
        if run > 0 && rng.random_ratio(1, 6) {
            running.signal("KILL");
            let (status, log) = running.wait_with_log().await;
            assert_eq!(status.signal(), Some(9), "run {run}: killed by SIGKILL");
            assert_quiet(run, &log);
            early_kills += 1;
            running = ServerProcess::start_as_with(dir.path(), &admin, SERVE_ARGS).await;
        }
        let url = running.sync_url();

        // Fresh writers start from the server's copy of every document; it
        // must load and hold everything acknowledged before the last kill.
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let client = Client::connect(&url).await;
            shared.watch(&client);
            for &doc in &docs {
                if let Err(e) = client.find(doc).await {
                    panic!("run {run}: document {doc} does not load after a restart: {e}");
                }
            }
            writers.push((client, format!("r{run}w{w}")));
        }
        for &doc in &docs {
            let present = changes_of(&writers[0].0, doc);
            let lost = shared.lock().lost(doc, &present);
            assert!(
                lost.is_empty(),
                "after kill {run} (seed {seed}), {} acknowledged changes of {doc} are gone: {lost:?}",
                lost.len()
            );
        }

        let tasks: Vec<_> = writers
            .into_iter()
            .map(|(client, name)| {
                let seed: u64 = rng.random();
                tokio::spawn(write_until_closed(
                    client,
                    docs.clone(),
                    shared.clone(),
                    name,
                    seed,
                ))
            })
            .collect();

        // The fault: SIGKILL after a random delay, while the writers write.
        let delay = rng.random_range(0..=MAX_KILL_DELAY_MS);
        delays.push(delay);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        running.signal("KILL");
        let (status, log) = running.wait_with_log().await;
        assert_eq!(status.signal(), Some(9), "run {run}: killed by SIGKILL");
        kills += 1;
        for task in tasks {
            task.await.expect("writer task");
        }
        assert_quiet(run, &log);
    }

    // A last restart, and a fresh client reads every document.
    let last = ServerProcess::start_as_with(dir.path(), &admin, SERVE_ARGS).await;
    let reader = Client::connect(&last.sync_url()).await;
    let mut present = HashSet::new();
    let mut lost = Vec::new();
    for &doc in &docs {
        reader.find(doc).await.expect("every document loads");
        let changes = changes_of(&reader, doc);
        lost.extend(shared.lock().lost(doc, &changes));
        present.extend(changes);
    }
    last.signal("TERM");
    let (status, log) = last.wait_with_log().await;
    assert!(status.success(), "a clean exit at the end: {log:#?}");

    let ledger = shared.lock();
    let written = ledger.written.len();
    let acknowledged = ledger.acknowledged.len();
    let recovered = ledger
        .written
        .keys()
        .filter(|h| present.contains(h))
        .count();
    let mean_delay = delays.iter().sum::<u64>() / delays.len().max(1) as u64;
    let min_delay = delays.iter().min().copied().unwrap_or(0);
    let max_delay = delays.iter().max().copied().unwrap_or(0);
    println!(
        "crash test (seed {seed}): {kills} kills while writing (delay {}..{} ms, mean {mean_delay}) \
         and {early_kills} right after a start, \
         {written} changes written, {acknowledged} acknowledged, {recovered} recovered, \
         {} lost; {:.1} s",
        min_delay,
        max_delay,
        lost.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= 20);
    assert!(
        ledger.unknown.is_empty(),
        "the server advertised heads no client wrote: {:?}",
        ledger.unknown
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged changes lost (seed {seed}): {lost:?}",
        lost.len()
    );
    // The test tested something: writes were acknowledged between kills,
    // and some were still in flight when the server died.
    assert!(acknowledged > kills, "only {acknowledged} acknowledged");
    assert!(written > acknowledged, "no write was in flight at any kill");
}

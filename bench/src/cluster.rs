//! Cluster: our server as several nodes on one PostgreSQL (ours only; the
//! anchors have no such mode). A throwaway PostgreSQL
//! (`testkit::Postgres`) per run.
//!
//! - Latency: one writer on node 1 and R readers spread over three nodes
//!   (connected to the nodes directly, not through HAProxy: this measures
//!   our cross-node path), against the same load on one node. Readers on
//!   the writer's node and readers on the other nodes are reported apart.
//!   Cross-node delivery needs changes to cross nodes live; when they do
//!   not arrive within a few seconds the row says how many did, instead
//!   of waiting.
//! - Throughput: W writers, each on a document of its own, each with a
//!   few changes in flight, for some seconds on one node: acknowledged
//!   changes per second with `--store postgres://…` and with sled (group
//!   commit on both: an acknowledgement is a commit).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::ChangeHash;
use docsync::DocumentId;
use futures_util::future::join_all;

use crate::fanout::percentile;
use crate::light::{Arrivals, LightPeer};
use crate::report::{Goal, Metric};
use crate::target::{Kind, Programs, Target};

const NODES: usize = 3;
/// Edits per second of the one writer.
const WRITE_RATE: f64 = 20.0;
/// How long cross-node readers get to receive everything (same-node ones
/// get a minute, as in fan-out).
const CROSS_NODE_WAIT: Duration = Duration::from_secs(5);
/// Changes each throughput writer keeps in flight.
const WINDOW: usize = 8;

/// The scenario's sizes.
pub struct Sizes {
    pub readers: usize,
    pub seconds: f64,
    pub writers: usize,
}

pub async fn run(programs: &Programs, sizes: &Sizes) -> anyhow::Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    // Latency, one node then three.
    for nodes in [1, NODES] {
        let pg = testkit::Postgres::start();
        let store = vec!["--store".to_owned(), pg.url()];
        let mut targets = vec![Target::start(Kind::Ours, programs, &store).await?];
        let token = targets[0].token().context("the admin's token")?.to_owned();
        for _ in 1..nodes {
            targets.push(Target::start_as(programs, &store, &token).await?);
        }
        let urls: Vec<String> = targets.iter().map(Target::url).collect();
        let result = latency(&urls, sizes.readers, sizes.seconds).await;
        for t in &mut targets {
            t.stop().await?;
        }
        let (same, cross) = result?;
        let name = format!(
            "cluster {nodes} node(s), 1 writer, {} readers",
            sizes.readers
        );
        let label = if nodes == 1 { "all" } else { "same node" };
        metrics.extend(group(&format!("{name}, {label}"), &same, None));
        if nodes > 1 {
            metrics.extend(group(
                &format!("{name}, cross-node"),
                &cross,
                Some(Goal::AtMost(50.0)),
            ));
        }
    }
    // Throughput, PostgreSQL then sled.
    for on_pg in [true, false] {
        let pg = on_pg.then(testkit::Postgres::start);
        let mut extra = vec![
            // The per-connection message limit is not what is measured.
            "--max-messages-per-second".to_owned(),
            "1000000".to_owned(),
        ];
        if let Some(pg) = &pg {
            extra.extend(["--store".to_owned(), pg.url()]);
        }
        let mut target = Target::start(Kind::Ours, programs, &extra).await?;
        let result = throughput(&target.url(), sizes.writers, sizes.seconds).await;
        target.stop().await?;
        let per_second = result?;
        let store = if on_pg { "PostgreSQL" } else { "sled" };
        let mut m = Metric::num(
            format!(
                "cluster throughput, {} writers on {} docs, {store}",
                sizes.writers, sizes.writers
            ),
            per_second,
            "acked changes/s",
            0,
        );
        if on_pg {
            m = m.goal(Goal::AtLeast(5000.0));
        }
        metrics.push(m);
    }
    Ok(metrics)
}

/// p50/p99 and the delivered share of one group of readers.
fn group(name: &str, group: &Group, p99_goal: Option<Goal>) -> Vec<Metric> {
    let mut p99 = Metric::num(
        format!("{name}: p99"),
        percentile(&group.latencies_ms, 0.99),
        "ms",
        1,
    );
    if let Some(goal) = p99_goal {
        p99 = p99.goal(goal);
    }
    let delivered = group.latencies_ms.len() as f64 * 100.0 / group.expected.max(1) as f64;
    let mut out = vec![
        Metric::num(
            format!("{name}: p50"),
            percentile(&group.latencies_ms, 0.50),
            "ms",
            1,
        ),
        p99,
        Metric::num(format!("{name}: delivered"), delivered, "%", 1),
    ];
    if !group.complete {
        out.push(Metric::text(
            format!("{name}: incomplete"),
            format!(
                "{:.1}% arrived within {} s (changes do not cross nodes live yet?)",
                delivered,
                CROSS_NODE_WAIT.as_secs()
            ),
        ));
    }
    out
}

/// What one group of readers received.
struct Group {
    latencies_ms: Vec<f64>,
    expected: usize,
    complete: bool,
}

/// One writer on `urls[0]`, `readers` readers spread over `urls` in turn;
/// (readers on the writer's node, readers on the others).
async fn latency(urls: &[String], readers: usize, seconds: f64) -> anyhow::Result<(Group, Group)> {
    let doc = DocumentId::random();
    let writer = LightPeer::connect(&urls[0], doc, Arrivals::default()).await?;
    writer
        .create("Sammanfattning: workshop summary text. ")
        .await?;
    writer
        .wait_acked(writer.heads()[0], Duration::from_secs(30))
        .await
        .context("the document is stored before other nodes look for it")?;
    let (same_arrivals, cross_arrivals) = (Arrivals::default(), Arrivals::default());
    let mut peers: Vec<(bool, LightPeer)> = Vec::new();
    for batch in (0..readers).collect::<Vec<_>>().chunks(50) {
        let joined = join_all(batch.iter().map(|i| {
            let same = i % urls.len() == 0;
            let arrivals = if same {
                &same_arrivals
            } else {
                &cross_arrivals
            };
            let (url, arrivals) = (&urls[i % urls.len()], arrivals.clone());
            async move {
                let p = LightPeer::connect(url, doc, arrivals).await?;
                p.find().await.context("find")?;
                anyhow::Ok((same, p))
            }
        }))
        .await;
        for p in joined {
            peers.push(p?);
        }
    }
    for a in [&same_arrivals, &cross_arrivals] {
        lock(a).clear();
    }
    let edits = ((WRITE_RATE * seconds).round() as usize).max(1);
    let mut sent: HashMap<ChangeHash, Instant> = HashMap::new();
    let mut all = Vec::with_capacity(edits);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / WRITE_RATE));
    for _ in 0..edits {
        tick.tick().await;
        let (hash, t) = writer.edit("x");
        sent.insert(hash, t);
        all.push(hash);
    }
    let all = &all;
    let waits = join_all(peers.iter().map(|(same, p)| {
        let timeout = if *same {
            Duration::from_secs(60)
        } else {
            CROSS_NODE_WAIT
        };
        async move { (*same, p.wait_changes(all, timeout).await.is_ok()) }
    }))
    .await;
    let complete = |same: bool| waits.iter().filter(|w| w.0 == same).all(|w| w.1);
    let count = |same: bool| peers.iter().filter(|p| p.0 == same).count();
    let latencies = |arrivals: &Arrivals| {
        let mut ms: Vec<f64> = lock(arrivals)
            .iter()
            .filter_map(|(h, at)| {
                sent.get(h)
                    .map(|t| at.duration_since(*t).as_secs_f64() * 1000.0)
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let result = (
        Group {
            latencies_ms: latencies(&same_arrivals),
            expected: edits * count(true),
            complete: complete(true),
        },
        Group {
            latencies_ms: latencies(&cross_arrivals),
            expected: edits * count(false),
            complete: complete(false),
        },
    );
    writer.drop_connection();
    for (_, p) in &peers {
        p.drop_connection();
    }
    Ok(result)
}

/// `writers` writers, a document each, [`WINDOW`] changes in flight each,
/// for `seconds`: acknowledged changes per second.
async fn throughput(url: &str, writers: usize, seconds: f64) -> anyhow::Result<f64> {
    let mut peers = Vec::new();
    for batch in (0..writers).collect::<Vec<_>>().chunks(50) {
        let joined = join_all(batch.iter().map(|_| async {
            let p = LightPeer::connect(url, DocumentId::random(), Arrivals::default()).await?;
            p.create("Sammanfattning. ").await?;
            anyhow::Ok(p)
        }))
        .await;
        for p in joined {
            peers.push(p?);
        }
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let acked = join_all(peers.iter().map(|p| async move {
        let mut acked = 0;
        while Instant::now() < deadline {
            let mut last = None;
            for _ in 0..WINDOW {
                last = Some(p.edit("x").0);
            }
            let last = last.context("a window of changes")?;
            // The server's heads name the newest; it acknowledges the
            // window (each change depends on the one before).
            p.wait_acked(last, Duration::from_secs(30)).await?;
            acked += WINDOW;
        }
        anyhow::Ok(acked)
    }))
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = 0;
    for a in acked {
        total += a?;
    }
    for p in &peers {
        p.drop_connection();
    }
    Ok(total as f64 / elapsed)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! Many documents: thousands of small documents on one server.
//!
//! 1. Create: `concurrency` clients (one connection each, `DocsPeer`) create
//!    the documents through sync, one small text each.
//! 2. Restart the server on the same data (cold), connect `concurrency`
//!    clients, read the **baseline** RSS.
//! 3. First sync: the clients fetch every document from empty, each one at
//!    a time (so `concurrency` requests are in flight): the time per
//!    document from its `request` to the arrival of its changes (p50, p99)
//!    and the total.
//! 4. **Memory per resident document** = (RSS with every document
//!    resident − baseline) / documents. Target <= 100 KB.
//!    A connection the server drops is replaced and the document retried
//!    (its time counts from the first try); the drops are counted. A
//!    document whose request gets no answer within 60 s is counted as
//!    never answered and left out of the times.
//! 5. Every client leaves. Ours evicts idle documents (run with a short
//!    `--idle-evict-seconds`): the RSS 3 s after `/metrics` shows none
//!    resident (the server trims its heap after evictions).
//!    The JS server keeps every document it has loaded: its RSS after the
//!    same wait (the eviction delay plus 5 s) is shown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use docsync::DocumentId;
use futures_util::future::join_all;

use crate::docs_peer::DocsPeer;
use crate::fanout::percentile;
use crate::report::{Goal, Metric, Value};
use crate::target::{Kind, Target};

/// Bound on one document's first sync.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How often one document is retried on a new connection when the server
/// drops the connection (the JS server does under this load: its
/// keep-alive closes sockets when its event loop lags).
const RETRIES: usize = 3;

pub async fn run(
    target: &mut Target,
    docs: usize,
    concurrency: usize,
    evict_seconds: u64,
) -> anyhow::Result<Vec<Metric>> {
    anyhow::ensure!(concurrency > 0, "concurrency must be at least 1");
    let ids: Vec<DocumentId> = (0..docs).map(|_| DocumentId::random()).collect();
    let ids = Arc::new(ids);

    // 1. Create.
    let url = target.url();
    let drops = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let created = join_all((0..concurrency).map(|_| {
        let (ids, next, url, drops) = (ids.clone(), next.clone(), url.clone(), drops.clone());
        async move {
            let mut peer = DocsPeer::connect(&url).await?;
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&id) = ids.get(i) else {
                    return anyhow::Ok(mine);
                };
                let text = format!("Dokument {i}: a small workshop note.");
                let mut attempt = 0;
                let heads = loop {
                    match peer.create(id, &text).await {
                        Ok(heads) => break heads,
                        Err(e) if attempt < RETRIES => {
                            attempt += 1;
                            drops.fetch_add(1, Ordering::Relaxed);
                            eprintln!("   create {id}: {e:#}; reconnecting");
                            peer = DocsPeer::connect(&url).await?;
                        }
                        Err(e) => return Err(e.context("create")),
                    }
                };
                mine.push((id, heads));
            }
        }
    }))
    .await;
    let mut all: Vec<(DocumentId, Vec<ChangeHash>)> = Vec::with_capacity(docs);
    for c in created {
        all.extend(c?);
    }
    let create_s = started.elapsed().as_secs_f64();

    // 2. Cold server, baseline.
    target.restart().await?;
    let url = target.url();
    let peers = connect(&url, concurrency).await?;
    let baseline_kib = target.rss_kib();

    // 3. First sync of every document.
    let all = Arc::new(all);
    let next = Arc::new(AtomicUsize::new(0));
    let unanswered = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let fetched = join_all(peers.into_iter().map(|p| {
        let (all, next, url, drops) = (all.clone(), next.clone(), url.clone(), drops.clone());
        let unanswered = unanswered.clone();
        async move {
            let mut peer = p;
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, heads)) = all.get(i) else {
                    return anyhow::Ok((times, peer));
                };
                let t = Instant::now();
                let mut attempt = 0;
                loop {
                    match peer.fetch(*id, heads, FETCH_TIMEOUT).await {
                        Ok(()) => {
                            times.push(t.elapsed().as_secs_f64() * 1000.0);
                            break;
                        }
                        Err(e) if peer.is_closed() && attempt < RETRIES => {
                            attempt += 1;
                            drops.fetch_add(1, Ordering::Relaxed);
                            eprintln!("   first sync {id}: {e:#}; reconnecting");
                            peer = DocsPeer::connect(&url).await?;
                        }
                        Err(e) if !peer.is_closed() => {
                            // Never answered: counted, and the run goes on.
                            eprintln!("   first sync {id}: {e:#}");
                            unanswered.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => return Err(e.context("first sync")),
                    }
                }
            }
        }
    }))
    .await;
    let total_s = started.elapsed().as_secs_f64();
    let mut times_ms = Vec::with_capacity(docs);
    let mut peers = Vec::with_capacity(concurrency);
    for f in fetched {
        let (times, peer) = f?;
        times_ms.extend(times);
        peers.push(peer);
    }
    times_ms.sort_by(f64::total_cmp);

    // 4. Memory with everything resident.
    let resident_kib = target.rss_kib();
    let per_doc_kb = (resident_kib - baseline_kib) * 1.024 / docs.max(1) as f64;

    // 5. Everyone leaves.
    drop(peers);
    let left = Instant::now();
    let bound = Duration::from_secs(evict_seconds + 60);
    let after = match target.kind {
        Kind::Ours => {
            loop {
                if target.resident_documents().await == Some(0) {
                    break;
                }
                anyhow::ensure!(
                    left.elapsed() < bound,
                    "documents still resident {bound:?} after every client left"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let evicted = left.elapsed();
            // The server hands freed memory back to the OS within a second
            // or two of evicting (server/src/memory.rs): read it after that.
            tokio::time::sleep(Duration::from_secs(3)).await;
            Value::Text(format!(
                "{:.1} MiB (none resident after {:.1} s; read 3 s later)",
                target.rss_kib() / 1024.0,
                evicted.as_secs_f64()
            ))
        }
        Kind::Samod | Kind::Js => {
            // Nothing to wait for: neither unloads a document on a timer.
            tokio::time::sleep(Duration::from_secs(evict_seconds + 5)).await;
            Value::Text(format!(
                "{:.1} MiB (all kept; after {:.0} s)",
                target.rss_kib() / 1024.0,
                left.elapsed().as_secs_f64()
            ))
        }
    };

    let name = format!("{docs} docs");
    Ok(vec![
        Metric::num(
            format!("{name}: create through sync, total"),
            create_s,
            "s",
            1,
        ),
        Metric::num(
            format!("{name}: cold first sync p50 (concurrency {concurrency})"),
            percentile(&times_ms, 0.5),
            "ms",
            1,
        ),
        Metric::num(
            format!("{name}: cold first sync p99"),
            percentile(&times_ms, 0.99),
            "ms",
            1,
        ),
        Metric::num(format!("{name}: cold first sync, total"), total_s, "s", 2),
        Metric::num(
            format!("{name}: RSS baseline (cold)"),
            baseline_kib / 1024.0,
            "MiB",
            1,
        ),
        Metric::num(
            format!("{name}: RSS all resident"),
            resident_kib / 1024.0,
            "MiB",
            1,
        ),
        Metric::num(
            format!("{name}: memory per resident doc"),
            per_doc_kb,
            "KB",
            1,
        )
        .goal(Goal::AtMost(100.0)),
        Metric::num(
            format!(
                "{name}: first syncs never answered ({}s)",
                FETCH_TIMEOUT.as_secs()
            ),
            unanswered.load(Ordering::Relaxed) as f64,
            "",
            0,
        ),
        Metric::num(
            format!("{name}: connections the server dropped (retried)"),
            drops.load(Ordering::Relaxed) as f64,
            "",
            0,
        ),
        Metric {
            label: format!("{name}: RSS after all clients left"),
            value: after,
            unit: "",
            decimals: 0,
            goal: Goal::None,
        },
    ])
}

async fn connect(url: &str, n: usize) -> anyhow::Result<Vec<DocsPeer>> {
    join_all((0..n).map(|_| DocsPeer::connect(url)))
        .await
        .into_iter()
        .collect()
}

//! Reconnect storm: many clients on a few documents lose their connections
//! at once and come back within one second.
//!
//! Every client holds its document. All connections drop (sockets closed
//! without a close handshake, as when a network goes away); while they are
//! gone, one edit lands on each document (so coming back means receiving
//! something). Then client i reconnects at i/N of a second (same peer id,
//! what it had kept), says what it has, and is **synced** once it has the
//! server's heads, i.e. that edit. Reported: the time from the first
//! reconnect until 99 % (target <= 5 s) and all clients are synced (the
//! spread alone makes these about 1 s), and the p99 of each client's own
//! time from starting to reconnect until synced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use docsync::DocumentId;
use futures_util::future::join_all;

use crate::fanout::percentile;
use crate::light::{Arrivals, LightPeer};
use crate::report::{Goal, Metric};
use crate::target::Target;

/// How many clients connect at the same time while setting up.
const CONNECT_BATCH: usize = 50;
/// Bound for one client to reconnect and sync.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn run(target: &Target, clients: usize, docs: usize) -> anyhow::Result<Vec<Metric>> {
    anyhow::ensure!(clients > 0 && docs > 0, "clients and docs must be positive");
    let url = target.url();
    let arrivals: Arrivals = Arc::default();
    let ids: Vec<DocumentId> = (0..docs).map(|_| DocumentId::random()).collect();
    for &id in &ids {
        let creator = LightPeer::connect(&url, id, arrivals.clone()).await?;
        creator.create("Sammanfattning: a workshop. ").await?;
        creator.drop_connection();
    }
    let mut peers = Vec::with_capacity(clients);
    while peers.len() < clients {
        let first = peers.len();
        let batch = CONNECT_BATCH.min(clients - first);
        let joined = join_all((first..first + batch).map(|i| {
            let (url, arrivals, id) = (&url, arrivals.clone(), ids[i % docs]);
            async move {
                let p = LightPeer::connect(url, id, arrivals).await?;
                p.find().await.context("find")?;
                anyhow::Ok(p)
            }
        }))
        .await;
        for p in joined {
            peers.push(p?);
        }
    }

    // Everyone drops.
    for p in &peers {
        p.drop_connection();
    }
    // One edit per document while they are gone.
    let mut new_heads = Vec::with_capacity(docs);
    for &id in &ids {
        let writer = LightPeer::connect(&url, id, arrivals.clone()).await?;
        writer.find().await?;
        let (hash, _) = writer.edit("!");
        writer.wait_acked(hash, SYNC_TIMEOUT).await?;
        new_heads.push(writer.heads());
        writer.drop_connection();
    }

    // The storm.
    let step = Duration::from_secs(1).div_f64(clients as f64);
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let t0 = Instant::now() + Duration::from_millis(50);
    let cpu_before = target.cpu_seconds();
    let tasks: Vec<_> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (p, url, arrivals) = (p.clone(), url.clone(), arrivals.clone());
            let heads = new_heads[i % docs].clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(start + step * i as u32).await;
                let began = Instant::now();
                let p = p.reconnect(&url, arrivals).await?;
                p.resync();
                p.wait_changes(&heads, SYNC_TIMEOUT).await?;
                let at = t0.elapsed().as_secs_f64();
                let took_ms = began.elapsed().as_secs_f64() * 1000.0;
                p.drop_connection();
                anyhow::Ok((at, took_ms))
            })
        })
        .collect();
    let mut times = Vec::with_capacity(clients);
    let mut each_ms = Vec::with_capacity(clients);
    let mut failed = 0;
    for t in tasks {
        match t.await? {
            Ok((at, took_ms)) => {
                times.push(at);
                each_ms.push(took_ms);
            }
            Err(_) => failed += 1,
        }
    }
    let cpu_s = target.cpu_seconds() - cpu_before;
    times.sort_by(f64::total_cmp);
    each_ms.sort_by(f64::total_cmp);
    // The time by which k clients were synced (failures never were).
    let by = |fraction: f64| {
        let k = ((clients as f64 * fraction).ceil() as usize).max(1);
        times.get(k - 1).copied().unwrap_or(f64::INFINITY)
    };
    let name = format!("storm {clients} clients / {docs} docs");
    Ok(vec![
        Metric::num(format!("{name}: 99% synced"), by(0.99), "s", 2).goal(Goal::AtMost(5.0)),
        Metric::num(format!("{name}: all synced"), by(1.0), "s", 2),
        Metric::num(
            format!("{name}: one client, reconnect to synced, p99"),
            percentile(&each_ms, 0.99),
            "ms",
            1,
        ),
        Metric::num(format!("{name}: not synced"), failed as f64, "", 0),
        Metric::num(format!("{name}: server CPU"), cpu_s, "s", 2),
        Metric::num(format!("{name}: peak RSS"), target.peak_rss_mib(), "MiB", 0),
    ])
}

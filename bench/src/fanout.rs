//! Fan-out: N clients on one document, small text edits.
//!
//! Edits come as one steady stream of `clients × rate` edits per second,
//! made by the clients in turn (client k makes edit k mod N), each one
//! character at a random place. Sender and receivers live in this process
//! and share one clock, so the latency of an edit is (arrival at a
//! receiver) − (just before the sender made it): both WebSocket hops and
//! whatever the server does in between (ours: the durable write; js: its
//! 100 ms per-document throttle). The delivered ratio counts arrivals
//! against edits × (N − 1) once every edit reached every peer or 60 s
//! passed. Server CPU is over the editing and delivery (the load
//! generator's own CPU over the same time is shown: both share the
//! machine); peak RSS over the server's life (connect included).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::ChangeHash;
use docsync::DocumentId;
use futures_util::future::join_all;

use crate::light::{Arrivals, LightPeer};
use crate::report::{Goal, Metric};
use crate::target::Target;

/// How many clients connect at the same time while setting up.
const CONNECT_BATCH: usize = 50;

pub async fn run(
    target: &Target,
    clients: usize,
    rate: f64,
    seconds: f64,
) -> anyhow::Result<Vec<Metric>> {
    anyhow::ensure!(clients >= 2, "fan-out needs at least 2 clients");
    let url = target.url();
    let arrivals: Arrivals = Arc::default();
    let doc = DocumentId::random();
    let creator = LightPeer::connect(&url, doc, arrivals.clone()).await?;
    creator
        .create("Sammanfattning: workshop summary text. ")
        .await?;
    let mut peers = vec![creator];
    while peers.len() < clients {
        let batch = CONNECT_BATCH.min(clients - peers.len());
        let joined = join_all((0..batch).map(|_| async {
            let p = LightPeer::connect(&url, doc, arrivals.clone()).await?;
            p.find().await.context("find")?;
            anyhow::Ok(p)
        }))
        .await;
        for p in joined {
            peers.push(p?);
        }
    }
    arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let total_rate = rate * clients as f64;
    let edits = ((total_rate * seconds).round() as usize).max(1);
    let sent: Arc<Mutex<HashMap<ChangeHash, Instant>>> = Arc::default();
    let cpu_before = target.cpu_seconds();
    let own_before = crate::target::cpu_seconds("self");
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / total_rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut all = Vec::with_capacity(edits);
    for k in 0..edits {
        tick.tick().await;
        let (hash, t) = peers[k % clients].edit("x");
        sent.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(hash, t);
        all.push(hash);
    }
    let expected = edits * (clients - 1);
    // Wait until every peer has every edit (or give up after 60 s: the
    // delivered ratio then says how much arrived).
    let complete = join_all(
        peers
            .iter()
            .map(|p| p.wait_changes(&all, Duration::from_secs(60))),
    )
    .await
    .into_iter()
    .all(|r| r.is_ok());
    let cpu_s = target.cpu_seconds() - cpu_before;
    let own_s = crate::target::cpu_seconds("self") - own_before;
    let rss_mib = target.peak_rss_mib();
    if complete {
        // A sample of peers applies what it got: they must converge.
        let heads = peers[0].settle();
        for p in peers.iter().step_by((clients / 10).max(1)) {
            anyhow::ensure!(p.settle() == heads, "peers did not converge");
        }
    }
    let mut latencies_ms: Vec<f64> = {
        let sent = sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let arrivals = arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        arrivals
            .iter()
            .filter_map(|(h, at)| {
                sent.get(h)
                    .map(|t| at.duration_since(*t).as_secs_f64() * 1000.0)
            })
            .collect()
    };
    latencies_ms.sort_by(f64::total_cmp);
    for p in &peers {
        p.drop_connection();
    }
    let name = format!("fan-out {clients} clients x {rate} edit/s");
    let mut p50 = Metric::num(
        format!("{name}: p50"),
        percentile(&latencies_ms, 0.50),
        "ms",
        1,
    );
    let mut p99 = Metric::num(
        format!("{name}: p99"),
        percentile(&latencies_ms, 0.99),
        "ms",
        1,
    );
    if clients == 100 {
        p50 = p50.goal(Goal::TimesLowerThanJs(10.0));
    }
    if clients == 1000 {
        p99 = p99.goal(Goal::AtMost(50.0));
    }
    Ok(vec![
        p50,
        p99,
        Metric::num(
            format!("{name}: delivered"),
            latencies_ms.len() as f64 * 100.0 / expected.max(1) as f64,
            "%",
            1,
        ),
        Metric::num(format!("{name}: server CPU"), cpu_s, "s", 2),
        Metric::num(format!("{name}: load generator CPU"), own_s, "s", 2),
        Metric::num(format!("{name}: peak RSS"), rss_mib, "MiB", 0),
    ])
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

//! Large document: the paper editing trace (~260k changes) on one server.
//!
//! 1. Upload: a client sends the whole history through sync, in messages of
//!    at most 4 MB, each acknowledged before the next (not a target; shown).
//! 2. Restart the server on the same data (cold). A new client requests the
//!    document from empty: **cold first sync** = from its `request` to the
//!    arrival of the frame that completes the document (the peer reads V2
//!    messages, as automerge 3's clients do: a server may answer with the
//!    saved document; decoding it is the client's work and not counted).
//! 3. A second new client does the same while the document is resident:
//!    **sync from empty** (warm). **Cold load** = cold first sync − sync from
//!    empty: what loading the document from disk adds. The server's CPU
//!    time over each first sync is shown too: on a busy machine it varies
//!    far less than the wall time.
//! 4. Keystrokes: a client holding the whole document (loaded locally) sends
//!    single-character insertions one at a time, each waiting for the
//!    server's acknowledgement (a sync message whose heads include it), with
//!    no other client connected. **Server CPU per keystroke** = the server's
//!    CPU seconds over them / their number. Target <= 2 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::Automerge;
use docsync::DocumentId;

use crate::fanout::percentile;
use crate::light::{Arrivals, LightPeer};
use crate::report::{Goal, Metric};
use crate::target::Target;

/// Largest sync message of the upload.
const UPLOAD_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Bound on any one step (upload, a first sync).
const STEP_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn run(
    target: &mut Target,
    saved: &[u8],
    keystrokes: usize,
) -> anyhow::Result<Vec<Metric>> {
    let doc = Automerge::load(saved)?;
    let changes = doc.get_changes(&[]);
    let heads = doc.get_heads();
    let doc_id = DocumentId::random();
    let arrivals: Arrivals = Arc::default();

    let uploader = LightPeer::connect(&target.url(), doc_id, arrivals.clone()).await?;
    let started = Instant::now();
    uploader
        .upload(&changes, UPLOAD_MESSAGE_BYTES, STEP_TIMEOUT)
        .await?;
    let upload_s = started.elapsed().as_secs_f64();
    uploader.drop_connection();

    target.restart().await?;
    let url = target.url();
    let first_sync = || async {
        let peer = LightPeer::connect(&url, doc_id, Arc::default()).await?;
        let started = Instant::now();
        peer.request();
        peer.wait_changes(&heads, STEP_TIMEOUT).await?;
        // Until the frame that completed the document arrived: decoding a
        // whole saved document is the client's work, not the server's.
        let arrived = peer.latest_arrival().unwrap_or_else(Instant::now);
        anyhow::Ok((peer, arrived.duration_since(started).as_secs_f64()))
    };
    let cpu_start = target.cpu_seconds();
    let (cold_peer, cold_s) = first_sync().await?;
    let cpu_cold = target.cpu_seconds() - cpu_start;
    let cpu_start = target.cpu_seconds();
    let (warm_peer, warm_s) = first_sync().await?;
    let cpu_warm = target.cpu_seconds() - cpu_start;

    let typist = LightPeer::from_doc(&url, doc_id, arrivals, doc).await?;
    cold_peer.drop_connection();
    warm_peer.drop_connection();
    let cpu_before = target.cpu_seconds();
    let mut acks_ms = Vec::with_capacity(keystrokes);
    for _ in 0..keystrokes {
        let (hash, t) = typist.edit("k");
        typist.wait_acked(hash, Duration::from_secs(60)).await?;
        acks_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu_ms = (target.cpu_seconds() - cpu_before) * 1000.0 / keystrokes.max(1) as f64;
    typist.drop_connection();
    acks_ms.sort_by(f64::total_cmp);

    let n = changes.len();
    Ok(vec![
        Metric::num(format!("large doc ({n} changes): upload"), upload_s, "s", 1),
        Metric::num("large doc: cold first sync after restart", cold_s, "s", 2)
            .goal(Goal::AtMost(0.5)),
        Metric::num("large doc: sync from empty (resident)", warm_s, "s", 2)
            .goal(Goal::AtMost(0.3)),
        Metric::num("large doc: server CPU, cold first sync", cpu_cold, "s", 2),
        Metric::num("large doc: server CPU, sync from empty", cpu_warm, "s", 2),
        Metric::num(
            "large doc: cold load (cold - resident)",
            cold_s - warm_s,
            "s",
            2,
        ),
        Metric::num(
            format!("large doc: server CPU per keystroke ({keystrokes})"),
            cpu_ms,
            "ms",
            2,
        )
        .goal(Goal::AtMost(2.0)),
        Metric::num(
            "large doc: keystroke ack p50",
            percentile(&acks_ms, 0.5),
            "ms",
            1,
        ),
        Metric::num(
            "large doc: peak RSS after restart",
            target.peak_rss_mib(),
            "MiB",
            0,
        )
        .goal(Goal::AtMost(150.0)),
    ])
}

//! Anchor benchmark: resolve every comment anchor of a summary with 1,000
//! threads after 10,000 edits (target: ≤ 10 ms). Threads carry their
//! anchor's cursors and quote as plain keys (`threads::flat`), which is all
//! resolution reads; the same threads without those keys (as written before
//! them) are timed too.

use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT, ReadDoc};
use model::summary::{Section, Summary};
use model::threads;

pub fn run() {
    let mut doc = Automerge::new();
    let seed: String = "Läkemedelsverket 😀 — ATMP. Regionerna behöver samarbeta. ".repeat(40);
    Summary {
        sections: vec![Section {
            id: "issue".into(),
            heading: "Frågan".into(),
            body: seed,
        }],
        ..Summary::default()
    }
    .write_new(&mut doc)
    .expect("write");
    let body = threads::section_body(&doc, "issue").expect("body");
    let mut rng_state = 0x2545F4914F6CDD1Du64;
    let mut rand = move |n: usize| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        (rng_state % n.max(1) as u64) as usize
    };
    let mut made = 0;
    for i in 0..11_000 {
        let len = doc.length(&body);
        let text: Vec<u16> = doc.text(&body).expect("text").encode_utf16().collect();
        let ok_at = |p: usize| p == text.len() || !(0xDC00..0xE000).contains(&text[p]);
        if i % 11 == 0 && made < 1000 {
            let s = rand(len.saturating_sub(8));
            let e = s + 1 + rand(6);
            if ok_at(s) && ok_at(e) {
                let mut tx = doc.transaction();
                threads::create_thread(&mut tx, &format!("t{i}"), "issue", s, e, "kommentar", 0)
                    .expect("thread");
                tx.commit();
                made += 1;
            }
            continue;
        }
        let at = rand(len);
        if !ok_at(at) {
            continue;
        }
        let mut tx = doc.transaction();
        if rand(3) == 0 && at < len && ok_at(at + 1) {
            tx.splice_text(&body, at, 1, "").expect("delete");
        } else {
            tx.splice_text(&body, at, 0, "x").expect("insert");
        }
        tx.commit();
    }
    // What the target is about: every anchor resolved.
    let (anchors, first_anchors, best_anchors) = timed(|| threads::resolve_anchors(&doc));
    // Documents from before the flat keys: the same threads without them
    // (deleted here, which leaves a little more for automerge to skip than
    // never having written them).
    let mut old = doc.fork();
    let all = old.get(ROOT, "threads").expect("get").expect("threads").1;
    let ids: Vec<_> = old.map_range(&all, ..).map(|t| t.id()).collect();
    let mut tx = old.transaction();
    for t in &ids {
        for key in [
            threads::flat::START,
            threads::flat::END,
            threads::flat::QUOTE,
        ] {
            tx.delete(t, key).expect("delete");
        }
    }
    tx.commit();
    let (old_anchors, first_old, best_old) = timed(|| threads::resolve_anchors(&old));
    assert_eq!(old_anchors, anchors);
    // The full views the HTTP API serves (fields and comments too).
    let (all, first_threads, best_threads) = timed(|| threads::threads(&doc));
    assert_eq!(anchors.len(), all.len());
    for (a, t) in anchors.iter().zip(&all) {
        assert_eq!((&a.thread, &a.anchor), (&t.id, &t.anchor));
    }
    let orphaned = anchors
        .iter()
        .filter(|a| a.anchor == threads::Anchor::Orphaned)
        .count();
    println!(
        "anchors: {} threads after {} changes: resolve all in {:.2} ms (best of {RUNS}; first {:.2} ms), {} orphaned; target <= 10 ms",
        anchors.len(),
        doc.get_changes(&[]).len(),
        ms(best_anchors),
        ms(first_anchors),
        orphaned
    );
    println!(
        "anchors: the same threads without the flat anchor keys (older documents): {:.2} ms (best of {RUNS}; first {:.2} ms)",
        ms(best_old),
        ms(first_old),
    );
    println!(
        "anchors: full thread views (with comments) in {:.2} ms (best of {RUNS}; first {:.2} ms)",
        ms(best_threads),
        ms(first_threads),
    );
}

const RUNS: usize = 10;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The first call's result and time, and the best time of [`RUNS`] calls.
fn timed<T>(f: impl Fn() -> T) -> (T, Duration, Duration) {
    let start = Instant::now();
    let out = f();
    let first = start.elapsed();
    let mut best = first;
    for _ in 1..RUNS {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    (out, first, best)
}

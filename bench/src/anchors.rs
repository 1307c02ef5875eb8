//! Anchor benchmark: resolve every comment anchor of a summary with 1,000
//! threads after 10,000 edits (target: ≤ 10 ms).

use std::time::Instant;

use automerge::transaction::Transactable;
use automerge::{Automerge, ReadDoc};
use protocol::summary::{Section, Summary};
use protocol::threads;

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
    let start = Instant::now();
    let all = threads::threads(&doc);
    let first = start.elapsed();
    let mut best = first;
    for _ in 0..5 {
        let t = Instant::now();
        let again = threads::threads(&doc);
        best = best.min(t.elapsed());
        assert_eq!(again.len(), all.len());
    }
    let orphaned = all
        .iter()
        .filter(|t| t.anchor == threads::Anchor::Orphaned)
        .count();
    println!(
        "anchors: {} threads after {} changes: resolve all in {:.2} ms (best of 6; first {:.2} ms), {} orphaned; target <= 10 ms",
        all.len(),
        doc.get_changes(&[]).len(),
        best.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0,
        orphaned
    );
}

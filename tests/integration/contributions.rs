//! Contributions, drafts and history over real sockets and HTTP, with the
//! roles enforced: participants propose over sync; hosts review over HTTP
//! (accept with attribution, edit then accept, reject with a reply); a
//! draft is taken, edited, submitted and merged while the summary moves on;
//! history lists who did what, reads any version back and compares two.

use automerge::{Automerge, ReadDoc};
use docsync::DocumentId;
use model::contributions::{self, Proposal};
use model::threads::{self, section_body};
use serde_json::{Value, json};
use testkit::Client;

use crate::common::{World, api, world};

fn body(doc: &Automerge) -> String {
    doc.text(section_body(doc, "issue").expect("issue section"))
        .expect("text")
}

fn propose(client: &Client, doc: DocumentId, id: &str, proposal: Proposal, reason: &str) {
    client.change(doc, |tx| {
        contributions::propose(tx, id, &proposal, reason, 1_700_000_000_000).expect("propose");
    });
}

async fn get(w: &World, path: &str, token: &str) -> Value {
    let (status, reply) = api(&w.server, "GET", path, None, Some(token)).await;
    assert_eq!(status, 200, "GET {path}: {reply}");
    reply
}

async fn post(w: &World, path: &str, body: Value, token: &str) -> (u16, Value) {
    api(&w.server, "POST", path, Some(body), Some(token)).await
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {list}"))
}

#[tokio::test]
async fn propose_review_draft_merge_and_history_over_the_socket() {
    let w = world().await;
    let ws = w.open;
    let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
    let bob = Client::connect(&w.server.sync_url_for(&w.bob)).await;
    let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
    for c in [&alice, &bob, &host] {
        c.find(ws).await.expect("find");
    }
    let created = alice.heads(ws);

    // Alice proposes to replace "Läkemedelsverket"; Bob proposes an action
    // and a paragraph.
    propose(
        &alice,
        ws,
        "c-alice",
        Proposal::Replace {
            section: "issue".into(),
            start: 0,
            end: 16,
            text: "Läkemedelsverket (LV)".into(),
        },
        "Förkortningen används senare",
    );
    propose(
        &bob,
        ws,
        "c-action",
        Proposal::Action {
            text: "Boka uppföljning".into(),
            owner: "Bob".into(),
            due: "2026-12-15".into(),
        },
        "",
    );
    propose(
        &bob,
        ws,
        "c-para",
        Proposal::Insert {
            section: "issue".into(),
            at: 0,
            text: "Bakgrund: regionerna.".into(),
        },
        "",
    );
    alice.wait_acked(ws).await.expect("alice's proposal stored");
    bob.wait_acked(ws).await.expect("bob's proposals stored");

    // Bob cannot review, neither over HTTP nor by writing a review himself.
    let accept_path = |cid: &str| format!("/api/workshops/{ws}/contributions/{cid}/accept");
    let (status, _) = post(&w, &accept_path("c-para"), json!({}), &w.bob).await;
    assert_eq!(status, 403);
    let bob_again = Client::connect(&w.server.sync_url_for(&w.bob)).await;
    bob_again.find(ws).await.expect("find");
    bob_again
        .wait_heads(ws, &bob.heads(ws))
        .await
        .expect("up to date");
    bob_again.change(ws, |tx| {
        let all = tx
            .get(automerge::ROOT, "contributions")
            .expect("get")
            .expect("map")
            .1;
        let mine = tx.get(&all, "c-para").expect("get").expect("mine").1;
        let review = automerge::transaction::Transactable::put_object(
            tx,
            &mine,
            "review",
            automerge::ObjType::Map,
        )
        .expect("review");
        automerge::transaction::Transactable::put(tx, &review, "state", "accepted").expect("put");
    });
    let error = bob_again.wait_error().await.expect("refused");
    assert!(error.contains("only change what they wrote"), "{error}");

    // Meanwhile the host edits the summary elsewhere.
    host.wait_heads(ws, &alice.heads(ws))
        .await
        .expect("host sees alice");
    let end = host.read(ws, |d| body(d).encode_utf16().count());
    host.change(ws, |tx| {
        let b = section_body(tx, "issue").expect("body");
        automerge::transaction::Transactable::splice_text(tx, &b, end, 0, " (2026)")
            .expect("splice");
    });
    host.wait_acked(ws).await.expect("host edit stored");

    // The host sees each contribution as a diff, with its verified author.
    let list = get(&w, &format!("/api/workshops/{ws}/contributions"), &w.host).await;
    let c = find(&list, "c-alice");
    assert_eq!(c["authorName"], "Alice");
    assert_eq!(c["status"], "open");
    assert_eq!(c["reason"], "Förkortningen används senare");
    assert_eq!(c["quote"], "Läkemedelsverket");
    assert_eq!(
        c["diff"],
        json!([
            { "op": "equal", "text": "Läkemedelsverket" },
            { "op": "insert", "text": " (LV)" },
        ])
    );
    assert_eq!(find(&list, "c-action")["authorName"], "Bob");

    // Edit then accept Alice's; accept Bob's paragraph; reject his action.
    let (status, reply) = post(
        &w,
        &accept_path("c-alice"),
        json!({ "text": "Läkemedelsverket (LMV)" }),
        &w.host,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["applied"], "Läkemedelsverket (LMV)");
    let (status, reply) = post(&w, &accept_path("c-para"), json!({}), &w.host).await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = post(
        &w,
        &format!("/api/workshops/{ws}/contributions/c-action/reject"),
        json!({ "reply": "Vi bokar den på nästa möte" }),
        &w.host,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let (status, _) = post(&w, &accept_path("c-alice"), json!({}), &w.host).await;
    assert_eq!(status, 409, "a contribution is reviewed once");

    // Everyone sees the accepted text live.
    let expected = "Bakgrund: regionerna.\nLäkemedelsverket (LMV) 😀 — ATMP (2026)";
    for c in [&alice, &bob, &host] {
        c.wait_doc(ws, "the accepted text", |d| body(d) == expected)
            .await
            .expect("accepted text arrives");
    }
    let list = get(&w, &format!("/api/workshops/{ws}/contributions"), &w.alice).await;
    let c = find(&list, "c-alice");
    assert_eq!(c["status"], "accepted");
    assert_eq!(c["review"]["byName"], "Hanna Host");
    assert_eq!(c["review"]["applied"], "Läkemedelsverket (LMV)");
    let rejected = find(&list, "c-action");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["review"]["reply"], "Vi bokar den på nästa möte");

    // Alice takes a draft; Bob cannot open it.
    let (status, draft) = post(
        &w,
        &format!("/api/workshops/{ws}/drafts"),
        json!({}),
        &w.alice,
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let draft_id: DocumentId = draft["id"].as_str().expect("id").parse().expect("doc id");
    assert!(bob.find(draft_id).await.is_err(), "a draft is its owner's");
    alice.find(draft_id).await.expect("alice opens her draft");
    let draft_text = alice.read(draft_id, body);
    assert_eq!(draft_text, expected);
    // She rewrites the end freely; she cannot slip a comment into it.
    let at = draft_text.encode_utf16().count();
    alice.change(draft_id, |tx| {
        let b = section_body(tx, "issue").expect("body");
        automerge::transaction::Transactable::splice_text(tx, &b, at, 0, " Nästa steg: pilot.")
            .expect("splice");
    });
    alice.wait_acked(draft_id).await.expect("draft edit stored");

    // The summary moves on while she works: the host edits the start.
    host.change(ws, |tx| {
        let b = section_body(tx, "issue").expect("body");
        automerge::transaction::Transactable::splice_text(tx, &b, 0, 0, "Sammanfattning. ")
            .expect("splice");
    });
    host.wait_acked(ws).await.expect("host edit stored");

    // She submits the draft as a contribution; the host previews and merges.
    alice
        .wait_heads(ws, &host.heads(ws))
        .await
        .expect("alice up to date");
    propose(
        &alice,
        ws,
        "c-draft",
        Proposal::Draft {
            draft: draft_id.to_string(),
        },
        "Jag lade till nästa steg",
    );
    alice.wait_acked(ws).await.expect("submitted");
    let preview = get(
        &w,
        &format!("/api/workshops/{ws}/contributions/c-draft/preview"),
        &w.host,
    )
    .await;
    assert_eq!(preview["changes"], 1);
    assert_eq!(preview["conflicts"], false);
    let merged = format!("Sammanfattning. {expected} Nästa steg: pilot.");
    assert_eq!(preview["sections"][0]["merged"], merged.as_str());
    assert_eq!(preview["sections"][0]["changedByHosts"], true);
    assert_eq!(preview["sections"][0]["changedInDraft"], true);
    let (status, _) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{ws}/contributions/c-draft/preview"),
        None,
        Some(&w.bob),
    )
    .await;
    assert_eq!(status, 403, "only hosts review");
    let (status, reply) = post(&w, &accept_path("c-draft"), json!({}), &w.host).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["mergedChanges"], 1);
    for c in [&alice, &bob, &host] {
        c.wait_doc(ws, "the merged draft", |d| body(d) == merged)
            .await
            .expect("merged text arrives");
    }

    // History: who did what, the summary at any version, and a comparison.
    let history = get(&w, &format!("/api/workshops/{ws}/history"), &w.bob).await;
    let versions = history["versions"].as_array().expect("versions");
    let accepted = versions
        .iter()
        .find(|v| v["message"] == "accept contribution c-alice")
        .expect("the accept is a version");
    assert_eq!(accepted["author"]["name"], "Hanna Host");
    assert_eq!(accepted["what"]["sections"], json!(["issue"]));
    assert_eq!(
        accepted["what"]["contributions"].as_u64().map(|n| n > 0),
        Some(true)
    );
    assert!(
        versions
            .iter()
            .any(|v| v["author"]["name"] == "Alice" && v["what"]["sections"] == json!(["issue"])),
        "the merged draft edit keeps Alice as its author"
    );
    let heads = |v: &Value| -> String {
        v["heads"]
            .as_array()
            .expect("heads")
            .iter()
            .map(|h| h.as_str().expect("hex"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let first = created
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let then = get(
        &w,
        &format!("/api/workshops/{ws}/history/at?heads={first}"),
        &w.bob,
    )
    .await;
    assert_eq!(then["sections"][0]["body"], "Läkemedelsverket 😀 — ATMP");
    let at_accept = get(
        &w,
        &format!("/api/workshops/{ws}/history/at?heads={}", heads(accepted)),
        &w.bob,
    )
    .await;
    assert!(
        at_accept["sections"][0]["body"]
            .as_str()
            .expect("body")
            .contains("(LMV)")
    );
    let compare = get(
        &w,
        &format!("/api/workshops/{ws}/history/compare?from={first}"),
        &w.bob,
    )
    .await;
    let section = &compare["sections"][0];
    assert_eq!(section["status"], "changed");
    assert!(
        section["bodyDiff"]
            .as_array()
            .expect("diff")
            .iter()
            .any(|p| p["op"] == "insert"
                && p["text"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("Nästa steg: pilot."))),
        "{section}"
    );

    // Hosts publish named versions; participants cannot.
    let path = format!("/api/workshops/{ws}/versions");
    let (status, _) = post(&w, &path, json!({ "name": "Slutversion" }), &w.alice).await;
    assert_eq!(status, 403);
    let (status, published) = post(&w, &path, json!({ "name": "Slutversion" }), &w.host).await;
    assert_eq!(status, 201, "{published}");
    let history = get(&w, &format!("/api/workshops/{ws}/history"), &w.alice).await;
    assert_eq!(history["named"][0]["name"], "Slutversion");
    assert_eq!(history["named"][0]["byName"], "Hanna Host");
    let final_version = get(
        &w,
        &format!(
            "/api/workshops/{ws}/history/at?heads={}",
            heads(&history["named"][0])
        ),
        &w.alice,
    )
    .await;
    assert_eq!(final_version["sections"][0]["body"], merged.as_str());
}

#[tokio::test]
async fn drafts_cannot_carry_comments_and_stay_private() {
    let w = world().await;
    let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
    let (status, draft) = post(
        &w,
        &format!("/api/workshops/{}/drafts", w.open),
        json!({}),
        &w.alice,
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let draft_id: DocumentId = draft["id"].as_str().expect("id").parse().expect("doc id");
    let (status, _) = post(
        &w,
        &format!("/api/workshops/{}/drafts", w.open),
        json!({}),
        "not-a-session",
    )
    .await;
    assert_eq!(status, 401);
    // The public never sees a draft.
    let public = Client::connect(&w.server.public_sync_url()).await;
    assert!(public.find(draft_id).await.is_err());
    alice.find(draft_id).await.expect("open");
    alice.change(draft_id, |tx| {
        threads::create_thread(tx, "t-draft", "issue", 0, 4, "gömd kommentar", 1).expect("thread");
    });
    let error = alice.wait_error().await.expect("refused");
    assert!(error.contains("a draft may only change"), "{error}");
    // The host can read it (to review it) once it is submitted.
    let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
    host.find(draft_id).await.expect("hosts may open drafts");
    let listed = get(&w, &format!("/api/workshops/{}/drafts", w.open), &w.alice).await;
    assert_eq!(listed[0]["id"], draft_id.to_string());
}

//! The holes a hostile test found (issue 11), each as a raw-client attack
//! that the server refuses, leaving what others wrote intact after a
//! restart; and change data in every form automerge accepts.

use crate::common::{World, api, world};
use automerge::transaction::{Transactable, Transaction};
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc};
use docsync::DocumentId;
use serde_json::json;
use testkit::{ChangeData, Client, TestServer};

fn get(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ObjId> {
    doc.get(obj, key).expect("get").map(|(_, id)| id)
}

fn thread(doc: &impl ReadDoc, id: &str) -> Option<ObjId> {
    get(doc, &get(doc, &ROOT, "threads").expect("threads"), id)
}

/// Starts a thread with one comment, written the way the web client does.
fn start_thread(tx: &mut Transaction<'_>, id: &str, text: &str) {
    model::threads::create_thread(tx, id, "issue", 0, 4, text, 0).expect("thread");
}

fn reply(tx: &mut Transaction<'_>, thread: &str, id: &str, text: &str) {
    model::threads::add_comment(tx, thread, id, text, 0).expect("reply");
}

/// The comment bodies of a thread, and each first comment's reaction keys.
fn comments(doc: &Automerge, id: &str) -> (Vec<String>, Vec<String>) {
    let Some(t) = thread(doc, id) else {
        return (vec![], vec![]);
    };
    let Some(list) = get(doc, &t, "comments") else {
        return (vec![], vec![]);
    };
    let bodies = (0..doc.length(&list))
        .map(|i| {
            let c = doc.get(&list, i).expect("get").expect("comment").1;
            doc.text(get(doc, &c, "body").expect("body")).expect("text")
        })
        .collect();
    let reactions = doc
        .get(&list, 0)
        .expect("get")
        .and_then(|(_, c)| get(doc, &c, "reactions"))
        .map(|r| doc.keys(&r).collect())
        .unwrap_or_default();
    (bodies, reactions)
}

async fn connect(server: &TestServer, token: &str, doc: DocumentId) -> Client {
    let client = Client::connect(&server.sync_url_for(token)).await;
    client.find(doc).await.expect("find");
    client
}

/// What the server holds of a document, as a fresh host client reads it.
async fn stored(server: &TestServer, host: &str, doc: DocumentId) -> Automerge {
    let client = connect(server, host, doc).await;
    let copy = client.read(doc, Automerge::fork);
    client.close();
    copy
}

/// Alice's thread with Bob's reply in it; Alice's connection.
async fn thread_with_bobs_reply(w: &World) -> Client {
    let alice = connect(&w.server, &w.alice, w.open).await;
    alice.change(w.open, |tx| start_thread(tx, "t-alice", "Alices fråga"));
    alice.wait_acked(w.open).await.expect("thread stored");
    let bob = connect(&w.server, &w.bob, w.open).await;
    bob.wait_heads(w.open, &alice.heads(w.open))
        .await
        .expect("bob sees it");
    bob.change(w.open, |tx| reply(tx, "t-alice", "c-bob", "Bobs svar"));
    bob.wait_acked(w.open).await.expect("reply stored");
    alice
        .wait_heads(w.open, &bob.heads(w.open))
        .await
        .expect("alice sees it");
    alice
}

#[tokio::test]
async fn a_participant_cannot_remove_others_replies_through_her_own_thread() {
    let w = world().await;
    // Replacing her thread's comments with an empty list.
    let alice = thread_with_bobs_reply(&w).await;
    alice.change(w.open, |tx| {
        let t = thread(tx, "t-alice").expect("thread");
        tx.put_object(&t, "comments", ObjType::List).expect("empty");
    });
    let error = alice.wait_error().await.expect("refused");
    assert!(error.contains("cannot remove what others wrote"), "{error}");
    // Deleting her whole thread.
    let alice = connect(&w.server, &w.alice, w.open).await;
    alice.change(w.open, |tx| {
        let threads = get(tx, &ROOT, "threads").expect("threads");
        tx.delete(&threads, "t-alice").expect("delete");
    });
    let error = alice.wait_error().await.expect("refused");
    assert!(error.contains("cannot remove what others wrote"), "{error}");
    // She may still resolve it.
    let alice = connect(&w.server, &w.alice, w.open).await;
    alice.change(w.open, |tx| {
        model::threads::set_resolved(tx, "t-alice", true).expect("resolve");
    });
    alice.wait_acked(w.open).await.expect("resolved");

    let World {
        server, host, open, ..
    } = w;
    let server = server.restart().await;
    let doc = stored(&server, &host, open).await;
    assert_eq!(
        comments(&doc, "t-alice").0,
        vec!["Alices fråga".to_owned(), "Bobs svar".to_owned()]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn reactions_are_added_and_removed_only_by_their_author() {
    let w = world().await;
    let alice = thread_with_bobs_reply(&w).await;
    let bob = connect(&w.server, &w.bob, w.open).await;
    let bob_actor = bob.read(w.open, |d| d.get_actor().clone());
    bob.change(w.open, |tx| {
        model::threads::react(tx, "t-alice", &first_comment_id(tx), "👍", &bob_actor, true)
            .expect("react");
    });
    bob.wait_acked(w.open).await.expect("reaction stored");
    alice
        .wait_heads(w.open, &bob.heads(w.open))
        .await
        .expect("seen");
    let bobs = format!("👍 {}", bob_actor.to_hex_string());

    type Attack = Box<dyn Fn(&mut Transaction<'_>)>;
    let bobs_key = bobs.clone();
    let attacks: Vec<(&str, Attack)> = vec![
        (
            "remove Bob's reaction from her own comment",
            Box::new(move |tx| {
                let r = first_reactions(tx);
                tx.delete(&r, bobs_key.as_str()).expect("delete");
            }),
        ),
        (
            "replace the reactions map",
            Box::new(|tx| {
                let c = first_comment(tx);
                tx.put_object(&c, "reactions", ObjType::Map)
                    .expect("replace");
            }),
        ),
        (
            "react in Bob's name",
            Box::new(move |tx| {
                let r = first_reactions(tx);
                let forged = format!("❤️ {}", bob_actor.to_hex_string());
                tx.put(&r, forged.as_str(), true).expect("put");
            }),
        ),
    ];
    let mut alice = alice;
    for (what, attack) in attacks {
        alice.change(w.open, |tx| attack(tx));
        let error = alice.wait_error().await.expect(what);
        assert!(
            error.contains("reaction") || error.contains("others wrote"),
            "{what}: {error}"
        );
        alice = connect(&w.server, &w.alice, w.open).await;
    }
    // Her own reaction is hers to add.
    let alice_actor = alice.read(w.open, |d| d.get_actor().clone());
    alice.change(w.open, |tx| {
        model::threads::react(
            tx,
            "t-alice",
            &first_comment_id(tx),
            "🎉",
            &alice_actor,
            true,
        )
        .expect("react");
    });
    alice.wait_acked(w.open).await.expect("own reaction stored");

    let World {
        server, host, open, ..
    } = w;
    let server = server.restart().await;
    let doc = stored(&server, &host, open).await;
    let mut reactions = comments(&doc, "t-alice").1;
    reactions.sort();
    let mut expected = vec![bobs, format!("🎉 {}", alice_actor.to_hex_string())];
    expected.sort();
    assert_eq!(reactions, expected);
    server.shutdown().await;
}

fn first_comment(doc: &impl ReadDoc) -> ObjId {
    let t = thread(doc, "t-alice").expect("thread");
    let list = get(doc, &t, "comments").expect("comments");
    doc.get(&list, 0).expect("get").expect("comment").1
}

fn first_comment_id(doc: &impl ReadDoc) -> String {
    let c = first_comment(doc);
    doc.get(&c, "id")
        .expect("get")
        .expect("id")
        .0
        .as_str()
        .expect("str")
        .to_owned()
}

fn first_reactions(doc: &impl ReadDoc) -> ObjId {
    get(doc, &first_comment(doc), "reactions").expect("reactions")
}

/// The actor a host's server edits were written with before: a hash of
/// the user id, which participants can read from `/authors`.
fn old_derived_actor(user: &str) -> ActorId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("synpunkt server edit\0{user}").as_bytes());
    ActorId::from(&digest[..16])
}

#[tokio::test]
async fn a_participant_cannot_lock_a_host_out_of_server_edits() {
    let w = world().await;
    let (status, session) = api(&w.server, "GET", "/api/session", None, Some(&w.host)).await;
    assert_eq!(status, 200);
    let host_id = session["user"]["id"].as_str().expect("user id").to_owned();

    // Alice writes a comment with the actor a host's edits used to have.
    let alice = connect(&w.server, &w.alice, w.open).await;
    alice.set_actor(w.open, old_derived_actor(&host_id));
    alice.change(w.open, |tx| start_thread(tx, "t-claim", "Nu är jag värden"));
    alice.wait_acked(w.open).await.expect("just a comment");

    // The host still publishes (a server edit written for the host).
    let path = format!("/api/workshops/{}/versions", w.open);
    let (status, reply) = api(
        &w.server,
        "POST",
        &path,
        Some(json!({"name": "v1"})),
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 201, "{reply}");

    // The host's edit actor is bound to the host: Alice cannot write with
    // it, and nothing she sends with it is kept.
    let alice = connect(&w.server, &w.alice, w.open).await;
    let authors_path = format!("/api/workshops/{}/authors", w.open);
    let (_, authors) = api(&w.server, "GET", &authors_path, None, Some(&w.host)).await;
    let hosts_actors: Vec<&String> = authors
        .as_object()
        .expect("map")
        .iter()
        .filter(|(_, a)| a["userId"] == json!(host_id))
        .map(|(actor, _)| actor)
        .collect();
    assert_eq!(hosts_actors.len(), 1, "{authors}");
    let host_actor: ActorId = hosts_actors[0].parse().expect("actor hex");
    alice.set_actor(w.open, host_actor.clone());
    alice.change(w.open, |tx| start_thread(tx, "t-forged", "Från värden"));
    let error = alice.wait_error().await.expect("refused");
    assert!(error.contains("another user's automerge actor"), "{error}");
    let (_, authors) = api(&w.server, "GET", &authors_path, None, Some(&w.host)).await;
    assert_eq!(
        authors[host_actor.to_hex_string()]["userId"],
        json!(host_id),
        "{authors}"
    );

    // A second publish works, across a restart.
    let World {
        server, host, open, ..
    } = w;
    let server = server.restart().await;
    let (status, reply) = api(
        &server,
        "POST",
        &path,
        Some(json!({"name": "v2"})),
        Some(&host),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let doc = stored(&server, &host, open).await;
    assert!(
        thread(&doc, "t-forged").is_none(),
        "the refused comment was not kept"
    );
    assert!(thread(&doc, "t-claim").is_some());
    server.shutdown().await;
}

/// A participant's several new comments in one message, in each form of
/// change data automerge accepts, are checked change by change and stored.
#[tokio::test]
async fn several_changes_in_one_message_in_every_form() {
    let w = world().await;
    for (i, form) in [
        ChangeData::Concatenated,
        ChangeData::Bundle,
        ChangeData::WholeDocument,
    ]
    .into_iter()
    .enumerate()
    {
        let alice = connect(&w.server, &w.alice, w.open).await;
        let before = alice.heads(w.open);
        for n in 0..3 {
            let id = format!("t-{i}-{n}");
            alice.change_quietly(w.open, |tx| start_thread(tx, &id, "Flera på en gång"));
        }
        alice.send_changes_since(w.open, &before, form);
        alice
            .wait_acked(w.open)
            .await
            .unwrap_or_else(|e| panic!("{form:?}: {e}"));
        // A participant's forbidden change hidden among good ones is still
        // refused, and takes the whole message with it.
        let bob = connect(&w.server, &w.bob, w.open).await;
        let before = bob.heads(w.open);
        bob.change_quietly(w.open, |tx| start_thread(tx, &format!("t-bob-{i}"), "Bra"));
        bob.change_quietly(w.open, |tx| {
            let sections = get(tx, &ROOT, "sections").expect("sections");
            let s = tx.get(&sections, 0).expect("get").expect("section").1;
            let body = get(tx, &s, "body").expect("body");
            tx.splice_text(&body, 0, 0, "Kapat! ").expect("splice");
        });
        bob.send_changes_since(w.open, &before, form);
        let error = bob.wait_error().await.expect("refused");
        assert!(
            error.contains("cannot change the summary"),
            "{form:?}: {error}"
        );
    }
    let World {
        server, host, open, ..
    } = w;
    let server = server.restart().await;
    let doc = stored(&server, &host, open).await;
    for i in 0..3 {
        for n in 0..3 {
            assert!(thread(&doc, &format!("t-{i}-{n}")).is_some(), "t-{i}-{n}");
        }
        assert!(thread(&doc, &format!("t-bob-{i}")).is_none());
    }
    server.shutdown().await;
}

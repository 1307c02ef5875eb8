//! Roles, enforced by the server on every path: a matrix of roles ×
//! operations over HTTP and over the sync socket, for open and invite-only
//! workshops; forged actors; invite expiry, use limits and revocation.

use crate::common::{api, invite, world};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc};
use docsync::DocumentId;
use serde_json::{Value, json};
use testkit::{Client, ClientError, accept_invite, http};

fn section_body(doc: &impl ReadDoc) -> ObjId {
    let sections = doc.get(ROOT, "sections").expect("get").expect("sections").1;
    let section = doc.get(&sections, 0).expect("get").expect("section").1;
    doc.get(&section, "body").expect("get").expect("body").1
}

fn body_text(doc: &Automerge) -> String {
    doc.text(section_body(doc)).expect("text")
}

/// Starts a thread with one comment; returns the thread id.
fn comment(client: &Client, doc: DocumentId, thread: &str, text: &str) {
    client.change(doc, |tx| {
        let threads = tx.get(ROOT, "threads").expect("get").expect("threads").1;
        let t = tx
            .put_object(&threads, thread, ObjType::Map)
            .expect("thread");
        let comments = tx
            .put_object(&t, "comments", ObjType::List)
            .expect("comments");
        let c = tx
            .insert_object(&comments, 0, ObjType::Map)
            .expect("comment");
        let body = tx.put_object(&c, "body", ObjType::Text).expect("body");
        tx.splice_text(&body, 0, 0, text).expect("text");
    });
}

#[tokio::test]
async fn http_visibility_and_permissions_follow_roles() {
    let w = world().await;
    let s = &w.server;
    let titles = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x["title"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    // list
    let (_, public) = api(s, "GET", "/api/workshops", None, None).await;
    assert!(titles(&public).contains(&"Öppen workshop".to_owned()));
    assert!(!titles(&public).contains(&"Stängd workshop".to_owned()));
    let (_, alice) = api(s, "GET", "/api/workshops", None, Some(&w.alice)).await;
    assert!(titles(&alice).contains(&"Stängd workshop".to_owned()));
    // read
    for (token, doc, status) in [
        (None, w.open, 200),
        (None, w.private, 404),
        (Some(w.alice.as_str()), w.private, 200),
        (Some(w.host.as_str()), w.private, 200),
    ] {
        let (got, _) = api(
            s,
            "GET",
            &format!("/api/workshops/{doc}/summary"),
            None,
            token,
        )
        .await;
        assert_eq!(got, status, "{token:?} reading {doc}");
    }
    // update metadata, create invites: hosts only
    let patch = json!({ "title": "Ny titel" });
    let (got, _) = api(
        s,
        "PATCH",
        &format!("/api/workshops/{}", w.open),
        Some(patch.clone()),
        None,
    )
    .await;
    assert_eq!(
        got, 403,
        "the public may read an open workshop, not change it"
    );
    let private_patch = json!({ "title": "x" });
    let (got, _) = api(
        s,
        "PATCH",
        &format!("/api/workshops/{}", w.private),
        Some(private_patch),
        None,
    )
    .await;
    assert_eq!(
        got, 404,
        "an invite-only workshop does not exist for the public"
    );
    let (got, _) = api(
        s,
        "PATCH",
        &format!("/api/workshops/{}", w.open),
        Some(patch.clone()),
        Some(&w.alice),
    )
    .await;
    assert_eq!(got, 403);
    let (got, reply) = api(
        s,
        "PATCH",
        &format!("/api/workshops/{}", w.open),
        Some(patch),
        Some(&w.host),
    )
    .await;
    assert_eq!((got, reply["title"].as_str()), (200, Some("Ny titel")));
    let (got, _) = invite(s, &w.alice, w.open, json!({ "role": "participant" })).await;
    assert_eq!(got, 403);
    let (got, _) = invite(s, &w.host, w.open, json!({ "role": "admin" })).await;
    assert_eq!(got, 400);
    // creating workshops: hosts and admins, not participants or the public
    let (got, _) = api(
        s,
        "POST",
        "/api/workshops",
        Some(json!({ "title": "x" })),
        Some(&w.alice),
    )
    .await;
    assert_eq!(got, 403);
    let (got, _) = api(
        s,
        "POST",
        "/api/workshops",
        Some(json!({ "title": "x" })),
        None,
    )
    .await;
    assert_eq!(got, 401);
    let (got, _) = api(
        s,
        "POST",
        "/api/workshops",
        Some(json!({ "title": "Värdens egen" })),
        Some(&w.host),
    )
    .await;
    assert_eq!(got, 201);
    // malformed JSON is a 400 with a JSON error
    let (got, _, reply) = http(
        "POST",
        &format!("{}/api/workshops", s.base_url()),
        Some("{not json"),
        Some(&w.host),
    )
    .await;
    assert_eq!(got, 400, "{reply}");
    assert!(reply.contains("\"error\""));
    // a private workshop's Markdown is as invisible as its summary
    let (got, _) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/export.md", w.private),
        None,
        None,
    )
    .await;
    assert_eq!(got, 404);
}

#[tokio::test]
async fn public_readers_read_open_workshops_only_and_change_nothing() {
    let w = world().await;
    let public = Client::connect(&w.server.public_sync_url()).await;
    public
        .find(w.open)
        .await
        .expect("public reads an open workshop");
    assert_eq!(public.read(w.open, body_text), "Läkemedelsverket 😀 — ATMP");
    match public.find(w.private).await {
        Err(ClientError::Unavailable(_)) => {}
        other => panic!("an invite-only workshop must look missing, got {other:?}"),
    }
    // An unknown document looks the same.
    assert!(matches!(
        public.find(DocumentId::random()).await,
        Err(ClientError::Unavailable(_))
    ));

    let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
    host.find(w.open).await.expect("host reads");
    // automerge's own sync never sends changes to a server that said it is
    // read-only for the peer; a misbehaving client sends them anyway.
    public.change(w.open, |tx| {
        let body = section_body(tx);
        tx.splice_text(&body, 0, 0, "Vandalism! ").expect("splice");
    });
    public.force_send_last_change(w.open);
    let error = public.wait_error().await.expect("refused");
    assert!(error.contains("public readers cannot change"), "{error}");
    public.wait_closed().await.expect("closed");
    // A later host edit arrives; the public edit never does.
    let h = host.change(w.open, |tx| {
        let body = section_body(tx);
        tx.splice_text(&body, 0, 0, "Värden: ").expect("splice");
    });
    let watcher = Client::connect(&w.server.public_sync_url()).await;
    watcher.find(w.open).await.expect("find");
    watcher
        .wait_heads(w.open, &[h.expect("a change")])
        .await
        .expect("host edit arrives");
    assert_eq!(
        watcher.read(w.open, body_text),
        "Värden: Läkemedelsverket 😀 — ATMP"
    );
}

#[tokio::test]
async fn participants_comment_but_cannot_edit_the_summary_or_others_comments() {
    let w = world().await;
    for doc in [w.open, w.private] {
        let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
        let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
        host.find(doc).await.expect("host reads");
        alice.find(doc).await.expect("participant reads");

        // add a comment: allowed, and relayed to the host
        comment(&alice, doc, "t-alice", "Bra poäng, men källan?");
        alice.wait_acked(doc).await.expect("accepted");
        let heads = alice.heads(doc);
        host.wait_heads(doc, &heads)
            .await
            .expect("the host sees the comment");

        // the host edits the summary: allowed
        let h = host
            .change(doc, |tx| {
                let body = section_body(tx);
                tx.splice_text(&body, 0, 0, "Uppdaterat: ").expect("splice");
            })
            .expect("change");
        alice
            .wait_heads(doc, &[h])
            .await
            .expect("the participant sees it");

        // edit the summary: refused, connection closed, nothing kept
        alice.change(doc, |tx| {
            let body = section_body(tx);
            tx.splice_text(&body, 0, 0, "Deltagaren skriver om! ")
                .expect("splice");
        });
        let error = alice.wait_error().await.expect("refused");
        assert!(error.contains("cannot change the summary"), "{error}");
        assert_eq!(
            alice.refused_documents(),
            vec![doc],
            "the error names the document, so the client can drop the change"
        );
        alice.wait_closed().await.expect("closed");

        // Bob edits Alice's comment: refused
        let bob = Client::connect(&w.server.sync_url_for(&w.bob)).await;
        bob.find(doc).await.expect("find");
        bob.change(doc, |tx| {
            let threads = tx.get(ROOT, "threads").expect("get").expect("threads").1;
            let t = tx.get(&threads, "t-alice").expect("get").expect("thread").1;
            let comments = tx.get(&t, "comments").expect("get").expect("comments").1;
            let c = tx.get(&comments, 0).expect("get").expect("comment").1;
            let body = tx.get(&c, "body").expect("get").expect("body").1;
            tx.splice_text(&body, 0, 3, "Dålig").expect("splice");
        });
        let error = bob.wait_error().await.expect("refused");
        assert!(error.contains("only change what they wrote"), "{error}");

        // What the server keeps: the comment and the host's edit, nothing else.
        let (status, summary) = api(
            &w.server,
            "GET",
            &format!("/api/workshops/{doc}/summary"),
            None,
            Some(&w.host),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            summary["sections"][0]["body"],
            "Uppdaterat: Läkemedelsverket 😀 — ATMP"
        );
        let check = Client::connect(&w.server.sync_url_for(&w.host)).await;
        check.find(doc).await.expect("find");
        let kept = check.read(doc, |d| {
            let threads = d.get(ROOT, "threads").expect("get").expect("threads").1;
            let t = d.get(&threads, "t-alice").expect("get").expect("thread").1;
            let comments = d.get(&t, "comments").expect("get").expect("comments").1;
            let c = d.get(&comments, 0).expect("get").expect("comment").1;
            let body = d.get(&c, "body").expect("get").expect("body").1;
            d.text(body).expect("text")
        });
        assert_eq!(kept, "Bra poäng, men källan?");
    }
}

#[tokio::test]
async fn a_forged_actor_id_is_refused() {
    let w = world().await;
    let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
    alice.find(w.open).await.expect("find");
    comment(&alice, w.open, "t-alice", "Min kommentar");
    alice.wait_acked(w.open).await.expect("accepted");
    let alice_actor = alice.read(w.open, |d| d.get_actor().clone());

    // Bob writes with Alice's actor id, to pass as her.
    let bob = Client::connect(&w.server.sync_url_for(&w.bob)).await;
    bob.find(w.open).await.expect("find");
    bob.set_actor(w.open, alice_actor);
    comment(&bob, w.open, "t-forged", "Jag är Alice");
    let error = bob.wait_error().await.expect("refused");
    assert!(error.contains("another user's automerge actor"), "{error}");

    // The author shown for Alice's actor is Alice, as the server bound it.
    let (status, authors) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{}/authors", w.open),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let alice_hex = alice.read(w.open, |d| d.get_actor().to_hex_string());
    assert_eq!(authors[&alice_hex]["name"], "Alice", "{authors}");
    assert!(
        authors
            .as_object()
            .expect("map")
            .values()
            .any(|a| a["name"] == "Synpunkt")
    );

    // The server's own actor (the summary's author) cannot be claimed either.
    let carol = Client::connect(&w.server.sync_url_for(&w.bob)).await;
    carol.find(w.open).await.expect("find");
    let server_actor = carol.read(w.open, |d| {
        let (_, body) = d.get(ROOT, "sections").expect("get").expect("sections");
        d.get_changes(&[])
            .first()
            .map(|c| c.actor_id().clone())
            .unwrap_or_else(|| panic!("a first change in {body:?}"))
    });
    carol.set_actor(w.open, server_actor);
    carol.change(w.open, |tx| {
        let body = section_body(tx);
        tx.splice_text(&body, 0, 0, "Kapning").expect("splice");
    });
    let error = carol.wait_error().await.expect("refused");
    assert!(error.contains("another user's automerge actor"), "{error}");
}

#[tokio::test]
async fn invites_expire_run_out_and_revocation_closes_connections_at_once() {
    let w = world().await;
    let s = &w.server;
    let base = s.base_url();
    let accept = |token: String| {
        let base = base.clone();
        async move {
            let body = json!({ "name": "Dana" }).to_string();
            http(
                "POST",
                &format!("{base}/api/invites/{token}/accept"),
                Some(&body),
                None,
            )
            .await
            .0
        }
    };
    // expiry
    let (_, expired) = invite(
        s,
        &w.host,
        w.open,
        json!({ "role": "participant", "expiresInSeconds": 0 }),
    )
    .await;
    assert_eq!(
        accept(expired["token"].as_str().expect("token").to_owned()).await,
        400
    );
    // maximum uses
    let (_, once) = invite(
        s,
        &w.host,
        w.open,
        json!({ "role": "participant", "maxUses": 1 }),
    )
    .await;
    let once = once["token"].as_str().expect("token").to_owned();
    assert_eq!(accept(once.clone()).await, 200);
    assert_eq!(accept(once).await, 400);
    // revocation: sessions made from the invite end, open sockets close
    let (_, inv) = invite(s, &w.host, w.private, json!({ "role": "participant" })).await;
    let token = accept_invite(&base, inv["token"].as_str().expect("token"), "Erik").await;
    let erik = Client::connect(&s.sync_url_for(&token)).await;
    erik.find(w.private).await.expect("find");
    let invite_id = inv["invite"]["id"].as_str().expect("id");
    let started = std::time::Instant::now();
    let (status, _) = api(
        s,
        "DELETE",
        &format!("/api/workshops/{}/invites/{invite_id}", w.private),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 204);
    erik.wait_closed().await.expect("the socket closes");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (status, _) = api(s, "GET", "/api/session", None, Some(&token)).await;
    assert_eq!(status, 401);
    let (status, _) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/summary", w.private),
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
    // signing out ends the session, and its open sockets close
    let bob = Client::connect(&s.sync_url_for(&w.bob)).await;
    bob.find(w.open).await.expect("find");
    let started = std::time::Instant::now();
    let (status, _) = api(s, "DELETE", "/api/session", None, Some(&w.bob)).await;
    assert_eq!(status, 204);
    bob.wait_closed().await.expect("the socket closes");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (status, _) = api(s, "GET", "/api/session", None, Some(&w.bob)).await;
    assert_eq!(status, 401);
    // a participant cannot revoke
    let (status, _) = api(
        s,
        "DELETE",
        &format!("/api/workshops/{}/invites/{invite_id}", w.private),
        None,
        Some(&w.alice),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_peer_id_in_use_by_another_user_cannot_be_taken_over() {
    let w = world().await;
    let alice = Client::connect_as(&w.server.sync_url_for(&w.alice), "peer-alice-laptop").await;
    alice.find(w.open).await.expect("find");
    let mallory = Client::connect_raw(&w.server.sync_url_for(&w.bob), "peer-alice-laptop").await;
    mallory.send(&docsync::Message::Join {
        sender_id: docsync::PeerId::new("peer-alice-laptop").expect("peer id"),
        peer_metadata: Default::default(),
        supported_protocol_versions: None,
    });
    let error = mallory.wait_error().await.expect("refused");
    assert!(error.contains("in use"), "{error}");
    // Alice is still connected and syncing.
    let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
    host.find(w.open).await.expect("find");
    let h = host
        .change(w.open, |tx| {
            let body = section_body(tx);
            tx.splice_text(&body, 0, 0, "Fortfarande här: ")
                .expect("splice");
        })
        .expect("change");
    alice
        .wait_heads(w.open, &[h])
        .await
        .expect("alice still syncs");
    // The same user may replace their own connection.
    let again = Client::connect_as(&w.server.sync_url_for(&w.alice), "peer-alice-laptop").await;
    alice.wait_closed().await.expect("replaced");
    again.find(w.open).await.expect("find");
}

#[tokio::test]
async fn losing_access_closes_open_connections() {
    let w = world().await;
    let s = &w.server;
    // A public reader of an open workshop that becomes invite-only.
    let public = Client::connect(&s.public_sync_url()).await;
    public.find(w.open).await.expect("find");
    let (status, _) = api(
        s,
        "PATCH",
        &format!("/api/workshops/{}", w.open),
        Some(json!({ "meetingType": "invite-only" })),
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 200);
    let error = public.wait_error().await.expect("told");
    assert!(error.contains("access to a document changed"), "{error}");
    public.wait_closed().await.expect("closed");
    let again = Client::connect(&s.public_sync_url()).await;
    assert!(matches!(
        again.find(w.open).await,
        Err(ClientError::Unavailable(_))
    ));

    // A signed-in participant whose role came from a revoked invite loses
    // that workshop, but keeps their account and their other workshops.
    let (_, inv) = invite(s, &w.host, w.private, json!({ "role": "participant" })).await;
    let dana = accept_invite(&s.base_url(), inv["token"].as_str().expect("token"), "Dana").await;
    let (_, second) = invite(s, &w.host, w.open, json!({ "role": "participant" })).await;
    let body = json!({}).to_string();
    let (status, _, _) = http(
        "POST",
        &format!(
            "{}/api/invites/{}/accept",
            s.base_url(),
            second["token"].as_str().expect("token")
        ),
        Some(&body),
        Some(&dana),
    )
    .await;
    assert_eq!(status, 200);
    let on_open = Client::connect(&s.sync_url_for(&dana)).await;
    on_open.find(w.open).await.expect("find");
    let second_id = second["invite"]["id"].as_str().expect("id");
    let (status, _) = api(
        s,
        "DELETE",
        &format!("/api/workshops/{}/invites/{second_id}", w.open),
        None,
        Some(&w.host),
    )
    .await;
    assert_eq!(status, 204);
    on_open
        .wait_closed()
        .await
        .expect("closed: no role in that workshop any more");
    let (status, _) = api(s, "GET", "/api/session", None, Some(&dana)).await;
    assert_eq!(status, 200, "the account itself lives on");
    let (status, _) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/summary", w.private),
        None,
        Some(&dana),
    )
    .await;
    assert_eq!(status, 200, "and so does the role from the other invite");
    let (status, _) = api(
        s,
        "GET",
        &format!("/api/workshops/{}/summary", w.open),
        None,
        Some(&dana),
    )
    .await;
    assert_eq!(
        status, 404,
        "the workshop is invite-only now, and Dana is no longer in it"
    );
}

#[tokio::test]
async fn comment_threads_over_the_socket_with_verified_authors() {
    use model::threads;
    let w = world().await;
    let alice = Client::connect(&w.server.sync_url_for(&w.alice)).await;
    let bob = Client::connect(&w.server.sync_url_for(&w.bob)).await;
    let host = Client::connect(&w.server.sync_url_for(&w.host)).await;
    for c in [&alice, &bob, &host] {
        c.find(w.open).await.expect("find");
    }
    // Alice selects "😀 — ATMP" and starts a thread.
    let text = "Läkemedelsverket 😀 — ATMP";
    let start = text[..text.find('😀').expect("emoji")]
        .encode_utf16()
        .count();
    let end = text.encode_utf16().count();
    alice.change(w.open, |tx| {
        threads::create_thread(tx, "t1", "issue", start, end, "Vad menas här?", 1).expect("thread");
    });
    alice.wait_acked(w.open).await.expect("accepted");
    bob.wait_heads(w.open, &alice.heads(w.open))
        .await
        .expect("bob sees it");
    // Bob replies and reacts; the host resolves; Alice reopens her thread.
    let bob_actor = bob.read(w.open, |d| d.get_actor().clone());
    bob.change(w.open, |tx| {
        threads::add_comment(tx, "t1", "c-bob", "Cell- och genterapi.", 2).expect("reply");
        threads::react(tx, "t1", "t1-0", "👍", &bob_actor, true).expect("react");
    });
    bob.wait_acked(w.open).await.expect("accepted");
    host.wait_heads(w.open, &bob.heads(w.open))
        .await
        .expect("host sees it");
    host.change(w.open, |tx| {
        threads::set_resolved(tx, "t1", true).expect("resolve")
    });
    host.wait_acked(w.open).await.expect("accepted");
    alice
        .wait_heads(w.open, &host.heads(w.open))
        .await
        .expect("alice sees it");
    alice.change(w.open, |tx| {
        threads::set_resolved(tx, "t1", false).expect("reopen")
    });
    alice.wait_acked(w.open).await.expect("accepted");

    // Bob may not edit Alice's comment.
    bob.wait_heads(w.open, &alice.heads(w.open))
        .await
        .expect("bob up to date");
    bob.change(w.open, |tx| {
        threads::edit_comment(tx, "t1", "t1-0", "Ändrat av Bob").expect("edit")
    });
    let error = bob.wait_error().await.expect("refused");
    assert!(error.contains("only change what they wrote"), "{error}");

    // Anyone who can read the workshop sees the thread with verified names.
    let (status, list) = api(
        &w.server,
        "GET",
        &format!("/api/workshops/{}/threads", w.open),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let t = &list[0];
    assert_eq!(t["id"], "t1");
    assert_eq!(t["quote"], "😀 — ATMP");
    assert_eq!(
        t["anchor"],
        json!({ "state": "anchored", "start": start, "end": end })
    );
    assert_eq!(t["resolved"], false);
    assert_eq!(t["authorName"], "Alice");
    assert_eq!(t["comments"][0]["body"], "Vad menas här?");
    assert_eq!(t["comments"][0]["authorName"], "Alice");
    assert_eq!(t["comments"][0]["reactions"][0][0], "👍");
    assert_eq!(t["comments"][1]["authorName"], "Bob");
    assert_eq!(t["comments"][1]["body"], "Cell- och genterapi.");
}

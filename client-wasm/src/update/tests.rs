//! The client's behaviour without a browser: a model, messages in, effects
//! out, against a stand-in server that syncs like ours (automerge's sync
//! protocol over `docsync` messages).

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use docsync::message::{PeerMetadata, SyncKind, SyncMessage};
use docsync::{DocumentId, Message, PeerId};
use model::contributions;
use model::summary::{MeetingType, Section, Summary, Workshop};

use super::*;
use crate::i18n::Lang;
use crate::state::{Filter, JOIN_TIMEOUT_MS, Page, Role};

/// The server: one summary, a sync state per client; it answers joins and
/// sync messages, and can stop answering.
struct Server {
    doc: Automerge,
    states: HashMap<PeerId, sync::State>,
    id: DocumentId,
}

impl Server {
    fn new() -> Self {
        let mut doc = Automerge::new();
        Summary {
            workshop: Workshop {
                title: "Betalningsmodeller".into(),
                ..Workshop::default()
            },
            sections: vec![Section {
                id: "issue".into(),
                heading: "Frågan".into(),
                body: "Läkemedel 😀 och ATMP".into(),
            }],
            actions: vec![],
        }
        .write_new(&mut doc)
        .expect("summary");
        Server {
            doc,
            states: HashMap::new(),
            id: DocumentId::random(),
        }
    }

    /// The frames the server answers `effects`' messages with.
    fn answer(&mut self, effects: &[Effect]) -> Vec<Msg> {
        let me = PeerId::new("server").expect("peer");
        let mut out = Vec::new();
        for e in effects {
            let Effect::Send(messages) = e else { continue };
            for m in messages {
                let reply = match m {
                    Message::Join { sender_id, .. } => Some(Message::Peer {
                        sender_id: me.clone(),
                        target_id: sender_id.clone(),
                        peer_metadata: PeerMetadata::default(),
                        selected_protocol_version: "1".into(),
                    }),
                    Message::Sync(s) => {
                        let state = self.states.entry(s.sender_id.clone()).or_default();
                        let decoded = sync::Message::decode(&s.data).expect("decode");
                        self.doc
                            .receive_sync_message(state, decoded)
                            .expect("receive");
                        self.doc.generate_sync_message(state).map(|reply| {
                            Message::Sync(SyncMessage {
                                kind: SyncKind::Sync,
                                sender_id: me.clone(),
                                target_id: s.sender_id.clone(),
                                document_id: s.document_id,
                                data: reply.encode(),
                            })
                        })
                    }
                    _ => None,
                };
                out.extend(reply.map(|r| Msg::Frame(docsync::encode(&r))));
            }
        }
        out
    }
}

fn model(server: &Server, role: Role) -> Model {
    Model::new(
        Page {
            kind: "workshop".into(),
            doc: Some(server.id),
            role,
            user_name: if role == Role::Public {
                String::new()
            } else {
                "Hanna".into()
            },
            lang: Lang::En,
        },
        PeerId::new("browser-test").expect("peer"),
    )
}

/// Delivers `msg`, then the server's answers, until quiet; returns every
/// effect on the way.
fn run(m: &mut Model, server: &mut Server, msg: Msg) -> Vec<Effect> {
    let mut all = Vec::new();
    let mut queue = vec![msg];
    let mut rounds = 0;
    while let Some(msg) = queue.pop() {
        rounds += 1;
        assert!(rounds < 1_000, "sync does not settle");
        let effects = update(m, msg);
        queue.extend(server.answer(&effects));
        all.extend(effects);
    }
    all
}

/// A model that has loaded (no local copy), connected and synced.
fn online(server: &mut Server, role: Role) -> Model {
    let mut m = model(server, role);
    m.now = 1_000.0;
    let effects = update(&mut m, Msg::Start);
    assert!(effects.iter().any(|e| matches!(e, Effect::Connect)));
    if role != Role::Public {
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Load(_))),
            "the local copy is read first"
        );
        let id = server.id;
        run(
            &mut m,
            server,
            Msg::Loaded {
                doc: id,
                saved: None,
                meta: None,
            },
        );
    }
    run(&mut m, server, Msg::SocketOpened);
    assert_eq!(m.conn, Conn::Online);
    assert_eq!(m.status().0, "saved", "{:?}", m.status());
    m
}

fn comment(m: &mut Model, text: &str) -> Vec<Effect> {
    let doc = m.summary_doc().expect("doc");
    let sel = Sel {
        section: "issue".into(),
        start: 0,
        end: 4,
        quote: "Läke".into(),
        anchor: None,
    }
    .anchored(doc);
    update(m, Msg::Selected(Some(sel)));
    update(
        m,
        Msg::Action {
            action: Action::Comment,
            opener: None,
        },
    );
    update(
        m,
        Msg::Input {
            key: "composer-text".into(),
            value: text.into(),
        },
    );
    update(
        m,
        Msg::Action {
            action: Action::Submit,
            opener: None,
        },
    )
}

fn sends(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Send(m) if !m.is_empty()))
}

#[test]
fn saved_only_once_the_server_has_acknowledged_every_change() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let effects = comment(&mut m, "Bra fråga");
    assert!(sends(&effects));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Store { .. })),
        "a local change is kept locally at once"
    );
    assert_eq!(m.status().0, "syncing", "sent, not yet acknowledged");
    for answer in server.answer(&effects) {
        run(&mut m, &mut server, answer);
    }
    assert_eq!(m.status(), ("saved", "Saved".to_owned()));
    assert_eq!(threads::threads(&server.doc).len(), 1);
}

#[test]
fn offline_says_so_at_once_and_counts_what_waits() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let effects = update(&mut m, Msg::BrowserOffline);
    assert_eq!(m.conn, Conn::Offline);
    assert!(effects.iter().any(|e| matches!(e, Effect::Disconnect)));
    assert!(effects.contains_render(Region::Status));
    assert_eq!(m.status().1, "Offline — no changes waiting");
    update(&mut m, Msg::SocketClosed);
    comment(&mut m, "Skrivet offline");
    comment(&mut m, "Och en till");
    assert_eq!(m.status().1, "Offline — 2 changes waiting");

    // Back online: reconnecting syncs, and only then is it saved.
    let effects = update(&mut m, Msg::BrowserOnline);
    assert!(effects.iter().any(|e| matches!(e, Effect::Connect)));
    run(&mut m, &mut server, Msg::SocketOpened);
    assert_eq!(m.status().0, "saved");
    assert_eq!(threads::threads(&server.doc).len(), 2, "each arrived once");
}

#[test]
fn a_server_that_stops_answering_is_offline_within_the_ack_timeout() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Host);
    m.now = 10_000.0;
    let effects = comment(&mut m, "Ingen svarar");
    assert!(sends(&effects));
    // The server never answers.
    m.now += ACK_TIMEOUT_MS / 2.0;
    let effects = update(&mut m, Msg::Tick);
    assert_eq!(m.conn, Conn::Online, "not yet");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Disconnect)));
    m.now += ACK_TIMEOUT_MS;
    let effects = update(&mut m, Msg::Tick);
    assert_eq!(m.conn, Conn::Offline);
    assert!(effects.iter().any(|e| matches!(e, Effect::Disconnect)));
    assert_eq!(m.status().1, "Offline — 1 change waiting");
}

#[test]
fn a_closed_socket_reconnects_with_growing_waits() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let mut waits = Vec::new();
    for _ in 0..6 {
        let effects = update(&mut m, Msg::SocketClosed);
        let wait = effects.iter().find_map(|e| match e {
            Effect::Later { ms, msg } if **msg == Msg::Reconnect => Some(*ms),
            _ => None,
        });
        waits.push(wait.expect("a reconnection is scheduled"));
        let effects = update(&mut m, Msg::Reconnect);
        assert!(effects.iter().any(|e| matches!(e, Effect::Connect)));
    }
    assert_eq!(waits, [500, 1_000, 2_000, 4_000, 8_000, 10_000]);
    // Joining again starts over.
    run(&mut m, &mut server, Msg::SocketOpened);
    let effects = update(&mut m, Msg::SocketClosed);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Later { ms: 500, .. }))
    );
}

#[test]
fn changes_made_offline_survive_a_reload_and_are_counted_there() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    update(&mut m, Msg::BrowserOffline);
    update(&mut m, Msg::SocketClosed);
    let effects = comment(&mut m, "Före omladdningen");
    let (bytes, meta) = effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::Store { bytes, meta, .. } => Some((bytes.clone(), meta.clone())),
            _ => None,
        })
        .expect("stored");

    // The page reloads while offline: the copy and what was acknowledged.
    let mut reloaded = model(&server, Role::Participant);
    update(&mut reloaded, Msg::Start);
    update(&mut reloaded, Msg::BrowserOffline);
    update(
        &mut reloaded,
        Msg::Loaded {
            doc: server.id,
            saved: Some(bytes),
            meta: Some(meta),
        },
    );
    assert_eq!(reloaded.status().1, "Offline — 1 change waiting");
    let thread = threads::threads(reloaded.summary_doc().expect("doc"))
        .pop()
        .expect("the thread");
    assert_eq!(
        reloaded.author_name(&thread.author),
        "Hanna",
        "our comment from before the reload is still ours"
    );
    assert!(reloaded.is_mine(&thread.author));
    update(&mut reloaded, Msg::BrowserOnline);
    run(&mut reloaded, &mut server, Msg::SocketOpened);
    assert_eq!(reloaded.status().0, "saved");
    let threads = threads::threads(&server.doc);
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].comments[0].body, "Före omladdningen");
}

#[test]
fn public_readers_keep_nothing_locally() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Public);
    let effects = update(&mut m, Msg::SaveNow);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Store { .. })));
    // And cannot edit a section.
    let before = m.summary_doc().expect("doc").get_heads();
    update(
        &mut m,
        Msg::EditSection {
            section: "issue".into(),
            value: "Hacked".into(),
        },
    );
    assert_eq!(m.summary_doc().expect("doc").get_heads(), before);
}

#[test]
fn the_composer_takes_the_focus_and_gives_it_back() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let opener = Spot(vec![
        ("data-action", "reply".into()),
        ("data-thread", "t1".into()),
    ]);
    let effects = update(
        &mut m,
        Msg::Action {
            action: Action::Reply {
                thread: "t1".into(),
            },
            opener: Some(opener.clone()),
        },
    );
    assert!(focuses(
        &effects,
        &Focus::Spot(Spot::field("composer-text"))
    ));
    update(
        &mut m,
        Msg::Input {
            key: "composer-text".into(),
            value: "halvfärdigt".into(),
        },
    );
    let effects = update(&mut m, Msg::Escape);
    assert!(m.ui.composer.is_none());
    assert!(
        !m.ui.inputs.contains_key("composer-text"),
        "what was typed goes"
    );
    assert!(focuses(&effects, &Focus::Spot(opener)));
    // The removed field's late `change` does not bring it back.
    type_into(&mut m, "composer-text", "halvfärdigt");
    assert!(!m.ui.inputs.contains_key("composer-text"));
}

#[test]
fn a_host_types_in_a_section_while_frames_arrive() {
    let mut server = Server::new();
    let mut host = online(&mut server, Role::Host);
    let mut other = online(&mut server, Role::Participant);
    update(
        &mut host,
        Msg::Action {
            action: Action::EditSection {
                section: "issue".into(),
            },
            opener: None,
        },
    );
    let mut text = "Läkemedel 😀 och ATMP".to_owned();
    for round in 0..5 {
        text.push_str(&format!(" k{round}"));
        let typed = update(
            &mut host,
            Msg::EditSection {
                section: "issue".into(),
                value: text.clone(),
            },
        );
        // The participant comments in between; both sides sync.
        let commented = comment(&mut other, &format!("c{round}"));
        for answer in server.answer(&commented) {
            run(&mut other, &mut server, answer);
        }
        for answer in server.answer(&typed) {
            run(&mut host, &mut server, answer);
        }
    }
    let summary = Summary::read(&server.doc).expect("summary");
    assert_eq!(summary.sections[0].body, text);
    assert_eq!(threads::threads(&server.doc).len(), 5);
    assert_eq!(host.status().0, "saved");
}

trait Renders {
    fn contains_render(&self, region: Region) -> bool;
}

impl Renders for Vec<Effect> {
    fn contains_render(&self, region: Region) -> bool {
        self.iter()
            .any(|e| matches!(e, Effect::Render(r) if *r == region))
    }
}

fn focuses(effects: &[Effect], focus: &Focus) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Focus(f) if f == focus))
}

fn act(m: &mut Model, action: Action) -> Vec<Effect> {
    update(
        m,
        Msg::Action {
            action,
            opener: None,
        },
    )
}

fn type_into(m: &mut Model, key: &str, value: &str) {
    update(
        m,
        Msg::Input {
            key: key.into(),
            value: value.into(),
        },
    );
}

#[test]
fn a_host_writes_sections_details_and_actions() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Host);
    let effects = act(&mut m, Action::AddSection);
    let new =
        m.ui.editing
            .clone()
            .expect("the new section's editor opens");
    assert!(focuses(
        &effects,
        &Focus::Spot(authoring::heading_spot(&new))
    ));
    for answer in server.answer(&effects) {
        run(&mut m, &mut server, answer);
    }
    // Each message is answered before the next, in order, as over one
    // socket.
    run(
        &mut m,
        &mut server,
        Msg::EditHeading {
            section: new.clone(),
            value: "Utfallet".into(),
        },
    );
    run(
        &mut m,
        &mut server,
        Msg::EditSection {
            section: new.clone(),
            value: "Vi enades om två saker.".into(),
        },
    );
    run(
        &mut m,
        &mut server,
        Msg::Action {
            action: Action::MoveUp {
                section: new.clone(),
            },
            opener: None,
        },
    );
    act(&mut m, Action::EditMeta);
    assert_eq!(m.input("meta-title"), "Betalningsmodeller");
    type_into(&mut m, "meta-hosts", "Sofie, SKR\n\n  Anna, TLV ");
    type_into(&mut m, "meta-meeting-type", "invite-only");
    let saved = act(&mut m, Action::SaveMeta);
    assert!(!m.ui.meta_editing);
    assert!(
        saved.iter().any(|e| matches!(
            e,
            Effect::Fetch { method: "PATCH", body: Some(b), .. } if b.contains("invite-only")
        )),
        "who may see the workshop changes on the server too"
    );
    for answer in server.answer(&saved) {
        run(&mut m, &mut server, answer);
    }
    act(&mut m, Action::AddAction);
    type_into(&mut m, "action-text", "Skicka ut sammanfattningen");
    type_into(&mut m, "action-owner", "Sofie");
    type_into(&mut m, "action-status", "in-progress");
    let saved = act(&mut m, Action::SaveAction);
    for answer in server.answer(&saved) {
        run(&mut m, &mut server, answer);
    }

    let s = Summary::read(&server.doc).expect("summary");
    let order: Vec<&str> = s.sections.iter().map(|x| x.heading.as_str()).collect();
    assert_eq!(order, ["Utfallet", "Frågan"], "moved up");
    assert_eq!(s.sections[0].body, "Vi enades om två saker.");
    assert_eq!(s.workshop.title, "Betalningsmodeller");
    assert_eq!(s.workshop.hosts, ["Sofie, SKR", "Anna, TLV"]);
    assert_eq!(s.workshop.meeting_type, MeetingType::InviteOnly);
    assert_eq!(s.actions.len(), 1);
    assert_eq!(s.actions[0].status, "in-progress");
    assert_eq!(m.status().0, "saved");

    // Deleting asks first.
    act(
        &mut m,
        Action::DeleteSection {
            section: new.clone(),
        },
    );
    assert_eq!(
        Summary::read(m.summary_doc().expect("doc"))
            .expect("summary")
            .sections
            .len(),
        2,
        "nothing deleted before confirming"
    );
    let deleted = act(&mut m, Action::ConfirmDeleteSection { section: new });
    for answer in server.answer(&deleted) {
        run(&mut m, &mut server, answer);
    }
    assert_eq!(
        Summary::read(&server.doc).expect("summary").sections.len(),
        1
    );
}

#[test]
fn participants_do_not_author_the_summary() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let before = m.summary_doc().expect("doc").get_heads();
    act(&mut m, Action::AddSection);
    act(&mut m, Action::EditMeta);
    act(&mut m, Action::AddAction);
    act(
        &mut m,
        Action::MoveDown {
            section: "issue".into(),
        },
    );
    update(
        &mut m,
        Msg::EditHeading {
            section: "issue".into(),
            value: "Kapad".into(),
        },
    );
    assert_eq!(m.summary_doc().expect("doc").get_heads(), before);
    assert!(!m.ui.meta_editing && m.ui.action_editing.is_none());
}

#[test]
fn an_invite_is_made_with_its_limits_and_listed() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Host);
    let effects = act(&mut m, Action::Tab(Tab::Share));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Fetch {
            method: "GET",
            reply: Reply::Invites,
            ..
        }
    )));
    type_into(&mut m, "invite-uses", "zero");
    act(&mut m, Action::Invite);
    assert!(m.ui.notice.is_some(), "a bad use limit is said, not sent");
    type_into(&mut m, "invite-uses", "5");
    type_into(&mut m, "invite-expiry", "30d");
    let effects = act(&mut m, Action::Invite);
    let body = effects
        .iter()
        .find_map(|e| match e {
            Effect::Fetch {
                method: "POST",
                body: Some(body),
                reply: Reply::CreateInvite,
                ..
            } => Some(serde_json::from_str::<Value>(body).expect("json")),
            _ => None,
        })
        .expect("the invite is requested");
    assert_eq!(
        body,
        json!({ "role": "participant", "expiresInSeconds": 2_592_000, "maxUses": 5 })
    );
    let invite = json!({ "id": "i1", "grant": "participant", "role": "participant",
        "state": "valid", "uses": 0, "maxUses": 5, "expiresAt": 1_900_000_000 });
    update(
        &mut m,
        Msg::Fetched {
            reply: Reply::CreateInvite,
            status: 201,
            body: json!({ "invite": invite, "token": "t", "url": "http://x/invite/t" }),
        },
    );
    assert_eq!(
        m.ui.new_invite.as_ref().and_then(|i| i.url.as_deref()),
        Some("http://x/invite/t")
    );
    let sign_in = json!({ "id": "s1", "grant": "sign-in", "role": "sign-in", "uses": 0 });
    update(
        &mut m,
        Msg::Fetched {
            reply: Reply::Invites,
            status: 200,
            body: json!([invite, sign_in]),
        },
    );
    let listed = m.ui.invites.as_ref().expect("listed");
    assert_eq!(listed.len(), 1, "personal sign-in links are not invites");
    assert_eq!(listed[0].max_uses, Some(5));
    assert_eq!(listed[0].expires_at, Some(1_900_000_000_000));
    let effects = act(
        &mut m,
        Action::CopyLink {
            url: "http://x/invite/t".into(),
        },
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Copy(url) if url == "http://x/invite/t"))
    );
}

#[test]
fn an_untouched_edit_composer_sends_the_text_it_shows() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Host);
    let t = {
        let doc = m.summary_doc().expect("doc");
        Sel {
            section: "issue".into(),
            start: 0,
            end: 9,
            quote: "Läkemedel".into(),
            anchor: None,
        }
        .anchored(doc)
    };
    update(&mut m, Msg::Selected(Some(t)));
    act(&mut m, Action::Propose);
    assert_eq!(
        m.input("composer-text"),
        "Läkemedel",
        "starts from the quote"
    );
    type_into(&mut m, "composer-text", "Läkemedlen");
    let proposed = act(&mut m, Action::Submit);
    for answer in server.answer(&proposed) {
        run(&mut m, &mut server, answer);
    }
    let contribution = contributions::contributions(m.summary_doc().expect("doc"))
        .pop()
        .expect("proposed");
    act(
        &mut m,
        Action::EditAccept {
            contribution: contribution.id.clone(),
        },
    );
    let effects = act(&mut m, Action::Submit);
    let body = effects
        .iter()
        .find_map(|e| match e {
            Effect::Fetch {
                body: Some(b),
                reply: Reply::Review,
                ..
            } => Some(b.clone()),
            _ => None,
        })
        .expect("the review is sent");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({ "text": "Läkemedlen" }),
        "not an empty text"
    );
}

#[test]
fn a_comment_whose_passage_went_keeps_its_composer_and_sends_nothing() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let sel = Sel {
        section: "gone".into(),
        start: 0,
        end: 4,
        quote: "Läke".into(),
        anchor: None,
    };
    update(&mut m, Msg::Selected(Some(sel)));
    act(&mut m, Action::Comment);
    type_into(&mut m, "composer-text", "Viktig synpunkt");
    let before = m.summary_doc().expect("doc").get_heads();
    let effects = act(&mut m, Action::Submit);
    assert!(!sends(&effects), "nothing half-written is sent");
    assert_eq!(m.summary_doc().expect("doc").get_heads(), before);
    assert!(m.ui.composer.is_some(), "the composer stays open");
    assert_eq!(m.input("composer-text"), "Viktig synpunkt");
    assert!(m.ui.notice.is_some(), "and says why");
}

#[test]
fn a_server_that_answers_is_alive_while_a_host_types_steadily() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Host);
    act(
        &mut m,
        Action::EditSection {
            section: "issue".into(),
        },
    );
    let mut text = "Läkemedel 😀 och ATMP".to_owned();
    let mut in_flight: Vec<Effect> = Vec::new();
    for key in 0..40 {
        m.now += 500.0;
        text.push('x');
        let typed = update(
            &mut m,
            Msg::EditSection {
                section: "issue".into(),
                value: text.clone(),
            },
        );
        // The answer to the previous keystroke arrives after this one.
        for answer in server.answer(&in_flight) {
            update(&mut m, answer);
        }
        in_flight = typed;
        let ticked = update(&mut m, Msg::Tick);
        assert!(
            !ticked.iter().any(|e| matches!(e, Effect::Disconnect)),
            "offline after {key} keys of steady typing"
        );
    }
    assert_eq!(m.conn, Conn::Online);
}

#[test]
fn a_socket_that_never_joins_is_made_again() {
    let mut server = Server::new();
    let mut m = model(&server, Role::Participant);
    m.now = 1_000.0;
    update(&mut m, Msg::Start);
    let id = server.id;
    run(
        &mut m,
        &mut server,
        Msg::Loaded {
            doc: id,
            saved: None,
            meta: None,
        },
    );
    // The socket never opens (a network that swallows it).
    m.now += JOIN_TIMEOUT_MS / 2.0;
    assert!(
        !update(&mut m, Msg::Tick)
            .iter()
            .any(|e| matches!(e, Effect::Disconnect))
    );
    m.now += JOIN_TIMEOUT_MS;
    assert!(
        update(&mut m, Msg::Tick)
            .iter()
            .any(|e| matches!(e, Effect::Disconnect))
    );
}

#[test]
fn a_local_copy_that_cannot_be_read_is_never_overwritten() {
    let mut server = Server::new();
    let mut m = model(&server, Role::Participant);
    update(&mut m, Msg::Start);
    let effects = update(
        &mut m,
        Msg::LoadFailed {
            doc: server.id,
            error: "quota".into(),
        },
    );
    assert!(m.ui.notice.is_some(), "the user is told");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Store { .. })));
    run(&mut m, &mut server, Msg::SocketOpened);
    let effects = comment(&mut m, "Ändå skickad");
    assert!(sends(&effects), "the change still goes to the server");
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Store { .. })),
        "but the unreadable copy is left alone"
    );
}

/// The id of the newest thread in the summary.
fn newest_thread(m: &Model) -> String {
    threads::threads(m.summary_doc().expect("doc"))
        .into_iter()
        .max_by_key(|t| t.comments.first().map_or(0, |c| c.created_at))
        .expect("a thread")
        .id
}

fn focuses_spot(effects: &[Effect], spot: &Spot) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Focus(Focus::Spot(s)) if s == spot))
}

#[test]
fn a_highlight_focuses_its_thread_and_escape_gives_the_focus_back_to_it() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    comment(&mut m, "Bra fråga");
    let thread = newest_thread(&m);
    m.ui.tab = Some(Tab::History);
    let effects = act(
        &mut m,
        Action::FocusThread {
            thread: thread.clone(),
        },
    );
    assert_eq!(m.ui.focused_thread.as_deref(), Some(thread.as_str()));
    assert_eq!(m.ui.tab, Some(Tab::Comments), "its card is shown");
    assert!(effects.contains_render(Region::Summary), "highlight marked");
    assert!(effects.contains_render(Region::Sidebar), "card focused");
    assert!(focuses_spot(&effects, &margin::card(&thread)));
    // Again (a click into its reply field): nothing moves.
    let effects = act(
        &mut m,
        Action::FocusThread {
            thread: thread.clone(),
        },
    );
    assert!(effects.is_empty(), "{effects:?}");
    // Escape closes it (the phone's sheet), focus back on the highlight.
    let effects = update(&mut m, Msg::Escape);
    assert_eq!(m.ui.focused_thread, None);
    assert!(focuses_spot(&effects, &margin::highlight(&thread)));
    // A thread that is not there focuses nothing.
    act(
        &mut m,
        Action::FocusThread {
            thread: "nope".into(),
        },
    );
    assert_eq!(m.ui.focused_thread, None);
}

#[test]
fn a_focused_resolved_thread_is_shown_under_its_filter() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    comment(&mut m, "Bra fråga");
    let thread = newest_thread(&m);
    act(
        &mut m,
        Action::Resolve {
            thread: thread.clone(),
        },
    );
    act(&mut m, Action::FocusThread { thread });
    assert_eq!(m.ui.filter, Some(Filter::Resolved));
}

#[test]
fn the_toolbar_opens_with_a_selection_and_escape_closes_it_keeping_the_selection() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let sel = Sel {
        section: "issue".into(),
        start: 0,
        end: 4,
        quote: "Läke".into(),
        anchor: None,
    };
    let effects = update(&mut m, Msg::Selected(Some(sel)));
    assert!(m.ui.toolbar);
    assert!(effects.contains_render(Region::Toolbar));
    update(&mut m, Msg::Escape);
    assert!(!m.ui.toolbar, "closed");
    assert!(m.ui.selection.is_some(), "the selection stays");
    // The same words selected again: it comes back.
    let again = m.ui.selection.clone();
    update(&mut m, Msg::Selected(again));
    assert!(m.ui.toolbar);
    // Comment from the toolbar: the composer takes its place.
    update(
        &mut m,
        Msg::Selected(Some(Sel {
            section: "issue".into(),
            start: 5,
            end: 9,
            quote: "el 😀".into(),
            anchor: None,
        })),
    );
    assert!(m.ui.toolbar);
    act(&mut m, Action::Comment);
    assert!(!m.ui.toolbar);
    assert!(matches!(m.ui.composer, Some(Composer::Comment(_))));
    // Selecting nothing closes it.
    act(&mut m, Action::Cancel);
    update(&mut m, Msg::Selected(None));
    assert!(!m.ui.toolbar);
}

#[test]
fn a_reply_opens_in_its_thread_which_is_then_the_focused_one() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    comment(&mut m, "Bra fråga");
    let thread = newest_thread(&m);
    act(
        &mut m,
        Action::Reply {
            thread: thread.clone(),
        },
    );
    assert_eq!(m.ui.focused_thread.as_deref(), Some(thread.as_str()));
    assert!(matches!(&m.ui.composer, Some(Composer::Reply { thread: t }) if *t == thread));
}

#[test]
fn a_section_menu_opens_closes_and_closes_when_used() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Participant);
    let issue = || Action::SectionMenu {
        section: "issue".into(),
    };
    act(&mut m, issue());
    assert_eq!(m.ui.section_menu.as_deref(), Some("issue"));
    act(&mut m, issue());
    assert_eq!(m.ui.section_menu, None, "the same button closes it");
    act(&mut m, issue());
    let effects = update(&mut m, Msg::Escape);
    assert_eq!(m.ui.section_menu, None, "Escape closes it");
    assert!(focuses_spot(
        &effects,
        &Spot::section_control("section-menu", "issue")
    ));
    act(&mut m, issue());
    act(
        &mut m,
        Action::CommentSection {
            section: "issue".into(),
        },
    );
    assert_eq!(m.ui.section_menu, None, "used, it closes");
    assert!(matches!(m.ui.composer, Some(Composer::Comment(_))));
}

#[test]
fn results_shown_away_from_the_reader_are_scrolled_into_view() {
    let mut server = Server::new();
    let mut m = online(&mut server, Role::Host);
    let heads = m
        .summary_doc()
        .expect("doc")
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let effects = act(&mut m, Action::CompareVersion { heads });
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Reveal(css) if css == "#version-view")),
        "{effects:?}"
    );
}

#[test]
fn a_public_reader_is_not_told_their_changes_are_saved() {
    let mut server = Server::new();
    let m = online(&mut server, Role::Public);
    let (state, text) = m.status();
    assert_eq!(state, "saved");
    assert!(!text.contains("Saved"), "{text}");
    assert!(text.contains("Read-only"), "{text}");
}

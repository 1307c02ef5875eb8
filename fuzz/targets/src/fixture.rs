//! The realistic summary document the `incoming` target runs on: a
//! workshop's summary (metadata, sections, actions) written by its host,
//! with threads, replies, a reaction and a contribution by two
//! participants. Deterministic (fixed actors, no clock), so corpus frames
//! that build on its heads keep applying.

use automerge::{ActorId, Automerge};
use docsync::DocumentId;
use model::contributions::{self, Proposal};
use model::summary::{Action, MeetingType, Section, Summary, Workshop};
use model::threads;

/// The fixture document's id.
pub const DOC_ID: [u8; 16] = [0x5f; 16];
/// The users of the fixture and the actors they wrote with.
pub const HOST: (&str, [u8; 16]) = ("alice", [0xa1; 16]);
pub const PARTICIPANT: (&str, [u8; 16]) = ("bob", [0xb0; 16]);
pub const OTHER_PARTICIPANT: (&str, [u8; 16]) = ("carol", [0xc0; 16]);

/// The fixture document's id as a [`DocumentId`].
pub fn doc_id() -> DocumentId {
    DocumentId::from_bytes(DOC_ID)
}

thread_local! {
    static DOC: Automerge = build();
}

/// A fresh copy of the fixture document.
pub fn document() -> Automerge {
    DOC.with(Automerge::clone)
}

/// The summary the host wrote.
pub fn summary() -> Summary {
    let section = |id: &str, heading: &str, body: &str| Section {
        id: id.into(),
        heading: heading.into(),
        body: body.into(),
    };
    Summary {
        workshop: Workshop {
            title: "Hållbar mobilitet i Umeå".into(),
            when: "2025-03-14".into(),
            hosts: vec!["Alice".into()],
            stakeholders: vec!["Kommunen".into(), "Västerbottens museum".into()],
            ambassadors: vec!["Bob".into()],
            meeting_type: MeetingType::Open,
            format: "workshop, open, swedish".into(),
            language: "sv".into(),
            registration: "https://example.org/anmalan".into(),
        },
        sections: vec![
            section(
                "s1",
                "Bakgrund",
                "Kollektivtrafiken når inte alla stadsdelar.\n\nCykelvägarna är osammanhängande — särskilt vintertid.",
            ),
            section(
                "s2",
                "Förslag",
                "Fler pendelbussar 🚌 morgon och kväll.\nEn cykelplan för hela kommunen.",
            ),
            section("s3", "Nästa steg", ""),
        ],
        actions: vec![Action {
            id: "a1".into(),
            text: "Sammanställ cykelstråken".into(),
            owner: "Bob".into(),
            due: "2025-04-01".into(),
            status: "open".into(),
        }],
    }
}

fn build() -> Automerge {
    build_fixture().unwrap_or_else(|e| panic!("the fixture document must build: {e}"))
}

fn build_fixture() -> Result<Automerge, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut doc = Automerge::new().with_actor(ActorId::from(HOST.1));
    summary().write_new(&mut doc).map_err(|e| err(&e))?;
    let mut tx = doc.transaction();
    threads::create_thread(&mut tx, "t-host", "s1", 0, 17, "Vilka stadsdelar?", 0)
        .map_err(|e| err(&e))?;
    tx.commit();

    doc.set_actor(ActorId::from(PARTICIPANT.1));
    let mut tx = doc.transaction();
    threads::create_thread(&mut tx, "t-bob", "s2", 5, 16, "Hur ofta?", 0).map_err(|e| err(&e))?;
    threads::add_comment(&mut tx, "t-host", "t-host-1", "Ersboda och Ålidhem.", 0)
        .map_err(|e| err(&e))?;
    let proposal = Proposal::Replace {
        section: "s2".into(),
        start: 0,
        end: 4,
        text: "Tätare".into(),
    };
    contributions::propose(&mut tx, "c-bob", &proposal, "Tydligare", 0).map_err(|e| err(&e))?;
    tx.commit();

    let carol = ActorId::from(OTHER_PARTICIPANT.1);
    doc.set_actor(carol.clone());
    let mut tx = doc.transaction();
    threads::add_comment(&mut tx, "t-bob", "t-bob-1", "Var tionde minut.", 0)
        .map_err(|e| err(&e))?;
    threads::react(&mut tx, "t-bob", "t-bob-0", "👍", &carol, true).map_err(|e| err(&e))?;
    tx.commit();
    Ok(doc)
}

//! automerge sync in time independent of history, for live editing.
//!
//! [`receive_sync_message`] replaces `SyncDoc::receive_sync_message`, and
//! [`nothing_to_send`] tells, without generating it, that
//! `generate_sync_message` would return `None`.
//!
//! automerge's `SyncDoc::receive_sync_message` walks every ancestor of the
//! sender's heads on *every* message (to trim the hashes it has sent), so its
//! cost grows with the document's whole history: at a few thousand changes a
//! pure acknowledgement already costs more than the edit it acknowledges.
//! [`receive_sync_message`] gives the same result, in time independent of
//! history, for the messages live editing is made of:
//!
//! - an **acknowledgement**: no changes, heads that we know;
//! - a **change**: new changes on top of what we have.
//!
//! Every other message (empty heads, read-only state, many outstanding
//! hashes) goes to automerge's own implementation. The one deliberate
//! difference: `sent_hashes` is trimmed only of the sender's heads, not of
//! all their ancestors, so it may keep hashes the peer already has. That is
//! harmless (those are exactly the changes we must not send again) and
//! bounded: an acknowledgement of our current heads clears it, and past
//! [`MAX_SENT_HASHES`] the full implementation runs. The property tests
//! below check every step against automerge's.

use std::collections::HashSet;

use automerge::sync::{Capability, ChunkList, Message, MessageFlags, State, SyncDoc};
use automerge::{Automerge, AutomergeError, ChangeHash, ReadDoc};

/// Above this many unacknowledged sent hashes, use the full implementation.
pub const MAX_SENT_HASHES: usize = 1024;

/// Applies `message` from a peer to `doc` and that peer's sync `state`,
/// exactly like `SyncDoc::receive_sync_message` (see the module docs).
pub fn receive_sync_message(
    doc: &mut Automerge,
    state: &mut State,
    message: Message,
) -> Result<(), AutomergeError> {
    if !takes_fast_path(doc, state, &message) {
        return doc.receive_sync_message(state, message);
    }
    receive_fast(doc, state, message)
}

/// What the fast paths need of a document: its heads, whether it holds
/// some changes, and a way to take new ones. An [`Automerge`] document is
/// one; [`crate::relay::Relay`] (changes taken before they are applied) is
/// another.
pub trait ChangeLog {
    /// Our heads, sorted.
    fn heads(&self) -> Vec<ChangeHash>;
    /// Whether every hash is a change we hold.
    fn knows(&self, hashes: &[ChangeHash]) -> bool;
    /// Takes the changes of a sync message (chunks for `load_incremental`).
    fn add(&mut self, chunks: &ChunkList) -> Result<(), AutomergeError>;
}

impl ChangeLog for Automerge {
    fn heads(&self) -> Vec<ChangeHash> {
        self.get_heads()
    }

    fn knows(&self, hashes: &[ChangeHash]) -> bool {
        all_known(self, hashes)
    }

    fn add(&mut self, chunks: &ChunkList) -> Result<(), AutomergeError> {
        let bytes: Vec<u8> = chunks.iter().flatten().copied().collect();
        self.load_incremental(&bytes).map(|_| ())
    }
}

/// Whether [`receive_fast`] may take `message`: live editing, not a
/// (re)start of sync, no changes into a read-only state.
pub fn takes_fast_path(log: &impl ChangeLog, state: &State, message: &Message) -> bool {
    // A read-only state ignores changes; without changes it is like any.
    (!state.read_only || message.changes.is_empty())
        && !message.heads.is_empty()
        && state.sent_hashes.len() <= MAX_SENT_HASHES
        && (!message.changes.is_empty() || log.knows(&message.heads))
}

/// The fast path of [`receive_sync_message`], for any [`ChangeLog`]; only
/// for messages [`takes_fast_path`] accepts.
pub fn receive_fast(
    log: &mut impl ChangeLog,
    state: &mut State,
    message: Message,
) -> Result<(), AutomergeError> {
    let before = log.heads();
    let is_ack = message.changes.is_empty() && sorted(&message.heads) == before;
    state.in_flight = false;
    let Message {
        heads,
        changes,
        need,
        have,
        flags,
        ..
    } = message;
    if let Some(flags) = flags {
        // Any peer that sends flags understands V2 messages.
        let mut capabilities = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        if flags.contains(MessageFlags::SYNC_RESET) {
            state.sent_hashes.clear();
        }
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }

    if is_ack {
        // They have every change we have, so every change we sent them.
        state.sent_hashes.clear();
        state.last_sent_heads.clone_from(&heads);
    } else {
        if !changes.is_empty() {
            log.add(&changes)?;
            state.shared_heads = advance_heads(&before, &log.heads(), &state.shared_heads);
        }
        state.sent_hashes.retain(|h| !heads.contains(h));
    }

    if log.knows(&heads) {
        state.shared_heads.clone_from(&heads);
    } else {
        let known = heads.iter().filter(|h| log.knows(std::slice::from_ref(h)));
        let mut shared: Vec<ChangeHash> = state.shared_heads.iter().chain(known).copied().collect();
        shared.sort();
        shared.dedup();
        state.shared_heads = shared;
    }
    state.their_have = Some(have);
    state.their_heads = Some(heads);
    state.their_need = Some(need);
    Ok(())
}

/// True only if `generate_sync_message(doc, state)` would return `None`: the
/// peer has acknowledged our current heads, needs nothing, and we have
/// already answered. Cheap (no history walk); `false` means "maybe".
///
/// Mirrors the early return of automerge's generator: heads unchanged since
/// our last message, a response already sent, their heads equal to ours (so
/// no change of ours is missing on their side, and their bloom filter covers
/// everything), nothing needed and no reset pending.
pub fn nothing_to_send(log: &impl ChangeLog, state: &State) -> bool {
    if !state.have_responded || state.needs_reset {
        return false;
    }
    let heads = log.heads();
    let acknowledged = state.last_sent_heads == heads && state.their_heads.as_ref() == Some(&heads);
    let needs_nothing = state.their_need.as_ref().is_some_and(Vec::is_empty);
    // A `have` naming changes we lack makes the generator answer with a reset.
    let haves_known = state
        .their_have
        .as_ref()
        .and_then(|h| h.first())
        .is_none_or(|h| log.knows(&h.last_sync));
    acknowledged && needs_nothing && haves_known && !heads.is_empty()
}

/// Checks a decoded sync message from the network before automerge uses it.
///
/// automerge trusts the parameters of a peer's bloom filter: zero bits makes
/// its probe computation divide by zero (a panic), a huge probe count makes
/// it allocate gigabytes. automerge itself sends at most one `have`, a few
/// heads, and filters of 10 bits per entry with 7 probes.
pub fn validate(message: &Message) -> Result<(), &'static str> {
    if message.have.len() > 1 {
        return Err("more than one `have` in a sync message");
    }
    if message.heads.len() > MAX_HEADS {
        return Err("too many heads in a sync message");
    }
    for have in &message.have {
        if have.last_sync.len() > MAX_HEADS {
            return Err("too many heads in a `have`");
        }
        let bytes = have.bloom.to_bytes();
        if bytes.is_empty() {
            continue;
        }
        let mut rest = bytes.as_slice();
        let mut next = || read_leb128(&mut rest);
        let (Some(_entries), Some(bits), Some(probes)) = (next(), next(), next()) else {
            return Err("malformed bloom filter");
        };
        if !(1..=32).contains(&bits) || !(1..=32).contains(&probes) || rest.is_empty() {
            return Err("bloom filter parameters out of range");
        }
    }
    Ok(())
}

/// Most heads accepted in one message (a document has one head per
/// concurrent branch; thousands means abuse).
pub const MAX_HEADS: usize = 1024;

fn read_leb128(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Whether every hash is an applied change.
///
/// `get_missing_deps` is a lookup per hash when no change waits for its
/// dependencies (the normal case), and an empty answer proves every hash
/// applied. A non-empty answer may come from the waiting queue alone, so
/// each hash is then looked up on its own.
pub fn all_known(doc: &Automerge, heads: &[ChangeHash]) -> bool {
    doc.get_missing_deps(heads).is_empty()
        || heads
            .iter()
            .all(|h| doc.get_change_meta_by_hash(h).is_some())
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}

/// Our shared heads with a peer after we applied its changes: our new heads,
/// plus the old shared heads that are still heads.
fn advance_heads(old: &[ChangeHash], new: &[ChangeHash], shared: &[ChangeHash]) -> Vec<ChangeHash> {
    let new_set: HashSet<&ChangeHash> = new.iter().collect();
    let mut advanced: Vec<ChangeHash> = new
        .iter()
        .filter(|h| !old.contains(h))
        .chain(shared.iter().filter(|h| new_set.contains(h)))
        .copied()
        .collect();
    advanced.sort();
    advanced.dedup();
    advanced
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};
    use proptest::prelude::*;

    fn new_doc(seed: &str) -> Automerge {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, seed).expect("splice");
        tx.commit();
        doc
    }

    fn edit(doc: &mut Automerge, at: usize, s: &str) {
        let text = doc.get(ROOT, "text").expect("get").expect("text").1;
        let len = doc.length(&text);
        let mut tx = doc.transaction();
        tx.splice_text(&text, at % (len + 1), 0, s).expect("splice");
        tx.commit();
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Peer `i` edits its copy.
        Edit(usize, usize),
        /// Peer `i` sends its next sync message to peer `j`, if it has one.
        Send(usize, usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                (0..3usize, 0..50usize).prop_map(|(i, at)| Step::Edit(i, at)),
                (0..3usize, 0..3usize).prop_map(|(i, j)| Step::Send(i, j)),
            ],
            1..80,
        )
    }

    struct Peer {
        doc: Automerge,
        /// Sync state towards each other peer.
        states: Vec<State>,
    }

    /// Runs `steps` among three peers. Every receive is done twice, on
    /// clones: with our implementation and with automerge's. Their results
    /// must agree (documents equal; states equal but for `sent_hashes`,
    /// where ours may keep extra, already-sent hashes). Our result is kept.
    fn run(steps: &[Step]) -> Vec<Peer> {
        let base = new_doc("Läkemedelsverket 😀 — ATMP");
        let mut peers: Vec<Peer> = (0..3)
            .map(|i| Peer {
                doc: base
                    .fork()
                    .with_actor(automerge::ActorId::from([i as u8 + 1; 16])),
                states: (0..3).map(|_| State::new()).collect(),
            })
            .collect();
        for step in steps {
            match *step {
                Step::Edit(i, at) => edit(&mut peers[i].doc, at, &format!("<{i}>")),
                Step::Send(i, j) if i != j => {
                    let sender = &mut peers[i];
                    if nothing_to_send(&sender.doc, &sender.states[j]) {
                        let mut probe = sender.states[j].clone();
                        assert!(
                            sender.doc.generate_sync_message(&mut probe).is_none(),
                            "nothing_to_send was wrong"
                        );
                    }
                    let Some(message) = sender.doc.generate_sync_message(&mut sender.states[j])
                    else {
                        continue;
                    };
                    let receiver = &mut peers[j];
                    let mut expected_doc = receiver.doc.clone();
                    let mut expected_state = receiver.states[i].clone();
                    let old_sent = receiver.states[i].sent_hashes.clone();
                    expected_doc
                        .receive_sync_message(&mut expected_state, message.clone())
                        .expect("automerge receives");
                    receive_sync_message(&mut receiver.doc, &mut receiver.states[i], message)
                        .expect("we receive");
                    let ours = &receiver.states[i];
                    assert_eq!(receiver.doc.get_heads(), expected_doc.get_heads());
                    assert_eq!(ours.shared_heads, expected_state.shared_heads);
                    assert_eq!(ours.last_sent_heads, expected_state.last_sent_heads);
                    assert_eq!(ours.their_heads, expected_state.their_heads);
                    assert_eq!(ours.their_need, expected_state.their_need);
                    assert_eq!(ours.their_have, expected_state.their_have);
                    assert_eq!(ours.in_flight, expected_state.in_flight);
                    assert_eq!(ours.their_capabilities, expected_state.their_capabilities);
                    assert_eq!(ours.peer_read_only, expected_state.peer_read_only);
                    assert!(ours.sent_hashes.is_superset(&expected_state.sent_hashes));
                    assert!(ours.sent_hashes.is_subset(&old_sent));
                }
                Step::Send(..) => {}
            }
        }
        peers
    }

    /// Syncs every pair until no peer has anything to send.
    fn settle(peers: &mut [Peer]) {
        for _ in 0..100 {
            let mut quiet = true;
            for i in 0..peers.len() {
                for j in 0..peers.len() {
                    if i == j {
                        continue;
                    }
                    let sender = &mut peers[i];
                    if let Some(m) = sender.doc.generate_sync_message(&mut sender.states[j]) {
                        quiet = false;
                        let receiver = &mut peers[j];
                        receive_sync_message(&mut receiver.doc, &mut receiver.states[i], m)
                            .expect("receive");
                    }
                }
            }
            if quiet {
                return;
            }
        }
        panic!("sync did not settle");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn agrees_with_automerge_and_converges(steps in steps()) {
            let mut peers = run(&steps);
            settle(&mut peers);
            let heads = peers[0].doc.get_heads();
            for p in &peers {
                prop_assert_eq!(p.doc.get_heads(), heads.clone());
            }
        }
    }

    #[test]
    fn hostile_bloom_filters_are_rejected() {
        use automerge::sync::{BloomFilter, Have};
        let mut doc = new_doc("x");
        let mut message = doc
            .generate_sync_message(&mut State::new())
            .expect("a message");
        assert_eq!(validate(&message), Ok(()));
        // entries=1, bits per entry=0, probes=7: automerge would divide by zero.
        let mut checked = 0;
        for bloom in [
            vec![1u8, 0, 7],
            vec![1, 10, 0x80, 0x80, 0x80, 0x80, 0x0f, 0xff],
            vec![1, 10, 7],
        ] {
            let Ok(bloom) = BloomFilter::try_from(bloom.as_slice()) else {
                continue;
            };
            message.have = vec![Have {
                last_sync: vec![],
                bloom,
            }];
            assert!(validate(&message).is_err());
            checked += 1;
        }
        assert!(checked >= 1, "the zero-bit filter parses, and is refused");
        message.have = vec![Have::default(), Have::default()];
        assert!(validate(&message).is_err());
        let _ = &mut doc;
    }

    #[test]
    fn acknowledgements_take_the_fast_path() {
        // A peer that has everything we have: the ack must clear sent hashes.
        let steps = [
            Step::Edit(0, 3),
            Step::Send(0, 1),
            Step::Send(1, 0),
            Step::Send(0, 1),
        ];
        let peers = run(&steps);
        assert!(
            !peers[0].states[1].sent_hashes.is_empty(),
            "the change was sent"
        );
        let peers = run(&[&steps[..], &[Step::Send(1, 0)]].concat());
        assert!(
            peers[0].states[1].sent_hashes.is_empty(),
            "and acknowledged"
        );
        assert!(nothing_to_send(&peers[0].doc, &peers[0].states[1]));
    }
}

//! A document that relays live changes before it applies them.
//!
//! automerge 0.12 applies a change by walking the whole object it touches:
//! on a long text (the paper editing trace: 260k operations) one keystroke
//! costs ~25 ms to apply, and generating the message that relays it another
//! ~3 ms. A sync server needs neither for a keystroke: it must store the
//! change, tell the sender it has it, and pass it on. [`Relay`] does just
//! that for causally ready changes and keeps them *pending*; they are applied
//! to the automerge document in one batch (one walk for all of them) when
//! the document is read, when sync leaves the live-editing fast path, or
//! when the owner calls [`Relay::flush`] (the server does so when the
//! document goes quiet).
//!
//! What stays exactly automerge's: every sync message that is not live
//! editing (first sync, reconnects, concurrent branches, read-only peers)
//! flushes first and goes through automerge (and [`fast_sync`]). The
//! messages built here are the ones automerge would build in the same
//! state, but for the bloom filter, which covers the pending changes
//! exactly instead of walking history; the property tests below check
//! every step against a plain automerge peer.
//!
//! A stored document may also stay **unloaded** ([`Relay::unloaded`]): the
//! saved bytes and the heads their header records. Loading the paper trace
//! takes ~0.7 s and ~250 MB at its peak, yet what most peers ask of it
//! needs neither: a peer that has nothing is sent the saved document itself
//! (automerge's own answer to such a peer, [`Relay::generate`]), an
//! acknowledgement of our heads and a host's live change on top of them are
//! taken as above. Anything that needs the history (a change that is not
//! provably new, a peer with part of the document, a reader of the
//! document, applying the pending changes) loads it first.

use std::collections::{HashMap, HashSet};

use automerge::sync::{
    BloomFilter, Capability, ChunkList, Have, Message, MessageFlags, MessageVersion, State, SyncDoc,
};
use automerge::{Automerge, AutomergeError, Change, ChangeHash, ReadDoc};

use crate::fast_sync::{self, ChangeLog};

/// An automerge document with changes taken but not yet applied.
#[derive(Clone)]
pub struct Relay {
    /// Empty while `saved` holds the document.
    doc: Automerge,
    /// The document, saved and not loaded yet.
    saved: Option<Saved>,
    /// Changes stored and relayed but not applied to `doc`, in causal order.
    pending: Vec<Change>,
    pending_index: HashMap<ChangeHash, usize>,
    /// Our heads, pending changes included (sorted).
    heads: Vec<ChangeHash>,
    /// Sorted heads of `doc` plus the first k pending changes, to k.
    prefixes: HashMap<Vec<ChangeHash>, usize>,
    /// Changes taken since the last [`Relay::take_unsaved`], as chunks for
    /// `load_incremental`.
    unsaved: Vec<u8>,
    /// Applying pending changes failed: the document may be inconsistent
    /// and must be loaded again.
    poisoned: bool,
    /// The changes of the message being received, already decoded (see
    /// [`Relay::receive_checked`]): the fast path takes these instead of
    /// decoding the message's bytes again.
    decoded: Vec<Change>,
}

/// A saved document and the heads its header records.
#[derive(Clone)]
struct Saved {
    bytes: Vec<u8>,
    /// Sorted.
    heads: Vec<ChangeHash>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("heads", &self.heads)
            .field("pending", &self.pending.len())
            .field("loaded", &self.saved.is_none())
            .finish_non_exhaustive()
    }
}

impl Relay {
    pub fn new(doc: Automerge) -> Self {
        let mut relay = Self {
            doc,
            saved: None,
            pending: Vec::new(),
            pending_index: HashMap::new(),
            heads: Vec::new(),
            prefixes: HashMap::new(),
            unsaved: Vec::new(),
            poisoned: false,
            decoded: Vec::new(),
        };
        relay.reset_heads();
        relay
    }

    /// A saved document (one document chunk, as the store holds it after
    /// compaction), loaded only when something needs its history. `None`
    /// if `bytes` is not one document chunk whose header can be read.
    pub fn unloaded(bytes: Vec<u8>) -> Option<Self> {
        let heads = crate::chunks::document_heads(&bytes)?;
        let mut relay = Self::new(Automerge::new());
        relay.saved = Some(Saved { bytes, heads });
        relay.reset_heads();
        Some(relay)
    }

    /// Whether the document is loaded (see [`Relay::unloaded`]).
    pub fn is_loaded(&self) -> bool {
        self.saved.is_none()
    }

    /// Loads the saved document, if it is not loaded yet. Pending changes
    /// stay pending (they are on top of it). A saved document automerge
    /// cannot load, or whose heads are not those its header records,
    /// poisons the document (the owner loads it again from the store).
    pub fn load(&mut self) -> Result<(), AutomergeError> {
        let Some(saved) = self.saved.take() else {
            return Ok(());
        };
        let loaded = std::panic::catch_unwind(|| Automerge::load(&saved.bytes));
        match loaded {
            Ok(Ok(doc)) if doc.get_heads() == saved.heads => {
                self.doc = doc;
                Ok(())
            }
            _ => {
                self.poisoned = true;
                Err(AutomergeError::Fail)
            }
        }
    }

    /// Our heads, pending changes included.
    pub fn heads(&self) -> &[ChangeHash] {
        &self.heads
    }

    /// How many changes wait to be applied.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Applies the pending changes to the document (one batch).
    ///
    /// automerge 0.12 panics on some malformed changes it cannot tell from
    /// good ones before applying them. Such a panic is an error here; the
    /// document may then be inconsistent and must be loaded again by the
    /// caller (the server's actor stops on this error).
    pub fn flush(&mut self) -> Result<(), AutomergeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.load()?;
        let pending = std::mem::take(&mut self.pending);
        let doc = &mut self.doc;
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.apply_changes(pending)));
        self.reset_heads();
        let outcome = outcome.unwrap_or(Err(AutomergeError::Fail));
        self.poisoned |= outcome.is_err();
        outcome
    }

    /// Whether applying pending changes ever failed (see [`Relay::flush`]):
    /// then the document must be loaded again, whoever saw the error.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The document with every change applied.
    pub fn doc(&mut self) -> Result<&Automerge, AutomergeError> {
        self.load()?;
        self.flush()?;
        Ok(&self.doc)
    }

    /// Runs `f` on the document with every change applied; what it adds is
    /// kept for [`Relay::take_unsaved`].
    pub fn edit<T>(&mut self, f: impl FnOnce(&mut Automerge) -> T) -> Result<T, AutomergeError> {
        self.load()?;
        self.flush()?;
        let before = self.doc.get_heads();
        let out = f(&mut self.doc);
        if self.doc.get_heads() != before {
            self.unsaved.extend(self.doc.save_after(&before));
            self.reset_heads();
        }
        Ok(out)
    }

    /// Takes `doc`, a whole history loaded and checked at once, as the
    /// document; it is stored as one saved document. Only while this
    /// document has no changes at all (applied or pending).
    pub fn adopt(&mut self, doc: Automerge) -> Result<(), AutomergeError> {
        if !self.heads.is_empty() || !self.pending.is_empty() {
            return Err(AutomergeError::Fail);
        }
        self.doc = doc;
        self.unsaved = self.doc.save();
        self.reset_heads();
        Ok(())
    }

    /// The changes taken since the last call, as one chunk to store.
    pub fn take_unsaved(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.unsaved)
    }

    /// Like [`Relay::receive`], for a message whose changes the caller has
    /// decoded and checked already: `changes` are exactly the changes of
    /// `message.changes`, in order. On the live path they are taken as
    /// they are, so a change is decoded once between the network and the
    /// store.
    pub fn receive_checked(
        &mut self,
        state: &mut State,
        message: Message,
        changes: Vec<Change>,
    ) -> Result<(), AutomergeError> {
        self.decoded = changes;
        let outcome = self.receive(state, message);
        self.decoded.clear();
        outcome
    }

    /// Takes changes durable elsewhere (another node's) the way live
    /// changes are taken: pending, relayed, applied later in one batch,
    /// without touching the document. Changes already known are dropped;
    /// the others may come in any order. Returns `false`, taking nothing,
    /// unless every new change has a valid checksum and its dependencies
    /// among ours or the others: the caller then loads them through
    /// automerge.
    pub fn take_ready(&mut self, changes: Vec<Change>) -> bool {
        // Unloaded, known changes cannot be told apart: automerge decides.
        if !self.is_loaded() || !self.doc.get_missing_deps(&[]).is_empty() {
            return false;
        }
        let mut waiting: Vec<Change> = Vec::new();
        for change in changes {
            if !self.knows(&[change.hash()]) && !waiting.iter().any(|c| c.hash() == change.hash()) {
                if !checksum_valid(&change) {
                    return false;
                }
                waiting.push(change);
            }
        }
        // Causal order: each pass takes those whose dependencies are known
        // (pending included) or taken in an earlier pass.
        let mut ordered = Vec::with_capacity(waiting.len());
        let mut taken: std::collections::HashSet<ChangeHash> = std::collections::HashSet::new();
        while !waiting.is_empty() {
            let before = waiting.len();
            let mut i = 0;
            while i < waiting.len() {
                let ready = waiting[i]
                    .deps()
                    .iter()
                    .all(|d| taken.contains(d) || self.knows(std::slice::from_ref(d)));
                if ready {
                    let change = waiting.swap_remove(i);
                    taken.insert(change.hash());
                    ordered.push(change);
                } else {
                    i += 1;
                }
            }
            if waiting.len() == before {
                return false;
            }
        }
        for change in ordered {
            self.push_pending(change);
        }
        true
    }

    /// Receives a sync message like [`fast_sync::receive_sync_message`]:
    /// acknowledgements and causally ready changes without touching the
    /// document, anything else through it.
    pub fn receive(&mut self, state: &mut State, message: Message) -> Result<(), AutomergeError> {
        if message.heads.is_empty() && message.changes.is_empty() {
            receive_from_nothing(state, message);
            return Ok(());
        }
        if fast_sync::takes_fast_path(self, state, &message) && self.all_ready(&message.changes) {
            return fast_sync::receive_fast(self, state, message);
        }
        self.edit(|doc| fast_sync::receive_sync_message(doc, state, message))?
    }

    /// The next sync message for a peer, like automerge's
    /// `generate_sync_message`; built here when the peer has our document up
    /// to some pending change and asks for nothing else.
    pub fn generate(&mut self, state: &mut State) -> Result<Option<Message>, AutomergeError> {
        if let Some(message) = self.generate_whole(state) {
            return Ok(message);
        }
        if let Some(message) = self.generate_live(state) {
            return Ok(message);
        }
        self.load()?;
        self.flush()?;
        Ok(self.doc.generate_sync_message(state))
    }

    /// The answer to a peer that has nothing and reads V2 messages: the
    /// whole document, saved (as automerge sends it: `send_doc`), with the
    /// pending changes after it. Built from the saved bytes when unloaded.
    ///
    /// automerge's `have` would be a bloom filter of every change since our
    /// shared heads (none): on the paper trace 325 KB, and all the hashes
    /// (a load) to build it. Ours says we have our heads (`last_sync`) and
    /// nothing since (an empty filter): once the peer has taken the
    /// document it holds those heads, so it sends us exactly its own
    /// changes after them, which is what automerge's filter leads to.
    fn generate_whole(&mut self, state: &mut State) -> Option<Option<Message>> {
        let v2 = state
            .their_capabilities
            .as_ref()
            .is_some_and(|c| c.contains(&Capability::MessageV2));
        let from_nothing = state.their_heads.as_ref().is_some_and(Vec::is_empty)
            && state.their_need.as_ref().is_some_and(Vec::is_empty);
        if !v2
            || !from_nothing
            || state.needs_reset
            || state.peer_read_only
            || self.heads.is_empty()
        {
            return None;
        }
        if state.have_responded {
            // Sent already, and they have not answered yet: what is new
            // since goes the usual way (not the whole document again).
            if state.last_sent_heads == self.heads {
                return Some(None);
            }
            return None;
        }
        let saved = match &self.saved {
            Some(saved) => saved.bytes.clone(),
            None => self.doc.save(),
        };
        let mut whole = saved;
        for change in &self.pending {
            whole.extend_from_slice(change.raw_bytes());
        }
        let flags = our_flags(state);
        state.have_responded = true;
        state.last_sent_heads.clone_from(&self.heads);
        state.in_flight = true;
        Some(Some(Message {
            heads: self.heads.clone(),
            need: Vec::new(),
            have: vec![Have {
                last_sync: self.heads.clone(),
                bloom: BloomFilter::default(),
            }],
            changes: ChunkList::from(vec![whole]),
            flags: Some(flags),
            version: MessageVersion::V2,
        }))
    }

    /// `Some(answer)` when the live path decides, `None` to fall back.
    fn generate_live(&self, state: &mut State) -> Option<Option<Message>> {
        // Changes automerge holds back for missing dependencies make it ask
        // for those (`need`): let automerge answer.
        if state.needs_reset
            || !state.their_need.as_ref().is_some_and(Vec::is_empty)
            || !self.doc.get_missing_deps(&[]).is_empty()
        {
            return None;
        }
        // They have our document up to pending change `from`, and we share
        // up to pending change `shared` (automerge's bloom filter covers
        // what we have since our shared heads).
        let from = *self.prefixes.get(&sorted(state.their_heads.as_ref()?))?;
        let shared = *self.prefixes.get(&sorted(&state.shared_heads))?;
        let their_have_known = state
            .their_have
            .as_ref()
            .and_then(|h| h.first())
            .is_none_or(|h| self.knows(&h.last_sync));
        if !their_have_known {
            return None;
        }
        // A peer that reads only is sent no changes (as automerge does).
        let to_send: Vec<&Change> = if state.peer_read_only {
            Vec::new()
        } else {
            self.pending[from..]
                .iter()
                .filter(|c| !state.sent_hashes.contains(&c.hash()))
                .collect()
        };
        let heads_unchanged = state.last_sent_heads == self.heads;
        let heads_equal = state.their_heads.as_ref() == Some(&self.heads);
        let quiet = (heads_equal || state.read_only) && to_send.is_empty();
        if heads_unchanged && state.have_responded && (quiet || state.in_flight) {
            return Some(None);
        }
        let have = Have {
            last_sync: state.shared_heads.clone(),
            bloom: BloomFilter::from_hashes(self.pending[shared..].iter().map(Change::hash)),
        };
        let v2 = state
            .their_capabilities
            .as_ref()
            .is_some_and(|c| c.contains(&Capability::MessageV2));
        let (changes, version) = if v2 {
            let joined: Vec<u8> = to_send
                .iter()
                .flat_map(|c| c.raw_bytes())
                .copied()
                .collect();
            let chunks = if joined.is_empty() {
                vec![]
            } else {
                vec![joined]
            };
            (chunks, MessageVersion::V2)
        } else {
            let chunks = to_send.iter().map(|c| c.raw_bytes().to_vec()).collect();
            (chunks, MessageVersion::V1)
        };
        let flags = our_flags(state);
        state.have_responded = true;
        state.last_sent_heads.clone_from(&self.heads);
        state.sent_hashes.extend(to_send.iter().map(|c| c.hash()));
        state.in_flight = true;
        Some(Some(Message {
            heads: self.heads.clone(),
            need: Vec::new(),
            have: vec![have],
            changes: ChunkList::from(changes),
            flags: Some(flags),
            version,
        }))
    }

    /// Whether every chunk is one change we lack whose dependencies we hold
    /// (or that come earlier in the message), and automerge holds back no
    /// changes of its own.
    fn all_ready(&self, chunks: &ChunkList) -> bool {
        // Changes automerge holds back for missing dependencies would be
        // released by ours, unseen by our heads: let automerge do it.
        if !self.doc.get_missing_deps(&[]).is_empty() {
            return false;
        }
        // A set: a whole history may come in one message (260k changes).
        let mut seen = HashSet::new();
        let decoded = self.decoded_for(chunks);
        chunks.iter().enumerate().all(|(i, chunk)| {
            let parsed;
            let change = match decoded {
                Some(changes) => &changes[i],
                None => match Change::from_bytes(chunk.to_vec()) {
                    Ok(c) => {
                        parsed = c;
                        &parsed
                    }
                    Err(_) => return false,
                },
            };
            let ready = checksum_valid(change)
                && self.provably_new(change, &seen)
                && change
                    .deps()
                    .iter()
                    .all(|d| seen.contains(d) || self.knows(std::slice::from_ref(d)));
            seen.insert(change.hash());
            ready
        })
    }

    /// The decoded changes of `chunks`, if the caller gave them (one per
    /// chunk, same bytes).
    fn decoded_for(&self, chunks: &ChunkList) -> Option<&[Change]> {
        let matches = self.decoded.len() == chunks.len()
            && self
                .decoded
                .iter()
                .zip(chunks.iter())
                .all(|(c, chunk)| c.raw_bytes() == chunk);
        matches.then_some(self.decoded.as_slice())
    }

    /// Whether `change` is not among ours, `seen` being new changes that
    /// come before it. Loaded, automerge knows. Unloaded, only the pending
    /// changes and the saved heads are known by hash; a change is then new
    /// if it depends on something and only on saved heads, pending changes
    /// or `seen`: every saved change is an ancestor of a saved head, and
    /// no change is both a descendant of one head and an ancestor of
    /// another.
    fn provably_new(&self, change: &Change, seen: &HashSet<ChangeHash>) -> bool {
        let hash = change.hash();
        let Some(saved) = &self.saved else {
            return !self.knows(&[hash]);
        };
        !self.pending_index.contains_key(&hash)
            && !change.deps().is_empty()
            && change.deps().iter().all(|d| {
                seen.contains(d) || self.pending_index.contains_key(d) || saved.heads.contains(d)
            })
    }

    /// Loads the document unless each of `changes` is pending already or
    /// provably new (see `Relay::provably_new`): then [`ChangeLog::knows`]
    /// tells exactly which of them we have.
    pub fn load_unless_provably_new(&mut self, changes: &[Change]) -> Result<(), AutomergeError> {
        if self.is_loaded() {
            return Ok(());
        }
        let mut seen = HashSet::new();
        for change in changes {
            let decided =
                self.pending_index.contains_key(&change.hash()) || self.provably_new(change, &seen);
            if !decided {
                return self.load();
            }
            seen.insert(change.hash());
        }
        Ok(())
    }

    fn push_pending(&mut self, change: Change) {
        let hash = change.hash();
        self.unsaved.extend_from_slice(change.raw_bytes());
        self.heads.retain(|h| !change.deps().contains(h));
        self.heads.push(hash);
        self.heads.sort();
        self.pending_index.insert(hash, self.pending.len());
        self.pending.push(change);
        self.prefixes.insert(self.heads.clone(), self.pending.len());
    }

    fn reset_heads(&mut self) {
        self.heads = match &self.saved {
            Some(saved) => saved.heads.clone(),
            None => self.doc.get_heads(),
        };
        self.pending_index.clear();
        self.prefixes.clear();
        self.prefixes.insert(self.heads.clone(), 0);
    }
}

impl ChangeLog for Relay {
    fn heads(&self) -> Vec<ChangeHash> {
        self.heads.clone()
    }

    /// Unloaded, only pending changes and the saved heads are known; a
    /// `false` then may mean "not known yet", and callers fall back to the
    /// paths that load.
    fn knows(&self, hashes: &[ChangeHash]) -> bool {
        hashes.iter().all(|h| {
            self.pending_index.contains_key(h)
                || match &self.saved {
                    Some(saved) => saved.heads.contains(h),
                    None => fast_sync::all_known(&self.doc, std::slice::from_ref(h)),
                }
        })
    }

    /// Only called by [`fast_sync::receive_fast`] after
    /// `Relay::all_ready` accepted the chunks.
    fn add(&mut self, chunks: &ChunkList) -> Result<(), AutomergeError> {
        let changes = match self.decoded_for(chunks) {
            Some(_) => std::mem::take(&mut self.decoded),
            None => chunks
                .iter()
                .map(|chunk| Change::from_bytes(chunk.to_vec()))
                .collect::<Result<_, _>>()?,
        };
        for change in changes {
            if !self.knows(&[change.hash()]) {
                self.push_pending(change);
            }
        }
        Ok(())
    }
}

/// Whether the change's chunk checksum (the first 4 bytes of its hash,
/// bytes 4..8 of the chunk) is right. automerge checks it when loading and
/// drops a change that fails, but not in `Change::from_bytes`; a change with
/// a wrong checksum goes through automerge here too.
/// The flags automerge sets on a message it generates for `state`.
fn our_flags(state: &State) -> MessageFlags {
    let mut flags = MessageFlags::new();
    flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
    if state.read_only {
        flags.set(MessageFlags::READ_ONLY);
    }
    flags
}

/// automerge's `receive_sync_message` for a message with no heads and no
/// changes (a peer that has nothing: its first message), which reads
/// nothing of the document: the peer shares none of our heads, and we
/// start over with it.
fn receive_from_nothing(state: &mut State, message: Message) {
    state.in_flight = false;
    if let Some(flags) = message.flags {
        let mut capabilities = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
    state.shared_heads = Vec::new();
    state.last_sent_heads = Vec::new();
    state.sent_hashes = Default::default();
    state.their_have = Some(message.have);
    state.their_heads = Some(Vec::new());
    state.their_need = Some(message.need);
}

fn checksum_valid(change: &Change) -> bool {
    change
        .raw_bytes()
        .get(4..8)
        .is_some_and(|sum| sum == &change.hash().0[..4])
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc};
    use proptest::prelude::*;

    fn base() -> Automerge {
        let mut doc = Automerge::new().with_actor(automerge::ActorId::from([9u8; 16]));
        let mut tx = doc.transaction();
        let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, "Läkemedelsverket 😀 — ATMP")
            .expect("splice");
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
        /// Client `i` edits its copy.
        Edit(usize, usize),
        /// Client `i` sends its next message to the server.
        Up(usize),
        /// The server sends its next message to client `i`.
        Down(usize),
        /// The server applies what is pending.
        Flush,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                3 => (0..3usize, 0..60usize).prop_map(|(i, at)| Step::Edit(i, at)),
                4 => (0..4usize).prop_map(Step::Up),
                4 => (0..4usize).prop_map(Step::Down),
                1 => Just(Step::Flush),
            ],
            1..120,
        )
    }

    struct Client {
        doc: Automerge,
        /// The client's state towards the server.
        state: State,
    }

    struct World {
        relay: Relay,
        /// The server's state towards each client.
        states: Vec<State>,
        clients: Vec<Client>,
        /// Messages the live path built.
        live: usize,
    }

    impl World {
        fn new() -> Self {
            Self::starting(false)
        }

        /// Clients 0–2 start with the server's document, client 3 with
        /// nothing; the server's document is `unloaded` (saved) or not.
        fn starting(unloaded: bool) -> Self {
            Self::starting_from(base(), unloaded)
        }

        fn starting_from(doc: Automerge, unloaded: bool) -> Self {
            let mut clients: Vec<Client> = (0..3)
                .map(|i| Client {
                    doc: doc
                        .fork()
                        .with_actor(automerge::ActorId::from([i as u8 + 1; 16])),
                    state: State::new(),
                })
                .collect();
            clients.push(Client {
                doc: Automerge::new().with_actor(automerge::ActorId::from([4u8; 16])),
                state: State::new(),
            });
            let relay = if unloaded {
                Relay::unloaded(doc.save()).expect("a saved document")
            } else {
                Relay::new(doc)
            };
            Self {
                relay,
                // Client 2 reads only, as public readers do.
                states: vec![
                    State::new(),
                    State::new(),
                    State::new_read_only(),
                    State::new(),
                ],
                clients,
                live: 0,
            }
        }

        fn up(&mut self, i: usize) -> bool {
            let c = &mut self.clients[i];
            let Some(m) = c.doc.generate_sync_message(&mut c.state) else {
                return false;
            };
            // As the server does (`incoming::check_sync`): changes decoded
            // once (automerge sends V2 peers a run of changes as one
            // chunk), taken as values, the message carrying exactly them.
            let decoded: Option<Vec<Change>> = m
                .changes
                .iter()
                .map(|c| crate::chunks::decode_standalone(c).ok().flatten())
                .collect::<Option<Vec<_>>>()
                .map(|c| c.into_iter().flatten().collect());
            let mut m = m;
            match decoded {
                Some(changes) => {
                    m.changes = changes
                        .iter()
                        .map(|c| c.raw_bytes().to_vec())
                        .collect::<Vec<_>>()
                        .into();
                    self.relay.receive_checked(&mut self.states[i], m, changes)
                }
                None => self.relay.receive(&mut self.states[i], m),
            }
            .expect("the relay receives");
            let mut applied = self.relay.clone();
            assert_eq!(
                applied.doc().expect("flush").get_heads(),
                self.relay.heads(),
                "heads with pending changes are the applied document's"
            );
            true
        }

        /// Sends the server's next message to client `i`, checking a live
        /// message against what automerge generates in the same state.
        fn down(&mut self, i: usize) -> bool {
            let mut expected_state = self.states[i].clone();
            let mut applied = self.relay.clone();
            let expected = applied
                .doc()
                .expect("flush")
                .generate_sync_message(&mut expected_state);
            let live = self
                .relay
                .generate_live(&mut self.states[i].clone())
                .is_some();
            let message = self.relay.generate(&mut self.states[i]).expect("generate");
            if live {
                self.live += 1;
                let ours = &self.states[i];
                assert_eq!(
                    message.is_some(),
                    expected.is_some(),
                    "speaks when automerge does"
                );
                assert_eq!(ours.last_sent_heads, expected_state.last_sent_heads);
                assert_eq!(ours.in_flight, expected_state.in_flight);
                assert_eq!(ours.have_responded, expected_state.have_responded);
                if let (Some(m), Some(e)) = (&message, &expected) {
                    assert_eq!(m.heads, e.heads);
                    assert_eq!(m.need, e.need);
                    assert_eq!(m.have, e.have);
                    // The client learns at least what automerge's message
                    // would teach it.
                    let client = &self.clients[i];
                    let after = |m: &Message| {
                        let mut doc = client.doc.clone();
                        let mut state = client.state.clone();
                        doc.receive_sync_message(&mut state, m.clone())
                            .expect("the client receives");
                        doc
                    };
                    let (ours, theirs) = (after(m), after(e));
                    assert!(
                        theirs
                            .get_heads()
                            .iter()
                            .all(|h| ours.get_change_meta_by_hash(h).is_some()),
                        "sends what automerge sends"
                    );
                }
            }
            let Some(message) = message else { return false };
            let c = &mut self.clients[i];
            c.doc
                .receive_sync_message(&mut c.state, message)
                .expect("the client receives");
            true
        }

        fn settle(&mut self) {
            for _ in 0..200 {
                let mut quiet = true;
                for i in 0..self.clients.len() {
                    quiet &= !self.up(i);
                    quiet &= !self.down(i);
                }
                if quiet {
                    return;
                }
            }
            panic!("sync did not settle");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn relays_like_automerge_and_converges(steps in steps(), unloaded in any::<bool>()) {
            let mut w = World::starting(unloaded);
            for step in &steps {
                match *step {
                    Step::Edit(i, at) => edit(&mut w.clients[i % 2].doc, at, &format!("<{i}>")),
                    Step::Up(i) => { w.up(i); }
                    Step::Down(i) => { w.down(i); }
                    Step::Flush => w.relay.flush().expect("flush"),
                }
            }
            w.settle();
            let heads = w.relay.doc().expect("flush").get_heads();
            for c in &w.clients {
                prop_assert_eq!(c.doc.get_heads(), heads.clone());
            }
        }
    }

    /// A saved document serves a peer that has nothing, acknowledgements
    /// and live changes on top without loading; a change it cannot prove
    /// new loads it, and automerge then decides.
    #[test]
    fn an_unloaded_document_serves_the_first_sync_and_live_edits() {
        // Long enough that a client sends an edit as itself (automerge sends
        // V2 peers the whole document instead of over a third of it).
        let mut doc = base();
        for i in 0..10 {
            edit(&mut doc, i, "a");
        }
        let mut w = World::starting_from(doc, true);
        // Client 3 has nothing: one message each way gives it everything.
        assert!(w.up(3));
        assert!(w.down(3));
        assert_eq!(w.clients[3].doc.get_heads(), w.relay.heads());
        assert!(w.up(3));
        let c = &mut w.clients[3];
        let reply = c.doc.generate_sync_message(&mut c.state);
        assert!(
            reply.is_none_or(|m| m.changes.is_empty()),
            "the peer sends nothing back"
        );
        w.settle();
        assert!(!w.relay.is_loaded(), "{:?}", w.relay);
        // A live change on top of the saved heads, relayed to client 3.
        edit(&mut w.clients[0].doc, 0, "x");
        w.settle();
        assert_eq!(w.relay.pending_len(), 1);
        assert_eq!(w.clients[3].doc.get_heads(), w.clients[0].doc.get_heads());
        assert!(!w.relay.is_loaded(), "{:?}", w.relay);
        // A change from before the saved heads: only the history can say
        // whether we have it.
        let old = base().get_changes(&[])[0].clone();
        let mut state = State::new();
        let message = Message {
            heads: vec![old.hash()],
            need: vec![],
            have: vec![Have::default()],
            changes: ChunkList::from(vec![old.raw_bytes().to_vec()]),
            flags: None,
            version: MessageVersion::V1,
        };
        w.relay.receive(&mut state, message).expect("receive");
        assert!(w.relay.is_loaded());
        assert_eq!(w.relay.heads(), w.clients[0].doc.get_heads().as_slice());
        w.settle();
        let heads = w.relay.doc().expect("flush").get_heads();
        for c in &w.clients {
            assert_eq!(c.doc.get_heads(), heads);
        }
    }

    #[test]
    fn live_keystrokes_are_relayed_without_applying_them() {
        let mut w = World::new();
        w.settle();
        // The first change after a fresh sync may go through automerge.
        edit(&mut w.clients[0].doc, 0, "y");
        w.settle();
        w.relay.flush().expect("flush");
        w.live = 0;
        for n in 0..20 {
            edit(&mut w.clients[0].doc, 3 + n, "x");
            assert!(w.up(0));
            // The sender hears we have it; the others get it.
            assert!(w.down(0));
            assert!(w.down(1));
            assert!(w.down(2));
            assert!(w.up(1) | w.up(2) | w.up(0));
            w.settle();
        }
        assert_eq!(w.relay.pending_len(), 20, "nothing was applied");
        assert!(w.live >= 40, "the live path answered ({} times)", w.live);
        let text = |d: &Automerge| {
            let t = d.get(ROOT, "text").expect("get").expect("text").1;
            d.text(&t).expect("text")
        };
        let expected = text(&w.clients[0].doc);
        assert_eq!(text(&w.clients[2].doc), expected);
        assert_eq!(text(w.relay.doc().expect("flush")), expected);
        assert_eq!(w.relay.pending_len(), 0);
        // What was taken is there to store, and loads into the same document.
        let mut stored = base();
        stored
            .load_incremental(&w.relay.take_unsaved())
            .expect("load");
        assert_eq!(text(&stored), expected);
    }

    /// A change that references an element its dependencies do not have,
    /// with a valid checksum: automerge panics applying it.
    fn dangling_change(base: &Automerge) -> Change {
        let mut client = base.fork().with_actor(automerge::ActorId::from([7u8; 16]));
        edit(&mut client, 0, "q");
        edit(&mut client, 1, "r");
        let changes = client.get_changes(&base.get_heads());
        let mut second = changes[1].decode();
        second.deps = base.get_heads();
        second.hash = None;
        Change::from(second)
    }

    #[test]
    fn a_change_automerge_panics_on_is_an_error_not_a_panic() {
        let doc = base();
        let bad = dangling_change(&doc);
        assert!(checksum_valid(&bad));
        let panics = std::panic::catch_unwind(|| {
            let mut d = doc.clone();
            let _ = d.apply_changes(vec![bad.clone()]);
        })
        .is_err();
        let mut relay = Relay::new(doc.clone());
        let mut state = State::new();
        let mut client = doc.fork();
        let mut client_state = State::new();
        // Sync once so that the next message takes the live path.
        for _ in 0..4 {
            if let Some(m) = client.generate_sync_message(&mut client_state) {
                relay.receive(&mut state, m).expect("receive");
            }
            if let Some(m) = relay.generate(&mut state).expect("generate") {
                client
                    .receive_sync_message(&mut client_state, m)
                    .expect("client");
            }
        }
        let mut message = client
            .generate_sync_message(&mut client_state)
            .unwrap_or_else(|| relay_ack(&relay));
        message.heads = vec![bad.hash()];
        message.changes = ChunkList::from(vec![bad.raw_bytes().to_vec()]);
        message.need = vec![];
        assert!(panics, "automerge 0.12 panics on this change");
        // Taken live (nothing applied yet), then refused on applying.
        relay.receive(&mut state, message).expect("taken");
        assert_eq!(relay.pending_len(), 1);
        assert!(relay.flush().is_err(), "an error, not a panic");
    }

    fn relay_ack(relay: &Relay) -> Message {
        Message {
            heads: relay.heads().to_vec(),
            need: vec![],
            have: vec![Have::default()],
            changes: ChunkList::empty(),
            flags: None,
            version: MessageVersion::V1,
        }
    }
}

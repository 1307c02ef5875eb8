//! A deterministic, in-process world around one [`DocState`]: many peers,
//! an in-memory store that loses what was not flushed when the server
//! "crashes", and explicit steps (a peer edits, sends, receives; the server
//! takes a turn, flushes, restarts, evicts) that run in whatever order a
//! test or a fuzzer chooses, then [`Harness::run_until_quiet`].
//!
//! The property tests below and the `incoming` fuzz target drive it; the
//! server's document actor runs the same [`DocState`] with real IO.
//!
//! What it checks as it goes (panicking, as a test does):
//! - no server message advertises heads that are not durable;
//! - nothing a refused peer (a public reader) wrote is stored or relayed;
//! - after a restart, everything the server ever advertised is still there;
//! - changes that arrived from elsewhere (another writer of the store) are
//!   relayed and never stored again;
//! - the document is evicted ([`Effect::Evict`]) only with no peer joined,
//!   no reply held for a chunk that is not durable and nothing pending.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ObjType, ROOT, ReadDoc};

use crate::chunks;
use crate::doc_state::{self, DocState, Effect, Input, Limits, PeerRef};
use crate::id::{DocumentId, PeerId};
use crate::incoming::{ActorBindings, AnyChange, BindingsError, Rules};
use crate::message::{Message, SyncKind};

/// The server's `actors` table, in memory.
#[derive(Debug, Default)]
pub struct MemoryBindings {
    owners: RefCell<HashMap<Vec<u8>, String>>,
    edit_actors: RefCell<HashMap<String, Vec<u8>>>,
}

impl MemoryBindings {
    /// Binds `actor` to `user` (as the fixture's history was written).
    pub fn insert(&self, actor: &[u8], user: &str) {
        self.owners
            .borrow_mut()
            .insert(actor.to_vec(), user.to_owned());
    }
}

impl ActorBindings for MemoryBindings {
    fn owner(&self, actor: &[u8]) -> Result<Option<String>, BindingsError> {
        Ok(self.owners.borrow().get(actor).cloned())
    }

    fn bind(&self, actor: &[u8], user: &str) -> Result<bool, BindingsError> {
        let mut owners = self.owners.borrow_mut();
        let owner = owners
            .entry(actor.to_vec())
            .or_insert_with(|| user.to_owned());
        Ok(owner == user)
    }

    fn edit_actor(&self, user: &str) -> Result<Vec<u8>, BindingsError> {
        if let Some(actor) = self.edit_actors.borrow().get(user) {
            return Ok(actor.clone());
        }
        // Deterministic but distinct from every client's actor.
        let mut actor = vec![0xed; 16];
        let n = self.edit_actors.borrow().len() as u8;
        actor[15] = n;
        self.insert(&actor, user);
        self.edit_actors
            .borrow_mut()
            .insert(user.to_owned(), actor.clone());
        Ok(actor)
    }
}

/// A document's chunks in memory: written (lost on a crash) or durable.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    durable: BTreeMap<u64, Vec<u8>>,
    written: BTreeMap<u64, Vec<u8>>,
    /// Durable chunks a second writer (another server) put in the store,
    /// under keys of its own.
    elsewhere: Vec<Vec<u8>>,
}

impl MemoryStore {
    fn append(&mut self, seq: u64, chunk: Vec<u8>) {
        self.written.insert(seq, chunk);
    }

    fn compact(&mut self, snapshot: Vec<u8>, upto: u64) {
        // Like sled's batch: atomic, and durable with the next flush; the
        // harness applies it to both views (either state is complete).
        let last = upto.saturating_sub(1);
        for view in [&mut self.written, &mut self.durable] {
            view.retain(|&seq, _| seq >= last);
            view.insert(last, snapshot.clone());
        }
    }

    fn flush(&mut self) {
        self.durable.append(&mut self.written);
    }

    fn crash(&mut self) {
        self.written.clear();
    }

    fn chunks(&self) -> Vec<Vec<u8>> {
        let mut all = self.durable.clone();
        all.extend(self.written.clone());
        all.into_values().chain(self.elsewhere.clone()).collect()
    }

    /// The durable document.
    fn durable_doc(&self) -> Automerge {
        let chunks: Vec<Vec<u8>> = self
            .durable
            .values()
            .chain(&self.elsewhere)
            .cloned()
            .collect();
        doc_state::load_chunks(&chunks).0
    }

    /// The durable document's changes.
    fn durable_hashes(&self) -> HashSet<ChangeHash> {
        let doc = self.durable_doc();
        doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
    }

    fn next_seq(&self) -> u64 {
        self.durable
            .keys()
            .chain(self.written.keys())
            .max()
            .map_or(0, |s| s + 1)
    }
}

/// One simulated client.
#[derive(Debug)]
pub struct SimPeer {
    pub peer_id: PeerId,
    pub doc: Automerge,
    sync: sync::State,
    conn_id: u64,
    connected: bool,
    rules: Rules,
    user: Option<Arc<str>>,
    inbox: VecDeque<Message>,
    /// It sent a sync message on its current connection and was not
    /// closed: the server follows it (the harness's own account, checked
    /// against the state's eviction).
    joined: bool,
}

/// One document on a simulated server, and its peers.
pub struct Harness {
    doc_id: DocumentId,
    server: PeerId,
    limits: Limits,
    /// `None` while the server is down (crashed, or the document evicted).
    state: Option<DocState<()>>,
    store: MemoryStore,
    bindings: MemoryBindings,
    pub peers: Vec<SimPeer>,
    inputs: VecDeque<Input<()>>,
    /// A turn's chunk written and not yet flushed: its sequence number.
    unflushed: Option<u64>,
    next_conn: u64,
    /// Every hash the server ever advertised in a message.
    advertised: HashSet<ChangeHash>,
    /// Actors of peers whose changes the server must refuse.
    refused_actors: HashSet<ActorId>,
    next_edit: u64,
    /// The server's clock (milliseconds), moved on by [`Harness::wait`].
    now_ms: u64,
    /// The last turn returned [`Effect::Evict`].
    evict: bool,
    /// How many times the document was evicted.
    pub evictions: u64,
    /// Changes the second writer put in the store (sent as arrived).
    arrived: HashSet<ChangeHash>,
    /// Chunks the state reported unreadable.
    pub unreadable: usize,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("state", &self.state)
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A stored document with `text`, `writers` signed-in peers that may
    /// change anything and `readers` public peers (whose changes are
    /// refused).
    pub fn new(writers: usize, readers: usize, limits: Limits) -> Self {
        let mut seed = Automerge::new().with_actor(ActorId::from([0xaa; 16]));
        let mut tx = seed.transaction();
        let text = tx.put_object(ROOT, "text", ObjType::Text).expect("text");
        tx.splice_text(&text, 0, 0, "Läkemedelsverket 😀")
            .expect("splice");
        tx.commit();
        let mut store = MemoryStore::default();
        store.append(0, seed.save());
        store.flush();
        let mut harness = Self {
            doc_id: DocumentId::random(),
            server: PeerId::new("storage-server-harness").expect("peer id"),
            limits,
            state: None,
            store,
            bindings: MemoryBindings::default(),
            peers: Vec::new(),
            inputs: VecDeque::new(),
            unflushed: None,
            next_conn: 1,
            advertised: HashSet::new(),
            refused_actors: HashSet::new(),
            next_edit: 0,
            now_ms: 0,
            evict: false,
            evictions: 0,
            arrived: HashSet::new(),
            unreadable: 0,
        };
        for i in 0..writers + readers {
            let actor = ActorId::from([i as u8 + 1; 16]);
            let reader = i >= writers;
            if reader {
                harness.refused_actors.insert(actor.clone());
            }
            harness.peers.push(SimPeer {
                peer_id: PeerId::new(format!("peer-{i}")).expect("peer id"),
                doc: Automerge::new().with_actor(actor),
                sync: sync::State::new(),
                conn_id: 0,
                connected: false,
                rules: if reader {
                    Rules::ReadOnly
                } else {
                    Rules::Unrestricted
                },
                user: (!reader).then(|| Arc::from(format!("user-{i}"))),
                inbox: VecDeque::new(),
                joined: false,
            });
        }
        harness.start();
        for i in 0..harness.peers.len() {
            harness.connect(i);
        }
        harness
    }

    fn start(&mut self) {
        let chunks = self.store.chunks();
        let (doc, skipped) = doc_state::open_chunks(&chunks);
        let loaded = doc_state::Loaded {
            doc,
            next_seq: self.store.next_seq(),
            chunks: chunks.len() as u64,
            bytes: chunks.iter().map(|c| c.len() as u64).sum(),
            skipped,
        };
        // The owner makes what it loaded durable before advertising it.
        self.store.flush();
        self.state = Some(DocState::loaded(
            self.doc_id,
            self.server.clone(),
            self.limits,
            loaded,
        ));
    }

    fn connect(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        peer.conn_id = self.next_conn;
        self.next_conn += 1;
        peer.connected = true;
        peer.sync = sync::State::new();
        peer.inbox.clear();
        peer.joined = false;
    }

    fn peer_ref(&self, i: usize) -> PeerRef {
        let peer = &self.peers[i];
        PeerRef {
            peer_id: peer.peer_id.clone(),
            conn_id: peer.conn_id,
            user: peer.user.clone(),
            rules: peer.rules,
        }
    }

    /// Peer `i` edits its copy (if it has the text yet).
    pub fn edit(&mut self, i: usize, at: usize, s: &str) {
        let doc = &mut self.peers[i].doc;
        let Some((_, text)) = doc.get(ROOT, "text").expect("get") else {
            return;
        };
        let len = doc.length(&text);
        let mut tx = doc.transaction();
        tx.splice_text(&text, at % (len + 1), 0, s).expect("splice");
        tx.commit();
    }

    /// Peer `i` sends its next sync message, if it has one.
    pub fn up(&mut self, i: usize) -> bool {
        let peer = &mut self.peers[i];
        if !peer.connected {
            return false;
        }
        let Some(message) = peer.doc.generate_sync_message(&mut peer.sync) else {
            return false;
        };
        peer.joined = true;
        let input = Input::Sync {
            from: self.peer_ref(i),
            kind: SyncKind::Sync,
            data: message.encode(),
        };
        self.inputs.push_back(input);
        true
    }

    /// Peer `i` receives the next message the server sent it.
    pub fn down(&mut self, i: usize) -> bool {
        let peer = &mut self.peers[i];
        let Some(message) = peer.inbox.pop_front() else {
            return false;
        };
        if let Message::Sync(m) = message {
            let decoded = sync::Message::decode(&m.data).expect("the server's message decodes");
            peer.doc
                .receive_sync_message(&mut peer.sync, decoded)
                .expect("the peer takes the server's message");
        }
        true
    }

    /// Peer `i`'s connection drops; it connects again at once (a new
    /// connection id, a fresh sync state).
    pub fn reconnect(&mut self, i: usize) {
        let peer = &self.peers[i];
        self.inputs.push_back(Input::Leave {
            peer_id: peer.peer_id.clone(),
            conn_id: peer.conn_id,
        });
        self.connect(i);
    }

    /// Peer `i` goes away (its connection ends; it stays away until it
    /// connects again).
    pub fn leave(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        self.inputs.push_back(Input::Leave {
            peer_id: peer.peer_id.clone(),
            conn_id: peer.conn_id,
        });
        peer.connected = false;
        peer.joined = false;
        peer.inbox.clear();
    }

    /// A second writer of the store (another server of a cluster) edits
    /// what is durable and stores its change; the server hears that the
    /// chunk arrived, with `junk` (unreadable chunks) beside it.
    pub fn arrive(&mut self, at: usize, s: &str, junk: &[&[u8]]) {
        let base = self.store.durable_doc();
        let mut other = base.fork().with_actor(ActorId::from([0xbb; 16]));
        let Some((_, text)) = other.get(ROOT, "text").expect("get") else {
            return;
        };
        let len = other.length(&text);
        let mut tx = other.transaction();
        tx.splice_text(&text, at % (len + 1), 0, s).expect("splice");
        tx.commit();
        let chunk = other.save_after(&base.get_heads());
        self.arrived.extend(
            other
                .get_changes(&base.get_heads())
                .iter()
                .map(|c| c.hash()),
        );
        self.store.elsewhere.push(chunk.clone());
        let mut chunks: Vec<Vec<u8>> = junk.iter().map(|j| j.to_vec()).collect();
        chunks.push(chunk);
        self.inputs.push_back(Input::Arrived { chunks });
    }

    /// A host's server edit (appends to the text), as the API makes them.
    pub fn server_edit(&mut self, s: &str) {
        let s = s.to_owned();
        self.inputs.push_back(Input::Edit {
            id: self.next_edit,
            user: Arc::from("user-0"),
            edit: Box::new(move |doc: &mut Automerge| {
                let text = doc
                    .get(ROOT, "text")
                    .map_err(|e| e.to_string())?
                    .ok_or("no text")?
                    .1;
                let len = doc.length(&text);
                let mut tx = doc.transaction();
                tx.splice_text(&text, len, 0, &s)
                    .map_err(|e| e.to_string())?;
                tx.commit();
                Ok(())
            }),
        });
        self.next_edit += 1;
    }

    /// The server takes one turn over every queued input, unless it waits
    /// for a flush or is down.
    pub fn turn(&mut self) -> bool {
        if self.inputs.is_empty() || self.unflushed.is_some() {
            return false;
        }
        let Some(mut state) = self.state.take() else {
            return false;
        };
        // Like the actor: every turn starts with the time.
        let inputs: Vec<Input<()>> = std::iter::once(Input::Tick {
            now_ms: self.now_ms,
        })
        .chain(self.inputs.drain(..))
        .collect();
        let effects = state
            .turn(inputs, &self.bindings, &AnyChange)
            .expect("a turn of good inputs succeeds");
        self.execute(&mut state, effects);
        self.state = Some(state);
        self.evict_if_told();
        true
    }

    /// The store flushes and the server process dies before it could send
    /// the replies it was holding.
    pub fn flush_then_crash(&mut self) {
        self.store.flush();
        self.crash();
    }

    /// The store flushes: the waiting turn's replies go out.
    pub fn flush(&mut self) -> bool {
        let Some(seq) = self.unflushed.take() else {
            return false;
        };
        self.store.flush();
        let Some(mut state) = self.state.take() else {
            return true;
        };
        let effects = state.durable(seq).expect("durable");
        self.execute(&mut state, effects);
        self.state = Some(state);
        self.evict_if_told();
        true
    }

    /// The server process dies (`kill -9`): what was not flushed is lost;
    /// every connection drops. It starts again from the store.
    pub fn crash(&mut self) {
        self.store.crash();
        self.unflushed = None;
        self.inputs.clear();
        self.state = None;
        for i in 0..self.peers.len() {
            self.connect(i);
        }
        self.start();
        self.check_nothing_advertised_was_lost();
    }

    /// The state said the document may be evicted: check that it may,
    /// then evict it (it is loaded again from the store, as on the next
    /// use).
    fn evict_if_told(&mut self) {
        if !std::mem::take(&mut self.evict) {
            return;
        }
        let state = self.state.as_ref().expect("the state that said so");
        if let Some(peer) = self.peers.iter().find(|p| p.joined) {
            panic!("evicted with {} joined", peer.peer_id);
        }
        assert!(
            self.unflushed.is_none() && !state.awaiting_durability(),
            "evicted with replies held for a chunk that is not durable"
        );
        // Pending changes are stored; a document that is not loaded keeps
        // them pending rather than load for them (they load with it).
        assert!(
            state.pending_len() == 0 || !state.is_loaded(),
            "evicted with pending changes"
        );
        assert!(self.inputs.is_empty(), "evicted with inputs queued");
        self.state = None;
        self.evictions += 1;
        self.start();
    }

    /// `ms` pass. If the server is idle (nothing queued, no turn waiting
    /// for a flush), its timer gives it a tick alone, as the actor's does
    /// once [`DocState::next_tick_ms`] has come (here also before: a
    /// tick that is not due must change nothing).
    pub fn wait(&mut self, ms: u64) {
        self.now_ms += ms;
        if !self.inputs.is_empty() || self.unflushed.is_some() {
            return;
        }
        let Some(mut state) = self.state.take() else {
            return;
        };
        let due = state.next_tick_ms().is_some_and(|at| at <= self.now_ms);
        let pending = state.pending_len();
        let effects = state
            .turn(
                vec![Input::Tick {
                    now_ms: self.now_ms,
                }],
                &self.bindings,
                &AnyChange,
            )
            .expect("a tick succeeds");
        assert!(
            due || state.pending_len() == pending,
            "a tick before next_tick_ms changed nothing"
        );
        assert!(
            !due || state.pending_len() == 0,
            "a due tick applied the pending changes"
        );
        self.execute(&mut state, effects);
        self.state = Some(state);
        self.evict_if_told();
    }

    fn execute(&mut self, state: &mut DocState<()>, effects: Vec<Effect<()>>) {
        for effect in effects {
            match effect {
                Effect::Send {
                    to,
                    conn_id,
                    message,
                    ..
                } => {
                    self.check_advertised_is_durable(&message);
                    let peer = self.peers.iter_mut().find(|p| p.peer_id == to);
                    match peer {
                        Some(p) if p.connected && p.conn_id == conn_id => {
                            p.inbox.push_back(message);
                        }
                        _ => state.leave(&to, conn_id),
                    }
                }
                Effect::Close { to, conn_id, .. } => {
                    if let Some(p) = self
                        .peers
                        .iter_mut()
                        .find(|p| p.peer_id == to && p.conn_id == conn_id)
                    {
                        p.connected = false;
                        p.joined = false;
                        p.inbox.clear();
                    }
                }
                Effect::Store { seq, chunk } => {
                    let changes = chunks::decode_standalone(&chunk)
                        .expect("a stored chunk reads")
                        .expect("a stored chunk holds changes");
                    for change in changes {
                        assert!(
                            !self.arrived.contains(&change.hash()),
                            "a change that arrived from elsewhere was stored again"
                        );
                    }
                    self.store.append(seq, chunk);
                    self.unflushed = Some(seq);
                }
                Effect::Compact { snapshot, upto, .. } => {
                    self.store.compact(snapshot, upto);
                    state.compacted();
                }
                Effect::Evict => self.evict = true,
                Effect::Unreadable { chunks } => self.unreadable += chunks.len(),
                Effect::EditDone { .. } | Effect::DocumentFull | Effect::Publish { .. } => {}
            }
        }
        self.check_nothing_refused_was_stored();
    }

    /// Steps everything (turns, flushes, deliveries, messages up) until no
    /// peer and no server has anything left to say; refused peers that
    /// were closed stay closed.
    pub fn run_until_quiet(&mut self) {
        for _ in 0..10_000 {
            let mut moved = self.turn() | self.flush();
            for i in 0..self.peers.len() {
                while self.down(i) {
                    moved = true;
                }
                moved |= self.up(i);
            }
            if !moved {
                return;
            }
        }
        panic!("the world did not become quiet");
    }

    /// Every connected peer allowed to write has the server's document,
    /// and the server has everything they wrote.
    pub fn assert_converged(&mut self) {
        let state = self.state.as_mut().expect("server up");
        let doc = state.doc().expect("doc");
        for hash in &self.arrived {
            assert!(
                doc.get_change_by_hash(hash).is_some(),
                "the server has what arrived"
            );
        }
        let server_heads = doc.get_heads();
        for peer in &self.peers {
            if peer.rules == Rules::ReadOnly {
                // Its own edits were refused; it is not expected to match.
                continue;
            }
            let mut heads = peer.doc.get_heads();
            heads.sort();
            let mut want = server_heads.clone();
            want.sort();
            assert_eq!(heads, want, "{} converged with the server", peer.peer_id);
        }
    }

    fn check_advertised_is_durable(&mut self, message: &Message) {
        let Message::Sync(m) = message else { return };
        let decoded = sync::Message::decode(&m.data).expect("decodes");
        if decoded.heads.is_empty() {
            return;
        }
        let durable = self.store.durable_hashes();
        for head in &decoded.heads {
            assert!(
                durable.contains(head),
                "the server advertised head {head} before it was durable"
            );
            self.advertised.insert(*head);
        }
    }

    fn check_nothing_refused_was_stored(&self) {
        let (doc, _) = doc_state::load_chunks(&self.store.chunks());
        for change in doc.get_changes(&[]) {
            assert!(
                !self.refused_actors.contains(change.actor_id()),
                "a refused change was stored"
            );
        }
        for peer in &self.peers {
            if peer.rules != Rules::ReadOnly {
                for change in peer.doc.get_changes(&[]) {
                    assert!(
                        !self.refused_actors.contains(change.actor_id()),
                        "a refused change was relayed"
                    );
                }
            }
        }
    }

    fn check_nothing_advertised_was_lost(&self) {
        let durable = self.store.durable_hashes();
        for head in &self.advertised {
            assert!(durable.contains(head), "advertised head {head} lost");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Edit(usize, usize),
        Up(usize),
        Down(usize),
        Turn,
        Flush,
        Reconnect(usize),
        Crash,
        Leave(usize),
        Wait(u64),
        ServerEdit,
        FlushThenCrash,
        Arrive(usize),
    }

    const PEERS: usize = 4;

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                4 => (0..PEERS, 0..40usize).prop_map(|(i, at)| Step::Edit(i, at)),
                5 => (0..PEERS).prop_map(Step::Up),
                5 => (0..PEERS).prop_map(Step::Down),
                4 => Just(Step::Turn),
                3 => Just(Step::Flush),
                1 => (0..PEERS).prop_map(Step::Reconnect),
                1 => Just(Step::Crash),
                1 => (0..PEERS).prop_map(Step::Leave),
                2 => (0..4000u64).prop_map(Step::Wait),
                1 => Just(Step::ServerEdit),
                1 => Just(Step::FlushThenCrash),
                1 => (0..40usize).prop_map(Step::Arrive),
            ],
            1..150,
        )
    }

    fn limits() -> Limits {
        Limits {
            max_document_bytes: 1 << 30,
            // Small, so that compaction happens in most runs.
            compact_after_chunks: 4,
            max_pending: 8,
            apply_when_quiet_ms: 2000,
            idle_evict_ms: 3000,
        }
    }

    /// Live changes wait as pending until the document has been quiet for
    /// `apply_when_quiet_ms` by the ticks' clock, then are applied on a tick.
    #[test]
    fn pending_changes_are_applied_on_the_tick_after_the_quiet_time() {
        let mut world = Harness::new(2, 0, limits());
        world.run_until_quiet();
        world.edit(0, 0, "ä");
        world.run_until_quiet();
        let pending = |w: &Harness| w.state.as_ref().map_or(0, DocState::pending_len);
        assert_eq!(pending(&world), 1, "the live change is pending");
        let at = world.state.as_ref().and_then(DocState::next_tick_ms);
        assert_eq!(at, Some(2000), "a tick is asked for after the quiet time");
        world.wait(1999);
        assert_eq!(pending(&world), 1, "not quiet for long enough yet");
        world.wait(1);
        assert_eq!(pending(&world), 0, "applied on the tick");
        assert_eq!(world.state.as_ref().and_then(DocState::next_tick_ms), None);
        world.assert_converged();
    }

    /// The state asks for eviction only once no peer follows the document
    /// and it has been idle for `idle_evict_ms`; peers then find it again.
    #[test]
    fn an_idle_document_is_evicted_only_once_nobody_follows_it() {
        let mut world = Harness::new(2, 0, limits());
        world.run_until_quiet();
        world.wait(10_000);
        world.wait(10_000);
        assert_eq!(world.evictions, 0, "peers follow it");
        world.leave(0);
        world.run_until_quiet();
        world.wait(10_000);
        assert_eq!(world.evictions, 0, "one peer still follows it");
        world.leave(1);
        world.run_until_quiet();
        world.wait(2999);
        assert_eq!(world.evictions, 0, "not idle for long enough yet");
        world.wait(1);
        assert_eq!(world.evictions, 1, "evicted on the tick");
        world.wait(3000);
        assert_eq!(world.evictions, 1, "idle time counts from its first tick");
        world.wait(3000);
        assert_eq!(world.evictions, 2, "a reloaded idle document too");
        world.edit(0, 0, "å");
        world.connect(0);
        world.connect(1);
        world.run_until_quiet();
        world.assert_converged();
    }

    /// A chunk many times larger than the document's snapshot (a whole
    /// history imported at once) is compacted at once, not only after
    /// `compact_after_chunks` chunks: the store keeps one snapshot.
    #[test]
    fn a_chunk_far_larger_than_the_snapshot_is_compacted_at_once() {
        let mut world = Harness::new(1, 0, limits());
        world.run_until_quiet();
        // Many small changes in one message: a large chunk whose snapshot
        // is far smaller (columns compress; a change's header does not).
        for i in 0..400 {
            world.edit(0, i, "x");
        }
        world.run_until_quiet();
        let chunks = world.store.chunks();
        assert_eq!(chunks.len(), 1, "compacted to one snapshot");
        assert!(chunks[0].len() < 4 << 10, "the snapshot is small");
        world.assert_converged();
    }

    /// Changes durable elsewhere reach every peer at once (no flush
    /// awaited), are not stored again, and an unreadable chunk beside them
    /// is skipped and reported.
    #[test]
    fn arrived_changes_are_relayed_without_storing_them_again() {
        let mut world = Harness::new(2, 1, limits());
        world.run_until_quiet();
        let stored = world.store.chunks().len();
        world.arrive(3, "från kluster", &[b"not a chunk"]);
        assert!(world.turn());
        assert_eq!(
            world.unflushed, None,
            "nothing to store, nothing to wait for"
        );
        assert_eq!(world.unreadable, 1, "the junk is reported");
        assert_eq!(
            world.store.chunks().len(),
            stored + 1,
            "only the writer's own"
        );
        for i in 0..world.peers.len() {
            assert!(!world.peers[i].inbox.is_empty(), "peer {i} hears at once");
        }
        world.run_until_quiet();
        world.assert_converged();
        // The readers too (they wrote nothing).
        let text = |d: &Automerge| {
            let t = d.get(ROOT, "text").expect("get").expect("text").1;
            d.text(&t).expect("text")
        };
        assert!(text(&world.peers[2].doc).contains("från kluster"));
        // Peers build on it; the server stores only their changes.
        world.edit(0, 0, "ny ");
        world.run_until_quiet();
        world.assert_converged();
        world.crash();
        world.run_until_quiet();
        world.assert_converged();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Random interleavings of edits, deliveries, turns, flushes,
        /// reconnects, crashes between store and flush, evictions and
        /// compactions: peers converge, nothing advertised is lost, nothing
        /// is advertised before it is durable, nothing refused is kept.
        #[test]
        fn peers_converge_and_nothing_acknowledged_is_lost(steps in steps()) {
            // Three writers and one public reader (whose edits are refused).
            let mut world = Harness::new(PEERS - 1, 1, limits());
            for step in steps {
                match step {
                    Step::Edit(i, at) => world.edit(i, at, "ö"),
                    Step::Up(i) => { world.up(i); }
                    Step::Down(i) => { world.down(i); }
                    Step::Turn => { world.turn(); }
                    Step::Flush => { world.flush(); }
                    Step::Reconnect(i) => world.reconnect(i),
                    Step::Crash => world.crash(),
                    Step::Leave(i) => world.leave(i),
                    Step::Wait(ms) => world.wait(ms),
                    Step::ServerEdit => world.server_edit("!"),
                    Step::FlushThenCrash => world.flush_then_crash(),
                    Step::Arrive(at) => world.arrive(at, "ü", &[]),
                }
            }
            // Closed peers (refused, or behind a crash) come back.
            for i in 0..PEERS {
                if !world.peers[i].connected {
                    world.connect(i);
                }
            }
            world.run_until_quiet();
            // Quiet for long: whatever is pending is applied on the tick
            // (checked before anything reads the document, which applies).
            world.wait(10_000);
            world.assert_converged();
            // Everyone leaves: the idle document is evicted, and found again.
            for i in 0..PEERS {
                world.leave(i);
            }
            world.run_until_quiet();
            let evictions = world.evictions;
            world.wait(10_000);
            prop_assert_eq!(world.evictions, evictions + 1);
            for i in 0..PEERS {
                world.connect(i);
            }
            world.run_until_quiet();
            world.assert_converged();
            world.crash();
            world.run_until_quiet();
            world.assert_converged();
        }
    }
}

//! A lightweight protocol peer for load generation.
//!
//! A real automerge peer applies every incoming change to its document at
//! once; with a hundred peers in one process that work, not the server, is
//! what a benchmark would measure. This peer speaks the same protocol
//! (automerge sync messages inside automerge-repo frames; like automerge
//! 3's clients, it says it reads V2 messages, so a server may send it a
//! whole document as one saved document rather than change by change) but
//! only *records* incoming changes (hash, dependencies, arrival time) and
//! applies them to its document lazily, just before its next edit. Its
//! acknowledgements are what an automerge peer sends once it has everything
//! it was sent: its heads, and a `have` of those heads with an empty filter.
//! At the end of a run every peer applies what it received and must reach
//! the server's heads: that checks the deliveries are complete and correct.
//!
//! It works against any automerge-repo sync server (ours, or the reference
//! JavaScript one: `?token=` in the URL is ignored there). A peer can start
//! from a whole document (`from_doc`), drop its connection and come back on
//! a new one with what it has (`reconnect`), and upload a large history in
//! bounded messages (`upload`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::sync::{BloomFilter, Have, Message as SyncData, MessageFlags, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{Automerge, Change, ChangeHash, ObjType, ROOT, ReadDoc};
use docsync::{DocumentId, Message, PeerId, PeerMetadata, SyncKind, SyncMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Where arrivals are recorded: (change, when it arrived).
pub type Arrivals = Arc<Mutex<Vec<(ChangeHash, Instant)>>>;

/// How long a peer waits for the server by default.
const TIMEOUT: Duration = Duration::from_secs(30);

struct State {
    doc: Automerge,
    pending: Vec<Change>,
    heads: Vec<ChangeHash>,
    known: HashSet<ChangeHash>,
    server: Option<PeerId>,
    /// The heads in the server's latest sync message.
    server_heads: Vec<ChangeHash>,
    /// When the last frame that brought new changes arrived.
    latest_arrival: Option<Instant>,
}

impl State {
    fn new(doc: Automerge) -> Self {
        let heads = doc.get_heads();
        let known = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        Self {
            doc,
            pending: vec![],
            heads,
            known,
            server: None,
            server_heads: vec![],
            latest_arrival: None,
        }
    }

    fn learn(&mut self, change: &Change) -> bool {
        if !self.known.insert(change.hash()) {
            return false;
        }
        self.heads.retain(|h| !change.deps().contains(h));
        self.heads.push(change.hash());
        self.heads.sort();
        true
    }

    fn catch_up(&mut self) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.doc
                .apply_changes(pending)
                .expect("received changes apply");
        }
    }
}

#[derive(Clone)]
pub struct LightPeer {
    id: PeerId,
    doc_id: DocumentId,
    state: Arc<Mutex<State>>,
    out: mpsc::UnboundedSender<WsMessage>,
    events: watch::Receiver<u64>,
    /// The connection's reader and writer tasks.
    tasks: Arc<[AbortHandle; 2]>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// No size limits on what the servers send: a first sync of a large
/// document is one large message.
pub fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None)
}

/// What this peer tells the server it understands, as automerge 3's
/// clients do: V2 messages (a whole document in one) and sync resets.
pub fn capabilities() -> Option<MessageFlags> {
    let mut flags = MessageFlags::new();
    flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
    Some(flags)
}

/// The sync message of a peer that has exactly `heads` and wants nothing
/// but what follows them: its acknowledgement, or its hello on a new
/// connection (`ack(&[])` asks for everything).
pub fn ack(heads: &[ChangeHash]) -> Vec<u8> {
    SyncData {
        heads: heads.to_vec(),
        need: vec![],
        have: vec![Have {
            last_sync: heads.to_vec(),
            bloom: BloomFilter::default(),
        }],
        changes: automerge::sync::ChunkList::empty(),
        flags: capabilities(),
        version: MessageVersion::V1,
    }
    .encode()
}

impl LightPeer {
    /// Connects with an empty document.
    pub async fn connect(
        url: &str,
        doc_id: DocumentId,
        arrivals: Arrivals,
    ) -> anyhow::Result<Self> {
        Self::connect_with(url, doc_id, arrivals, State::new(Automerge::new()), None).await
    }

    /// Connects holding `doc` already (e.g. a large document loaded from
    /// disk): it can edit at once, without fetching it.
    pub async fn from_doc(
        url: &str,
        doc_id: DocumentId,
        arrivals: Arrivals,
        doc: Automerge,
    ) -> anyhow::Result<Self> {
        Self::connect_with(url, doc_id, arrivals, State::new(doc), None).await
    }

    /// Drops this connection (as a lost network would: the socket closes
    /// without a WebSocket close handshake) and connects again as the same
    /// peer, keeping what it has. Call `resync` next.
    pub async fn reconnect(&self, url: &str, arrivals: Arrivals) -> anyhow::Result<Self> {
        self.drop_connection();
        let state = {
            let mut old = lock(&self.state);
            let mut state = State::new(Automerge::new());
            std::mem::swap(&mut state, &mut old);
            state.server = None;
            state.server_heads.clear();
            state
        };
        Self::connect_with(url, self.doc_id, arrivals, state, Some(self.id.clone())).await
    }

    /// Closes the socket at once (no close handshake).
    pub fn drop_connection(&self) {
        for t in self.tasks.iter() {
            t.abort();
        }
    }

    async fn connect_with(
        url: &str,
        doc_id: DocumentId,
        arrivals: Arrivals,
        state: State,
        id: Option<PeerId>,
    ) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(
            url,
            Some(crate::light::ws_config()),
            true,
        )
        .await?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let (notify, events) = watch::channel(0u64);
        let id = match id {
            Some(id) => id,
            None => PeerId::new(format!("light-{}", rand::random::<u64>())).expect("peer id"),
        };
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let mut batch = vec![m];
                while let Ok(m) = out_rx.try_recv() {
                    batch.push(m);
                }
                for m in batch {
                    if sink.feed(m).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        });
        let state = Arc::new(Mutex::new(state));
        let (reader_tx, reader_rx) = tokio::sync::oneshot::channel::<LightPeer>();
        let reader = tokio::spawn(async move {
            let Ok(reader) = reader_rx.await else {
                return;
            };
            while let Some(Ok(frame)) = stream.next().await {
                if let WsMessage::Binary(bytes) = frame {
                    reader.on_frame(&bytes, &arrivals);
                    notify.send_modify(|n| *n += 1);
                }
            }
            // The connection ended: wake whoever waits.
            notify.send_modify(|n| *n += 1);
        });
        let peer = Self {
            id: id.clone(),
            doc_id,
            state,
            out,
            events,
            tasks: Arc::new([writer.abort_handle(), reader.abort_handle()]),
        };
        let _ = reader_tx.send(peer.clone());
        peer.send(Message::Join {
            sender_id: id,
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: Some(vec!["1".into()]),
        });
        peer.wait(|s| s.server.is_some()).await?;
        Ok(peer)
    }

    fn send(&self, m: Message) {
        let _ = self.out.send(WsMessage::Binary(docsync::encode(&m).into()));
    }

    fn sync(&self, kind: SyncKind, data: Vec<u8>) {
        let Some(server) = lock(&self.state).server.clone() else {
            return;
        };
        self.send(Message::Sync(SyncMessage {
            kind,
            sender_id: self.id.clone(),
            target_id: server,
            document_id: self.doc_id,
            data,
        }));
    }

    fn on_frame(&self, bytes: &[u8], arrivals: &Arrivals) {
        let now = Instant::now();
        let Ok(message) = docsync::decode(bytes) else {
            return;
        };
        match message {
            Message::Peer { sender_id, .. } => lock(&self.state).server = Some(sender_id),
            Message::Sync(m) => {
                let Ok(data) = SyncData::decode(&m.data) else {
                    return;
                };
                let mut state = lock(&self.state);
                state.server_heads.clone_from(&data.heads);
                let mut arrived = Vec::new();
                for chunk in data.changes.iter() {
                    // Changes, bundles, or a whole saved document.
                    let Ok(Some(changes)) = docsync::chunks::decode_standalone(chunk) else {
                        // A document chunk continuing our history:
                        // automerge reads it onto what we have.
                        state.catch_up();
                        let before = state.doc.get_heads();
                        if state.doc.load_incremental(chunk).is_ok() {
                            for change in state.doc.get_changes(&before) {
                                if state.learn(&change) {
                                    arrived.push((change.hash(), now));
                                }
                            }
                        }
                        continue;
                    };
                    for change in changes {
                        if state.learn(&change) {
                            arrived.push((change.hash(), now));
                            state.pending.push(change);
                        }
                    }
                }
                if !arrived.is_empty() {
                    state.latest_arrival = Some(now);
                }
                let heads = state.heads.clone();
                let answer = !arrived.is_empty() || data.heads != heads;
                drop(state);
                if !arrived.is_empty() {
                    arrivals
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(arrived);
                }
                if answer {
                    self.sync(SyncKind::Sync, ack(&heads));
                }
            }
            _ => {}
        }
    }

    async fn wait(&self, done: impl Fn(&State) -> bool) -> anyhow::Result<()> {
        self.wait_for(done, TIMEOUT).await
    }

    /// Waits (at most `timeout`) until `done` holds; fails if the
    /// connection ends first.
    async fn wait_for(
        &self,
        done: impl Fn(&State) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let mut events = self.events.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&lock(&self.state)) {
            tokio::time::timeout_at(deadline, events.changed())
                .await
                .map_err(|_| anyhow::anyhow!("timed out after {timeout:?}"))??;
            anyhow::ensure!(
                !self.tasks[1].is_finished() || done(&lock(&self.state)),
                "the server closed the connection"
            );
        }
        Ok(())
    }

    /// Creates the document on the server (pushes its first change).
    pub async fn create(&self, text: &str) -> anyhow::Result<()> {
        let change = {
            let mut state = lock(&self.state);
            let mut tx = state.doc.transaction();
            let obj = tx.put_object(ROOT, "text", ObjType::Text)?;
            tx.splice_text(&obj, 0, 0, text)?;
            tx.commit();
            let change = state.doc.get_last_local_change().expect("a change");
            state.learn(&change);
            change
        };
        self.push(vec![], change);
        let heads = lock(&self.state).heads.clone();
        self.wait(|s| heads.iter().all(|h| s.server_heads.contains(h)))
            .await
    }

    /// Fetches the whole document (a `request` from empty).
    pub async fn find(&self) -> anyhow::Result<()> {
        self.sync(SyncKind::Request, ack(&[]));
        self.wait(|s| !s.heads.is_empty()).await?;
        lock(&self.state).catch_up();
        Ok(())
    }

    /// Waits (at most `timeout`) until this peer has every change in `heads`.
    pub async fn wait_changes(
        &self,
        heads: &[ChangeHash],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.wait_for(|s| heads.iter().all(|h| s.known.contains(h)), timeout)
            .await
    }

    /// When the last frame that brought this peer new changes arrived.
    pub fn latest_arrival(&self) -> Option<Instant> {
        lock(&self.state).latest_arrival
    }

    /// Asks the server for the document as a peer that has nothing (a
    /// `request` from empty), without waiting.
    pub fn request(&self) {
        self.sync(SyncKind::Request, ack(&[]));
    }

    /// Tells the server what this peer has (its heads), as a peer does on a
    /// new connection; the server answers with what is missing.
    pub fn resync(&self) {
        let heads = lock(&self.state).heads.clone();
        self.sync(SyncKind::Sync, ack(&heads));
    }

    /// Waits (at most `timeout`) until the server has acknowledged `hash`:
    /// its latest sync message to this peer lists it among its heads.
    pub async fn wait_acked(&self, hash: ChangeHash, timeout: Duration) -> anyhow::Result<()> {
        self.wait_for(|s| s.server_heads.contains(&hash), timeout)
            .await
    }

    /// The heads of what this peer has (applied or not).
    pub fn heads(&self) -> Vec<ChangeHash> {
        lock(&self.state).heads.clone()
    }

    /// Uploads a whole history (changes in causal order, e.g. from
    /// `Automerge::get_changes`) in sync messages of at most about
    /// `max_bytes` each, waiting for the server to acknowledge each one
    /// before the next. Each message says it last synced at the previous
    /// message's heads, so the server sends nothing back but its heads.
    /// The peer records the changes without applying them.
    pub async fn upload(
        &self,
        changes: &[Change],
        max_bytes: usize,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let mut rest = changes;
        while !rest.is_empty() {
            let mut size = 0;
            let n = rest
                .iter()
                .take_while(|c| {
                    size += c.raw_bytes().len();
                    size <= max_bytes
                })
                .count()
                .max(1);
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let (old, heads) = {
                let mut state = lock(&self.state);
                let old = state.heads.clone();
                for c in chunk {
                    state.learn(c);
                }
                (old, state.heads.clone())
            };
            let hashes: Vec<ChangeHash> = chunk.iter().map(Change::hash).collect();
            let data = SyncData {
                heads: heads.clone(),
                need: vec![],
                have: vec![Have {
                    last_sync: old,
                    bloom: BloomFilter::from_hashes(hashes.iter()),
                }],
                changes: chunk
                    .iter()
                    .map(|c| c.raw_bytes().to_vec())
                    .collect::<Vec<_>>()
                    .into(),
                flags: capabilities(),
                version: MessageVersion::V1,
            };
            self.sync(SyncKind::Sync, data.encode());
            self.wait_for(
                |s| heads.iter().all(|h| s.server_heads.contains(h)),
                timeout,
            )
            .await?;
        }
        Ok(())
    }

    fn push(&self, old_heads: Vec<ChangeHash>, change: Change) {
        let heads = lock(&self.state).heads.clone();
        let data = SyncData {
            heads,
            need: vec![],
            have: vec![Have {
                last_sync: old_heads,
                bloom: BloomFilter::from_hashes([change.hash()].iter()),
            }],
            changes: vec![change.raw_bytes().to_vec()].into(),
            flags: capabilities(),
            version: MessageVersion::V1,
        };
        self.sync(SyncKind::Sync, data.encode());
    }

    /// Inserts `s` at a random position; returns the change's hash.
    pub fn edit(&self, s: &str) -> (ChangeHash, Instant) {
        self.edit_text(
            |doc| doc.get(ROOT, "text").expect("get").expect("text").1,
            s,
        )
    }

    /// Inserts `s` at a random position of the text `text` finds (after
    /// applying what has arrived); returns the change's hash.
    pub fn edit_text(
        &self,
        text: impl FnOnce(&Automerge) -> automerge::ObjId,
        s: &str,
    ) -> (ChangeHash, Instant) {
        let (old, change, t) = {
            let mut state = lock(&self.state);
            state.catch_up();
            let old = state.heads.clone();
            let obj = text(&state.doc);
            let len = state.doc.length(&obj);
            let pos = rand::random_range(0..=len);
            let t = Instant::now();
            let mut tx = state.doc.transaction();
            tx.splice_text(&obj, pos, 0, s).expect("splice");
            tx.commit();
            let change = state.doc.get_last_local_change().expect("a change");
            state.learn(&change);
            (old, change, t)
        };
        let hash = change.hash();
        self.push(old, change);
        (hash, t)
    }

    /// Applies everything received; returns the document's heads.
    pub fn settle(&self) -> Vec<ChangeHash> {
        let mut state = lock(&self.state);
        state.catch_up();
        state.doc.get_heads()
    }
}

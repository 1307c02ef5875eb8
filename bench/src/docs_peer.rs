//! A lightweight peer for many documents over one connection.
//!
//! The many-documents scenario creates and fetches thousands of small
//! documents; one connection per document would measure connection set-up,
//! not documents. This peer keeps, per document, only the hashes it has and
//! the server's latest heads (it never builds the document), and answers
//! every sync message as an automerge peer that has everything it was sent
//! would (`light::ack`). Works against any automerge-repo sync server.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::sync::{BloomFilter, Have, Message as SyncData, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjType, ROOT};
use docsync::{DocumentId, Message, PeerId, PeerMetadata, SyncKind, SyncMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::light::ack;

#[derive(Default)]
struct DocState {
    known: HashSet<ChangeHash>,
    heads: Vec<ChangeHash>,
    server_heads: Vec<ChangeHash>,
    /// The server answered `doc-unavailable`.
    unavailable: bool,
}

#[derive(Default)]
struct State {
    server: Option<PeerId>,
    docs: HashMap<DocumentId, DocState>,
    /// How the connection ended, once it has.
    closed: Option<String>,
}

/// One connection carrying many documents.
pub struct DocsPeer {
    id: PeerId,
    /// Every document this peer creates is written by this actor, as one
    /// client application would.
    actor: ActorId,
    state: Arc<Mutex<State>>,
    out: mpsc::UnboundedSender<WsMessage>,
    events: watch::Receiver<u64>,
    tasks: [AbortHandle; 2],
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DocsPeer {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(
            url,
            Some(crate::light::ws_config()),
            true,
        )
        .await?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let (notify, events) = watch::channel(0u64);
        let id = PeerId::new(format!("docs-{}", rand::random::<u64>())).expect("peer id");
        let state: Arc<Mutex<State>> = Arc::default();
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    return;
                }
            }
        });
        let (reply_state, reply_out, reply_id) = (state.clone(), out.clone(), id.clone());
        let reader = tokio::spawn(async move {
            let mut how = "the server closed the connection".to_owned();
            while let Some(frame) = stream.next().await {
                match frame {
                    Ok(WsMessage::Binary(bytes)) => {
                        on_frame(&bytes, &reply_state, &reply_out, &reply_id);
                        notify.send_modify(|n| *n += 1);
                    }
                    Ok(WsMessage::Close(close)) => {
                        how = format!("the server closed the connection ({close:?})");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        how = format!("the connection failed: {e}");
                        break;
                    }
                }
            }
            lock(&reply_state).closed = Some(how);
            notify.send_modify(|n| *n += 1);
        });
        let peer = Self {
            id: id.clone(),
            actor: ActorId::random(),
            state,
            out,
            events,
            tasks: [writer.abort_handle(), reader.abort_handle()],
        };
        send(
            &peer.out,
            &Message::Join {
                sender_id: id,
                peer_metadata: PeerMetadata::default(),
                supported_protocol_versions: Some(vec!["1".into()]),
            },
        );
        peer.wait(|s| s.server.is_some(), Duration::from_secs(30))
            .await?;
        Ok(peer)
    }

    async fn wait(&self, done: impl Fn(&State) -> bool, timeout: Duration) -> anyhow::Result<()> {
        let mut events = self.events.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let state = lock(&self.state);
                if done(&state) {
                    return Ok(());
                }
                if let Some(how) = &state.closed {
                    anyhow::bail!("{how}");
                }
            }
            tokio::time::timeout_at(deadline, events.changed())
                .await
                .map_err(|_| anyhow::anyhow!("timed out after {timeout:?}"))??;
        }
    }

    fn sync(&self, kind: SyncKind, doc: DocumentId, data: Vec<u8>) {
        let Some(server) = lock(&self.state).server.clone() else {
            return;
        };
        send(
            &self.out,
            &Message::Sync(SyncMessage {
                kind,
                sender_id: self.id.clone(),
                target_id: server,
                document_id: doc,
                data,
            }),
        );
    }

    /// Creates a small document holding `text` on the server (one change,
    /// sent as a client creating a document sends it) and waits until the
    /// server acknowledges it. Returns the document's heads.
    pub async fn create(&self, doc_id: DocumentId, text: &str) -> anyhow::Result<Vec<ChangeHash>> {
        let mut doc = Automerge::new().with_actor(self.actor.clone());
        let mut tx = doc.transaction();
        let obj = tx.put_object(ROOT, "text", ObjType::Text)?;
        tx.splice_text(&obj, 0, 0, text)?;
        tx.commit();
        let change: Change = doc.get_last_local_change().expect("a change");
        let hash = change.hash();
        {
            let mut state = lock(&self.state);
            let d = state.docs.entry(doc_id).or_default();
            d.known.insert(hash);
            d.heads = vec![hash];
        }
        let data = SyncData {
            heads: vec![hash],
            need: vec![],
            have: vec![Have {
                last_sync: vec![],
                bloom: BloomFilter::from_hashes([hash].iter()),
            }],
            changes: vec![change.raw_bytes().to_vec()].into(),
            flags: crate::light::capabilities(),
            version: MessageVersion::V1,
        };
        self.sync(SyncKind::Sync, doc_id, data.encode());
        self.wait(
            |s| {
                s.docs
                    .get(&doc_id)
                    .is_some_and(|d| d.server_heads.contains(&hash))
            },
            Duration::from_secs(30),
        )
        .await?;
        Ok(vec![hash])
    }

    /// Fetches a document this peer does not have (a `request` from empty)
    /// and waits until every change in `heads` has arrived.
    pub async fn fetch(
        &self,
        doc_id: DocumentId,
        heads: &[ChangeHash],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        lock(&self.state).docs.insert(doc_id, DocState::default());
        self.sync(SyncKind::Request, doc_id, ack(&[]));
        self.wait(
            |s| {
                s.docs
                    .get(&doc_id)
                    .is_some_and(|d| d.unavailable || heads.iter().all(|h| d.known.contains(h)))
            },
            timeout,
        )
        .await?;
        let unavailable = lock(&self.state)
            .docs
            .get(&doc_id)
            .is_some_and(|d| d.unavailable);
        anyhow::ensure!(
            !unavailable,
            "the server answered doc-unavailable for {doc_id}"
        );
        Ok(())
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed.is_some()
    }

    /// Closes the connection.
    pub fn close(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for DocsPeer {
    fn drop(&mut self) {
        self.close();
    }
}

fn send(out: &mpsc::UnboundedSender<WsMessage>, m: &Message) {
    let _ = out.send(WsMessage::Binary(docsync::encode(m).into()));
}

fn on_frame(
    bytes: &[u8],
    state: &Mutex<State>,
    out: &mpsc::UnboundedSender<WsMessage>,
    me: &PeerId,
) {
    let Ok(message) = docsync::decode(bytes) else {
        return;
    };
    match message {
        Message::Peer { sender_id, .. } => lock(state).server = Some(sender_id),
        Message::DocUnavailable { document_id, .. } => {
            lock(state).docs.entry(document_id).or_default().unavailable = true;
        }
        Message::Sync(m) => {
            let Ok(data) = SyncData::decode(&m.data) else {
                return;
            };
            let mut state = lock(state);
            let has_it = state
                .docs
                .get(&m.document_id)
                .is_some_and(|d| !d.known.is_empty());
            if m.kind == SyncKind::Request && !has_it {
                // The server asks its peers for a document it does not
                // have: say so, as an automerge-repo peer does.
                send(
                    out,
                    &Message::DocUnavailable {
                        sender_id: me.clone(),
                        target_id: m.sender_id,
                        document_id: m.document_id,
                    },
                );
                return;
            }
            let d = state.docs.entry(m.document_id).or_default();
            d.server_heads.clone_from(&data.heads);
            let mut arrived = false;
            // Changes, bundles, or a whole saved document (this peer says
            // it reads V2 messages, as automerge 3's clients do).
            let changes = data
                .changes
                .iter()
                .filter_map(|chunk| docsync::chunks::decode_standalone(chunk).ok().flatten())
                .flatten();
            for change in changes {
                if d.known.insert(change.hash()) {
                    d.heads.retain(|h| !change.deps().contains(h));
                    d.heads.push(change.hash());
                    arrived = true;
                }
            }
            d.heads.sort();
            if arrived || data.heads != d.heads {
                let reply = ack(&d.heads);
                send(
                    out,
                    &Message::Sync(SyncMessage {
                        kind: SyncKind::Sync,
                        sender_id: me.clone(),
                        target_id: m.sender_id,
                        document_id: m.document_id,
                        data: reply,
                    }),
                );
            }
        }
        _ => {}
    }
}

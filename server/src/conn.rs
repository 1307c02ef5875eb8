//! One WebSocket connection speaking the automerge-repo protocol.
//!
//! The socket is split: this reader loop decodes frames and forwards them
//! to document actors; a writer task drains a bounded [`Outbox`] queue and
//! sends keepalive pings. Any bad input ends the connection with an `error`
//! message; nothing else is affected.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket};
use docsync::incoming::{self, FrameError};
use docsync::{DocumentId, Message, PROTOCOL_VERSION, PeerId, PeerMetadata};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::AppState;
use crate::activity::Activity;
use crate::auth::{Role, Session, User};
use crate::docs::{AnswerPermit, DocCommand, Outbound, Outbox, PeerLink};
use crate::rate::TokenBucket;

/// Documents one connection may open.
const MAX_DOCS_PER_CONNECTION: usize = 10_000;

/// Why a connection is closed. The text is what the peer reads.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("malformed message: {0}")]
    Decode(#[from] docsync::DecodeError),
    #[error("message too large (limit {limit} bytes)")]
    TooLarge { limit: usize },
    #[error("text frames are not supported; send CBOR in binary frames")]
    TextFrame,
    /// Not joined, wrong protocol version or sender, oversized presence.
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("already joined")]
    AlreadyJoined,
    #[error("unexpected `{0}` message from a client")]
    Unexpected(&'static str),
    #[error("your access to a document changed; please reconnect")]
    RoleChanged,
    #[error("this peer id is in use by another user's connection")]
    PeerIdTaken,
    #[error("too many documents on one connection")]
    TooManyDocuments,
    #[error("rate limit exceeded ({rate} messages per second, bursts of {burst})")]
    RateLimited { rate: u32, burst: u32 },
    #[error("websocket error: {0}")]
    Socket(String),
}

/// Serves one socket for `who` (the session and user the upgrade request
/// carried, if any), holding one of the server's connection slots.
/// `activity` tells when bytes last reached the socket (the writer drops a
/// peer whose socket takes nothing for two ping intervals).
pub async fn serve(
    socket: WebSocket,
    app: Arc<AppState>,
    who: Option<(Session, User)>,
    slot: OwnedSemaphorePermit,
    activity: Option<Arc<Activity>>,
) {
    let conn_id = app.next_conn_id();
    let user_field = who.as_ref().map(|(_, u)| u.id.clone());
    let span = tracing::info_span!(
        "conn",
        conn_id,
        peer = tracing::field::Empty,
        user = user_field
    );
    app.shared.metrics.connections.inc();
    let mut connection = Connection::new(conn_id, app.clone());
    if let Some((session, user)) = who {
        // Revoking the session closes this connection. A revocation that
        // happened during the handshake is caught by checking again.
        app.watch_session(&session.id, &connection.cancel);
        let still_valid = app
            .shared
            .auth
            .session_by_id_valid(&session.id)
            .unwrap_or(false);
        if !still_valid {
            connection.cancel.cancel();
        }
        connection.user = Some(Arc::new(user));
    }
    connection.run(socket, activity).instrument(span).await;
    // The slot is free before the gauge says so.
    drop(slot);
    app.shared.metrics.connections.dec();
}

struct Connection {
    conn_id: u64,
    app: Arc<AppState>,
    cancel: CancellationToken,
    outbox: Outbox,
    outbox_rx: Option<mpsc::Receiver<Outbound>>,
    peer: Option<PeerId>,
    user: Option<Arc<User>>,
    /// The peer's role per document (`None`: the document does not exist
    /// for this peer), decided once per connection.
    roles: HashMap<DocumentId, Option<Role>>,
    roles_epoch: u64,
    docs: HashSet<DocumentId>,
    /// Set by any incoming frame, cleared by each ping: a peer that has not
    /// answered since the previous ping is dead.
    alive: Arc<AtomicBool>,
    /// The message rate limit, and how many of the server's messages it
    /// has credited (the peer may answer each).
    rate: TokenBucket,
    credited: usize,
}

impl Connection {
    fn new(conn_id: u64, app: Arc<AppState>) -> Self {
        let cancel = app.shutdown.child_token();
        let config = &app.shared.config;
        let (outbox, rx) = Outbox::new(
            cancel.clone(),
            config.outbound_queue,
            config.max_queued_bytes,
            app.shared.metrics.clone(),
        );
        let rate = TokenBucket::new(
            config.max_messages_per_second,
            config.message_burst,
            Instant::now(),
        );
        Self {
            conn_id,
            outbox,
            rate,
            credited: 0,
            cancel,
            app,
            outbox_rx: Some(rx),
            peer: None,
            user: None,
            roles: HashMap::new(),
            roles_epoch: 0,
            docs: HashSet::new(),
            alive: Arc::new(AtomicBool::new(true)),
        }
    }

    async fn run(mut self, socket: WebSocket, activity: Option<Arc<Activity>>) {
        let (sink, mut stream) = socket.split();
        let Some(rx) = self.outbox_rx.take() else {
            return;
        };
        let writer = tokio::spawn(
            write_loop(
                sink,
                rx,
                self.outbox.clone(),
                self.alive.clone(),
                self.app.clone(),
                activity,
            )
            .in_current_span(),
        );
        let mut roles = self.app.watch_roles();
        let result = loop {
            let frame = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break Ok(()),
                // Access changed somewhere: re-check this connection's roles
                // now, not at its next message (a reader may never send one).
                Ok(()) = roles.changed() => {
                    match self.recheck_roles() {
                        Ok(()) => continue,
                        Err(e) => break Err(e),
                    }
                }
                frame = stream.next() => frame,
            };
            let Some(frame) = frame else { break Ok(()) };
            self.alive.store(true, Ordering::Relaxed);
            if let Err(e) = self.count_message() {
                self.app.shared.metrics.rate_limited.inc();
                break Err(e);
            }
            let outcome = match frame {
                Ok(WsMessage::Binary(bytes)) => {
                    self.app.shared.metrics.messages_in.inc();
                    self.app.shared.metrics.bytes_in.inc_by(bytes.len() as u64);
                    // Back-pressure: the next message is taken in only once
                    // the answers to the previous ones are on their way.
                    let Some(answer) = self.outbox.pace().await else {
                        break Ok(());
                    };
                    self.handle(&bytes, answer).await
                }
                Ok(WsMessage::Text(_)) => Err(ConnError::TextFrame),
                Ok(WsMessage::Close(_)) => break Ok(()),
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => Ok(()),
                Err(e) => Err(self.socket_error(e)),
            };
            if let Err(e) = outcome {
                break Err(e);
            }
        };
        match result {
            Ok(()) => self.cancel.cancel(),
            Err(e) => {
                tracing::warn!(error = %e, "closing connection after bad input");
                self.app.shared.metrics.protocol_errors.inc();
                self.outbox.fail(e.to_string());
            }
        }
        self.leave().await;
        // The writer ends after sending the error, or on cancellation; one
        // stuck on a dead socket is aborted.
        let mut writer = writer;
        if tokio::time::timeout(Duration::from_secs(2), &mut writer)
            .await
            .is_err()
        {
            self.cancel.cancel();
            writer.abort();
            let _ = writer.await;
        }
        self.cancel.cancel();
    }

    /// Takes a token for one incoming frame, after crediting the messages
    /// written to the peer since the last one.
    fn count_message(&mut self) -> Result<(), ConnError> {
        let written = self.outbox.written_count();
        self.rate.credit(written.saturating_sub(self.credited));
        self.credited = written;
        if self.rate.take(Instant::now()) {
            Ok(())
        } else {
            let config = &self.app.shared.config;
            Err(ConnError::RateLimited {
                rate: config.max_messages_per_second,
                burst: config.message_burst,
            })
        }
    }

    fn socket_error(&self, e: axum::Error) -> ConnError {
        let limit = self.app.shared.config.max_message_bytes;
        let text = e.to_string();
        // tungstenite reports its size limits as "Space limit exceeded".
        if text.contains("Space limit exceeded") || text.contains("too long") {
            ConnError::TooLarge { limit }
        } else {
            ConnError::Socket(text)
        }
    }

    /// Handles one incoming frame; `answer` goes with a sync message to its
    /// document's actor (see [`Outbox::pace`]).
    async fn handle(&mut self, bytes: &[u8], answer: AnswerPermit) -> Result<(), ConnError> {
        let message = docsync::decode(bytes)?;
        let Some(joined) = self.peer.clone() else {
            return self.join(message);
        };
        incoming::check_sender(&joined, &message)?;
        let doc = match &message {
            Message::Sync(m) => Some(m.document_id),
            Message::Ephemeral(m) => Some(m.document_id),
            _ => None,
        };
        let role = match doc {
            Some(doc) => match self.role(doc)? {
                Some(role) => role,
                // Missing and forbidden documents answer alike.
                None => {
                    if matches!(message, Message::Sync(_)) {
                        self.outbox.answer(Message::DocUnavailable {
                            sender_id: self.app.shared.peer_id.clone(),
                            target_id: joined,
                            document_id: doc,
                        });
                    }
                    return Ok(());
                }
            },
            None => Role::Public,
        };
        let link = PeerLink {
            peer_id: joined,
            conn_id: self.conn_id,
            outbox: self.outbox.clone(),
            role,
            user_id: self.user.as_ref().map(|u| Arc::from(u.id.as_str())),
        };
        match message {
            Message::Join { .. } => Err(ConnError::AlreadyJoined),
            Message::Sync(m) => {
                self.docs.insert(m.document_id);
                let command = DocCommand::Sync {
                    from: link,
                    kind: m.kind,
                    data: m.data,
                    answer,
                };
                self.app.docs.send(m.document_id, command).await;
                Ok(())
            }
            Message::Ephemeral(m) => {
                incoming::check_ephemeral(&m)?;
                self.docs.insert(m.document_id);
                let doc = m.document_id;
                self.app
                    .docs
                    .send(
                        doc,
                        DocCommand::Ephemeral {
                            from: link,
                            message: m,
                        },
                    )
                    .await;
                Ok(())
            }
            // The peer does not have a document we offered: nothing to do.
            Message::DocUnavailable { .. } | Message::Ignored { .. } => Ok(()),
            Message::Peer { .. } => Err(ConnError::Unexpected("peer")),
            Message::Error { message, .. } => {
                let message: String = message.chars().take(200).collect();
                tracing::info!(%message, "peer reported an error");
                Err(ConnError::Unexpected("error"))
            }
        }
    }

    /// This connection's role in a document: from the workshop it belongs
    /// to; documents outside any workshop exist for admins only.
    fn recheck_roles(&mut self) -> Result<(), ConnError> {
        let epoch = self.app.roles_epoch();
        if epoch != self.roles_epoch {
            // Roles may have changed: any document whose role went down
            // ends the connection (the client reconnects with its new rights).
            let cached: Vec<(DocumentId, Option<Role>)> = self.roles.drain().collect();
            self.roles_epoch = epoch;
            for (d, before) in cached {
                let now = self.compute_role(d)?;
                if now < before {
                    return Err(ConnError::RoleChanged);
                }
                self.roles.insert(d, now);
            }
        }
        Ok(())
    }

    fn role(&mut self, doc: DocumentId) -> Result<Option<Role>, ConnError> {
        self.recheck_roles()?;
        if let Some(role) = self.roles.get(&doc) {
            return Ok(*role);
        }
        if self.roles.len() >= MAX_DOCS_PER_CONNECTION {
            return Err(ConnError::TooManyDocuments);
        }
        let role = self.compute_role(doc)?;
        self.roles.insert(doc, role);
        Ok(role)
    }

    fn compute_role(&self, doc: DocumentId) -> Result<Option<Role>, ConnError> {
        let user = self.user.as_deref();
        let record = self
            .app
            .workshops
            .get(&doc)
            .map_err(|e| ConnError::Socket(e.to_string()))?;
        Ok(match record {
            // A public shown only the published edition gets no live
            // document: to it, the document is unavailable (the page serves
            // the edition).
            Some(w) => self
                .app
                .shared
                .auth
                .role(user, &doc, w.is_open())
                .map_err(|e| ConnError::Socket(e.to_string()))?
                .filter(|role| !w.edition_only(*role)),
            None => match self
                .app
                .workshops
                .draft(&doc)
                .map_err(|e| ConnError::Socket(e.to_string()))?
            {
                Some(draft) => self.draft_role(&draft)?,
                None => user.filter(|u| u.admin).map(|_| Role::Host),
            },
        })
    }

    /// A draft is its owner's (while they still take part in the workshop)
    /// and the workshop's hosts'; nobody else learns it exists.
    fn draft_role(&self, draft: &crate::workshops::DraftRecord) -> Result<Option<Role>, ConnError> {
        let Some(user) = self.user.as_deref() else {
            return Ok(None);
        };
        let workshop =
            DocumentId::parse(&draft.workshop).map_err(|e| ConnError::Socket(e.to_string()))?;
        let open = self
            .app
            .workshops
            .get(&workshop)
            .map_err(|e| ConnError::Socket(e.to_string()))?
            .is_some_and(|w| w.is_open());
        let role = self
            .app
            .shared
            .auth
            .role(Some(user), &workshop, open)
            .map_err(|e| ConnError::Socket(e.to_string()))?;
        Ok(match role {
            Some(Role::Host) => Some(Role::Drafter),
            Some(Role::Participant | Role::Drafter) if draft.owner == user.id => {
                Some(Role::Drafter)
            }
            _ => None,
        })
    }

    fn join(&mut self, message: Message) -> Result<(), ConnError> {
        let sender_id = incoming::check_join(message)?;
        tracing::Span::current().record("peer", tracing::field::display(&sender_id));
        // A second join with the same peer id replaces the old connection.
        let user = self.user.as_ref().map(|u| u.id.as_str());
        match self
            .app
            .register_peer(&sender_id, self.conn_id, &self.cancel, user)
        {
            Ok(Some(old)) => {
                tracing::info!("peer reconnected; closing its previous connection");
                old.cancel();
            }
            Ok(None) => {}
            Err(()) => return Err(ConnError::PeerIdTaken),
        }
        self.outbox.answer(Message::Peer {
            sender_id: self.app.shared.peer_id.clone(),
            target_id: sender_id.clone(),
            peer_metadata: PeerMetadata {
                storage_id: Some(self.app.storage_id.clone()),
                is_ephemeral: false,
            },
            selected_protocol_version: PROTOCOL_VERSION.to_owned(),
        });
        self.peer = Some(sender_id);
        Ok(())
    }

    /// Tells every document this connection used that it is gone.
    async fn leave(&mut self) {
        let Some(peer_id) = self.peer.take() else {
            return;
        };
        for doc in self.docs.drain() {
            let command = DocCommand::Leave {
                peer_id: peer_id.clone(),
                conn_id: self.conn_id,
            };
            self.app.docs.send_if_resident(doc, command).await;
        }
        self.app.unregister_peer(&peer_id, self.conn_id);
    }
}

/// Waits for one write to the socket. False if it failed, or if no byte
/// reached the socket for `stall` meanwhile: the peer has stopped reading,
/// and is dropped as too slow. (A peer that keeps reading, however slowly,
/// keeps the write going: a large message may take long.)
async fn progress<E>(
    write: impl std::future::Future<Output = Result<(), E>>,
    outbox: &Outbox,
    activity: Option<&Activity>,
    stall: Duration,
) -> bool {
    let stalled = async {
        match activity {
            Some(activity) => activity.write_stalled(stall).await,
            None => tokio::time::sleep(stall).await,
        }
    };
    tokio::select! {
        written = write => written.is_ok(),
        () = stalled => {
            outbox.too_slow();
            false
        }
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut rx: mpsc::Receiver<Outbound>,
    outbox: Outbox,
    alive: Arc<AtomicBool>,
    app: Arc<AppState>,
    activity: Option<Arc<Activity>>,
) {
    let metrics = &app.shared.metrics;
    let cancel = outbox.cancel_token();
    let interval = app.shared.config.ping_interval;
    let stall = interval * 2;
    let activity = activity.as_deref();
    let mut ping = tokio::time::interval(interval);
    let mut last_tick = ping.tick().await;
    loop {
        let outbound = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            outbound = rx.recv() => outbound,
            tick = ping.tick() => {
                // Alive: it sent a frame or any bytes (its pong may wait
                // behind the rest of a large message), or it drained a full
                // socket (our ping may wait behind what it asked for). While
                // the reader paces the peer, its frames (its pong too) wait
                // unread because of us: no sign of death either.
                let moved = activity
                    .is_some_and(|a| a.read_since(last_tick) || a.drained_since(last_tick));
                last_tick = tick;
                if !alive.swap(false, Ordering::Relaxed) && !moved && !outbox.is_pacing() {
                    tracing::info!("peer did not answer the last ping; dropping it");
                    break;
                }
                let ping = sink.send(WsMessage::Ping(Default::default()));
                let sent = tokio::select! {
                    biased;
                    () = cancel.cancelled() => false,
                    sent = progress(ping, &outbox, activity, stall) => sent,
                };
                if !sent {
                    break;
                }
                continue;
            }
        };
        let Some(Outbound::Message(message)) = outbound else {
            break;
        };
        // Send everything already queued in one write. A peer that does not
        // read leaves this write pending on a full socket; cancelling the
        // connection (its queue filled up meanwhile), or two ping intervals
        // without progress, ends the wait.
        let write = async {
            let mut next = Some(message);
            while let Some(message) = next.take() {
                outbox.dequeued(&message);
                let bytes = docsync::encode(&message);
                metrics.messages_out.inc();
                metrics.bytes_out.inc_by(bytes.len() as u64);
                let feed = sink.feed(WsMessage::Binary(bytes.into()));
                if !progress(feed, &outbox, activity, stall).await {
                    return false;
                }
                outbox.written();
                if cancel.is_cancelled() {
                    break;
                }
                next = match rx.try_recv() {
                    Ok(Outbound::Message(m)) => Some(m),
                    Err(_) => None,
                };
            }
            progress(sink.flush(), &outbox, activity, stall).await
        };
        let written = tokio::select! {
            biased;
            () = cancel.cancelled() => false,
            written = write => written,
        };
        if !written {
            break;
        }
    }
    cancel.cancel();
    // A fatal error goes out ahead of anything still queued (unless the
    // socket is full: then the peer is not reading anyway).
    let goodbye = async {
        if let Some(fatal) = outbox.fatal() {
            let error = Message::Error {
                sender_id: Some(app.shared.peer_id.clone()),
                target_id: None,
                message: fatal.reason.clone(),
                document_id: fatal.document,
            };
            let _ = sink
                .feed(WsMessage::Binary(docsync::encode(&error).into()))
                .await;
        }
        let _ = sink.send(WsMessage::Close(None)).await;
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
}

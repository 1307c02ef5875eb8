//! What the other nodes sharing the store tell this one (see
//! [`crate::store::ClusterEvent`]), applied here: chunks they committed
//! reach this node's resident documents, their peers' ephemeral messages
//! reach this node's peers, and their revocations close this node's
//! sockets.
//!
//! Only documents resident here have anything to do: one that is not loads
//! every committed chunk when it is opened. Nothing relies on a
//! notification alone: a resident document also catches up from the table
//! when a peer (re)joins it and after the listening connection reconnects
//! ([`ClusterEvent::Resync`]), and the housekeeping task closes sockets of
//! sessions that ended (see `guard::housekeeping`).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::docs::DocCommand;
use crate::store::ClusterEvent;

/// Applies the other nodes' events until shutdown.
pub(crate) async fn run(
    app: Arc<AppState>,
    mut events: UnboundedReceiver<ClusterEvent>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        let Some(event) = event else { return };
        tracing::trace!(?event, "from another node");
        match event {
            ClusterEvent::Chunks { doc, keys } => {
                app.docs
                    .send_if_resident(doc, DocCommand::CatchUp { keys })
                    .await;
            }
            ClusterEvent::Resync => {
                // A revocation may have been missed too.
                app.roles_changed_here();
                app.docs
                    .send_to_resident(|| DocCommand::CatchUp { keys: None })
                    .await;
            }
            ClusterEvent::Ephemeral { doc, frame } => match docsync::decode(&frame) {
                Ok(docsync::Message::Ephemeral(message)) if message.document_id == doc => {
                    app.docs
                        .send_if_resident(doc, DocCommand::RemoteEphemeral { message })
                        .await;
                }
                _ => tracing::warn!(%doc, "ignored an ephemeral frame from another node"),
            },
            ClusterEvent::SessionClosed { session } => app.close_session_here(&session),
            ClusterEvent::RolesChanged => app.roles_changed_here(),
        }
    }
}

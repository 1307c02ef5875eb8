//! The control socket: how `synpunkt admin-link` gets a fresh one-time
//! admin sign-in link from a running server.
//!
//! sled lets one process open a database, so while the server runs, only
//! the server can write an invite. It listens on a Unix domain socket in
//! its data directory, `control/admin.sock`: the directory is made `0700`
//! and the socket `0600`, so only the machine's users who can reach the
//! data directory (its owner, and root) can connect, and the server also
//! refuses a peer whose uid (`SO_PEERCRED`) is not the directory's owner's
//! or root's. The request is one line, `admin-link`; the answer one line,
//! the link (or `error: ...`). When no server runs, the command opens the
//! store itself. Either way the link is an admin invite for one use,
//! valid [`ADMIN_LINK_SECONDS`], stored only as its hash.

use std::io::{BufRead, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::auth::{Auth, Grant, Lifetimes};
use crate::store::{SledStore, Store};

/// How long a link from `synpunkt admin-link` stays valid: a day.
pub const ADMIN_LINK_SECONDS: u64 = 24 * 3600;

const REQUEST: &str = "admin-link";

/// The control socket of the server on `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join("control").join("admin.sock")
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no data directory at {0}")]
    NoData(PathBuf),
    #[error("the data directory {0} is in use, but its server does not answer on {1}: {2}")]
    NoAnswer(PathBuf, PathBuf, String),
    #[error("the server refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Store(String),
}

/// Binds the control socket (replacing a stale one: the caller holds the
/// store's lock, so no other server uses this directory).
pub(crate) fn bind(data: &Path) -> std::io::Result<tokio::net::UnixListener> {
    let path = socket_path(data);
    let dir = path.parent().unwrap_or(data);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers requests on the control socket until `shutdown`, then removes
/// the socket.
pub(crate) async fn serve(
    listener: tokio::net::UnixListener,
    app: Arc<AppState>,
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
) {
    let path = socket_path(&app.shared.config.data_dir);
    let owner = path
        .parent()
        .and_then(|dir| std::fs::metadata(dir).ok())
        .map(|m| m.uid());
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    continue;
                }
            },
        };
        let allowed = stream
            .peer_cred()
            .is_ok_and(|c| c.uid() == 0 || Some(c.uid()) == owner);
        if let Err(e) = answer(stream, &app, addr, allowed).await {
            tracing::warn!(error = %e, "control socket request failed");
        }
    }
    let _ = std::fs::remove_file(&path);
}

async fn answer(
    stream: tokio::net::UnixStream,
    app: &AppState,
    addr: std::net::SocketAddr,
    allowed: bool,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    // One short line; a peer that sends more or nothing is answered anyway.
    let mut limited = tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(read, 64));
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        limited.read_line(&mut line),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no request"))??;
    let reply = if !allowed {
        "error: not allowed\n".to_owned()
    } else if line.trim() != REQUEST {
        "error: unknown request\n".to_owned()
    } else {
        match app
            .auth
            .create_invite(None, Grant::Admin, Some(ADMIN_LINK_SECONDS), Some(1))
        {
            Ok((_, token)) => match app.shared.commit.durable().await {
                Ok(()) => {
                    tracing::info!("admin sign-in link issued on the control socket");
                    format!("http://{addr}/invite/{token}\n")
                }
                Err(e) => format!("error: {e}\n"),
            },
            Err(e) => format!("error: {e}\n"),
        }
    };
    write.write_all(reply.as_bytes()).await?;
    write.shutdown().await
}

/// A fresh one-time admin sign-in link for the server on `data`: asked of
/// the running server over its control socket, or, when none runs, made
/// in the store directly (then the link names `listen`, the address the
/// server will be started on).
pub fn admin_link(data: &Path, listen: &str) -> Result<String, ControlError> {
    if !data.is_dir() {
        return Err(ControlError::NoData(data.to_path_buf()));
    }
    let path = socket_path(data);
    match std::os::unix::net::UnixStream::connect(&path) {
        Ok(mut stream) => {
            stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
            stream.write_all(format!("{REQUEST}\n").as_bytes())?;
            let mut reply = String::new();
            std::io::BufReader::new(stream).read_line(&mut reply)?;
            let reply = reply.trim();
            match reply.strip_prefix("error: ") {
                Some(e) => Err(ControlError::Refused(e.to_owned())),
                None if reply.starts_with("http://") => Ok(reply.to_owned()),
                None => Err(ControlError::Refused(format!(
                    "unexpected answer {reply:?}"
                ))),
            }
        }
        // No server listens: make the link in the store.
        Err(connect) => {
            let store = SledStore::open(data).map_err(|e| {
                ControlError::NoAnswer(data.to_path_buf(), path.clone(), format!("{connect}; {e}"))
            })?;
            let store: Arc<dyn Store> = Arc::new(store);
            let lifetimes = Lifetimes::of(&crate::Config::new(data.to_path_buf()));
            let auth = Auth::new(store.clone(), crate::Clock::system(), lifetimes);
            let (_, token) = auth
                .create_invite(None, Grant::Admin, Some(ADMIN_LINK_SECONDS), Some(1))
                .map_err(|e| ControlError::Store(e.to_string()))?;
            store
                .flush()
                .map_err(|e| ControlError::Store(e.to_string()))?;
            Ok(format!("http://{listen}/invite/{token}"))
        }
    }
}

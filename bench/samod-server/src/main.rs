//! `samod-server LISTEN DATA_DIR`: an automerge-repo sync server on samod
//! with its filesystem storage, serving WebSockets on every path. It prints
//! `listening on ADDR` once it accepts connections (the bench waits for it).

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use samod::storage::TokioFilesystemStorage;
use samod::{AcceptorHandle, Repo, ShareConfig};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let data = args.next().expect("usage: samod-server LISTEN DATA_DIR");
    let repo = Repo::build_tokio()
        .with_storage(TokioFilesystemStorage::new(data))
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    // One acceptor for the endpoint; every connection is fed to it.
    let acceptor = repo
        .make_acceptor("ws://127.0.0.1/".parse().expect("url"))
        .expect("the repo is running");
    let app = axum::Router::new()
        .fallback(axum::routing::get(upgrade))
        .with_state(acceptor);
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    println!(
        "listening on {}",
        listener.local_addr().expect("address").port()
    );
    axum::serve(listener, app).await.expect("serve");
}

async fn upgrade(State(acceptor): State<AcceptorHandle>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .on_upgrade(move |socket| async move {
            // The repo runs the connection; a stopped repo drops the socket.
            drop(acceptor.accept_axum(socket, None));
        })
}

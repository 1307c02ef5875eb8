//! HTTP routes: the pages (`pages.rs`), the JSON API (`api/`), the sync
//! socket, health, the embedded web client and its service worker; and, on
//! a listener of its own, the metrics.

use std::sync::Arc;

use axum::Router;
use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::activity::Activity;

pub(crate) fn router(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(crate::pages::list))
        .route("/w/{id}", get(crate::pages::workshop))
        // Hosts create, archive and restore workshops (pages/manage.rs).
        .route(
            "/new",
            get(crate::pages::manage::new_form)
                .post(crate::pages::manage::create)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::pages::manage::MAX_FORM_BYTES,
                )),
        )
        .route(
            "/w/{id}/archive",
            get(crate::pages::manage::archive_page).post(crate::pages::manage::archive),
        )
        .route(
            "/w/{id}/restore",
            axum::routing::post(crate::pages::manage::restore),
        )
        .route("/account", get(crate::pages::account::account))
        .route(
            "/account/sessions/{session}/end",
            axum::routing::post(crate::pages::account::end_session),
        )
        .route(
            "/account/end-other-sessions",
            axum::routing::post(crate::pages::account::end_other_sessions),
        )
        .route(
            "/sign-out",
            get(crate::pages::account::sign_out_get).post(crate::pages::account::sign_out),
        )
        .route("/healthz", get(healthz))
        .route("/sync", get(sync))
        .route(
            "/api/workshops",
            get(crate::api::list).post(crate::api::create),
        )
        .route(
            "/api/workshops/{id}",
            get(crate::api::get).patch(crate::api::update),
        )
        .route(
            "/api/workshops/{id}/archive",
            axum::routing::post(crate::api::archive),
        )
        .route(
            "/api/workshops/{id}/restore",
            axum::routing::post(crate::api::restore),
        )
        .route("/api/workshops/{id}/members", get(crate::api::members))
        .route(
            "/api/workshops/{id}/members/{user}/sign-in-link",
            axum::routing::post(crate::api::member_sign_in_link),
        )
        .route("/api/sessions", get(crate::api::sessions))
        .route(
            "/api/sessions/{session}",
            axum::routing::delete(crate::api::end_session),
        )
        .route(
            "/api/workshops/{id}/invites",
            get(crate::api::list_invites).post(crate::api::create_invite),
        )
        .route(
            "/api/workshops/{id}/invites/{invite}",
            axum::routing::delete(crate::api::revoke_invite),
        )
        .route(
            "/api/invites/{token}/accept",
            axum::routing::post(crate::api::accept_invite),
        )
        .route(
            "/api/session",
            get(crate::api::me).delete(crate::api::sign_out),
        )
        .route(
            "/invite/{token}",
            get(crate::pages::invite_page).post(crate::pages::invite_form),
        )
        .route("/api/workshops/{id}/summary", get(crate::api::summary))
        .route("/api/workshops/{id}/authors", get(crate::api::authors))
        .route("/api/workshops/{id}/threads", get(crate::api::threads))
        .route(
            "/api/workshops/{id}/export.md",
            get(crate::api::export_markdown),
        )
        .route(
            "/api/workshops/{id}/contributions",
            get(crate::api::contributions),
        )
        .route(
            "/api/workshops/{id}/contributions/{cid}/preview",
            get(crate::api::preview),
        )
        .route(
            "/api/workshops/{id}/contributions/{cid}/accept",
            axum::routing::post(crate::api::accept),
        )
        .route(
            "/api/workshops/{id}/contributions/{cid}/reject",
            axum::routing::post(crate::api::reject),
        )
        .route(
            "/api/workshops/{id}/drafts",
            get(crate::api::drafts).post(crate::api::create_draft),
        )
        .route("/api/workshops/{id}/history", get(crate::api::history))
        .route(
            "/api/workshops/{id}/history/at",
            get(crate::api::version_at),
        )
        .route(
            "/api/workshops/{id}/history/compare",
            get(crate::api::compare),
        )
        .route(
            "/api/workshops/{id}/versions",
            axum::routing::post(crate::api::publish_version),
        )
        .route("/api/{*rest}", axum::routing::any(crate::api::not_found))
        .route("/client/client_wasm.js", get(client_js))
        .route("/client/client_wasm_bg.wasm", get(client_wasm))
        .route("/client/boot.js", get(crate::pages::boot_js))
        .route("/client/app.css", get(crate::pages::app_css))
        .route("/favicon.svg", get(crate::pages::favicon))
        .route("/sw.js", get(service_worker))
        .fallback(crate::pages::not_found)
        // The sign-in limit, before any route reads a session.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::guard::check,
        ))
        // Cross-site requests with the cookie refused; every error JSON.
        .layer(axum::middleware::from_fn(crate::api::guard::guard))
        .layer(axum::middleware::from_fn(
            crate::api::guard::refuse_long_uris,
        ))
        // Every response, pages above all, gets the security headers.
        .layer(axum::middleware::map_response(
            crate::pages::security_headers,
        ))
        .with_state(app)
}

/// The metrics listener's routes: `/metrics` only. Kept off the public
/// listener: the counters tell an attacker how the server is doing.
pub(crate) fn metrics_router(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn sync(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    activity: Option<Extension<Arc<Activity>>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if app.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    // Without a valid session the connection is public; a token that is
    // not valid (revoked, unknown) is refused outright.
    let who = match crate::api::identity(&app, &headers, &query) {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    if who.is_none() && crate::api::token_of(&headers, &query).is_some() {
        return crate::api::ApiError::Unauthorized.into_response();
    }
    // A page on another site must not act with the user's cookie.
    let by_cookie = !query.contains_key("token") && !headers.contains_key(header::AUTHORIZATION);
    if who.is_some() && by_cookie && crate::api::cross_site(&headers) {
        return crate::api::ApiError::Forbidden.into_response();
    }
    // A slot is taken before upgrading and held until the connection ends
    // (an upgrade that never completes drops it too).
    let Ok(slot) = app.connection_slots.clone().try_acquire_owned() else {
        app.shared.metrics.connections_refused.inc();
        tracing::warn!("refusing a WebSocket: at the connection cap");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            axum::Json(serde_json::json!({ "error": "too many connections; try again later" })),
        )
            .into_response();
    };
    let limit = app.shared.config.max_message_bytes;
    // Counted from now, not from when the upgrade completes, so that
    // shutdown waits for connections accepted just before it.
    let token = app.connections.token();
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        // tungstenite zeroes its read buffer on every read: keep it small
        // (messages larger than this are read in several steps).
        .read_buffer_size(16 * 1024)
        .on_upgrade(move |socket| async move {
            let activity = activity.map(|Extension(a)| a);
            crate::conn::serve(socket, app, who, slot, activity).await;
            drop(token);
        })
}

/// 200 while the node can store writes: its store has not failed for good
/// and answers now (a database probe with a short timeout).
async fn healthz(State(app): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if app.shared.store_failed() {
        return (StatusCode::SERVICE_UNAVAILABLE, "store failed\n");
    }
    let store = app.shared.store.clone();
    match tokio::task::spawn_blocking(move || store.health()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store is unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store check failed\n"),
    }
}

async fn metrics(State(app): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.shared.metrics.render(),
    )
}

/// The web client, built and embedded by `build.rs`.
const CLIENT_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/client_wasm.js"));
const CLIENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/client_wasm_bg.wasm"));

async fn client_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CLIENT_JS,
    )
}

async fn client_wasm() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/wasm"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CLIENT_WASM,
    )
}

/// The service worker (`assets/sw.js`), which keeps the client, the
/// assets and the pages a user opened for offline use.
const SERVICE_WORKER: &str = include_str!("../assets/sw.js");

/// What `sw.js` says in place of its cache's version.
const VERSION_PLACEHOLDER: &str = "__SYNPUNKT_VERSION__";

/// `sw.js` with the version of everything it caches: a short hash of the
/// embedded client, assets and the worker itself. A new build changes the
/// worker's bytes, so browsers install it, and its new cache name makes it
/// drop the old build's cache. Computed once, on first use.
fn service_worker_js() -> &'static str {
    static JS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JS.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in [
            CLIENT_JS,
            CLIENT_WASM,
            crate::pages::BOOT_JS.as_bytes(),
            crate::pages::APP_CSS.as_bytes(),
            SERVICE_WORKER.as_bytes(),
        ] {
            // Lengths first, so that bytes moving between parts count.
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let version = hex::encode(&hash.finalize()[..6]);
        SERVICE_WORKER.replace(VERSION_PLACEHOLDER, &version)
    })
}

/// `GET /sw.js`: at the root, so that its scope covers every page. Checked
/// for a new version on every navigation (`no-cache`).
async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        service_worker_js(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's download budget (raw bytes, wasm + JS, as served).
    const CLIENT_BUDGET_BYTES: usize = 1_500_000;

    /// Checks the embedded client against its budget. A build with
    /// `SYNPUNKT_SKIP_WEB` embeds an empty placeholder module instead, and then
    /// there is nothing to measure: the test passes without checking.
    #[test]
    fn the_embedded_client_fits_its_budget_unless_skip_web() {
        if CLIENT_WASM.is_empty() {
            eprintln!("web client not built (SYNPUNKT_SKIP_WEB): size not checked");
            return;
        }
        let total = CLIENT_WASM.len() + CLIENT_JS.len();
        assert!(
            total <= CLIENT_BUDGET_BYTES,
            "the web client is {total} B ({} B wasm + {} B JS), over its budget of \
             {CLIENT_BUDGET_BYTES} B; see README (Size) for what keeps it small",
            CLIENT_WASM.len(),
            CLIENT_JS.len(),
        );
    }

    #[test]
    fn the_service_worker_carries_the_version_of_what_it_caches() {
        assert_eq!(
            SERVICE_WORKER.matches(VERSION_PLACEHOLDER).count(),
            1,
            "sw.js names its version once"
        );
        let js = service_worker_js();
        assert!(!js.contains(VERSION_PLACEHOLDER));
        let version = js
            .split("const VERSION = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a version");
        assert_eq!(version.len(), 12);
        assert!(version.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

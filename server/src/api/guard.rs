//! What every request to the JSON API (and the sync endpoint) passes
//! through around its handler:
//!
//! - a state-changing API request (anything but GET, HEAD, OPTIONS) that is
//!   signed in by the session cookie and comes from another site (per
//!   `Sec-Fetch-Site` or `Origin`, as [`cross_site`] decides for `/sync`
//!   and the invite form) is refused with 403: a page elsewhere must not
//!   act with the user's cookie, even where the browser skips the CORS
//!   preflight. A bearer token is not sent by browsers on their own, so
//!   such a request is no forgery and passes.
//! - every error answer is `{"error": "..."}` with its status, including
//!   those made before any handler runs: axum's 405 (method not allowed,
//!   empty), 413 (body over the limit) and its other rejections (plain
//!   text).
//!
//! And, for every request, a URI longer than [`MAX_URI_BYTES`] is answered
//! 414 with the same JSON before anything else looks at it. (A request head
//! over 64 KiB never gets this far: hyper answers 431 itself, with an empty
//! body; see `listener.rs`.)

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{cross_site, token_of};

/// The longest request URI (path and query) served: 8 KiB, as common
/// proxies allow. The API's own URIs are a small fraction of it.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// An error answer as the API documents it.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Answers 414 to a request whose URI is too long.
pub async fn refuse_long_uris(request: Request, next: Next) -> Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if length > MAX_URI_BYTES {
        return json_error(
            StatusCode::URI_TOO_LONG,
            &format!("URI too long (limit {MAX_URI_BYTES} bytes)"),
        );
    }
    next.run(request).await
}

/// The guard of the API and the sync endpoint (see the module doc).
pub async fn guard(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    if !api && path != "/sync" {
        return next.run(request).await;
    }
    if api && forged(request.method(), request.headers()) {
        return json_error(
            StatusCode::FORBIDDEN,
            "refused: a request from another site may not use the session cookie",
        );
    }
    as_json(next.run(request).await).await
}

/// Whether a request changes state with the session cookie from another
/// site. The pages' own forms that change state (`pages/manage.rs`) refuse
/// by the same rule.
pub(crate) fn forged(method: &Method, headers: &HeaderMap) -> bool {
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let by_cookie = !headers.contains_key(header::AUTHORIZATION)
        && token_of(headers, &HashMap::new()).is_some();
    changes_state && by_cookie && cross_site(headers)
}

/// An error answer that is not JSON yet, made JSON: the text it had (axum's
/// rejections say what was wrong), or else the status's reason. Headers
/// such as `Allow` stay.
async fn as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::json!({ "error": message }).to_string();
    Response::from_parts(parts, Body::from(body))
}

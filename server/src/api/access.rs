//! Access without an external provider, beyond invites: a user's own
//! sessions (list, end), a workshop's members, and the personal sign-in
//! link a host issues for a member who lost access.
//!
//! What ends or lists sessions is here once, for the API and for the
//! account page and sign-out form (`pages/account.rs`) alike:
//! [`own_sessions`], [`end_own_session`], [`end_other_sessions`],
//! [`end_token_session`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::{ApiError, identity, user_of, workshop_for};
use crate::AppState;
use crate::auth::{Role, Session, User};

/// How long a personal sign-in link stays valid: a day.
pub const SIGN_IN_LINK_SECONDS: u64 = 24 * 3600;

/// One of a user's live sessions as they are shown to that user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnSession {
    pub id: String,
    pub created_at: u64,
    /// The last use recorded (to within a tenth of the idle lifetime).
    pub last_seen_at: u64,
    /// The session making the request.
    pub current: bool,
}

/// The live sessions of `user`, oldest first, `current` marked.
pub(crate) fn own_sessions(
    app: &AppState,
    current: &Session,
    user: &User,
) -> Result<Vec<OwnSession>, ApiError> {
    Ok(app
        .auth
        .sessions_of(&user.id)?
        .into_iter()
        .map(|s| OwnSession {
            current: s.id == current.id,
            last_seen_at: s.last_seen_at.unwrap_or(s.created_at),
            created_at: s.created_at,
            id: s.id,
        })
        .collect())
}

/// Waits until what the auth store wrote is on disk: an ended session
/// must stay ended across a crash before anyone is told it is.
async fn durable(app: &AppState) -> Result<(), ApiError> {
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Ends one of `user`'s own live sessions by id, durably, and closes its
/// open connections at once. `NotFound` for an unknown id, an ended
/// session, or anyone else's (the same answer for all three).
pub(crate) async fn end_own_session(app: &AppState, user: &User, id: &str) -> Result<(), ApiError> {
    let session = app
        .auth
        .end_session_of(&user.id, id)?
        .ok_or(ApiError::NotFound)?;
    durable(app).await?;
    app.close_session(&session.id);
    Ok(())
}

/// Ends every live session of `user` except `current` (signing out
/// everywhere else), durably, closing their connections; returns how many.
pub(crate) async fn end_other_sessions(
    app: &AppState,
    user: &User,
    current: &Session,
) -> Result<usize, ApiError> {
    let ended = app.auth.end_sessions_of_except(&user.id, &current.id)?;
    if ended.is_empty() {
        return Ok(0);
    }
    durable(app).await?;
    for session in &ended {
        app.close_session(&session.id);
    }
    Ok(ended.len())
}

/// Ends the live session behind `token` (signing out), durably, and closes
/// its connections; `None` if the token is no live session.
pub(crate) async fn end_token_session(
    app: &AppState,
    token: &str,
) -> Result<Option<Session>, ApiError> {
    let Some(session) = app.auth.end_session(token)? else {
        return Ok(None);
    };
    durable(app).await?;
    app.close_session(&session.id);
    Ok(Some(session))
}

/// `GET /api/sessions`: the caller's live sessions, oldest first, the one
/// making the request marked `current`. `lastSeenAt` is recorded to within
/// a tenth of the idle lifetime.
pub async fn sessions(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (current, user) =
        identity(&app, &headers, &HashMap::new())?.ok_or(ApiError::Unauthorized)?;
    let out: Vec<_> = own_sessions(&app, &current, &user)?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "createdAt": s.created_at,
                "lastSeenAt": s.last_seen_at,
                "current": s.current,
            })
        })
        .collect();
    Ok(Json(json!(out)))
}

/// `DELETE /api/sessions/{id}`: ends one of the caller's own sessions
/// (404 for anyone else's); its open connections close at once.
pub async fn end_session(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (_, user) = identity(&app, &headers, &HashMap::new())?.ok_or(ApiError::Unauthorized)?;
    end_own_session(&app, &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/workshops/{id}/members` (hosts): `userId`, `name`, `role`,
/// hosts first, then by name.
pub async fn members(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = user_of(&app, &(headers, query))?;
    let (doc, _, role) = workshop_for(&app, caller.as_ref(), &id)?;
    if role != Role::Host {
        return Err(ApiError::Forbidden);
    }
    let mut out = Vec::new();
    for (user_id, role) in app.auth.members_of(&doc)? {
        if let Some(user) = app.auth.user(&user_id)? {
            out.push((role, user));
        }
    }
    out.sort_by(|(ra, a), (rb, b)| rb.cmp(ra).then_with(|| a.name.cmp(&b.name)));
    let out: Vec<_> = out
        .into_iter()
        .map(|(role, u)| json!({ "userId": u.id, "name": u.name, "role": role, "admin": u.admin }))
        .collect();
    Ok(Json(json!(out)))
}

/// `POST /api/workshops/{id}/members/{userId}/sign-in-link` (hosts): a
/// one-time link, valid a day and stored only as its hash, that signs into
/// that member's own user (so what they wrote stays theirs). Only for
/// members of the workshop; for another host or an admin only when the
/// caller is an admin.
pub async fn member_sign_in_link(
    State(app): State<Arc<AppState>>,
    Path((id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let caller = user_of(&app, &(headers.clone(), query))?;
    let (doc, _, role) = workshop_for(&app, caller.as_ref(), &id)?;
    let Some(caller) = caller.filter(|_| role == Role::Host) else {
        return Err(ApiError::Forbidden);
    };
    let member = app
        .auth
        .membership(&doc, &user_id)?
        .ok_or(ApiError::NotFound)?;
    let user = app.auth.user(&user_id)?.ok_or(ApiError::NotFound)?;
    if (member == Role::Host || user.admin) && !caller.admin {
        return Err(ApiError::Forbidden);
    }
    let (invite, token) = app
        .auth
        .create_sign_in_link(&doc, &user.id, SIGN_IN_LINK_SECONDS)?;
    durable(&app).await?;
    tracing::info!(workshop = %doc, by = %caller.id, user = %user.id, "personal sign-in link issued");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "invite": invite,
            "token": token,
            "url": format!("http://{host}/invite/{token}"),
            "expiresAt": invite.expires_at,
        })),
    ))
}

//! Contributions and drafts over HTTP: participants take drafts of a
//! summary; hosts review contributions (accept, edit then accept, reject
//! with a reply) and merge drafts after seeing a preview.
//!
//! Proposals themselves are written by participants over sync (they are
//! the participant's own objects in the document). Reviews are server
//! edits made on the host's behalf: the server checks the role, applies the
//! proposal in the document's actor and records who reviewed it, in one
//! change written with an actor bound to the host.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use docsync::DocumentId;
use model::contributions::{self, ContributionView, Decision, Status};
use model::drafts;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, Caller, author_json, parse_body, read_workshop, user_of, workshop_for};
use crate::AppState;
use crate::auth::{Role, User};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The caller, who must host the workshop.
pub(super) fn host_of(
    app: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(User, DocumentId), ApiError> {
    let user = user_of(app, caller)?.ok_or(ApiError::Unauthorized)?;
    let (doc, _, role) = workshop_for(app, Some(&user), id)?;
    if role != Role::Host {
        return Err(ApiError::Forbidden);
    }
    Ok((user, doc))
}

fn user_name(app: &AppState, user_id: &str) -> Result<serde_json::Value, ApiError> {
    Ok(match app.auth.user(user_id)? {
        Some(u) => json!(u.name),
        None => json!(null),
    })
}

fn contribution_json(app: &AppState, c: &ContributionView) -> Result<serde_json::Value, ApiError> {
    let mut v = serde_json::to_value(c).map_err(|e| ApiError::Internal(e.to_string()))?;
    v["authorName"] = author_json(app, &c.author)?["name"].clone();
    if let Some(review) = &c.review {
        v["review"]["byName"] = user_name(app, &review.by)?;
    }
    Ok(v)
}

/// Every contribution with its diff against the current text and its
/// verified author.
pub async fn contributions(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let all = read_workshop(&app, &(headers, query), &id, |w, doc| {
        Ok(w.load(doc)?
            .map(|d| contributions::contributions(&d))
            .unwrap_or_default())
    })
    .await?;
    let out = all
        .iter()
        .map(|c| contribution_json(&app, c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!(out)))
}

/// One open contribution, as stored, for a host about to review it.
async fn open_contribution(
    app: &Arc<AppState>,
    doc: DocumentId,
    cid: &str,
) -> Result<ContributionView, ApiError> {
    let workshops = app.workshops.clone();
    let cid = cid.to_owned();
    let view = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::workshops::WorkshopError>(
            workshops
                .load(&doc)?
                .and_then(|d| contributions::contribution(&d, &cid)),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??
    .ok_or(ApiError::NotFound)?;
    match view.status {
        Status::Open => Ok(view),
        Status::Withdrawn => Err(ApiError::Conflict(
            "its author withdrew this contribution".into(),
        )),
        Status::Accepted | Status::Rejected => Err(ApiError::Conflict(
            "this contribution was already reviewed".into(),
        )),
    }
}

/// A draft contribution's document, checked to be a draft of this workshop
/// by the contribution's author.
async fn draft_of(
    app: &Arc<AppState>,
    workshop: DocumentId,
    c: &ContributionView,
) -> Result<automerge::Automerge, ApiError> {
    let draft_id = DocumentId::parse(&c.draft)
        .map_err(|_| ApiError::Conflict("the draft's id is not valid".into()))?;
    let record = app
        .workshops
        .draft(&draft_id)?
        .filter(|d| d.workshop == workshop.to_string())
        .ok_or_else(|| ApiError::Conflict("no such draft of this workshop".into()))?;
    let author = hex::decode(&c.author).unwrap_or_default();
    if app.auth.actor_owner(&author)?.as_deref() != Some(record.owner.as_str()) {
        return Err(ApiError::Conflict(
            "the draft belongs to someone other than the contribution's author".into(),
        ));
    }
    let workshops = app.workshops.clone();
    tokio::task::spawn_blocking(move || workshops.load(&draft_id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or(ApiError::NotFound)
}

/// What merging a draft contribution would do, with conflicts flagged.
pub async fn preview(
    State(app): State<Arc<AppState>>,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<drafts::Preview>, ApiError> {
    let (_, doc) = host_of(&app, &(headers, query), &id)?;
    let c = open_contribution(&app, doc, &cid).await?;
    if c.kind != "draft" {
        return Err(ApiError::BadRequest(
            "only drafts have a merge preview".into(),
        ));
    }
    let draft = draft_of(&app, doc, &c).await?;
    let workshops = app.workshops.clone();
    let preview = tokio::task::spawn_blocking(move || {
        let summary = workshops.load(&doc)?.ok_or(ApiError::NotFound)?;
        drafts::preview(&summary, &draft).map_err(|e| ApiError::Conflict(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(preview))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AcceptRequest {
    /// The host's edited version of the proposed text.
    #[serde(default)]
    text: Option<String>,
}

/// Accepts a contribution: applies it (a draft: merges it) as a change on
/// the host's behalf that records the review.
pub async fn accept(
    State(app): State<Arc<AppState>>,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (user, doc) = host_of(&app, &(headers.clone(), query), &id)?;
    let mut request: AcceptRequest = parse_body(&headers, &body)?;
    if let Some(text) = &request.text {
        request.text = Some(crate::input::REVIEW_TEXT.check(text)?);
    }
    let c = open_contribution(&app, doc, &cid).await?;
    if let Some(conflict) = c
        .conflict
        .as_ref()
        .filter(|_| matches!(c.anchor, Some(model::threads::Anchor::Orphaned)))
    {
        return Err(ApiError::Conflict(conflict.clone()));
    }
    let draft = match c.kind.as_str() {
        "draft" => Some(draft_of(&app, doc, &c).await?),
        _ => None,
    };
    let by = user.id.clone();
    let message = format!("accept contribution {cid}");
    app.docs
        .edit(
            doc,
            &user.id,
            Box::new(move |d| {
                let merged = match &draft {
                    Some(draft) => drafts::merge(d, draft).map_err(|e| e.to_string())?,
                    None => 0,
                };
                let decision = Decision {
                    by: &by,
                    now_ms: now_ms(),
                    message,
                };
                let applied = contributions::accept(d, &cid, request.text.as_deref(), &decision)
                    .map_err(|e| e.to_string())?;
                Ok(json!({ "applied": applied, "mergedChanges": merged }))
            }),
        )
        .await
        .map(Json)
        .map_err(ApiError::Conflict)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    #[serde(default)]
    reply: String,
}

/// Rejects a contribution, with a reply its author sees.
pub async fn reject(
    State(app): State<Arc<AppState>>,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (user, doc) = host_of(&app, &(headers.clone(), query), &id)?;
    let mut request: RejectRequest = parse_body(&headers, &body)?;
    request.reply = crate::input::REPLY.check(&request.reply)?;
    open_contribution(&app, doc, &cid).await?;
    let by = user.id.clone();
    let message = format!("reject contribution {cid}");
    app.docs
        .edit(
            doc,
            &user.id,
            Box::new(move |d| {
                let decision = Decision {
                    by: &by,
                    now_ms: now_ms(),
                    message,
                };
                contributions::reject(d, &cid, &request.reply, &decision)
                    .map_err(|e| e.to_string())?;
                Ok(json!({ "rejected": cid }))
            }),
        )
        .await
        .map(Json)
        .map_err(ApiError::Conflict)
}

/// The caller, who must take part in the workshop (participant or host).
fn member_of(app: &AppState, caller: &Caller, id: &str) -> Result<(User, DocumentId), ApiError> {
    let user = user_of(app, caller)?.ok_or(ApiError::Unauthorized)?;
    let (doc, _, role) = workshop_for(app, Some(&user), id)?;
    if !matches!(role, Role::Participant | Role::Host) {
        return Err(ApiError::Forbidden);
    }
    Ok((user, doc))
}

/// Takes a draft: a copy of the summary as it is now, for the caller alone
/// (and the hosts, once submitted). Sync it by its id.
pub async fn create_draft(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<(StatusCode, Json<crate::workshops::DraftRecord>), ApiError> {
    let (user, doc) = member_of(&app, &(headers, query), &id)?;
    let workshops = app.workshops.clone();
    let record = tokio::task::spawn_blocking(move || workshops.create_draft(&doc, &user.id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or(ApiError::NotFound)?;
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// The caller's drafts of a workshop.
pub async fn drafts(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<Vec<crate::workshops::DraftRecord>>, ApiError> {
    let (user, doc) = member_of(&app, &(headers, query), &id)?;
    Ok(Json(app.workshops.drafts_of(&doc, &user.id)?))
}

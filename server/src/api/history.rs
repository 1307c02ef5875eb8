//! A summary's history over HTTP: its versions with verified authors, the
//! summary at a version, a comparison of two, and named versions that
//! hosts publish. Versions are named by their heads: hex change hashes,
//! comma-separated in query strings.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use model::history::{self, HistoryError};
use model::summary::Summary;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, author_json, parse_body, read_workshop};
use crate::AppState;
use crate::workshops::WorkshopError;

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::UnknownHeads(_) => ApiError::BadRequest(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Heads from a query parameter (`a,b`); `None` when absent.
fn heads_param(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<Vec<automerge::ChangeHash>>, ApiError> {
    let Some(value) = query.get(name) else {
        return Ok(None);
    };
    let heads: Vec<String> = value.split(',').map(str::to_owned).collect();
    Ok(Some(history::parse_heads(&heads)?))
}

/// Versions (oldest first, by when they were written) with their verified
/// authors, and the named ones.
pub async fn history(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (versions, named) = read_workshop(&app, &(headers, query), &id, |w, doc| {
        Ok(w.load(doc)?
            .map(|d| {
                (
                    history::in_time_order(history::versions(&d)),
                    history::named(&d),
                )
            })
            .unwrap_or_default())
    })
    .await?;
    let mut authors: HashMap<String, serde_json::Value> = HashMap::new();
    let mut out = Vec::new();
    for v in &versions {
        let mut value = serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()))?;
        if !authors.contains_key(&v.actor) {
            authors.insert(v.actor.clone(), author_json(&app, &v.actor)?);
        }
        value["author"] = authors[&v.actor].clone();
        out.push(value);
    }
    let mut published = Vec::new();
    for n in &named {
        let mut value = serde_json::to_value(n).map_err(|e| ApiError::Internal(e.to_string()))?;
        value["byName"] = match app.auth.user(&n.by)? {
            Some(u) => json!(u.name),
            None => json!(null),
        };
        published.push(value);
    }
    Ok(Json(json!({ "versions": out, "named": published })))
}

/// The summary as it was at `?heads=`.
pub async fn version_at(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<Summary>, ApiError> {
    let heads = heads_param(&query, "heads")?
        .ok_or_else(|| ApiError::BadRequest("which version? pass ?heads=".into()))?;
    let summary = read_workshop(&app, &(headers, query), &id, move |w, doc| {
        Ok(w.load(doc)?.map(|d| history::at(&d, &heads)))
    })
    .await?
    .ok_or(ApiError::NotFound)??;
    Ok(Json(summary))
}

/// What changed from `?from=` to `?to=` (default: now).
pub async fn compare(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<history::Comparison>, ApiError> {
    let from = heads_param(&query, "from")?
        .ok_or_else(|| ApiError::BadRequest("compare from which version? pass ?from=".into()))?;
    let to = heads_param(&query, "to")?;
    let comparison = read_workshop(&app, &(headers, query), &id, move |w, doc| {
        Ok::<_, WorkshopError>(w.load(doc)?.map(|d| {
            let to = to.unwrap_or_else(|| d.get_heads());
            history::compare(&d, &from, &to)
        }))
    })
    .await?
    .ok_or(ApiError::NotFound)??;
    Ok(Json(comparison))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    name: String,
}

/// Publishes the summary as it is now under a name (hosts).
pub async fn publish_version(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (user, doc) = super::review::host_of(&app, &(headers.clone(), query), &id)?;
    let request: PublishRequest = parse_body(&headers, &body)?;
    let name = crate::input::VERSION_NAME.check(&request.name)?;
    let by = user.id.clone();
    let version_id = hex::encode(rand::random::<[u8; 8]>());
    let value = app
        .docs
        .edit(
            doc,
            &user.id,
            Box::new(move |d| {
                let heads = d.get_heads();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
                let mut tx = d.transaction();
                history::publish(&mut tx, &version_id, &name, &heads, &by, now)
                    .map_err(|e| e.to_string())?;
                tx.commit_with(
                    automerge::transaction::CommitOptions::default()
                        .with_message(format!("publish version {name}"))
                        .with_time(now / 1000),
                );
                Ok(json!({
                    "id": version_id,
                    "name": name,
                    "heads": heads.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "at": now,
                }))
            }),
        )
        .await
        .map_err(ApiError::Conflict)?;
    Ok((StatusCode::CREATED, Json(value)))
}

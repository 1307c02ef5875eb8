//! The HTTP JSON API. Every error is `{"error": "..."}` with its status;
//! details of internal errors go to the log, not to the client.
//!
//! Visibility: without a session, only open workshops exist; an invite-only
//! workshop answers exactly like a missing one (404).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::DocumentId;
use protocol::summary::Summary;
use serde_json::json;

use crate::AppState;
use crate::workshops::{WorkshopError, WorkshopRecord};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid workshop id")]
    BadId,
    #[error("no such workshop")]
    NotFound,
    #[error("internal error")]
    Internal(#[from] WorkshopError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadId => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "API request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// The open workshops.
pub async fn list(State(app): State<Arc<AppState>>) -> Result<Json<Vec<WorkshopRecord>>, ApiError> {
    let all = app.workshops.list()?;
    Ok(Json(
        all.into_iter().filter(WorkshopRecord::is_open).collect(),
    ))
}

/// A workshop the caller may see, or 404.
fn visible(app: &AppState, id: &str) -> Result<(DocumentId, WorkshopRecord), ApiError> {
    let doc = DocumentId::parse(id).map_err(|_| ApiError::BadId)?;
    match app.workshops.get(&doc)? {
        Some(record) if record.is_open() => Ok((doc, record)),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn get(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<WorkshopRecord>, ApiError> {
    Ok(Json(visible(&app, &id)?.1))
}

async fn summary_of(app: Arc<AppState>, id: String) -> Result<Summary, ApiError> {
    let (doc, _) = visible(&app, &id)?;
    let workshops = app.workshops.clone();
    let summary = tokio::task::spawn_blocking(move || workshops.summary(&doc))
        .await
        .map_err(|e| {
            ApiError::Internal(WorkshopError::Store(crate::store::StoreError::Transaction(
                e.to_string(),
            )))
        })??;
    summary.ok_or(ApiError::NotFound)
}

pub async fn summary(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Summary>, ApiError> {
    Ok(Json(summary_of(app, id).await?))
}

pub async fn export_markdown(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let summary = summary_of(app, id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        summary.to_markdown(),
    )
        .into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

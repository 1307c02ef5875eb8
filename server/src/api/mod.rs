//! The HTTP JSON API. Every error is `{"error": "..."}` with its status;
//! details of internal errors go to the log, not to the client.
//!
//! Who is asking: a session token from the `synpunkt_session` cookie, an
//! `Authorization: Bearer` header, or `?token=`. Visibility follows
//! [`Auth::role`]: an invite-only workshop answers exactly like a missing
//! one (404) to whoever has no role in it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docsync::DocumentId;
use model::summary::{MeetingType, Summary};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{AuthError, Grant, Role, Session, User};
use crate::workshops::{WorkshopError, WorkshopRecord};

mod access;
pub(crate) mod guard;
mod history;
mod review;

pub(crate) use access::{
    OwnSession, end_other_sessions, end_own_session, end_token_session, own_sessions,
};
pub use access::{end_session, member_sign_in_link, members, sessions};
pub use history::{compare, history, publish_version, version_at};
pub use review::{accept, contributions, create_draft, drafts, preview, reject};

pub const COOKIE: &str = "synpunkt_session";

/// `Set-Cookie` that makes a browser forget its session cookie.
pub(crate) const FORGET_SESSION_COOKIE: &str =
    "synpunkt_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid workshop id")]
    BadId,
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("sign in first")]
    Unauthorized,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error("too many sign-in attempts from your address; try again in {0} s")]
    TooManyAttempts(u64),
    #[error(transparent)]
    Text(#[from] crate::input::TextError),
    #[error(transparent)]
    NewWorkshop(#[from] NewWorkshopError),
    #[error("{0}")]
    Auth(AuthError),
    /// A public reader asked for what only members see while the hosts
    /// show the public the published edition.
    #[error("this workshop shows the public its published edition only")]
    EditionOnly,
    /// The hosts show the public the published edition, and there is none.
    #[error("nothing is published yet")]
    NotPublished,
    #[error("internal error")]
    Internal(String),
}

impl From<WorkshopError> for ApiError {
    fn from(e: WorkshopError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(_) | AuthError::Record(_) => ApiError::Internal(e.to_string()),
            other => ApiError::Auth(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadId
            | ApiError::BadRequest(_)
            | ApiError::Text(_)
            | ApiError::NewWorkshop(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::EditionOnly => StatusCode::FORBIDDEN,
            ApiError::NotPublished => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Auth(AuthError::NoSession) => StatusCode::UNAUTHORIZED,
            ApiError::Auth(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "API request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// The session token a request carries, if any.
pub fn token_of(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    if let Some(t) = query.get("token") {
        return Some(t.clone());
    }
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The live session and user behind a request.
pub fn identity(
    app: &AppState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Option<(Session, User)>, ApiError> {
    match token_of(headers, query) {
        Some(token) => Ok(app.auth.session(&token)?),
        None => Ok(None),
    }
}

/// Parses a JSON body. Requiring the JSON content type means a cross-site
/// form or `text/plain` request (which browsers send without asking) cannot
/// reach a state-changing route with the user's cookie.
pub(crate) fn parse_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::BadRequest(
            "send JSON with Content-Type: application/json".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Whether a request comes from another site (per the browser's
/// `Sec-Fetch-Site`, or an `Origin` whose host differs from ours).
pub fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (Some(origin), Some(host)) => origin.split("://").nth(1) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The workshop and the caller's role in it, or 404.
pub(crate) fn workshop_for(
    app: &AppState,
    user: Option<&User>,
    id: &str,
) -> Result<(DocumentId, WorkshopRecord, Role), ApiError> {
    let doc = DocumentId::parse(id).map_err(|_| ApiError::BadId)?;
    let record = app.workshops.get(&doc)?.ok_or(ApiError::NotFound)?;
    let role = app
        .auth
        .role(user, &doc, record.is_open())?
        .ok_or(ApiError::NotFound)?;
    Ok((doc, record, role))
}

pub(crate) type Caller = (HeaderMap, Query<HashMap<String, String>>);

/// The caller of an API route. `?token=` is for WebSocket clients only (it
/// would leak into logs and history); the API reads the cookie or a bearer
/// token.
pub(crate) fn user_of(app: &AppState, (headers, _): &Caller) -> Result<Option<User>, ApiError> {
    Ok(identity(app, headers, &HashMap::new())?.map(|(_, u)| u))
}

/// Workshops the caller may see, each with the caller's role.
pub async fn list(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    let mut out = Vec::new();
    for record in app.workshops.list()? {
        let doc = DocumentId::parse(&record.id).map_err(|_| ApiError::BadId)?;
        let role = app.auth.role(user.as_ref(), &doc, record.is_open())?;
        // An archived workshop is listed to its hosts (and admins) only.
        if let Some(role) = role.filter(|r| !record.archived || *r == Role::Host) {
            let mut value =
                serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
            value["role"] = json!(role);
            out.push(value);
        }
    }
    Ok(Json(json!(out)))
}

pub async fn get(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    let (_, record, role) = workshop_for(&app, user.as_ref(), &id)?;
    let mut value = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    value["role"] = json!(role);
    if let Some(series) = record.series.as_deref() {
        value["seriesDescription"] = json!(
            app.workshops
                .series(series)?
                .map(|s| s.description)
                .unwrap_or_default()
        );
    }
    Ok(Json(value))
}

/// Reads a workshop's stored document (off the async workers) if the
/// caller may see the workshop.
pub(crate) async fn read_workshop<T: Send + 'static>(
    app: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    read: impl FnOnce(&crate::workshops::Workshops, &DocumentId) -> Result<T, WorkshopError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let user = user_of(app, caller)?;
    let (doc, record, role) = workshop_for(app, user.as_ref(), id)?;
    // Everything read here is the live document (its text, threads,
    // history, authors): not for a public shown the edition only.
    if record.edition_only(role) {
        return Err(ApiError::EditionOnly);
    }
    let workshops = app.workshops.clone();
    Ok(tokio::task::spawn_blocking(move || read(&workshops, &doc))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??)
}

/// The summary the caller may read: the live one, or the published
/// edition for a public shown only that.
async fn summary_of(app: &Arc<AppState>, caller: &Caller, id: &str) -> Result<Summary, ApiError> {
    let user = user_of(app, caller)?;
    let (doc, record, role) = workshop_for(app, user.as_ref(), id)?;
    if record.edition_only(role) {
        return Ok(edition_of(app, doc).await?.summary);
    }
    read_workshop(app, caller, id, |w, doc| w.summary(doc))
        .await?
        .ok_or(ApiError::NotFound)
}

/// The workshop's published edition (off the async workers).
pub(crate) async fn edition_of(
    app: &Arc<AppState>,
    doc: DocumentId,
) -> Result<crate::workshops::Edition, ApiError> {
    let workshops = app.workshops.clone();
    tokio::task::spawn_blocking(move || workshops.edition(&doc))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or(ApiError::NotPublished)
}

pub async fn summary(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<Summary>, ApiError> {
    Ok(Json(summary_of(&app, &(headers, query), &id).await?))
}

/// Who wrote with each automerge actor in the document: the verified
/// authors that comments and contributions are shown with.
pub async fn authors(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let actors = read_workshop(&app, &(headers, query), &id, |w, doc| w.actors(doc)).await?;
    let mut out = serde_json::Map::new();
    for actor in actors {
        let author = author_json(&app, &actor)?;
        out.insert(actor, author);
    }
    Ok(Json(serde_json::Value::Object(out)))
}

/// The verified author behind an automerge actor (hex), as JSON.
pub(crate) fn author_json(app: &AppState, actor_hex: &str) -> Result<serde_json::Value, ApiError> {
    let Ok(actor) = hex::decode(actor_hex) else {
        return Ok(json!(null));
    };
    Ok(match app.auth.actor_owner(&actor)?.as_deref() {
        Some(crate::workshops::SYSTEM_USER) => json!({ "userId": "system", "name": "Synpunkt" }),
        Some(user_id) => match app.auth.user(user_id)? {
            Some(u) => json!({ "userId": u.id, "name": u.name }),
            None => json!(null),
        },
        None => json!(null),
    })
}

/// The comment threads, with anchors resolved and verified authors.
pub async fn threads(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let threads = read_workshop(&app, &(headers, query), &id, |w, doc| w.threads(doc)).await?;
    let mut out = Vec::new();
    for t in threads {
        let mut v = serde_json::to_value(&t).map_err(|e| ApiError::Internal(e.to_string()))?;
        v["authorName"] = author_json(&app, &t.author)?["name"].clone();
        for (i, c) in t.comments.iter().enumerate() {
            v["comments"][i]["authorName"] = author_json(&app, &c.author)?["name"].clone();
        }
        out.push(v);
    }
    Ok(Json(json!(out)))
}

pub async fn export_markdown(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let summary = summary_of(&app, &(headers, query), &id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        summary.to_markdown(),
    )
        .into_response())
}

/// What a host asks for when creating a workshop: the JSON of `POST
/// /api/workshops`, and what the page's form (`pages/manage.rs`) reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewWorkshop {
    #[serde(default)]
    pub summary: Option<Summary>,
    /// A pasted page, parsed by the importer (`crate::import`).
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub meeting_type: Option<MeetingType>,
    /// "sv", "en" or both ("sv, en").
    #[serde(default)]
    pub language: Option<String>,
    /// Local date and time, `YYYY-MM-DDTHH:MM` (an HTML
    /// `datetime-local` field's value).
    #[serde(default)]
    pub starts_at: Option<String>,
}

/// Why a new workshop was refused, besides the rules of its texts
/// (`input.rs`): typed, so that the form can point at the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NewWorkshopError {
    #[error("send either summary or text, not both")]
    SummaryAndText,
    #[error("text must be at most {MAX_PASTED_TEXT} characters")]
    TextTooLong,
    #[error("startsAt must be a date and time, YYYY-MM-DDTHH:MM")]
    StartsAt,
    #[error("language must be language codes such as \"sv\", \"en\" or \"sv, en\"")]
    Language,
}

/// The largest pasted page (characters).
pub(crate) const MAX_PASTED_TEXT: usize = 500_000;

/// Checks a `datetime-local` value (`YYYY-MM-DDTHH:MM`, optionally `:SS`);
/// returns it and the same shown as "YYYY-MM-DD HH:MM".
fn starts_at(value: &str) -> Result<(String, String), NewWorkshopError> {
    let bad = || NewWorkshopError::StartsAt;
    let value = value.trim();
    let (date, time) = value.split_once('T').ok_or_else(bad)?;
    let number = |s: &str, len: usize, max: u32| -> Result<u32, NewWorkshopError> {
        if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(bad)
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let ([y, mo, da], [h, mi, rest @ ..]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    number(y, 4, 9999)?;
    if number(mo, 2, 12)? == 0 || number(da, 2, 31)? == 0 {
        return Err(bad());
    }
    number(h, 2, 23)?;
    number(mi, 2, 59)?;
    match rest {
        [] => {}
        [sec] if number(sec.split('.').next().unwrap_or(""), 2, 59).is_ok() => {}
        _ => return Err(bad()),
    }
    Ok((value.to_owned(), format!("{date} {h}:{mi}")))
}

/// Checks a language value: "sv", "en" or "sv, en" (and the like).
fn language(value: &str) -> Result<String, NewWorkshopError> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= 32
        && value.split(',').map(str::trim).all(|code| {
            (2..=8).contains(&code.len())
                && code.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        });
    if ok {
        Ok(value.to_owned())
    } else {
        Err(NewWorkshopError::Language)
    }
}

/// Whether a user may create workshops: admins, and whoever hosts a
/// workshop. The list page offers "New workshop" by the same rule.
pub(crate) fn may_create(app: &AppState, user: &User) -> Result<bool, ApiError> {
    Ok(user.admin || app.auth.hosts_anywhere(&user.id)?)
}

/// A user allowed to create workshops; only [`Creator::check`] makes one,
/// so [`create_workshop`] cannot be reached without the check.
pub(crate) struct Creator<'a>(&'a User);

impl<'a> Creator<'a> {
    /// 401 without a user, 403 for one who may not create workshops.
    pub(crate) fn check(app: &AppState, user: Option<&'a User>) -> Result<Self, ApiError> {
        let user = user.ok_or(ApiError::Unauthorized)?;
        if may_create(app, user)? {
            Ok(Creator(user))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// A workshop just created, durably.
pub(crate) struct Created {
    pub record: WorkshopRecord,
    /// The pasted page's other workshops, which were not created.
    pub skipped: usize,
}

/// Creates a workshop; the creator becomes its host. The one way to
/// create a workshop over HTTP: the API's [`create`] and the page's form
/// both come here.
///
/// From `summary` (the whole summary as JSON), from `text` (a pasted page:
/// its first workshop, as `synpunkt import` reads it; the page's preamble
/// becomes the series' description; `skipped` counts the page's other
/// workshops, which are not created), or from nothing but `title`,
/// `meetingType`, `language` and `startsAt`. `title`, `meetingType`,
/// `language` and `startsAt` override what the summary or text says. A
/// workshop without sections gets one empty section to write in
/// ("Summary", or "Sammanfattning" in Swedish).
pub(crate) async fn create_workshop(
    app: &AppState,
    creator: Creator<'_>,
    request: NewWorkshop,
) -> Result<Created, ApiError> {
    let Creator(user) = creator;
    if request.summary.is_some() && request.text.is_some() {
        return Err(NewWorkshopError::SummaryAndText.into());
    }
    let mut preamble = None;
    let mut skipped = 0;
    let mut summary = match (request.summary, request.text) {
        (Some(summary), _) => summary,
        (None, Some(text)) => {
            if text.chars().nth(MAX_PASTED_TEXT).is_some() {
                return Err(NewWorkshopError::TextTooLong.into());
            }
            let mut page = crate::import::parse_pasted(&text);
            skipped = page.workshops.len().saturating_sub(1);
            preamble = page.preamble.take();
            page.workshops.into_iter().next().unwrap_or_default()
        }
        (None, None) => Summary::default(),
    };
    if let Some(title) = request.title {
        summary.workshop.title = title;
    }
    if let Some(t) = request.meeting_type {
        summary.workshop.meeting_type = t;
    }
    if let Some(l) = request.language {
        summary.workshop.language = language(&l)?;
    }
    let starts = request.starts_at.as_deref().map(starts_at).transpose()?;
    if let Some((_, when)) = &starts {
        summary.workshop.when.clone_from(when);
    }
    if summary.sections.is_empty() {
        let swedish = summary.workshop.language.trim().starts_with("sv");
        summary.sections.push(model::summary::Section {
            id: "summary".into(),
            heading: if swedish { "Sammanfattning" } else { "Summary" }.into(),
            body: String::new(),
        });
    }
    crate::input::summary(&mut summary)?;
    let mut record = app.workshops.create(&summary)?;
    let doc = DocumentId::parse(&record.id).map_err(|_| ApiError::BadId)?;
    if let Some(preamble) = preamble {
        record.series = Some(app.workshops.create_series(&preamble)?.id);
    }
    record.starts_at = starts.map(|(at, _)| at);
    app.workshops.put(&doc, &record)?;
    app.auth.set_membership(&doc, &user.id, Role::Host)?;
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Created { record, skipped })
}

/// `POST /api/workshops`: creates a workshop (see [`create_workshop`]);
/// admins and hosts may.
pub async fn create(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    // Who may, before what they sent is read.
    let creator = Creator::check(&app, user.as_ref())?;
    let request: NewWorkshop = parse_body(&headers, &body)?;
    let Created { record, skipped } = create_workshop(&app, creator, request).await?;
    let mut value = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    value["role"] = json!(Role::Host);
    if skipped > 0 {
        value["skipped"] = json!(skipped);
    }
    Ok((StatusCode::CREATED, Json(value)))
}

/// `POST /api/workshops/{id}/archive` and `/restore` (and the pages'
/// forms): hosts hide a workshop from every list but their own (and
/// admins'), or show it again. Nothing else changes: it stays on disk, and
/// its page and API answer as before to whoever may see it.
pub(crate) async fn set_archived(
    app: &AppState,
    user: Option<&User>,
    id: &str,
    archived: bool,
) -> Result<(WorkshopRecord, Role), ApiError> {
    let (doc, mut record, role) = workshop_for(app, user, id)?;
    if role != Role::Host {
        return Err(ApiError::Forbidden);
    }
    if record.archived != archived {
        record.archived = archived;
        app.workshops.put(&doc, &record)?;
        app.shared
            .commit
            .durable()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok((record, role))
}

async fn archived_json(
    app: &AppState,
    caller: &Caller,
    id: &str,
    archived: bool,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = user_of(app, caller)?;
    let (record, role) = set_archived(app, user.as_ref(), id, archived).await?;
    let mut value = serde_json::to_value(&record).map_err(|e| ApiError::Internal(e.to_string()))?;
    value["role"] = json!(role);
    Ok(Json(value))
}

pub async fn archive(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    archived_json(&app, &(headers, query), &id, true).await
}

pub async fn restore(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    archived_json(&app, &(headers, query), &id, false).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WorkshopUpdate {
    title: Option<String>,
    meeting_type: Option<MeetingType>,
    /// What the public sees: "live" or "published" (the record only).
    public_view: Option<crate::workshops::PublicView>,
}

pub async fn update(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<WorkshopRecord>, ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    let (doc, mut record, role) = workshop_for(&app, user.as_ref(), &id)?;
    let Some(user) = user.filter(|_| role == Role::Host) else {
        return Err(ApiError::Forbidden);
    };
    let change: WorkshopUpdate = parse_body(&headers, &body)?;
    let title = change
        .title
        .map(|t| crate::input::TITLE.check(&t))
        .transpose()?;
    // The document first (what members see; written for the host, as any
    // server edit), so that a refusal changes nothing; then the record,
    // the authority on visibility.
    let (new_title, meeting_type) = (title.clone(), change.meeting_type);
    if new_title.is_some() || meeting_type.is_some() {
        app.docs
            .edit(
                doc,
                &user.id,
                Box::new(move |d| {
                    let mut tx = d.transaction();
                    let changed =
                        model::summary::set_workshop(&mut tx, new_title.as_deref(), meeting_type)
                            .map_err(|e| e.to_string())?;
                    if changed {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
                        tx.commit_with(
                            automerge::transaction::CommitOptions::default()
                                .with_message("change the workshop's title or meeting type")
                                .with_time(now),
                        );
                    } else {
                        tx.rollback();
                    }
                    Ok(json!({ "changed": changed }))
                }),
            )
            .await
            .map_err(ApiError::Conflict)?;
    }
    if let Some(title) = title {
        record.title = title;
    }
    if let Some(t) = change.meeting_type {
        record.meeting_type = t;
    }
    if let Some(v) = change.public_view {
        record.public_view = v;
    }
    app.workshops.put(&doc, &record)?;
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    app.roles_changed();
    Ok(Json(record))
}

/// The longest an invite may stay valid.
const MAX_INVITE_SECONDS: u64 = 10 * 366 * 24 * 3600;
/// The most uses an invite may allow.
const MAX_INVITE_USES: u32 = 100_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewInvite {
    role: Grant,
    expires_in_seconds: Option<u64>,
    max_uses: Option<u32>,
}

pub async fn create_invite(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    let (doc, _, role) = workshop_for(&app, user.as_ref(), &id)?;
    if role != Role::Host {
        return Err(ApiError::Forbidden);
    }
    let request: NewInvite = parse_body(&headers, &body)?;
    if matches!(request.role, Grant::Admin | Grant::SignIn) {
        return Err(ApiError::BadRequest(
            "role must be participant or host".into(),
        ));
    }
    if request
        .expires_in_seconds
        .is_some_and(|s| s > MAX_INVITE_SECONDS)
    {
        return Err(ApiError::BadRequest(format!(
            "expiresInSeconds must be at most {MAX_INVITE_SECONDS} (10 years)"
        )));
    }
    if request
        .max_uses
        .is_some_and(|n| !(1..=MAX_INVITE_USES).contains(&n))
    {
        return Err(ApiError::BadRequest(format!(
            "maxUses must be 1 to {MAX_INVITE_USES}"
        )));
    }
    let (invite, token) = app.auth.create_invite(
        Some(&doc),
        request.role,
        request.expires_in_seconds,
        request.max_uses,
    )?;
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "invite": invite, "token": token, "url": format!("http://{host}/invite/{token}") }),
        ),
    ))
}

pub async fn list_invites(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    let (doc, _, role) = workshop_for(&app, user.as_ref(), &id)?;
    if role != Role::Host {
        return Err(ApiError::Forbidden);
    }
    let mut out = Vec::new();
    for invite in app.auth.invites_of(&doc)? {
        let state = app.auth.invite_state(&invite);
        let mut value =
            serde_json::to_value(&invite).map_err(|e| ApiError::Internal(e.to_string()))?;
        value["role"] = json!(invite.grant);
        value["state"] = json!(state);
        out.push(value);
    }
    Ok(Json(json!(out)))
}

/// Revokes an invite and every session made from it; their open
/// connections close at once.
pub async fn revoke_invite(
    State(app): State<Arc<AppState>>,
    Path((id, invite_id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let user = user_of(&app, &(headers.clone(), query))?;
    let (doc, _, role) = workshop_for(&app, user.as_ref(), &id)?;
    if role != Role::Host {
        return Err(ApiError::Forbidden);
    }
    let belongs = app.auth.invites_of(&doc)?.iter().any(|i| i.id == invite_id);
    if !belongs {
        return Err(ApiError::NotFound);
    }
    let Some(revoked) = app.auth.revoke_invite(&invite_id)? else {
        return Err(ApiError::NotFound);
    };
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Connections re-check their roles; the sessions it made close now.
    app.roles_changed();
    for session in revoked.sessions {
        app.close_session(&session);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    name: Option<String>,
}

/// The session cookie a browser keeps after accepting an invite, for as
/// long as the session can last.
pub(crate) fn session_cookie(app: &AppState, token: &str) -> HeaderValue {
    let max_age = app.auth.lifetimes().absolute;
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Accepts an invite (JSON API): `{"name": "..."}`. A signed-in caller gets
/// the invite's role on their existing account.
pub async fn accept_invite(
    State(app): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    query: Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let existing = user_of(&app, &(headers.clone(), query))?;
    let request: Accept = parse_body(&headers, &body)?;
    let (session_token, user, session) = app.auth.accept_invite(
        &token,
        request.name.as_deref().unwrap_or(""),
        existing.as_ref(),
    )?;
    app.shared
        .commit
        .durable()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response =
        Json(json!({ "token": session_token, "user": user, "sessionId": session.id }))
            .into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&app, &session_token));
    Ok(response)
}

pub async fn me(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let _ = query;
    let (session, user) =
        identity(&app, &headers, &HashMap::new())?.ok_or(ApiError::Unauthorized)?;
    Ok(Json(json!({ "user": user, "sessionId": session.id })))
}

/// Signs out: the session ends, and its open connections close.
pub async fn sign_out(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let _ = query;
    let token = token_of(&headers, &HashMap::new()).ok_or(ApiError::Unauthorized)?;
    access::end_token_session(&app, &token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(FORGET_SESSION_COOKIE),
    );
    Ok(response)
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

//! Calls to the server's JSON API (reviews, drafts, history, invites). The
//! session cookie authenticates them; a reply's JSON is parsed once, here
//! (by the browser: [`crate::json`]).

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

use crate::web::dom::window;

/// The reply's status (0 if the request failed) and JSON body (`null` if
/// it had none).
pub async fn call(method: &str, path: &str, body: Option<String>) -> (u16, serde_json::Value) {
    match call_inner(method, path, body).await {
        Ok(reply) => reply,
        Err(_) => (0, serde_json::Value::Null),
    }
}

async fn call_inner(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, serde_json::Value), JsValue> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = &body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(path, &init)?;
    if body.is_some() {
        request.headers().set("Content-Type", "application/json")?;
    }
    let response: Response = JsFuture::from(window().fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let status = response.status();
    let text = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    Ok((
        status,
        crate::json::parse(&text).unwrap_or(serde_json::Value::Null),
    ))
}

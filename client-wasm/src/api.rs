//! Calls to the server's JSON API (reviews, drafts, history, invites). The
//! session cookie authenticates them; replies are read as JS objects.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

use crate::dom::window;

/// The reply's status and JSON body (`null` if it had none).
pub async fn call(method: &str, path: &str, body: Option<String>) -> (u16, JsValue) {
    match call_inner(method, path, body).await {
        Ok(reply) => reply,
        Err(_) => (0, JsValue::NULL),
    }
}

async fn call_inner(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, JsValue), JsValue> {
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
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    Ok((status, json))
}

/// `value[key]` as a string ("" if absent).
pub fn str_of(value: &JsValue, key: &str) -> String {
    js_sys::Reflect::get(value, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// `value[key]`.
pub fn get(value: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The elements of a JS array (empty if it is not one).
pub fn items(value: &JsValue) -> Vec<JsValue> {
    value
        .dyn_ref::<js_sys::Array>()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// A JSON string literal (escaped), for request bodies.
pub fn json_str(s: &str) -> String {
    js_sys::JSON::stringify(&JsValue::from_str(s))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "\"\"".into())
}

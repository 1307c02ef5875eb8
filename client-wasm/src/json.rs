//! Reading JSON (the API's replies, a local copy's record) into a
//! `serde_json::Value`.
//!
//! In the browser the browser's own `JSON.parse` reads it and the result is
//! converted: serde_json's parser (with its number parsing) was some 14 KB
//! of the wasm. Natively (the unit tests) serde_json reads it. The two
//! agree on everything the server sends; they differ only on numbers JS
//! cannot hold exactly (integers past 2^53, which no reply has) and in that
//! an integral number such as `2.0` reads as the integer 2 in the browser.

use serde_json::Value;

/// The JSON value of `text`; `None` if it is not JSON.
pub fn parse(text: &str) -> Option<Value> {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::JSON::parse(text).ok().map(|v| from_js(&v))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str(text).ok()
    }
}

/// A value `JSON.parse` gave: null, a boolean, a number, a string, an
/// array or a plain object (nothing else can come out of it).
#[cfg(target_arch = "wasm32")]
fn from_js(value: &wasm_bindgen::JsValue) -> Value {
    use wasm_bindgen::JsCast;
    if let Some(b) = value.as_bool() {
        return Value::Bool(b);
    }
    if let Some(n) = value.as_f64() {
        // Integers as integers (as serde_json reads `12`), within the
        // range a double holds exactly.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        return if n.fract() == 0.0 && n.abs() <= EXACT {
            Value::from(n as i64)
        } else {
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
        };
    }
    if let Some(s) = value.as_string() {
        return Value::String(s);
    }
    if let Some(array) = value.dyn_ref::<js_sys::Array>() {
        return Value::Array(array.iter().map(|v| from_js(&v)).collect());
    }
    if let Some(object) = value.dyn_ref::<js_sys::Object>() {
        let mut map = serde_json::Map::new();
        for entry in js_sys::Object::entries(object).iter() {
            let entry: js_sys::Array = entry.unchecked_into();
            if let Some(key) = entry.get(0).as_string() {
                map.insert(key, from_js(&entry.get(1)));
            }
        }
        return Value::Object(map);
    }
    Value::Null
}

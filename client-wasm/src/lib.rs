//! Synpunkt's browser client, compiled to `wasm32-unknown-unknown`.
//!
//! The server's build script compiles this crate and generates its JS glue
//! with wasm-bindgen; the server embeds both and serves them under
//! `/client/`. The client issue fills in the application.

#[cfg(target_arch = "wasm32")]
mod web {
    use wasm_bindgen::prelude::*;

    /// Runs when the module loads: marks the page as live.
    #[wasm_bindgen(start)]
    pub fn start() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if let Some(body) = document.body() {
            // Browser tests wait for this: the wasm module is running.
            let _ = body.set_attribute("data-client", "ready");
        }
        if let Some(status) = document.get_element_by_id("client-status") {
            // The protocol crate is compiled in: show its version.
            status.set_text_content(Some(&format!(
                "Web client loaded (sync protocol {}).",
                protocol::PROTOCOL_VERSION
            )));
            let _ = status.set_attribute("data-state", "loaded");
        }
    }
}

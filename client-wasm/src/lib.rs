//! Synpunkt's browser client, compiled to `wasm32-unknown-unknown`.
//!
//! The server renders every page as plain HTML (it works without
//! JavaScript) and says on `<body data-…>` which page it is, which
//! document, the reader's role and the interface language. This client
//! then takes over a workshop page: it holds the summary as an automerge
//! document synced over `/sync` (the `protocol` crate's session), keeps a
//! local copy for offline work, and redraws the summary and the sidebar
//! (comments, proposals, history, sharing, who is reading) live.
//!
//! - `app`: state and event handlers; `render`: drawing; `net`: the
//!   WebSocket with reconnection; `api`: JSON API calls; `dom`: a tiny
//!   element builder (text is always text, never HTML); `focus`: the
//!   keyboard focus across re-renders; `i18n`: sv/en.

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod focus;
#[cfg(target_arch = "wasm32")]
mod i18n;
#[cfg(target_arch = "wasm32")]
mod net;
#[cfg(target_arch = "wasm32")]
mod render;

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    use crate::app::{App, Page};
    use crate::dom::{closest_with, document, window};
    use crate::i18n::Lang;

    /// Runs when the module loads.
    #[wasm_bindgen(start)]
    pub fn start() {
        // A panic is a bug: say where in the console (wasm only traps).
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&format!("synpunkt client: {info}").into());
        }));
        let document = document();
        let Some(body) = document.body() else { return };
        let attr = |name: &str| body.get_attribute(name).unwrap_or_default();
        let page = Page {
            kind: attr("data-page"),
            doc: docsync::DocumentId::parse(&attr("data-doc-id")).ok(),
            role: attr("data-role"),
            user_name: attr("data-user-name"),
            lang: Lang::from_tag(&attr("data-lang")),
        };
        let is_workshop = page.kind == "workshop" && page.doc.is_some();
        let signed_in = !page.user_name.is_empty();
        let app = Rc::new(RefCell::new(App::new(page)));
        if is_workshop {
            listen(&app);
            let doc = app.borrow().page.doc;
            if let Some(doc) = doc {
                App::open(&app, doc);
            }
            crate::render::status(&app.borrow());
            crate::net::connect(&app);
            if signed_in {
                App::load_me(&app);
            }
            App::load_authors_if_needed(&app);
        }
        // Browser tests and the load benchmark wait for this.
        let _ = body.set_attribute("data-client", "ready");
        // The app lives as long as the page.
        std::mem::forget(app);
    }

    /// One listener per event kind, for the whole page.
    fn listen(app: &Rc<RefCell<App>>) {
        let document = document();
        let on = |event: &str, handler: Box<dyn FnMut(web_sys::Event)>| {
            let closure = Closure::wrap(handler);
            let _ =
                document.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
            closure.forget();
        };
        let a = app.clone();
        on(
            "click",
            Box::new(move |e: web_sys::Event| {
                if let Some(target) = e.target().and_then(|t| closest_with(&t, "data-action")) {
                    e.prevent_default();
                    App::on_click(&a, &target);
                }
            }),
        );
        // Escape closes the composer or the section editor.
        let a = app.clone();
        on(
            "keydown",
            Box::new(move |e: web_sys::Event| {
                let escape = e
                    .dyn_ref::<web_sys::KeyboardEvent>()
                    .is_some_and(|k| k.key() == "Escape");
                if escape && App::on_escape(&a) {
                    e.prevent_default();
                }
            }),
        );
        for kind in ["input", "change"] {
            let a = app.clone();
            on(
                kind,
                Box::new(move |e: web_sys::Event| {
                    if let Some(target) = e.target().and_then(|t| closest_with(&t, "data-key")) {
                        App::on_input(&a, &target);
                    }
                }),
            );
        }
        for kind in ["mouseup", "keyup"] {
            let a = app.clone();
            on(
                kind,
                Box::new(move |e: web_sys::Event| {
                    // Selections in the summary only: typing in a field or
                    // pressing a button (which may collapse the selection
                    // it is about to act on) changes nothing.
                    let elsewhere = e.target().is_some_and(|t| {
                        closest_with(&t, "data-key").is_some()
                            || closest_with(&t, "data-action").is_some()
                            || t.dyn_ref::<web_sys::Element>()
                                .and_then(|el| el.closest("#sidebar").ok().flatten())
                                .is_some()
                    });
                    if !elsewhere {
                        App::on_selection(&a);
                    }
                }),
            );
        }
        let a = app.clone();
        let online = Closure::<dyn FnMut()>::new(move || crate::net::reconnect_now(&a));
        let _ =
            window().add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        online.forget();
        let a = app.clone();
        let leave = Closure::<dyn FnMut()>::new(move || App::leave(&a));
        let _ =
            window().add_event_listener_with_callback("pagehide", leave.as_ref().unchecked_ref());
        leave.forget();
        let a = app.clone();
        let tick = Closure::<dyn FnMut()>::new(move || App::tick(&a));
        let _ = window().set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            5_000,
        );
        tick.forget();
    }
}

#[cfg(target_arch = "wasm32")]
mod idb;

//! The browser side: the runtime that carries out effects and feeds every
//! event to `update` in order, the socket, the JSON API, the local store,
//! the views and the DOM helpers.

mod api;
mod dom;
mod focus;
mod net;
mod runtime;
mod store;
mod view;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::msg::{Action, Msg};
use crate::state::{Model, Page, Role, TICK_MS};
use crate::web::dom::{closest_with, data, document, window};
use crate::web::runtime::dispatch;

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
        role: Role::parse(&attr("data-role")),
        user_name: attr("data-user-name"),
        lang: crate::i18n::Lang::from_tag(&attr("data-lang")),
    };
    let is_workshop = page.kind == "workshop" && page.doc.is_some();
    let peer = docsync::PeerId::new(format!("browser-{}", uuid::Uuid::new_v4()))
        .expect("a generated peer id is valid");
    let mut model = Model::new(page, peer);
    model.browser_online = window().navigator().on_line();
    runtime::install(model);
    if is_workshop {
        listen();
        dispatch(Msg::Start);
    }
    // Browser tests and the load benchmark wait for this.
    let _ = body.set_attribute("data-client", "ready");
}

/// Whether a control is a comment's highlight in the text.
fn is_highlight(el: &web_sys::Element) -> bool {
    data(el, "action") == "show-thread"
}

/// Whether the reader has text selected (a drag that ended on a
/// highlight must select, not open its thread).
fn selecting() -> bool {
    window()
        .get_selection()
        .ok()
        .flatten()
        .is_some_and(|s| !s.is_collapsed())
}

/// Adds a listener that lives as long as the page.
fn on(target: &web_sys::EventTarget, event: &str, handler: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// One listener per event kind, for the whole page: each reads what it
/// needs from the DOM once, into a message.
fn listen() {
    let document: web_sys::EventTarget = document().into();
    on(&document, "click", |e| {
        let Some(target) = e.target().and_then(|t| closest_with(&t, "data-action")) else {
            return;
        };
        if is_highlight(&target) && selecting() {
            // The end of a selection made over a highlight, not a click on it.
            return;
        }
        if data(&target, "action") == "focus-thread"
            && e.target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|t| t.closest("#composer").ok().flatten())
                .is_some()
        {
            // Into the reply being written in a card: its fields and
            // labels work as usual.
            return;
        }
        e.prevent_default();
        let name = data(&target, "action");
        match Action::parse(&name, |key| target.get_attribute(&format!("data-{key}"))) {
            Ok(action) => dispatch(Msg::Action {
                action,
                opener: focus::spot_of(&target),
            }),
            Err(unknown) => {
                web_sys::console::error_1(&format!("synpunkt client: {unknown}").into())
            }
        }
    });
    // Escape closes the composer or the section editor (or the toolbar,
    // a menu, the focused thread); Enter or Space on a highlight opens its
    // thread, as a click does.
    on(&document, "keydown", |e| {
        let key = e
            .dyn_ref::<web_sys::KeyboardEvent>()
            .map(|k| k.key())
            .unwrap_or_default();
        if key == "Enter" || key == " " {
            if let Some(mark) = e
                .target()
                .and_then(|t| closest_with(&t, "data-action"))
                .filter(is_highlight)
            {
                e.prevent_default();
                dispatch(Msg::Action {
                    action: Action::FocusThread {
                        thread: data(&mark, "thread"),
                    },
                    opener: focus::spot_of(&mark),
                });
            }
            return;
        }
        let escape = key == "Escape";
        if escape && runtime::something_to_close() {
            e.prevent_default();
            dispatch(Msg::Escape);
        }
    });
    for kind in ["input", "change"] {
        on(&document, kind, move |e| {
            let Some(target) = e.target().and_then(|t| closest_with(&t, "data-key")) else {
                return;
            };
            // Typing arrives as `input`; `change` only matters for a
            // `select`. (A text field that loses the focus because a
            // drawing removed it also fires `change`, with what it held:
            // that must not bring back text a closed form just dropped.)
            if kind == "change" && target.dyn_ref::<web_sys::HtmlSelectElement>().is_none() {
                return;
            }
            let key = data(&target, "key");
            let value = view::value_of(&target);
            let section = data(&target, "section");
            dispatch(match key.as_str() {
                "section-editor" => Msg::EditSection { section, value },
                "heading-editor" => Msg::EditHeading { section, value },
                _ => Msg::Input { key, value },
            });
        });
    }
    for kind in ["mouseup", "keyup"] {
        on(&document, kind, |e| {
            // Escape's own keyup must not bring back what its keydown closed.
            if e.dyn_ref::<web_sys::KeyboardEvent>()
                .is_some_and(|k| k.key() == "Escape")
            {
                return;
            }
            // Selections in the summary only: typing in a field or pressing
            // a button (which may collapse the selection it is about to act
            // on) changes nothing.
            let elsewhere = e.target().is_some_and(|t| {
                closest_with(&t, "data-key").is_some()
                    || closest_with(&t, "data-action").is_some_and(|c| !is_highlight(&c))
                    || t.dyn_ref::<web_sys::Element>()
                        .and_then(|el| el.closest("#sidebar").ok().flatten())
                        .is_some()
            });
            if !elsewhere {
                dispatch(Msg::Selected(view::summary::selection_in_summary()));
            }
        });
    }
    let window: web_sys::EventTarget = window().into();
    on(&window, "online", |_| dispatch(Msg::BrowserOnline));
    on(&window, "offline", |_| dispatch(Msg::BrowserOffline));
    on(&window, "pagehide", |_| dispatch(Msg::PageHide));
    // The text reflows: the cards follow their passages.
    on(&window, "resize", |_| view::margin::layout());
    let tick = Closure::<dyn FnMut()>::new(|| dispatch(Msg::Tick));
    let _ = dom::window().set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        TICK_MS as i32,
    );
    tick.forget();
}

//! The runtime: the one owner of the model. [`dispatch`] queues a message;
//! unless a dispatch is already running (an event raised by our own DOM
//! changes, a focus move, a synchronous callback), it takes the queue in
//! order: `update` with the model borrowed mutably for that call only,
//! then the effects. When the queue is empty it draws the regions the
//! effects named (the model borrowed read-only) and moves the focus; what
//! drawing raised is handled next. No callback ever borrows the model
//! while another holds it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::effect::{Effect, Focus, Region};
use crate::msg::Msg;
use crate::state::Model;
use crate::update::update;
use crate::web::view::summary::Caret;
use crate::web::{api, focus, net, store, view};

struct Runtime {
    model: RefCell<Model>,
    queue: RefCell<VecDeque<Msg>>,
    busy: Cell<bool>,
    socket: RefCell<Option<net::Socket>>,
    /// Regions to draw once the queue is empty, in order.
    dirty: RefCell<Vec<Region>>,
    /// Where the focus goes after drawing (the last request wins).
    focus: RefCell<Option<Focus>>,
    /// What to scroll into view after drawing (the last request wins).
    reveal: RefCell<Option<String>>,
    /// The section editor's caret before remote changes, to put back on
    /// the same characters after drawing.
    caret: RefCell<Option<Caret>>,
}

thread_local! {
    static RUNTIME: RefCell<Option<Rc<Runtime>>> = const { RefCell::new(None) };
}

fn runtime() -> Option<Rc<Runtime>> {
    RUNTIME.with(|r| r.borrow().clone())
}

/// Makes `model` the page's model.
pub fn install(model: Model) {
    let rt = Rc::new(Runtime {
        model: RefCell::new(model),
        queue: RefCell::new(VecDeque::new()),
        busy: Cell::new(false),
        socket: RefCell::new(None),
        dirty: RefCell::new(Vec::new()),
        focus: RefCell::new(None),
        reveal: RefCell::new(None),
        caret: RefCell::new(None),
    });
    RUNTIME.with(|r| *r.borrow_mut() = Some(rt));
}

/// Whether Escape has something to close (the composer, the editor).
pub fn something_to_close() -> bool {
    runtime()
        .and_then(|rt| {
            rt.model.try_borrow().ok().map(|m| {
                m.ui.composer.is_some()
                    || m.ui.editing.is_some()
                    || m.ui.meta_editing
                    || m.ui.action_editing.is_some()
                    || m.ui.confirm_delete.is_some()
                    || crate::update::margin::something_to_close(&m)
            })
        })
        .unwrap_or(false)
}

/// Queues a message and, unless a dispatch is running, handles the queue.
pub fn dispatch(msg: Msg) {
    let Some(rt) = runtime() else { return };
    rt.queue.borrow_mut().push_back(msg);
    if rt.busy.replace(true) {
        return;
    }
    loop {
        let next = rt.queue.borrow_mut().pop_front();
        let Some(msg) = next else {
            rt.draw();
            if rt.queue.borrow().is_empty() {
                break;
            }
            continue;
        };
        if matches!(msg, Msg::Frame(_)) && rt.caret.borrow().is_none() {
            // Before remote changes move the text under the editor.
            let caret = view::summary::editor_cursors(&rt.model.borrow());
            *rt.caret.borrow_mut() = caret;
        }
        let effects = {
            let mut m = rt.model.borrow_mut();
            m.now = js_sys::Date::now();
            update(&mut m, msg)
        };
        for effect in effects {
            rt.execute(effect);
        }
    }
    rt.busy.set(false);
}

impl Runtime {
    fn execute(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Send(messages) => {
                if let Some(socket) = &*self.socket.borrow() {
                    socket.send(&messages);
                }
            }
            Effect::Load(doc) => wasm_bindgen_futures::spawn_local(async move {
                dispatch(match store::load(doc).await {
                    Ok((saved, meta)) => Msg::Loaded { doc, saved, meta },
                    Err(error) => Msg::LoadFailed { doc, error },
                });
            }),
            Effect::Store { doc, bytes, meta } => {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(error) = store::save(doc, &bytes, &meta).await {
                        dispatch(Msg::StoreFailed(error));
                    }
                });
            }
            Effect::Forget(doc) => wasm_bindgen_futures::spawn_local(async move {
                store::forget(doc).await;
            }),
            Effect::Fetch {
                method,
                path,
                body,
                reply,
            } => wasm_bindgen_futures::spawn_local(async move {
                let (status, body) = api::call(method, &path, body).await;
                dispatch(Msg::Fetched {
                    reply,
                    status,
                    body,
                });
            }),
            Effect::Connect => {
                let socket = net::connect();
                *self.socket.borrow_mut() = socket;
            }
            Effect::Disconnect => {
                // Dropping the socket closes it without its close event:
                // the model hears of it here.
                if self.socket.borrow_mut().take().is_some() {
                    dispatch(Msg::SocketClosed);
                }
            }
            Effect::Later { ms, msg } => {
                let ms = if *msg == Msg::Reconnect {
                    // Jitter: many clients dropped at once do not all
                    // come back at once.
                    ms + (js_sys::Math::random() * f64::from(ms) * 0.3) as u32
                } else {
                    ms
                };
                let later = Closure::once_into_js(move || dispatch(*msg));
                let _ = crate::web::dom::window()
                    .set_timeout_with_callback_and_timeout_and_arguments_0(
                        later.unchecked_ref(),
                        ms as i32,
                    );
            }
            Effect::Render(region) => {
                let mut dirty = self.dirty.borrow_mut();
                if !dirty.contains(&region) {
                    dirty.push(region);
                }
            }
            Effect::Focus(f) => *self.focus.borrow_mut() = Some(f),
            Effect::Reveal(css) => *self.reveal.borrow_mut() = Some(css),
            Effect::Copy(text) => copy(&text),
            Effect::Log(text) => {
                web_sys::console::error_1(&format!("synpunkt client: {text}").into());
            }
        }
    }

    /// Draws what the updates changed, puts the editor's caret back and
    /// moves the focus.
    fn draw(&self) {
        let regions = std::mem::take(&mut *self.dirty.borrow_mut());
        let caret = self.caret.borrow_mut().take();
        let focus = self.focus.borrow_mut().take();
        let reveal = self.reveal.borrow_mut().take();
        if regions.is_empty() && focus.is_none() && reveal.is_none() {
            return;
        }
        let m = self.model.borrow();
        for region in regions.iter().filter(|r| **r != Region::Toolbar) {
            view::render(*region, &m);
        }
        // Last: the toolbar sits in a section of the summary, and drawing
        // the summary takes it away.
        if regions.contains(&Region::Summary) || regions.contains(&Region::Toolbar) {
            view::render(Region::Toolbar, &m);
        }
        if !regions.is_empty() {
            // Cards beside their passages, now that both are drawn.
            view::margin::layout();
        }
        if regions.contains(&Region::Summary) && caret.is_some() {
            view::summary::restore_editor(&m, caret);
        }
        drop(m);
        match focus {
            Some(Focus::Spot(spot)) if !focus::focus_spot(&spot) => focus::selected_tab(),
            Some(Focus::Spot(_)) => {}
            Some(Focus::Editor) => {
                view::summary::focus_editor();
            }
            Some(Focus::SelectedTab) => focus::selected_tab(),
            None => {}
        }
        if let Some(css) = reveal {
            view::margin::reveal(&css);
        }
    }
}

/// Puts text on the clipboard: the Clipboard API where the page is a
/// secure context, else (a plain-http server) the selected field and the
/// older `copy` command. Never throws into the runtime.
fn copy(text: &str) {
    let navigator = crate::web::dom::window().navigator();
    let has_clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if has_clipboard {
        let promise = navigator.clipboard().write_text(text);
        wasm_bindgen_futures::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_err() {
                web_sys::console::warn_1(&"synpunkt client: the clipboard refused the link".into());
            }
        });
        return;
    }
    let document = crate::web::dom::document();
    if let Some(field) = crate::web::dom::by_id("invite-url")
        .and_then(|f| f.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        field.select();
        if let Ok(html) = document.dyn_into::<web_sys::HtmlDocument>() {
            let _ = html.exec_command("copy");
        }
    }
}

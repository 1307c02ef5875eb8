//! The WebSocket to `/sync`: connect, join, hand frames to the app, and
//! reconnect with backoff when the connection drops. The session cookie
//! rides along (same origin), so the server knows who we are.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::app::App;
use crate::dom::window;

/// The open socket and the callbacks that must live as long as it.
pub struct Socket {
    pub ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Longest wait between reconnection attempts.
const MAX_BACKOFF_MS: u32 = 10_000;

fn sync_url() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/sync")
}

/// Opens a connection; the app hears of it through its handlers.
pub fn connect(app: &Rc<RefCell<App>>) {
    let Ok(ws) = WebSocket::new(&sync_url()) else {
        schedule_reconnect(app);
        return;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = {
        let app = app.clone();
        Closure::<dyn FnMut()>::new(move || App::socket_opened(&app))
    };
    let on_message = {
        let app = app.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                App::frame(&app, &bytes);
            }
        })
    };
    let on_close = {
        let app = app.clone();
        Closure::<dyn FnMut()>::new(move || {
            App::socket_closed(&app);
            schedule_reconnect(&app);
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    app.borrow_mut().socket = Some(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    });
}

/// Tries again after the current backoff (doubling it, with jitter).
fn schedule_reconnect(app: &Rc<RefCell<App>>) {
    let delay = {
        let mut a = app.borrow_mut();
        if a.reconnect_pending {
            return;
        }
        a.reconnect_pending = true;
        let delay = a.backoff_ms;
        a.backoff_ms = (a.backoff_ms * 2).min(MAX_BACKOFF_MS);
        delay + (js_sys::Math::random() * f64::from(delay) * 0.3) as u32
    };
    let app = app.clone();
    let retry = Closure::once_into_js(move || {
        app.borrow_mut().reconnect_pending = false;
        connect(&app);
    });
    let _ = window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), delay as i32);
}

/// Reconnects at once (the browser says the network is back).
pub fn reconnect_now(app: &Rc<RefCell<App>>) {
    let idle = {
        let a = app.borrow();
        a.socket.is_none() && !a.reconnect_pending
    };
    if idle {
        app.borrow_mut().backoff_ms = crate::app::FIRST_BACKOFF_MS;
        connect(app);
    }
}

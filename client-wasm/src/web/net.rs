//! The WebSocket to `/sync`. Its events become messages ([`Msg::SocketOpened`],
//! [`Msg::Frame`], [`Msg::SocketClosed`]); when and whether to reconnect is
//! the model's decision. The session cookie rides along (same origin), so
//! the server knows who we are.

use docsync::Message;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::msg::Msg;
use crate::web::dom::window;
use crate::web::runtime::dispatch;

/// The open socket and the callbacks that must live as long as it.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Socket {
    /// Sends messages if the socket is open (otherwise the session resends
    /// what is needed after the next join).
    pub fn send(&self, messages: &[Message]) {
        if self.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        for m in messages {
            let _ = self.ws.send_with_u8_array(&docsync::encode(m));
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

fn sync_url() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    let path = location.pathname().unwrap_or_default();
    format!("{scheme}://{host}/sync{}", affinity_query(&path))
}

/// `?doc=<workshop id>` on a workshop page (`/w/<id>…`), empty elsewhere.
/// A load balancer in front of several nodes hashes on it (deploy/
/// haproxy.cfg), so every socket of one workshop goes to the same node; the
/// server ignores it. Affinity is an optimisation: without it (or when that
/// node dies) any node serves the workshop correctly.
fn affinity_query(path: &str) -> String {
    let id = path
        .strip_prefix("/w/")
        .and_then(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty());
    match id {
        Some(id) => format!("?doc={}", String::from(js_sys::encode_uri_component(id))),
        None => String::new(),
    }
}

/// Opens a connection. If it cannot even be made, the model hears that it
/// closed.
pub fn connect() -> Option<Socket> {
    let Ok(ws) = WebSocket::new(&sync_url()) else {
        dispatch(Msg::SocketClosed);
        return None;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = Closure::<dyn FnMut()>::new(|| dispatch(Msg::SocketOpened));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        if let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() {
            dispatch(Msg::Frame(js_sys::Uint8Array::new(&buffer).to_vec()));
        }
    });
    let on_close = Closure::<dyn FnMut()>::new(|| dispatch(Msg::SocketClosed));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    })
}

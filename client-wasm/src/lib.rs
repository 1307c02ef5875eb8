//! Synpunkt's browser client, compiled to `wasm32-unknown-unknown`.
//!
//! The server renders every page as plain HTML (it works without
//! JavaScript) and says on `<body data-…>` which page it is, which
//! document, the reader's role and the interface language. This client
//! then takes over a workshop page: it holds the summary as an automerge
//! document synced over `/sync` (the `docsync` crate's session), keeps a
//! local copy for offline work, and redraws the summary and the sidebar
//! (comments, proposals, history, sharing, who is reading) live.
//!
//! State changes in one place. Every event (a click, typing, a frame from
//! the server, a timer, an API reply) becomes a [`msg::Msg`]; the runtime
//! queues it and calls [`update::update`] with the [`state::Model`]; the
//! [`effect::Effect`]s that returns (send, store, fetch, draw a region,
//! focus) are carried out by the runtime, and the views draw regions of
//! the page from the model. Events that arrive while an update or a
//! drawing runs wait in the queue: nothing re-enters the model.
//!
//! The model, the messages, `update` and the effects have no browser API
//! in them and compile natively: `cargo test -p client-wasm` tests the
//! client's behaviour without a browser. The browser side is in `web`
//! (wasm32 only): the runtime, the socket, the API calls, the local store
//! (IndexedDB), and the views.

pub mod effect;
pub mod i18n;
pub mod json;
pub mod msg;
pub mod state;
pub mod update;

#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod web;

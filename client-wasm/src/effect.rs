//! What [`crate::update::update`] asks the world to do. Effects are values:
//! the browser runtime (`runtime.rs`) carries them out, the unit tests read
//! them. Nothing here touches the browser.

use docsync::{DocumentId, Message};

use crate::msg::{Msg, Reply};

#[derive(Debug)]
pub enum Effect {
    /// Send these on the socket, if it is open (the session resends what
    /// is needed after the next join otherwise).
    Send(Vec<Message>),
    /// Read a document's local copy (IndexedDB); answers [`Msg::Loaded`].
    Load(DocumentId),
    /// Keep a document's local copy, with what goes with it ([`crate::state::LocalMeta`]
    /// as JSON: the heads the server is known to hold, to count what is
    /// still waiting after a reload; our actors, to know our own changes).
    Store {
        doc: DocumentId,
        bytes: Vec<u8>,
        meta: Vec<u8>,
    },
    /// Drop a document's local copy (the server refused a change in it).
    Forget(DocumentId),
    /// An HTTP request to the JSON API; answers [`Msg::Fetched`].
    Fetch {
        method: &'static str,
        path: String,
        body: Option<String>,
        reply: Reply,
    },
    /// Open the socket to `/sync`.
    Connect,
    /// Close the socket (the server stopped answering); its close event
    /// brings the reconnection.
    Disconnect,
    /// Dispatch `msg` after `ms` milliseconds.
    Later { ms: u32, msg: Box<Msg> },
    /// Redraw a region of the page from the model (after the update).
    Render(Region),
    /// Move the keyboard focus (after rendering).
    Focus(Focus),
    /// Scroll the element matching this CSS selector into view, as
    /// little as needed (after rendering): a result shown away from where
    /// the user is looking.
    Reveal(String),
    /// Put text on the clipboard.
    Copy(String),
    /// A bug or a refusal worth a developer's attention: the console.
    Log(String),
}

/// The regions of the workshop page, drawn independently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// The connection pill.
    Status,
    /// The summary (or the open draft) with its sections and actions.
    Summary,
    /// Readers, the composer and the tabs.
    Sidebar,
    /// The floating toolbar by the selection in the summary.
    Toolbar,
}

impl Region {
    pub const ALL: [Region; 4] = [
        Region::Status,
        Region::Summary,
        Region::Sidebar,
        Region::Toolbar,
    ];
}

/// Where the focus goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Focus {
    /// A field or control, else the sidebar's selected tab.
    Spot(Spot),
    /// The open section editor.
    Editor,
    /// The sidebar's selected tab.
    SelectedTab,
}

/// Attributes that tell one field or control apart from the others, in
/// the order they are compared.
pub const IDENTIFYING: [&str; 11] = [
    "data-key",
    "data-action",
    "data-section",
    "data-thread",
    "data-comment",
    "data-contribution",
    "data-tab",
    "data-filter",
    "data-heads",
    "data-draft",
    "data-invite",
];

/// A field or control, by its identifying attributes (those it has, in
/// [`IDENTIFYING`] order): what the focus returns to across redraws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot(pub Vec<(&'static str, String)>);

impl Spot {
    /// A spot from an element's attributes (`attr` reads one); only fields
    /// (`data-key`) and controls (`data-action`) are spots.
    pub fn from_attrs(attr: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let attrs: Vec<(&'static str, String)> = IDENTIFYING
            .iter()
            .filter_map(|&name| attr(name).map(|value| (name, value)))
            .collect();
        matches!(attrs.first(), Some(("data-key" | "data-action", _))).then_some(Spot(attrs))
    }

    /// The field with this `data-key`.
    pub fn field(key: &str) -> Self {
        Spot(vec![("data-key", key.to_owned())])
    }

    /// The control with this `data-action` for a section.
    pub fn section_control(action: &str, section: &str) -> Self {
        Spot(vec![
            ("data-action", action.to_owned()),
            ("data-section", section.to_owned()),
        ])
    }
}

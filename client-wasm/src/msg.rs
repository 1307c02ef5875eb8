//! Everything that can happen to the client, as values: [`Msg`] for events
//! (the page, the socket, timers, replies) and [`Action`] for what a user
//! asked for with a control. The runtime reads an event from the DOM once,
//! into one of these; [`crate::update::update`] is the only place that
//! acts on them.

use docsync::DocumentId;

use crate::effect::Spot;
use crate::state::{Filter, Sel, Tab};

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The page has loaded.
    Start,
    /// A document's local copy was read (`None`: there is none).
    Loaded {
        doc: DocumentId,
        saved: Option<Vec<u8>>,
        meta: Option<Vec<u8>>,
    },
    SocketOpened,
    /// The socket closed (or could not open).
    SocketClosed,
    /// A binary frame from the server.
    Frame(Vec<u8>),
    /// The browser says the network is gone / back.
    BrowserOffline,
    BrowserOnline,
    /// Every [`crate::state::TICK_MS`]: presence, liveness.
    Tick,
    /// The reconnection delay has passed.
    Reconnect,
    /// The delayed save of the local copies is due.
    SaveNow,
    /// A control was used; `opener` is it, for the focus to return to.
    Action {
        action: Action,
        opener: Option<Spot>,
    },
    /// Text typed into a field (`data-key`), other than the editor.
    Input {
        key: String,
        value: String,
    },
    /// The host (or drafter) typed in a section's editor.
    EditSection {
        section: String,
        value: String,
    },
    /// A host typed in a section's heading.
    EditHeading {
        section: String,
        value: String,
    },
    /// The text selection in the summary changed (`None`: none there).
    Selected(Option<Sel>),
    /// Escape was pressed; the runtime is told whether it closed something.
    Escape,
    /// The page is going away.
    PageHide,
    /// The local store could not keep a copy.
    StoreFailed(String),
    /// The local store could not be read: the document comes from the
    /// server, and its copy (which may hold unsent changes) is left alone.
    LoadFailed {
        doc: DocumentId,
        error: String,
    },
    /// An API reply: status (0 if the request failed) and JSON body.
    Fetched {
        reply: Reply,
        status: u16,
        body: serde_json::Value,
    },
}

/// What an API request was for (how its reply is handled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Me,
    Authors,
    Drafts,
    StartDraft,
    Preview {
        contribution: String,
    },
    /// A draft's review read for the count on its card.
    DraftCount {
        contribution: String,
    },
    Review,
    /// The details' PATCH (title and meeting type in the record).
    Details,
    Publish,
    /// The workshop's record (GET, or the PATCH of what the public sees).
    Workshop,
    CreateInvite,
    Invites,
    RevokeInvite,
}

/// What a control asks for (`data-action` and its data attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Tab(Tab),
    Filter(Filter),
    /// Look at a thread: from its highlight or its card.
    FocusThread {
        thread: String,
    },
    /// Close the focused thread (the phone's bottom sheet).
    CloseThread,
    /// Open or close a section's "⋯" menu.
    SectionMenu {
        section: String,
    },
    Comment,
    Propose,
    CommentSection {
        section: String,
    },
    ProposeSection {
        section: String,
    },
    ProposeParagraph {
        section: String,
    },
    ProposeAction,
    Reply {
        thread: String,
    },
    EditComment {
        thread: String,
        comment: String,
    },
    EditAccept {
        contribution: String,
    },
    Reject {
        contribution: String,
    },
    Cancel,
    Submit,
    DeleteComment {
        thread: String,
        comment: String,
    },
    Resolve {
        thread: String,
    },
    Reopen {
        thread: String,
    },
    React {
        thread: String,
        comment: String,
    },
    Withdraw {
        contribution: String,
    },
    EditSection {
        section: String,
    },
    DoneEditing,
    Accept {
        contribution: String,
    },
    Preview {
        contribution: String,
    },
    ToggleSuggestions,
    ClosePreview,
    StartDraft,
    OpenDraft {
        draft: DocumentId,
    },
    SubmitDraft,
    CloseDraft,
    ViewVersion {
        heads: String,
    },
    CompareVersion {
        heads: String,
    },
    CloseVersion,
    Publish,
    /// What the public sees: "live" or "published".
    PublicView {
        view: String,
    },
    Invite,
    RevokeInvite {
        invite: String,
    },
    CopyLink {
        url: String,
    },
    Dismiss,
    // A host writing the summary.
    AddSection,
    MoveUp {
        section: String,
    },
    MoveDown {
        section: String,
    },
    DeleteSection {
        section: String,
    },
    ConfirmDeleteSection {
        section: String,
    },
    CancelDelete,
    EditMeta,
    SaveMeta,
    CancelMeta,
    AddAction,
    EditAction {
        action: String,
    },
    SaveAction,
    CancelAction,
    DeleteAction {
        action: String,
    },
}

/// A control's action that cannot be read: a bug in a view (or a forged
/// page), logged, never silently ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAction(pub String);

impl std::fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown or incomplete action: {}", self.0)
    }
}

impl Action {
    /// Reads a control: `name` is its `data-action`, `data` reads one of
    /// its `data-*` attributes (without the prefix). An unknown name, or a
    /// known one without the data it needs, is an error.
    pub fn parse(name: &str, data: impl Fn(&str) -> Option<String>) -> Result<Self, UnknownAction> {
        let need = |key: &str| {
            data(key)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| UnknownAction(format!("{name} without data-{key}")))
        };
        Ok(match name {
            "tab" => Action::Tab(match need("tab")?.as_str() {
                "comments" => Tab::Comments,
                "proposals" => Tab::Proposals,
                "history" => Tab::History,
                "share" => Tab::Share,
                other => return Err(UnknownAction(format!("tab {other}"))),
            }),
            "filter" => Action::Filter(match need("filter")?.as_str() {
                "open" => Filter::Open,
                "resolved" => Filter::Resolved,
                "orphaned" => Filter::Orphaned,
                other => return Err(UnknownAction(format!("filter {other}"))),
            }),
            // A card ("focus-thread") and a highlight ("show-thread") are
            // told apart as focus targets, and do the same.
            "focus-thread" | "show-thread" => Action::FocusThread {
                thread: need("thread")?,
            },
            "close-thread" => Action::CloseThread,
            "section-menu" => Action::SectionMenu {
                section: need("section")?,
            },
            "comment" => Action::Comment,
            "propose" => Action::Propose,
            "comment-section" => Action::CommentSection {
                section: need("section")?,
            },
            "propose-section" => Action::ProposeSection {
                section: need("section")?,
            },
            "propose-paragraph" => Action::ProposeParagraph {
                section: need("section")?,
            },
            "propose-action" => Action::ProposeAction,
            "reply" => Action::Reply {
                thread: need("thread")?,
            },
            "edit-comment" => Action::EditComment {
                thread: need("thread")?,
                comment: need("comment")?,
            },
            "edit-accept" => Action::EditAccept {
                contribution: need("contribution")?,
            },
            "reject" => Action::Reject {
                contribution: need("contribution")?,
            },
            "cancel" => Action::Cancel,
            "submit" => Action::Submit,
            "delete-comment" => Action::DeleteComment {
                thread: need("thread")?,
                comment: need("comment")?,
            },
            "resolve" => Action::Resolve {
                thread: need("thread")?,
            },
            "reopen" => Action::Reopen {
                thread: need("thread")?,
            },
            "react" => Action::React {
                thread: need("thread")?,
                comment: need("comment")?,
            },
            "withdraw" => Action::Withdraw {
                contribution: need("contribution")?,
            },
            "edit-section" => Action::EditSection {
                section: need("section")?,
            },
            "done-editing" => Action::DoneEditing,
            "accept" => Action::Accept {
                contribution: need("contribution")?,
            },
            "preview" => Action::Preview {
                contribution: need("contribution")?,
            },
            "start-draft" => Action::StartDraft,
            "open-draft" => Action::OpenDraft {
                draft: DocumentId::parse(&need("draft")?)
                    .map_err(|_| UnknownAction(format!("{name} with a malformed draft id")))?,
            },
            "submit-draft" => Action::SubmitDraft,
            "close-draft" => Action::CloseDraft,
            "view-version" => Action::ViewVersion {
                heads: need("heads")?,
            },
            "compare-version" => Action::CompareVersion {
                heads: need("heads")?,
            },
            "close-version" => Action::CloseVersion,
            "publish" => Action::Publish,
            "close-preview" => Action::ClosePreview,
            "toggle-suggestions" => Action::ToggleSuggestions,
            "public-view" => Action::PublicView {
                view: need("view")?,
            },
            "invite" => Action::Invite,
            "revoke-invite" => Action::RevokeInvite {
                invite: need("invite")?,
            },
            "copy-link" => Action::CopyLink { url: need("url")? },
            "dismiss" => Action::Dismiss,
            "add-section" => Action::AddSection,
            "move-up" => Action::MoveUp {
                section: need("section")?,
            },
            "move-down" => Action::MoveDown {
                section: need("section")?,
            },
            "delete-section" => Action::DeleteSection {
                section: need("section")?,
            },
            "confirm-delete-section" => Action::ConfirmDeleteSection {
                section: need("section")?,
            },
            "cancel-delete" => Action::CancelDelete,
            "edit-meta" => Action::EditMeta,
            "save-meta" => Action::SaveMeta,
            "cancel-meta" => Action::CancelMeta,
            "add-action" => Action::AddAction,
            "edit-action" => Action::EditAction {
                action: need("item")?,
            },
            "save-action" => Action::SaveAction,
            "cancel-action" => Action::CancelAction,
            "delete-action" => Action::DeleteAction {
                action: need("item")?,
            },
            other => return Err(UnknownAction(other.to_owned())),
        })
    }

    /// Whether this action opens the composer (which then takes the focus).
    pub fn opens_composer(&self) -> bool {
        matches!(
            self,
            Action::Comment
                | Action::Propose
                | Action::CommentSection { .. }
                | Action::ProposeSection { .. }
                | Action::ProposeParagraph { .. }
                | Action::ProposeAction
                | Action::Reply { .. }
                | Action::EditComment { .. }
                | Action::EditAccept { .. }
                | Action::Reject { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, attrs: &[(&str, &str)]) -> Result<Action, UnknownAction> {
        Action::parse(name, |key| {
            attrs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn controls_are_read_with_their_data() {
        assert_eq!(
            parse("reply", &[("thread", "t1")]),
            Ok(Action::Reply {
                thread: "t1".into()
            })
        );
        assert_eq!(
            parse("tab", &[("tab", "share")]),
            Ok(Action::Tab(Tab::Share))
        );
        assert_eq!(
            parse("react", &[("thread", "t"), ("comment", "c")]),
            Ok(Action::React {
                thread: "t".into(),
                comment: "c".into()
            })
        );
    }

    #[test]
    fn unknown_or_incomplete_actions_are_errors() {
        assert_eq!(
            parse("launch-rockets", &[]),
            Err(UnknownAction("launch-rockets".into()))
        );
        assert!(parse("reply", &[]).is_err(), "no thread");
        assert!(parse("reply", &[("thread", "")]).is_err(), "empty thread");
        assert!(parse("tab", &[("tab", "secrets")]).is_err());
        assert!(parse("open-draft", &[("draft", "not-an-id")]).is_err());
    }
}

//! Synpunkt's domain model, without IO: the workshop summary as an
//! automerge document, and the rules of who may change what in it.
//!
//! - [`summary`]: the summary document schema (v1): typed read and write,
//!   Markdown export, the areas (summary, threads, contributions).
//! - [`authoring`]: hosts' edits of the summary: sections (add, rename,
//!   move, delete), metadata, actions; only what differs is written.
//! - [`threads`]: comment threads anchored to text, replies, reactions.
//! - [`contributions`]: proposals, their diffs and conflicts, reviews.
//! - [`drafts`]: a draft's own changes, merge previews, checked merges.
//! - [`history`]: versions, the summary at any heads, comparisons.
//! - [`diff`]: word and line diffs, touched ranges for conflicts.
//! - [`myers`]: the diff algorithm behind them (as `similar` computes it).
//! - [`permissions`]: what a participant's or a drafter's change may touch
//!   ([`permissions::SummaryRules`] is the sync engine's
//!   `docsync::incoming::ChangeRules`).
//! - [`presence`]: presence payloads, with hostile fields dropped.
//! - [`view`]: paragraphs of marked runs; an edited field back to a splice.
//! - [`suggest`]: open proposals cut into a section's text, suggestion-style.
//! - [`sort`]: one stable sort for every list of views (less wasm).
//! - [`when`]: times as people read them (relative, absolute, ISO), sv and en.
//!
//! Nothing in this crate performs IO, so it builds for native targets and
//! for `wasm32-unknown-unknown` alike.

pub mod authoring;
pub mod contributions;
pub mod diff;
pub mod drafts;
pub mod history;
pub mod myers;
pub mod permissions;
pub mod presence;
mod read;
pub mod sort;
pub mod suggest;
pub mod summary;
pub mod threads;
pub mod view;
pub mod when;

//! Drafts: a participant's copy (automerge fork) of a whole summary, edited
//! freely and submitted as a contribution.
//!
//! A draft shares the summary's history up to the fork. Merging applies
//! only the changes the draft has and the summary lacks (automerge merge),
//! so whatever the hosts wrote meanwhile stays. Before merging, a host sees
//! [`preview`]: per section, the text at the fork, in the draft, now, and
//! after the merge, with a conflict flag where the draft and the summary
//! both changed the same stretch of text (automerge would interleave both
//! edits there).

use std::collections::HashSet;

use automerge::{Automerge, Change, ChangeHash};
use serde::Serialize;

use crate::diff::{self, Part};
use crate::permissions;
use crate::summary::{SchemaError, Summary};

/// How merging a draft would change one section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionPreview {
    pub id: String,
    pub heading: String,
    /// The body when the draft was made.
    pub base: String,
    pub draft: String,
    /// The body in the summary now.
    pub current: String,
    /// The body after merging.
    pub merged: String,
    pub changed_in_draft: bool,
    pub changed_by_hosts: bool,
    /// Both changed the same stretch of text since the fork.
    pub conflict: bool,
    /// What merging changes, against the current body.
    pub diff: Vec<Part>,
    /// Indices of the changed runs of `diff` where the hosts also changed
    /// that stretch since the fork (empty without a conflict).
    pub conflict_parts: Vec<usize>,
}

/// What merging a draft would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// Changes the draft would bring in.
    pub changes: usize,
    /// Sections the draft or the hosts changed since the fork.
    pub sections: Vec<SectionPreview>,
    /// Whether any section has a conflict.
    pub conflicts: bool,
    /// The whole summary (Markdown), current against merged, line by line:
    /// metadata and actions included.
    pub markdown: Vec<Part>,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("the draft does not share this summary's history")]
    Unrelated,
    #[error("the draft changes more than the summary: {0}")]
    Forbidden(String),
    #[error(transparent)]
    Summary(#[from] SchemaError),
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// The draft's own changes (those the summary lacks), in causal order, and
/// the heads of the history both share.
fn split(summary: &Automerge, draft: &Automerge) -> (Vec<Change>, Vec<ChangeHash>) {
    let mut own = Vec::new();
    let mut common = Vec::new();
    for change in draft.get_changes(&[]) {
        if summary.get_change_meta_by_hash(&change.hash()).is_some() {
            common.push(change);
        } else {
            own.push(change);
        }
    }
    let deps: HashSet<ChangeHash> = common
        .iter()
        .flat_map(|c| c.deps().iter().copied())
        .collect();
    let base = common
        .iter()
        .map(Change::hash)
        .filter(|h| !deps.contains(h))
        .collect();
    (own, base)
}

/// What merging `draft` into `summary` would do.
pub fn preview(summary: &Automerge, draft: &Automerge) -> Result<Preview, DraftError> {
    let (own, base_heads) = split(summary, draft);
    if base_heads.is_empty() {
        return Err(DraftError::Unrelated);
    }
    let base = Summary::read(&summary.fork_at(&base_heads)?)?;
    let in_draft = Summary::read(draft)?;
    let current = Summary::read(summary)?;
    let mut merged_doc = summary.fork();
    merged_doc.apply_changes(own.clone())?;
    let merged = Summary::read(&merged_doc)?;

    let body = |s: &Summary, id: &str| {
        s.sections
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.body.clone())
            .unwrap_or_default()
    };
    let mut ids: Vec<&str> = Vec::new();
    for s in [&merged, &current, &in_draft, &base] {
        for section in &s.sections {
            if !ids.contains(&section.id.as_str()) {
                ids.push(&section.id);
            }
        }
    }
    let mut sections = Vec::new();
    for id in ids {
        let (b, d, c, m) = (
            body(&base, id),
            body(&in_draft, id),
            body(&current, id),
            body(&merged, id),
        );
        let changed_in_draft = b != d;
        let changed_by_hosts = b != c;
        if !changed_in_draft && !changed_by_hosts {
            continue;
        }
        let conflict = changed_in_draft
            && changed_by_hosts
            && diff::overlap(&diff::touched(&b, &d), &diff::touched(&b, &c));
        let heading = [&merged, &current, &in_draft]
            .iter()
            .find_map(|s| s.sections.iter().find(|x| x.id == id))
            .map(|x| x.heading.clone())
            .unwrap_or_default();
        let diff = diff::words(&c, &m);
        let conflict_parts = if conflict {
            conflicting_parts(&b, &c, &diff)
        } else {
            Vec::new()
        };
        sections.push(SectionPreview {
            id: id.to_owned(),
            heading,
            diff,
            conflict_parts,
            base: b,
            draft: d,
            current: c,
            merged: m,
            changed_in_draft,
            changed_by_hosts,
            conflict,
        });
    }
    Ok(Preview {
        changes: own.len(),
        conflicts: sections.iter().any(|s| s.conflict),
        sections,
        markdown: diff::lines(&current.to_markdown(), &merged.to_markdown()),
    })
}

/// The changed runs of `diff` (from the current body to the merged one)
/// that fall on a stretch the hosts changed since the fork (`base` to
/// `current`): where the draft's edit and the hosts' meet, which a host
/// should read before merging. Positions are bytes of `current`.
pub fn conflicting_parts(base: &str, current: &str, diff: &[Part]) -> Vec<usize> {
    // What the hosts wrote, as ranges of the current text (a deletion is
    // an empty range where the text was).
    let hosts = diff::touched(current, base);
    let mut out = Vec::new();
    let mut at = 0;
    for (i, part) in diff.iter().enumerate() {
        let range = match part {
            Part::Equal(t) => {
                at += t.len();
                continue;
            }
            Part::Delete(t) => {
                at += t.len();
                (at - t.len(), at)
            }
            Part::Insert(_) => (at, at),
        };
        if diff::overlap(&[range], &hosts) {
            out.push(i);
        }
    }
    out
}

/// Applies the draft's own changes to the summary, after checking that they
/// only edit the summary itself. Returns how many changes came in.
pub fn merge(summary: &mut Automerge, draft: &Automerge) -> Result<usize, DraftError> {
    let (own, base_heads) = split(summary, draft);
    if base_heads.is_empty() {
        return Err(DraftError::Unrelated);
    }
    permissions::check_drafter(summary, &own).map_err(DraftError::Forbidden)?;
    let n = own.len();
    summary.apply_changes(own)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Section;
    use crate::threads::section_body;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ReadDoc};

    fn summary() -> Automerge {
        let mut doc = Automerge::new().with_actor(ActorId::from([1u8; 16]));
        Summary {
            sections: vec![
                Section {
                    id: "issue".into(),
                    heading: "Frågan".into(),
                    body: "Regionerna behöver samarbeta.".into(),
                },
                Section {
                    id: "outcomes".into(),
                    heading: "Utfall".into(),
                    body: "Tre förslag togs fram.".into(),
                },
            ],
            ..Summary::default()
        }
        .write_new(&mut doc)
        .expect("write");
        doc
    }

    fn edit(doc: &mut Automerge, section: &str, at: usize, del: isize, text: &str) {
        let body = section_body(doc, section).expect("body");
        let mut tx = doc.transaction();
        tx.splice_text(&body, at, del, text).expect("splice");
        tx.commit();
    }

    fn body(doc: &Automerge, section: &str) -> String {
        doc.text(section_body(doc, section).expect("body"))
            .expect("text")
    }

    #[test]
    fn a_merge_brings_only_the_drafts_changes() {
        let mut s = summary();
        let mut draft = s.fork().with_actor(ActorId::from([2u8; 16]));
        edit(&mut draft, "outcomes", 0, 3, "Fyra");
        // The summary moves on meanwhile, elsewhere.
        edit(&mut s, "issue", 0, 0, "Alla ");
        let p = preview(&s, &draft).expect("preview");
        assert_eq!(p.changes, 1);
        assert!(!p.conflicts);
        let outcomes = p.sections.iter().find(|x| x.id == "outcomes").expect("o");
        assert!(outcomes.changed_in_draft && !outcomes.changed_by_hosts);
        assert_eq!(outcomes.merged, "Fyra förslag togs fram.");
        assert_eq!(merge(&mut s, &draft).expect("merge"), 1);
        assert_eq!(body(&s, "issue"), "Alla Regionerna behöver samarbeta.");
        assert_eq!(body(&s, "outcomes"), "Fyra förslag togs fram.");
        // Merging again brings nothing.
        assert_eq!(merge(&mut s, &draft).expect("merge"), 0);
    }

    #[test]
    fn overlapping_edits_are_shown_as_conflicts() {
        let mut s = summary();
        let mut draft = s.fork().with_actor(ActorId::from([2u8; 16]));
        edit(&mut draft, "issue", 11, 7, "måste");
        edit(&mut s, "issue", 11, 7, "ska");
        let p = preview(&s, &draft).expect("preview");
        assert!(p.conflicts);
        let issue = &p.sections[0];
        assert!(issue.conflict);
        assert_eq!(issue.base, "Regionerna behöver samarbeta.");
        assert_eq!(issue.draft, "Regionerna måste samarbeta.");
        assert_eq!(issue.current, "Regionerna ska samarbeta.");
        assert!(issue.merged.contains("måste") && issue.merged.contains("ska"));
        // The runs where both edits meet are marked, and only those.
        assert!(!issue.conflict_parts.is_empty(), "{issue:?}");
        for (i, part) in issue.diff.iter().enumerate() {
            if issue.conflict_parts.contains(&i) {
                assert!(!matches!(part, Part::Equal(_)), "{part:?}");
            }
        }
    }

    #[test]
    fn only_the_stretch_both_changed_is_marked_as_a_conflict() {
        let base = "Regionerna behöver samarbeta. Staten finansierar.";
        // The hosts changed the first sentence; the draft changed both.
        let current = "Regionerna ska samarbeta. Staten finansierar.";
        let merged = "Regionerna måste ska samarbeta. Staten bidrar.";
        let diff = diff::words(current, merged);
        let marked = conflicting_parts(base, current, &diff);
        let texts: Vec<&Part> = marked.iter().map(|&i| &diff[i]).collect();
        assert!(
            texts
                .iter()
                .any(|p| matches!(p, Part::Insert(t) if t.contains("måste"))),
            "{diff:?} {marked:?}"
        );
        assert!(
            !texts
                .iter()
                .any(|p| matches!(p, Part::Insert(t) | Part::Delete(t)
                if t.contains("bidrar") || t.contains("finansierar"))),
            "the second sentence only the draft changed: {diff:?} {marked:?}"
        );
        // Without host changes nothing is a conflict.
        assert!(conflicting_parts(current, current, &diff).is_empty());
    }

    #[test]
    fn the_review_lists_only_sections_the_draft_changed() {
        let s = summary();
        let mut draft = s.fork().with_actor(ActorId::from([2u8; 16]));
        edit(&mut draft, "issue", 0, 0, "Alla ");
        let p = preview(&s, &draft).expect("preview");
        assert_eq!(p.sections.len(), 1);
        assert!(p.sections[0].changed_in_draft);
        assert!(!p.sections[0].conflict && p.sections[0].conflict_parts.is_empty());
        assert_eq!(
            p.sections[0].diff,
            vec![
                Part::Insert("Alla ".into()),
                Part::Equal("Regionerna behöver samarbeta.".into())
            ]
        );
    }

    #[test]
    fn drafts_that_touch_comments_are_refused() {
        let mut s = summary();
        let mut draft = s.fork().with_actor(ActorId::from([2u8; 16]));
        let mut tx = draft.transaction();
        let threads = crate::read::get_obj(&tx, &automerge::ROOT, "threads").expect("threads");
        tx.put(&threads, "t1", "x").expect("put");
        tx.commit();
        assert!(matches!(
            merge(&mut s, &draft),
            Err(DraftError::Forbidden(_))
        ));
        let mut unrelated = Automerge::new().with_actor(ActorId::from([9u8; 16]));
        Summary::default().write_new(&mut unrelated).expect("write");
        assert!(matches!(
            preview(&s, &unrelated),
            Err(DraftError::Unrelated)
        ));
    }
}

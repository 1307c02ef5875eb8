//! Rules for the free text the HTTP API takes (display names, workshop
//! titles and metadata, whole summaries, review texts, version names):
//! every string is bounded, and none may hide what it is.
//!
//! - Control characters (Unicode `Cc`) are refused; multi-line fields
//!   allow line feeds and tabs (a CRLF becomes LF first).
//! - Bidirectional controls are refused: the embeddings and overrides
//!   U+202A–U+202E, the isolates U+2066–U+2069, the marks U+200E, U+200F
//!   and U+061C. One of them in a name can reverse what surrounds the name
//!   wherever it is shown ("Eve" ⟶ a name that reads as another's).
//! - Single-line fields refuse the line and paragraph separators
//!   U+2028/U+2029 too, are trimmed of whitespace and of invisible
//!   characters at either end, and a required one must keep at least one
//!   visible character (not whitespace, a format or joiner character, a
//!   filler such as U+3164, or a combining mark).
//! - Lengths are in characters (Unicode scalar values).
//!
//! Text written over sync (comments, proposals, edits) never passes here:
//! whatever shows user text isolates it (`<bdi>`, `dir="auto"`) instead.

use model::summary::Summary;

/// Why a string was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{0} must contain a visible character")]
    Invisible(&'static str),
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{0} must not contain control characters")]
    Control(&'static str),
    #[error(
        "{0} must not contain text-direction control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)"
    )]
    Bidi(&'static str),
    #[error("{field} may have at most {max} entries")]
    TooMany { field: &'static str, max: usize },
}

/// How one field is checked.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The field's name in messages.
    pub field: &'static str,
    /// Most characters.
    pub max: usize,
    /// Line feeds and tabs allowed; not trimmed.
    pub multiline: bool,
    /// Must have a visible character.
    pub required: bool,
}

const fn line(field: &'static str, max: usize, required: bool) -> Rule {
    Rule {
        field,
        max,
        multiline: false,
        required,
    }
}

const fn text(field: &'static str, max: usize) -> Rule {
    Rule {
        field,
        max,
        multiline: true,
        required: false,
    }
}

/// Most characters of a display name.
pub const NAME_MAX: usize = 64;
/// Most characters of a workshop title.
pub const TITLE_MAX: usize = 200;

pub const DISPLAY_NAME: Rule = line("a display name", NAME_MAX, true);
pub const TITLE: Rule = line("a title", TITLE_MAX, true);
pub const VERSION_NAME: Rule = line("a version's name", 200, true);
/// A review's replacement text (a section's text at most).
pub const REVIEW_TEXT: Rule = text("the text", 100_000);
/// A rejection's reply to the contribution's author.
pub const REPLY: Rule = text("the reply", 10_000);

const META: Rule = line("a metadata field", 500, false);
const PERSON: Rule = line("a name in hosts, stakeholders or ambassadors", 200, false);
const ID: Rule = line("an id", 64, false);
const HEADING: Rule = line("a section heading", 200, false);
const BODY: Rule = text("a section body", 100_000);
const ACTION: Rule = text("an action's text", 2_000);
const ACTION_FIELD: Rule = line("an action's owner, due date or status", 200, false);
const MAX_PEOPLE: usize = 100;
const MAX_SECTIONS: usize = 100;
const MAX_ACTIONS: usize = 500;

/// A bidirectional formatting character.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A character that shows nothing by itself: whitespace, format and joiner
/// characters, fillers, combining marks.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_bidi_control(c)
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}'
            // Combining marks, which show only on another character.
            | '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Trimmed at single-line fields' ends: whitespace and characters that
/// show nothing and join nothing (not combining marks or variation
/// selectors, which belong to the character before them).
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}' | '\u{115F}' | '\u{1160}' | '\u{180E}' | '\u{200B}'
                ..='\u{200D}' | '\u{2060}' | '\u{2800}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        )
}

impl Rule {
    /// The value as stored (single-line: trimmed; multi-line: CRLF as LF),
    /// or why it is refused.
    pub fn check(&self, value: &str) -> Result<String, TextError> {
        let value = if self.multiline {
            value.replace("\r\n", "\n")
        } else {
            value.trim_matches(is_blank).to_owned()
        };
        for c in value.chars() {
            if is_bidi_control(c) {
                return Err(TextError::Bidi(self.field));
            }
            let allowed = self.multiline && matches!(c, '\n' | '\t');
            if (c.is_control() && !allowed)
                || (!self.multiline && matches!(c, '\u{2028}' | '\u{2029}'))
            {
                return Err(TextError::Control(self.field));
            }
        }
        if self.required {
            if value.is_empty() {
                return Err(TextError::Missing(self.field));
            }
            if value.chars().all(is_invisible) {
                return Err(TextError::Invisible(self.field));
            }
        }
        // Counted only after the cheap checks; stops at the limit.
        if value.chars().nth(self.max).is_some() {
            return Err(TextError::TooLong {
                field: self.field,
                max: self.max,
            });
        }
        Ok(value)
    }
}

fn list(rule: Rule, field: &'static str, values: &mut [String]) -> Result<(), TextError> {
    if values.len() > MAX_PEOPLE {
        return Err(TextError::TooMany {
            field,
            max: MAX_PEOPLE,
        });
    }
    for v in values.iter_mut() {
        *v = rule.check(v)?;
    }
    Ok(())
}

/// Checks (and trims) every field of a summary a host sends to create a
/// workshop; the title is required.
pub fn summary(s: &mut Summary) -> Result<(), TextError> {
    let w = &mut s.workshop;
    w.title = TITLE.check(&w.title)?;
    for field in [
        &mut w.when,
        &mut w.format,
        &mut w.language,
        &mut w.registration,
    ] {
        *field = META.check(field)?;
    }
    list(PERSON, "hosts", &mut w.hosts)?;
    list(PERSON, "stakeholders", &mut w.stakeholders)?;
    list(PERSON, "ambassadors", &mut w.ambassadors)?;
    if s.sections.len() > MAX_SECTIONS {
        return Err(TextError::TooMany {
            field: "sections",
            max: MAX_SECTIONS,
        });
    }
    for section in &mut s.sections {
        section.id = ID.check(&section.id)?;
        section.heading = HEADING.check(&section.heading)?;
        section.body = BODY.check(&section.body)?;
    }
    if s.actions.len() > MAX_ACTIONS {
        return Err(TextError::TooMany {
            field: "actions",
            max: MAX_ACTIONS,
        });
    }
    for action in &mut s.actions {
        action.id = ID.check(&action.id)?;
        action.text = ACTION.check(&action.text)?;
        for field in [&mut action.owner, &mut action.due, &mut action.status] {
            *field = ACTION_FIELD.check(field)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_show_something() {
        assert_eq!(DISPLAY_NAME.check("  Åsa Öberg \n"), Ok("Åsa Öberg".into()));
        assert_eq!(DISPLAY_NAME.check("\u{200B}Eve\u{FEFF}"), Ok("Eve".into()));
        assert_eq!(DISPLAY_NAME.check("محمد"), Ok("محمد".into()));
        assert_eq!(DISPLAY_NAME.check("👩‍💻 Kim"), Ok("👩‍💻 Kim".into()));
        assert_eq!(DISPLAY_NAME.check("❤\u{FE0F}"), Ok("❤\u{FE0F}".into()));
        for empty in [
            "",
            "   ",
            "\u{3000}\u{00A0}",
            "\u{200B}\u{200D}",
            "\u{3164}",
            "\u{2800}",
        ] {
            assert_eq!(
                DISPLAY_NAME.check(empty),
                Err(TextError::Missing("a display name")),
                "{empty:?}"
            );
        }
        assert_eq!(
            DISPLAY_NAME.check("\u{0301}\u{0302}"),
            Err(TextError::Invisible("a display name"))
        );
    }

    #[test]
    fn control_and_direction_characters_are_refused() {
        for bad in [
            "a\u{0000}b",
            "Eve\nAdmin",
            "tab\there",
            "a\u{007F}",
            "a\u{0085}b",
            "a\u{2028}b",
        ] {
            assert_eq!(
                DISPLAY_NAME.check(bad),
                Err(TextError::Control("a display name")),
                "{bad:?}"
            );
        }
        for bad in [
            "\u{202E}nimda",
            "a\u{202A}b",
            "a\u{2066}b\u{2069}",
            "\u{200F}x",
            "x\u{200E}y",
            "x\u{061C}",
        ] {
            assert_eq!(TITLE.check(bad), Err(TextError::Bidi("a title")), "{bad:?}");
        }
        // Multi-line text keeps its line feeds and tabs, not the rest.
        assert_eq!(REPLY.check("a\r\n\tb\n"), Ok("a\n\tb\n".into()));
        assert_eq!(
            REPLY.check("a\u{0007}"),
            Err(TextError::Control("the reply"))
        );
        assert_eq!(REPLY.check("\u{202D}"), Err(TextError::Bidi("the reply")));
    }

    #[test]
    fn lengths_are_bounded_in_characters() {
        assert!(DISPLAY_NAME.check(&"å".repeat(64)).is_ok());
        assert_eq!(
            DISPLAY_NAME.check(&"å".repeat(65)),
            Err(TextError::TooLong {
                field: "a display name",
                max: 64
            })
        );
        assert!(TITLE.check(&"😀".repeat(200)).is_ok());
        assert!(TITLE.check(&"x".repeat(1_900_000)).is_err());
    }

    #[test]
    fn a_summary_is_checked_field_by_field() {
        let mut s = Summary::default();
        s.workshop.title = " Titel ".into();
        s.workshop.hosts = vec![" Värd ".into()];
        assert_eq!(summary(&mut s), Ok(()));
        assert_eq!(
            (s.workshop.title.as_str(), s.workshop.hosts[0].as_str()),
            ("Titel", "Värd")
        );
        s.workshop.hosts = vec!["x".into(); 101];
        assert!(matches!(summary(&mut s), Err(TextError::TooMany { .. })));
        s.workshop.hosts.clear();
        s.sections.push(model::summary::Section {
            id: "s".into(),
            heading: "\u{202E}".into(),
            body: String::new(),
        });
        assert_eq!(summary(&mut s), Err(TextError::Bidi("a section heading")));
        s.sections.clear();
        s.workshop.title = "\u{200B}".into();
        assert_eq!(summary(&mut s), Err(TextError::Missing("a title")));
    }
}

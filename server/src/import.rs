//! Import of workshop pages in the plain-text shape of the seed page
//! (`shared/seed/000_*.txt`): a day/time line starts each workshop, the next
//! line is its title, then labelled paragraphs ("Host:", "The issue at
//! hand:", …) in English or Swedish.
//!
//! Nothing is dropped: a line that matches no label joins the nearest
//! section before it (or, before any section, the workshop's "Notes"). The
//! page's preamble (site chrome such as "Become a partner", the series'
//! title and description) is the series' description ([`Page::preamble`]),
//! never a section of a workshop, so it is never a workshop page's meta
//! description either. A line that is plainly a link label (a document's
//! name such as "ATMP Sweden betalningsmodeller 201118") stays in its
//! section; a list of stakeholders holds names only: a sentence after one
//! ("Anna Alassad, TLV. Seminar was open, with registration.") is about the
//! meeting, and goes to its registration (or its notes).

use model::summary::{MeetingType, Section, Summary, Workshop};

const WEEKDAYS: &[&str] = &[
    "måndag",
    "tisdag",
    "onsdag",
    "torsdag",
    "fredag",
    "lördag",
    "söndag",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// What a label means.
enum Label {
    Hosts,
    Stakeholders,
    Ambassadors,
    MeetingType,
    Registration,
    /// A section with this id (and the label as written as its heading).
    Section(&'static str),
}

fn label(name: &str) -> Option<Label> {
    let n = name.trim().to_lowercase();
    Some(match n.as_str() {
        "host" | "hosts" | "värd" | "värdar" => Label::Hosts,
        "invited stakeholders" | "stakeholders" | "inbjudna" | "inbjudna aktörer" => {
            Label::Stakeholders
        }
        "ambassadors" | "ambassadörer" => Label::Ambassadors,
        "meeting type" | "mötestyp" | "typ av möte" => Label::MeetingType,
        "registration" | "anmälan" | "registrering" => Label::Registration,
        "the issue at hand" | "issue at hand" | "frågan" | "aktuell fråga" => {
            Label::Section("issue")
        }
        "the outcomes" | "outcomes" | "resultat" | "utfall" => Label::Section("outcomes"),
        "get involved" | "engagera dig" | "delta" => Label::Section("get-involved"),
        _ => return None,
    })
}

/// A day/time line, e.g. "Torsdag 19:e Nov 14:30-16:00".
fn is_day_line(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("").to_lowercase();
    WEEKDAYS.contains(&first.as_str())
        && line.contains(':')
        && line.chars().any(|c| c.is_ascii_digit())
}

/// Splits "Label: rest" where the label looks like one (short, no sentence
/// punctuation). Returns (label, rest).
fn split_label(line: &str) -> Option<(&str, &str)> {
    let (head, rest) = line.split_once(':')?;
    let looks_like_label = !head.is_empty()
        && head.chars().count() <= 60
        && head.chars().next().is_some_and(char::is_uppercase)
        && !head.contains(['.', '!', '?', ';', '(', ')'])
        && !head.chars().any(|c| c.is_ascii_digit());
    looks_like_label.then(|| (head.trim(), rest.trim()))
}

fn slug(heading: &str) -> String {
    let mut s: String = heading
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').chars().take(40).collect()
}

fn list(rest: &str, separators: &[char]) -> Vec<String> {
    rest.split(separators)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

struct Builder {
    summary: Summary,
    /// Index of the section unlabelled lines join.
    current: Option<usize>,
    /// Whether the meeting type was stated explicitly.
    typed: bool,
}

impl Builder {
    fn new(when: &str) -> Self {
        Self {
            summary: Summary {
                workshop: Workshop {
                    when: when.to_owned(),
                    language: "sv, en".into(),
                    ..Workshop::default()
                },
                ..Summary::default()
            },
            current: None,
            typed: false,
        }
    }

    fn section(&mut self, id: &str, heading: &str, body: &str) {
        let sections = &mut self.summary.sections;
        let mut unique = id.to_owned();
        let mut n = 2;
        while sections.iter().any(|s| s.id == unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        sections.push(Section {
            id: unique,
            heading: heading.to_owned(),
            body: body.to_owned(),
        });
        self.current = Some(sections.len() - 1);
    }

    /// Adds a line to the workshop's "Notes" section.
    fn append_note(&mut self, line: &str) {
        match self.summary.sections.iter().position(|s| s.id == "notes") {
            Some(i) => {
                let body = &mut self.summary.sections[i].body;
                body.push('\n');
                body.push_str(line);
            }
            None => self.section("notes", "Notes", line),
        }
    }

    fn append(&mut self, line: &str) {
        match self.current {
            Some(i) => {
                let body = &mut self.summary.sections[i].body;
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(line);
            }
            None => self.section("notes", "Notes", line),
        }
    }

    fn line(&mut self, line: &str) {
        // A link's label is text of its section, never a label or a name.
        if is_link_label(line) {
            return self.append(line);
        }
        let Some((name, rest)) = split_label(line) else {
            return self.append(line);
        };
        let w = &mut self.summary.workshop;
        match label(name) {
            Some(Label::Hosts) => w.hosts.extend(list(rest, &[';'])),
            Some(Label::Stakeholders) => {
                let (names, remark) = split_remark(rest);
                if !self.typed {
                    let lower = rest.to_lowercase();
                    if lower.contains("was open")
                        || lower.contains("öppen")
                        || lower.contains("öppet")
                    {
                        w.meeting_type = MeetingType::Open;
                    }
                }
                w.stakeholders.extend(list(names, &[';']));
                if let Some(remark) = remark {
                    let lower = remark.to_lowercase();
                    if w.registration.is_empty()
                        && (lower.contains("registr") || lower.contains("anmäl"))
                    {
                        w.registration = remark.to_owned();
                    } else {
                        let current = self.current;
                        self.current = None;
                        self.append_note(remark);
                        self.current = current;
                    }
                }
            }
            Some(Label::Ambassadors) => w.ambassadors.extend(list(rest, &[',', ';'])),
            Some(Label::MeetingType) => {
                let lower = rest.to_lowercase();
                if lower.contains("closed") || lower.contains("stängd") || lower.contains("sluten")
                {
                    w.meeting_type = MeetingType::InviteOnly;
                } else if lower.contains("open") || lower.contains("öppen") {
                    w.meeting_type = MeetingType::Open;
                }
                let english = lower.contains("english") || lower.contains("engelska");
                let swedish = lower.contains("swedish") || lower.contains("svenska");
                match (swedish, english) {
                    (true, false) => w.language = "sv".into(),
                    (false, true) => w.language = "en".into(),
                    _ => {}
                }
                w.format = rest.to_owned();
                self.typed = true;
            }
            Some(Label::Registration) => {
                let lower = rest.to_lowercase();
                if !self.typed && (lower.contains("inbjudna") || lower.contains("invit")) {
                    w.meeting_type = MeetingType::InviteOnly;
                }
                w.registration = rest.to_owned();
            }
            Some(Label::Section(id)) => self.section(id, name, rest),
            None => {
                let id = slug(name);
                self.section(if id.is_empty() { "section" } else { &id }, name, rest);
            }
        }
    }
}

/// Splits a trailing remark off a list of names: "A, X; B, Y. Seminar was
/// open." → ("A, X; B, Y", Some("Seminar was open.")). A remark starts
/// after a full stop that ends a word of two letters or more and is
/// followed by a capitalised sentence of at least three words, so initials
/// ("A. Berg") stay names.
fn split_remark(rest: &str) -> (&str, Option<&str>) {
    let mut search = 0;
    while let Some(i) = rest[search..].find(". ").map(|i| i + search) {
        let tail = rest[i + 2..].trim();
        let capitalised = tail.chars().next().is_some_and(char::is_uppercase);
        // "A. Berg": an initial, not the end of a sentence.
        let initial = rest[..i]
            .split_whitespace()
            .next_back()
            .is_some_and(|w| w.chars().count() < 2);
        if capitalised && !initial && tail.split_whitespace().count() >= 3 {
            return (rest[..=i].trim_end_matches('.').trim(), Some(tail));
        }
        search = i + 2;
    }
    (rest, None)
}

/// Whether a line is plainly the label of a link (a document's or page's
/// name, as a page's text shows it): short, no sentence punctuation, no
/// label, and ending in a date-like number or a file extension.
pub fn is_link_label(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let last = words.last().copied().unwrap_or("");
    let dated = last.len() >= 6 && last.chars().all(|c| c.is_ascii_digit());
    let file = [".pdf", ".docx", ".pptx", ".xlsx"]
        .iter()
        .any(|ext| last.to_lowercase().ends_with(ext));
    (1..=10).contains(&words.len())
        && !line.contains([':', '!', '?', ';'])
        && !line.trim_end().ends_with('.')
        && (dated || file)
}

/// An imported page: its preamble (the series' description: everything
/// before the first workshop) and one summary per workshop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub preamble: Option<String>,
    pub workshops: Vec<Summary>,
}

/// Parses a page into one summary per workshop (a day/time line starts
/// each); the text before the first is the preamble.
pub fn parse_page(text: &str) -> Page {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first_day = lines
        .iter()
        .position(|l| is_day_line(l))
        .unwrap_or(lines.len());
    let preamble = lines[..first_day].join("\n");
    let mut out: Vec<Summary> = Vec::new();
    let mut current: Option<Builder> = None;
    let mut expect_title = false;
    for line in &lines[first_day..] {
        if is_day_line(line) {
            out.extend(current.take().map(|b| b.summary));
            current = Some(Builder::new(line));
            expect_title = true;
            continue;
        }
        let Some(b) = current.as_mut() else { continue };
        if expect_title {
            b.summary.workshop.title = (*line).to_owned();
            expect_title = false;
            continue;
        }
        b.line(line);
    }
    out.extend(current.map(|b| b.summary));
    Page {
        preamble: (!preamble.is_empty()).then_some(preamble),
        workshops: out,
    }
}

/// Parses pasted text as one workshop: the page's first workshop if it
/// has a day/time line (the preamble is returned beside it), else the
/// whole text as that workshop's labelled paragraphs (with no title or
/// time: the caller gives them).
pub fn parse_pasted(text: &str) -> Page {
    let page = parse_page(text);
    if !page.workshops.is_empty() {
        return page;
    }
    let mut b = Builder::new("");
    b.summary.workshop.language = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        b.line(line);
    }
    Page {
        preamble: None,
        workshops: vec![b.summary],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "Series title\n\nIntro line.\n\nMåndag 2:a Mar 09:00-10:00\n\nEn titel\n\nHost: Åsa Öberg (RISE)\n\nLoose line before any section.\n\nThe issue at hand: Första.\n\nFortsättning.\n\nMeeting type: workshop, closed, swedish\n\nWhat you get: Mer.\n";

    #[test]
    fn parses_labels_sections_and_keeps_every_line() {
        let page = parse_page(PAGE);
        assert_eq!(page.preamble.as_deref(), Some("Series title\nIntro line."));
        let all = page.workshops;
        assert_eq!(all.len(), 1);
        let s = &all[0];
        assert_eq!(s.workshop.when, "Måndag 2:a Mar 09:00-10:00");
        assert_eq!(s.workshop.title, "En titel");
        assert_eq!(s.workshop.hosts, vec!["Åsa Öberg (RISE)"]);
        assert_eq!(s.workshop.meeting_type, MeetingType::InviteOnly);
        assert_eq!(s.workshop.language, "sv");
        let ids: Vec<&str> = s.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["notes", "issue", "what-you-get"]);
        assert_eq!(s.sections[0].body, "Loose line before any section.");
        assert_eq!(s.sections[1].body, "Första.\nFortsättning.");
        assert_eq!(s.sections[2].heading, "What you get");
    }

    #[test]
    fn a_remark_after_the_stakeholders_is_not_a_stakeholder() {
        assert_eq!(
            split_remark("A. Berg, X; B, TLV. Seminar was open, with registration."),
            (
                "A. Berg, X; B, TLV",
                Some("Seminar was open, with registration.")
            )
        );
        assert_eq!(split_remark("A, B. C"), ("A, B. C", None));
    }

    #[test]
    fn link_labels_are_recognised() {
        assert!(is_link_label("ATMP Sweden betalningsmodeller 201118"));
        assert!(is_link_label("Rapport 2020.pdf"));
        assert!(!is_link_label(
            "Participants met in 2020 to discuss 201118."
        ));
        assert!(!is_link_label("Host: Anna 201118"));
    }

    #[test]
    fn pasted_text_without_a_date_is_one_workshop() {
        let page = parse_pasted("The issue at hand: Frågan.\nMer.\nGet involved: Skriv.");
        assert_eq!(page.workshops.len(), 1);
        let ids: Vec<&str> = page.workshops[0]
            .sections
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ids, ["issue", "get-involved"]);
    }
}

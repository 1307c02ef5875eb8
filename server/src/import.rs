//! Import of workshop pages in the plain-text shape of the seed page
//! (`shared/seed/000_*.txt`): a day/time line starts each workshop, the next
//! line is its title, then labelled paragraphs ("Host:", "The issue at
//! hand:", …) in English or Swedish.
//!
//! Nothing is dropped: a line that matches no label joins the nearest
//! section before it (or, before any section, the workshop's "Notes"), and
//! the page's preamble becomes each workshop's "About the series" section.

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
        let Some((name, rest)) = split_label(line) else {
            return self.append(line);
        };
        let w = &mut self.summary.workshop;
        match label(name) {
            Some(Label::Hosts) => w.hosts.extend(list(rest, &[';'])),
            Some(Label::Stakeholders) => {
                if !self.typed {
                    let lower = rest.to_lowercase();
                    if lower.contains("was open")
                        || lower.contains("öppen")
                        || lower.contains("öppet")
                    {
                        w.meeting_type = MeetingType::Open;
                    }
                }
                w.stakeholders.extend(list(rest, &[';']));
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

/// Parses a page into one summary per workshop.
pub fn parse_page(text: &str) -> Vec<Summary> {
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
            let mut b = Builder::new(line);
            if !preamble.is_empty() {
                b.section("about", "About the series", &preamble);
                b.current = None;
            }
            current = Some(b);
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "Series title\n\nIntro line.\n\nMåndag 2:a Mar 09:00-10:00\n\nEn titel\n\nHost: Åsa Öberg (RISE)\n\nLoose line before any section.\n\nThe issue at hand: Första.\n\nFortsättning.\n\nMeeting type: workshop, closed, swedish\n\nWhat you get: Mer.\n";

    #[test]
    fn parses_labels_sections_and_keeps_every_line() {
        let all = parse_page(PAGE);
        assert_eq!(all.len(), 1);
        let s = &all[0];
        assert_eq!(s.workshop.when, "Måndag 2:a Mar 09:00-10:00");
        assert_eq!(s.workshop.title, "En titel");
        assert_eq!(s.workshop.hosts, vec!["Åsa Öberg (RISE)"]);
        assert_eq!(s.workshop.meeting_type, MeetingType::InviteOnly);
        assert_eq!(s.workshop.language, "sv");
        let ids: Vec<&str> = s.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["about", "notes", "issue", "what-you-get"]);
        assert_eq!(s.sections[0].body, "Series title\nIntro line.");
        assert_eq!(s.sections[1].body, "Loose line before any section.");
        assert_eq!(s.sections[2].body, "Första.\nFortsättning.");
        assert_eq!(s.sections[3].heading, "What you get");
    }
}

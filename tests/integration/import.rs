//! Import of the seed page: every workshop, host and section, and nothing
//! dropped; the page's chrome (its preamble) is the series' description,
//! never a section of a workshop nor a page's meta description.

use model::summary::{MeetingType, Summary};
use server::import::parse_page;

/// The seed page: `SYNPUNKT_SEED`, or `../shared/seed/…` beside the repo.
pub(crate) fn seed() -> String {
    let name = "seed/000_9a3fe46c59b222e3.txt";
    let candidates = [
        std::env::var("SYNPUNKT_SEED").ok().map(Into::into),
        Some(testkit::repo_root().join("../shared").join(name)),
        Some(std::path::PathBuf::from("/work/shared").join(name)),
    ];
    let path = candidates
        .into_iter()
        .flatten()
        .find(|p: &std::path::PathBuf| p.exists())
        .expect("the seed page: set SYNPUNKT_SEED to its path");
    std::fs::read_to_string(path).expect("read the seed page")
}

fn everything(s: &Summary) -> String {
    let w = &s.workshop;
    let mut all = vec![
        w.title.clone(),
        w.when.clone(),
        w.format.clone(),
        w.registration.clone(),
    ];
    all.extend(w.hosts.iter().cloned());
    all.extend(w.stakeholders.iter().cloned());
    all.extend(w.ambassadors.iter().cloned());
    for sec in &s.sections {
        all.push(sec.heading.clone());
        all.push(sec.body.clone());
    }
    all.join("\n")
}

#[test]
fn the_seed_page_imports_completely() {
    let page = seed();
    let parsed = parse_page(&page);
    let workshops = &parsed.workshops;
    assert_eq!(workshops.len(), 3);

    // The preamble, navigation text included, is the series' description
    // and in no workshop.
    let preamble = parsed.preamble.as_deref().expect("a preamble");
    assert!(preamble.starts_with("Become a partner\nInnovation Milieu workshops\n"));
    assert!(preamble.ends_with("set the stage for larger more inclusive activities to come!"));
    for w in workshops {
        let text = everything(w);
        assert!(!text.contains("Become a partner"), "{text}");
        assert!(!text.contains("Innovation Milieu workshops"), "{text}");
        assert!(
            !w.sections.iter().any(|s| s.id == "about"),
            "{:?}",
            w.sections
        );
    }

    let titles: Vec<&str> = workshops
        .iter()
        .map(|w| w.workshop.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "Payment models for ATMP – what is happening?",
            "How is it looking for ATMP based clinical trials in Sweden?",
            "Increased capacity for industrial development and manufacturing of ATMPs in Sweden",
        ]
    );
    let whens: Vec<&str> = workshops.iter().map(|w| w.workshop.when.as_str()).collect();
    assert_eq!(
        whens,
        [
            "Onsdag 18:e Nov 13:00-14:15",
            "Torsdag 19:e Nov 13:00-15:00",
            "Torsdag 19:e Nov 14:30-16:00"
        ]
    );
    let hosts: Vec<&[String]> = workshops
        .iter()
        .map(|w| w.workshop.hosts.as_slice())
        .collect();
    assert_eq!(
        hosts,
        [
            &["Sofie Alverlind, SKR".to_owned()][..],
            &["Ann Novotny (VGR)".to_owned()],
            &["Jim Lund (RISE)".to_owned()]
        ]
    );

    let [payment, trials, capacity] = &workshops[..] else {
        unreachable!()
    };
    assert_eq!(payment.workshop.meeting_type, MeetingType::Open);
    // Names only: the sentence after them is about the meeting.
    assert_eq!(
        payment.workshop.stakeholders,
        ["Mikael Svensson, SKR", "Anna Alassad, TLV"]
    );
    assert_eq!(
        payment.workshop.registration,
        "Seminar was open, with registration."
    );
    let ids = |s: &Summary| s.sections.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(payment), ["issue", "outcomes"]);
    // The link's label stays in the section it follows, and is no name.
    assert!(
        payment.sections[1]
            .body
            .ends_with("\nATMP Sweden betalningsmodeller 201118")
    );
    for w in workshops {
        let names = [
            &w.workshop.hosts,
            &w.workshop.stakeholders,
            &w.workshop.ambassadors,
        ];
        assert!(
            !names
                .iter()
                .any(|list| list.iter().any(|n| n.contains("betalningsmodeller"))),
            "{names:?}"
        );
    }

    assert_eq!(ids(trials), ["issue", "outcomes", "get-involved"]);
    assert!(
        trials.sections[2]
            .body
            .contains("welcome dialogue and input")
    );
    assert!(
        trials.workshop.stakeholders[0].starts_with("Gunilla Andrew Nielsen (Läkemedelsverket)")
    );

    assert_eq!(capacity.workshop.meeting_type, MeetingType::InviteOnly);
    assert_eq!(capacity.workshop.language, "en");
    assert_eq!(capacity.workshop.format, "workshop, closed, english");
    assert_eq!(
        capacity.workshop.ambassadors,
        [
            "Karin Agerman",
            "Michael May",
            "Louise Warme",
            "Johan Hyllner"
        ]
    );
    assert_eq!(capacity.workshop.registration, "Inbjudna dvs inte alla");
    assert_eq!(
        ids(capacity),
        [
            "short-description-of-important-questions",
            "what-will-you-get-from-the-workshop"
        ]
    );
    assert_eq!(
        capacity.sections[0].heading,
        "Short description of important questions"
    );

    // Nothing is dropped: every line's words are somewhere in the workshops
    // or the series' description.
    let mut all: String = workshops
        .iter()
        .map(everything)
        .collect::<Vec<_>>()
        .join("\n");
    all.push('\n');
    all.push_str(preamble);
    for line in page.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if all.contains(line) {
            continue;
        }
        let (_, rest) = line.split_once(':').unwrap_or(("", line));
        for part in rest
            .split([';', ',', '.'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            assert!(all.contains(part), "dropped: {part:?}");
        }
    }
}

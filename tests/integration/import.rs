//! Import of the seed page: every workshop, host and section, and nothing
//! dropped.

use model::summary::{MeetingType, Summary};
use server::import::parse_page;

/// The seed page: `SYNPUNKT_SEED`, or `../shared/seed/…` beside the repo.
fn seed() -> String {
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
    let workshops = parse_page(&page);
    assert_eq!(workshops.len(), 3);

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
    assert_eq!(
        payment.workshop.stakeholders,
        [
            "Mikael Svensson, SKR",
            "Anna Alassad, TLV. Seminar was open, with registration."
        ]
    );
    let ids = |s: &Summary| s.sections.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(payment), ["about", "issue", "outcomes"]);
    // The unlabelled line joins the nearest section before it.
    assert!(
        payment.sections[2]
            .body
            .ends_with("\nATMP Sweden betalningsmodeller 201118")
    );

    assert_eq!(ids(trials), ["about", "issue", "outcomes", "get-involved"]);
    assert!(
        trials.sections[3]
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
            "about",
            "short-description-of-important-questions",
            "what-will-you-get-from-the-workshop"
        ]
    );
    assert_eq!(
        capacity.sections[1].heading,
        "Short description of important questions"
    );

    // Nothing is dropped: every line's words are somewhere in the workshops.
    let all: String = workshops
        .iter()
        .map(everything)
        .collect::<Vec<_>>()
        .join("\n");
    for line in page.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if all.contains(line) {
            continue;
        }
        let (_, rest) = line.split_once(':').unwrap_or(("", line));
        for part in rest.split([';', ',']).map(str::trim) {
            assert!(all.contains(part), "dropped: {part:?}");
        }
    }
}

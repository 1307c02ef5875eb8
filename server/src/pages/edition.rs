//! The public page of a workshop whose hosts show the public its latest
//! published version (the edition, `PublicView::Published`) instead of the
//! live text: that version, rendered on the server, saying what it is and
//! when it was published. The web client does not run on it (it would
//! sync the live document, which `/sync` refuses to the public here), so
//! the page is the edition and nothing newer. With nothing published yet,
//! the page names the workshop (its title is public, as in the list) and
//! says so.

use maud::{Markup, html};

use super::{Lang, Text, actions, metadata, non_empty, section_markup};
use crate::workshops::{Edition, WorkshopRecord};

/// This page's words.
struct Words {
    published: &'static str,
    edition_note: &'static str,
    not_published: &'static str,
}

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Sv => &Words {
            published: "Publicerad",
            edition_note: "Det här är den senast publicerade versionen av sammanfattningen.",
            not_published: "Sammanfattningen är inte publicerad än. Värdarna publicerar den här när den är klar.",
        },
        Lang::En => &Words {
            published: "Published",
            edition_note: "This is the latest published version of the summary.",
            not_published: "The summary is not published yet. The hosts will publish it here when it is ready.",
        },
    }
}

fn when_lang(lang: Lang) -> model::when::Lang {
    match lang {
        Lang::Sv => model::when::Lang::Sv,
        Lang::En => model::when::Lang::En,
    }
}

/// The `<main>` of the edition page (or of "not published yet").
pub(super) fn main(
    lang: Lang,
    t: &Text,
    record: &WorkshopRecord,
    edition: Option<&Edition>,
) -> Markup {
    let w = words(lang);
    let Some(edition) = edition else {
        return html! {
            main #summary data-edition="none" {
                h1 #title dir="auto" { (non_empty(&record.title, t.untitled)) }
                p.edition-note role="note" { (w.not_published) }
            }
        };
    };
    let summary = &edition.summary;
    // The server knows no reader's time zone: UTC, said so.
    let at = format!(
        "{} UTC",
        model::when::absolute(when_lang(lang), edition.at, 0)
    );
    html! {
        main #summary data-edition="published" {
            p.edition-note role="note" {
                strong { (w.published) " " time datetime=(model::when::iso(edition.at)) { (at) } }
                " · " span dir="auto" { (edition.name) }
                br;
                (w.edition_note)
            }
            h1 #title dir="auto" { (non_empty(&summary.workshop.title, t.untitled)) }
            (metadata(t, &summary.workshop))
            @for section in &summary.sections {
                (section_markup(section))
            }
            (actions(t, &summary.actions))
        }
    }
}

//! The interface in Swedish and English. The server picks the language
//! (from `?lang=`, a cookie, or the browser's `Accept-Language`) and writes
//! it on `<body data-lang>`; the client follows it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Sv,
    En,
}

impl Lang {
    pub fn from_tag(tag: &str) -> Self {
        if tag.to_ascii_lowercase().starts_with("sv") {
            Lang::Sv
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// The locale for the browser's date formats: Swedish and British
    /// English conventions (day before month, 24-hour clock), as
    /// `model::when` writes them.
    pub fn locale(self) -> &'static str {
        match self {
            Lang::Sv => "sv-SE",
            Lang::En => "en-GB",
        }
    }

    /// The same language for `model::when`'s time formats (sv-SE, en-GB).
    pub fn when(self) -> model::when::Lang {
        match self {
            Lang::Sv => model::when::Lang::Sv,
            Lang::En => model::when::Lang::En,
        }
    }

    /// The interface text for `key`; the key itself if unknown.
    pub fn t(self, key: &'static str) -> &'static str {
        let (sv, en) = match key {
            "connecting" => ("Ansluter…", "Connecting…"),
            "saved" => ("Sparat", "Saved"),
            "syncing" => ("Synkar…", "Syncing…"),
            "offline-saved" => (
                "Offline — inga ändringar väntar",
                "Offline — no changes waiting",
            ),
            "offline-one" => ("Offline — 1 ändring väntar", "Offline — 1 change waiting"),
            "offline-n" => (
                "Offline — {n} ändringar väntar",
                "Offline — {n} changes waiting",
            ),
            "unavailable" => (
                "Den här workshoppen finns inte eller är inte tillgänglig för dig",
                "This workshop does not exist or is not available to you",
            ),
            "refused" => ("Servern nekade en ändring", "The server refused a change"),
            "comments" => ("Kommentarer", "Comments"),
            "proposals" => ("Förslag", "Proposals"),
            "history" => ("Historik", "History"),
            "share" => ("Dela", "Share"),
            "readers" => ("Läser nu", "Reading now"),
            "you" => ("du", "you"),
            "open" => ("Öppna", "Open"),
            "resolved" => ("Lösta", "Resolved"),
            "orphaned" => ("Utan förankring", "Orphaned"),
            "orphaned-note" => (
                "Texten kommentaren gällde finns inte längre",
                "The text this comment was about is gone",
            ),
            "moved-note" => ("Texten har flyttats", "The text has moved"),
            "no-threads" => ("Inga kommentarer här.", "No comments here."),
            "no-threads-hint" => (
                "Inga kommentarer än. Markera text i sammanfattningen för att kommentera.",
                "No comments yet. Select text in the summary to comment.",
            ),
            "no-actions" => ("Inga åtgärder ännu.", "No actions yet."),
            "detached" => ("Fristående kommentarer", "Detached comments"),
            "read-only-live" => ("Skrivskyddad · uppdateras live", "Read-only · updates live"),
            "section-menu" => ("Fler val för avsnittet", "More for this section"),
            "selection-tools" => ("Markerad text", "Selected text"),
            "selected" => ("Markerat", "Selected"),
            "comment" => ("Kommentera", "Comment"),
            "comment-section" => ("Kommentera avsnittet", "Comment on section"),
            "propose" => ("Föreslå lydelse", "Propose wording"),
            "propose-section" => ("Föreslå ny lydelse", "Propose new wording"),
            "reply" => ("Svara", "Reply"),
            "edit" => ("Redigera", "Edit"),
            "delete" => ("Ta bort", "Delete"),
            "deleted" => ("Kommentaren togs bort", "This comment was deleted"),
            "edited" => ("redigerad", "edited"),
            "resolve" => ("Markera som löst", "Resolve"),
            "reopen" => ("Öppna igen", "Reopen"),
            "react" => ("Gilla", "Like"),
            "send" => ("Skicka", "Send"),
            "save" => ("Spara", "Save"),
            "cancel" => ("Avbryt", "Cancel"),
            "your-comment" => ("Din kommentar", "Your comment"),
            "new-text" => ("Ny text", "New text"),
            "reason" => ("Motivering (valfri)", "Reason (optional)"),
            "edit-section" => ("Redigera avsnittet", "Edit section"),
            "done" => ("Klar", "Done"),
            "when" => ("När", "When"),
            "hosts" => ("Värdar", "Hosts"),
            "stakeholders" => ("Inbjudna intressenter", "Invited stakeholders"),
            "ambassadors" => ("Ambassadörer", "Ambassadors"),
            "meeting-type" => ("Mötestyp", "Meeting type"),
            "meeting-open" => ("Öppen", "Open"),
            "meeting-invite-only" => ("Endast inbjudna", "Invite only"),
            "format" => ("Format", "Format"),
            "language" => ("Språk", "Language"),
            "registration" => ("Anmälan", "Registration"),
            "status-open" => ("Öppen", "Open"),
            "status-in-progress" => ("Pågår", "In progress"),
            "status-done" => ("Klar", "Done"),
            "actions" => ("Åtgärder", "Actions"),
            "add-action" => ("Lägg till åtgärd", "Add action"),
            "action-text" => ("Åtgärd", "Action"),
            "owner" => ("Ansvarig", "Owner"),
            "due" => ("Klart senast", "Due"),
            "status" => ("Status", "Status"),
            "add-paragraph" => ("Föreslå nytt stycke", "Propose paragraph"),
            "paragraph" => ("Nytt stycke", "New paragraph"),
            "accept" => ("Godkänn", "Accept"),
            "edit-accept" => ("Redigera och godkänn", "Edit and accept"),
            "reject" => ("Avslå", "Reject"),
            "reject-reply" => ("Svar till förslagsställaren", "Reply to the contributor"),
            "withdraw" => ("Dra tillbaka", "Withdraw"),
            "accepted" => ("Godkänt", "Accepted"),
            "rejected" => ("Avslaget", "Rejected"),
            "withdrawn" => ("Tillbakadraget", "Withdrawn"),
            "pending" => ("Väntar på granskning", "Awaiting review"),
            "by" => ("av", "by"),
            "no-proposals" => ("Inga förslag ännu.", "No proposals yet."),
            "start-draft" => ("Skriv ett eget utkast", "Start a draft"),
            "draft" => ("Utkast", "Draft"),
            "open-draft" => ("Öppna utkastet", "Open draft"),
            "draft-banner" => (
                "Du redigerar ditt utkast. Ingen annan ser det förrän du skickar in det.",
                "You are editing your draft. Nobody else sees it until you submit it.",
            ),
            "submit-draft" => ("Skicka in utkastet", "Submit draft"),
            "back" => ("Tillbaka till sammanfattningen", "Back to the summary"),
            "preview" => ("Granska ändringarna", "Review changes"),
            "conflict" => (
                "Krockar med värdens ändringar",
                "Conflicts with the hosts' edits",
            ),
            "merge" => ("Slå samman", "Merge"),
            "applied-as" => ("Infört som", "Applied as"),
            "preview-base" => ("När utkastet togs", "When the draft was taken"),
            "preview-current" => ("Nu", "Now"),
            "preview-merged" => ("Efter sammanslagning", "After the merge"),
            "versions" => ("Versioner", "Versions"),
            "view" => ("Visa", "View"),
            "compare" => ("Jämför med nu", "Compare with now"),
            "publish" => ("Publicera version", "Publish version"),
            "version-name" => ("Versionens namn", "Version name"),
            "named" => ("Publicerade versioner", "Published versions"),
            "close" => ("Stäng", "Close"),
            "invite" => ("Skapa inbjudningslänk", "Create invite link"),
            "role" => ("Roll", "Role"),
            "participant" => ("Deltagare", "Participant"),
            "host" => ("Värd", "Host"),
            "invite-link" => ("Inbjudningslänk", "Invite link"),
            "sections-changed" => ("ändrades", "changed"),
            "comments-changed" => ("kommentarer", "comments"),
            "contributions-changed" => ("förslag", "proposals"),
            "meta-changed" => ("uppgifter", "details"),
            "actions-changed" => ("åtgärder", "actions"),
            "unknown" => ("okänd", "unknown"),
            "error" => ("Något gick fel", "Something went wrong"),
            "new-invite" => ("Ny inbjudan", "New invite"),
            "invite-expiry" => ("Giltig", "Valid for"),
            "expires-1d" => ("1 dag", "1 day"),
            "expires-7d" => ("7 dagar", "7 days"),
            "expires-30d" => ("30 dagar", "30 days"),
            "expires-never" => ("Tills vidare", "Until revoked"),
            "invite-uses" => ("Antal användningar", "Number of uses"),
            "unlimited" => ("obegränsat", "unlimited"),
            "invite-uses-invalid" => (
                "Antal användningar ska vara ett heltal större än noll",
                "The number of uses must be a whole number above zero",
            ),
            "copy" => ("Kopiera länken", "Copy link"),
            "copied" => ("Kopierad", "Copied"),
            "copied-note" => (
                "Länken är kopierad: klistra in den i ett meddelande",
                "The link is copied: paste it into a message",
            ),
            "invites" => ("Inbjudningar", "Invites"),
            "no-invites" => ("Inga inbjudningar än", "No invites yet"),
            "loading" => ("Hämtar…", "Loading…"),
            "uses" => ("Använd", "Used"),
            "expires" => ("Går ut", "Expires"),
            "invite-valid" => ("Giltig", "Valid"),
            "invite-expired" => ("Utgången", "Expired"),
            "invite-used-up" => ("Förbrukad", "Used up"),
            "invite-revoked" => ("Återkallad", "Revoked"),
            "revoke" => ("Återkalla", "Revoke"),
            "draft-not-synced" => (
                "Utkastets senaste ändringar har inte nått servern än: skicka in det när du är ansluten",
                "The draft's latest changes have not reached the server yet: submit it once you are connected",
            ),
            "store-failed" => (
                "Webbläsaren kunde inte spara en lokal kopia: ändringar gjorda offline kan gå förlorade om sidan laddas om",
                "The browser could not keep a local copy: changes made offline may be lost if the page reloads",
            ),
            "new-section" => ("Nytt avsnitt", "New section"),
            "add-section" => ("Lägg till avsnitt", "Add section"),
            "heading" => ("Rubrik", "Heading"),
            "move-up" => ("Flytta upp", "Move up"),
            "move-down" => ("Flytta ned", "Move down"),
            "delete-section" => ("Ta bort avsnittet", "Delete section"),
            "confirm-delete" => ("Ja, ta bort", "Yes, delete"),
            "confirm-delete-note" => (
                "Avsnittet och dess text tas bort; kommentarer på det blir lösa.",
                "The section and its text go; comments on it become detached.",
            ),
            "edit-details" => ("Redigera uppgifter", "Edit details"),
            "title" => ("Titel", "Title"),
            "one-per-line" => ("En per rad", "One per line"),
            "title-required" => ("Workshoppen behöver en titel", "The workshop needs a title"),
            "propose-action" => ("Föreslå en åtgärd", "Propose an action"),
            "action-text-required" => ("Skriv vad åtgärden är", "Say what the action is"),
            // History (`web/view/history.rs`).
            "untitled-section" => ("Avsnitt utan rubrik", "Untitled section"),
            "version-published" => ("publicerade en version", "published a version"),
            "version-named" => ("Version ”{name}” ({time})", "Version “{name}” ({time})"),
            "version-by" => (
                "Version av {author} ({time})",
                "Version by {author} ({time})",
            ),
            "version-other" => ("En tidigare version", "An earlier version"),
            "now" => ("nu", "now"),
            // Suggestion mode (`web/view/suggest.rs`).
            "show-suggestions" => ("Visa förslag i texten", "Show suggestions"),
            "suggestion-by" => ("Förslag av {name}", "Suggestion by {name}"),
            // Draft review (`web/view/review.rs`).
            "draft-by" => ("Utkast av", "Draft by"),
            "one-section-changed" => ("1 avsnitt ändrat", "1 section changed"),
            "n-sections-changed" => ("{n} avsnitt ändrade", "{n} sections changed"),
            "review-draft" => ("Granskning av utkastet", "Review of the draft"),
            "conflict-stretch" => (
                "Värdarna har också ändrat här sedan utkastet togs",
                "The hosts also changed this since the draft was taken",
            ),
            "public-sees" => ("Allmänheten ser", "The public sees"),
            "public-live" => ("Texten live", "The live text"),
            "public-published" => (
                "Senast publicerade versionen",
                "The latest published version",
            ),
            "quote-open" => ("”", "“"),
            "quote-close" => ("”", "”"),
            "read-only" => ("skrivskyddad", "read-only"),
            "no-changes" => ("Inga ändringar i texten", "No changes to the text"),
            _ => (key, key),
        };
        match self {
            Lang::Sv => sv,
            Lang::En => en,
        }
    }
}

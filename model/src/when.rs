//! Times as people read them, in Swedish (sv-SE) and British English
//! (en-GB): relative when recent ("3 min ago", "i går 14:05"), absolute for
//! hover text, and ISO 8601 for `<time datetime>`. Pure functions of the
//! time, the reader's clock and the reader's UTC offset (the browser knows
//! it; the server, which does not, passes 0 and says "UTC"), so the
//! browser client and the server pages format alike and tests need no
//! clock.

/// The interface languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Sv,
    En,
}

const MONTHS_SV: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
// Intl's short months for sv-SE and en-GB.
const SHORT_SV: [&str; 12] = [
    "jan.", "feb.", "mars", "apr.", "maj", "juni", "juli", "aug.", "sep.", "okt.", "nov.", "dec.",
];
const SHORT_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A civil date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    /// Days since 1970-01-01.
    day: i64,
    year: i64,
    /// 0-based.
    month: usize,
    date: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

/// `ms` since the epoch, shifted by `offset_min` (local minus UTC).
fn civil(ms: i64, offset_min: i32) -> Civil {
    let secs = ms.div_euclid(1000) + i64::from(offset_min) * 60;
    let day = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let date = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        day,
        year,
        month: usize::try_from(month - 1).unwrap_or(0).min(11),
        date,
        hour: in_day / 3600,
        minute: in_day % 3600 / 60,
        second: in_day % 60,
    }
}

fn clock(c: &Civil) -> String {
    format!("{:02}:{:02}", c.hour, c.minute)
}

/// A day and month, short: "3 Dec", "3 dec.".
fn short_date(c: &Civil, lang: Lang) -> String {
    let months = match lang {
        Lang::Sv => SHORT_SV,
        Lang::En => SHORT_EN,
    };
    format!("{} {}", c.date, months[c.month])
}

/// When `at_ms` was, seen at `now_ms`: "just now", "3 min ago", "today
/// 14:05", "yesterday 14:05", "3 Dec 14:05", "3 Dec 2025" (and the same in
/// Swedish). A time in the future (another clock) reads as "just now".
pub fn relative(lang: Lang, now_ms: i64, at_ms: i64, offset_min: i32) -> String {
    let ago = (now_ms - at_ms).max(0) / 1000;
    if ago < 60 {
        return match lang {
            Lang::Sv => "nyss".into(),
            Lang::En => "just now".into(),
        };
    }
    if ago < 3600 {
        let n = ago / 60;
        return match lang {
            Lang::Sv => format!("för {n} min sedan"),
            Lang::En => format!("{n} min ago"),
        };
    }
    let (now, at) = (civil(now_ms, offset_min), civil(at_ms, offset_min));
    let time = clock(&at);
    match (now.day - at.day, lang) {
        (0, Lang::Sv) => format!("i dag {time}"),
        (0, Lang::En) => format!("today {time}"),
        (1, Lang::Sv) => format!("i går {time}"),
        (1, Lang::En) => format!("yesterday {time}"),
        _ if now.year == at.year => format!("{} {time}", short_date(&at, lang)),
        _ => format!("{} {}", short_date(&at, lang), at.year),
    }
}

/// A full date and time: "3 December 2026, 14:05", "3 december 2026 14:05".
pub fn absolute(lang: Lang, at_ms: i64, offset_min: i32) -> String {
    let c = civil(at_ms, offset_min);
    match lang {
        Lang::Sv => format!("{} {} {} {}", c.date, MONTHS_SV[c.month], c.year, clock(&c)),
        Lang::En => format!(
            "{} {} {}, {}",
            c.date,
            MONTHS_EN[c.month],
            c.year,
            clock(&c)
        ),
    }
}

/// A short date and time for labels: "3 Dec 14:05", "3 dec. 14:05" (the
/// year added when it is not `now_ms`'s).
pub fn short(lang: Lang, now_ms: i64, at_ms: i64, offset_min: i32) -> String {
    let (now, at) = (civil(now_ms, offset_min), civil(at_ms, offset_min));
    if now.year == at.year {
        format!("{} {}", short_date(&at, lang), clock(&at))
    } else {
        format!("{} {} {}", short_date(&at, lang), at.year, clock(&at))
    }
}

/// ISO 8601 in UTC, for `<time datetime>`: "2026-12-03T14:05:38Z".
pub fn iso(at_ms: i64) -> String {
    let c = civil(at_ms, 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year,
        c.month + 1,
        c.date,
        c.hour,
        c.minute,
        c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-03T14:05:38Z.
    const AT: i64 = 1_796_306_738_000;
    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    #[test]
    fn iso_and_absolute_times() {
        assert_eq!(iso(AT), "2026-12-03T14:05:38Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z", "a leap day");
        assert_eq!(absolute(Lang::En, AT, 0), "3 December 2026, 14:05");
        assert_eq!(absolute(Lang::Sv, AT, 0), "3 december 2026 14:05");
        // Stockholm in winter is UTC+1; crossing midnight moves the date.
        assert_eq!(absolute(Lang::Sv, AT, 60), "3 december 2026 15:05");
        assert_eq!(
            absolute(Lang::En, AT + 10 * HOUR, 60),
            "4 December 2026, 01:05"
        );
        assert_eq!(absolute(Lang::En, AT, -15 * 60), "2 December 2026, 23:05");
    }

    #[test]
    fn recent_times_are_relative_and_older_ones_dated() {
        let cases = [
            (AT, "just now", "nyss"),
            (AT + 59_000, "just now", "nyss"),
            (AT + 3 * MIN, "3 min ago", "för 3 min sedan"),
            (AT + 59 * MIN, "59 min ago", "för 59 min sedan"),
            (AT + 2 * HOUR, "today 14:05", "i dag 14:05"),
            (AT + 24 * HOUR, "yesterday 14:05", "i går 14:05"),
            (AT + 48 * HOUR, "3 Dec 14:05", "3 dec. 14:05"),
            (AT + 400 * 24 * HOUR, "3 Dec 2026", "3 dec. 2026"),
        ];
        for (now, en, sv) in cases {
            assert_eq!(relative(Lang::En, now, AT, 0), en, "{now}");
            assert_eq!(relative(Lang::Sv, now, AT, 0), sv, "{now}");
        }
        // Another clock ahead of ours: not "in the future".
        assert_eq!(relative(Lang::En, AT - 5 * MIN, AT, 0), "just now");
        // "Yesterday" is the reader's calendar day, not 24 hours: 23:30
        // local is yesterday at 00:40 local the next day.
        let late = AT + 9 * HOUR + 25 * MIN; // 23:30:38 UTC
        assert_eq!(
            relative(Lang::Sv, late + 70 * MIN, late, 0),
            "i går 23:30",
            "after midnight"
        );
        assert_eq!(
            relative(Lang::Sv, late + 70 * MIN, late, -60),
            "i dag 22:30"
        );
    }

    #[test]
    fn short_labels_add_the_year_only_when_it_differs() {
        assert_eq!(short(Lang::En, AT, AT, 0), "3 Dec 14:05");
        assert_eq!(short(Lang::Sv, AT, AT, 0), "3 dec. 14:05");
        assert_eq!(
            short(Lang::En, AT + 400 * 24 * HOUR, AT, 0),
            "3 Dec 2026 14:05"
        );
    }
}

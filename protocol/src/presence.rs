//! Presence: who is reading a summary now and where their selection is,
//! sent as ephemeral messages (CBOR maps, as automerge-repo peers send).

use ciborium::Value;

/// One peer's presence, as it announces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    /// The display name (the server vouches only for document changes; a
    /// presence name is what the peer says).
    pub name: String,
    /// A CSS colour for the peer's marks, e.g. "#b3261e".
    pub color: String,
    /// The section the selection is in, if any.
    pub section: Option<String>,
    /// The selection (UTF-16, start ≤ end) in that section's body.
    pub start: u32,
    pub end: u32,
}

/// Longest name and colour kept from another peer.
const MAX_FIELD: usize = 80;

impl Presence {
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = vec![
            (Value::Text("name".into()), Value::Text(self.name.clone())),
            (Value::Text("color".into()), Value::Text(self.color.clone())),
            (
                Value::Text("start".into()),
                Value::Integer(self.start.into()),
            ),
            (Value::Text("end".into()), Value::Integer(self.end.into())),
        ];
        if let Some(section) = &self.section {
            fields.push((Value::Text("section".into()), Value::Text(section.clone())));
        }
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = ciborium::into_writer(&Value::Map(fields), &mut out);
        out
    }

    /// Reads another peer's presence; `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let Value::Map(fields) = ciborium::from_reader::<Value, _>(bytes).ok()? else {
            return None;
        };
        let mut p = Presence::default();
        for (k, v) in fields {
            let Value::Text(k) = k else { continue };
            match (k.as_str(), v) {
                ("name", Value::Text(s)) => p.name = s.chars().take(MAX_FIELD).collect(),
                ("color", Value::Text(s)) if is_color(&s) => p.color = s,
                ("section", Value::Text(s)) => {
                    p.section = Some(s.chars().take(MAX_FIELD).collect())
                }
                ("start", Value::Integer(n)) => p.start = u32::try_from(n).unwrap_or(0),
                ("end", Value::Integer(n)) => p.end = u32::try_from(n).unwrap_or(0),
                _ => {}
            }
        }
        if p.end < p.start {
            p.end = p.start;
        }
        Some(p)
    }
}

/// Only `#rrggbb`: a colour from another peer ends up in a style.
fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A colour for a peer, stable for its id: readable on white (WCAG AA for
/// large marks).
pub fn color_for(id: &str) -> &'static str {
    const COLORS: [&str; 8] = [
        "#b3261e", "#1b6e3a", "#0b57d0", "#8e24aa", "#a15c00", "#00696f", "#c2185b", "#4e5b00",
    ];
    let hash = id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    COLORS[hash as usize % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_round_trips_and_rejects_styles() {
        let p = Presence {
            name: "Åsa Öberg 😀".into(),
            color: "#0b57d0".into(),
            section: Some("issue".into()),
            start: 3,
            end: 9,
        };
        assert_eq!(Presence::decode(&p.encode()), Some(p));
        let hostile = Presence {
            color: "red; background: url(x)".into(),
            start: 9,
            end: 3,
            ..Presence::default()
        };
        let back = Presence::decode(&hostile.encode()).expect("decodes");
        assert_eq!(back.color, "");
        assert_eq!((back.start, back.end), (9, 9));
        assert_eq!(Presence::decode(b"\xff"), None);
    }
}

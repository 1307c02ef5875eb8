//! Pure helpers for showing and editing text in a client: splitting a
//! section body into paragraphs of marked runs, and turning an edited
//! text field back into one splice.

/// A run of text inside one paragraph and the marks covering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub text: String,
    /// UTF-16 offset of the run in the whole body.
    pub start: usize,
    /// Indices (into the caller's range list) of the ranges covering it.
    pub marks: Vec<usize>,
}

/// Splits `body` into paragraphs (on "\n") of runs, cut wherever one of
/// `ranges` (UTF-16, half-open) starts or ends, each run listing the ranges
/// that cover it. Ranges may overlap and cross paragraphs.
pub fn paragraphs(body: &str, ranges: &[(usize, usize)]) -> Vec<Vec<Run>> {
    let units: Vec<u16> = body.encode_utf16().collect();
    let mut cuts: Vec<usize> = ranges
        .iter()
        .flat_map(|&(s, e)| [s.min(units.len()), e.min(units.len())])
        .collect();
    let mut out: Vec<Vec<Run>> = vec![Vec::new()];
    let mut at = 0;
    for (i, &u) in units.iter().enumerate() {
        if u == u16::from(b'\n') {
            cuts.push(i);
            cuts.push(i + 1);
        }
    }
    cuts.push(units.len());
    crate::sort::by(&mut cuts, usize::cmp);
    cuts.dedup();
    for cut in cuts {
        if cut <= at {
            continue;
        }
        let piece = &units[at..cut];
        if piece == [u16::from(b'\n')] {
            out.push(Vec::new());
        } else {
            let marks = ranges
                .iter()
                .enumerate()
                .filter(|(_, (s, e))| *s <= at && cut <= *e && s < e)
                .map(|(i, _)| i)
                .collect();
            if let Some(paragraph) = out.last_mut() {
                paragraph.push(Run {
                    text: String::from_utf16_lossy(piece),
                    start: at,
                    marks,
                });
            }
        }
        at = cut;
    }
    out
}

/// The single splice (UTF-16 position, units deleted, text inserted) that
/// turns `old` into `new`: what changed between the common prefix and
/// suffix. `None` if they are equal.
pub fn splice(old: &str, new: &str) -> Option<(usize, usize, String)> {
    let a: Vec<u16> = old.encode_utf16().collect();
    let b: Vec<u16> = new.encode_utf16().collect();
    if a == b {
        return None;
    }
    let mut prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Never split a surrogate pair.
    if prefix > 0 && (0xDC00..0xE000).contains(a.get(prefix).unwrap_or(&0)) {
        prefix -= 1;
    }
    let max_suffix = a.len().min(b.len()) - prefix;
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    // Nor here: a suffix starting with a low surrogate splits its pair.
    if suffix > 0 && (0xDC00..0xE000).contains(&a[a.len() - suffix]) {
        suffix -= 1;
    }
    Some((
        prefix,
        a.len() - prefix - suffix,
        String::from_utf16_lossy(&b[prefix..b.len() - suffix]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_at_marks_and_paragraphs() {
        let body = "Hej 😀 där\nAndra";
        // "😀 d" is units 4..8; a range crossing into the next paragraph.
        let p = paragraphs(body, &[(4, 8), (7, 13)]);
        assert_eq!(p.len(), 2);
        let texts: Vec<(&str, Vec<usize>)> = p[0]
            .iter()
            .map(|r| (r.text.as_str(), r.marks.clone()))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("Hej ", vec![]),
                ("😀 ", vec![0]),
                ("d", vec![0, 1]),
                ("är", vec![1])
            ]
        );
        assert_eq!(p[1][0].text, "An");
        assert_eq!(p[1][0].marks, vec![1]);
        assert_eq!(p[1][0].start, 11);
        assert_eq!(paragraphs("", &[]), vec![Vec::<Run>::new()]);
        assert_eq!(paragraphs("a\n\nb", &[]).len(), 3);
    }

    #[test]
    fn splices_from_edits() {
        assert_eq!(splice("abc", "abc"), None);
        assert_eq!(splice("abc", "aXc"), Some((1, 1, "X".into())));
        assert_eq!(splice("abc", "abcd"), Some((3, 0, "d".into())));
        assert_eq!(splice("abc", "Om: abc"), Some((0, 0, "Om: ".into())));
        assert_eq!(splice("abc", ""), Some((0, 3, String::new())));
        assert_eq!(splice("", "abc"), Some((0, 0, "abc".into())));
        assert_eq!(splice("x😀", "😀"), Some((0, 1, String::new())));
        assert_eq!(splice("aaa", "aa"), Some((2, 1, String::new())));
        // Emoji are two units; a change next to one keeps it whole.
        assert_eq!(splice("😀😀", "😀😃"), Some((2, 2, "😃".into())));
        assert_eq!(splice("😀x", "😃x"), Some((0, 2, "😃".into())));
    }
}

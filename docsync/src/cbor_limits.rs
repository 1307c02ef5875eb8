//! A structural check of one CBOR frame before it is decoded.
//!
//! It walks the item headers only (iteratively, so hostile nesting cannot
//! exhaust the stack) and rejects, before anything is allocated:
//!
//! - nesting deeper than the limit (arrays, maps and tags count a level);
//! - a declared length the frame cannot hold: a byte or text string longer
//!   than the bytes that follow it, an array or map announcing more items
//!   than there are bytes left (every item takes at least one);
//! - indefinite-length items (cbor-x and our encoder never send them, and
//!   they would hide their size until the end);
//! - reserved or truncated headers.
//!
//! Whatever passes is at most as large, once decoded, as a small multiple
//! of the frame, which the WebSocket layer already bounds.

/// Why a frame was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborLimit {
    #[error("CBOR nested deeper than {0} levels")]
    TooDeep(usize),
    #[error(
        "a CBOR item declares a length of {declared} but only {available} bytes of the message follow"
    )]
    LengthBeyondMessage { declared: u64, available: usize },
    #[error("indefinite-length CBOR items are not accepted")]
    Indefinite,
    #[error("truncated CBOR")]
    Truncated,
    #[error("reserved CBOR header byte 0x{0:02x}")]
    Reserved(u8),
}

/// Checks the first CBOR item of `bytes` (anything after it is left to the
/// decoder, as before).
pub fn check(bytes: &[u8], max_depth: usize) -> Result<(), CborLimit> {
    // Items still to read in each open array, map (two per entry) or tag.
    let mut open: Vec<u64> = Vec::new();
    let mut pos = 0usize;
    loop {
        let initial = *bytes.get(pos).ok_or(CborLimit::Truncated)?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let argument = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let size = 1usize << (info - 24);
                let field = bytes.get(pos..pos + size).ok_or(CborLimit::Truncated)?;
                pos += size;
                field.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
            }
            31 if (2..=5).contains(&major) || initial == 0xff => {
                return Err(CborLimit::Indefinite);
            }
            _ => return Err(CborLimit::Reserved(initial)),
        };
        let available = bytes.len() - pos;
        let beyond = |declared: u64| CborLimit::LengthBeyondMessage {
            declared,
            available,
        };
        // How many items this one contains (0: it is complete now).
        let children = match major {
            // Strings: skip their content.
            2 | 3 => {
                let len = usize::try_from(argument)
                    .ok()
                    .filter(|len| *len <= available)
                    .ok_or_else(|| beyond(argument))?;
                pos += len;
                0
            }
            4 => {
                if argument > available as u64 {
                    return Err(beyond(argument));
                }
                argument
            }
            5 => {
                let items = argument.saturating_mul(2);
                if items > available as u64 {
                    return Err(beyond(argument));
                }
                items
            }
            6 => 1,
            // Integers, simple values and floats (the argument was their
            // whole content).
            _ => 0,
        };
        if children > 0 {
            if open.len() >= max_depth {
                return Err(CborLimit::TooDeep(max_depth));
            }
            open.push(children);
            continue;
        }
        // An item is complete: so is every container it was the last of.
        loop {
            let Some(left) = open.last_mut() else {
                return Ok(());
            };
            *left -= 1;
            if *left > 0 {
                break;
            }
            open.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciborium::value::Value;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).expect("encode");
        out
    }

    #[test]
    fn ordinary_values_pass() {
        let value = Value::Map(vec![
            (Value::Text("type".into()), Value::Text("sync".into())),
            (Value::Text("data".into()), Value::Bytes(vec![1; 300])),
            (
                Value::Text("list".into()),
                Value::Array(vec![
                    Value::Integer(70_000.into()),
                    Value::Float(1.5),
                    Value::Null,
                    Value::Bool(true),
                    Value::Tag(64, Box::new(Value::Bytes(vec![2; 3]))),
                    Value::Array(vec![]),
                    Value::Map(vec![]),
                ]),
            ),
        ]);
        assert_eq!(check(&encode(&value), 16), Ok(()));
    }

    #[test]
    fn depth_is_bounded_at_the_limit() {
        let nested = |levels: usize| {
            let mut v = Value::Integer(0.into());
            for _ in 0..levels {
                v = Value::Array(vec![v]);
            }
            encode(&v)
        };
        assert_eq!(check(&nested(16), 16), Ok(()));
        assert_eq!(check(&nested(17), 16), Err(CborLimit::TooDeep(16)));
        // A million levels: no recursion, no stack to exhaust.
        let mut deep = vec![0x81; 1_000_000];
        deep.push(0);
        assert_eq!(check(&deep, 16), Err(CborLimit::TooDeep(16)));
    }

    #[test]
    fn declared_lengths_must_fit_the_frame() {
        // A 4 GiB byte string, a 4 GiB text, 2^64-1 array items, 2^63 map
        // entries: each announced in a few bytes.
        for frame in [
            &[0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3][..],
            &[0x7a, 0xff, 0xff, 0xff, 0xff, b'a'],
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0],
            &[0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ] {
            assert!(
                matches!(check(frame, 16), Err(CborLimit::LengthBeyondMessage { .. })),
                "{frame:02x?}"
            );
        }
    }

    #[test]
    fn indefinite_lengths_and_reserved_headers_are_refused() {
        for frame in [
            &[0x5f, 0x41, 0, 0xff][..],
            &[0x7f, 0x61, b'a', 0xff],
            &[0x9f, 0, 0xff],
            &[0xbf, 0x61, b'a', 0, 0xff],
            &[0xff],
        ] {
            assert_eq!(check(frame, 16), Err(CborLimit::Indefinite), "{frame:02x?}");
        }
        assert_eq!(check(&[0x1c], 16), Err(CborLimit::Reserved(0x1c)));
        assert_eq!(check(&[0x1f], 16), Err(CborLimit::Reserved(0x1f)));
    }

    #[test]
    fn truncation_is_an_error() {
        assert_eq!(check(&[], 16), Err(CborLimit::Truncated));
        assert_eq!(check(&[0x19, 1], 16), Err(CborLimit::Truncated));
        assert_eq!(check(&[0x82, 0x19, 1], 16), Err(CborLimit::Truncated));
        assert_eq!(check(&[0x82, 0, 0], 16), Ok(()));
        assert_eq!(check(&[0x82, 0x82, 0, 0], 16), Err(CborLimit::Truncated));
    }
}

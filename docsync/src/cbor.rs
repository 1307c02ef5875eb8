//! CBOR to and from `ciborium::Value`, without serde.
//!
//! The same bytes and values as `ciborium::into_writer` and
//! `ciborium::from_reader` (property tests compare them), for the items
//! automerge-repo frames and presence payloads use. Why not ciborium's own:
//! its serde (de)serializer, its error messages and the float formatting
//! they pull in took some 30 KB of the web client's wasm; this is a few.
//!
//! Differences, all for input neither side of us sends:
//! - a float is written in 8 bytes (ciborium picks the shortest exact
//!   form); nothing we encode holds floats, and any reader reads them;
//! - indefinite-length items are refused when read (ciborium joins their
//!   segments); frames are checked by [`crate::cbor_limits`] first, which
//!   refuses them too.

use ciborium::value::{Integer, Value};

/// Why bytes are not one CBOR item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    #[error("truncated CBOR")]
    Truncated,
    #[error("CBOR nested too deeply")]
    TooDeep,
    #[error("invalid CBOR at byte {0}")]
    Invalid(usize),
}

/// Appends `value` as CBOR.
pub fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Integer(n) => {
            let n = i128::from(*n);
            if n < 0 {
                head(out, 1, (-1 - n) as u64);
            } else {
                head(out, 0, n as u64);
            }
        }
        Value::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(s) => {
            head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                write(item, out);
            }
        }
        Value::Map(entries) => {
            head(out, 5, entries.len() as u64);
            for (k, v) in entries {
                write(k, out);
                write(v, out);
            }
        }
        Value::Tag(tag, inner) => {
            head(out, 6, *tag);
            write(inner, out);
        }
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Null => out.push(0xf6),
        Value::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        // `Value` is non-exhaustive; nothing else exists in ciborium 0.2.
        _ => out.push(0xf7),
    }
}

/// A header with its argument in the fewest bytes.
fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let major = major << 5;
    match arg {
        0..=23 => out.push(major | arg as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// Reads the first CBOR item of `bytes` (anything after it is ignored),
/// with arrays, maps and tags nested at most `max_depth` deep. Never
/// panics and allocates no more than the input holds.
pub fn read(bytes: &[u8], max_depth: usize) -> Result<Value, CborError> {
    Reader { bytes, pos: 0 }.item(max_depth)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], CborError> {
        let end = self.pos.checked_add(len).ok_or(CborError::Truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// The next header: its major type, additional information and
    /// argument (for info 24–27, the following bytes).
    fn head(&mut self) -> Result<(u8, u8, u64), CborError> {
        let initial = self.take(1)?[0];
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => self
                .take(1 << (info - 24))?
                .iter()
                .fold(0, |n, b| (n << 8) | u64::from(*b)),
            _ => return Err(CborError::Invalid(self.pos - 1)),
        };
        Ok((initial >> 5, info, arg))
    }

    fn len(&self, arg: u64) -> Result<usize, CborError> {
        usize::try_from(arg)
            .ok()
            .filter(|len| *len <= self.bytes.len() - self.pos)
            .ok_or(CborError::Truncated)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        let at = self.pos;
        let (major, info, arg) = self.head()?;
        Ok(match major {
            0 => Value::Integer(arg.into()),
            1 => Value::Integer(negative(arg)),
            2 => {
                let len = self.len(arg)?;
                Value::Bytes(self.take(len)?.to_vec())
            }
            3 => {
                let len = self.len(arg)?;
                let text =
                    std::str::from_utf8(self.take(len)?).map_err(|_| CborError::Invalid(at))?;
                Value::Text(text.to_owned())
            }
            4 | 5 => {
                let depth = depth.checked_sub(1).ok_or(CborError::TooDeep)?;
                // Every item takes a byte at least: no more room than that.
                let count = self.len(arg)?;
                if major == 4 {
                    let mut items = Vec::with_capacity(count.min(64));
                    for _ in 0..count {
                        items.push(self.item(depth)?);
                    }
                    Value::Array(items)
                } else {
                    let mut entries = Vec::with_capacity(count.min(64));
                    for _ in 0..count {
                        let key = self.item(depth)?;
                        entries.push((key, self.item(depth)?));
                    }
                    Value::Map(entries)
                }
            }
            6 => {
                if let Some(n) = self.bignum(arg)? {
                    return Ok(n);
                }
                let depth = depth.checked_sub(1).ok_or(CborError::TooDeep)?;
                Value::Tag(arg, Box::new(self.item(depth)?))
            }
            // Simple values (also in their two-byte form) and floats.
            _ => match (info, arg) {
                (0..=24, 20) => Value::Bool(false),
                (0..=24, 21) => Value::Bool(true),
                // Null and undefined.
                (0..=24, 22 | 23) => Value::Null,
                (25, bits) => Value::Float(f16(bits as u16)),
                (26, bits) => Value::Float(f64::from(f32::from_bits(bits as u32))),
                (27, bits) => Value::Float(f64::from_bits(bits)),
                _ => return Err(CborError::Invalid(at)),
            },
        })
    }

    /// A bignum (tag 2 or 3 on at most 16 bytes) read as ciborium reads
    /// it: an integer when it fits one, else the tag on its bytes without
    /// leading zeros. `None`: not a bignum (nothing consumed).
    fn bignum(&mut self, tag: u64) -> Result<Option<Value>, CborError> {
        let start = self.pos;
        if !matches!(tag, 2 | 3) {
            return Ok(None);
        }
        let (major, _, arg) = self.head()?;
        if major != 2 || arg > 16 {
            self.pos = start;
            return Ok(None);
        }
        let len = self.len(arg)?;
        let raw = self
            .take(len)?
            .iter()
            .fold(0u128, |n, b| (n << 8) | u128::from(*b));
        let value = if tag == 2 {
            u64::try_from(raw).map(Integer::from).ok()
        } else {
            let n = i128::try_from(raw).map_err(|_| CborError::Invalid(start))? ^ !0;
            Integer::try_from(n).ok()
        };
        Ok(Some(match value {
            Some(n) => Value::Integer(n),
            None => {
                let bytes = raw.to_be_bytes();
                let zeros = bytes.iter().take_while(|b| **b == 0).count();
                Value::Tag(tag, Box::new(Value::Bytes(bytes[zeros..].to_vec())))
            }
        }))
    }
}

/// The integer `-1 - arg`.
fn negative(arg: u64) -> Integer {
    Integer::try_from(-1 - i128::from(arg)).unwrap_or_else(|_| Integer::from(0u8))
}

/// A half-precision float's value.
fn f16(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let mant = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ciborium_bytes(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).expect("encode");
        out
    }

    fn ciborium_value(bytes: &[u8], depth: usize) -> Option<Value> {
        ciborium::de::from_reader_with_recursion_limit(bytes, depth).ok()
    }

    /// Values as frames and presence hold them (no floats: see the module
    /// doc), with big integers, tags and nesting.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<u64>().prop_map(|n| Value::Integer(n.into())),
            any::<i64>().prop_map(|n| Value::Integer(n.into())),
            any::<u64>().prop_map(|n| Value::Integer(negative(n))),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,30}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..6)
                    .prop_map(Value::Map),
                (0u64..100_000, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn writes_what_ciborium_writes_and_reads_it_back(v in value()) {
            let mut ours = Vec::new();
            write(&v, &mut ours);
            let theirs = ciborium_bytes(&v);
            prop_assert_eq!(&ours, &theirs);
            prop_assert_eq!(read(&ours, 16).ok(), ciborium_value(&ours, 16));
        }

        /// Whatever the bytes, the same value as ciborium or (both) none.
        #[test]
        fn reads_any_bytes_as_ciborium_does(
            v in value(),
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let mut bytes = ciborium_bytes(&v);
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            // As the codec reads a frame: checked first (indefinite items
            // and hostile lengths refused), then decoded.
            if crate::cbor_limits::check(&bytes, 16).is_ok() {
                prop_assert_eq!(read(&bytes, 16).ok(), ciborium_value(&bytes, 16));
            }
        }

        #[test]
        fn reads_random_bytes_as_ciborium_does(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            if crate::cbor_limits::check(&bytes, 16).is_ok() {
                let ours = read(&bytes, 16).ok();
                let theirs = ciborium_value(&bytes, 16);
                // NaN is not equal to itself: compare its bits' meaning.
                if let (Some(Value::Float(a)), Some(Value::Float(b))) = (&ours, &theirs) {
                    prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                } else {
                    prop_assert_eq!(ours, theirs);
                }
            }
        }
    }

    #[test]
    fn floats_read_in_every_width() {
        for bytes in [
            &[0xf9, 0x3c, 0x00][..],
            &[0xf9, 0x00, 0x01],
            &[0xf9, 0xfc, 0x00],
            &[0xf9, 0x7b, 0xff],
            &[0xfa, 0x47, 0xc3, 0x50, 0x00],
            &[0xfb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18],
        ] {
            assert_eq!(
                read(bytes, 16).ok(),
                ciborium_value(bytes, 16),
                "{bytes:02x?}"
            );
        }
        let mut out = Vec::new();
        write(&Value::Float(1.5), &mut out);
        assert_eq!(ciborium_value(&out, 16), Some(Value::Float(1.5)));
    }

    #[test]
    fn bignums_read_as_ciborium_reads_them() {
        for bytes in [
            &[0xc2, 0x42, 0x01, 0x00][..],
            &[0xc3, 0x41, 0x05],
            &[0xc2, 0x49, 0, 1, 2, 3, 4, 5, 6, 7, 8],
            &[0xc3, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0xc3, 0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[
                0xc3, 0x50, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            &[
                0xc2, 0x51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            ],
            &[0xc2, 0x61, 0x61],
        ] {
            assert_eq!(
                read(bytes, 16).ok(),
                ciborium_value(bytes, 16),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn depth_is_limited() {
        let mut bytes = vec![0x81; 20];
        bytes.push(0x00);
        assert_eq!(read(&bytes, 16), Err(CborError::TooDeep));
        assert!(read(&bytes, 20).is_ok());
        assert_eq!(read(&bytes, 20).ok(), ciborium_value(&bytes, 20));
    }
}

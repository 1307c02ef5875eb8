//! How one fuzz input holds a role and a sequence of WebSocket frames:
//! the first byte picks the role, the rest is frames joined by
//! [`SEPARATOR`]. Mutations that cut, join or reorder frames stay valid
//! inputs.

use crate::server::Role;

/// Between two frames. Long and unlikely inside CBOR, so that the frames
/// of real sessions split back exactly.
pub const SEPARATOR: &[u8] = b"\xff\xfe-frame-\xfe\xff";

/// The role (by the first byte) and the frames of an input.
pub fn split(data: &[u8]) -> (Role, Vec<&[u8]>) {
    let Some((&first, mut rest)) = data.split_first() else {
        return (Role::Participant, Vec::new());
    };
    let mut frames = Vec::new();
    while let Some(at) = find(rest, SEPARATOR) {
        frames.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    frames.push(rest);
    (Role::from_byte(first), frames)
}

/// The input that [`split`]s into `role` and `frames`.
pub fn join(role: Role, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![role.to_byte()];
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SEPARATOR);
        }
        out.extend_from_slice(frame);
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_back() {
        let frames = vec![b"a".to_vec(), Vec::new(), b"\xff\xfe-frame".to_vec()];
        for role in Role::ALL {
            let input = join(role, &frames);
            let (r, split_frames) = split(&input);
            assert_eq!(r, role);
            assert_eq!(split_frames, frames);
        }
        assert_eq!(split(&[]).1, Vec::<&[u8]>::new());
    }
}

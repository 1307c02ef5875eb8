//! `docsync::codec::decode` on arbitrary bytes: never panics, and whatever
//! decodes re-encodes to the same message (see `fuzz_targets::wire_decode`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::wire_decode(data));

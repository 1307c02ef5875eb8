//! The server's handling of a sequence of incoming frames, for a peer in
//! each role on a realistic summary document (see `fuzz_targets::incoming`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::incoming(data));

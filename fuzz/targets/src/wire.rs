//! The `wire_decode` target.

/// `docsync::decode` never panics, and a message it decodes encodes to
/// bytes that decode to the same message.
pub fn wire_decode(data: &[u8]) {
    let Ok(message) = docsync::decode(data) else {
        return;
    };
    let encoded = docsync::encode(&message);
    match docsync::decode(&encoded) {
        Ok(again) => assert_eq!(again, message, "re-encoding changed the message"),
        Err(e) => panic!("a decoded message re-encodes to bytes that do not decode: {e}"),
    }
}

//! The `wire_decode` target.

/// `protocol::decode` never panics, and a message it decodes encodes to
/// bytes that decode to the same message.
pub fn wire_decode(data: &[u8]) {
    let Ok(message) = protocol::decode(data) else {
        return;
    };
    let encoded = protocol::encode(&message);
    match protocol::decode(&encoded) {
        Ok(again) => assert_eq!(again, message, "re-encoding changed the message"),
        Err(e) => panic!("a decoded message re-encodes to bytes that do not decode: {e}"),
    }
}

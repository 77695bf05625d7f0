//! The token parser and the decoder on arbitrary input: never a panic, and the
//! strict JSON reader agrees with itself.
#![no_main]

use jwtshield_core::json::{self, JsonObject};
use jwtshield_core::token::{self, Limits, Token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let token = Token::parse(text, &Limits::default());
        if let Some(p) = token.parts() {
            // every decoded part serializes back to JSON
            let header = serde_json::to_string(&p.header).expect("header serializes");
            assert_eq!(json::parse_value(header.as_bytes(), 64).ok(), Some(serde_json::Value::Object(p.header.to_map())));
            let _ = p.signature_into(&mut [0u8; token::MAX_SIGNATURE_BYTES]);
        }
        let _ = token.kid();
        assert_eq!(token.fingerprint().len(), 12);
        let inspection = jwtshield_core::inspect(&token, 1_700_000_000);
        assert!(!inspection.verified);
    }
    // the lazy object reader accepts exactly what the value reader accepts
    let lazy = JsonObject::parse(data.to_vec(), json::DEFAULT_MAX_DEPTH);
    let strict = json::parse_object(data, json::DEFAULT_MAX_DEPTH);
    assert_eq!(lazy.is_ok(), strict.is_ok(), "readers disagree on {:?}", String::from_utf8_lossy(data));
    if let (Ok(l), Ok(s)) = (lazy, strict) {
        assert_eq!(l.to_map(), s);
    }
});

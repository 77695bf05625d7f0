//! The token parser and the decoder on arbitrary input: never a panic, and the
//! strict JSON reader agrees with itself.
#![no_main]

use jwtshield_core::json::{self, JsonObject};
use jwtshield_core::token::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let out = token::parse(text, &Limits::default());
        if let Some(p) = &out.parsed {
            // every decoded part serializes back to JSON
            let _ = serde_json::to_string(&p.header).expect("header serializes");
            let _ = p.signature_into(&mut [0u8; token::MAX_SIGNATURE_BYTES]);
        }
        let inspection = jwtshield_core::inspect(text, 1_700_000_000);
        assert!(!inspection.verified);
        let _ = token::peek_header(text, &Limits::default());
    }
    // the lazy object reader accepts exactly what the value reader accepts
    let lazy = JsonObject::parse(data.to_vec(), json::DEFAULT_MAX_DEPTH);
    let strict = json::parse_object(data, json::DEFAULT_MAX_DEPTH);
    assert_eq!(lazy.is_ok(), strict.is_ok(), "readers disagree on {:?}", String::from_utf8_lossy(data));
    if let (Ok(l), Ok(s)) = (lazy, strict) {
        assert_eq!(l.to_map(), s);
    }
});

//! Key-set loading on arbitrary JSON: never a panic; a loaded key either verifies or
//! refuses, it never panics on a signature.
#![no_main]

use jwtshield_core::{Alg, KeyOrigin, KeySet, json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = json::parse_value(data, json::DEFAULT_MAX_DEPTH) else {
        return;
    };
    for (origin, symmetric) in [(KeyOrigin::RemoteJwks, false), (KeyOrigin::InlineJwks, true)] {
        if let Ok(set) = KeySet::from_jwks(&value, origin, symmetric) {
            for key in set.keys() {
                for alg in Alg::ALL {
                    let _ = key.verify(alg, b"message", &[0u8; 64]);
                }
            }
            let _ = set.summaries();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = KeySet::from_pem(text);
    }
});

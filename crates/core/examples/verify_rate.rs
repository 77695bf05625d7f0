//! The crypto crate's bare verify rate, the other reference of `scripts/bench-limit`:
//! RSA-2048 PKCS#1 v1.5 SHA-256 verifies of one ~600-byte signing input with aws-lc-rs,
//! the key parsed once, on the current thread for SECONDS (default 5).
//! Usage: `verify_rate [SECONDS]`; prints `verifies_per_second N`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// a benchmark reads the clock; the library itself never does
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey};
use jwtshield_core::b64;
use jwtshield_testkit::Signer;
use serde_json::json;

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let signer = Signer::rsa("k");
    let token = signer.token(
        json!({"typ": "JWT"}),
        json!({"iss": "https://acme.auth0.com/", "sub": "auth0|64f1c3a8e2b7d90012ab34cd",
               "aud": ["https://api.acme.com/", "https://acme.auth0.com/userinfo"],
               "iat": 1_700_000_000, "exp": 1_700_086_400,
               "scope": "openid profile email read:messages", "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K",
               "permissions": ["read:messages"]}),
    );
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = b64::decode(sig).unwrap();
    let key =
        ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, signer.public_key()).unwrap();
    assert!(key.verify_sig(input.as_bytes(), &sig).is_ok());
    let deadline = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < deadline {
        for _ in 0..256 {
            black_box(
                key.verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .is_ok(),
            );
        }
        n += 256;
    }
    println!(
        "verifies_per_second {:.0}",
        n as f64 / start.elapsed().as_secs_f64()
    );
}

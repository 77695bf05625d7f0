//! The whole validate path. The input is a raw token, and also a header and payload
//! (split at the first NUL) that are HMAC-signed here, so fuzzed claims get past the
//! signature and every claim check runs on them.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use jwtshield_core::{CompiledPolicy, Limits, Policy, Severity, Token, b64, validate};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const SECRET: &str = "fuzzing-secret-that-is-long-enough-for-hs512-0123456789abcdef0123";

fn policy() -> &'static CompiledPolicy {
    static P: OnceLock<CompiledPolicy> = OnceLock::new();
    P.get_or_init(|| {
        Policy::from_json(&json!({
            "issuer": ["https://acme.auth0.com/", "accounts.google.com"],
            "audiences": ["https://api.acme.com/"],
            "allowed_algs": ["HS256", "HS384"],
            "required_claims": ["sub", "scope", "org.id"],
            "required_custom_claims": {"https://acme.com/tenant": "acme", "tier": {"one_of": [1, "gold"]}, "sid": {"present": true}, "sub": {"prefix": "auth0|"}},
            "required_scopes": ["read:a"],
            "max_ttl_seconds": 3600,
            "token_type": "at+jwt",
            "secret": SECRET
        }))
        .and_then(Policy::compile)
        .expect("fuzz policy compiles")
    })
}

fuzz_target!(|data: &[u8]| {
    let p = policy();
    let keys = p.inline_keys().expect("inline keys");
    let check = |token: &str| {
        let r = validate(&Token::parse(token, &Limits::default()), keys, p, 1_700_000_000);
        assert_eq!(r.valid(), !r.findings().iter().any(|f| f.severity == Severity::Error));
        let json = serde_json::to_value(&r).expect("report serializes");
        assert!(json["checks"]["signature"].is_string());
        assert_eq!(r.valid(), r.verified().is_some());
    };
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    let (header, payload) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}"[..], data),
    };
    let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes()), input.as_bytes());
    check(&format!("{input}.{}", b64::encode(tag.as_ref())));
});

//! `validate` against the bare signature verify of the same crypto crate, with the key
//! already in hand and a fixed clock. Run: `cargo bench -p jwtshield-core --bench validate`.
//! The target: validate costs at most 10% more than the bare verify; `validate_minus_bare`
//! measures that overhead directly (the two run back to back in each iteration).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// a benchmark reads the clock; the library itself never does
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use jwtshield_core::{KeyOrigin, KeySet, Limits, Policy, Report, Token, b64};
use jwtshield_testkit::Signer;
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;

/// What the service does per token: parse once under the limits, then validate.
fn validate(
    token: &str,
    keys: &KeySet,
    policy: &jwtshield_core::CompiledPolicy,
    now: i64,
) -> Report {
    jwtshield_core::validate(&Token::parse(token, &Limits::default()), keys, policy, now)
}

/// A realistic Auth0 access token payload (~480 bytes once encoded).
fn claims() -> Value {
    json!({
        "iss": "https://acme.auth0.com/",
        "sub": "auth0|64f1c3a8e2b7d90012ab34cd",
        "aud": ["https://api.acme.com/", "https://acme.auth0.com/userinfo"],
        "iat": NOW - 60,
        "exp": NOW + 86_340,
        "scope": "openid profile email read:messages",
        "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K",
        "permissions": ["read:messages"]
    })
}

struct Case {
    name: &'static str,
    token: String,
    jwk: Value,
    alg: &'static str,
    bare: ParsedPublicKey,
}

fn cases() -> Vec<Case> {
    let case =
        |name, signer: Signer, bare_alg: &'static dyn signature::VerificationAlgorithm| Case {
            name,
            token: signer.token(json!({"typ": "JWT"}), claims()),
            jwk: signer.jwk(),
            alg: signer.alg(),
            bare: ParsedPublicKey::new(bare_alg, signer.public_key()).unwrap(),
        };
    vec![
        case(
            "RS256",
            Signer::rsa("k"),
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        case(
            "ES256",
            Signer::ec("P-256", "k"),
            &signature::ECDSA_P256_SHA256_FIXED,
        ),
        case("EdDSA", Signer::ed("k"), &signature::ED25519),
    ]
}

fn bench(c: &mut Criterion) {
    for case in cases() {
        let keys =
            KeySet::from_jwks(&json!({"keys": [case.jwk]}), KeyOrigin::RemoteJwks, false).unwrap();
        let policy = Policy::from_json(&json!({
            "issuer": "https://acme.auth0.com/",
            "audiences": ["https://api.acme.com/"],
            "allowed_algs": [case.alg],
            "required_claims": ["sub", "scope"],
            "clock_skew_seconds": 60,
            "max_ttl_seconds": 86400
        }))
        .unwrap()
        .compile()
        .unwrap();
        assert!(validate(&case.token, &keys, &policy, NOW).valid());
        let (input, sig) = case.token.rsplit_once('.').unwrap();
        let sig = b64::decode(sig).unwrap();
        assert!(case.bare.verify_sig(input.as_bytes(), &sig).is_ok());

        let mut g = c.benchmark_group(case.name);
        g.bench_function("bare_verify", |b| {
            b.iter(|| {
                case.bare
                    .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .is_ok()
            })
        });
        g.bench_function("validate", |b| {
            b.iter(|| validate(black_box(&case.token), &keys, &policy, NOW).valid())
        });
        // This machine's speed drifts between the benchmarks above, so the overhead is
        // also measured directly: each iteration runs the bare verify and validate back
        // to back, and the time reported is validate's minus the bare verify's.
        g.bench_function("validate_minus_bare", |b| {
            b.iter_custom(|iters| {
                let (mut bare, mut full) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    let t0 = Instant::now();
                    black_box(
                        case.bare
                            .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                            .is_ok(),
                    );
                    let t1 = Instant::now();
                    black_box(validate(black_box(&case.token), &keys, &policy, NOW).valid());
                    let t2 = Instant::now();
                    bare += t1 - t0;
                    full += t2 - t1;
                }
                full.saturating_sub(bare)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches, parts_group, overhead_group);

/// The parse step alone (structure, base64url, strict JSON of header and payload).
fn parts(c: &mut Criterion) {
    let case = &cases()[0];
    let limits = jwtshield_core::Limits::default();
    c.bench_function("parse", |b| {
        b.iter(|| {
            Token::parse(black_box(&case.token), &limits)
                .parts()
                .is_some()
        })
    });
}
criterion_group!(parts_group, parts);

/// HS256 costs ~0.35 µs to verify, so validate's own work stands out here.
fn overhead(c: &mut Criterion) {
    let secret = "an-hmac-secret-that-is-long-enough-for-hs256-and-more";
    let token = Signer::hmac("k", secret.as_bytes()).token(json!({"typ": "JWT"}), claims());
    let (input, tag) = token.rsplit_once('.').unwrap();
    let tag = b64::decode(tag).unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let policy = Policy::from_json(&json!({
        "issuer": "https://acme.auth0.com/", "audiences": ["https://api.acme.com/"],
        "allowed_algs": ["HS256"], "required_claims": ["sub", "scope"], "max_ttl_seconds": 86400,
        "secret": secret
    }))
    .unwrap()
    .compile()
    .unwrap();
    let keys = policy.inline_keys().unwrap().clone();
    assert!(validate(&token, &keys, &policy, NOW).valid());
    c.bench_function("HS256/bare_verify", |b| {
        b.iter(|| aws_lc_rs::hmac::verify(&key, black_box(input.as_bytes()), &tag).is_ok())
    });
    c.bench_function("HS256/validate", |b| {
        b.iter(|| validate(black_box(&token), &keys, &policy, NOW).valid())
    });
}
criterion_group!(overhead_group, overhead);

//! `validate` against the bare signature verify of the same crypto crate, with the key
//! already in hand and a fixed clock. Run: `cargo bench -p jwtshield-core --bench validate`.
//! The target: validate costs at most 10% more than the bare verify.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use jwtshield_core::{KeyOrigin, KeySet, Policy, b64, validate};
use pkcs1::der::Decode;
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;

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

fn token(alg: &str, kid: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let h = b64::encode(json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
    let input = format!("{h}.{}", b64::encode(claims().to_string()));
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64::encode(sig))
}

fn cases() -> Vec<Case> {
    let rng = SystemRandom::new();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = rsa.public_key().as_ref().to_vec();
    let pk = pkcs1::RsaPublicKeyRef::from_der(&der).unwrap();
    let rsa_jwk = json!({"kty":"RSA","kid":"k","n":b64::encode(pk.modulus.as_bytes()),"e":b64::encode(pk.public_exponent.as_bytes())});
    let rs_token = token("RS256", "k", |m| {
        let mut s = vec![0; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, m, &mut s)
            .unwrap();
        s
    });
    let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = ec.public_key().as_ref().to_vec();
    let ec_jwk = json!({"kty":"EC","kid":"k","crv":"P-256","x":b64::encode(&point[1..33]),"y":b64::encode(&point[33..])});
    let es_token = token("ES256", "k", |m| {
        ec.sign(&rng, m).unwrap().as_ref().to_vec()
    });
    let ed = Ed25519KeyPair::generate().unwrap();
    let ed_pub = ed.public_key().as_ref().to_vec();
    let ed_jwk = json!({"kty":"OKP","kid":"k","crv":"Ed25519","x":b64::encode(&ed_pub)});
    let ed_token = token("EdDSA", "k", |m| ed.sign(m).as_ref().to_vec());
    vec![
        Case {
            name: "RS256",
            token: rs_token,
            jwk: rsa_jwk,
            alg: "RS256",
            bare: ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der).unwrap(),
        },
        Case {
            name: "ES256",
            token: es_token,
            jwk: ec_jwk,
            alg: "ES256",
            bare: ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point).unwrap(),
        },
        Case {
            name: "EdDSA",
            token: ed_token,
            jwk: ed_jwk,
            alg: "EdDSA",
            bare: ParsedPublicKey::new(&signature::ED25519, &ed_pub).unwrap(),
        },
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
        assert!(validate(&case.token, &keys, &policy, NOW).valid);
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
            b.iter(|| validate(black_box(&case.token), &keys, &policy, NOW).valid)
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
            jwtshield_core::token::parse(black_box(&case.token), &limits)
                .parsed
                .is_some()
        })
    });
}
criterion_group!(parts_group, parts);

/// HS256 costs ~0.35 µs to verify, so validate's own work stands out here.
fn overhead(c: &mut Criterion) {
    let secret = "an-hmac-secret-that-is-long-enough-for-hs256-and-more";
    let h = b64::encode(json!({"alg": "HS256", "typ": "JWT", "kid": "k"}).to_string());
    let input = format!("{h}.{}", b64::encode(claims().to_string()));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    let token = format!("{input}.{}", b64::encode(tag.as_ref()));
    let policy = Policy::from_json(&json!({
        "issuer": "https://acme.auth0.com/", "audiences": ["https://api.acme.com/"],
        "allowed_algs": ["HS256"], "required_claims": ["sub", "scope"], "max_ttl_seconds": 86400,
        "secret": secret
    }))
    .unwrap()
    .compile()
    .unwrap();
    let keys = policy.inline_keys().unwrap().clone();
    assert!(validate(&token, &keys, &policy, NOW).valid);
    c.bench_function("HS256/bare_verify", |b| {
        b.iter(|| aws_lc_rs::hmac::verify(&key, black_box(input.as_bytes()), tag.as_ref()).is_ok())
    });
    c.bench_function("HS256/validate", |b| {
        b.iter(|| validate(black_box(&token), &keys, &policy, NOW).valid)
    });
}
criterion_group!(overhead_group, overhead);

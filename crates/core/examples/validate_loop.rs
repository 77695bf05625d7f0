//! For `scripts/callgrind`: validates one valid RS256 Auth0-style access token N times
//! with the key in hand and a fixed clock. `scripts/callgrind` counts the instructions
//! inside `measured` only (`--toggle-collect`), so key generation and set-up do not
//! count. `bare` runs the bare aws-lc-rs verify of the same token instead, the reference.
//! `rules0` and `rules1m` validate with a revocation set that is empty or holds a million
//! rules of the same issuer (jti rules and sign-outs of other subjects), so the cost of
//! the `revocation` check is counted, not guessed.
//! Usage: `validate_loop N [validate|bare|rules0|rules1m]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use jwtshield_core::{KeyOrigin, KeySet, Limits, Policy, Token, b64};
use jwtshield_testkit::Signer;
use serde_json::json;

const NOW: i64 = 1_700_000_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mode = args.next().unwrap_or_else(|| "validate".into());
    let signer = Signer::rsa("k");
    let token = signer.token(
        json!({"typ": "JWT"}),
        json!({"iss": "https://acme.auth0.com/", "sub": "auth0|64f1c3a8e2b7d90012ab34cd",
               "aud": ["https://api.acme.com/", "https://acme.auth0.com/userinfo"],
               "iat": NOW - 60, "exp": NOW + 86_340,
               "scope": "openid profile email read:messages", "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K",
               "permissions": ["read:messages"]}),
    );
    let keys = KeySet::from_jwks(
        &json!({"keys": [signer.jwk()]}),
        KeyOrigin::RemoteJwks,
        false,
    )
    .unwrap();
    let policy = Policy::from_json(&json!({
        "issuer": "https://acme.auth0.com/", "audiences": ["https://api.acme.com/"],
        "allowed_algs": ["RS256"], "required_claims": ["sub", "scope"],
        "clock_skew_seconds": 60, "max_ttl_seconds": 86400
    }))
    .unwrap()
    .compile()
    .unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = b64::decode(sig).unwrap();
    let bare =
        ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, signer.public_key()).unwrap();
    let rules = match mode.as_str() {
        "rules1m" => (0..1_000_000)
            .map(|i| jwtshield_core::revocation::Rule {
                id: format!("{i:032x}"),
                issuer: "https://acme.auth0.com/".into(),
                target: if i % 2 == 0 {
                    jwtshield_core::revocation::Target::Jti {
                        jti: format!("revoked-{i}"),
                    }
                } else {
                    jwtshield_core::revocation::Target::Subject {
                        sub: format!("auth0|user-{i}"),
                        issued_before: NOW,
                    }
                },
                reason: None,
                created_at: NOW - 10,
                expires_at: NOW + 86_400,
            })
            .collect(),
        _ => Vec::new(),
    };
    let set = jwtshield_core::revocation::RevocationSet::new(rules, NOW);
    let extras = jwtshield_core::Extras {
        signature_cache: None,
        revocations: Some(&set),
    };
    let ok = measured(n, || match mode.as_str() {
        "bare" => bare
            .verify_sig(black_box(input.as_bytes()), black_box(&sig))
            .is_ok(),
        "rules0" | "rules1m" => {
            let token = Token::parse(black_box(&token), &Limits::default());
            jwtshield_core::validate_with(&token, &keys, &policy, NOW, extras).valid()
        }
        _ => {
            let token = Token::parse(black_box(&token), &Limits::default());
            jwtshield_core::validate(&token, &keys, &policy, NOW).valid()
        }
    });
    assert_eq!(ok, n, "every validation must succeed");
    println!("{mode}: {n} runs");
}

/// The counted part: `n` runs of `op`; returns how many succeeded.
#[inline(never)]
fn measured(n: usize, mut op: impl FnMut() -> bool) -> usize {
    (0..n).filter(|_| op()).count()
}

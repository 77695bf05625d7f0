//! DPoP (RFC 9449): a bound token with its proof, and each way a proof fails, checked
//! with the fixed clock. Every DPOP_ code is provoked here (the replay cache lives in
//! the service; `dpop::replayed` is what it calls).

use std::collections::BTreeSet;

use jwtshield_core::dpop::{self, Presented, Proof, Scheme};
use jwtshield_core::gateway::{BearerError, decide};
use jwtshield_core::{Code, Report};
use serde_json::{Value, json};

use crate::support::*;

const URI: &str = "https://api.acme.com/orders";

fn client() -> &'static Signer {
    ec("P-256")
}

/// A token bound to `client()`'s key.
fn bound_token() -> String {
    rsa().good(json!({"cnf": {"jkt": client().jkt()}}))
}

fn proof(token: &str, header: Value, claims: Value) -> String {
    client().dpop_proof("GET", URI, NOW - 5, "jti-1", Some(token), header, claims)
}

/// The report after the token checks and the DPoP check, and what the replay cache
/// would remember.
fn run(
    token: &str,
    proof: Proof<'_>,
    scheme: Option<Scheme>,
    method: &str,
    uri: &str,
    policy_extra: Value,
) -> (Report, Option<dpop::Accepted>) {
    let p = policy(policy_extra);
    let mut report = check(token, &p);
    let presented = Presented {
        proof,
        scheme,
        method,
        uri,
    };
    let accepted = dpop::check(&mut report, token, &p, &presented, NOW);
    (report, accepted)
}

fn dpop_codes(r: &Report) -> Vec<&'static str> {
    r.findings()
        .iter()
        .filter(|f| f.check.as_str() == "dpop")
        .map(|f| f.code.as_str())
        .collect()
}

#[test]
fn a_bound_token_with_its_proof_passes_and_names_what_to_remember() {
    let t = bound_token();
    let pr = proof(&t, json!({}), json!({}));
    let (r, acc) = run(
        &t,
        Proof::One(&pr),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({}),
    );
    assert!(r.valid(), "{:?}", r.findings());
    assert_eq!(status(&r, "dpop"), Some("pass"));
    let acc = acc.unwrap();
    assert_eq!(acc.jti, "jti-1");
    assert_eq!(acc.jkt, client().jkt());
    // remembered until the proof could no longer pass: iat + 300 s + 60 s skew
    assert!(
        acc.until > NOW - 5 + 360 && acc.until <= NOW - 5 + 361,
        "{}",
        acc.until
    );
    // the same request named in other, equivalent spellings: case of scheme and host,
    // the default port, a query, a fragment, %-escapes in either case
    for uri in [
        "HTTPS://API.ACME.COM/orders",
        "https://api.acme.com:443/orders?page=2",
        "https://api.acme.com/orders#x",
    ] {
        let (r, _) = run(
            &t,
            Proof::One(&pr),
            Some(Scheme::DPoP),
            "GET",
            uri,
            json!({}),
        );
        assert!(r.valid(), "{uri}: {:?}", r.findings());
    }
    let esc = client().dpop_proof(
        "GET",
        "https://api.acme.com/a%2fb",
        NOW,
        "j",
        Some(&t),
        json!({}),
        json!({}),
    );
    let (r, _) = run(
        &t,
        Proof::One(&esc),
        Some(Scheme::DPoP),
        "GET",
        "https://api.acme.com/a%2Fb",
        json!({}),
    );
    assert!(r.valid(), "{:?}", r.findings());
    // every proof algorithm family works: RSA, P-384, Ed25519 clients
    for c in [rsa2(), ec("P-384"), ed()] {
        let t = rsa().good(json!({"cnf": {"jkt": c.jkt()}}));
        let pr = c.dpop_proof("GET", URI, NOW, "j", Some(&t), json!({}), json!({}));
        let (r, _) = run(
            &t,
            Proof::One(&pr),
            Some(Scheme::DPoP),
            "GET",
            URI,
            json!({}),
        );
        assert!(r.valid(), "{}: {:?}", c.alg(), r.findings());
    }
}

#[test]
fn a_bearer_token_without_dpop_is_not_concerned() {
    let t = rsa().good(json!({}));
    let (r, acc) = run(
        &t,
        Proof::Absent,
        Some(Scheme::Bearer),
        "GET",
        URI,
        json!({}),
    );
    assert!(r.valid());
    assert_eq!(status(&r, "dpop"), None, "the check does not apply");
    assert!(acc.is_none());
}

#[test]
fn each_failure_is_its_own_finding() {
    let t = bound_token();
    let one = |h: Value, c: Value| proof(&t, h, c);
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        (
            "wrong method",
            one(json!({}), json!({})),
            "POST",
            URI,
            "DPOP_METHOD_MISMATCH",
        ),
        (
            "wrong uri",
            one(json!({}), json!({})),
            "GET",
            "https://api.acme.com/admin",
            "DPOP_URI_MISMATCH",
        ),
        (
            "other host",
            one(json!({}), json!({})),
            "GET",
            "https://evil.example/orders",
            "DPOP_URI_MISMATCH",
        ),
        (
            "http for https",
            one(json!({}), json!({})),
            "GET",
            "http://api.acme.com/orders",
            "DPOP_URI_MISMATCH",
        ),
        (
            "no htu",
            one(json!({}), json!({"htu": null})),
            "GET",
            URI,
            "DPOP_URI_MISMATCH",
        ),
        (
            "stale iat",
            one(json!({}), json!({"iat": NOW - 361})),
            "GET",
            URI,
            "DPOP_PROOF_STALE",
        ),
        (
            "future iat",
            one(json!({}), json!({"iat": NOW + 61})),
            "GET",
            URI,
            "DPOP_PROOF_STALE",
        ),
        (
            "no iat",
            one(json!({}), json!({"iat": null})),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "no jti",
            one(json!({}), json!({"jti": null})),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "ath of another token",
            one(json!({}), json!({"ath": dpop::ath("other")})),
            "GET",
            URI,
            "DPOP_ATH_MISMATCH",
        ),
        (
            "no ath",
            one(json!({}), json!({"ath": null})),
            "GET",
            URI,
            "DPOP_ATH_MISMATCH",
        ),
        (
            "typ JWT",
            one(json!({"typ": "JWT"}), json!({})),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "no jwk",
            one(json!({"jwk": null}), json!({})),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "private jwk",
            one(
                json!({"jwk": {"kty": "EC", "crv": "P-256", "x": client().jwk()["x"], "y": client().jwk()["y"], "d": "AAAA"}}),
                json!({}),
            ),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "another key's jwk",
            one(json!({"jwk": ec("P-384").jwk()}), json!({})),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "signed by another key",
            ec("P-384").dpop_proof("GET", URI, NOW, "j", Some(&t), json!({}), json!({})),
            "GET",
            URI,
            "DPOP_KEY_MISMATCH",
        ),
        (
            "HS256",
            one(json!({"alg": "HS256"}), json!({})),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
        (
            "not a JWS",
            "garbage".to_owned(),
            "GET",
            URI,
            "DPOP_PROOF_INVALID",
        ),
    ];
    for (name, pr, method, uri, code) in cases {
        let (r, acc) = run(
            &t,
            Proof::One(&pr),
            Some(Scheme::DPoP),
            method,
            uri,
            json!({}),
        );
        assert!(!r.valid(), "{name}");
        assert_eq!(dpop_codes(&r), [code], "{name}: {:?}", r.findings());
        assert_eq!(status(&r, "dpop"), Some("fail"), "{name}");
        assert!(acc.is_none(), "{name}: nothing to remember");
        let d = decide(&r, &[], &[]);
        assert_eq!(
            (d.status, d.error),
            (401, Some(BearerError::InvalidDpopProof)),
            "{name}"
        );
    }
    // `none` as the proof's algorithm
    let unsigned = jwtshield_testkit::alg_none(&proof(&t, json!({}), json!({})));
    let (r, _) = run(
        &t,
        Proof::One(&unsigned),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({}),
    );
    assert_eq!(dpop_codes(&r), ["DPOP_PROOF_INVALID"]);
}

#[test]
fn scheme_and_binding_must_agree() {
    let t = bound_token();
    let pr = proof(&t, json!({}), json!({}));
    // a bound token sent as Bearer, even with its proof
    let (r, _) = run(
        &t,
        Proof::One(&pr),
        Some(Scheme::Bearer),
        "GET",
        URI,
        json!({}),
    );
    assert_eq!(dpop_codes(&r), ["DPOP_BOUND_TOKEN_AS_BEARER"]);
    let d = decide(&r, &[], &[]);
    assert_eq!(d.error, Some(BearerError::InvalidToken));
    // a bound token without its proof
    let (r, _) = run(&t, Proof::Absent, Some(Scheme::DPoP), "GET", URI, json!({}));
    assert_eq!(dpop_codes(&r), ["DPOP_PROOF_MISSING"]);
    let (r, _) = run(
        &t,
        Proof::Several,
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({}),
    );
    assert_eq!(dpop_codes(&r), ["DPOP_PROOF_INVALID"]);
    // an unbound token sent with the DPoP scheme
    let plain = rsa().good(json!({}));
    let pr = proof(&plain, json!({}), json!({}));
    let (r, _) = run(
        &plain,
        Proof::One(&pr),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({}),
    );
    assert_eq!(dpop_codes(&r), ["DPOP_TOKEN_NOT_BOUND"]);
    // the profile requires DPoP: a bearer token is refused, a bound one passes
    let req = json!({"dpop": {"required": true}});
    let (r, _) = run(
        &plain,
        Proof::Absent,
        Some(Scheme::Bearer),
        "GET",
        URI,
        req.clone(),
    );
    assert_eq!(
        dpop_codes(&r),
        ["DPOP_TOKEN_NOT_BOUND", "DPOP_PROOF_MISSING"]
    );
    let pr = proof(&t, json!({}), json!({}));
    let (r, _) = run(&t, Proof::One(&pr), Some(Scheme::DPoP), "GET", URI, req);
    assert!(r.valid(), "{:?}", r.findings());
    // a shorter window
    let old = proof(&t, json!({}), json!({"iat": NOW - 100}));
    let (r, _) = run(
        &t,
        Proof::One(&old),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({"dpop": {"max_age_seconds": 30}}),
    );
    assert_eq!(dpop_codes(&r), ["DPOP_PROOF_STALE"]);
    // an algorithm the profile does not allow for proofs
    let (r, _) = run(
        &t,
        Proof::One(&pr),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({"dpop": {"allowed_algs": ["EdDSA"]}}),
    );
    assert_eq!(dpop_codes(&r), ["DPOP_PROOF_INVALID"]);
}

#[test]
fn an_unverified_token_is_not_checked_for_dpop() {
    let t = jwtshield_testkit::tampered(
        &bound_token(),
        &claims(json!({"sub": "admin", "cnf": {"jkt": client().jkt()}})),
    );
    let pr = proof(&t, json!({}), json!({}));
    let (r, acc) = run(
        &t,
        Proof::One(&pr),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({}),
    );
    assert!(!r.valid());
    assert_eq!(status(&r, "dpop"), Some("skipped"));
    assert!(acc.is_none());
}

#[test]
fn a_replay_reported_by_the_cache_is_a_finding() {
    let t = bound_token();
    let pr = proof(&t, json!({}), json!({}));
    let (mut r, acc) = run(
        &t,
        Proof::One(&pr),
        Some(Scheme::DPoP),
        "GET",
        URI,
        json!({}),
    );
    let acc = acc.unwrap();
    dpop::replayed(&mut r, &acc);
    assert!(!r.valid());
    assert_eq!(dpop_codes(&r), ["DPOP_PROOF_REPLAYED"]);
    assert!(
        r.verified().is_none(),
        "a replayed proof lets nothing through"
    );
    // the cache key is per key and jti, and fixed-size
    let other = dpop::Accepted {
        jkt: "k2".into(),
        ..acc.clone()
    };
    assert_ne!(acc.replay_key(), other.replay_key());
    assert_eq!(acc.replay_key().len(), 43);
}

#[test]
fn every_dpop_code_is_provoked_here() {
    let src = include_str!("dpop.rs");
    let missing: BTreeSet<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| c.starts_with("DPOP_") && !src.contains(&format!("\"{c}\"")))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn rfc_7638_example_thumbprint() {
    // RFC 7638 §3.1
    let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
    assert_eq!(
        dpop::thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(dpop::thumbprint(&client().jwk()).unwrap(), client().jkt());
}

//! `validate_introspected`: an opaque token judged by the issuer's RFC 7662 answer,
//! with the fixed clock. Every introspection code is provoked here.

use std::collections::BTreeSet;
use std::sync::Arc;

use jwtshield_core::gateway::decide;
use jwtshield_core::json::JsonObject;
use jwtshield_core::{Code, Extras, Introspected, Report, validate_introspected};
use serde_json::{Value, json};

use crate::support::*;

fn answer(v: Value) -> Introspected {
    Introspected::Answer(Arc::new(
        JsonObject::parse(v.to_string().into_bytes(), 32).unwrap(),
    ))
}

fn active(extra: Value) -> Introspected {
    let mut a = json!({"active": true, "iss": ISS, "aud": AUD, "sub": "u-1", "scope": "read:messages",
        "exp": NOW + 600, "iat": NOW - 10, "jti": "opaque-1"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            a.as_object_mut().unwrap().remove(k);
        } else {
            a[k] = v.clone();
        }
    }
    answer(a)
}

fn run(result: &Introspected, policy_extra: Value) -> Report {
    let p = policy(policy_extra);
    validate_introspected(
        &parse("an-opaque-token"),
        result,
        &p,
        NOW,
        Extras::default(),
    )
}

#[test]
fn an_active_answer_is_checked_like_claims() {
    let r = run(
        &active(json!({})),
        json!({"required_scopes": ["read:messages"], "required_claims": ["sub"]}),
    );
    assert!(r.valid(), "{:?}", r.findings());
    assert!(r.introspected());
    assert_eq!(status(&r, "introspection"), Some("pass"));
    assert_eq!(status(&r, "signature"), Some("skipped"));
    assert_eq!(status(&r, "audience"), Some("pass"));
    let v = r.verified().unwrap();
    assert!(v.introspected() && v.alg().is_none());
    assert_eq!(v.subject(), Some("u-1"));
    assert_eq!(decide(&r, &[], &[]).status, 200);
    // iss and exp are optional in an answer; when present they must hold
    assert!(run(&active(json!({"iss": null, "exp": null})), json!({})).valid());
    for (extra, policy_extra, code) in [
        (
            json!({"aud": "https://other/"}),
            json!({}),
            "AUDIENCE_MISMATCH",
        ),
        (
            json!({"iss": "https://evil/"}),
            json!({}),
            "ISSUER_MISMATCH",
        ),
        (json!({"exp": NOW - 3600}), json!({}), "TOKEN_EXPIRED"),
        (json!({"nbf": NOW + 3600}), json!({}), "TOKEN_NOT_YET_VALID"),
        (
            json!({"scope": "openid"}),
            json!({"required_scopes": ["read:messages"]}),
            "SCOPE_MISSING",
        ),
        (
            json!({"sub": null}),
            json!({"required_claims": ["sub"]}),
            "CLAIM_MISSING",
        ),
    ] {
        let r = run(&active(extra.clone()), policy_extra);
        assert!(!r.valid(), "{extra}");
        assert_eq!(codes(&r), [code], "{extra}");
        assert!(
            !r.findings()[0].unverified,
            "the issuer vouched for these claims"
        );
        assert!(r.verified().is_none());
    }
}

#[test]
fn inactive_unreachable_and_invalid_answers() {
    let r = run(&answer(json!({"active": false})), json!({}));
    assert_eq!(codes(&r), ["TOKEN_INACTIVE"]);
    assert!(r.claims().is_none(), "nothing else is checked or shown");
    assert_eq!(decide(&r, &[], &[]).status, 401);
    let down = Introspected::Unreachable {
        url: "https://idp/introspect".into(),
        error: "timed out".into(),
    };
    let r = run(&down, json!({}));
    assert_eq!(codes(&r), ["INTROSPECTION_UNREACHABLE"]);
    assert_eq!(
        decide(&r, &[], &[]).status,
        503,
        "the issuer's problem, never a pass"
    );
    let r = run(&answer(json!({"active": "true"})), json!({}));
    assert_eq!(codes(&r), ["INTROSPECTION_INVALID"]);
    let bad = Introspected::Invalid {
        url: "https://idp/introspect".into(),
        why: "not JSON".into(),
    };
    assert_eq!(codes(&run(&bad, json!({}))), ["INTROSPECTION_INVALID"]);
}

#[test]
fn an_introspected_token_can_be_revoked() {
    let p = policy(json!({}));
    let rules = jwtshield_core::revocation::RevocationSet::new(
        [jwtshield_core::revocation::Rule {
            id: "r1".into(),
            issuer: ISS.into(),
            target: jwtshield_core::revocation::Target::Jti {
                jti: "opaque-1".into(),
            },
            reason: None,
            created_at: NOW - 10,
            expires_at: NOW + 3600,
        }],
        NOW,
    );
    let extras = Extras {
        signature_cache: None,
        revocations: Some(&rules),
    };
    let r = validate_introspected(
        &parse("an-opaque-token"),
        &active(json!({})),
        &p,
        NOW,
        extras,
    );
    assert_eq!(codes(&r), ["TOKEN_REVOKED"]);
}

#[test]
fn every_introspection_code_is_provoked_here() {
    let src = include_str!("introspection.rs");
    let missing: BTreeSet<&str> = Code::ALL
        .iter()
        .filter(|c| c.check().as_str() == "introspection")
        .map(|c| c.as_str())
        .filter(|c| !src.contains(&format!("\"{c}\"")))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn an_introspected_dpop_bound_token_needs_its_proof() {
    // RFC 9449 §6.2: the introspection answer carries cnf.jkt for a bound opaque token
    use jwtshield_core::dpop::{self, Presented, Proof, Scheme};
    let client = ec("P-256");
    let p = policy(json!({}));
    let token = "an-opaque-token";
    let bound = active(json!({"cnf": {"jkt": client.jkt()}}));
    let uri = "https://api.acme.com/orders";
    let proof = client.dpop_proof("GET", uri, NOW, "j", Some(token), json!({}), json!({}));
    for (proof, valid) in [(Proof::One(&proof), true), (Proof::Absent, false)] {
        let mut r = validate_introspected(&parse(token), &bound, &p, NOW, Extras::default());
        let presented = Presented {
            proof,
            scheme: Some(Scheme::DPoP),
            method: "GET",
            uri,
        };
        let accepted = dpop::check(&mut r, token, &p, &presented, NOW);
        assert_eq!(r.valid(), valid, "{:?}", r.findings());
        assert_eq!(accepted.is_some(), valid);
    }
}

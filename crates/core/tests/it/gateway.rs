//! Reports turned into RFC 6750 answers.

use jwtshield_core::KeySet;
use jwtshield_core::gateway::{BearerError, decide};
use serde_json::json;

use crate::support::*;

#[test]
fn decisions_follow_rfc_6750() {
    let p = policy(json!({"required_scopes": ["read:messages"]}));
    let scopes = p.policy().required_scopes.clone();
    let d = decide(&check(&rsa().good(json!({})), &p), &scopes, &[]);
    assert_eq!((d.status, d.error), (200, None));
    let d = decide(
        &check(&rsa().good(json!({"exp": NOW - 3600})), &p),
        &scopes,
        &[],
    );
    assert_eq!((d.status, d.error), (401, Some(BearerError::InvalidToken)));
    assert_eq!(
        d.description.as_deref(),
        Some("expiry check failed: TOKEN_EXPIRED")
    );
    // only the scope check failed: 403 with the required scopes
    let d = decide(
        &check(&rsa().good(json!({"scope": "openid"})), &p),
        &scopes,
        &[],
    );
    assert_eq!(
        (d.status, d.error),
        (403, Some(BearerError::InsufficientScope))
    );
    assert_eq!(d.scope.as_deref(), Some("read:messages"));
    // scope and something else failed: the token is invalid first
    let d = decide(
        &check(&rsa().good(json!({"scope": "openid", "aud": "x"})), &p),
        &scopes,
        &[],
    );
    assert_eq!(d.status, 401);
    // extra scopes asked by the caller (a gateway location)
    let d = decide(
        &check(&rsa().good(json!({})), &p),
        &scopes,
        &["admin:read".into()],
    );
    assert_eq!(
        (d.status, d.scope.as_deref()),
        (403, Some("read:messages admin:read"))
    );
    assert_eq!(
        d.description.as_deref(),
        Some("the token lacks the scope admin:read")
    );
    // keys unavailable: 503, never 200
    let r = validate_str(
        &rsa().good(json!({})),
        &KeySet::unreachable("https://x/jwks", "down"),
        &p,
        NOW,
    );
    assert_eq!(decide(&r, &scopes, &[]).status, 503);
    // alg none, forged: 401
    let forged = replace_part(
        &rsa().good(json!({})),
        1,
        &jwtshield_core::b64::encode(claims(json!({"sub": "admin"})).to_string()),
    );
    assert_eq!(
        decide(&check(&forged, &p), &scopes, &[])
            .description
            .as_deref(),
        Some("signature check failed: SIGNATURE_INVALID")
    );
}

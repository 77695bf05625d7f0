//! `revocation`: no rule of the caller's revocation set refuses the token. Runs only
//! for tokens whose signature verified (an unverified token proves nothing about whose
//! it is) and only when the caller keeps rules ([`Extras::revocations`]).
//!
//! [`Extras::revocations`]: super::Extras::revocations

use serde_json::{Value, json};

use super::Cx;
use crate::finding::{Check, Code, Finding};
use crate::revocation::{Subject, Target};

/// Looks the verified token's claims up in the revocation set.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let (Some(set), Some(claims)) = (cx.extras.revocations, cx.claims) else {
        return;
    };
    if cx.used.is_none() {
        return;
    }
    cx.ran(Check::Revocation);
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return;
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let subject = Subject {
        iss,
        jti: text("jti"),
        sub: text("sub"),
        clients: [text("azp"), text("client_id"), text("cid")],
        iat: claims.get("iat").and_then(Value::as_f64),
    };
    let Some(rule) = set.matching(&subject, cx.now) else {
        return;
    };
    // expected: what the rule allows; actual: the token's values it matched
    let iat = claims.get("iat").cloned().unwrap_or(Value::Null);
    let (what, expected, actual) = match &rule.target {
        Target::Jti { jti } => (
            format!("its jti \"{jti}\" is revoked"),
            json!({"jti": {"not": jti}}),
            json!({"jti": jti}),
        ),
        Target::Subject { sub, issued_before } => (
            format!(
                "every token of subject \"{sub}\" issued before {} is revoked (sign-out everywhere)",
                crate::timefmt::utc(*issued_before as f64)
            ),
            json!({"sub": sub, "iat": {"at_least": issued_before}}),
            json!({"sub": sub, "iat": iat}),
        ),
        Target::Client {
            client_id,
            issued_before,
        } => (
            format!(
                "every token of client \"{client_id}\" issued before {} is revoked",
                crate::timefmt::utc(*issued_before as f64)
            ),
            json!({"client_id": client_id, "iat": {"at_least": issued_before}}),
            json!({"client_id": client_id, "iat": iat}),
        ),
    };
    let reason = rule
        .reason
        .as_deref()
        .map(|r| format!(" Reason: {r}."))
        .unwrap_or_default();
    cx.push(Finding::new(
        Code::TOKEN_REVOKED,
        format!("the token is revoked: {what}.{reason}"),
        json!({
            "expected": expected,
            "actual": actual,
            "rule": rule.id,
            "reason": rule.reason,
            "revoked_at": rule.created_at,
            "revoked_at_utc": crate::timefmt::utc(rule.created_at as f64),
        }),
    ));
}

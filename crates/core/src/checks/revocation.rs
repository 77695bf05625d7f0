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
pub(crate) fn run<'c>(cx: &mut Cx<'c>) {
    let (Some(set), Some(claims)) = (cx.extras.revocations, cx.claims) else {
        return;
    };
    if !cx.authentic() {
        return;
    }
    cx.ran(Check::Revocation);
    if set.is_empty() {
        return;
    }
    // the claims as read in the one pass over the payload; a string with escapes is
    // read again properly
    let reg = cx.registered;
    let text = |raw: Option<&'c str>, name: &str| -> Option<&'c str> {
        let inner = raw?.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.contains('\\') {
            return Some(inner);
        }
        claims.get_str(name)
    };
    let Some(iss) = text(reg.iss, "iss") else {
        return;
    };
    let subject = Subject {
        iss,
        jti: text(reg.jti, "jti"),
        sub: text(reg.sub, "sub"),
        clients: [
            text(reg.clients[0], "azp"),
            text(reg.clients[1], "client_id"),
            text(reg.clients[2], "cid"),
        ],
        iat: reg.iat.and_then(|raw| raw.parse::<f64>().ok()),
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

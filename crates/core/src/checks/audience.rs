//! `audience`: `aud` (or the policy's `audience_claim`), a string or an array of
//! strings, contains at least one of the policy's audiences. A mismatch gets hints for
//! the usual causes: trailing slash, a client id (an ID token), Auth0's Management API.

use serde_json::json;

use super::Cx;
use crate::diagnostics;
use crate::finding::{Check, Code, Finding};
use crate::json::{raw_kind, raw_str_list, raw_strs_any, raw_value};

/// Compares the audience claim with the policy's audiences.
pub(crate) fn run(cx: &mut Cx<'_>) {
    if cx.claims.is_none() {
        return;
    }
    cx.ran(Check::Audience);
    let policy = cx.policy;
    let audiences = &policy.policy().audiences;
    let claim = policy.audience_claim();
    let Some(raw) = cx.registered.aud.filter(|raw| *raw != "null") else {
        cx.push_claim(Finding::new(
            Code::AUDIENCE_MISSING,
            format!("the token has no `{claim}` claim; it was not issued for a specific API"),
            json!({"expected": audiences, "actual": null}),
        ));
        return;
    };
    if raw_strs_any(raw, |a| audiences.iter().any(|e| e == a)) == Some(true) {
        return;
    }
    let Some(list) = raw_str_list(raw) else {
        cx.push_claim(Finding::new(
            Code::AUDIENCE_INVALID,
            format!(
                "`{claim}` must be a string or an array of strings, found {}",
                if raw.starts_with('[') {
                    "an array with other values"
                } else {
                    raw_kind(raw)
                }
            ),
            json!({"expected": audiences, "actual": raw_value(raw)}),
        ));
        return;
    };
    let list: Vec<&str> = list.iter().map(|a| a.as_ref()).collect();
    let note = diagnostics::audience_mismatch_note(&list).unwrap_or("");
    cx.push_claim(Finding::new(
        Code::AUDIENCE_MISMATCH,
        format!("{claim} does not contain any of the policy's audiences{note}"),
        json!({"expected": audiences, "actual": raw_value(raw)}),
    ));
    for h in diagnostics::audience_hints(audiences, &list, claim) {
        cx.push_claim(h);
    }
    // the claims only ID tokens carry are reported by `id_token`; without them, the shape
    if !cx.registered.id_token_signs
        && let Some(claims) = cx.claims
    {
        let typ = cx.header.get("typ").and_then(serde_json::Value::as_str);
        if let Some(h) = diagnostics::id_token_shape(claims, typ) {
            cx.push_claim(h);
        }
    }
}

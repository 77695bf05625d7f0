//! `issuer`: `iss` equals one of the policy's issuers exactly (case-sensitive, the
//! trailing slash matters). A near miss gets a hint saying what differs.

use serde_json::json;

use super::Cx;
use crate::diagnostics;
use crate::finding::{Check, Code, Finding};
use crate::json::{raw_kind, raw_str, raw_value};

/// Compares `iss` with the policy's issuers.
pub(crate) fn run(cx: &mut Cx<'_>) {
    if cx.claims.is_none() {
        return;
    }
    cx.ran(Check::Issuer);
    let policy = cx.policy.policy();
    let expected = policy.issuer.all();
    let expected_json = || {
        if expected.len() == 1 {
            json!(expected[0])
        } else {
            json!(expected)
        }
    };
    let Some(raw) = cx.registered.iss else {
        cx.push_claim(Finding::new(
            Code::ISSUER_MISSING,
            "the token has no `iss` claim",
            json!({"expected": expected_json(), "actual": null}),
        ));
        return;
    };
    let Some(iss) = raw_str(raw) else {
        cx.push_claim(Finding::new(
            Code::ISSUER_INVALID,
            format!("iss is {}, not a string", raw_kind(raw)),
            json!({"expected": expected_json(), "actual": raw_value(raw)}),
        ));
        return;
    };
    if policy.issuer.contains(&iss) {
        return;
    }
    let note = diagnostics::issuer_mismatch_note(expected, &iss).unwrap_or("");
    cx.push_claim(Finding::new(
        Code::ISSUER_MISMATCH,
        format!(
            "iss \"{iss}\" is not the expected issuer \"{}\"{note}",
            expected.join("\" or \"")
        ),
        json!({"expected": expected_json(), "actual": iss}),
    ));
    for h in diagnostics::issuer_hints(expected, &iss) {
        cx.push_claim(h);
    }
}

//! `token_type`: the header `typ` matches the policy's `token_type` (media types
//! compare case-insensitively, without `application/`; RFC 7515 §4.1.9). Runs only
//! when the policy sets one.

use serde_json::json;

use super::Cx;
use crate::finding::{Check, Code, Finding};
use crate::json::{raw_str, raw_value};
use crate::policy::normalize_typ;

/// Compares `typ` with the policy's `token_type`.
pub(crate) fn run(cx: &mut Cx<'_>) {
    let policy = cx.policy;
    let Some(expected) = policy.expected_typ() else {
        return;
    };
    cx.ran(Check::TokenType);
    let given = policy.policy().token_type.as_deref().unwrap_or(expected);
    let actual = cx.header.raw("typ");
    let ok = actual
        .and_then(raw_str)
        .is_some_and(|t| normalize_typ(&t) == expected);
    if !ok {
        cx.push(Finding::new(
            Code::TOKEN_TYPE_MISMATCH,
            format!(
                "header typ is {} but the policy requires \"{given}\" (compared case-insensitively, without `application/`)",
                actual.unwrap_or("absent")
            ),
            json!({"expected": given, "actual": actual.map(raw_value)}),
        ));
    }
}

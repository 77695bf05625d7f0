//! `introspection`: an opaque token is active at the issuer's introspection endpoint
//! (RFC 7662). The endpoint's answer stands in for the signature: `active: true` makes
//! its members the claims the other checks read; anything else is a finding and nothing
//! else runs.

use serde_json::{Value, json};

use super::Cx;
use crate::finding::{Check, Code, Finding};

/// What asking the introspection endpoint gave.
#[derive(Clone, Debug)]
pub enum Introspected {
    /// The endpoint's JSON answer, as received (an object).
    Answer(std::sync::Arc<crate::json::JsonObject>),
    /// It could not be asked, or answered with an error status.
    Unreachable {
        /// The endpoint.
        url: String,
        /// What went wrong (never the token or the secret).
        error: String,
    },
    /// It answered something that is not an introspection response.
    Invalid {
        /// The endpoint.
        url: String,
        /// Why the answer is unusable.
        why: String,
    },
}

/// Reports on the endpoint's answer; true when the token is active.
pub(crate) fn run(cx: &mut Cx<'_>, result: &Introspected) -> bool {
    cx.ran(Check::Introspection);
    match result {
        Introspected::Unreachable { url, error } => {
            cx.push(Finding::new(
                Code::INTROSPECTION_UNREACHABLE,
                format!("the issuer's introspection endpoint {url} could not be asked: {error}"),
                json!({"expected": "an answer from the introspection endpoint", "actual": error, "url": url}),
            ));
            false
        }
        Introspected::Invalid { url, why } => {
            cx.push(Finding::new(
                Code::INTROSPECTION_INVALID,
                format!("the introspection endpoint {url} answered something unusable: {why}"),
                json!({"expected": "a JSON object with a boolean `active`", "actual": why, "url": url}),
            ));
            false
        }
        Introspected::Answer(answer) => match answer.get("active") {
            Some(Value::Bool(true)) => true,
            Some(Value::Bool(false)) => {
                cx.push(Finding::new(
                    Code::TOKEN_INACTIVE,
                    "the issuer's introspection endpoint says this token is not active: it was revoked, it expired, it is unknown to the issuer, or it was issued to a client the endpoint does not show it to",
                    json!({"expected": {"active": true}, "actual": {"active": false}}),
                ));
                false
            }
            other => {
                cx.push(Finding::new(
                    Code::INTROSPECTION_INVALID,
                    "the introspection answer has no boolean `active`",
                    json!({"expected": "a boolean `active`", "actual": other}),
                ));
                false
            }
        },
    }
}

//! `scopes`: the token grants every scope in the policy's `required_scopes`, read from
//! `scope` (space-separated), `scp` and Auth0's `permissions`. Runs only when the
//! policy requires scopes; the missing ones are kept for the gateway's 403.

use serde_json::json;

use super::Cx;
use crate::claims;
use crate::finding::{Check, Code, Finding};

/// Compares the granted scopes with `required_scopes`; keeps the missing ones in
/// [`Cx::missing_scopes`].
pub(crate) fn run(cx: &mut Cx<'_>) {
    let required = &cx.policy.policy().required_scopes;
    let Some(claims) = cx.claims.filter(|_| !required.is_empty()) else {
        return;
    };
    cx.ran(Check::Scopes);
    let granted = claims::granted_scopes_ref(claims);
    let missing = claims::missing_scopes(required, &granted);
    if missing.is_empty() {
        return;
    }
    let f = Finding::new(
        Code::SCOPE_MISSING,
        format!(
            "the token lacks the scope{} {} (granted: {})",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if granted.is_empty() {
                "none".to_owned()
            } else {
                granted.join(" ")
            }
        ),
        json!({"expected": required, "actual": granted, "missing": missing}),
    );
    cx.missing_scopes = missing.into_iter().map(str::to_owned).collect();
    cx.push_claim(f);
}

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
        if cx.introspected.is_some() {
            return; // RFC 7662: `iss` is optional; the profile's own endpoint answered
        }
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
    if policy.issuer.template().is_some() {
        tenant(cx, &iss);
        return;
    }
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

/// An issuer template: `iss` must fit it, its tenant be allowed, and `tid` name the same
/// tenant (a token of one tenant cannot pass as another's).
fn tenant(cx: &mut Cx<'_>, iss: &str) {
    let policy = cx.policy.policy();
    let template = policy.issuer.primary();
    let Some(tenant) = policy.issuer.tenant_of(iss) else {
        cx.push_claim(Finding::new(
            Code::ISSUER_MISMATCH,
            format!("iss \"{iss}\" does not fit the issuer template \"{template}\""),
            json!({"expected": template, "actual": iss}),
        ));
        return;
    };
    let allowed = policy
        .allowed_tenants
        .as_ref()
        .is_some_and(|t| t.allows(tenant));
    if !allowed {
        cx.push_claim(Finding::new(
            Code::ISSUER_TENANT_NOT_ALLOWED,
            format!("the token comes from tenant \"{tenant}\", which is not one of the policy's allowed_tenants"),
            json!({"expected": policy.allowed_tenants, "actual": tenant}),
        ));
    }
    let tid = cx.claims.and_then(|c| c.get_str("tid"));
    if tid != Some(tenant) {
        cx.push_claim(Finding::new(
            Code::TENANT_MISMATCH,
            match tid {
                Some(t) => format!("tid \"{t}\" is not the tenant of iss (\"{tenant}\"): a token of one tenant cannot pass as another's"),
                None => format!("the token has no `tid`; with an issuer template it must name the tenant of iss (\"{tenant}\")"),
            },
            json!({"expected": tenant, "actual": tid}),
        ));
    }
}

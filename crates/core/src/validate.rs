//! The validation pipeline: the ordered list of checks (one module each under
//! [`crate::checks`]). The order follows jose and RFC 8725bis, so cheap and dangerous
//! checks run first: the token's format, the header's parameters, `alg` in the
//! allowlist (before any key lookup), the key set's freshness and the `kid`, key
//! selection, the signature, then the claims. Unlike jose it does not stop at the
//! first failure: every check that can run, runs.

pub use crate::checks::introspection::Introspected;
use crate::checks::{self, Cx, Extras};
use crate::keys::KeySet;
use crate::policy::CompiledPolicy;
use crate::report::Report;
use crate::token::{MAX_SIGNATURE_BYTES, Token};

/// Validates a parsed token against a policy with the keys in hand, at time `now`
/// (seconds since 1970). Pure: no I/O, no clock.
pub fn validate(token: &Token<'_>, keys: &KeySet, policy: &CompiledPolicy, now: i64) -> Report {
    validate_with(token, keys, policy, now, Extras::default())
}

/// [`validate`] with [`Extras`] (a verified-signature cache).
pub fn validate_with(
    token: &Token<'_>,
    keys: &KeySet,
    policy: &CompiledPolicy,
    now: i64,
    extras: Extras<'_>,
) -> Report {
    let Some(parts) = token.parts() else {
        return checks::format_only(token);
    };
    let mut sig_buf = [0u8; MAX_SIGNATURE_BYTES];
    let mut cx = Cx::new(token, parts, keys, policy, now, extras, &mut sig_buf);
    checks::format::run(&mut cx);
    checks::header::run(&mut cx);
    checks::algorithm::run(&mut cx);
    checks::key_freshness::run(&mut cx);
    checks::key::run(&mut cx);
    checks::signature::run(&mut cx);
    checks::token_type::run(&mut cx);
    claim_checks(&mut cx);
    checks::id_token::run(&mut cx);
    checks::revocation::run(&mut cx);
    cx.finish()
}

/// The checks of the claims themselves, whoever vouches for them (a signature or an
/// introspection endpoint).
fn claim_checks(cx: &mut Cx<'_>) {
    checks::issuer::run(cx);
    checks::audience::run(cx);
    checks::expiry::run(cx);
    checks::not_before::run(cx);
    checks::issued_at::run(cx);
    checks::max_ttl::run(cx);
    checks::required_claims::run(cx);
    checks::scopes::run(cx);
}

/// Validates an opaque token with what the issuer's introspection endpoint (RFC 7662)
/// said about it: the `introspection` check stands in for the format, key and signature
/// checks, and when the token is active the policy's claim checks run on the answer's
/// members (`iss` and `exp` are optional there: the issuer vouches for the token; when
/// present they must hold). Pure: the caller asked the endpoint.
pub fn validate_introspected(
    token: &Token<'_>,
    result: &checks::introspection::Introspected,
    policy: &CompiledPolicy,
    now: i64,
    extras: Extras<'_>,
) -> Report {
    static EMPTY: std::sync::LazyLock<crate::json::JsonObject> =
        std::sync::LazyLock::new(crate::json::JsonObject::empty);
    let answer = match result {
        checks::introspection::Introspected::Answer(a) => Some(a.clone()),
        _ => None,
    };
    let none = std::sync::Arc::new(EMPTY.clone());
    let claims = answer.as_ref().unwrap_or(&none);
    let keys = KeySet::empty();
    let mut cx = Cx::introspected(claims, &EMPTY, policy, &keys, now, extras);
    // the format findings other than "opaque", which is what introspection is for
    for f in token.findings() {
        if f.code != crate::finding::Code::TOKEN_OPAQUE {
            cx.push(f.clone());
        }
    }
    if !checks::introspection::run(&mut cx, result) {
        return cx.finish_without_claims();
    }
    claim_checks(&mut cx);
    checks::revocation::run(&mut cx);
    cx.finish()
}

//! The validation pipeline: the ordered list of checks (one module each under
//! [`crate::checks`]). The order follows jose and RFC 8725bis, so cheap and dangerous
//! checks run first: the token's format, the header's parameters, `alg` in the
//! allowlist (before any key lookup), the key set's freshness and the `kid`, key
//! selection, the signature, then the claims. Unlike jose it does not stop at the
//! first failure: every check that can run, runs.

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
    checks::issuer::run(&mut cx);
    checks::audience::run(&mut cx);
    checks::expiry::run(&mut cx);
    checks::not_before::run(&mut cx);
    checks::issued_at::run(&mut cx);
    checks::max_ttl::run(&mut cx);
    checks::required_claims::run(&mut cx);
    checks::scopes::run(&mut cx);
    checks::id_token::run(&mut cx);
    checks::revocation::run(&mut cx);
    cx.finish()
}

//! `max_ttl`: the token's lifetime, `exp - iat` (or what remains of it, `exp - now`,
//! when there is no `iat`), is at most the policy's `max_ttl_seconds`. Runs only when
//! the policy sets one.

use serde_json::json;

use super::Cx;
use crate::finding::{Check, Code, Finding};
use crate::timefmt::human_duration;

/// Compares the lifetime with `max_ttl_seconds`, from [`Cx::exp`] and [`Cx::iat`].
pub(crate) fn run(cx: &mut Cx<'_>) {
    let policy = cx.policy.policy();
    let Some(max) = policy.max_ttl_seconds else {
        return;
    };
    if cx.claims.is_none() {
        return;
    }
    cx.ran(Check::MaxTtl);
    let Some(exp) = cx.exp else {
        return;
    };
    let (maxf, nowf, skew) = (max as f64, cx.now as f64, policy.clock_skew_seconds as f64);
    let f = match cx.iat {
        Some(iat) if exp - iat > maxf => Finding::new(
            Code::MAX_TTL_EXCEEDED,
            format!(
                "the token lives {} (exp - iat), more than max_ttl_seconds {max} ({})",
                human_duration((exp - iat) as u64),
                human_duration(max)
            ),
            json!({"expected": max, "actual": exp - iat, "basis": "exp - iat"}),
        ),
        None if exp - nowf > maxf + skew => Finding::new(
            Code::MAX_TTL_EXCEEDED,
            format!(
                "the token has no iat and still has {} to live, more than max_ttl_seconds {max}",
                human_duration((exp - nowf) as u64)
            ),
            json!({"expected": max, "actual": exp - nowf, "basis": "exp - now"}),
        ),
        _ => return,
    };
    cx.push_claim(f);
}

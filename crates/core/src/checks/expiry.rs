//! `expiry`: `exp` is present and later than now minus the clock skew. A token without
//! `exp` would be valid forever and is refused.

use serde_json::json;

use super::{Cx, time};
use crate::finding::{Check, Code, Finding};
use crate::json::raw_value;
use crate::timefmt::{human_duration, utc};

/// Compares `exp` with the clock; keeps it in [`Cx::exp`].
pub(crate) fn run(cx: &mut Cx<'_>) {
    if cx.claims.is_none() {
        return;
    }
    cx.ran(Check::Expiry);
    let Some(raw) = cx.registered.exp else {
        if cx.introspected.is_some() {
            return; // RFC 7662: `exp` is optional; `active: true` says it is live
        }
        cx.push_claim(Finding::new(
            Code::EXPIRY_MISSING,
            "the token has no `exp`; a token without an expiry would be valid forever and is refused",
            json!({"expected": "an exp claim", "actual": null}),
        ));
        return;
    };
    let Some(exp) = time::read(cx, "exp", Some(raw), Code::EXPIRY_INVALID) else {
        return;
    };
    cx.exp = Some(exp);
    let skew = cx.policy.policy().clock_skew_seconds;
    let (now, nowf) = (cx.now, cx.now as f64);
    if exp <= nowf - skew as f64 {
        let ago = (nowf - exp).max(0.0) as u64;
        cx.push_claim(Finding::new(
            Code::TOKEN_EXPIRED,
            format!(
                "the token expired {} ago, at {} (clock skew allowed: {skew}s)",
                human_duration(ago),
                utc(exp)
            ),
            json!({"expected": format!("exp > now - {skew}s"), "actual": raw_value(raw), "now": now,
                   "exp_utc": utc(exp), "now_utc": utc(nowf), "expired_seconds_ago": ago}),
        ));
    }
}

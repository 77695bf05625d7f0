//! `not_before`: `nbf`, when present, is not later than now plus the clock skew.

use serde_json::json;

use super::{Cx, time};
use crate::finding::{Check, Code, Finding};
use crate::json::raw_value;
use crate::timefmt::{human_duration, utc};

/// Compares `nbf` with the clock.
pub(crate) fn run(cx: &mut Cx<'_>) {
    if cx.claims.is_none() {
        return;
    }
    cx.ran(Check::NotBefore);
    let raw = cx.registered.nbf;
    let Some(nbf) = time::read(cx, "nbf", raw, Code::NOT_BEFORE_INVALID) else {
        return;
    };
    let skew = cx.policy.policy().clock_skew_seconds;
    let (now, nowf) = (cx.now, cx.now as f64);
    if nbf > nowf + skew as f64 {
        let wait = (nbf - nowf) as u64;
        cx.push_claim(Finding::new(
            Code::TOKEN_NOT_YET_VALID,
            format!(
                "the token is not valid for another {}, until {} (clock skew allowed: {skew}s); check the issuer's clock",
                human_duration(wait),
                utc(nbf)
            ),
            json!({"expected": format!("nbf <= now + {skew}s"), "actual": raw.map(raw_value), "now": now, "nbf_utc": utc(nbf), "now_utc": utc(nowf)}),
        ));
    }
}

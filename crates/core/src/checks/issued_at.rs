//! `issued_at`: `iat`, when present, is a NumericDate not later than now plus the clock
//! skew (a token from the future means a wrong clock somewhere).

use serde_json::json;

use super::{Cx, time};
use crate::finding::{Check, Code, Finding};
use crate::json::raw_value;
use crate::timefmt::{human_duration, utc};

/// Compares `iat` with the clock; keeps it in [`Cx::iat`].
pub(crate) fn run(cx: &mut Cx<'_>) {
    let Some(raw) = cx.registered.iat else {
        return;
    };
    cx.ran(Check::IssuedAt);
    let Some(iat) = time::read(cx, "iat", Some(raw), Code::ISSUED_AT_INVALID) else {
        return;
    };
    cx.iat = Some(iat);
    let skew = cx.policy.policy().clock_skew_seconds;
    let (now, nowf) = (cx.now, cx.now as f64);
    if iat > nowf + skew as f64 {
        cx.push_claim(Finding::new(
            Code::ISSUED_IN_FUTURE,
            format!(
                "iat is {} in the future ({}); the issuer's clock or this machine's clock is wrong",
                human_duration((iat - nowf) as u64),
                utc(iat)
            ),
            json!({"expected": format!("iat <= now + {skew}s"), "actual": raw_value(raw), "now": now, "iat_utc": utc(iat)}),
        ));
    }
}

//! Per-caller rate limits for gateway mode: the GCRA (generic cell rate algorithm), one
//! "theoretical arrival time" per caller. Pure: time is passed in (seconds as `f64`).
//! The service runs the same arithmetic locally or, in fleet mode, in Redis (a Lua
//! script of these lines), so the headers mean the same everywhere.

use serde::{Deserialize, Serialize};

/// A profile's `rate_limit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// What identifies a caller: `sub`, `client_id`, `azp`, `ip` (the gateway's
    /// `X-Forwarded-For` / `X-Real-IP`), or any other claim name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, example = "sub"))]
    pub key: String,
    /// Sustained requests per second per caller (> 0; fractions allowed).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, example = 10))]
    pub per_second: f64,
    /// Requests a caller may make at once after being idle (>= 1). Default: `per_second`
    /// rounded up.
    #[serde(
        default,
        deserialize_with = "crate::policy::whole_u64_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 1, maximum = 1_000_000))]
    pub burst: Option<u64>,
}

impl RateLimit {
    /// Refuses limits that cannot work.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.key.is_empty() {
            return Err(("key", "must name a claim, or `ip`".into()));
        }
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(("per_second", "must be a number greater than 0".into()));
        }
        if let Some(b) = self.burst
            && !(1..=1_000_000).contains(&b)
        {
            return Err(("burst", "must be 1 to 1000000".into()));
        }
        Ok(())
    }

    /// The burst, defaulted.
    pub fn burst(&self) -> u64 {
        self.burst
            .unwrap_or_else(|| self.per_second.ceil().max(1.0) as u64)
    }

    /// Seconds between two requests at the sustained rate.
    pub fn interval(&self) -> f64 {
        1.0 / self.per_second
    }
}

/// What one request got.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Admitted.
    pub allowed: bool,
    /// `X-RateLimit-Limit`: the burst.
    pub limit: u64,
    /// `X-RateLimit-Remaining`: requests that would be admitted now.
    pub remaining: u64,
    /// `X-RateLimit-Reset`: seconds until the caller's allowance is full again.
    pub reset: f64,
    /// `Retry-After` when refused: seconds until one request is admitted.
    pub retry_after: f64,
}

/// Tolerance, in intervals: Unix times near 1.8e9 s carry ~2.4e-7 s of rounding in an
/// `f64`, which must not turn a whole allowance into "not quite one".
const EPS: f64 = 1e-4;

/// One caller's state: the theoretical arrival time (seconds). Start with 0.
///
/// Takes `n` requests at `now`: all of them or none. Returns the verdict and the new
/// state (unchanged when refused).
pub fn take(tat: f64, now: f64, n: u64, limit: &RateLimit) -> (Verdict, f64) {
    let t = limit.interval();
    let burst = limit.burst();
    let window = burst as f64 * t;
    let base = tat.max(now);
    let new_tat = base + n as f64 * t;
    let allow_at = new_tat - window;
    if allow_at - now > EPS * t {
        let remaining = ((now + window - base) / t + EPS).floor().max(0.0) as u64;
        let one_at = base + t - window;
        let v = Verdict {
            allowed: false,
            limit: burst,
            remaining,
            reset: (base - now).max(0.0),
            retry_after: (one_at - now).max(0.0),
        };
        return (v, tat);
    }
    let remaining = ((now + window - new_tat) / t + EPS).floor().max(0.0) as u64;
    let v = Verdict {
        allowed: true,
        limit: burst,
        remaining,
        reset: (new_tat - now).max(0.0),
        retry_after: 0.0,
    };
    (v, new_tat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: f64, burst: u64) -> RateLimit {
        RateLimit {
            key: "sub".into(),
            per_second,
            burst: Some(burst),
        }
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let l = limit(10.0, 5);
        let mut tat = 0.0;
        let now = 1000.0;
        for i in 0..5 {
            let (v, t) = take(tat, now, 1, &l);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 4 - i);
            tat = t;
        }
        let (v, _) = take(tat, now, 1, &l);
        assert!(!v.allowed);
        assert_eq!(v.remaining, 0);
        assert!((v.retry_after - 0.1).abs() < 1e-6, "{v:?}");
        assert!((v.reset - 0.5).abs() < 1e-6, "{v:?}");
        // 0.1 s later exactly one more
        let (v, t) = take(tat, now + 0.1, 1, &l);
        assert!(v.allowed);
        let (v, _) = take(t, now + 0.1, 1, &l);
        assert!(!v.allowed);
    }

    #[test]
    fn over_ten_seconds_the_rate_holds() {
        let l = limit(10.0, 10);
        let mut tat = 0.0;
        let mut admitted = 0;
        // a caller hammering every millisecond for 10 s
        for ms in 0..10_000 {
            let (v, t) = take(tat, 1000.0 + ms as f64 / 1000.0, 1, &l);
            if v.allowed {
                admitted += 1;
                tat = t;
            }
        }
        // the burst (10) plus 10/s for 10 s
        assert!((109..=111).contains(&admitted), "{admitted}");
    }

    #[test]
    fn unix_times_do_not_lose_an_allowance_to_rounding() {
        let l = limit(10.0, 1);
        let now = 1_796_135_941.176_2;
        let (v, tat) = take(0.0, now, 1, &l);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let (v, _) = take(tat, now + 0.1, 1, &l);
        assert!(v.allowed, "one interval later: {v:?}");
    }

    #[test]
    fn taking_several_is_all_or_nothing() {
        let l = limit(1.0, 3);
        let (v, tat) = take(0.0, 50.0, 3, &l);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let (v, same) = take(tat, 50.0, 1, &l);
        assert!(!v.allowed);
        assert_eq!(same, tat);
    }
}

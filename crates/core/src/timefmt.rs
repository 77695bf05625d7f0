//! NumericDate reading (RFC 7519 §2) and human time formatting.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Latest NumericDate accepted: 9999-12-31T23:59:59Z. Larger values are refused so an
/// overflow can never mean "never expires".
pub const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// Reads a NumericDate: a finite JSON number (integer or not) between 0 and
/// [`MAX_NUMERIC_DATE`]. Strings, booleans, null and other types are refused.
pub fn numeric_date(v: &Value) -> Result<f64, String> {
    let Value::Number(n) = v else {
        return Err(format!(
            "must be a JSON number of seconds since 1970, found {}",
            crate::json::kind_of(v)
        ));
    };
    numeric_date_f64(n.as_f64().ok_or("is not a representable number")?)
}

/// The range rule of [`numeric_date`] for a number already read.
pub fn numeric_date_f64(f: f64) -> Result<f64, String> {
    if !f.is_finite() {
        return Err("is not finite".into());
    }
    if !(0.0..=MAX_NUMERIC_DATE).contains(&f) {
        return Err(format!("{f} is outside 0..={MAX_NUMERIC_DATE} (year 9999)"));
    }
    Ok(f)
}

/// RFC 3339 UTC time, e.g. `2026-11-22T17:33:00Z`.
pub fn utc(secs: f64) -> String {
    // truncation toward the past is the honest rounding for a displayed instant
    OffsetDateTime::from_unix_timestamp(secs.floor() as i64)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{secs}"))
}

/// A compact human duration: `45s`, `3m 20s`, `2h 5m`, `4d 3h`.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `expires in 2h 5m` / `expired 3m ago` style text for an instant relative to `now`.
pub fn relative(t: f64, now: i64, future: &str, past: &str) -> String {
    let delta = t - now as f64;
    if delta >= 0.0 {
        format!("{future} {}", human_duration(delta.round() as u64))
    } else {
        format!("{past} {} ago", human_duration((-delta).round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&json!(1_700_000_000)), Ok(1_700_000_000.0));
        assert_eq!(numeric_date(&json!(1_700_000_000.5)), Ok(1_700_000_000.5));
        assert_eq!(numeric_date(&json!(1.7e9)), Ok(1.7e9));
        assert_eq!(numeric_date(&json!(0)), Ok(0.0));
        for bad in [
            json!("1700000000"),
            json!(true),
            json!(null),
            json!([]),
            json!({}),
            json!(-1),
            json!(9_223_372_036_854_775_807_i64),
            json!(1e308),
            json!(u64::MAX),
        ] {
            assert!(numeric_date(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000.9), "2023-11-14T22:13:20Z");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(200), "3m 20s");
        assert_eq!(human_duration(7_500), "2h 5m");
        assert_eq!(human_duration(3 * 86_400 + 3_600), "3d 1h");
        assert_eq!(
            relative(110.0, 100, "expires in", "expired"),
            "expires in 10s"
        );
        assert_eq!(
            relative(40.0, 100, "expires in", "expired"),
            "expired 1m ago"
        );
    }
}

//! Decoding without verifying, for people debugging a token: the parts, the times in
//! words, and warnings about suspicious traits. It never says a token is valid.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::alg::Alg;
use crate::diagnostics;
use crate::finding::Finding;
use crate::json::JsonObject;
use crate::timefmt::{human_duration, numeric_date, relative, utc};
use crate::token::Token;

/// Tokens living longer than this get a warning.
pub const LONG_LIFETIME_SECONDS: f64 = 86_400.0;

/// One time claim explained.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeClaim {
    /// `exp`, `nbf`, `iat` or `auth_time`.
    pub claim: String,
    /// The raw value.
    pub value: Value,
    /// RFC 3339 UTC, when the value is a NumericDate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc: Option<String>,
    /// e.g. "expires in 2h 5m", "expired 3d 1h ago".
    pub relative: String,
}

/// A suspicious trait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable code (see `docs/api.md`).
    pub code: &'static str,
    /// What it means.
    pub message: String,
}

/// What can be read from a token without a key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    /// Always false: inspection verifies nothing.
    pub verified: bool,
    /// The decoded header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<Arc<JsonObject>>,
    /// The decoded claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Arc<JsonObject>>,
    /// Time claims explained.
    pub times: Vec<TimeClaim>,
    /// Suspicious traits.
    pub warnings: Vec<Warning>,
    /// Why parts did not decode.
    pub format_errors: Vec<Finding>,
}

fn warn(out: &mut Vec<Warning>, code: &'static str, message: impl Into<String>) {
    out.push(Warning {
        code,
        message: message.into(),
    });
}

/// Describes a parsed token, relative to `now`.
pub fn inspect(token: &Token<'_>, now: i64) -> Inspection {
    let mut warnings = Vec::new();
    let mut out = Inspection {
        verified: false,
        header: None,
        claims: None,
        times: Vec::new(),
        warnings: Vec::new(),
        format_errors: Vec::new(),
    };
    if token.was_wrapped() {
        warn(
            &mut warnings,
            "NOT_BARE",
            "the input had a Bearer prefix or whitespace; the token inside was decoded",
        );
    }
    if token.is_jwe() {
        warn(
            &mut warnings,
            "JWE",
            "an encrypted JWE, not a signed JWT: with Auth0 this means no `audience` was requested",
        );
    }
    if token
        .findings()
        .iter()
        .any(|f| f.code == crate::Code::TOKEN_OPAQUE)
    {
        warn(
            &mut warnings,
            "OPAQUE",
            "an opaque token, not a JWT: with Auth0 this means no `audience` was requested",
        );
    }
    out.header = token.header().cloned();
    out.format_errors = token
        .findings()
        .iter()
        .filter(|f| {
            !matches!(
                f.code,
                crate::Code::TOKEN_WHITESPACE | crate::Code::TOKEN_BEARER_PREFIX
            )
        })
        .cloned()
        .collect();
    let Some(parsed) = token.parts() else {
        out.warnings = warnings;
        return out;
    };
    header_warnings(&parsed.header, &mut warnings);
    if parsed.signature.is_some_and(str::is_empty) {
        warn(&mut warnings, "UNSIGNED", "the signature segment is empty");
    }
    if let Some(claims) = &parsed.claims {
        explain_times(claims, now, &mut out.times, &mut warnings);
        if let Some(f) = diagnostics::id_token_hint(claims) {
            warn(&mut warnings, "ID_TOKEN", f.message);
        }
    }
    out.warnings = warnings;
    out.claims = parsed.claims.clone();
    out
}

/// Warnings about the header: `alg` none, symmetric or unknown; embedded keys and key
/// URLs; critical extensions.
fn header_warnings(h: &JsonObject, warnings: &mut Vec<Warning>) {
    match h.get("alg") {
        Some(Value::String(a)) if a.trim().eq_ignore_ascii_case("none") => warn(
            warnings,
            "ALG_NONE",
            "alg none: an unsigned token that anyone can write",
        ),
        Some(Value::String(a)) if Alg::from_name(a.as_str()).is_some_and(Alg::is_hmac) => warn(
            warnings,
            "SYMMETRIC_ALG",
            format!(
                "{a}: anyone holding the shared secret can mint tokens; if the issuer publishes public keys, this may be a key-confusion attempt"
            ),
        ),
        Some(Value::String(a)) if Alg::from_name(a.as_str()).is_none() => warn(
            warnings,
            "UNKNOWN_ALG",
            format!("alg {a:?} is not a supported signature algorithm"),
        ),
        Some(Value::String(_)) => {}
        _ => warn(warnings, "ALG_MISSING", "no usable alg in the header"),
    }
    for (param, what) in [
        ("jwk", "an embedded public key"),
        ("x5c", "an embedded certificate chain"),
    ] {
        if h.contains_key(param) {
            warn(
                warnings,
                "EMBEDDED_KEY",
                format!(
                    "the header carries {what} (`{param}`): a verifier that trusts it accepts forgeries"
                ),
            );
        }
    }
    for param in ["jku", "x5u"] {
        if h.contains_key(param) {
            warn(
                warnings,
                "KEY_URL",
                format!(
                    "the header names a key URL (`{param}`): a verifier that follows it can be forged against or used for SSRF"
                ),
            );
        }
    }
    if h.contains_key("crit") {
        warn(warnings, "CRIT", "the header lists critical extensions");
    }
}

fn explain_times(
    claims: &JsonObject,
    now: i64,
    times: &mut Vec<TimeClaim>,
    warnings: &mut Vec<Warning>,
) {
    let nowf = now as f64;
    let mut read = |name: &str, future: &str, past: &str| -> Option<f64> {
        let v = claims.get(name)?;
        let parsed = numeric_date(v);
        times.push(TimeClaim {
            claim: name.to_owned(),
            value: v.clone(),
            utc: parsed.as_ref().ok().map(|t| utc(*t)),
            relative: match &parsed {
                Ok(t) => relative(*t, now, future, past),
                Err(e) => format!("not a valid time: {e}"),
            },
        });
        parsed.ok()
    };
    let iat = read("iat", "issued in", "issued");
    let nbf = read("nbf", "valid in", "valid since");
    let exp = read("exp", "expires in", "expired");
    read("auth_time", "authenticated in", "authenticated");
    match exp {
        None if !claims.contains_key("exp") => warn(
            warnings,
            "NO_EXPIRY",
            "no exp: the token never expires; JWTShield refuses such tokens",
        ),
        Some(exp) if exp <= nowf => warn(
            warnings,
            "EXPIRED",
            format!("expired {} ago", human_duration((nowf - exp) as u64)),
        ),
        _ => {}
    }
    if let Some(nbf) = nbf
        && nbf > nowf
    {
        warn(
            warnings,
            "NOT_YET_VALID",
            format!(
                "not valid for another {}",
                human_duration((nbf - nowf) as u64)
            ),
        );
    }
    if let (Some(exp), Some(start)) = (exp, iat.or(nbf))
        && exp - start > LONG_LIFETIME_SECONDS
    {
        warn(
            warnings,
            "LONG_LIFETIME",
            format!(
                "the token lives {}: long-lived bearer tokens are a risk when leaked",
                human_duration((exp - start) as u64)
            ),
        );
    }
    if let Some(iat) = iat
        && iat > nowf + 60.0
    {
        warn(
            warnings,
            "ISSUED_IN_FUTURE",
            "iat is in the future: a clock is wrong",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;

    fn tok(h: &str, p: &str, s: &str) -> String {
        format!("{}.{}.{}", b64::encode(h), b64::encode(p), s)
    }

    fn inspect(token: &str, now: i64) -> Inspection {
        super::inspect(&Token::parse(token, &crate::Limits::default()), now)
    }

    fn codes(i: &Inspection) -> Vec<&'static str> {
        i.warnings.iter().map(|w| w.code).collect()
    }

    #[test]
    fn explains_times_and_warns() {
        let now = 1_700_000_000;
        let t = tok(
            r#"{"alg":"none","jku":"http://x"}"#,
            r#"{"iat":1699900000,"exp":1799999999,"nonce":"n"}"#,
            "",
        );
        let i = inspect(&t, now);
        assert!(!i.verified);
        assert_eq!(
            codes(&i),
            [
                "ALG_NONE",
                "KEY_URL",
                "UNSIGNED",
                "LONG_LIFETIME",
                "ID_TOKEN"
            ]
        );
        assert_eq!(i.times[0].claim, "iat");
        assert_eq!(i.times[0].relative, "issued 1d 3h ago");
        assert!(i.times[1].relative.starts_with("expires in"));
        assert_eq!(i.times[1].utc.as_deref(), Some("2027-01-15T07:59:59Z"));
    }

    #[test]
    fn no_exp_and_formats() {
        let i = inspect(&tok(r#"{"alg":"RS256"}"#, r#"{"sub":"a"}"#, "AA"), 0);
        assert_eq!(codes(&i), ["NO_EXPIRY"]);
        assert_eq!(codes(&inspect("opaque-token-value", 0)), ["OPAQUE"]);
        let jwe = format!(
            "{}.a.b.c.d",
            b64::encode(r#"{"alg":"dir","enc":"A256GCM"}"#)
        );
        let i = inspect(&jwe, 0);
        assert_eq!(codes(&i), ["JWE"]);
        assert_eq!(i.header.unwrap().get("enc").unwrap(), "A256GCM");
        let b = inspect(
            &format!("Bearer {}", tok(r#"{"alg":"HS256"}"#, r#"{"exp":1}"#, "AA")),
            10,
        );
        assert_eq!(codes(&b), ["NOT_BARE", "SYMMETRIC_ALG", "EXPIRED"]);
    }
}

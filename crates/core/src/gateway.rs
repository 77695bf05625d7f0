//! Turning a report into an HTTP answer for gateways and middleware, as RFC 6750 §3
//! says: 401 `invalid_token`, 403 `insufficient_scope` with `scope`, 400
//! `invalid_request`, 401 without an error code when no token was sent. Keys that
//! cannot be obtained are the server's problem: 503, never 200. Pure: the server's
//! `/v1/authz` and the Rust middleware both use it, so they answer alike.

use crate::finding::{Check, Code};
use crate::report::Report;

/// The RFC 6750 error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerError {
    /// 400: the request is malformed.
    InvalidRequest,
    /// 401: the token is bad.
    InvalidToken,
    /// 403: the token lacks a scope.
    InsufficientScope,
    /// 401: the DPoP proof is missing or bad (RFC 9449 §7.1).
    InvalidDpopProof,
}

impl BearerError {
    /// The error code as sent in `WWW-Authenticate`.
    pub fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
            BearerError::InvalidDpopProof => "invalid_dpop_proof",
        }
    }
}

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// HTTP status: 200, 400, 401, 403 or 503.
    pub status: u16,
    /// The RFC 6750 error code, when there is one.
    pub error: Option<BearerError>,
    /// A short description (printable ASCII, no quotes or backslashes).
    pub description: Option<String>,
    /// For 403: the scopes required.
    pub scope: Option<String>,
    /// The challenge is `DPoP` (RFC 9449 §7.1) with these proof algorithms, not
    /// `Bearer`: the token is DPoP-bound, came with the DPoP scheme, or the profile
    /// requires DPoP.
    pub dpop_algs: Option<String>,
}

/// RFC 6750 `error_description` allows %x20-21 / %x23-5B / %x5D-7E only.
fn sanitize(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect();
    if clean.len() > 200 {
        format!("{}...", &clean[..197])
    } else {
        clean
    }
}

impl Decision {
    /// 200.
    pub fn allow() -> Decision {
        Decision {
            status: 200,
            error: None,
            description: None,
            scope: None,
            dpop_algs: None,
        }
    }

    /// 401 without an error code: no token was sent (RFC 6750 §3.1).
    pub fn no_token() -> Decision {
        Decision {
            status: 401,
            error: None,
            description: None,
            scope: None,
            dpop_algs: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: &str) -> Decision {
        Decision {
            status: 400,
            error: Some(BearerError::InvalidRequest),
            description: Some(sanitize(description)),
            scope: None,
            dpop_algs: None,
        }
    }

    /// 401 `invalid_token`.
    pub fn invalid_token(description: &str) -> Decision {
        Decision {
            status: 401,
            error: Some(BearerError::InvalidToken),
            description: Some(sanitize(description)),
            scope: None,
            dpop_algs: None,
        }
    }

    /// 403 `insufficient_scope`.
    pub fn insufficient_scope(required: &[String], missing: &[&str]) -> Decision {
        Decision {
            status: 403,
            error: Some(BearerError::InsufficientScope),
            description: Some(sanitize(&format!(
                "the token lacks the scope{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(" ")
            ))),
            scope: Some(sanitize(&required.join(" "))),
            dpop_algs: None,
        }
    }

    /// 503: the issuer's keys cannot be obtained.
    pub fn unavailable(description: &str) -> Decision {
        Decision {
            status: 503,
            error: None,
            description: Some(sanitize(description)),
            scope: None,
            dpop_algs: None,
        }
    }

    /// 401 `invalid_dpop_proof` (RFC 9449 §7.1).
    pub fn invalid_dpop_proof(description: &str) -> Decision {
        Decision {
            error: Some(BearerError::InvalidDpopProof),
            ..Decision::invalid_token(description)
        }
    }

    /// The same answer with a `DPoP` challenge naming the proof algorithms.
    pub fn with_dpop_challenge(self, algs: &str) -> Decision {
        Decision {
            dpop_algs: Some(sanitize(algs)),
            ..self
        }
    }

    /// The `WWW-Authenticate` value, for 400, 401 and 403.
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        if !matches!(self.status, 400 | 401 | 403) {
            return None;
        }
        let scheme = if self.dpop_algs.is_some() {
            "DPoP"
        } else {
            "Bearer"
        };
        let mut v = format!("{scheme} realm=\"{}\"", sanitize(realm));
        if let Some(e) = self.error {
            v.push_str(&format!(", error=\"{}\"", e.as_str()));
        }
        if let (Some(_), Some(d)) = (self.error, &self.description) {
            v.push_str(&format!(", error_description=\"{d}\""));
        }
        if let Some(s) = &self.scope {
            v.push_str(&format!(", scope=\"{s}\""));
        }
        if let Some(a) = &self.dpop_algs {
            v.push_str(&format!(", algs=\"{a}\""));
        }
        Some(v)
    }
}

/// The token of an `Authorization` header value: `Ok(None)` when there is no Bearer
/// token (no header, or another scheme), `Err` when the Bearer credentials are
/// malformed (RFC 6750 §2.1 b64token).
pub fn bearer_token(value: Option<&str>) -> Result<Option<&str>, Decision> {
    match value.map(split_scheme) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            token68(rest, "Bearer", "RFC 6750 b64token").map(Some)
        }
        _ => Ok(None),
    }
}

/// The credentials of an `Authorization` header value: `Bearer` (RFC 6750) or `DPoP`
/// (RFC 9449 §7.1, the same token68 syntax). `Ok(None)` when there is none (no header,
/// or another scheme), `Err` when the credentials are malformed.
pub fn credentials(value: Option<&str>) -> Result<Option<(crate::dpop::Scheme, &str)>, Decision> {
    use crate::dpop::Scheme;
    match value.map(split_scheme) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            token68(rest, "Bearer", "RFC 6750 b64token").map(|t| Some((Scheme::Bearer, t)))
        }
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("dpop") => {
            token68(rest, "DPoP", "RFC 9449 token68").map(|t| Some((Scheme::DPoP, t)))
        }
        _ => Ok(None),
    }
}

/// An `Authorization` value's scheme and the rest.
fn split_scheme(value: &str) -> (&str, &str) {
    let value = value.trim();
    value.split_once(' ').unwrap_or((value, ""))
}

/// The single token after a scheme (b64token / token68: the same characters, then
/// `=` padding); the errors name the scheme and the syntax.
fn token68<'a>(rest: &'a str, scheme: &str, syntax: &str) -> Result<&'a str, Decision> {
    let token = rest.trim();
    if token.is_empty() {
        return Err(Decision::invalid_request(&format!(
            "the {scheme} credentials are empty"
        )));
    }
    let chars = token.trim_end_matches('=');
    if chars.is_empty() || !chars.bytes().all(is_b64token_char) {
        return Err(Decision::invalid_request(&format!(
            "the {scheme} credentials are not a single token ({syntax})"
        )));
    }
    Ok(token)
}

/// RFC 6750 §2.1 `b64token` characters (before the trailing `=`), as a table: the
/// check runs over every byte of every token.
const B64TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    t
};

fn is_b64token_char(b: u8) -> bool {
    B64TOKEN[usize::from(b)]
}

/// The profile for a request that names none: the one whose issuers include the
/// token's `iss`, found in `index` with one lookup. The `iss` is read unverified, only to
/// choose the policy that then verifies the token (its keys, its exact issuer). A refusal
/// names no configured issuer.
pub fn route_by_issuer<'i>(
    token: &crate::Token<'_>,
    index: &'i crate::IssuerIndex,
) -> Result<&'i str, Decision> {
    let Some(claims) = token.claims() else {
        let why = token
            .findings()
            .first()
            .map_or("the token does not decode", |f| f.code.as_str());
        return Err(Decision::invalid_token(&format!(
            "{why}: the token names no issuer, so no profile can be chosen"
        )));
    };
    let Some(iss) = claims.get_str("iss") else {
        return Err(Decision::invalid_token(
            "ISSUER_MISSING: the token has no iss, so no profile can be chosen",
        ));
    };
    match index.route(iss) {
        crate::Route::Profile(id) => Ok(id),
        crate::Route::Ambiguous(_) => Err(Decision::invalid_request(
            "several profiles accept the token's issuer: name one with ?profile= or X-JWTShield-Profile",
        )),
        crate::Route::Unknown => Err(Decision::invalid_token(
            "ISSUER_UNKNOWN: no profile accepts the token's issuer",
        )),
    }
}

const KEYS_UNAVAILABLE: [Code; 3] = [
    Code::JWKS_UNREACHABLE,
    Code::JWKS_REFUSED,
    Code::DISCOVERY_ISSUER_MISMATCH,
];

/// DPoP findings about the proof (answered `invalid_dpop_proof`); the others are about
/// the token and its scheme (`invalid_token`).
const DPOP_PROOF_CODES: [Code; 8] = [
    Code::DPOP_PROOF_MISSING,
    Code::DPOP_PROOF_INVALID,
    Code::DPOP_METHOD_MISMATCH,
    Code::DPOP_URI_MISMATCH,
    Code::DPOP_PROOF_STALE,
    Code::DPOP_ATH_MISMATCH,
    Code::DPOP_KEY_MISMATCH,
    Code::DPOP_PROOF_REPLAYED,
];

/// The answer for a validated token. `required_scopes` are the policy's plus any the
/// caller adds (for the 403 `scope` parameter and the extra check).
pub fn decide(report: &Report, policy_scopes: &[String], extra_scopes: &[String]) -> Decision {
    let mut required: Vec<String> = policy_scopes.to_vec();
    for s in extra_scopes {
        if !required.contains(s) {
            required.push(s.clone());
        }
    }
    if report.valid() {
        if extra_scopes.is_empty() {
            return Decision::allow();
        }
        let granted = report
            .claims()
            .map(crate::claims::granted_scopes_ref)
            .unwrap_or_default();
        let missing = crate::claims::missing_scopes(&required, &granted);
        return if missing.is_empty() {
            Decision::allow()
        } else {
            Decision::insufficient_scope(&required, &missing)
        };
    }
    let errors: Vec<_> = report.errors().collect();
    if let Some(f) = errors.iter().find(|f| KEYS_UNAVAILABLE.contains(&f.code)) {
        return Decision::unavailable(&format!("the issuer's keys are unavailable ({})", f.code));
    }
    if let Some(f) = errors
        .iter()
        .find(|f| f.code == Code::INTROSPECTION_UNREACHABLE)
    {
        return Decision::unavailable(&format!(
            "the issuer's introspection endpoint is unavailable ({})",
            f.code
        ));
    }
    if !errors.is_empty() && errors.iter().all(|f| f.check == Check::Scopes) {
        let missing: Vec<&str> = report.missing_scopes().iter().map(String::as_str).collect();
        return Decision::insufficient_scope(&required, &missing);
    }
    match errors.first() {
        Some(f) if f.check == Check::Dpop && DPOP_PROOF_CODES.contains(&f.code) => {
            Decision::invalid_dpop_proof(&format!("{} check failed: {}", f.check, f.code))
        }
        Some(f) => Decision::invalid_token(&format!("{} check failed: {}", f.check, f.code)),
        None => Decision::invalid_token("the token is not valid"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(None), Ok(None));
        assert_eq!(bearer_token(Some("Basic dXNlcjpwdw==")), Ok(None));
        assert_eq!(
            bearer_token(Some("Bearer abc.def-_.x")),
            Ok(Some("abc.def-_.x"))
        );
        assert_eq!(bearer_token(Some("bearer   abc")), Ok(Some("abc")));
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer \"abc\"",
            "Bearer ===",
        ] {
            let d = bearer_token(Some(bad)).unwrap_err();
            assert_eq!(
                (d.status, d.error),
                (400, Some(BearerError::InvalidRequest)),
                "{bad}"
            );
        }
    }

    #[test]
    fn credentials_parsing() {
        use crate::dpop::Scheme;
        assert_eq!(credentials(None), Ok(None));
        assert_eq!(credentials(Some("Basic dXNlcjpwdw==")), Ok(None));
        assert_eq!(
            credentials(Some("Bearer a.b.c")),
            Ok(Some((Scheme::Bearer, "a.b.c")))
        );
        assert_eq!(
            credentials(Some(" dpop  a.b.c ")),
            Ok(Some((Scheme::DPoP, "a.b.c")))
        );
        for (bad, says) in [
            ("DPoP", "the DPoP credentials are empty"),
            (
                "DPoP a b",
                "the DPoP credentials are not a single token (RFC 9449 token68)",
            ),
            (
                "Bearer ===",
                "the Bearer credentials are not a single token (RFC 6750 b64token)",
            ),
        ] {
            let d = credentials(Some(bad)).unwrap_err();
            assert_eq!(
                (d.status, d.description.as_deref()),
                (400, Some(says)),
                "{bad}"
            );
        }
    }

    #[test]
    fn challenges() {
        assert_eq!(
            Decision::no_token()
                .www_authenticate("jwtshield")
                .as_deref(),
            Some("Bearer realm=\"jwtshield\"")
        );
        let d = Decision::invalid_token("expiry check failed: \"TOKEN_EXPIRED\"\n");
        assert_eq!(
            d.www_authenticate("jwtshield").as_deref(),
            Some(
                "Bearer realm=\"jwtshield\", error=\"invalid_token\", error_description=\"expiry check failed: 'TOKEN_EXPIRED'?\""
            )
        );
        let d = Decision::insufficient_scope(&["admin:read".into(), "x".into()], &["admin:read"]);
        assert_eq!(
            d.www_authenticate("r").as_deref(),
            Some(
                "Bearer realm=\"r\", error=\"insufficient_scope\", error_description=\"the token lacks the scope admin:read\", scope=\"admin:read x\""
            )
        );
        assert_eq!(Decision::unavailable("x").www_authenticate("r"), None);
        assert_eq!(Decision::allow().www_authenticate("r"), None);
    }
}

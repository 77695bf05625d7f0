//! Findings are data: which check, a stable code, a severity, a message a person can act
//! on, and the offending values as evidence. This file is the one table of finding codes;
//! `docs/api.md` and the OpenAPI document are generated from [`Code::ALL`].

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// The checks a validation runs. The first eight are the product doc's eight checks and
/// always appear in a report; the others appear when they apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// Cryptographic match against the key set.
    Signature,
    /// Header `alg` is in the policy's allowlist.
    Algorithm,
    /// `iss` equals the policy's issuer exactly.
    Issuer,
    /// `aud` contains one of the policy's audiences.
    Audience,
    /// `exp` is present and in the future (with clock skew).
    Expiry,
    /// `nbf`, when present, is not in the future (with clock skew).
    NotBefore,
    /// Required and custom claims are present with the right shape and value.
    RequiredClaims,
    /// The token's `kid` resolves through a current key set.
    KeyFreshness,
    /// The token is a well-formed compact JWS.
    Format,
    /// Header `typ` matches the policy's `token_type`.
    TokenType,
    /// `exp - iat` is within the policy's `max_ttl_seconds`.
    MaxTtl,
    /// `iat`, when present, is a valid time not in the future.
    IssuedAt,
    /// The token grants every scope in `required_scopes`.
    Scopes,
    /// No revocation rule refuses the token (runs for verified tokens when the caller
    /// keeps revocation rules: the service does).
    Revocation,
    /// A DPoP-bound token (`cnf.jkt`) comes with a valid proof of possession of its key
    /// (RFC 9449); runs when the token is bound, the profile requires DPoP, or a proof
    /// or the DPoP scheme came with it.
    Dpop,
    /// An opaque token is active at the issuer's introspection endpoint (RFC 7662);
    /// runs instead of the signature for profiles with `introspection`.
    Introspection,
}

impl Check {
    /// The eight checks every report carries.
    pub const EIGHT: [Check; 8] = [
        Check::Signature,
        Check::Algorithm,
        Check::Issuer,
        Check::Audience,
        Check::Expiry,
        Check::NotBefore,
        Check::RequiredClaims,
        Check::KeyFreshness,
    ];

    /// Every check, in report order.
    pub const ALL: [Check; 16] = [
        Check::Signature,
        Check::Algorithm,
        Check::Issuer,
        Check::Audience,
        Check::Expiry,
        Check::NotBefore,
        Check::RequiredClaims,
        Check::KeyFreshness,
        Check::Format,
        Check::TokenType,
        Check::MaxTtl,
        Check::IssuedAt,
        Check::Scopes,
        Check::Revocation,
        Check::Dpop,
        Check::Introspection,
    ];

    /// The contract's id for this check.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Signature => "signature",
            Check::Algorithm => "algorithm",
            Check::Issuer => "issuer",
            Check::Audience => "audience",
            Check::Expiry => "expiry",
            Check::NotBefore => "not_before",
            Check::RequiredClaims => "required_claims",
            Check::KeyFreshness => "key_freshness",
            Check::Format => "format",
            Check::TokenType => "token_type",
            Check::MaxTtl => "max_ttl",
            Check::IssuedAt => "issued_at",
            Check::Scopes => "scopes",
            Check::Revocation => "revocation",
            Check::Dpop => "dpop",
            Check::Introspection => "introspection",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How serious a finding is. Only `error` makes a token invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A hint that explains another finding.
    Info,
    /// Suspicious, but not a reason to refuse the token.
    Warning,
    /// The token must be refused.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $code:ident => ($check:ident, $sev:ident); )*) => {
        /// A stable finding code. Never renamed; new codes may be added.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $code, )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[ $( Code::$code, )* ];

            /// The UPPER_SNAKE name.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$code => stringify!($code), )* }
            }

            /// The check this code belongs to.
            pub fn check(self) -> Check {
                match self { $( Code::$code => Check::$check, )* }
            }

            /// Its severity.
            pub fn severity(self) -> Severity {
                match self { $( Code::$code => Severity::$sev, )* }
            }

            /// One-sentence documentation.
            pub fn description(self) -> &'static str {
                match self { $( Code::$code => concat!($($doc),*).trim_ascii(), )* }
            }
        }
    };
}

codes! {
    /// The token is empty.
    TOKEN_EMPTY => (Format, Error);
    /// The token is longer than the size limit; nothing was decoded.
    TOKEN_TOO_LARGE => (Format, Error);
    /// The token starts with `Bearer `: the whole Authorization header value was sent. The rest was analysed.
    TOKEN_BEARER_PREFIX => (Format, Error);
    /// The token has surrounding whitespace or quotes. The trimmed token was analysed.
    TOKEN_WHITESPACE => (Format, Error);
    /// Not a JWT: an opaque access token (Auth0 issues one when the authorize request has no `audience`).
    TOKEN_OPAQUE => (Format, Error);
    /// Five segments: an encrypted JWE, not a signed JWS (Auth0: no `audience` was requested, so the token is only for /userinfo).
    TOKEN_IS_JWE => (Format, Error);
    /// A JWS JSON serialization; only the compact form is accepted for JWTs.
    TOKEN_JSON_SERIALIZATION => (Format, Error);
    /// Not three dot-separated segments of base64url characters.
    TOKEN_MALFORMED => (Format, Error);
    /// A segment is not strict base64url (padding, whitespace, other alphabet, non-canonical trailing bits).
    BASE64_INVALID => (Format, Error);
    /// The header is not a UTF-8 JSON object with nothing after it.
    HEADER_INVALID => (Format, Error);
    /// The payload is not a UTF-8 JSON object with nothing after it; claims were not checked.
    PAYLOAD_INVALID => (Format, Error);
    /// A JSON member name appears twice in the header or payload.
    JSON_DUPLICATE_MEMBER => (Format, Error);
    /// The header or payload nests objects or arrays deeper than the limit.
    JSON_TOO_DEEP => (Format, Error);
    /// The header lists `crit` extensions; none are supported, so the JWS is invalid (RFC 7515 §4.1.11).
    CRIT_UNSUPPORTED => (Format, Error);
    /// The header asks for compressed content (`zip`), which JWS does not allow.
    ZIP_UNSUPPORTED => (Format, Error);
    /// `cty: JWT`: a nested token; nested JWTs are not accepted.
    NESTED_JWT_UNSUPPORTED => (Format, Error);
    /// The header declares a content type (`cty`) other than JSON claims.
    CTY_UNSUPPORTED => (Format, Error);
    /// The header `kid` is not a short string without control characters.
    KID_INVALID => (Format, Error);
    /// The header has no `alg`.
    ALG_MISSING => (Algorithm, Error);
    /// The header `alg` is not a string naming an algorithm.
    ALG_INVALID => (Algorithm, Error);
    /// `alg: none` (in any letter case): an unsigned token, never accepted.
    ALG_NONE => (Algorithm, Error);
    /// The header `alg` is not in the policy's `allowed_algs`; the signature was not checked.
    ALG_NOT_ALLOWED => (Algorithm, Error);
    /// The signature segment is empty.
    SIGNATURE_MISSING => (Signature, Error);
    /// The signature has the wrong length or form for its algorithm (e.g. a DER ECDSA signature).
    SIGNATURE_MALFORMED => (Signature, Error);
    /// The signature does not verify with the issuer's key.
    SIGNATURE_INVALID => (Signature, Error);
    /// The key named by `kid` belongs to another algorithm family or names another `alg`.
    KEY_ALG_MISMATCH => (Signature, Error);
    /// The key named by `kid` is not for verifying signatures (`use`/`key_ops`).
    KEY_USE_INVALID => (Signature, Error);
    /// The key named by `kid` (or the policy's key) was refused when loaded (weak, malformed, private material).
    KEY_REJECTED => (Signature, Error);
    /// No key in the key set can verify this algorithm.
    NO_USABLE_KEY => (Signature, Error);
    /// The header carries a key or key URL (`jwk`, `jku`, `x5u`, `x5c`); it was ignored, keys only come from the policy.
    HEADER_KEY_IGNORED => (Signature, Warning);
    /// The header `kid` is not in the issuer's key set, even after a refresh.
    KID_NOT_FOUND => (KeyFreshness, Error);
    /// The issuer's key set could not be fetched and no usable cached copy exists.
    JWKS_UNREACHABLE => (KeyFreshness, Error);
    /// The key set is past its lifetime and could not be refreshed; the last good keys were used.
    JWKS_STALE => (KeyFreshness, Warning);
    /// The key set URL was refused before connecting: not https, or an internal address (SSRF guard).
    JWKS_REFUSED => (KeyFreshness, Error);
    /// The issuer's discovery document names a different `issuer`, so its keys are not trusted.
    DISCOVERY_ISSUER_MISMATCH => (KeyFreshness, Error);
    /// The token has no `iss`.
    ISSUER_MISSING => (Issuer, Error);
    /// `iss` is not a string.
    ISSUER_INVALID => (Issuer, Error);
    /// `iss` differs from the policy's issuer.
    ISSUER_MISMATCH => (Issuer, Error);
    /// No profile accepts the token's `iss` (gateway routing by issuer); nothing of the
    /// configured issuers is listed.
    ISSUER_UNKNOWN => (Issuer, Error);
    /// `iss` fits the issuer template, but its tenant is not one of `allowed_tenants`.
    ISSUER_TENANT_NOT_ALLOWED => (Issuer, Error);
    /// With an issuer template: `tid` is missing or differs from the tenant in `iss`.
    TENANT_MISMATCH => (Issuer, Error);
    /// `iss` differs from the expected issuer only by a trailing slash (Auth0 issuers end with `/`).
    ISSUER_TRAILING_SLASH => (Issuer, Info);
    /// `iss` differs from the expected issuer only in letter case; issuers compare case-sensitively.
    ISSUER_CASE_DIFFERS => (Issuer, Info);
    /// `iss` differs from the expected issuer only in its scheme (http vs https).
    ISSUER_SCHEME_DIFFERS => (Issuer, Info);
    /// `iss` is another tenant, realm or authorization server of the same identity provider.
    ISSUER_OTHER_TENANT => (Issuer, Info);
    /// The token has no `aud`.
    AUDIENCE_MISSING => (Audience, Error);
    /// `aud` is not a string or an array of strings.
    AUDIENCE_INVALID => (Audience, Error);
    /// `aud` does not contain any of the policy's audiences.
    AUDIENCE_MISMATCH => (Audience, Error);
    /// `aud` looks like an application's client id: an ID token, or a token requested without your API's `audience`.
    AUDIENCE_LOOKS_LIKE_CLIENT_ID => (Audience, Info);
    /// `aud` differs from an expected audience only by a trailing slash; audiences compare exactly.
    AUDIENCE_TRAILING_SLASH => (Audience, Info);
    /// `aud` is an Auth0 Management API audience; such tokens are for Auth0's API, not yours.
    AUDIENCE_MANAGEMENT_API => (Audience, Info);
    /// The token has no `exp`; tokens without an expiry are refused.
    EXPIRY_MISSING => (Expiry, Error);
    /// `exp` is not a NumericDate (a finite JSON number of seconds up to year 9999).
    EXPIRY_INVALID => (Expiry, Error);
    /// The token expired (beyond the clock skew).
    TOKEN_EXPIRED => (Expiry, Error);
    /// `nbf` is not a NumericDate.
    NOT_BEFORE_INVALID => (NotBefore, Error);
    /// The token is not valid yet (`nbf` beyond the clock skew).
    TOKEN_NOT_YET_VALID => (NotBefore, Error);
    /// `iat` is not a NumericDate.
    ISSUED_AT_INVALID => (IssuedAt, Error);
    /// `iat` is in the future beyond the clock skew.
    ISSUED_IN_FUTURE => (IssuedAt, Error);
    /// The token's lifetime (`exp - iat`, or what remains of it when there is no `iat`) exceeds `max_ttl_seconds`.
    MAX_TTL_EXCEEDED => (MaxTtl, Error);
    /// A required claim is absent or null.
    CLAIM_MISSING => (RequiredClaims, Error);
    /// A required claim has the wrong JSON type (e.g. `sub` that is not a string).
    CLAIM_INVALID_TYPE => (RequiredClaims, Error);
    /// A required custom claim has another value than the policy demands.
    CLAIM_VALUE_MISMATCH => (RequiredClaims, Error);
    /// The token lacks scopes the policy requires (`scope`, `scp`, `permissions`).
    SCOPE_MISSING => (Scopes, Error);
    /// Header `typ` does not match the policy's `token_type`.
    TOKEN_TYPE_MISMATCH => (TokenType, Error);
    /// The token looks like an OpenID ID token (`nonce`, `at_hash`), sent where an access token belongs.
    ID_TOKEN_SUSPECTED => (TokenType, Warning);
    /// A revocation rule refuses the token (its `jti`, or its `sub` or client signed out).
    TOKEN_REVOKED => (Revocation, Error);
    /// The token is DPoP-bound (or the profile requires DPoP) and no `DPoP` proof came with the request.
    DPOP_PROOF_MISSING => (Dpop, Error);
    /// The `DPoP` proof is not a valid proof JWT: several headers, not a compact JWS, `typ` not `dpop+jwt`, an algorithm not allowed (never `none` or HMAC), no public `jwk`, a bad signature, or no `jti`/`iat`.
    DPOP_PROOF_INVALID => (Dpop, Error);
    /// The proof's `htm` is not the request's method.
    DPOP_METHOD_MISMATCH => (Dpop, Error);
    /// The proof's `htu` is not the request's URI (compared without query and fragment, after normalization).
    DPOP_URI_MISMATCH => (Dpop, Error);
    /// The proof's `iat` is older than the profile's `dpop.max_age_seconds` or in the future (beyond the clock skew).
    DPOP_PROOF_STALE => (Dpop, Error);
    /// The proof's `ath` is missing or is not the hash of this access token.
    DPOP_ATH_MISMATCH => (Dpop, Error);
    /// The proof is signed by another key than the one the token is bound to (`cnf.jkt`).
    DPOP_KEY_MISMATCH => (Dpop, Error);
    /// The proof's `jti` was already used (the replay cache is shared by the fleet when a state store is configured).
    DPOP_PROOF_REPLAYED => (Dpop, Error);
    /// The token has no `cnf.jkt` yet came with the DPoP scheme, or the profile requires DPoP-bound tokens.
    DPOP_TOKEN_NOT_BOUND => (Dpop, Error);
    /// A DPoP-bound token was sent with the Bearer scheme (RFC 9449 §7.2: it needs `Authorization: DPoP`).
    DPOP_BOUND_TOKEN_AS_BEARER => (Dpop, Error);
    /// The issuer's introspection endpoint says the opaque token is not active (revoked, expired, unknown or not for this client).
    TOKEN_INACTIVE => (Introspection, Error);
    /// The introspection endpoint could not be asked (network, timeout, SSRF guard, the secret file) or answered with an error status; the token was not checked.
    INTROSPECTION_UNREACHABLE => (Introspection, Error);
    /// The introspection answer is not a JSON object with a boolean `active`.
    INTROSPECTION_INVALID => (Introspection, Error);
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding: what failed (or is suspicious), why, and the values that show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The check it belongs to.
    pub check: Check,
    /// Stable code.
    pub code: Code,
    /// Severity; only `error` makes the token invalid.
    pub severity: Severity,
    /// A sentence a person can act on.
    pub message: String,
    /// The offending values: at least `expected` and `actual` where both exist.
    pub evidence: Value,
    /// True when the finding comes from claims whose signature did not verify.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

impl Finding {
    /// A finding with the code's check and default severity.
    pub fn new(code: Code, message: impl Into<String>, evidence: Value) -> Self {
        Finding {
            check: code.check(),
            code,
            severity: code.severity(),
            message: message.into(),
            evidence,
            unverified: false,
        }
    }
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ran and found nothing wrong.
    Pass,
    /// Ran and found an error.
    Fail,
    /// Could not run (e.g. no key, undecodable payload).
    Skipped,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

/// Per-check bookkeeping while a report is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum State {
    /// Not relevant to this policy; omitted unless a finding names it.
    #[default]
    NotApplicable,
    /// Should have run but could not.
    Skipped,
    /// Ran.
    Ran,
}

/// The status of every applicable check, in a fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checks {
    ran: [State; Check::ALL.len()],
    failed: [bool; Check::ALL.len()],
    mentioned: [bool; Check::ALL.len()],
}

impl Checks {
    pub(crate) fn new() -> Self {
        let mut c = Checks::default();
        for check in Check::EIGHT {
            c.ran[check.index()] = State::Skipped;
        }
        c.ran[Check::Format.index()] = State::Ran;
        c
    }

    pub(crate) fn mark(&mut self, check: Check, ran: State) {
        self.ran[check.index()] = ran;
    }

    pub(crate) fn note(&mut self, f: &Finding) {
        let i = f.check.index();
        self.mentioned[i] = true;
        if f.severity == Severity::Error {
            self.failed[i] = true;
        }
    }

    /// The status of one check, or `None` when it does not apply.
    pub fn get(&self, check: Check) -> Option<Status> {
        let i = check.index();
        if self.failed[i] {
            return Some(Status::Fail);
        }
        match self.ran[i] {
            State::Ran => Some(Status::Pass),
            State::Skipped => Some(Status::Skipped),
            State::NotApplicable if self.mentioned[i] => Some(Status::Pass),
            State::NotApplicable => None,
        }
    }

    /// Every applicable check with its status, in report order.
    pub fn iter(&self) -> impl Iterator<Item = (Check, Status)> + '_ {
        Check::ALL
            .into_iter()
            .filter_map(|c| self.get(c).map(|s| (c, s)))
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = Check> + '_ {
        self.iter()
            .filter(|(_, s)| *s == Status::Fail)
            .map(|(c, _)| c)
    }
}

impl Serialize for Checks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_upper_snake_unique_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(code.description().len() > 10, "{name} undocumented");
        }
        assert_eq!(Code::JWKS_UNREACHABLE.check(), Check::KeyFreshness);
    }

    #[test]
    fn eight_checks_always_present_and_failure_wins() {
        let mut c = Checks::new();
        let ids: Vec<_> = c.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            ids,
            [
                "signature",
                "algorithm",
                "issuer",
                "audience",
                "expiry",
                "not_before",
                "required_claims",
                "key_freshness",
                "format"
            ]
        );
        c.mark(Check::Issuer, State::Ran);
        assert_eq!(c.get(Check::Issuer), Some(Status::Pass));
        c.note(&Finding::new(Code::ISSUER_MISMATCH, "x", Value::Null));
        assert_eq!(c.get(Check::Issuer), Some(Status::Fail));
        c.note(&Finding::new(Code::ID_TOKEN_SUSPECTED, "x", Value::Null));
        assert_eq!(c.get(Check::TokenType), Some(Status::Pass));
        assert_eq!(c.failed().collect::<Vec<_>>(), [Check::Issuer]);
    }
}

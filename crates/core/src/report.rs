//! The result of a validation: every finding, the status of each check, the decoded
//! parts, and (only when everything passed) a [`Verified`] value.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::alg::Alg;
use crate::finding::{Check, Checks, Finding, Severity};
use crate::json::JsonObject;
use crate::keys::KeyOrigin;

/// The key that verified the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyUsed {
    /// Its key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<Arc<str>>,
    /// Its key type.
    pub kty: &'static str,
    /// The algorithm used.
    pub alg: Alg,
    /// Where it came from.
    pub origin: KeyOrigin,
}

/// Everything a validation found. Serializes to the contract's ValidationResult.
///
/// Only the core makes reports, and its fields are private: a report cannot be
/// altered into saying more than the checks found.
///
/// ```compile_fail,E0616
/// # fn forge(report: &mut jwtshield_core::Report) {
/// report.valid = true; // private: a caller cannot turn a report valid
/// # }
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    valid: bool,
    findings: Vec<Finding>,
    checks: Checks,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) header: Option<Arc<JsonObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) claims: Option<Arc<JsonObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<KeyUsed>,
    #[serde(skip)]
    pub(crate) missing_scopes: Vec<String>,
    #[serde(skip)]
    pub(crate) signature_cached: Option<bool>,
    /// The token is opaque and its claims are the issuer's introspection answer
    /// (RFC 7662): no signature was involved.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) introspected: bool,
}

impl Report {
    pub(crate) fn new(findings: Vec<Finding>, checks: Checks) -> Report {
        let valid = !findings.iter().any(|f| f.severity == Severity::Error);
        Report {
            valid,
            findings,
            checks,
            header: None,
            claims: None,
            key: None,
            missing_scopes: Vec::new(),
            signature_cached: None,
            introspected: false,
        }
    }

    /// Whether the claims come from the issuer's introspection endpoint (RFC 7662).
    pub fn introspected(&self) -> bool {
        self.introspected
    }

    /// Adds a finding from a check that runs after the token's own (DPoP, in the
    /// core only): a report can gain errors this way, never lose them.
    pub(crate) fn push(&mut self, f: Finding) {
        self.checks.note(&f);
        if f.severity == Severity::Error {
            self.valid = false;
        }
        self.findings.push(f);
    }

    /// Marks a later check as run or skipped.
    pub(crate) fn mark(&mut self, check: Check, state: crate::finding::State) {
        self.checks.mark(check, state);
    }

    /// True exactly when no finding has severity `error`.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// Every finding, errors and hints alike, in check order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The status of every applicable check.
    pub fn checks(&self) -> &Checks {
        &self.checks
    }

    /// The decoded header, when it decoded.
    pub fn header(&self) -> Option<&JsonObject> {
        self.header.as_deref()
    }

    /// The decoded claims, when they decoded (verified or not: see [`Report::valid`]).
    pub fn claims(&self) -> Option<&JsonObject> {
        self.claims.as_deref()
    }

    /// The key that verified the signature.
    pub fn key(&self) -> Option<&KeyUsed> {
        self.key.as_ref()
    }

    /// The policy's required scopes the token lacks (the `scopes` check's finding).
    pub fn missing_scopes(&self) -> &[String] {
        &self.missing_scopes
    }

    /// Whether the verified-signature cache answered: `Some(true)` when the signature
    /// math was skipped, `Some(false)` when it ran, `None` when no cache was consulted.
    pub fn signature_cached(&self) -> Option<bool> {
        self.signature_cached
    }

    /// The checks that failed, in report order.
    pub fn failed_checks(&self) -> Vec<Check> {
        self.checks.failed().collect()
    }

    /// The findings with severity `error`.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// Writes the ValidationResult as compact JSON: the same bytes as
    /// `serde_json::to_vec(&report)`, with the decoded header and claims copied as
    /// received (they were validated when the token was parsed) instead of re-checked.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(if self.valid {
            b"{\"valid\":true,\"findings\":"
        } else {
            b"{\"valid\":false,\"findings\":"
        });
        if self.findings.is_empty() {
            out.extend_from_slice(b"[]");
        } else {
            serde_json::to_writer(&mut *out, &self.findings)?;
        }
        out.extend_from_slice(b",\"checks\":{");
        for (i, (check, status)) in self.checks.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // check ids and statuses are plain ASCII names: nothing to escape
            for part in [
                b"\"",
                check.as_str().as_bytes(),
                b"\":\"",
                status.as_str().as_bytes(),
                b"\"",
            ] {
                out.extend_from_slice(part);
            }
        }
        out.push(b'}');
        for (name, part) in [
            (&b",\"header\":"[..], &self.header),
            (&b",\"claims\":"[..], &self.claims),
        ] {
            if let Some(obj) = part {
                out.extend_from_slice(name);
                out.extend_from_slice(
                    obj.as_str()
                        .trim_matches(|c: char| c.is_ascii_whitespace())
                        .as_bytes(),
                );
            }
        }
        if let Some(key) = &self.key {
            out.extend_from_slice(b",\"key\":");
            serde_json::to_writer(&mut *out, key)?;
        }
        if self.introspected {
            out.extend_from_slice(b",\"introspected\":true");
        }
        out.push(b'}');
        Ok(())
    }

    /// The verified token, when the signature verified and every check passed. Cheap:
    /// the header and claims are shared with the report, not copied.
    pub fn verified(&self) -> Option<Verified> {
        match (self.valid, &self.key, &self.header, &self.claims) {
            (true, Some(key), Some(header), Some(claims)) => Some(Verified {
                header: header.clone(),
                claims: claims.clone(),
                alg: Some(key.alg),
                kid: key.kid.clone(),
            }),
            (true, None, None, Some(claims)) if self.introspected => {
                static EMPTY: std::sync::LazyLock<Arc<JsonObject>> =
                    std::sync::LazyLock::new(|| Arc::new(JsonObject::empty()));
                Some(Verified {
                    header: EMPTY.clone(),
                    claims: claims.clone(),
                    alg: None,
                    kid: None,
                })
            }
            _ => None,
        }
    }
}

/// Claims whose signature verified and which passed every check of a policy. Only the
/// core can make one ([`Report::verified`]); the gateway, the middleware and handlers
/// see claims only through it.
///
/// ```compile_fail,E0451
/// // the fields are private: not even a copy of a real one can be altered
/// # fn forge(v: &jwtshield_core::Verified) -> jwtshield_core::Verified {
/// jwtshield_core::Verified { alg: Some(jwtshield_core::Alg::HS256), ..v.clone() }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    header: Arc<JsonObject>,
    claims: Arc<JsonObject>,
    alg: Option<Alg>,
    kid: Option<Arc<str>>,
}

impl Verified {
    /// The verified claims.
    pub fn claims(&self) -> &JsonObject {
        &self.claims
    }

    /// The verified claims, shared.
    pub fn claims_shared(&self) -> &Arc<JsonObject> {
        &self.claims
    }

    /// The protected header.
    pub fn header(&self) -> &JsonObject {
        &self.header
    }

    /// One claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        crate::claims::lookup(&self.claims, name)
    }

    /// `sub`, when it is a string.
    pub fn subject(&self) -> Option<&str> {
        self.claims.get_str("sub")
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get_str("iss")
    }

    /// Every scope granted by `scope`, `scp` and `permissions`.
    pub fn scopes(&self) -> Vec<String> {
        crate::claims::granted_scopes(&self.claims)
    }

    /// The same scopes, borrowed from the claims where possible.
    pub fn scopes_ref(&self) -> Vec<std::borrow::Cow<'_, str>> {
        crate::claims::granted_scopes_ref(&self.claims)
    }

    /// The algorithm that verified the signature; `None` for an opaque token whose
    /// claims came from the issuer's introspection endpoint.
    pub fn alg(&self) -> Option<Alg> {
        self.alg
    }

    /// Whether the claims came from the issuer's introspection endpoint (RFC 7662)
    /// rather than a verified signature. The header is then empty.
    pub fn introspected(&self) -> bool {
        self.alg.is_none()
    }

    /// The key id used.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

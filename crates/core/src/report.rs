//! The result of a validation: every finding, the status of each check, the decoded
//! parts, and (only when everything passed) a [`Verified`] value.

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
    pub kid: Option<String>,
    /// Its key type.
    pub kty: &'static str,
    /// The algorithm used.
    pub alg: Alg,
    /// Where it came from.
    pub origin: KeyOrigin,
}

/// Everything a validation found. Serializes to the contract's ValidationResult.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// True exactly when no finding has severity `error`.
    pub valid: bool,
    /// Every finding, errors and hints alike, in check order.
    pub findings: Vec<Finding>,
    /// The status of every applicable check.
    pub checks: Checks,
    /// The decoded header, when it decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<JsonObject>,
    /// The decoded claims, when they decoded (verified or not: see `valid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<JsonObject>,
    /// The key that verified the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyUsed>,
    #[serde(skip)]
    pub(crate) signature_verified: Option<Alg>,
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
            signature_verified: None,
        }
    }

    /// Adds a finding from a layer outside the core (it updates `valid` and `checks`).
    pub fn push(&mut self, finding: Finding) {
        if finding.severity == Severity::Error {
            self.valid = false;
        }
        self.checks.note(&finding);
        self.findings.push(finding);
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

    /// The verified token, when the report is valid; otherwise the report back.
    pub fn into_verified(self) -> Result<Verified, Box<Report>> {
        match (self.valid, self.signature_verified) {
            (true, Some(alg)) => match (self.header, self.claims) {
                (Some(header), Some(claims)) => Ok(Verified {
                    header,
                    claims,
                    alg,
                    kid: self.key.and_then(|k| k.kid),
                }),
                (header, claims) => Err(Box::new(Report {
                    header,
                    claims,
                    ..self
                })),
            },
            _ => Err(Box::new(self)),
        }
    }
}

/// Claims whose signature verified and which passed every check of a policy.
/// Only the core can build one.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    header: JsonObject,
    claims: JsonObject,
    alg: Alg,
    kid: Option<String>,
}

impl Verified {
    /// The verified claims.
    pub fn claims(&self) -> &JsonObject {
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
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// Every scope granted by `scope`, `scp` and `permissions`.
    pub fn scopes(&self) -> Vec<String> {
        crate::claims::granted_scopes(&self.claims)
    }

    /// The algorithm that verified the signature.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The key id used.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

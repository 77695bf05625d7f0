//! OpenAPI schemas of the wire types. The core crate stays free of web dependencies,
//! so its types are described here; `tests/it` checks real responses against them.
//! Finding codes and check ids are generated from `jwtshield_core::Code::ALL`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, schema::SchemaType};
use utoipa::{PartialSchema, ToSchema};

fn string_enum(values: Vec<String>, description: String) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

/// A stable finding code (all listed, with their meaning).
pub struct FindingCode;

impl PartialSchema for FindingCode {
    fn schema() -> RefOr<Schema> {
        let codes = jwtshield_core::Code::ALL;
        let mut doc = String::from(
            "A stable finding code. Codes are never renamed; new ones may be added.\n\n",
        );
        for c in codes {
            doc.push_str(&format!(
                "- `{}` ({}, {}): {}\n",
                c.as_str(),
                c.check(),
                c.severity().as_str(),
                c.description()
            ));
        }
        string_enum(codes.iter().map(|c| c.as_str().to_owned()).collect(), doc)
    }
}

impl ToSchema for FindingCode {}

/// A check id.
pub struct CheckId;

impl PartialSchema for CheckId {
    fn schema() -> RefOr<Schema> {
        string_enum(
            jwtshield_core::Check::ALL
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            "The check a finding belongs to. The first eight are the product doc's eight checks."
                .into(),
        )
    }
}

impl ToSchema for CheckId {}

/// Severity of a finding.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SeveritySchema {
    /// Explains another finding.
    Info,
    /// Suspicious; does not make the token invalid.
    Warning,
    /// Makes the token invalid.
    Error,
}

/// Status of one check.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Ran and passed.
    Pass,
    /// Ran and found an error.
    Fail,
    /// Could not run (e.g. no key, undecodable payload).
    Skipped,
}

/// One finding.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The check it belongs to.
    #[schema(value_type = CheckId)]
    pub check: String,
    /// Stable code.
    #[schema(value_type = FindingCode)]
    pub code: String,
    /// `error` makes the token invalid.
    pub severity: SeveritySchema,
    /// A sentence a person can act on.
    pub message: String,
    /// The offending values: `expected` and `actual`, and more.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// Present and true when the finding comes from claims whose signature did not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<bool>,
}

/// The key that verified the signature.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyUsed {
    /// Key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// Key type.
    pub kty: String,
    /// Algorithm.
    pub alg: String,
    /// `inline_jwks`, `remote_jwks`, `public_key` or `secret`.
    pub origin: String,
}

/// The answer for every token, however broken.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationResult {
    /// True exactly when no finding has severity `error`.
    pub valid: bool,
    /// Every finding, with evidence.
    pub findings: Vec<Finding>,
    /// Every applicable check with its status; the eight checks are always present.
    pub checks: BTreeMap<String, CheckStatus>,
    /// The decoded header, when it decodes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub header: Option<Value>,
    /// The decoded claims, when they decode (also when the signature failed).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub claims: Option<Value>,
    /// The key that verified the signature.
    #[serde(default)]
    pub key: Option<KeyUsed>,
    /// Present (true) when the token is opaque and its claims are the issuer's
    /// introspection answer (RFC 7662): nothing was signed.
    #[serde(default)]
    pub introspected: Option<bool>,
}

/// A decoded token, never verified.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Inspection {
    /// Always false.
    pub verified: bool,
    /// Decoded header.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub header: Option<Value>,
    /// Decoded claims.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub claims: Option<Value>,
    /// Time claims explained (`utc`, `relative`).
    #[schema(value_type = Vec<Object>)]
    pub times: Vec<Value>,
    /// Suspicious traits: `ALG_NONE`, `EMBEDDED_KEY`, `KEY_URL`, `NO_EXPIRY`, `LONG_LIFETIME`, `JWE`, `OPAQUE`, ...
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Value>,
    /// Why parts did not decode (findings of check `format`).
    pub format_errors: Vec<Finding>,
}

/// A preset in the list.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PresetInfo {
    /// Name, e.g. `auth0`.
    pub name: String,
    /// Identity provider.
    pub provider: String,
    /// What it is for.
    pub description: String,
    /// `access`, `id`, `session` or `workload`.
    pub token_kind: String,
    /// Placeholders, filled with query parameters of `GET /v1/presets/{name}`.
    #[schema(value_type = Vec<Object>)]
    pub params: Vec<Value>,
    /// Gotchas.
    pub notes: Vec<String>,
}

/// An issuer profile.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssuerProfile {
    /// Profile id.
    pub id: String,
    /// Its policy (a `secret` shows as `<redacted>`).
    pub policy: jwtshield_core::Policy,
}

/// `GET /v1/status`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// Service version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// Whether every issuer profile has a usable key (as `/readyz`).
    pub ready: bool,
    /// True when `--jwks-allow-insecure` lifted the SSRF guard.
    pub jwks_insecure: bool,
    /// Loaded profile ids.
    pub profiles: Vec<String>,
    /// Each cached key set.
    #[schema(value_type = Vec<Object>)]
    pub key_sets: Vec<Value>,
    /// Each issuer profile: where its keys come from, and whether it has a usable key.
    pub profile_keys: Vec<ProfileKeys>,
    /// Each issuer whose key-set URL comes from OpenID discovery: the URL in use and
    /// the last error.
    #[schema(value_type = Vec<Object>)]
    pub discovery: Vec<Value>,
    /// The verified-signature cache: size and hit counts.
    #[schema(value_type = Object)]
    pub verified_cache: Value,
    /// The revocation store (as in `/readyz`).
    #[schema(value_type = Object)]
    pub revocations: Value,
    /// Rate limits: `mode` (`local` or `fleet`) and `refused` (429s since start).
    #[schema(value_type = Object)]
    pub rate_limits: Value,
}

/// Where one issuer profile's keys come from, and whether it can verify a token now.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileKeys {
    /// Profile id.
    pub profile: String,
    /// `inline` (keys in the policy), `jwks_uri` or `discovery`.
    pub source: String,
    /// The key-set URL in use (`null` for inline keys, or while discovery has not answered).
    pub url: Option<String>,
    /// Whether at least one key is loaded and usable.
    pub usable: bool,
    /// Why not, when not usable: the last fetch error, or that no fetch finished yet.
    pub reason: Option<String>,
}

/// The body of `GET /readyz`, ready or not.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Readiness {
    /// True when every issuer profile has a usable key.
    pub ready: bool,
    /// The profiles without a usable key, with the reason.
    pub not_ready: Vec<ProfileKeys>,
    /// The revocation store: `store`, live `rules`, `healthy`, `last_sync`,
    /// `stale_seconds`, `last_error`. An unreachable Redis does not make the service
    /// unready (the last known rules stay enforced); it shows here.
    #[schema(value_type = Object)]
    pub revocations: Value,
}

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
}

/// Every rule a token must meet. See `docs/api.md` for each rule in full.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Policy {
    /// `iss` must equal it exactly (or one of several exact forms).
    #[schema(value_type = Object, example = json!("https://acme.auth0.com/"))]
    pub issuer: Value,
    /// `aud` (string or array) must contain at least one of these.
    #[schema(example = json!(["https://api.acme.com/"]))]
    pub audiences: Vec<String>,
    /// Header `alg` must be one of these. Defaults to `["RS256"]`; `none` is refused.
    #[serde(default)]
    pub allowed_algs: Option<Vec<String>>,
    /// Claims that must be present and not null.
    #[serde(default)]
    pub required_claims: Option<Vec<String>>,
    /// Claim name to required value; `{"one_of": [..]}`, `{"present": true}`, `{"prefix": ".."}` are constraints.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub required_custom_claims: Option<Value>,
    /// Leeway for `exp`, `nbf`, `iat`. Defaults to 60; at most 600.
    #[serde(default)]
    pub clock_skew_seconds: Option<u64>,
    /// Largest allowed `exp - iat`.
    #[serde(default)]
    pub max_ttl_seconds: Option<u64>,
    /// Header `typ` must match (case-insensitive, `application/` ignored).
    #[serde(default)]
    pub token_type: Option<String>,
    /// Scopes required in `scope`, `scp` or `permissions`.
    #[serde(default)]
    pub required_scopes: Option<Vec<String>>,
    /// Where the keys are. Defaults to discovery under the issuer.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Keys given inline; nothing is fetched.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// One PEM public key (RSA, EC or Ed25519); nothing is fetched.
    #[serde(default)]
    pub public_key: Option<String>,
    /// HMAC secret for HS256/384/512; never echoed.
    #[serde(default)]
    pub secret: Option<String>,
    /// The claim compared with `audiences`. Defaults to `aud`.
    #[serde(default)]
    pub audience_claim: Option<String>,
}

/// `POST /v1/validate/jwt`: a token with an inline policy or a profile id (exactly one).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ValidateRequest {
    /// The compact JWS. Never stored or logged.
    pub token: String,
    /// An inline policy.
    #[serde(default)]
    pub policy: Option<Policy>,
    /// A loaded issuer profile.
    #[serde(default)]
    pub issuer_profile_id: Option<String>,
}

/// `POST /v1/inspect/token`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct InspectRequest {
    /// The token to decode.
    pub token: String,
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
    pub policy: Policy,
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
    /// Whether every profile key set had its first fetch.
    pub ready: bool,
    /// True when `--jwks-allow-insecure` lifted the SSRF guard.
    pub jwks_insecure: bool,
    /// Loaded profile ids.
    pub profiles: Vec<String>,
    /// Each cached key set.
    #[schema(value_type = Vec<Object>)]
    pub key_sets: Vec<Value>,
    /// Each issuer whose key-set URL comes from OpenID discovery: the URL in use and
    /// the last error.
    #[schema(value_type = Vec<Object>)]
    pub discovery: Vec<Value>,
    /// The verified-signature cache: size and hit counts.
    #[schema(value_type = Object)]
    pub verified_cache: Value,
}

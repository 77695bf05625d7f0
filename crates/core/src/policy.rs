//! The Policy: every rule a token must meet, as configuration (the product doc's
//! "encode all eight as configuration, not code"). Field names and defaults are fixed
//! by the contract; see `docs/api.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::alg::Alg;
pub use crate::checks::required_claims::ClaimRule;
use crate::keys::{KeyOrigin, KeySet};

/// Largest accepted `clock_skew_seconds`: more hides broken clocks and stretches every
/// token's life.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 600;

/// The tenant placeholder of an issuer template, e.g.
/// `https://login.microsoftonline.com/{tenantid}/v2.0` (Entra's own notation).
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// What fills an issuer template's `{tenantid}` in discovery and key URLs: Entra's
/// multi-tenant endpoints (its `common` discovery document names the template itself as
/// its issuer).
pub const COMMON_TENANT: &str = "common";

/// One issuer, or several accepted forms of it (Google emits two).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuers(pub Vec<String>);

impl Issuers {
    /// For an issuer template (one issuer holding `{tenantid}` once): the text before
    /// and after the placeholder.
    pub fn template(&self) -> Option<(&str, &str)> {
        match self.0.as_slice() {
            [one] => one.split_once(TENANT_PLACEHOLDER),
            _ => None,
        }
    }

    /// The tenant of `iss` when it fits the template: the non-empty text where
    /// `{tenantid}` stands, without `/`, `?` or `#`.
    pub fn tenant_of<'i>(&self, iss: &'i str) -> Option<&'i str> {
        let (prefix, suffix) = self.template()?;
        let t = iss.strip_prefix(prefix)?.strip_suffix(suffix)?;
        (!t.is_empty() && !t.contains(['/', '?', '#']) && !t.chars().any(char::is_whitespace))
            .then_some(t)
    }

    /// The primary issuer with a template's `{tenantid}` replaced by `common`: where its
    /// discovery document is.
    pub fn discovery_base(&self) -> std::borrow::Cow<'_, str> {
        crate::wellknown::discovery_base(self.primary())
    }

    /// The first (primary) issuer; discovery runs under it.
    pub fn primary(&self) -> &str {
        self.0.first().map(String::as_str).unwrap_or("")
    }

    /// Every accepted issuer.
    pub fn all(&self) -> &[String] {
        &self.0
    }

    /// Exact, case-sensitive membership.
    pub fn contains(&self, iss: &str) -> bool {
        self.0.iter().any(|i| i == iss)
    }
}

impl From<&str> for Issuers {
    fn from(s: &str) -> Self {
        Issuers(vec![s.to_owned()])
    }
}

impl Serialize for Issuers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Issuers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Issuers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Issuers, E> {
                Ok(Issuers(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Issuers, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Issuers(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A shared secret. Never printed, logged or serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; only key construction should call this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// An optional member that may be left out but not given as `null` (one rule for every
/// member: `null` is never "absent").
pub fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(de::Error::custom(
            "must not be null; leave the member out for its default",
        )),
    }
}

/// A whole number, also when written with a zero fraction (`60.0`): JSON Schema's
/// `integer` admits it, so clients generated from the OpenAPI document may send it.
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = i128;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
            Ok(i128::from(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
            Ok(i128::from(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i128, E> {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 1.8e19 {
                Ok(v as i128)
            } else {
                Err(E::invalid_type(de::Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(V)
}

fn ranged<T: TryFrom<i128>, E: de::Error>(v: i128) -> Result<T, E> {
    T::try_from(v).map_err(|_| E::custom(format!("invalid value {v}: out of range")))
}

/// A `u64` member (see `whole`).
pub fn whole_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(whole(d)?)
}

/// An optional `u64` member: absent, or a whole number; never `null`.
pub fn whole_u64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<WholeNumber> = not_null(d)?;
    v.map(|w| ranged(w.0)).transpose()
}

/// An optional `i64` member: absent, or a whole number; never `null`.
pub fn whole_i64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<WholeNumber> = not_null(d)?;
    v.map(|w| ranged(w.0)).transpose()
}

struct WholeNumber(i128);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        whole(d).map(WholeNumber)
    }
}

fn default_algs() -> Vec<Alg> {
    vec![Alg::RS256]
}

fn default_skew() -> u64 {
    60
}

fn is_default_algs(a: &[Alg]) -> bool {
    a == [Alg::RS256]
}

/// Everything a token must satisfy, and where its keys are.
///
/// Unknown members are refused, and so is `null` for any member: leave a member out
/// for its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `iss` must equal it exactly (case-sensitive, trailing slash matters). Required.
    /// An array accepts any of several exact forms.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::issuer))]
    pub issuer: Issuers,
    /// `aud` (a string or an array) must contain at least one of these. Required, non-empty.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::audiences))]
    pub audiences: Vec<String>,
    /// Header `alg` must be one of these. Defaults to `["RS256"]`. `none` is never accepted.
    #[serde(default = "default_algs", skip_serializing_if = "is_default_algs")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::allowed_algs))]
    pub allowed_algs: Vec<Alg>,
    /// Claims that must be present and not null. Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::claim_names))]
    pub required_claims: Vec<String>,
    /// Claim name to required value: equal, or contained when the claim is an array.
    /// A value `{"one_of": [..]}`, `{"present": true}` or `{"prefix": ".."}` is a
    /// constraint instead. Defaults to none.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::custom_claims))]
    pub required_custom_claims: Map<String, Value>,
    /// Leeway for `exp`, `nbf` and `iat`. Defaults to 60; at most 600.
    #[serde(default = "default_skew", deserialize_with = "whole_u64")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 600, default = 60))]
    pub clock_skew_seconds: u64,
    /// Largest allowed `exp - iat`. Defaults to no limit.
    #[serde(
        default,
        deserialize_with = "whole_u64_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = u64, minimum = 1, maximum = 9_223_372_036_854_775_807_i64)
    )]
    pub max_ttl_seconds: Option<u64>,
    /// Header `typ` must match (case-insensitive, `application/` ignored). Defaults to any.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::token_type))]
    pub token_type: Option<String>,
    /// Scopes that must each appear in `scope` (space-separated), `scp` or `permissions`.
    /// Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::scopes))]
    pub required_scopes: Vec<String>,
    /// Where the issuer's keys are. Defaults to discovery under the issuer.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::jwks_uri))]
    pub jwks_uri: Option<String>,
    /// Keys given inline (a JWKS, or one JWK); nothing is fetched.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub jwks: Option<Value>,
    /// One SPKI public key in PEM (RSA, EC or Ed25519); nothing is fetched.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: Option<String>,
    /// The shared secret for HS256/384/512 (its UTF-8 bytes); nothing is fetched.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::secret))]
    pub secret: Option<Secret>,
    /// The claim compared with `audiences`. Defaults to `aud`. For providers whose
    /// access tokens carry no `aud` (Cognito: `client_id`, Clerk: `azp`).
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::audience_claim))]
    pub audience_claim: Option<String>,
    /// Gateway mode (`/v1/authz`, the tower middleware): a per-caller rate limit for
    /// verified tokens; past it, 429 with `Retry-After`. Defaults to none.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ratelimit::RateLimit))]
    pub rate_limit: Option<crate::ratelimit::RateLimit>,
    /// Gateway mode (`/v1/authz`): response header name to the claim whose value it
    /// carries on a 200, for the gateway to pass on. A claim by name, or nested by a JSON
    /// Pointer starting with `/`. A value with a control character is never sent.
    /// Defaults to none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::forward_claims))]
    pub forward_claims: BTreeMap<String, String>,
    /// With an issuer template (`https://login.microsoftonline.com/{tenantid}/v2.0`): the
    /// tenants accepted, an array of ids or `"any"`. The token's `tid` must equal the
    /// tenant in its `iss`. Required with a template, refused without one.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::allowed_tenants))]
    pub allowed_tenants: Option<Tenants>,
    /// DPoP (RFC 9449): whether bound tokens are required, and how proofs are checked.
    /// Without it, a token bound with `cnf.jkt` still needs a valid proof (defaults:
    /// proofs up to 300 s old, asymmetric algorithms).
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = DpopPolicy))]
    pub dpop: Option<DpopPolicy>,
    /// Opaque tokens (not JWTs) are checked at the issuer's RFC 7662 introspection
    /// endpoint, and the policy's claim checks run on its answer. Issuer profiles only
    /// (a request's inline policy may not name a secret file). Defaults to none: an
    /// opaque token is then `TOKEN_OPAQUE`.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Introspection))]
    pub introspection: Option<Introspection>,
}

/// A profile's `introspection` (RFC 7662).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Introspection {
    /// The issuer's introspection endpoint (https; fetched through the SSRF guard and
    /// within the fetch timeout).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://acme.okta.com/oauth2/default/v1/introspect")
    )]
    pub endpoint: String,
    /// The client id JWTShield authenticates with (HTTP Basic, RFC 6749 §2.3.1).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub client_id: String,
    /// A file holding the client secret (read at each call, so it can be rotated; never
    /// logged or echoed).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub client_secret_file: String,
    /// The longest an answer is reused, in seconds (an active answer never beyond its
    /// `exp`). Default 60, at most 3600; 0 asks every time.
    #[serde(
        default = "default_introspection_cache",
        deserialize_with = "whole_u64"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3600, default = 60))]
    pub cache_seconds: u64,
}

fn default_introspection_cache() -> u64 {
    60
}

/// A profile's `dpop` (RFC 9449).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DpopPolicy {
    /// Refuse tokens that are not DPoP-bound (no `cnf.jkt`), even with a proof. Default
    /// false: bearer tokens pass, bound ones need their proof.
    #[serde(default)]
    pub required: bool,
    /// Oldest proof accepted, in seconds (its `iat`; plus the clock skew). Default 300,
    /// at most 3600. The replay cache keeps each `jti` this long.
    #[serde(default = "default_dpop_age", deserialize_with = "whole_u64")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 3600, default = 300)
    )]
    pub max_age_seconds: u64,
    /// Algorithms a proof may be signed with (asymmetric only). Default ES256, ES384,
    /// ES512, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512.
    #[serde(default = "default_dpop_algs")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::dpop_algs))]
    pub allowed_algs: Vec<Alg>,
}

fn default_dpop_age() -> u64 {
    300
}

fn default_dpop_algs() -> Vec<Alg> {
    // preference order of the `algs` challenge: what DPoP clients use most first
    use Alg::*;
    vec![
        ES256, ES384, ES512, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512,
    ]
}

impl Default for DpopPolicy {
    fn default() -> Self {
        DpopPolicy {
            required: false,
            max_age_seconds: default_dpop_age(),
            allowed_algs: default_dpop_algs(),
        }
    }
}

/// The tenants an issuer template accepts: a list, or any tenant (said explicitly).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tenants {
    /// Every tenant (`"any"`): a multi-tenant API open to every directory.
    Any,
    /// These tenant ids only.
    List(Vec<String>),
}

impl Tenants {
    /// Whether `tenant` is accepted.
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Tenants::Any => true,
            Tenants::List(l) => l.iter().any(|t| t == tenant),
        }
    }
}

impl Serialize for Tenants {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tenants::Any => s.serialize_str("any"),
            Tenants::List(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Tenants {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tenants;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"any\", or an array of tenant ids")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tenants, E> {
                match v {
                    "any" => Ok(Tenants::Any),
                    _ => Err(E::custom(
                        "a string here must be \"any\"; list tenant ids in an array",
                    )),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tenants, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Tenants::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A policy field that is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Dotted path of the field, e.g. `audiences` or `required_custom_claims.role`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl PolicyError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Normalizes a media type for `typ` comparison (RFC 7515 §4.1.9): lower case, without
/// an `application/` prefix.
pub fn normalize_typ(typ: &str) -> String {
    let lower = typ.trim().to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// A policy that passed validation, with its inline keys loaded once.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    policy: Policy,
    rules: Vec<(String, ClaimRule)>,
    typ: Option<String>,
    inline_keys: Option<Arc<KeySet>>,
}

impl CompiledPolicy {
    /// The policy as given.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The custom-claim rules, in policy order.
    pub fn rules(&self) -> &[(String, ClaimRule)] {
        &self.rules
    }

    /// The normalized expected `typ`.
    pub fn expected_typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// Keys from `jwks`, `public_key` or `secret`; `None` means they must be fetched.
    pub fn inline_keys(&self) -> Option<&Arc<KeySet>> {
        self.inline_keys.as_ref()
    }

    /// The DPoP settings (the defaults when the policy gives none).
    pub fn dpop(&self) -> &DpopPolicy {
        static DEFAULT: std::sync::LazyLock<DpopPolicy> =
            std::sync::LazyLock::new(DpopPolicy::default);
        self.policy.dpop.as_ref().unwrap_or(&DEFAULT)
    }

    /// The claim compared with the audiences.
    pub fn audience_claim(&self) -> &str {
        self.policy.audience_claim.as_deref().unwrap_or("aud")
    }
}

impl Policy {
    /// A policy with the defaults for everything but issuer and audiences.
    pub fn new(issuer: &str, audiences: &[&str]) -> Policy {
        Policy {
            issuer: Issuers::from(issuer),
            audiences: audiences.iter().map(|s| (*s).to_owned()).collect(),
            allowed_algs: default_algs(),
            required_claims: Vec::new(),
            required_custom_claims: Map::new(),
            clock_skew_seconds: default_skew(),
            max_ttl_seconds: None,
            token_type: None,
            required_scopes: Vec::new(),
            jwks_uri: None,
            jwks: None,
            public_key: None,
            secret: None,
            audience_claim: None,
            rate_limit: None,
            forward_claims: BTreeMap::new(),
            allowed_tenants: None,
            dpop: None,
            introspection: None,
        }
    }

    /// Parses a policy from JSON with errors that name the field.
    pub fn from_json(json: &Value) -> Result<Policy, PolicyError> {
        serde_path_to_error::deserialize(json).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            PolicyError::new(field, e.into_inner().to_string())
        })
    }

    /// Validates every field and loads inline keys.
    pub fn compile(self) -> Result<CompiledPolicy, PolicyError> {
        self.check_issuers()?;
        self.check_audiences()?;
        self.check_limits()?;
        self.check_names()?;
        if let Some(rl) = &self.rate_limit {
            rl.check()
                .map_err(|(field, m)| PolicyError::new(format!("rate_limit.{field}"), m))?;
        }
        crate::forward::check(&self.forward_claims).map_err(|(header, m)| {
            PolicyError::new(
                match header.is_empty() {
                    true => "forward_claims".to_owned(),
                    false => format!("forward_claims.{header}"),
                },
                m,
            )
        })?;
        let typ = match &self.token_type {
            Some(t) if t.trim().is_empty() => {
                return Err(PolicyError::new("token_type", "must not be empty"));
            }
            Some(t) => Some(normalize_typ(t)),
            None => None,
        };
        let rules = self.claim_rules()?;
        let inline_keys = self.load_inline_keys()?;
        Ok(CompiledPolicy {
            policy: self,
            rules,
            typ,
            inline_keys,
        })
    }

    /// At least one issuer, none empty or with surrounding whitespace.
    fn check_issuers(&self) -> Result<(), PolicyError> {
        if self.issuer.0.is_empty() {
            return Err(PolicyError::new(
                "issuer",
                "at least one issuer is required",
            ));
        }
        for (i, iss) in self.issuer.0.iter().enumerate() {
            let field = if self.issuer.0.len() == 1 {
                "issuer".to_owned()
            } else {
                format!("issuer[{i}]")
            };
            if iss.is_empty() {
                return Err(PolicyError::new(field, "must not be empty"));
            }
            if iss.trim() != iss {
                return Err(PolicyError::new(
                    field,
                    "has leading or trailing whitespace; issuers compare exactly",
                ));
            }
            if iss.matches(TENANT_PLACEHOLDER).count() > 1
                || (self.issuer.0.len() > 1 && iss.contains(TENANT_PLACEHOLDER))
            {
                return Err(PolicyError::new(
                    field,
                    "an issuer template holds {tenantid} once and stands alone (not in an array)",
                ));
            }
        }
        match (self.issuer.template(), &self.allowed_tenants) {
            (Some(_), None) => Err(PolicyError::new(
                "allowed_tenants",
                "an issuer template needs the tenants it accepts: an array of tenant ids, or \"any\" for every tenant",
            )),
            (None, Some(_)) => Err(PolicyError::new(
                "allowed_tenants",
                "only with an issuer template such as https://login.microsoftonline.com/{tenantid}/v2.0",
            )),
            (Some(_), Some(Tenants::List(l))) if l.is_empty() => Err(PolicyError::new(
                "allowed_tenants",
                "list at least one tenant id, or say \"any\"",
            )),
            (Some(_), Some(Tenants::List(l))) => match l
                .iter()
                .position(|t| t.is_empty() || t.contains(['/', '?', '#']) || t.trim() != t)
            {
                Some(i) => Err(PolicyError::new(
                    format!("allowed_tenants[{i}]"),
                    "a tenant id is non-empty, without /, ?, # or surrounding whitespace",
                )),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// At least one audience, none empty or with surrounding whitespace.
    fn check_audiences(&self) -> Result<(), PolicyError> {
        if self.audiences.is_empty() {
            return Err(PolicyError::new(
                "audiences",
                "at least one audience is required (your API identifier, e.g. https://api.example.com/)",
            ));
        }
        for (i, a) in self.audiences.iter().enumerate() {
            if a.is_empty() || a.trim() != a {
                return Err(PolicyError::new(
                    format!("audiences[{i}]"),
                    "must be a non-empty string without surrounding whitespace",
                ));
            }
        }
        Ok(())
    }

    /// Algorithms listed, clock skew and lifetime within bounds.
    fn check_limits(&self) -> Result<(), PolicyError> {
        if self.allowed_algs.is_empty() {
            return Err(PolicyError::new(
                "allowed_algs",
                "must list at least one algorithm",
            ));
        }
        if self.clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            return Err(PolicyError::new(
                "clock_skew_seconds",
                format!(
                    "{} is more than the maximum {MAX_CLOCK_SKEW_SECONDS}",
                    self.clock_skew_seconds
                ),
            ));
        }
        if let Some(i) = &self.introspection {
            match url::Url::parse(&i.endpoint) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.has_host() => {}
                _ => {
                    return Err(PolicyError::new(
                        "introspection.endpoint",
                        "must be an absolute https URL",
                    ));
                }
            }
            if i.client_id.is_empty() {
                return Err(PolicyError::new(
                    "introspection.client_id",
                    "must not be empty",
                ));
            }
            if i.client_secret_file.trim().is_empty() {
                return Err(PolicyError::new(
                    "introspection.client_secret_file",
                    "must name the file holding the client secret",
                ));
            }
            if i.cache_seconds > 3600 {
                return Err(PolicyError::new(
                    "introspection.cache_seconds",
                    format!("{} is more than the maximum 3600", i.cache_seconds),
                ));
            }
        }
        if let Some(d) = &self.dpop {
            if !(1..=3600).contains(&d.max_age_seconds) {
                return Err(PolicyError::new(
                    "dpop.max_age_seconds",
                    format!("{} is not between 1 and 3600", d.max_age_seconds),
                ));
            }
            if d.allowed_algs.is_empty() {
                return Err(PolicyError::new(
                    "dpop.allowed_algs",
                    "must list at least one algorithm",
                ));
            }
            if let Some(i) = d
                .allowed_algs
                .iter()
                .position(|a| a.family() == crate::alg::Family::Hmac)
            {
                return Err(PolicyError::new(
                    format!("dpop.allowed_algs[{i}]"),
                    "a DPoP proof is signed with the client's private key: HMAC is not allowed",
                ));
            }
        }
        if self.max_ttl_seconds == Some(0) {
            return Err(PolicyError::new(
                "max_ttl_seconds",
                "must be greater than 0",
            ));
        }
        Ok(())
    }

    /// Claim, scope and audience-claim names that can match something.
    fn check_names(&self) -> Result<(), PolicyError> {
        for (i, c) in self.required_claims.iter().enumerate() {
            if c.is_empty() {
                return Err(PolicyError::new(
                    format!("required_claims[{i}]"),
                    "must not be empty",
                ));
            }
        }
        for (i, s) in self.required_scopes.iter().enumerate() {
            if s.is_empty() || s.contains(' ') {
                return Err(PolicyError::new(
                    format!("required_scopes[{i}]"),
                    "must be one non-empty scope without spaces",
                ));
            }
        }
        if let Some(c) = &self.audience_claim
            && c.is_empty()
        {
            return Err(PolicyError::new("audience_claim", "must not be empty"));
        }
        Ok(())
    }

    /// The `required_custom_claims` as rules.
    fn claim_rules(&self) -> Result<Vec<(String, ClaimRule)>, PolicyError> {
        let mut rules = Vec::with_capacity(self.required_custom_claims.len());
        for (name, v) in &self.required_custom_claims {
            let rule = ClaimRule::from_value(v)
                .map_err(|m| PolicyError::new(format!("required_custom_claims.{name}"), m))?;
            rules.push((name.clone(), rule));
        }
        Ok(rules)
    }

    /// The keys given in `jwks`, `public_key` or `secret` (at most one), loaded.
    fn load_inline_keys(&self) -> Result<Option<Arc<KeySet>>, PolicyError> {
        let sources: Vec<&str> = [
            ("jwks", self.jwks.is_some()),
            ("public_key", self.public_key.is_some()),
            ("secret", self.secret.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect();
        if sources.len() > 1 {
            return Err(PolicyError::new(
                sources[1],
                format!(
                    "give at most one of jwks, public_key and secret (found {})",
                    sources.join(", ")
                ),
            ));
        }
        if let (Some(uri), Some(inline)) = (&self.jwks_uri, sources.first()) {
            return Err(PolicyError::new(
                "jwks_uri",
                format!(
                    "keys are given inline in `{inline}`, so `jwks_uri` ({uri}) would never be used; remove one"
                ),
            ));
        }
        if let Some(uri) = &self.jwks_uri
            && !(uri.starts_with("https://") || uri.starts_with("http://"))
        {
            return Err(PolicyError::new(
                "jwks_uri",
                "must be an absolute https:// URL",
            ));
        }
        let inline_keys = if let Some(jwks) = &self.jwks {
            Some(
                KeySet::from_jwks(jwks, KeyOrigin::InlineJwks, true)
                    .map_err(|e| PolicyError::new("jwks", e.0))?,
            )
        } else if let Some(pem) = &self.public_key {
            Some(KeySet::from_pem(pem).map_err(|e| PolicyError::new("public_key", e.0))?)
        } else if let Some(secret) = &self.secret {
            if secret.expose().is_empty() {
                return Err(PolicyError::new("secret", "must not be empty"));
            }
            if !self.allowed_algs.iter().any(|a| a.is_hmac()) {
                return Err(PolicyError::new(
                    "allowed_algs",
                    "a `secret` is given but no HS256/HS384/HS512 is allowed; add the HMAC algorithm your issuer uses",
                ));
            }
            Some(KeySet::from_secret(secret.expose()))
        } else {
            None
        };
        let remote = inline_keys.is_none();
        if remote && let Some(hs) = self.allowed_algs.iter().find(|a| a.is_hmac()) {
            return Err(PolicyError::new(
                "allowed_algs",
                format!(
                    "{hs} needs a `secret` (or inline `jwks` with oct keys): keys fetched from an issuer are never HMAC secrets"
                ),
            ));
        }
        Ok(inline_keys.map(Arc::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> PolicyError {
        match Policy::from_json(&v) {
            Err(e) => e,
            Ok(p) => p.compile().expect_err("expected a policy error"),
        }
    }

    #[test]
    fn seed_policy_parses_with_defaults() {
        let p = Policy::from_json(&json!({
            "issuer": "https://acme.auth0.com/",
            "audiences": ["https://api.acme.com/"],
            "allowed_algs": ["RS256"],
            "required_claims": ["sub", "scope"],
            "required_custom_claims": {"https://acme.com/tenant_id": "acme-prod"},
            "clock_skew_seconds": 60,
            "max_ttl_seconds": 86400,
            "token_type": "JWT"
        }))
        .unwrap();
        let c = p.compile().unwrap();
        assert_eq!(c.expected_typ(), Some("jwt"));
        assert!(c.inline_keys().is_none());
        let min = Policy::from_json(&json!({"issuer":"i","audiences":["a"]})).unwrap();
        assert_eq!(min.allowed_algs, [Alg::RS256]);
        assert_eq!(min.clock_skew_seconds, 60);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"issuer":"i","audiences":["a"],"allowed_algs":["none"]}),
                "allowed_algs[0]",
                "never accepted",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"allowed_algs":["NONE"]}),
                "allowed_algs[0]",
                "never accepted",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"allowed_algs":["rs256"]}),
                "allowed_algs[0]",
                "case-sensitive",
            ),
            (
                json!({"issuer":"i","audiences":"a"}),
                "audiences",
                "expected a sequence",
            ),
            (
                json!({"issuer":"i","audiences":[]}),
                "audiences",
                "at least one",
            ),
            (json!({"audiences":["a"]}), "", "missing field `issuer`"),
            (
                json!({"issuer":"i","audiences":["a"],"clock_skew_seconds":-1}),
                "clock_skew_seconds",
                "invalid value",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"clock_skew_seconds":"60"}),
                "clock_skew_seconds",
                "invalid type",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"clock_skew_seconds":3601}),
                "clock_skew_seconds",
                "maximum",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"audience":"x"}),
                "audience",
                "unknown field",
            ),
            (
                json!({"issuer":" i","audiences":["a"]}),
                "issuer",
                "whitespace",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"secret":"s","public_key":"p"}),
                "secret",
                "at most one",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"secret":"0123456789abcdef0123456789abcdef"}),
                "allowed_algs",
                "no HS256",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"allowed_algs":["HS256"]}),
                "allowed_algs",
                "needs a `secret`",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"jwks":{"keys":3}}),
                "jwks",
                "must be an array",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"public_key":"nope"}),
                "public_key",
                "PEM",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"jwks_uri":"ftp://x"}),
                "jwks_uri",
                "https",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"jwks_uri":"https://x","jwks":{"keys":[]}}),
                "jwks_uri",
                "inline",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"required_custom_claims":{"r":{"one_of":3}}}),
                "required_custom_claims.r",
                "array",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"required_scopes":["a b"]}),
                "required_scopes[0]",
                "without spaces",
            ),
            (
                json!({"issuer":"i","audiences":["a"],"max_ttl_seconds":0}),
                "max_ttl_seconds",
                "greater",
            ),
        ];
        for (input, field, text) in cases {
            let e = err(input.clone());
            assert_eq!(e.field, field, "{input} -> {e}");
            assert!(e.message.contains(text), "{input} -> {e}");
        }
    }

    #[test]
    fn secret_never_serializes_or_debugs() {
        let p = Policy::from_json(
            &json!({"issuer":"i","audiences":["a"],"allowed_algs":["HS256"],
            "secret":"super-secret-value-that-is-32-bytes!"}),
        )
        .unwrap();
        let s = serde_json::to_string(&p).unwrap();
        assert!(!s.contains("super-secret"), "{s}");
        assert!(!format!("{p:?}").contains("super-secret"));
        assert!(!format!("{:?}", p.compile().unwrap()).contains("super-secret"));
    }

    #[test]
    fn typ_normalization() {
        assert_eq!(normalize_typ("application/AT+JWT"), "at+jwt");
        assert_eq!(normalize_typ("JWT"), "jwt");
    }
}

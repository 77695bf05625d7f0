//! Built-in starter policies per identity provider. The facts (issuer formats,
//! algorithms, claims, key URLs) are in `shared/guide/providers.md`; each template has
//! `{placeholders}` that [`Preset::instantiate`] fills.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use crate::policy::{Policy, PolicyError};

/// One placeholder of a preset.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Param {
    /// Its name, as in `{name}`.
    pub name: &'static str,
    /// What to fill in.
    pub description: &'static str,
    /// An example value.
    pub example: &'static str,
    /// A host name: a scheme and trailing slash given by the user are removed.
    #[serde(skip)]
    pub host: bool,
}

/// A starter policy for one identity provider and token kind.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Preset {
    /// Its name, e.g. `auth0`.
    pub name: &'static str,
    /// The provider.
    pub provider: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// The kind of token: `access`, `id`, `session` or `workload`.
    pub token_kind: &'static str,
    /// Placeholders to fill.
    pub params: &'static [Param],
    /// Gotchas worth reading before use.
    pub notes: &'static [&'static str],
    #[serde(skip)]
    template: fn() -> Value,
}

/// Why a preset could not be filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresetError {
    /// No preset has that name.
    Unknown(String),
    /// Placeholders left unfilled.
    Missing(Vec<String>),
    /// A parameter the preset does not have.
    UnknownParam(String),
    /// The filled-in policy is not valid.
    Policy(PolicyError),
}

impl fmt::Display for PresetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresetError::Unknown(n) => write!(
                f,
                "no preset named `{n}`; available: {}",
                names().join(", ")
            ),
            PresetError::Missing(m) => write!(f, "missing preset parameters: {}", m.join(", ")),
            PresetError::UnknownParam(p) => write!(f, "the preset has no parameter `{p}`"),
            PresetError::Policy(e) => write!(f, "the filled-in policy is invalid: {e}"),
        }
    }
}

impl std::error::Error for PresetError {}

const fn p(name: &'static str, description: &'static str, example: &'static str) -> Param {
    Param {
        name,
        description,
        example,
        host: false,
    }
}

const fn host(name: &'static str, description: &'static str, example: &'static str) -> Param {
    Param {
        name,
        description,
        example,
        host: true,
    }
}

const AUTH0_PARAMS: &[Param] = &[
    host(
        "tenant",
        "your Auth0 domain (tenant or custom domain)",
        "acme.auth0.com",
    ),
    p(
        "audience",
        "your API identifier from the Auth0 dashboard",
        "https://api.acme.com/",
    ),
];

static PRESETS: &[Preset] = &[
    Preset {
        name: "auth0",
        provider: "Auth0",
        description: "Access tokens for a custom Auth0 API (Auth0 token profile, RS256)",
        token_kind: "access",
        params: AUTH0_PARAMS,
        notes: &[
            "iss is https://{tenant}/ with a trailing slash; with a custom domain it is that domain",
            "without an `audience` in the authorize request Auth0 issues an opaque or encrypted token that cannot be validated",
            "aud may be an array that also contains https://{tenant}/userinfo",
            "add required_scopes or required_custom_claims (namespaced, e.g. https://acme.com/role) for authorization",
        ],
        template: || {
            json!({
                "issuer": "https://{tenant}/",
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub"],
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 86400,
                "jwks_uri": "https://{tenant}/.well-known/jwks.json"
            })
        },
    },
    Preset {
        name: "auth0-rfc9068",
        provider: "Auth0",
        description: "Access tokens for an Auth0 API using the RFC 9068 token profile (typ at+jwt)",
        token_kind: "access",
        params: AUTH0_PARAMS,
        notes: &[
            "what express-oauth2-jwt-bearer's strict mode checks: typ at+jwt, client_id, jti, iat, sub",
        ],
        template: || {
            json!({
                "issuer": "https://{tenant}/",
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "client_id", "jti", "iat"],
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 86400,
                "token_type": "at+jwt",
                "jwks_uri": "https://{tenant}/.well-known/jwks.json"
            })
        },
    },
    Preset {
        name: "okta",
        provider: "Okta",
        description: "Access tokens from an Okta custom authorization server (e.g. `default`)",
        token_kind: "access",
        params: &[
            host("okta_domain", "your Okta domain", "acme.okta.com"),
            p(
                "authorization_server_id",
                "the authorization server id",
                "default",
            ),
            p(
                "audience",
                "the authorization server's audience",
                "api://default",
            ),
        ],
        notes: &[
            "the org authorization server (issuer without /oauth2/...) issues access tokens only Okta can validate: use a custom authorization server",
            "scopes are in `scp` (an array); the client id is in `cid`",
        ],
        template: || {
            json!({
                "issuer": "https://{okta_domain}/oauth2/{authorization_server_id}",
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "jti", "iat", "cid"],
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 86400,
                "jwks_uri": "https://{okta_domain}/oauth2/{authorization_server_id}/v1/keys"
            })
        },
    },
    Preset {
        name: "cognito",
        provider: "Amazon Cognito",
        description: "Access tokens from a Cognito user pool (no `aud`: the app client id is in `client_id`)",
        token_kind: "access",
        params: &[
            p("region", "the AWS region of the user pool", "eu-west-1"),
            p("user_pool_id", "the user pool id", "eu-west-1_AbCdEf123"),
            p(
                "app_client_id",
                "the app client id allowed to call this API",
                "1example23456789",
            ),
        ],
        notes: &[
            "Cognito access tokens have no aud; audience_claim is client_id",
            "token_use must be access: ID tokens (which do have aud) must not reach APIs",
        ],
        template: || {
            json!({
                "issuer": "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
                "audiences": ["{app_client_id}"],
                "audience_claim": "client_id",
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "jti", "iat"],
                "required_custom_claims": {"token_use": "access"},
                "clock_skew_seconds": 30,
                "max_ttl_seconds": 86400,
                "jwks_uri": "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}/.well-known/jwks.json"
            })
        },
    },
    Preset {
        name: "cognito-id",
        provider: "Amazon Cognito",
        description: "ID tokens from a Cognito user pool",
        token_kind: "id",
        params: &[
            p("region", "the AWS region of the user pool", "eu-west-1"),
            p("user_pool_id", "the user pool id", "eu-west-1_AbCdEf123"),
            p("app_client_id", "the app client id", "1example23456789"),
        ],
        notes: &["ID tokens prove a login to a client; APIs should accept access tokens"],
        template: || {
            json!({
                "issuer": "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
                "audiences": ["{app_client_id}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "iat"],
                "required_custom_claims": {"token_use": "id"},
                "clock_skew_seconds": 30,
                "max_ttl_seconds": 86400,
                "jwks_uri": "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}/.well-known/jwks.json"
            })
        },
    },
    Preset {
        name: "entra",
        provider: "Microsoft Entra ID",
        description: "v2.0 access tokens for your API (accessTokenAcceptedVersion 2)",
        token_kind: "access",
        params: &[
            p(
                "tenant_id",
                "your directory (tenant) id, a GUID",
                "72f988bf-86f1-41af-91ab-2d7cd011db47",
            ),
            p(
                "api_client_id",
                "your API's application (client) id",
                "6e74172b-be56-4843-9ff4-e66a39bb12e3",
            ),
        ],
        notes: &[
            "v1 tokens have iss https://sts.windows.net/{tenant_id}/: use the entra-v1 preset, or set accessTokenAcceptedVersion to 2",
            "a multi-tenant API: list every customer tenant id in allowed_tenants, or set it to \"any\" (tid must equal the tenant in iss either way)",
            "tokens for Microsoft Graph are not for you and do not verify",
            "CAE-enabled tokens live up to 28 h: raise max_ttl_seconds to 100800 to accept them",
        ],
        template: || {
            // the issuer template: list more tenant ids (a multi-tenant API) or say "any";
            // tid must equal the tenant in iss; the keys are the common ones
            json!({
                "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                "allowed_tenants": ["{tenant_id}"],
                "audiences": ["{api_client_id}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "oid", "iat"],
                "required_custom_claims": {"ver": "2.0"},
                "clock_skew_seconds": 300,
                "max_ttl_seconds": 7200,
                "jwks_uri": "https://login.microsoftonline.com/common/discovery/v2.0/keys"
            })
        },
    },
    Preset {
        name: "entra-v1",
        provider: "Microsoft Entra ID",
        description: "v1.0 access tokens for your API",
        token_kind: "access",
        params: &[
            p(
                "tenant_id",
                "your directory (tenant) id, a GUID",
                "72f988bf-86f1-41af-91ab-2d7cd011db47",
            ),
            p(
                "audience",
                "your API's App ID URI or client id",
                "api://6e74172b-be56-4843-9ff4-e66a39bb12e3",
            ),
        ],
        notes: &["v1 issuers end with a slash; the calling client is in appid"],
        template: || {
            json!({
                "issuer": "https://sts.windows.net/{tenantid}/",
                "allowed_tenants": ["{tenant_id}"],
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "oid", "iat"],
                "required_custom_claims": {"ver": "1.0"},
                "clock_skew_seconds": 300,
                "max_ttl_seconds": 7200,
                "jwks_uri": "https://login.microsoftonline.com/common/discovery/keys"
            })
        },
    },
    Preset {
        name: "google",
        provider: "Google",
        description: "Google Sign-In (OpenID Connect) ID tokens",
        token_kind: "id",
        params: &[p(
            "client_id",
            "your OAuth client id",
            "1234567890-abc.apps.googleusercontent.com",
        )],
        notes: &[
            "Google issues two issuer forms; both are accepted",
            "check email_verified before trusting email; pin a Workspace with required_custom_claims {\"hd\": \"example.com\"}",
            "Google access tokens (ya29.…) are opaque, not JWTs",
        ],
        template: || {
            json!({
                "issuer": ["https://accounts.google.com", "accounts.google.com"],
                "audiences": ["{client_id}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "iat"],
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 3600,
                "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs"
            })
        },
    },
    Preset {
        name: "firebase",
        provider: "Firebase Authentication",
        description: "Firebase ID tokens (what a Firebase client sends to your backend)",
        token_kind: "id",
        params: &[p("project_id", "your Firebase project id", "acme-prod")],
        notes: &[
            "custom tokens minted by your server are not ID tokens and are refused",
            "revocation is not visible in the token",
        ],
        template: || {
            json!({
                "issuer": "https://securetoken.google.com/{project_id}",
                "audiences": ["{project_id}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "iat", "auth_time"],
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 3600,
                "jwks_uri": "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
            })
        },
    },
    Preset {
        name: "keycloak",
        provider: "Keycloak",
        description: "Access tokens from a Keycloak realm",
        token_kind: "access",
        params: &[
            host(
                "host",
                "the Keycloak host name as clients see it (KC_HOSTNAME)",
                "sso.acme.com",
            ),
            p("realm", "the realm", "acme"),
            p(
                "audience",
                "the audience (needs an audience mapper in Keycloak)",
                "acme-api",
            ),
        ],
        notes: &[
            "aud holds only `account` unless an audience mapper adds your API",
            "older servers have /auth/realms/{realm} issuers",
            "ID and access tokens share keys: the payload typ must be Bearer",
        ],
        template: || {
            json!({
                "issuer": "https://{host}/realms/{realm}",
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256", "ES256", "PS256"],
                "required_claims": ["sub", "iat", "azp"],
                "required_custom_claims": {"typ": "Bearer"},
                "clock_skew_seconds": 30,
                "max_ttl_seconds": 3600,
                "jwks_uri": "https://{host}/realms/{realm}/protocol/openid-connect/certs"
            })
        },
    },
    Preset {
        name: "clerk",
        provider: "Clerk",
        description: "Clerk session tokens (no `aud`: the allowed origin is checked in `azp`)",
        token_kind: "session",
        params: &[
            host(
                "frontend_api_host",
                "your Clerk Frontend API host",
                "clerk.acme.com",
            ),
            p(
                "allowed_origin",
                "the origin of your front end",
                "https://app.acme.com",
            ),
        ],
        notes: &[
            "session tokens live 60 s",
            "reject users with sts \"pending\" if your API needs an organization",
        ],
        template: || {
            json!({
                "issuer": "https://{frontend_api_host}",
                "audiences": ["{allowed_origin}"],
                "audience_claim": "azp",
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "sid", "iat", "nbf"],
                "clock_skew_seconds": 5,
                "max_ttl_seconds": 60,
                "jwks_uri": "https://{frontend_api_host}/.well-known/jwks.json"
            })
        },
    },
    Preset {
        name: "github-actions",
        provider: "GitHub Actions",
        description: "GitHub Actions OIDC tokens for workload identity",
        token_kind: "workload",
        params: &[
            p(
                "audience",
                "the audience the workflow requests (default https://github.com/{owner})",
                "https://github.com/octo-org",
            ),
            p(
                "repository",
                "the repository allowed to call, owner/name",
                "octo-org/octo-repo",
            ),
        ],
        notes: &[
            "every repository of an owner gets the same default aud: always pin the repository (better: repository_id)",
            "keys stay at token.actions.githubusercontent.com even for enterprise-slug issuers",
        ],
        template: || {
            json!({
                "issuer": "https://token.actions.githubusercontent.com",
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256"],
                "required_claims": ["sub", "jti", "iat", "repository_id"],
                "required_custom_claims": {"repository": "{repository}"},
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 900,
                "jwks_uri": "https://token.actions.githubusercontent.com/.well-known/jwks"
            })
        },
    },
    Preset {
        name: "kubernetes",
        provider: "Kubernetes",
        description: "Projected service-account tokens",
        token_kind: "workload",
        params: &[
            p(
                "service_account_issuer",
                "the API server's --service-account-issuer URL",
                "https://kubernetes.default.svc.cluster.local",
            ),
            p("audience", "the audience your pods request", "my-service"),
            p("namespace", "the namespace allowed to call", "default"),
        ],
        notes: &[
            "legacy secret tokens (iss kubernetes/serviceaccount) never expire and are refused",
        ],
        template: || {
            json!({
                "issuer": "{service_account_issuer}",
                "audiences": ["{audience}"],
                "allowed_algs": ["RS256", "ES256"],
                "required_claims": ["sub", "iat"],
                "required_custom_claims": {"sub": {"prefix": "system:serviceaccount:{namespace}:"}},
                "clock_skew_seconds": 60,
                "max_ttl_seconds": 86400,
                "jwks_uri": "{service_account_issuer}/openid/v1/jwks"
            })
        },
    },
    Preset {
        name: "supabase",
        provider: "Supabase",
        description: "Supabase Auth user access tokens (asymmetric signing keys)",
        token_kind: "access",
        params: &[p("project_ref", "your project ref", "abcdefghijklmnop")],
        notes: &[
            "projects on the legacy shared secret issue HS256 tokens: use a policy with `secret` instead",
        ],
        template: || {
            json!({
                "issuer": "https://{project_ref}.supabase.co/auth/v1",
                "audiences": ["authenticated"],
                "allowed_algs": ["ES256", "RS256"],
                "required_claims": ["sub", "iat", "session_id"],
                "required_custom_claims": {"role": "authenticated"},
                "clock_skew_seconds": 30,
                "max_ttl_seconds": 3600,
                "jwks_uri": "https://{project_ref}.supabase.co/auth/v1/.well-known/jwks.json"
            })
        },
    },
];

/// Every preset.
pub fn all() -> &'static [Preset] {
    PRESETS
}

/// The preset names.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

/// A preset by name.
pub fn get(name: &str) -> Result<&'static Preset, PresetError> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PresetError::Unknown(name.to_owned()))
}

fn fill(v: &mut Value, values: &BTreeMap<&str, String>) {
    match v {
        Value::String(s) => {
            for (k, val) in values {
                let ph = format!("{{{k}}}");
                if s.contains(&ph) {
                    *s = s.replace(&ph, val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fill(i, values)),
        Value::Object(map) => map.values_mut().for_each(|i| fill(i, values)),
        _ => {}
    }
}

fn placeholders(v: &Value, names: &[&str], out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            for n in names {
                if s.contains(&format!("{{{n}}}")) && !out.iter().any(|o| o == n) {
                    out.push((*n).to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| placeholders(i, names, out)),
        Value::Object(map) => map.values().for_each(|i| placeholders(i, names, out)),
        _ => {}
    }
}

impl Preset {
    /// The policy template, placeholders included.
    pub fn template(&self) -> Value {
        (self.template)()
    }

    /// Fills some placeholders and returns the template; unfilled ones stay.
    pub fn fill_partial(&self, params: &BTreeMap<String, String>) -> Result<Value, PresetError> {
        let mut values = BTreeMap::new();
        for (k, v) in params {
            let param = self
                .params
                .iter()
                .find(|p| p.name == k)
                .ok_or_else(|| PresetError::UnknownParam(k.clone()))?;
            let v = v.trim();
            let v = if param.host {
                let v = v
                    .strip_prefix("https://")
                    .or_else(|| v.strip_prefix("http://"))
                    .unwrap_or(v);
                v.trim_end_matches('/')
            } else {
                v
            };
            values.insert(param.name, v.to_owned());
        }
        let mut t = self.template();
        fill(&mut t, &values);
        Ok(t)
    }

    /// Placeholders still present in a (partially) filled template.
    pub fn missing(&self, filled: &Value) -> Vec<String> {
        let names: Vec<&str> = self.params.iter().map(|p| p.name).collect();
        let mut out = Vec::new();
        placeholders(filled, &names, &mut out);
        out
    }

    /// `filled` with the placeholders still in it listed explicitly under
    /// `placeholders` (name, what to fill in, an example), or `filled` as it is when
    /// every one is filled. What `GET /v1/presets/{name}` and `jwtshield presets NAME`
    /// print.
    pub fn with_placeholders(&self, filled: Value) -> Value {
        let missing = self.missing(&filled);
        if missing.is_empty() {
            return filled;
        }
        let list: Vec<Value> = self
            .params
            .iter()
            .filter(|p| missing.iter().any(|m| m == p.name))
            .map(|p| {
                serde_json::json!({"name": p.name, "description": p.description, "example": p.example})
            })
            .collect();
        let mut out = filled;
        if let Value::Object(o) = &mut out {
            o.insert("placeholders".into(), Value::Array(list));
        }
        out
    }

    /// A policy ready to use: every placeholder filled, validated.
    pub fn instantiate(&self, params: &BTreeMap<String, String>) -> Result<Policy, PresetError> {
        let filled = self.fill_partial(params)?;
        let missing = self.missing(&filled);
        if !missing.is_empty() {
            return Err(PresetError::Missing(missing));
        }
        let policy = Policy::from_json(&filled).map_err(PresetError::Policy)?;
        policy.clone().compile().map_err(PresetError::Policy)?;
        Ok(policy)
    }

    /// The example values of every parameter.
    pub fn example_params(&self) -> BTreeMap<String, String> {
        self.params
            .iter()
            .map(|p| (p.name.to_owned(), p.example.to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_presets_exist() {
        for n in [
            "auth0",
            "okta",
            "cognito",
            "entra",
            "google",
            "firebase",
            "keycloak",
            "clerk",
            "github-actions",
        ] {
            assert!(get(n).is_ok(), "{n}");
        }
        assert!(matches!(get("nope"), Err(PresetError::Unknown(_))));
    }

    #[test]
    fn every_preset_compiles_with_its_examples_and_leaves_no_placeholder() {
        for preset in all() {
            let policy = preset
                .instantiate(&preset.example_params())
                .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            let value = serde_json::to_value(&policy).unwrap();
            assert!(
                preset.missing(&value).is_empty(),
                "{}: {value}",
                preset.name
            );
            assert!(
                !preset.missing(&preset.template()).is_empty(),
                "{} has no placeholder",
                preset.name
            );
        }
    }

    #[test]
    fn auth0_fill_normalizes_host() {
        let mut params = BTreeMap::new();
        params.insert("tenant".to_owned(), "https://acme.auth0.com/".to_owned());
        params.insert("audience".to_owned(), "https://api.acme.com/".to_owned());
        let p = get("auth0").unwrap().instantiate(&params).unwrap();
        assert_eq!(p.issuer.primary(), "https://acme.auth0.com/");
        assert_eq!(
            p.jwks_uri.as_deref(),
            Some("https://acme.auth0.com/.well-known/jwks.json")
        );
        assert_eq!(p.audiences, ["https://api.acme.com/"]);
        params.remove("audience");
        assert_eq!(
            get("auth0").unwrap().instantiate(&params),
            Err(PresetError::Missing(vec!["audience".into()]))
        );
        params.insert("bogus".into(), "x".into());
        assert_eq!(
            get("auth0").unwrap().instantiate(&params),
            Err(PresetError::UnknownParam("bogus".into()))
        );
    }
}

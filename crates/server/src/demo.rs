//! `jwtshield serve --demo`: a local demo issuer so a newcomer reaches `valid: true`
//! without an identity provider. An ES256 key is made at start and kept in memory only
//! (never written anywhere); the `demo` issuer profile trusts its public half inline, and
//! `POST /v1/demo/token` mints tokens with it, valid or deliberately broken. Tokens of
//! the demo issuer are accepted by the `demo` profile only. Loopback addresses only.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use jwtshield_core::{CompiledPolicy, Policy, b64};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::problem::{Problem, ProblemDetails};
use crate::routes::{json_no_store, parse_body, read_body};
use crate::state::AppState;

/// The demo issuer profile's id.
pub const PROFILE: &str = "demo";
/// The demo issuer (a reserved `.invalid` name: nothing is ever fetched from it).
pub const ISSUER: &str = "https://demo.jwtshield.invalid/";
/// The demo API's identifier.
pub const AUDIENCE: &str = "https://api.example.com/";
/// The demo key's id.
pub const KID: &str = "demo-es256";

/// The demo issuer: a signing key in memory.
pub struct Demo {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Demo(<key in memory>)")
    }
}

/// The body of `POST /v1/demo/token`; every member optional: `{}` asks for a valid
/// token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoTokenRequest {
    /// Seconds until `exp`; negative for an expired token. Default 3600.
    #[serde(default, deserialize_with = "jwtshield_core::policy::whole_i64_opt")]
    #[schema(value_type = i64, minimum = -86400, maximum = 86400)]
    pub expires_in: Option<i64>,
    /// `aud`. Default the demo API, `https://api.example.com/`.
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String)]
    pub audience: Option<String>,
    /// `scope`, space-separated. Default `read:messages`.
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String)]
    pub scope: Option<String>,
    /// `sub`. Default `demo|alice`.
    #[serde(default, deserialize_with = "jwtshield_core::policy::not_null")]
    #[schema(value_type = String)]
    pub subject: Option<String>,
}

/// A minted demo token.
#[derive(serde::Serialize, ToSchema)]
pub struct DemoToken {
    /// The compact JWS.
    pub token: String,
    /// The profile that accepts it.
    pub issuer_profile_id: String,
    /// Its claims, decoded.
    #[schema(value_type = Object)]
    pub claims: Value,
}

impl Demo {
    /// A fresh key.
    pub fn new() -> Result<Demo, String> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|e| format!("cannot make the demo key: {e}"))?;
        Ok(Demo {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The public key as a JWKS.
    pub fn jwks(&self) -> Value {
        // uncompressed SEC1 point: 0x04 || x || y
        let point = self.key.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": KID, "use": "sig", "alg": "ES256",
                         "x": b64::encode(x), "y": b64::encode(y)}]})
    }

    /// The `demo` issuer profile.
    pub fn policy(&self) -> Result<CompiledPolicy, String> {
        let policy = json!({
            "issuer": ISSUER,
            "audiences": [AUDIENCE],
            "allowed_algs": ["ES256"],
            "required_claims": ["sub", "scope"],
            "token_type": "at+jwt",
            "jwks": self.jwks(),
        });
        Policy::from_json(&policy)
            .and_then(Policy::compile)
            .map_err(|e| format!("the demo policy: {e}"))
    }

    /// Claims for a token minted at `now`.
    pub fn claims(&self, now: i64, req: &DemoTokenRequest) -> Value {
        let exp = now + req.expires_in.unwrap_or(3600);
        json!({
            "iss": ISSUER,
            "sub": req.subject.as_deref().unwrap_or("demo|alice"),
            "aud": req.audience.as_deref().unwrap_or(AUDIENCE),
            "scope": req.scope.as_deref().unwrap_or("read:messages"),
            "iat": now.min(exp),
            "exp": exp,
        })
    }

    /// A token with these claims, signed ES256.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": KID});
        let input = format!(
            "{}.{}",
            b64::encode(header.to_string()),
            b64::encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|e| format!("cannot sign: {e}"))?;
        Ok(format!("{input}.{}", b64::encode(sig.as_ref())))
    }
}

/// What `serve --demo` prints at start: a ready-to-run request with a fresh token.
pub fn banner(demo: &Demo, listen: std::net::SocketAddr) -> String {
    let claims = demo.claims(jwtshield_jwks::unix_now(), &DemoTokenRequest::default());
    let token = demo.sign(&claims).unwrap_or_default();
    format!(
        "JWTShield demo: issuer profile `{PROFILE}` trusts the demo issuer {ISSUER} (a key made now, in memory only).\n\
         Validate a fresh demo token (valid for an hour):\n\n\
         curl --fail-with-body -s -X POST http://{listen}/v1/validate/jwt \\\n  \
         -H 'Content-Type: application/json' \\\n  \
         -d '{{\"token\": \"{token}\", \"issuer_profile_id\": \"{PROFILE}\"}}'\n\n\
         More tokens: jwtshield demo-token [--expired] [--audience URL] [--scope S], or POST /v1/demo/token with {{}}.\n"
    )
}

/// Mints a demo token (only with `serve --demo`).
#[utoipa::path(
    post,
    path = "/v1/demo/token",
    operation_id = "demoToken",
    tag = "demo",
    request_body(content = DemoTokenRequest, content_type = "application/json", description = "`{}` gives a valid token; members change it"),
    responses(
        (status = 200, description = "A token the `demo` profile accepts (or refuses, as asked)", body = DemoToken),
        (status = 400, description = "The request is wrong; `field` names the culprit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "Body over --max-body-bytes", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some(demo) = state.demo() else {
        return Err(Problem::not_found(
            "not-found",
            "no such endpoint; demo tokens exist only with `jwtshield serve --demo`",
        ));
    };
    let bytes = read_body(&headers, body, state.config().max_body_bytes).await?;
    let req: DemoTokenRequest = parse_body(&bytes)?;
    if let Some(e) = req.expires_in
        && !(-86400..=86400).contains(&e)
    {
        return Err(Problem::bad_field(
            "expires_in",
            "`expires_in` must be between -86400 and 86400 seconds",
        ));
    }
    let claims = demo.claims(jwtshield_jwks::unix_now(), &req);
    let token = demo.sign(&claims).map_err(Problem::internal)?;
    Ok(json_no_store(&json!({
        "token": token,
        "issuer_profile_id": PROFILE,
        "claims": claims,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_token_is_valid_for_the_demo_profile_only_until_it_expires() {
        let demo = Demo::new().unwrap();
        let policy = demo.policy().unwrap();
        let keys = policy.inline_keys().unwrap().as_ref().clone();
        let now = 1_800_000_000;
        let check = |req: DemoTokenRequest| {
            let token = demo.sign(&demo.claims(now, &req)).unwrap();
            let t = jwtshield_core::Token::parse(&token, &jwtshield_core::Limits::default());
            jwtshield_core::validate(&t, &keys, &policy, now)
        };
        assert!(check(DemoTokenRequest::default()).valid());
        let expired = check(DemoTokenRequest {
            expires_in: Some(-600),
            ..Default::default()
        });
        assert!(!expired.valid());
        assert_eq!(expired.findings()[0].code.as_str(), "TOKEN_EXPIRED");
        let other = Demo::new().unwrap();
        let foreign = other
            .sign(&other.claims(now, &DemoTokenRequest::default()))
            .unwrap();
        let t = jwtshield_core::Token::parse(&foreign, &jwtshield_core::Limits::default());
        assert!(!jwtshield_core::validate(&t, &keys, &policy, now).valid());
    }
}

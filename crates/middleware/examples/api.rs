//! The product doc's Express example, in Rust: `/api/public` for anyone,
//! `/api/private` for a valid access token, `/api/admin` for one with `admin:read`.
//!
//! ```text
//! AUTH0_ISSUER_BASE_URL=https://acme.auth0.com/ AUTH0_AUDIENCE=https://api.acme.com/ \
//!   cargo run -p jwtshield-middleware --example api
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3001/api/private
//! ```
//! `PORT` changes the port (3001); `JWTSHIELD_JWKS_ALLOW_INSECURE=1` allows an http,
//! loopback issuer for local testing.
#![allow(clippy::expect_used)]

use axum::routing::get;
use axum::{Json, Router};
use jwtshield_jwks::{Config, GuardConfig, KeySets};
use jwtshield_middleware::{Auth, JwtAuth, require_scopes};
use serde_json::json;

/// The routes, protected by `check_jwt` (also used by the middleware's tests).
pub fn app(check_jwt: JwtAuth) -> Router {
    let protected = Router::new()
        .route(
            "/api/private",
            get(|Auth(token): Auth| async move {
                Json(json!({"message": "Protected endpoint", "userId": token.subject()}))
            }),
        )
        .route(
            "/api/admin",
            get(|| async { Json(json!({"message": "Admin endpoint"})) })
                .layer(require_scopes(&["admin:read"])),
        )
        .layer(check_jwt.layer());
    Router::new()
        .route(
            "/api/public",
            get(|| async { Json(json!({"message": "Public endpoint - no auth required"})) }),
        )
        .merge(protected)
}

#[tokio::main]
async fn main() {
    let issuer = std::env::var("AUTH0_ISSUER_BASE_URL").expect("AUTH0_ISSUER_BASE_URL");
    let audience = std::env::var("AUTH0_AUDIENCE").expect("AUTH0_AUDIENCE");
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    let insecure =
        std::env::var("JWTSHIELD_JWKS_ALLOW_INSECURE").is_ok_and(|v| v == "1" || v == "true");

    // auth({ audience, issuerBaseURL, tokenSigningAlg: 'RS256' })
    let policy = jwtshield_core::Policy::from_json(&json!({
        "issuer": issuer,
        "audiences": [audience],
        "allowed_algs": ["RS256"],
    }))
    .and_then(jwtshield_core::Policy::compile)
    .expect("a valid policy");
    let keysets = KeySets::new(Config {
        guard: if insecure {
            GuardConfig::insecure()
        } else {
            GuardConfig::default()
        },
        ..Config::default()
    })
    .expect("key sets");
    let check_jwt = JwtAuth::with_key_sets(policy, keysets);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    eprintln!(
        "listening on http://{}",
        listener.local_addr().expect("address")
    );
    axum::serve(listener, app(check_jwt)).await.expect("serve");
}

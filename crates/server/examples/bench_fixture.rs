//! Writes what `scripts/bench-service` needs: an RSA-2048 key set to serve, a profile
//! pointing at it, and a request body with a valid RS256 token.
//! Usage: `bench_fixture OUT_DIR ISSUER_URL`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jwtshield_testkit::Signer;
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("OUT_DIR"));
    let issuer = args.next().expect("ISSUER_URL");
    let key = Signer::rsa("bench-1");
    let jwks = json!({ "keys": [key.jwk_pinned()] });
    std::fs::create_dir_all(out.join(".well-known")).unwrap();
    std::fs::write(out.join(".well-known/jwks.json"), jwks.to_string()).unwrap();
    let profiles = json!({"bench": {
        "issuer": issuer, "audiences": ["https://api.acme.com/"], "allowed_algs": ["RS256"],
        "required_claims": ["sub", "scope"], "clock_skew_seconds": 60, "max_ttl_seconds": 172800
    }});
    std::fs::write(out.join("profiles.json"), profiles.to_string()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // a realistic Auth0 access token (about 600 bytes)
    let claims = json!({"iss": issuer, "sub": "auth0|64f1c3a8e2b7d90012ab34cd",
        "aud": ["https://api.acme.com/", format!("{issuer}userinfo")], "iat": now, "exp": now + 86400,
        "scope": "openid profile email read:messages", "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K",
        "permissions": ["read:messages"]});
    let token = key.token(json!({"typ": "JWT"}), claims);
    std::fs::write(out.join("token.txt"), &token).unwrap();
    std::fs::write(
        out.join("body.json"),
        json!({"token": token, "issuer_profile_id": "bench"}).to_string(),
    )
    .unwrap();
}

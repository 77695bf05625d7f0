//! Writes what `scripts/bench-service` needs: an RSA-2048 key set to serve, a profile
//! pointing at it, and a request body with a valid RS256 token.
//! Usage: `bench_fixture OUT_DIR ISSUER_URL`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair};
use jwtshield_core::b64;
use pkcs1::der::Decode;
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("OUT_DIR"));
    let issuer = args.next().expect("ISSUER_URL");
    let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pk = pkcs1::RsaPublicKeyRef::from_der(key.public_key().as_ref()).unwrap();
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "bench-1", "use": "sig", "alg": "RS256",
        "n": b64::encode(pk.modulus.as_bytes()), "e": b64::encode(pk.public_exponent.as_bytes())}]});
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
    let input = format!(
        "{}.{}",
        b64::encode(json!({"alg": "RS256", "typ": "JWT", "kid": "bench-1"}).to_string()),
        b64::encode(claims.to_string())
    );
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let token = format!("{input}.{}", b64::encode(sig));
    std::fs::write(out.join("token.txt"), &token).unwrap();
    std::fs::write(
        out.join("body.json"),
        json!({"token": token, "issuer_profile_id": "bench"}).to_string(),
    )
    .unwrap();
}

//! The verified-signature cache through the service: a token presented again skips the
//! signature math on both `/v1/validate/jwt` and `/v1/authz`, a key rotated out of the
//! issuer's JWKS voids its entries, `--verified-cache-entries 0` turns the cache off,
//! and the configured token limit applies to every path.

use std::time::Duration;

use jwtshield_testkit::Signer;
use serde_json::{Value, json};

use crate::support::*;

fn profile(jwks: &Jwks) -> Value {
    let mut p = seed_policy(&jwks.issuer());
    p["jwks_uri"] = json!(jwks.jwks_uri());
    json!({ "acme": p })
}

/// A configuration whose key sets live one second (so a rotation is seen quickly).
fn short_lived(profiles: Value, cache_entries: usize) -> jwtshield_server::ServerConfig {
    let mut cfg = config(Some(profiles));
    cfg.jwks.min_ttl = Duration::from_secs(1);
    cfg.jwks.default_ttl = Duration::from_secs(1);
    cfg.jwks.cooldown = Duration::from_millis(100);
    cfg.jwks.verified_cache_entries = cache_entries;
    cfg
}

async fn cache_status(svc: &Service) -> Value {
    let (status, _, text) = svc.get("/v1/status").await;
    assert_eq!(status, 200);
    serde_json::from_str::<Value>(&text).unwrap()["verified_cache"].clone()
}

async fn verdict(svc: &Service, token: &str) -> Value {
    let (status, _, v) = svc
        .validate(json!({"token": token, "issuer_profile_id": "acme"}))
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_tokens_hit_and_a_rotation_voids_them() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let svc = Service::start(short_lived(profile(&jwks), 1000)).await;
    let cold = Service::start(short_lived(profile(&jwks), 0)).await;
    let token = rsa_token(claims(&jwks.issuer()));
    let before = cache_status(&svc).await;
    for _ in 0..3 {
        assert_eq!(verdict(&svc, &token).await["valid"], true);
    }
    let after = cache_status(&svc).await;
    assert_eq!(after["enabled"], true);
    assert_eq!(after["entries"], 1);
    assert_eq!(after["capacity"], 1000);
    let hits = after["hits"].as_u64().unwrap() - before["hits"].as_u64().unwrap();
    let misses = after["misses"].as_u64().unwrap() - before["misses"].as_u64().unwrap();
    assert_eq!((hits, misses), (2, 1), "{before} -> {after}");
    // /v1/authz shares the cache: the same token is a hit there too
    let res = svc
        .client
        .get(format!("{}/v1/authz?profile=acme", svc.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        cache_status(&svc).await["hits"].as_u64().unwrap(),
        after["hits"].as_u64().unwrap() + 1
    );
    // the issuer rotates k1 out: once the set is refetched the token is refused, exactly
    // as a service without the cache refuses it
    let next = Signer::rsa("k2");
    jwks.publish(json!({"keys": [next.jwk_pinned()]}));
    let mut refused = Value::Null;
    for _ in 0..100 {
        let v = verdict(&svc, &token).await;
        if v["valid"] == false {
            refused = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refused["valid"], false, "still accepted after the rotation");
    assert_eq!(refused["findings"][0]["code"], "KID_NOT_FOUND", "{refused}");
    let mut without = Value::Null;
    for _ in 0..100 {
        without = verdict(&cold, &token).await;
        if without["valid"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refused, without);
    // tokens of the new key are verified, then remembered
    let fresh = next.token(json!({"typ": "JWT"}), claims(&jwks.issuer()));
    assert_eq!(verdict(&svc, &fresh).await["valid"], true);
    assert_eq!(verdict(&svc, &fresh).await["valid"], true);
    assert_eq!(cache_status(&svc).await["entries"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_entries_turns_the_cache_off() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let svc = Service::start(short_lived(profile(&jwks), 0)).await;
    let token = rsa_token(claims(&jwks.issuer()));
    for _ in 0..3 {
        assert_eq!(verdict(&svc, &token).await["valid"], true);
    }
    let c = cache_status(&svc).await;
    assert_eq!(
        (c["enabled"].clone(), c["entries"].clone()),
        (json!(false), json!(0))
    );
    let (_, _, metrics) = svc.get("/metrics").await;
    assert!(
        metrics.contains("jwtshield_verified_cache_capacity 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_token_limit_applies_to_every_path() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let mut cfg = config(Some(profile(&jwks)));
    cfg.limits.max_token_bytes = 200;
    let svc = Service::start(cfg).await;
    let token = rsa_token(claims(&jwks.issuer()));
    assert!(token.len() > 200);
    let mut policy = seed_policy(&jwks.issuer());
    policy["jwks_uri"] = json!(jwks.jwks_uri());
    // (the profile's set is fetched once at start)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fetched = jwks.hits();
    let (_, _, v) = svc
        .validate(json!({"token": token, "policy": policy}))
        .await;
    assert_eq!(v["findings"][0]["code"], "TOKEN_TOO_LARGE", "{v}");
    let (_, _, v) = svc
        .post("/v1/inspect/token", json!({"token": token}).to_string())
        .await;
    assert_eq!(v["format_errors"][0]["code"], "TOKEN_TOO_LARGE", "{v}");
    let res = svc
        .client
        .get(format!("{}/v1/authz?profile=acme", svc.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("TOKEN_TOO_LARGE"), "{challenge}");
    // the key lookup read the same parse: nothing was fetched for a token never decoded
    assert_eq!(jwks.hits(), fetched);
}

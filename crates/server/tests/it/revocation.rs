//! Revocation: the admin API (closed unless configured, credentials checked), rules
//! refusing tokens on validate and authz, the embedded store across restarts, and
//! fleet mode through a real Redis shared by three instances.

use std::time::{Duration, Instant};

use jwtshield_server::revocations::StoreConfig;
use jwtshield_server::{AppState, ServerConfig};
use serde_json::{Value, json};

use crate::support::{RedisServer, Service, config, now, rsa_jwks, rsa_token};

const ISS: &str = "https://acme.auth0.com/";
const AUD: &str = "https://api.acme.com/";
const ADMIN_TOKEN: &str = "0123456789abcdef0123456789abcdef-admin";

fn profiles() -> Value {
    json!({
        "api": {"issuer": ISS, "audiences": [AUD], "jwks": rsa_jwks()},
        "admins": {"issuer": "https://admins.example/", "audiences": ["jwtshield"], "jwks": rsa_jwks()},
    })
}

fn admin_config(store: StoreConfig) -> ServerConfig {
    let mut cfg = config(Some(profiles()));
    cfg.admin.token = Some(jwtshield_core::Secret::new(ADMIN_TOKEN));
    cfg.admin.profile = Some("admins".into());
    cfg.store = store;
    cfg
}

fn token(extra: Value) -> String {
    let mut claims = json!({"iss": ISS, "aud": AUD, "sub": "auth0|alice", "azp": "spa-client",
        "jti": "t-1", "iat": now() - 60, "exp": now() + 600});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    rsa_token(claims)
}

async fn admin(
    svc: &Service,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = svc
        .client
        .request(method.parse().unwrap(), format!("{}{path}", svc.url))
        .header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", format!("Bearer {a}"));
    }
    if !body.is_null() {
        req = req.body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn verdict(svc: &Service, token: &str) -> Value {
    svc.validate(json!({"token": token, "issuer_profile_id": "api"}))
        .await
        .2
}

async fn authz(svc: &Service, token: &str) -> (u16, String) {
    let res = svc
        .client
        .get(format!("{}/v1/authz?profile=api", svc.url))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_is_closed_unless_configured_and_needs_credentials() {
    let closed = Service::start(config(Some(profiles()))).await;
    let (status, _, _) = admin(
        &closed,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "jti": "x"}),
    )
    .await;
    assert_eq!(status, 404, "not configured: not exposed");
    let (_, _, doc) = closed.get("/openapi.json").await;
    assert!(!doc.contains("/v1/revocations"));

    let svc = Service::start(admin_config(StoreConfig::Memory)).await;
    let rule = json!({"issuer": ISS, "jti": "t-1"});
    let (status, headers, _) = admin(&svc, "POST", "/v1/revocations", None, rule.clone()).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"jwtshield-admin\"")
    );
    let (status, _, _) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some("not-the-token"),
        rule.clone(),
    )
    .await;
    assert_eq!(status, 401);
    // a valid JWT of the admin profile without the admin scope
    let jwt = |scope: &str| {
        rsa_token(
            json!({"iss": "https://admins.example/", "aud": "jwtshield", "sub": "ops|bob",
            "scope": scope, "exp": now() + 600}),
        )
    };
    let (status, headers, _) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(&jwt("read:things")),
        rule.clone(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    // a token of another profile is no admin credential, whatever its scope
    let (status, _, _) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(&token(json!({"scope": "jwtshield:admin"}))),
        rule.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, headers, stored) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(&jwt("jwtshield:admin")),
        rule.clone(),
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(
        headers["location"],
        format!("/v1/revocations/{}", stored["id"].as_str().unwrap())
    );
    let (status, _, _) = admin(
        &svc,
        "GET",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    // a revoked admin JWT is no credential
    let revoked_admin = rsa_token(json!({"iss": "https://admins.example/", "aud": "jwtshield",
        "sub": "ops|eve", "jti": "admin-1", "scope": "jwtshield:admin", "exp": now() + 600}));
    let (status, _, _) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": "https://admins.example/", "jti": "admin-1"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, _) = admin(
        &svc,
        "GET",
        "/v1/revocations",
        Some(&revoked_admin),
        Value::Null,
    )
    .await;
    assert_eq!(status, 401);
    // garbage rules: 400 naming the member
    for (body, field) in [
        (json!({"jti": "x"}), "issuer"),
        (json!({"issuer": ISS}), "jti"),
        (json!({"issuer": ISS, "jti": "a", "sub": "b"}), "jti"),
        (
            json!({"issuer": ISS, "jti": "a", "issued_before": 5}),
            "issued_before",
        ),
        (
            json!({"issuer": ISS, "sub": "a", "expires_at": 1}),
            "expires_at",
        ),
        (json!({"issuer": ISS, "sub": ""}), "sub"),
        (json!({"issuer": ISS, "sub": "a", "reason": null}), "reason"),
        (json!({"issuer": ISS, "sub": "a", "color": "red"}), "color"),
    ] {
        let (status, _, problem) = admin(
            &svc,
            "POST",
            "/v1/revocations",
            Some(ADMIN_TOKEN),
            body.clone(),
        )
        .await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    // the admin log names who and what, never a token
    let (status, _, _) = admin(
        &svc,
        "DELETE",
        "/v1/revocations/nope",
        Some(ADMIN_TOKEN),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_with_evidence_until_the_rule_is_deleted() {
    let svc = Service::start(admin_config(StoreConfig::Memory)).await;
    let good = token(json!({}));
    let v = verdict(&svc, &good).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["checks"]["revocation"], "pass");
    let (_, _, rule) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "jti": "t-1", "reason": "laptop stolen"}),
    )
    .await;
    let v = verdict(&svc, &good).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["checks"]["revocation"], "fail");
    let f = &v["findings"][0];
    assert_eq!(f["code"], "TOKEN_REVOKED", "{v}");
    assert_eq!(f["evidence"]["rule"], rule["id"]);
    assert_eq!(f["evidence"]["reason"], "laptop stolen");
    assert_eq!(f["evidence"]["actual"]["jti"], "t-1");
    assert_eq!(f["evidence"]["expected"]["jti"]["not"], "t-1");
    let (status, challenge) = authz(&svc, &good).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("TOKEN_REVOKED"), "{challenge}");
    // another token of the same user still passes
    assert_eq!(
        verdict(&svc, &token(json!({"jti": "t-2"}))).await["valid"],
        true
    );
    // an unverified token naming the revoked jti is refused for its signature only
    let forged = format!("{}x", &good[..good.len() - 1]);
    let v = verdict(&svc, &forged).await;
    assert!(v["checks"].get("revocation").is_none(), "{v}");

    // sign out everywhere: older tokens of the subject refused, newer accepted
    let cut = now() - 100;
    let (status, _, signout) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "sub": "auth0|bob", "issued_before": cut}),
    )
    .await;
    assert_eq!(status, 201, "{signout}");
    let old = token(json!({"sub": "auth0|bob", "jti": "b-1", "iat": cut - 50}));
    let new = token(json!({"sub": "auth0|bob", "jti": "b-2", "iat": cut + 50}));
    assert_eq!(
        verdict(&svc, &old).await["findings"][0]["code"],
        "TOKEN_REVOKED"
    );
    assert_eq!(verdict(&svc, &new).await["valid"], true);
    // a leaked client
    let (status, _, _) = admin(
        &svc,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "client_id": "leaky-m2m"}),
    )
    .await;
    assert_eq!(status, 201);
    let m2m = token(json!({"sub": "leaky-m2m@clients", "azp": "leaky-m2m", "jti": "m-1"}));
    assert_eq!(
        verdict(&svc, &m2m).await["findings"][0]["code"],
        "TOKEN_REVOKED"
    );

    // listed, filtered, paged
    let (_, _, page) = admin(
        &svc,
        "GET",
        "/v1/revocations?limit=2",
        Some(ADMIN_TOKEN),
        Value::Null,
    )
    .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["rules"].as_array().unwrap().len(), 2);
    let (_, _, bob) = admin(
        &svc,
        "GET",
        "/v1/revocations?sub=auth0%7Cbob",
        Some(ADMIN_TOKEN),
        Value::Null,
    )
    .await;
    assert_eq!(bob["total"], 1);
    assert_eq!(bob["rules"][0]["id"], signout["id"]);
    // deleted: accepted again
    let path = format!("/v1/revocations/{}", rule["id"].as_str().unwrap());
    let (status, _, _) = admin(&svc, "DELETE", &path, Some(ADMIN_TOKEN), Value::Null).await;
    assert_eq!(status, 204);
    assert_eq!(verdict(&svc, &good).await["valid"], true);
    let (status, _) = authz(&svc, &good).await;
    assert_eq!(status, 200);
    // status shows the store and counts
    let (_, _, status) = svc.get("/v1/status").await;
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["revocations"]["store"], "memory");
    assert_eq!(status["revocations"]["rules"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_survive_a_restart_and_a_bad_data_directory_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreConfig::Embedded(dir.path().join("data"));
    let id = {
        let svc = Service::start(admin_config(store.clone())).await;
        let (status, _, rule) = admin(
            &svc,
            "POST",
            "/v1/revocations",
            Some(ADMIN_TOKEN),
            json!({"issuer": ISS, "jti": "t-1"}),
        )
        .await;
        assert_eq!(status, 201);
        svc.shutdown().await;
        drop(svc);
        rule["id"].as_str().unwrap().to_owned()
    };
    // a new process on the same directory (the first one's store is closed)
    let mut reopened = None;
    for _ in 0..50 {
        match AppState::new(
            admin_config(store.clone()),
            jwtshield_server::telemetry::metrics_handle(),
        ) {
            Ok(s) => {
                reopened = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let state = reopened.expect("the data directory reopens once the first instance is gone");
    let rules = state.revocations().list(&Default::default());
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id, id);
    // while it is open, a second instance on the same directory is refused clearly
    let err = AppState::new(
        admin_config(store.clone()),
        jwtshield_server::telemetry::metrics_handle(),
    )
    .err()
    .expect("the store is locked");
    assert!(err.to_string().contains("data directory"), "{err}");
    drop(state);

    // a corrupt store and a data directory that cannot be created are errors, never an empty list
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("jwtshield.redb"), b"this is not a database").unwrap();
    let err = AppState::new(
        admin_config(StoreConfig::Embedded(corrupt)),
        jwtshield_server::telemetry::metrics_handle(),
    )
    .err()
    .expect("a corrupt store is refused");
    assert!(err.to_string().contains("data directory"), "{err}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = AppState::new(
        admin_config(StoreConfig::Embedded(file.join("sub"))),
        jwtshield_server::telemetry::metrics_handle(),
    )
    .err()
    .expect("an impossible directory is refused");
    assert!(err.to_string().contains("cannot create"), "{err}");
}

/// Polls until `f` holds on every instance, or panics after `limit`; returns the time taken.
async fn everywhere(fleet: &[Service], token: &str, want_valid: bool, limit: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let mut all = true;
        for svc in fleet {
            all &= verdict(svc, token).await["valid"] == want_valid;
        }
        if all {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "not on every instance within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_every_instance_through_redis_and_survives_its_outage() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let fleet_config = || {
        let mut cfg = admin_config(StoreConfig::Redis {
            url: url.clone(),
            ca_file: None,
        });
        cfg.state_resync = Duration::from_millis(500);
        cfg
    };
    let mut fleet = Vec::new();
    for _ in 0..3 {
        let svc = Service::start(fleet_config()).await;
        svc.state
            .revocations()
            .spawn_sync(svc.state.config().state_resync);
        fleet.push(svc);
    }
    let good = token(json!({}));
    everywhere(&fleet, &good, true, Duration::from_secs(5)).await;
    // one POST to one instance: every instance refuses within a second
    let (status, _, _) = admin(
        &fleet[1],
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "jti": "t-1"}),
    )
    .await;
    assert_eq!(status, 201);
    let took = everywhere(&fleet, &good, false, Duration::from_secs(1)).await;
    eprintln!("revocation reached 3 instances in {took:?}");
    // sign out everywhere, from another instance
    let cut = now() - 100;
    admin(
        &fleet[2],
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "sub": "auth0|carol", "issued_before": cut}),
    )
    .await;
    let old = token(json!({"sub": "auth0|carol", "jti": "c-1", "iat": cut - 10}));
    let new = token(json!({"sub": "auth0|carol", "jti": "c-2", "iat": cut + 10}));
    everywhere(&fleet, &old, false, Duration::from_secs(1)).await;
    everywhere(&fleet, &new, true, Duration::from_secs(1)).await;

    // Redis goes away: the rules stay enforced, writes are refused, status says so
    redis.stop();
    let (status, _, problem) = admin(
        &fleet[0],
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        json!({"issuer": ISS, "jti": "during-outage"}),
    )
    .await;
    assert_eq!(status, 503, "{problem}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for svc in &fleet {
        assert_eq!(verdict(svc, &good).await["valid"], false);
        assert_eq!(verdict(svc, &old).await["valid"], false);
    }
    let (_, _, ready) = fleet[0].get("/readyz").await;
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["revocations"]["healthy"], false, "{ready}");
    assert!(ready["revocations"]["last_error"].is_string(), "{ready}");
    // the rejected write was never stored anywhere
    let during = token(json!({"jti": "during-outage"}));
    // Redis returns (with its data): a new rule propagates again
    redis.restart();
    let t0 = Instant::now();
    loop {
        let (status, _, _) = admin(
            &fleet[0],
            "POST",
            "/v1/revocations",
            Some(ADMIN_TOKEN),
            json!({"issuer": ISS, "jti": "after-outage"}),
        )
        .await;
        if status == 201 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "writes never resumed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = token(json!({"jti": "after-outage"}));
    everywhere(&fleet, &after, false, Duration::from_secs(3)).await;
    everywhere(&fleet, &during, true, Duration::from_secs(1)).await;
    everywhere(&fleet, &good, false, Duration::from_secs(1)).await;
    let (_, _, status) = fleet[2].get("/v1/status").await;
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["revocations"]["store"], "redis");
    assert_eq!(status["revocations"]["healthy"], true, "{status}");
    assert_eq!(status["revocations"]["rules"], 3);
    // all three restarted: the rules remain
    drop(fleet);
    let fresh = Service::start(fleet_config()).await;
    fresh
        .state
        .revocations()
        .spawn_sync(Duration::from_millis(500));
    everywhere(
        std::slice::from_ref(&fresh),
        &good,
        false,
        Duration::from_secs(3),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_verifies_the_redis_certificate_against_the_given_ca() {
    // a private CA and a certificate for 127.0.0.1 signed by it
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let path = |n: &str| dir.path().join(n);
    std::fs::write(path("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(path("redis.crt"), cert.pem()).unwrap();
    std::fs::write(path("redis.key"), key.serialize_pem()).unwrap();
    let (ca, crt, keyfile) = (path("ca.pem"), path("redis.crt"), path("redis.key"));
    let redis = RedisServer::start_with(|port, _| {
        let mut args: Vec<std::ffi::OsString> = ["--port", "0", "--tls-port"]
            .into_iter()
            .map(Into::into)
            .collect();
        args.push(port.to_string().into());
        for (flag, file) in [
            ("--tls-cert-file", &crt),
            ("--tls-key-file", &keyfile),
            ("--tls-ca-cert-file", &ca),
        ] {
            args.push(flag.into());
            args.push(file.into());
        }
        args.extend(["--tls-auth-clients".into(), "no".into()]);
        args
    });
    let port = redis.port;
    let url = format!("rediss://127.0.0.1:{port}/");
    let rule = json!({"issuer": ISS, "jti": "over-tls"});
    // with the CA: stored (acknowledged only once Redis has it)
    let trusted = Service::start(admin_config(StoreConfig::Redis {
        url: url.clone(),
        ca_file: Some(path("ca.pem")),
    }))
    .await;
    let (status, _, stored) = admin(
        &trusted,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        rule.clone(),
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    // without it, the server's certificate is not trusted: nothing is stored
    let untrusted = Service::start(admin_config(StoreConfig::Redis { url, ca_file: None })).await;
    let (status, _, problem) = admin(
        &untrusted,
        "POST",
        "/v1/revocations",
        Some(ADMIN_TOKEN),
        rule,
    )
    .await;
    assert_eq!(status, 503, "{problem}");
    drop(redis);
}

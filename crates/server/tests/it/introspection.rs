//! Opaque tokens checked at a local RFC 7662 introspection endpoint: active, inactive,
//! slow and down; the answer cached no longer than its exp and the profile's ceiling;
//! the profile's audience, scope and claim checks on the answer; the client's Basic
//! credentials from its secret file; never from a request's inline policy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::support::*;

const ISS: &str = "https://idp.example/";

/// The endpoint: answers from a table by token, counts calls, checks the client's
/// credentials, and can be made slow.
struct Endpoint {
    url: String,
    calls: Arc<AtomicUsize>,
    answers: Arc<Mutex<Value>>,
    slow: Arc<std::sync::atomic::AtomicBool>,
    /// Every answer waits this long (ms).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    last_form: Arc<Mutex<String>>,
}

async fn endpoint(answers: Value) -> Endpoint {
    let calls = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(answers));
    let slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let last_form = Arc::new(Mutex::new(String::new()));
    let delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (c, a, s, f, d) = (
        calls.clone(),
        answers.clone(),
        slow.clone(),
        last_form.clone(),
        delay_ms.clone(),
    );
    let app = axum::Router::new().route(
        "/introspect",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (c, a, s, f, d) = (c.clone(), a.clone(), s.clone(), f.clone(), d.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(d.load(Ordering::SeqCst))).await;
                if s.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                *f.lock().unwrap() = body.clone();
                // RFC 6749 §2.3.1: Basic with the form-encoded id and secret
                let expected = format!("Basic {}", base64_std("api%3Aclient:s3cr%C3%A9%2B%2F"));
                let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some(expected.as_str())
                    && headers.get("content-type").and_then(|v| v.to_str().ok())
                        == Some("application/x-www-form-urlencoded");
                if !ok {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "invalid_client"})),
                    );
                }
                let token: String = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let answer = a
                    .lock()
                    .unwrap()
                    .get(&token)
                    .cloned()
                    .unwrap_or(json!({"active": false}));
                (axum::http::StatusCode::OK, axum::Json(answer))
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    Endpoint {
        url,
        calls,
        answers,
        slow,
        delay_ms,
        last_form,
    }
}

fn base64_std(s: &str) -> String {
    use std::fmt::Write;
    // a tiny independent encoder, so the test does not use the code under test
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.write_char(A[(n >> (18 - 6 * i) & 63) as usize] as char)
                    .unwrap();
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn active(extra: Value) -> Value {
    let mut a = json!({"active": true, "iss": ISS, "aud": "https://api.acme.com/", "sub": "u-1",
        "client_id": "mobile", "scope": "openid read:messages", "exp": now() + 600, "iat": now() - 5,
        "token_type": "Bearer"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            a.as_object_mut().unwrap().remove(k);
        } else {
            a[k] = v.clone();
        }
    }
    a
}

fn profiles(ep: &Endpoint, secret_file: &std::path::Path, cache_seconds: u64) -> Value {
    json!({"opaque": {"issuer": ISS, "audiences": ["https://api.acme.com/"],
        "required_scopes": ["read:messages"], "required_claims": ["sub"], "jwks": rsa_jwks(),
        "introspection": {"endpoint": ep.url, "client_id": "api:client",
            "client_secret_file": secret_file, "cache_seconds": cache_seconds}}})
}

async fn check(svc: &Service, token: &str) -> Value {
    let (s, _, v) = svc
        .validate(json!({"token": token, "issuer_profile_id": "opaque"}))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn codes(v: &Value) -> Vec<String> {
    finding_codes(v)
}

async fn authz(svc: &Service, token: &str) -> (u16, String, HeaderMap) {
    let r = svc
        .client
        .get(format!("{}/v1/authz?profile=opaque", svc.url))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let h = r.headers().clone();
    let c = h
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (s, c, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_tokens_are_checked_at_the_introspection_endpoint() {
    let ep = endpoint(json!({
        "tok-active": active(json!({})),
        "tok-other-aud": active(json!({"aud": "https://other.example/"})),
        "tok-no-scope": active(json!({"scope": "openid"})),
        "tok-expired": active(json!({"exp": now() - 120})),
        "tok-other-iss": active(json!({"iss": "https://evil.example/"})),
        "tok-no-iss-exp": active(json!({"iss": null, "exp": null})),
        "tok-garbage-active": {"active": "yes"},
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cré+/\n").unwrap();
    let mut cfg = config(Some(profiles(&ep, &secret, 60)));
    cfg.jwks.fetch_timeout = Duration::from_millis(800);
    let svc = Service::start(cfg).await;

    // active: valid, the answer's members are the claims, the eight checks' signature
    // part skipped (nothing was signed), introspection passed
    let v = check(&svc, "tok-active").await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["introspected"], true);
    assert_eq!(v["claims"]["sub"], "u-1");
    assert_eq!(v["checks"]["introspection"], "pass");
    assert_eq!(v["checks"]["signature"], "skipped");
    assert_eq!(v["checks"]["audience"], "pass");
    assert!(v.get("header").is_none());
    let form = ep.last_form.lock().unwrap().clone();
    assert_eq!(form, "token=tok-active&token_type_hint=access_token");
    // the same token again: from the cache, no second call
    let calls = ep.calls.load(Ordering::SeqCst);
    check(&svc, "tok-active").await;
    assert_eq!(
        ep.calls.load(Ordering::SeqCst),
        calls,
        "answered from the cache"
    );
    // the gateway: 200 with the identity headers from the answer
    let (s, _, h) = authz(&svc, "tok-active").await;
    assert_eq!(s, 200);
    assert_eq!(h["x-auth-subject"], "u-1");
    assert_eq!(ep.calls.load(Ordering::SeqCst), calls);

    // a burst of requests with one new token: one call, shared by all of them
    ep.delay_ms.store(300, Ordering::SeqCst);
    let calls = ep.calls.load(Ordering::SeqCst);
    ep.answers.lock().unwrap()["tok-burst"] = active(json!({}));
    let burst: Vec<_> = (0..20).map(|_| check(&svc, "tok-burst")).collect();
    for v in futures_util::future::join_all(burst).await {
        assert_eq!(v["valid"], true, "{v}");
    }
    assert_eq!(
        ep.calls.load(Ordering::SeqCst),
        calls + 1,
        "20 concurrent requests, one call"
    );
    ep.delay_ms.store(0, Ordering::SeqCst);

    // the policy's checks on the answer
    for (token, code) in [
        ("tok-other-aud", "AUDIENCE_MISMATCH"),
        ("tok-no-scope", "SCOPE_MISSING"),
        ("tok-expired", "TOKEN_EXPIRED"),
        ("tok-other-iss", "ISSUER_MISMATCH"),
        ("tok-unknown", "TOKEN_INACTIVE"),
        ("tok-garbage-active", "INTROSPECTION_INVALID"),
    ] {
        let v = check(&svc, token).await;
        assert_eq!(v["valid"], false, "{token}");
        assert!(codes(&v).contains(&code.to_owned()), "{token}: {v}");
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f.get("unverified").is_none()),
            "{v}"
        );
    }
    // RFC 7662 makes iss and exp optional: the profile's endpoint vouches
    assert_eq!(check(&svc, "tok-no-iss-exp").await["valid"], true);
    // inactive at the gateway: 401 invalid_token naming it
    let (s, c, _) = authz(&svc, "tok-unknown").await;
    assert_eq!(s, 401);
    assert!(
        c.contains("error=\"invalid_token\"") && c.contains("TOKEN_INACTIVE"),
        "{c}"
    );

    // a token turned inactive at the issuer is seen once the cached answer lapses:
    // never while it is cached for longer than the ceiling (here the cache is 60 s, so
    // the same token stays valid; a new token is asked)
    ep.answers.lock().unwrap()["tok-active"] = json!({"active": false});
    assert_eq!(
        check(&svc, "tok-active").await["valid"],
        true,
        "cached for up to cache_seconds"
    );

    // slow: a finding within the fetch timeout, 503 at the gateway, nothing cached
    ep.slow.store(true, Ordering::SeqCst);
    let t0 = std::time::Instant::now();
    let v = check(&svc, "tok-slow").await;
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(codes(&v), ["INTROSPECTION_UNREACHABLE"], "{v}");
    let (s, _, h) = authz(&svc, "tok-slow").await;
    assert_eq!(s, 503);
    assert!(h.get("retry-after").is_some());
    ep.slow.store(false, Ordering::SeqCst);
    assert_eq!(
        codes(&check(&svc, "tok-slow").await),
        ["TOKEN_INACTIVE"],
        "failures are not cached"
    );

    // a JWT under the same profile is still verified with keys, not introspected
    let calls = ep.calls.load(Ordering::SeqCst);
    let jwt = rsa_token(
        json!({"iss": ISS, "aud": "https://api.acme.com/", "sub": "u",
        "scope": "read:messages", "exp": now() + 60}),
    );
    let v = check(&svc, &jwt).await;
    assert_eq!(v["valid"], true, "{v}");
    assert!(v.get("introspected").is_none());
    assert_eq!(ep.calls.load(Ordering::SeqCst), calls);

    // wrong credentials (the secret rotated at the issuer, not here): the endpoint's 401
    std::fs::write(&secret, "old-secret").unwrap();
    let v = check(&svc, "tok-fresh").await;
    assert_eq!(codes(&v), ["INTROSPECTION_UNREACHABLE"]);
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{v}"
    );
    assert!(
        !v.to_string().contains("old-secret"),
        "the secret is never echoed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_endpoint_and_the_cache_ceiling() {
    let ep = endpoint(json!({"tok-a": active(json!({"exp": now() + 2}))})).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cré+/").unwrap();
    let mut p = profiles(&ep, &secret, 3600);
    p["opaque"]["clock_skew_seconds"] = json!(0);
    let svc = Service::start(config(Some(p))).await;
    assert_eq!(check(&svc, "tok-a").await["valid"], true);
    let calls = ep.calls.load(Ordering::SeqCst);
    // the answer is not kept beyond the token's exp, whatever the ceiling
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let v = check(&svc, "tok-a").await;
    assert_eq!(
        ep.calls.load(Ordering::SeqCst),
        calls + 1,
        "asked again after exp"
    );
    assert!(codes(&v).contains(&"TOKEN_EXPIRED".to_owned()), "{v}");

    // down: nothing listens there
    let live_url = ep.url.clone();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = Endpoint {
        url: format!("http://127.0.0.1:{port}/introspect"),
        ..ep
    };
    let svc = Service::start(config(Some(profiles(&down, &secret, 60)))).await;
    let v = check(&svc, "tok-a").await;
    assert_eq!(codes(&v), ["INTROSPECTION_UNREACHABLE"], "{v}");
    assert_eq!(authz(&svc, "tok-a").await.0, 503);

    // the SSRF guard applies: with the default guard, an http loopback endpoint is
    // refused before anything is sent
    let calls = down.calls.load(Ordering::SeqCst);
    let mut p = profiles(&down, &secret, 60);
    p["opaque"]["introspection"]["endpoint"] = json!(live_url);
    let mut cfg = config(Some(p));
    cfg.jwks.guard = jwtshield_jwks::GuardConfig::default();
    let svc = Service::start(cfg).await;
    let v = check(&svc, "tok-a").await;
    assert_eq!(codes(&v), ["INTROSPECTION_UNREACHABLE"], "{v}");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{v}"
    );
    assert_eq!(
        down.calls.load(Ordering::SeqCst),
        calls,
        "nothing reached the endpoint"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_is_for_profiles_only_and_needs_its_secret_at_start() {
    let ep = endpoint(json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "x").unwrap();
    let svc = Service::start(config(None)).await;
    let mut policy = profiles(&ep, &secret, 60)["opaque"].clone();
    policy["introspection"]["client_secret_file"] = json!("/etc/shadow");
    let (s, _, v) = svc
        .validate(json!({"token": "tok", "policy": policy}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(v["field"], "policy.introspection");
    assert_eq!(ep.calls.load(Ordering::SeqCst), 0);
    // a profile whose secret file cannot be read stops the service at start
    let missing = dir.path().join("missing");
    let err = jwtshield_server::AppState::new(
        config(Some(profiles(&ep, &missing, 60))),
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle(),
    )
    .err()
    .expect("refused");
    assert!(
        err.to_string().contains("opaque") && err.to_string().contains("client_secret_file"),
        "{err}"
    );
}

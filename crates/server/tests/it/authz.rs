//! GET /v1/authz over real HTTP: RFC 6750 answers and identity headers.

use serde_json::{Value, json};

use crate::support::*;

async fn authz(
    svc: &Service,
    method: reqwest::Method,
    path: &str,
    auth: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = svc.client.request(method, format!("{}{path}", svc.url));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn challenge(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_answers() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let mut with_scope = seed_policy(&iss);
    with_scope["required_scopes"] = json!(["read:messages"]);
    let svc = Service::start(config(Some(
        json!({"api": seed_policy(&iss), "reader": with_scope}),
    )))
    .await;
    let get = reqwest::Method::GET;
    let good = rsa_token(claims(&iss));

    // valid: 200 with identity headers for the gateway
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=api",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["x-auth-subject"], "auth0|u1");
    assert_eq!(h["x-auth-scopes"], "openid read:messages");
    assert_eq!(h["x-auth-issuer"], iss.as_str());
    let forwarded: Value = serde_json::from_slice(
        &jwtshield_core::b64::decode(h["x-auth-claims"].to_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(forwarded["sub"], "auth0|u1");
    assert!(h.get("www-authenticate").is_none());

    // the profile in a header, any method, any path under /v1/authz/ (Envoy)
    for (m, path) in [
        (reqwest::Method::POST, "/v1/authz"),
        (reqwest::Method::DELETE, "/v1/authz/api/private/items/7"),
    ] {
        let r = authz(
            &svc,
            m,
            path,
            Some(&format!("Bearer {good}")),
            &[("x-jwtshield-profile", "api")],
        )
        .await;
        assert_eq!(r.status(), 200, "{path}");
    }

    // no token: 401 without an error code
    for auth in [None, Some("Basic dXNlcjpwYXNz")] {
        let r = authz(&svc, get.clone(), "/v1/authz?profile=api", auth, &[]).await;
        assert_eq!(r.status(), 401);
        assert_eq!(challenge(&r), "Bearer realm=\"jwtshield\"");
    }
    // malformed credentials: 400 invalid_request
    for auth in ["Bearer", "Bearer a b", "Bearer \"quoted\""] {
        let r = authz(&svc, get.clone(), "/v1/authz?profile=api", Some(auth), &[]).await;
        assert_eq!(r.status(), 400, "{auth}");
        assert!(challenge(&r).contains("error=\"invalid_request\""));
    }
    // bad tokens: 401 invalid_token naming the failed check
    let expired = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "x", "aud": "https://api.acme.com/", "exp": now() - 3600}),
    );
    let wrong_aud = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "x", "aud": "https://other/", "exp": now() + 600}),
    );
    let none = jwtshield_testkit::alg_none(&good);
    let mut admin = claims(&iss);
    admin["sub"] = json!("auth0|admin");
    let tampered = jwtshield_testkit::tampered(&good, &admin);
    for (t, check) in [
        (&expired, "expiry"),
        (&wrong_aud, "audience"),
        (&none, "algorithm"),
        (&tampered, "signature"),
    ] {
        let r = authz(
            &svc,
            get.clone(),
            "/v1/authz?profile=api",
            Some(&format!("Bearer {t}")),
            &[],
        )
        .await;
        assert_eq!(r.status(), 401, "{check}");
        let c = challenge(&r);
        assert!(
            c.starts_with(
                "Bearer realm=\"jwtshield\", error=\"invalid_token\", error_description=\""
            ),
            "{c}"
        );
        assert!(c.contains(check), "{check}: {c}");
        // the body says no more than the challenge: no findings, no claims
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["error", "error_description"]
        );
    }
    // scopes: the profile's, or extra ones asked by the gateway location
    let no_scope = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "openid", "aud": "https://api.acme.com/", "exp": now() + 600}),
    );
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=reader",
        Some(&format!("Bearer {no_scope}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        challenge(&r).contains("error=\"insufficient_scope\"")
            && challenge(&r).contains("scope=\"read:messages\""),
        "{}",
        challenge(&r)
    );
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=api&scope=admin:read",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(challenge(&r).contains("scope=\"admin:read\""));
    // profile problems
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=nope",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // decisions are counted
    let (_, _, metrics) = svc.get("/metrics").await;
    assert!(metrics.contains("jwtshield_authz_decisions_total{status=\"401\"}"));
    assert!(
        metrics.contains("jwtshield_validations_total{endpoint=\"authz\",outcome=\"invalid\"}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_keys_are_503_never_200() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let iss = format!("http://{dead}/");
    let svc = Service::start(config(Some(json!({"api": seed_policy(&iss)})))).await;
    let token = rsa_token(claims(&iss));
    let r = authz(
        &svc,
        reqwest::Method::GET,
        "/v1/authz?profile=api",
        Some(&format!("Bearer {token}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
}

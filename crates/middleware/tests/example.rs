//! The example app (examples/api.rs), driven over real HTTP: the same cases as the
//! gateway test, answered alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../examples/api.rs"]
mod example;

use jwtshield_core::Policy;
use jwtshield_jwks::{Config, GuardConfig, KeySets};
use jwtshield_middleware::{JwtAuth, claim_equals, claim_includes};
use jwtshield_testkit::{Signer, alg_none, jwks, tampered};
use serde_json::{Value, json};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Fixture {
    auth: JwtAuth,
    key: Signer,
    iss: String,
    url: String,
    client: reqwest::Client,
}

impl Fixture {
    async fn start(alg: &str) -> Fixture {
        let key = Signer::ec("P-256", "k");
        let jwks = jwks(&[&key]);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let iss = format!("http://{}/", l.local_addr().unwrap());
        let idp = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let j = jwks.clone();
                async move { axum::Json(j) }
            }),
        );
        tokio::spawn(async move { axum::serve(l, idp).await.unwrap() });
        let policy = Policy::from_json(
            &json!({"issuer": iss, "audiences": ["https://api.acme.com/"], "allowed_algs": [alg]}),
        )
        .unwrap()
        .compile()
        .unwrap();
        let keysets = KeySets::new(Config {
            guard: GuardConfig::insecure(),
            ..Config::default()
        })
        .unwrap();
        let auth = JwtAuth::with_key_sets(policy, keysets);
        let checks = axum::Router::new()
            .route(
                "/api/role",
                axum::routing::get(|| async { "role ok" })
                    .layer(claim_equals("https://acme.com/role", "admin")),
            )
            .route(
                "/api/perm",
                axum::routing::get(|| async { "perm ok" })
                    .layer(claim_includes("permissions", "delete:all")),
            )
            .layer(auth.layer());
        let app = example::app(auth.clone()).merge(checks);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Fixture {
            auth,
            key,
            iss,
            url,
            client: reqwest::Client::new(),
        }
    }

    fn token(&self, claims: Value) -> String {
        self.key.token(json!({}), claims)
    }

    fn claims(&self, extra: Value) -> Value {
        let mut c = json!({"iss": self.iss, "sub": "auth0|u1", "aud": "https://api.acme.com/", "exp": now() + 600, "scope": "openid read:messages"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    async fn get(&self, path: &str, auth: Option<String>) -> (u16, String, Value) {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let challenge = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        (
            status,
            challenge,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_protects_public_private_and_admin() {
    let f = Fixture::start("ES256").await;
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    // public: no token needed
    let (s, _, v) = f.get("/api/public", None).await;
    assert_eq!(
        (s, v["message"].as_str()),
        (200, Some("Public endpoint - no auth required"))
    );
    // private: a valid token, and the handler sees the verified claims
    let good = f.token(f.claims(json!({})));
    let (s, _, v) = f.get("/api/private", bearer(&good)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["userId"], "auth0|u1");
    // the layer remembers the verified signature: presented again, the same answer
    // without the math (the cache is the service's, shared through the key sets)
    let cache = f.auth.key_sets().verified_cache().unwrap();
    assert_eq!(cache.len(), 1);
    let (s, _, v) = f.get("/api/private", bearer(&good)).await;
    assert_eq!((s, v["userId"].as_str()), (200, Some("auth0|u1")));
    assert_eq!(cache.len(), 1);
    // no token: 401 without an error code
    let (s, c, _) = f.get("/api/private", None).await;
    assert_eq!((s, c.as_str()), (401, "Bearer realm=\"jwtshield\""));
    // malformed credentials: 400
    let (s, c, _) = f.get("/api/private", Some("Bearer a b".into())).await;
    assert_eq!(s, 400);
    assert!(c.contains("error=\"invalid_request\""));
    // expired, wrong audience, alg none, tampered: 401 invalid_token naming the check
    let expired = f.token(f.claims(json!({"exp": now() - 3600})));
    let wrong_aud = f.token(f.claims(json!({"aud": "https://other/"})));
    let none = alg_none(&good);
    let tampered = tampered(&good, &f.claims(json!({"sub": "auth0|admin"})));
    for (t, check) in [
        (expired, "expiry"),
        (wrong_aud, "audience"),
        (none, "algorithm"),
        (tampered, "signature"),
    ] {
        let (s, c, body) = f.get("/api/private", bearer(&t)).await;
        assert_eq!(s, 401, "{check}");
        assert!(
            c.contains("error=\"invalid_token\"") && c.contains(check),
            "{check}: {c}"
        );
        assert!(body.get("userId").is_none(), "the handler never ran");
    }
    // admin: requiredScopes('admin:read')
    let (s, c, _) = f.get("/api/admin", bearer(&good)).await;
    assert_eq!(s, 403);
    assert!(
        c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"admin:read\""),
        "{c}"
    );
    let admin = f.token(f.claims(json!({"scope": "openid admin:read"})));
    let (s, _, v) = f.get("/api/admin", bearer(&admin)).await;
    assert_eq!((s, v["message"].as_str()), (200, Some("Admin endpoint")));
    // Auth0 permissions count as scopes too
    let perm = f.token(f.claims(json!({"scope": "openid", "permissions": ["admin:read"]})));
    assert_eq!(f.get("/api/admin", bearer(&perm)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_checks_answer_invalid_token() {
    let f = Fixture::start("ES256").await;
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    let admin = f.token(
        f.claims(json!({"https://acme.com/role": "admin", "permissions": ["read", "delete:all"]})),
    );
    let user = f.token(f.claims(json!({"https://acme.com/role": "user", "permissions": ["read"]})));
    assert_eq!(f.get("/api/role", bearer(&admin)).await.0, 200);
    assert_eq!(f.get("/api/perm", bearer(&admin)).await.0, 200);
    for path in ["/api/role", "/api/perm"] {
        let (s, c, _) = f.get(path, bearer(&user)).await;
        assert_eq!(s, 401, "{path}");
        assert!(c.contains("error=\"invalid_token\""), "{c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_keys_are_503() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let policy = Policy::from_json(&json!({"issuer": format!("http://{dead}/"), "audiences": ["a"], "allowed_algs": ["ES256"]})).unwrap().compile().unwrap();
    let keysets = KeySets::new(Config {
        guard: GuardConfig::insecure(),
        ..Config::default()
    })
    .unwrap();
    let app = example::app(JwtAuth::with_key_sets(policy, keysets));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let token = Signer::ec("P-256", "k").token(
        json!({}),
        json!({"iss": format!("http://{dead}/"), "aud": "a", "exp": now() + 60}),
    );
    let r = reqwest::Client::new()
        .get(format!("{url}/api/private"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_in_the_policy_answers_429_past_it() {
    let key = Signer::ec("P-256", "k");
    let policy = Policy::from_json(&json!({"issuer": "https://i.example/", "audiences": ["a"],
        "allowed_algs": ["ES256"], "jwks": jwks(&[&key]),
        "rate_limit": {"key": "sub", "per_second": 1, "burst": 2}}))
    .unwrap()
    .compile()
    .unwrap();
    let auth = JwtAuth::with_key_sets(policy, KeySets::new(Config::default()).unwrap());
    let app = axum::Router::new()
        .route("/api", axum::routing::get(|| async { "ok" }))
        .layer(auth.layer());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let client = reqwest::Client::new();
    let token = |sub: &str| {
        key.token(
            json!({}),
            json!({"iss": "https://i.example/", "aud": "a", "sub": sub, "exp": now() + 600}),
        )
    };
    let call = |t: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let r = client
                .get(&url)
                .header("authorization", format!("Bearer {t}"))
                .send()
                .await
                .unwrap();
            let h = |n: &str| {
                r.headers()
                    .get(n)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            };
            (
                r.status().as_u16(),
                h("x-ratelimit-remaining"),
                h("retry-after"),
            )
        }
    };
    assert_eq!(call(token("u1")).await, (200, "1".into(), String::new()));
    assert_eq!(call(token("u1")).await, (200, "0".into(), String::new()));
    assert_eq!(call(token("u1")).await, (429, "0".into(), "1".into()));
    assert_eq!(call(token("u2")).await.0, 200, "another caller");
}

/// DPoP in the middleware: a bound token needs a proof for this very request (method
/// and URI as the app sees it: `Host` over http here), once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_checks_dpop_proofs() {
    let f = Fixture::start("ES256").await;
    let client = Signer::ed("client");
    let t = f.token(f.claims(json!({"cnf": {"jkt": client.jkt()}})));
    let uri = format!("{}/api/private", f.url);
    let send = |auth: String, proof: Option<String>| {
        let mut req = f.client.get(&uri).header("authorization", auth);
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        async move {
            let r = req.send().await.unwrap();
            let c = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (r.status().as_u16(), c)
        }
    };
    let proof = |jti: &str, method: &str, u: &str| {
        client.dpop_proof(method, u, now(), jti, Some(&t), json!({}), json!({}))
    };
    let p = proof("m-1", "GET", &uri);
    assert_eq!(
        send(format!("DPoP {t}"), Some(p.clone())).await,
        (200, String::new())
    );
    let (s, c) = send(format!("DPoP {t}"), Some(p)).await;
    assert_eq!(s, 401);
    assert!(
        c.starts_with("DPoP realm=\"jwtshield\", error=\"invalid_dpop_proof\"")
            && c.contains("DPOP_PROOF_REPLAYED"),
        "{c}"
    );
    let (s, c) = send(format!("DPoP {t}"), Some(proof("m-2", "POST", &uri))).await;
    assert!(s == 401 && c.contains("DPOP_METHOD_MISMATCH"), "{c}");
    let (s, c) = send(
        format!("DPoP {t}"),
        Some(proof("m-3", "GET", &format!("{}/api/admin", f.url))),
    )
    .await;
    assert!(s == 401 && c.contains("DPOP_URI_MISMATCH"), "{c}");
    let (s, c) = send(format!("DPoP {t}"), None).await;
    assert!(s == 401 && c.contains("DPOP_PROOF_MISSING"), "{c}");
    let (s, c) = send(format!("Bearer {t}"), Some(proof("m-4", "GET", &uri))).await;
    assert!(s == 401 && c.contains("DPOP_BOUND_TOKEN_AS_BEARER"), "{c}");
    // with the public origin pinned, the proof must name it
    let pinned = f.auth.clone().dpop_origin("https://api.acme.com");
    let app = axum::Router::new()
        .route("/api/private", axum::routing::get(|| async { "ok" }))
        .layer(pinned.layer());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/private", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let get = |p: String| {
        f.client
            .get(&url)
            .header("authorization", format!("DPoP {t}"))
            .header("dpop", p)
            .send()
    };
    assert_eq!(get(proof("m-5", "GET", &url)).await.unwrap().status(), 401);
    assert_eq!(
        get(proof("m-6", "GET", "https://api.acme.com/api/private"))
            .await
            .unwrap()
            .status(),
        200
    );
}

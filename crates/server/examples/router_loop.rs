//! For `scripts/callgrind`: N requests through the service's router in-process
//! (`tower::ServiceExt::oneshot`, no sockets). The script counts the instructions inside
//! `measured` only (`--toggle-collect`), so start-up and the warm-up do not count. The `bench` profile's JWKS is served on
//! loopback by this process and fetched once before counting; every request carries the
//! same valid RS256 token.
//! `route` is `/v1/authz` naming no profile (the token's `iss` chooses it) with ISSUERS
//! profiles loaded (the others with inline keys), the bench one loaded last.
//! Usage: `router_loop N [validate|authz|route] [VERIFIED_CACHE_ENTRIES] [ISSUERS]`
//! Prints the wall-clock rate of the measured part (`scripts/bench-issuers`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::Request;
use jwtshield_server::{AppState, ServerConfig};
use jwtshield_testkit::Signer;
use serde_json::json;
use tower::ServiceExt;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mode = args.next().unwrap_or_else(|| "validate".into());
    let cache: Option<usize> = args.next().and_then(|s| s.parse().ok());
    let issuers: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, request) = rt.block_on(setup(&mode, cache, issuers));
    let start = std::time::Instant::now();
    let ok = measured(n, || {
        rt.block_on(async {
            let res = app.clone().oneshot(request()).await.unwrap();
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            let ok = status == 200 && (mode != "validate" || body.starts_with(b"{\"valid\":true"));
            if !ok {
                eprintln!(
                    "{status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                );
            }
            ok
        })
    });
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(ok, n, "every request must succeed");
    // the wall-clock rate of the measured part (scripts/bench-issuers reads it)
    println!(
        "{mode}: {n} requests in {secs:.3}s, {:.0} per second",
        n as f64 / secs
    );
}

/// The service with the `bench` profile and its key set fetched, and the request to send.
async fn setup(
    mode: &str,
    cache: Option<usize>,
    issuers: usize,
) -> (axum::Router, impl Fn() -> Request<Body> + use<>) {
    let signer = Signer::rsa("bench-1");
    let jwks = json!({"keys": [signer.jwk_pinned()]}).to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    let jwks_app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let body = jwks.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, jwks_app).await.unwrap() });

    let mut profiles = json!({"bench": {
        "issuer": issuer, "audiences": ["https://api.acme.com/"], "allowed_algs": ["RS256"],
        "required_claims": ["sub", "scope"], "clock_skew_seconds": 60, "max_ttl_seconds": 172800
    }});
    let other = Signer::ec("P-256", "other");
    for i in 1..issuers {
        profiles[format!("tenant-{i:04}")] = json!({
            "issuer": format!("https://tenant-{i}.example.com/"), "audiences": ["https://api.acme.com/"],
            "allowed_algs": ["ES256"], "jwks": {"keys": [other.jwk()]}
        });
    }
    let mut cfg = ServerConfig {
        profiles_json: Some(profiles.to_string()),
        ..ServerConfig::default()
    };
    cfg.jwks.guard.allow_http = true;
    // under valgrind everything is ~50 times slower: give the one key fetch time, and
    // keep load shedding (work waiting over max_queue for the CPU) from refusing requests
    cfg.jwks.fetch_timeout = std::time::Duration::from_secs(30);
    cfg.max_queue = std::time::Duration::from_secs(3600);
    cfg.jwks.guard.allow_private = true;
    if let Some(entries) = cache {
        cfg.jwks.verified_cache_entries = entries;
    }
    let state = AppState::new(cfg, jwtshield_server::telemetry::metrics_handle()).unwrap();
    state.set_profiles((*state.profiles()).clone());
    let app = jwtshield_server::app(state);

    let now = jwtshield_jwks::unix_now();
    let token = signer.token(
        json!({"typ": "JWT"}),
        json!({"iss": issuer, "sub": "auth0|64f1c3a8e2b7d90012ab34cd",
               "aud": ["https://api.acme.com/", format!("{issuer}userinfo")], "iat": now, "exp": now + 86400,
               "scope": "openid profile email read:messages", "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K",
               "permissions": ["read:messages"]}),
    );
    let body = json!({"token": token, "issuer_profile_id": "bench"}).to_string();
    let authz = mode != "validate";
    let path = match mode {
        "route" => "/v1/authz",
        _ => "/v1/authz?profile=bench",
    };
    let request = move || match authz {
        true => Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
        false => Request::post("/v1/validate/jwt")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap(),
    };
    // warm up: the key set is fetched, then every request must succeed
    let mut warm = false;
    for _ in 0..3000 {
        let res = app.clone().oneshot(request()).await.unwrap();
        let ok = res.status() == 200
            && axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .map(|b| authz || b.starts_with(b"{\"valid\":true"))
                .unwrap_or(false);
        if ok {
            warm = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(warm, "the warm-up request never succeeded");
    (app, request)
}

/// The counted part: `n` requests; returns how many succeeded.
#[inline(never)]
fn measured(n: usize, mut op: impl FnMut() -> bool) -> usize {
    (0..n).filter(|_| op()).count()
}

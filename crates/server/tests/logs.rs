//! Logs at the most verbose level (TRACE, every crate) never contain a token or any
//! segment of one, in either log format. A separate test binary, so the capturing
//! subscriber sees everything the service does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use jwtshield_server::config::LogFormat;
use jwtshield_server::{AppState, ServerConfig};
use jwtshield_testkit::Signer;
use serde_json::json;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

async fn exercise(key: &Signer) -> Vec<String> {
    let jwks = jwtshield_testkit::jwks(&[key]);
    // a JWKS server, and the service with a profile for it and one for a dead issuer
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let j = jwks.clone();
            async move { axum::Json(j) }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}/", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let policy = json!({"issuer": iss, "audiences": ["api"], "allowed_algs": ["ES256"]});
    let mut cfg = ServerConfig {
        profiles_json: Some(json!({"p": policy, "dead": {"issuer": "http://127.0.0.1:9/", "audiences": ["api"], "allowed_algs": ["ES256"]}}).to_string()),
        ..ServerConfig::default()
    };
    cfg.jwks.guard = jwtshield_jwks::GuardConfig::insecure();
    let state = AppState::new(cfg, jwtshield_server::telemetry::metrics_handle()).unwrap();
    state.set_profiles((*state.profiles()).clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, jwtshield_server::app(state)).await.unwrap() });

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let good = key.token(
        json!({}),
        json!({"iss": iss, "aud": "api", "sub": "u", "exp": now + 600}),
    );
    let expired = key.token(
        json!({}),
        json!({"iss": iss, "aud": "other", "exp": now - 600}),
    );
    let forged = format!("{}x", &good[..good.len() - 2]);
    let client = reqwest::Client::new();
    for t in [&good, &expired, &forged] {
        for body in [
            json!({"token": t, "issuer_profile_id": "p"}),
            json!({"token": t, "issuer_profile_id": "dead"}),
            json!({"token": t, "issuer_profile_id": "missing"}),
            json!({"token": t, "policy": policy}),
            json!({"token": t, "policy": {"issuer": 5}}),
            json!({"token": t, "unknown": 1}),
        ] {
            let r = client
                .post(format!("{url}/v1/validate/jwt"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert!(r.status().as_u16() < 500);
        }
        client
            .post(format!("{url}/v1/inspect/token"))
            .body(json!({"token": t}).to_string())
            .send()
            .await
            .unwrap();
        client
            .post(format!("{url}/v1/validate/jwt"))
            .body(format!("{{\"token\": \"{t}\""))
            .send()
            .await
            .unwrap();
        client
            .get(format!("{url}/v1/validate/jwt?token={t}"))
            .send()
            .await
            .unwrap();
    }
    client.get(format!("{url}/metrics")).send().await.unwrap();
    vec![good, expired, forged]
}

#[test]
fn no_token_or_token_segment_is_ever_logged_at_trace() {
    let key = Signer::ec("P-256", "k");
    for format in [LogFormat::Text, LogFormat::Json] {
        let capture = Capture::default();
        let subscriber = jwtshield_server::telemetry::subscriber(
            format,
            EnvFilter::new("trace"),
            capture.clone(),
        );
        let _guard = tracing::subscriber::set_default(subscriber);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tokens = rt.block_on(exercise(&key));
        drop(rt);
        let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains("validation") && logs.contains("token_fp"),
            "the validations were logged:\n{logs}"
        );
        assert!(logs.lines().count() > 50, "trace logging was on");
        for t in &tokens {
            assert!(!logs.contains(t.as_str()), "a token was logged");
            for seg in t.split('.') {
                assert!(
                    seg.len() < 8 || !logs.contains(seg),
                    "a token segment was logged ({format:?})"
                );
            }
        }
    }
}

//! A real JWKS server on 127.0.0.1 that tests can rotate, break, slow down and count.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jwtshield_core::{CompiledPolicy, KeySet, Limits, Policy, Report, Token};
use jwtshield_jwks::KeySets;
use serde_json::{Value, json};

pub const NOW: i64 = 1_700_000_000;

/// What the key-set endpoint does.
#[derive(Clone)]
pub enum Mode {
    Serve {
        jwks: Value,
        cache_control: Option<String>,
    },
    Status(u16),
    Hang,
    Garbage,
    Huge(usize),
    Redirect(String),
}

pub struct ServerState {
    pub hits: AtomicUsize,
    pub discovery_hits: AtomicUsize,
    pub mode: Mutex<Mode>,
    pub discovery: Mutex<Option<Value>>,
    /// When set, the discovery endpoint fails this way (503, hang, garbage).
    pub discovery_fails: Mutex<Option<Mode>>,
}

pub struct JwksServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
}

impl JwksServer {
    pub async fn start(mode: Mode) -> JwksServer {
        let state = Arc::new(ServerState {
            hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            mode: Mutex::new(mode),
            discovery: Mutex::new(None),
            discovery_fails: Mutex::new(None),
        });
        let app = Router::new()
            .route("/jwks.json", get(serve_jwks))
            .route("/.well-known/jwks.json", get(serve_jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer { addr, state }
    }

    /// A server serving `jwks` with this `Cache-Control` (none: no header).
    pub async fn serving(jwks: Value, cache_control: Option<&str>) -> JwksServer {
        JwksServer::start(Mode::Serve {
            jwks,
            cache_control: cache_control.map(str::to_owned),
        })
        .await
    }

    /// The test [`policy`] for this server's issuer, with its JWKS URL.
    pub fn policy(&self) -> CompiledPolicy {
        policy(&self.issuer(), Some(&self.url()))
    }

    pub fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    pub fn issuer(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Publishes a discovery document naming this issuer and `/jwks.json`.
    pub fn publish_discovery(&self) {
        *self.state.discovery.lock().unwrap() =
            Some(json!({"issuer": self.issuer(), "jwks_uri": self.url()}));
    }

    /// The whole provider (discovery and key set) fails this way, or comes back.
    pub fn provider(&self, failing: Option<Mode>, jwks: Value) {
        *self.state.discovery_fails.lock().unwrap() = failing.clone();
        match failing {
            Some(mode) => self.set(mode),
            None => self.serve(jwks, Some("max-age=1")),
        }
    }

    pub fn serve(&self, jwks: Value, cache_control: Option<&str>) {
        self.set(Mode::Serve {
            jwks,
            cache_control: cache_control.map(str::to_owned),
        });
    }
}

async fn serve_jwks(State(s): State<Arc<ServerState>>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let mode = s.mode.lock().unwrap().clone();
    answer(mode).await
}

async fn answer(mode: Mode) -> Response {
    match mode {
        Mode::Serve {
            jwks,
            cache_control,
        } => {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Some(cc) = cache_control {
                h.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cc).unwrap());
            }
            (h, jwks.to_string()).into_response()
        }
        Mode::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Mode::Garbage => (StatusCode::OK, "<html>this is not a key set</html>").into_response(),
        Mode::Huge(n) => (
            StatusCode::OK,
            format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(n)),
        )
            .into_response(),
        Mode::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
    }
}

async fn discovery(State(s): State<Arc<ServerState>>) -> Response {
    s.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let failing = s.discovery_fails.lock().unwrap().clone();
    if let Some(mode) = failing {
        return answer(mode).await;
    }
    match s.discovery.lock().unwrap().clone() {
        Some(doc) => axum::Json(doc).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A counting TCP listener that never answers: proves no connection was made.
pub struct Tripwire {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
}

impl Tripwire {
    pub async fn start() -> Tripwire {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((_sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        Tripwire { addr, accepted }
    }

    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

pub use jwtshield_testkit::{Signer, jwks};

/// An ES256 key (P-256), the algorithm [`policy`] allows.
pub fn es256(kid: &str) -> Signer {
    Signer::ec("P-256", kid)
}

/// A token [`policy`] accepts at [`NOW`], from `iss`, signed by `signer`.
pub fn token(signer: &Signer, iss: &str) -> String {
    signer.token(
        json!({}),
        json!({"iss":iss,"aud":"https://api.acme.com/","sub":"u","exp":NOW+3600}),
    )
}

pub fn policy(issuer: &str, jwks_uri: Option<&str>) -> CompiledPolicy {
    let mut p = json!({"issuer": issuer, "audiences": ["https://api.acme.com/"], "allowed_algs": ["ES256"]});
    if let Some(u) = jwks_uri {
        p["jwks_uri"] = json!(u);
    }
    Policy::from_json(&p).unwrap().compile().unwrap()
}

/// Validates a token text with these keys (parsed under the default limits).
pub fn validate(token: &str, keys: &KeySet, p: &CompiledPolicy, now: i64) -> Report {
    jwtshield_core::validate(&Token::parse(token, &Limits::default()), keys, p, now)
}

/// The keys for a token text.
pub async fn keys_for(sets: &KeySets, p: &CompiledPolicy, token: &str) -> KeySet {
    sets.keys_for_token(p, &Token::parse(token, &Limits::default()))
        .await
}

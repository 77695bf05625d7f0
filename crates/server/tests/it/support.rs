//! A running service on 127.0.0.1:0 and a real JWKS server next to it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use jwtshield_server::{AppState, ServerConfig};
use jwtshield_testkit::Signer;
use serde_json::{Value, json};

pub struct Service {
    pub url: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    served: Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
}

impl Service {
    /// The service on 127.0.0.1:0, served by the same accept loop as `jwtshield serve`.
    pub async fn start(cfg: ServerConfig) -> Service {
        let limits = cfg.connections.clone();
        let state = AppState::new(cfg, jwtshield_server::telemetry::metrics_handle()).unwrap();
        let profiles = state.profiles();
        state.set_profiles((*profiles).clone());
        let app = jwtshield_server::app(state.clone());
        let listener =
            jwtshield_server::serve::bind("127.0.0.1:0".parse().unwrap(), limits.backlog).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(jwtshield_server::serve::serve(
            listener,
            app,
            limits,
            async {
                let _ = rx.await;
            },
        ));
        Service {
            url: format!("http://{addr}"),
            addr,
            state,
            client: reqwest::Client::new(),
            stop: Mutex::new(Some(tx)),
            served: Mutex::new(Some(served)),
        }
    }

    /// Asks the server to shut down (as SIGTERM does) and waits until it has drained.
    pub async fn shutdown(&self) {
        if let Some(tx) = self.stop.lock().unwrap().take() {
            let _ = tx.send(());
        }
        let served = self.served.lock().unwrap().take();
        if let Some(h) = served {
            h.await.unwrap().unwrap();
        }
    }

    pub async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `POST /v1/validate/jwt` with this JSON body.
    pub async fn validate(&self, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        self.post("/v1/validate/jwt", body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }
}

/// The test configuration: insecure guard (the JWKS server is http on loopback).
pub fn config(profiles: Option<Value>) -> ServerConfig {
    let mut cfg = ServerConfig {
        profiles_json: profiles.map(|p| p.to_string()),
        ..ServerConfig::default()
    };
    cfg.jwks.guard = jwtshield_jwks::GuardConfig::insecure();
    cfg.jwks.fetch_timeout = Duration::from_secs(2);
    cfg
}

pub struct Jwks {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    keys: Arc<Mutex<Value>>,
    hang: Arc<AtomicBool>,
}

impl Jwks {
    pub fn issuer(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn jwks_uri(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Publishes another key set from now on (a rotation).
    pub fn publish(&self, jwks: Value) {
        *self.keys.lock().unwrap() = jwks;
    }

    /// From now on every request hangs (true) or is answered again (false).
    pub fn set_hang(&self, hang: bool) {
        self.hang.store(hang, Ordering::SeqCst);
    }
}

/// Serves `jwks` at /.well-known/jwks.json (or hangs when `hang`).
pub async fn jwks_server(jwks: Value, hang: bool) -> Jwks {
    let hits = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(Mutex::new(jwks));
    let hang = Arc::new(AtomicBool::new(hang));
    let (h, k, stall) = (hits.clone(), keys.clone(), hang.clone());
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let jwks = k.lock().unwrap().clone();
            let h = h.clone();
            let hang = stall.load(Ordering::SeqCst);
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                if hang {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                axum::Json(jwks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Jwks {
        addr,
        hits,
        keys,
        hang,
    }
}

/// The test RS256 key (`kid` k1), created once per test binary (RSA key generation is slow).
pub fn rsa() -> &'static Signer {
    static K: std::sync::OnceLock<Signer> = std::sync::OnceLock::new();
    K.get_or_init(|| Signer::rsa("k1"))
}

/// What an Auth0 tenant publishes for [`rsa`]: `alg` pinned to RS256.
pub fn rsa_jwks() -> Value {
    json!({ "keys": [rsa().jwk_pinned()] })
}

/// An RS256 token from [`rsa`] with `typ: JWT`, as Auth0 writes it.
pub fn rsa_token(claims: Value) -> String {
    rsa().token(json!({"typ": "JWT"}), claims)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims an Auth0 tenant would issue for the API.
pub fn claims(iss: &str) -> Value {
    json!({"iss": iss, "sub": "auth0|u1", "aud": ["https://api.acme.com/", format!("{iss}userinfo")],
           "iat": now() - 10, "exp": now() + 3600, "scope": "openid read:messages", "azp": "client-1"})
}

/// The seed's minimal policy (option 1), for an issuer.
pub fn seed_policy(iss: &str) -> Value {
    json!({"issuer": iss, "audiences": ["https://api.acme.com/"], "allowed_algs": ["RS256"],
           "required_claims": ["sub", "scope"], "clock_skew_seconds": 60})
}

/// The PEM public key of a P-256 key (inline keys: nothing is fetched).
pub fn es256_pem() -> String {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| jwtshield_testkit::Signer::ec("P-256", "e").pem())
        .clone()
}

/// A real redis-server on a free loopback port, appending every write to its own file
/// (so a restart keeps the rules, as a production Redis with AOF does).
pub struct RedisServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    /// How it listens: `--port P`, or TLS options.
    listen: Vec<std::ffi::OsString>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(|port, _| vec!["--port".into(), port.to_string().into()])
    }

    /// With its own listening options, given the port and its directory (for TLS files).
    pub fn start_with(
        listen: impl FnOnce(u16, &std::path::Path) -> Vec<std::ffi::OsString>,
    ) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let listen = listen(port, dir.path());
        let mut r = RedisServer {
            port,
            dir,
            child: None,
            listen,
        };
        r.restart();
        r
    }

    pub fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(&self.listen)
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        self.child = Some(child);
        let t0 = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The codes of a ValidationResult's findings, in order.
pub fn finding_codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

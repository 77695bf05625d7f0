//! What every gateway test shares: an identity provider, an upstream that echoes what the
//! gateway forwarded, `jwtshield serve` with a profile, and the cases each gateway must
//! answer the same way (the nginx, Caddy and HAProxy tests run them).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jwtshield_testkit::{Signer, alg_none, jwks, tampered};
use serde_json::{Value, json};

use crate::support::{free_port, spawn_http};

/// GET with headers over a raw socket: (status, lower-cased head, body).
pub fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nhost: api.test\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let body = match head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        true => dechunk(body),
        false => body.to_owned(),
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body)
}

/// The body of a chunked response (Caddy and HAProxy stream the upstream's answer).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// Stops the children at the end of the test, passed or not. SIGTERM, not SIGKILL:
/// nginx's master then stops its workers instead of orphaning them.
pub struct Killer(pub Vec<Child>);

impl Drop for Killer {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

/// Waits until something on `port` answers `path` with other than 502.
pub fn wait_for(port: u16, path: &str) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (s, _, _) = get(port, path, &[]);
            if s != 502 && s != 503 && s != 0 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing answered on port {port}");
}

/// The identity provider, the upstream, and jwtshield with profile `api`.
pub struct Stack {
    pub key: Signer,
    pub iss: String,
    pub upstream: SocketAddr,
    /// jwtshield's port.
    pub jp: u16,
    pub procs: Killer,
}

impl Stack {
    pub fn start() -> Stack {
        let key = Signer::ec("P-256", "k");
        let iss = crate::support::idp(jwks(&[&key]));
        // the upstream echoes what the gateway forwarded
        let upstream = spawn_http(axum::Router::new().fallback(
            |headers: axum::http::HeaderMap, uri: axum::http::Uri| async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                axum::Json(json!({"path": uri.path(), "subject": h("x-auth-subject"),
                    "scopes": h("x-auth-scopes"), "tenant": h("x-tenant-id")}))
            },
        ));
        let jp = free_port();
        let profiles = json!({"api": {"issuer": iss, "audiences": ["https://api.acme.com/"],
            "allowed_algs": ["ES256"], "required_claims": ["sub"],
            "forward_claims": {"X-Tenant-Id": "https://acme.com/tenant_id"}}})
        .to_string();
        let shield = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
            .env("JWTSHIELD_DATA_DIR", crate::support::data_dir())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{jp}"),
                "--jwks-allow-insecure",
                "--max-queue-ms",
                "5000",
            ])
            .env("ISSUER_PROFILES_JSON", &profiles)
            .env_remove("JWTSHIELD_PROFILES_FILE")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let procs = Killer(vec![shield]);
        wait_for(jp, "/readyz");
        Stack {
            key,
            iss,
            upstream,
            jp,
            procs,
        }
    }

    fn token(&self, extra: Value) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut c = json!({"iss": self.iss, "sub": "auth0|u1", "aud": "https://api.acme.com/",
            "exp": now + 600, "scope": "openid read:messages", "https://acme.com/tenant_id": "t-42"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        self.key.token(json!({"alg": "ES256", "kid": "k"}), c)
    }

    /// The cases every gateway answers the same way, through the gateway on `port`:
    /// `/api/...` needs a valid token, `/api/admin...` also the scope `admin:read`.
    /// `malformed` is the status the gateway gives a malformed Authorization header
    /// (jwtshield says 400; nginx's auth_request relays only 401 and 403, the rest is 500).
    pub fn cases(&self, port: u16, gateway: &str, malformed: u16) {
        let good = self.token(json!({}));
        let bearer = |t: &str| format!("Bearer {t}");

        // valid: reaches the upstream with the identity forwarded (client-sent ones replaced)
        let (s, head, body) = get(
            port,
            "/api/private",
            &[
                ("authorization", &bearer(&good)),
                ("x-auth-subject", "evil"),
                ("x-tenant-id", "evil"),
            ],
        );
        assert_eq!(s, 200, "{gateway}: {body}");
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{gateway}: {e}: {head}\n{body:?}"));
        assert_eq!(v["subject"], "auth0|u1", "{gateway}");
        assert_eq!(v["scopes"], "openid read:messages", "{gateway}");
        assert_eq!(v["tenant"], "t-42", "{gateway}: a forward_claims header");
        assert_eq!(v["path"], "/api/private", "{gateway}");

        // expired, wrong audience, alg none, tampered: 401 with the RFC 6750 challenge
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let expired = self.token(json!({"exp": now - 3600}));
        let wrong_aud = self.token(json!({"aud": "https://other.example/"}));
        let none = alg_none(&good);
        let forged = tampered(&good, &json!({"iss": self.iss, "sub": "auth0|admin"}));
        for (t, check) in [
            (&expired, "expiry"),
            (&wrong_aud, "audience"),
            (&none, "algorithm"),
            (&forged, "signature"),
        ] {
            let (s, head, body) = get(port, "/api/private", &[("authorization", &bearer(t))]);
            assert_eq!(s, 401, "{gateway} {check}: {body}");
            assert!(
                head.contains(
                    "www-authenticate: bearer realm=\"jwtshield\", error=\"invalid_token\""
                ),
                "{gateway} {check}: {head}"
            );
            assert!(head.contains(check), "{gateway} {check}: {head}");
            assert!(
                !body.contains("auth0|"),
                "{gateway}: the upstream was not reached"
            );
        }
        // a valid token without the required scope: 403 insufficient_scope
        let (s, head, body) = get(port, "/api/admin", &[("authorization", &bearer(&good))]);
        assert_eq!(s, 403, "{gateway}: {body}");
        assert!(
            head.contains("error=\"insufficient_scope\"") && head.contains("scope=\"admin:read\""),
            "{gateway}: {head}"
        );
        let admin = self.token(json!({"scope": "admin:read"}));
        let (s, _, body) = get(port, "/api/admin", &[("authorization", &bearer(&admin))]);
        assert_eq!(s, 200, "{gateway}: {body}");
        // no token: 401 without an error code
        let (s, head, _) = get(port, "/api/private", &[]);
        assert_eq!(s, 401, "{gateway}");
        assert!(
            head.contains("www-authenticate: bearer realm=\"jwtshield\"\r\n")
                || head.ends_with("www-authenticate: bearer realm=\"jwtshield\""),
            "{gateway}: {head}"
        );
        assert!(!head.contains("error="), "{gateway}: {head}");
        // a malformed Authorization header: 400 invalid_request, never the upstream
        let (s, head, body) = get(port, "/api/private", &[("authorization", "Bearer a b")]);
        assert_eq!(s, malformed, "{gateway}: {head}");
        assert!(
            !body.contains("auth0|"),
            "{gateway}: the upstream was not reached"
        );
        if malformed == 400 {
            assert!(
                head.contains("error=\"invalid_request\""),
                "{gateway}: {head}"
            );
        }

        // DPoP (RFC 9449): the gateway passes the proof and says which request it was
        // for; a bound token passes with a proof for this very request, once
        let client = Signer::ed("client");
        let bound = self.token(json!({"cnf": {"jkt": client.jkt()}}));
        let auth = format!("DPoP {bound}");
        // the client asks http://api.test/api/private (its Host header, over http)
        let uri = "http://api.test/api/private";
        let proof = |jti: &str, u: &str| {
            client.dpop_proof("GET", u, now, jti, Some(&bound), json!({}), json!({}))
        };
        let p = proof(&format!("{gateway}-1"), uri);
        let (s, head, body) = get(
            port,
            "/api/private?page=2",
            &[("authorization", &auth), ("dpop", &p)],
        );
        assert_eq!(s, 200, "{gateway} dpop: {head}\n{body}");
        let (s, head, _) = get(
            port,
            "/api/private?page=2",
            &[("authorization", &auth), ("dpop", &p)],
        );
        assert_eq!(s, 401, "{gateway} dpop replay: {head}");
        assert!(
            head.contains(
                "www-authenticate: dpop realm=\"jwtshield\", error=\"invalid_dpop_proof\""
            ) && head.contains("dpop_proof_replayed"),
            "{gateway}: {head}"
        );
        let elsewhere = proof(&format!("{gateway}-2"), "http://api.test/api/other");
        let (s, head, _) = get(
            port,
            "/api/private",
            &[("authorization", &auth), ("dpop", &elsewhere)],
        );
        assert!(
            s == 401 && head.contains("dpop_uri_mismatch"),
            "{gateway}: {head}"
        );
        // the client cannot name another request itself: the gateway's own headers win
        let spoof = proof(&format!("{gateway}-3"), "http://api.test/api/other");
        let (s, head, _) = get(
            port,
            "/api/private",
            &[
                ("authorization", &auth),
                ("dpop", &spoof),
                ("x-forwarded-uri", "/api/other"),
                ("x-forwarded-method", "GET"),
            ],
        );
        assert!(
            s == 401 && head.contains("dpop_uri_mismatch"),
            "{gateway} spoofed uri: {head}"
        );
        let (s, head, _) = get(port, "/api/private", &[("authorization", &auth)]);
        assert!(
            s == 401 && head.contains("dpop_proof_missing"),
            "{gateway}: {head}"
        );
    }
}

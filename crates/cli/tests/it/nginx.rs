//! A real nginx (Debian's package; `.ci/run` installs it) using `auth_request` to
//! `jwtshield serve`, in front of a small upstream on loopback.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jwtshield_testkit::{Signer, alg_none, jwks, tampered};

use crate::support::{free_port, spawn_http};
use serde_json::{Value, json};

/// GET with headers over a raw socket: (status, headers, body).
fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nhost: api.test\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), body.to_owned())
}

/// Stops the children at the end of the test, passed or not. SIGTERM, not SIGKILL:
/// nginx's master then stops its workers instead of orphaning them.
struct Killer(Vec<Child>);

impl Drop for Killer {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("bash")
                .arg("-c")
                .arg(format!("kill -s TERM {}", c.id()))
                .status();
            let _ = c.wait();
        }
    }
}

fn wait_for(port: u16, path: &str) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (s, _, _) = get(port, path, &[]);
            if s != 502 && s != 0 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing answered on port {port}");
}

#[test]
fn nginx_auth_request_in_front_of_an_upstream() {
    // the identity provider's keys
    let key = Signer::ec("P-256", "k");
    let iss = crate::support::idp(jwks(&[&key]));
    // the upstream echoes what nginx forwarded
    let upstream = spawn_http(axum::Router::new().fallback(|headers: axum::http::HeaderMap, uri: axum::http::Uri| async move {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        axum::Json(json!({"path": uri.path(), "subject": h("x-auth-subject"), "scopes": h("x-auth-scopes")}))
    }));
    // jwtshield
    let jp = free_port();
    let profiles = json!({"api": {"issuer": iss, "audiences": ["https://api.acme.com/"], "allowed_algs": ["ES256"], "required_claims": ["sub"]}}).to_string();
    let shield = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .env("JWTSHIELD_DATA_DIR", crate::support::data_dir())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{jp}"),
            "--jwks-allow-insecure",
        ])
        .env("ISSUER_PROFILES_JSON", &profiles)
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut procs = Killer(vec![shield]);
    wait_for(jp, "/readyz");
    // nginx
    let dir = tempfile::tempdir().unwrap();
    let np = free_port();
    let http_body = format!(
        r#"  upstream jwtshield {{ server 127.0.0.1:{jp}; keepalive 8; }}
  upstream app {{ server {upstream}; keepalive 8; }}
  server {{
    listen 127.0.0.1:{np};
    location = /_auth {{
      internal;
      proxy_pass http://jwtshield/v1/authz?profile=api;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
    location = /_auth_admin {{
      internal;
      proxy_pass http://jwtshield/v1/authz?profile=api&scope=admin:read;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
    location /api/ {{
      auth_request /_auth;
      auth_request_set $auth_subject $upstream_http_x_auth_subject;
      auth_request_set $auth_scopes $upstream_http_x_auth_scopes;
      proxy_set_header X-Auth-Subject $auth_subject;
      proxy_set_header X-Auth-Scopes $auth_scopes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://app;
    }}
    location /api/admin {{
      auth_request /_auth_admin;
      auth_request_set $auth_subject $upstream_http_x_auth_subject;
      auth_request_set $auth_challenge $upstream_http_www_authenticate;
      error_page 403 = @forbidden;
      proxy_set_header X-Auth-Subject $auth_subject;
      proxy_pass http://app;
    }}
    location @forbidden {{
      add_header WWW-Authenticate $auth_challenge always;
      return 403;
    }}
  }}"#,
        upstream = upstream
    );
    let ng = crate::support::nginx(dir.path(), &http_body);
    procs.0.push(ng);
    wait_for(np, "/");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = |extra: Value| {
        let mut c = json!({"iss": iss, "sub": "auth0|u1", "aud": "https://api.acme.com/", "exp": now + 600, "scope": "openid read:messages"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let good = key.token(json!({"alg":"ES256","kid":"k"}), claims(json!({})));
    let bearer = |t: &str| format!("Bearer {t}");

    // valid: reaches the upstream with the subject forwarded (a client-sent one is replaced)
    let (s, _, body) = get(
        np,
        "/api/private",
        &[
            ("authorization", &bearer(&good)),
            ("x-auth-subject", "evil"),
        ],
    );
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["subject"], "auth0|u1");
    assert_eq!(v["scopes"], "openid read:messages");
    assert_eq!(v["path"], "/api/private");

    // expired, wrong audience, alg none, tampered: 401 with the RFC 6750 challenge
    let expired = key.token(
        json!({"alg":"ES256","kid":"k"}),
        claims(json!({"exp": now - 3600})),
    );
    let wrong_aud = key.token(
        json!({"alg":"ES256","kid":"k"}),
        claims(json!({"aud": "https://other.example/"})),
    );
    let none = alg_none(&good);
    let tampered = tampered(&good, &claims(json!({"sub": "auth0|admin"})));
    for (t, check) in [
        (&expired, "expiry"),
        (&wrong_aud, "audience"),
        (&none, "algorithm"),
        (&tampered, "signature"),
    ] {
        let (s, head, body) = get(np, "/api/private", &[("authorization", &bearer(t))]);
        assert_eq!(s, 401, "{check}: {body}");
        assert!(
            head.contains("www-authenticate: bearer realm=\"jwtshield\", error=\"invalid_token\""),
            "{check}: {head}"
        );
        assert!(head.contains(check), "{check}: {head}");
        assert!(!body.contains("auth0|"), "the upstream was not reached");
    }
    // a valid token without the required scope: 403 insufficient_scope
    let (s, head, _) = get(np, "/api/admin", &[("authorization", &bearer(&good))]);
    assert_eq!(s, 403);
    assert!(
        head.contains("error=\"insufficient_scope\"") && head.contains("scope=\"admin:read\""),
        "{head}"
    );
    let admin = key.token(
        json!({"alg":"ES256","kid":"k"}),
        claims(json!({"scope": "admin:read"})),
    );
    let (s, _, body) = get(np, "/api/admin", &[("authorization", &bearer(&admin))]);
    assert_eq!(s, 200, "{body}");
    // no token: 401 without an error code
    let (s, head, _) = get(np, "/api/private", &[]);
    assert_eq!(s, 401);
    assert!(
        head.contains("www-authenticate: bearer realm=\"jwtshield\"\r\n")
            || head.ends_with("www-authenticate: bearer realm=\"jwtshield\""),
        "{head}"
    );
    assert!(!head.contains("error="), "{head}");
}

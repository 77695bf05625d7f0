//! Fleet mode end to end: a real redis-server, three `jwtshield serve` processes sharing
//! it, and a real nginx load-balancing `/v1/authz` across them. A revocation sent to one
//! instance (by `jwtshield revoke`) is enforced by all three within a second, survives
//! their restart, and survives a Redis outage.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jwtshield_testkit::{Signer, jwks};
use serde_json::{Value, json};

use crate::gateway::Killer as Procs;
use crate::support::{data_dir, free_port};

const ISS: &str = "https://acme.auth0.com/";
const AUD: &str = "https://api.acme.com/";

fn wait_port(port: u16) {
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "nothing on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// GET with a bearer token over a raw socket: (status, lower-case head).
fn get(port: u16, path: &str, bearer: &str) -> (u16, String) {
    let auth = format!("Bearer {bearer}");
    let (status, head, _) = crate::gateway::get(port, path, &[("authorization", &auth)]);
    (status, head)
}

/// Six requests through nginx: every status, and the instances that answered.
fn through_nginx(port: u16, token: &str) -> (BTreeSet<u16>, BTreeSet<String>) {
    let mut statuses = BTreeSet::new();
    let mut served = BTreeSet::new();
    for _ in 0..6 {
        let (status, head) = get(port, "/v1/authz?profile=api", token);
        statuses.insert(status);
        if let Some(line) = head.lines().find(|l| l.starts_with("x-served-by:")) {
            served.insert(line.trim_start_matches("x-served-by:").trim().to_owned());
        }
    }
    (statuses, served)
}

/// Waits until every request through nginx answers `want`, from all three instances.
fn until_everywhere(port: u16, token: &str, want: u16, limit: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let (statuses, served) = through_nginx(port, token);
        if statuses == BTreeSet::from([want]) && served.len() == 3 {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "not {want} from all three within {limit:?}: {statuses:?} from {served:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn redis_server(port: u16, dir: &std::path::Path) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed (.ci/run installs it)");
    wait_port(port);
    child
}

fn revoke(port: u16, token_file: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args(["revoke", "--url", &format!("http://127.0.0.1:{port}")])
        .args(["--admin-token-file", token_file])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn three_instances_behind_nginx_share_revocations_through_redis() {
    let dir = tempfile::tempdir().unwrap();
    let redis_port = free_port();
    let mut redis = Procs(vec![redis_server(redis_port, dir.path())]);
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "a-long-random-admin-token-0123456789abcdef\n").unwrap();
    let token_file = token_file.to_string_lossy().into_owned();
    let key = Signer::ec("P-256", "k");
    let profiles = json!({"api": {"issuer": ISS, "audiences": [AUD], "allowed_algs": ["ES256"],
        "jwks": jwks(&[&key])}})
    .to_string();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let start = |port: u16| {
        Command::new(env!("CARGO_BIN_EXE_jwtshield"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--state-url", &format!("redis://127.0.0.1:{redis_port}/")])
            .args([
                "--state-resync-ms",
                "500",
                "--admin-token-file",
                &token_file,
            ])
            .env("ISSUER_PROFILES_JSON", &profiles)
            .env("JWTSHIELD_DATA_DIR", data_dir())
            .env_remove("JWTSHIELD_PROFILES_FILE")
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut shields = Procs(ports.iter().map(|p| start(*p)).collect());
    for p in &ports {
        wait_port(*p);
    }
    // nginx, round-robin over the three
    let np = free_port();
    let servers: String = ports
        .iter()
        .map(|p| format!("server 127.0.0.1:{p}; "))
        .collect();
    let _nginx = Procs(vec![crate::support::nginx(
        dir.path(),
        &format!(
            r#"  upstream fleet {{ {servers} }}
  server {{
    listen 127.0.0.1:{np};
    location / {{
      proxy_pass http://fleet;
      add_header X-Served-By $upstream_addr always;
    }}
  }}"#
        ),
    )]);
    wait_port(np);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = |extra: Value| {
        let mut c = json!({"iss": ISS, "aud": AUD, "sub": "auth0|alice", "jti": "t-1",
            "iat": now - 60, "exp": now + 600});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        key.token(json!({}), c)
    };
    let good = token(json!({}));
    until_everywhere(np, &good, 200, Duration::from_secs(10));

    // one revocation, sent to one instance: refused by all three within a second
    let o = revoke(
        ports[1],
        &token_file,
        &["--issuer", ISS, "--jti", "t-1", "--reason", "stolen laptop"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rule: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rule["jti"], "t-1");
    let took = until_everywhere(np, &good, 401, Duration::from_secs(1));
    eprintln!("the revocation reached all three instances (through nginx) in {took:?}");

    // sign out everywhere, sent to another instance
    let cut = (now - 100).to_string();
    let o = revoke(
        ports[2],
        &token_file,
        &[
            "--issuer",
            ISS,
            "--sub",
            "auth0|carol",
            "--issued-before",
            &cut,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let old = token(json!({"sub": "auth0|carol", "jti": "c-1", "iat": now - 200}));
    let new = token(json!({"sub": "auth0|carol", "jti": "c-2", "iat": now - 50}));
    until_everywhere(np, &old, 401, Duration::from_secs(1));
    until_everywhere(np, &new, 200, Duration::from_secs(1));
    let o = revoke(ports[0], &token_file, &["--list", "--issuer", ISS]);
    let listed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed["total"], 2, "{listed}");

    // all three restarted: the rules remain
    drop(shields);
    shields = Procs(ports.iter().map(|p| start(*p)).collect());
    for p in &ports {
        wait_port(*p);
    }
    until_everywhere(np, &good, 401, Duration::from_secs(5));
    until_everywhere(np, &new, 200, Duration::from_secs(1));

    // Redis stops: revoked tokens stay refused, writes are refused with 503
    drop(redis);
    let o = revoke(ports[0], &token_file, &["--issuer", ISS, "--jti", "during"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("503"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::thread::sleep(Duration::from_millis(1200));
    until_everywhere(np, &good, 401, Duration::from_secs(1));
    until_everywhere(np, &old, 401, Duration::from_secs(1));
    // Redis returns: a new rule propagates again
    redis = Procs(vec![redis_server(redis_port, dir.path())]);
    let t0 = Instant::now();
    loop {
        let o = revoke(ports[0], &token_file, &["--issuer", ISS, "--jti", "after"]);
        if o.status.success() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "writes never resumed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    until_everywhere(
        np,
        &token(json!({"jti": "after"})),
        401,
        Duration::from_secs(3),
    );
    until_everywhere(
        np,
        &token(json!({"jti": "during"})),
        200,
        Duration::from_secs(1),
    );
    drop(shields);
    drop(redis);
}

#[test]
fn the_admin_api_on_its_own_listener_only() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "a-long-random-admin-token-0123456789abcdef").unwrap();
    let (port, admin_port) = (free_port(), free_port());
    let _shield = Procs(vec![
        Command::new(env!("CARGO_BIN_EXE_jwtshield"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin_port}")])
            .arg("--admin-token-file")
            .arg(&token_file)
            .env("JWTSHIELD_DATA_DIR", data_dir())
            .env_remove("ISSUER_PROFILES_JSON")
            .env_remove("JWTSHIELD_PROFILES_FILE")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ]);
    wait_port(port);
    wait_port(admin_port);
    let token_file = token_file.to_string_lossy().into_owned();
    // not on the public listener
    let o = revoke(port, &token_file, &["--issuer", ISS, "--jti", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("404"));
    // on the admin listener, with the credential
    let o = revoke(admin_port, &token_file, &["--issuer", ISS, "--jti", "x"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // and nothing else there
    let (status, _) = get(admin_port, "/v1/authz?profile=api", "t");
    assert_eq!(status, 404);
    let (status, _) = get(port, "/healthz", "t");
    assert_eq!(status, 200);
}

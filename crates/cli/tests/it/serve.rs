//! `jwtshield serve` as a process: start-up errors, SIGTERM draining, SIGHUP reloads.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::free_port;

pub(crate) fn serve(args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jwtshield"));
    cmd.env("JWTSHIELD_DATA_DIR", crate::support::data_dir());
    cmd.arg("serve")
        .args(args)
        .env_remove("ISSUER_PROFILES_JSON")
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn http(method: &str, port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    // a tiny HTTP/1.1 client, so the test needs no async runtime
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

pub(crate) fn wait_ready(port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        // serving (/healthz): a profile whose issuer hangs is never "ready"
        if let Some((200, _)) = http("GET", port, "/healthz", "") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the service never became ready");
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn bad_configuration_stops_serve_at_start_naming_the_profile_and_field() {
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![],
            vec![("ISSUER_PROFILES_JSON", "{not json")],
            "not valid JSON",
        ),
        (
            vec![],
            vec![(
                "ISSUER_PROFILES_JSON",
                r#"{"acme": {"issuer": "i", "audiences": ["a"], "allowed_algs": ["RS256", "none"]}}"#,
            )],
            "profile \"acme\", field `allowed_algs[1]`",
        ),
        (
            vec![],
            vec![("ISSUER_PROFILES_JSON", r#"{"acme": {"issuer": "i"}}"#)],
            "profile \"acme\"",
        ),
        (vec!["--listen", "not-an-address"], vec![], "listen:"),
        (
            vec!["--profiles", "/nonexistent/profiles.json"],
            vec![],
            "cannot read profiles file",
        ),
        (vec!["--log-format", "xml"], vec![], "log format"),
    ];
    for (args, env, needle) in cases {
        let child = serve(&args, &env);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn sigterm_drains_in_flight_requests() {
    // a JWKS that never answers keeps a validation in flight for the fetch timeout
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let iss = format!("http://{}/", hang.local_addr().unwrap());
    let port = free_port();
    let profiles =
        json!({"slow": {"issuer": iss, "audiences": ["a"], "allowed_algs": ["ES256"]}}).to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut child = serve(
        &["--listen", &listen, "--jwks-allow-insecure"],
        &[
            ("ISSUER_PROFILES_JSON", &profiles),
            ("JWTSHIELD_JWKS_FETCH_TIMEOUT_MS", "2000"),
        ],
    );
    wait_ready(port);
    let token = "eyJhbGciOiJFUzI1NiIsImtpZCI6Im5ldyJ9.e30.AAAA";
    let body = json!({"token": token, "issuer_profile_id": "slow"}).to_string();
    let in_flight = std::thread::spawn(move || http("POST", port, "/v1/validate/jwt", &body));
    std::thread::sleep(Duration::from_millis(400));
    kill(&child, "TERM");
    let (status, body) = in_flight
        .join()
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["findings"][0]["code"], "JWKS_UNREACHABLE", "{v}");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut err = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        err.push_str(&line.unwrap());
        err.push('\n');
    }
    assert!(err.contains("draining"), "{err}");
    assert!(
        err.contains("--jwks-allow-insecure is on"),
        "the insecure flag is announced: {err}"
    );
    drop(hang);
}

#[test]
fn sigterm_exits_within_the_drain_deadline_whatever_clients_do() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = serve(
        &["--listen", &listen, "--shutdown-drain-ms", "1000"],
        &[
            ("JWTSHIELD_HEADER_READ_TIMEOUT_MS", "60000"),
            ("JWTSHIELD_IDLE_TIMEOUT_MS", "60000"),
        ],
    );
    wait_ready(port);
    use std::io::{Read, Write};
    // one client stalls halfway through its headers, another holds an idle keep-alive
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled
        .write_all(b"POST /v1/validate/jwt HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 12];
    idle.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    kill(&child, "TERM");
    let exit = child.wait().unwrap();
    let took = started.elapsed();
    eprintln!("SIGTERM with a stalled and an idle client: exited after {took:?} (drain 1 s)");
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    drop((stalled, idle));
}

#[test]
fn sighup_reloads_the_profiles_file_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.json");
    let policy = |iss: &str| json!({"issuer": iss, "audiences": ["a"], "jwks": {"keys": []}});
    std::fs::write(
        &path,
        json!({"one": policy("https://one.example/")}).to_string(),
    )
    .unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = serve(
        &["--listen", &listen, "--profiles", path.to_str().unwrap()],
        &[],
    );
    wait_ready(port);
    let ids = || -> Vec<String> {
        let (_, body) = http("GET", port, "/v1/issuer-profiles", "").unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(), ["one"]);
    std::fs::write(&path, "{\"broken\": ").unwrap();
    kill(&child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ids(), ["one"], "a bad file is refused");
    std::fs::write(
        &path,
        json!({"one": policy("https://one.example/"), "two": policy("https://two.example/")})
            .to_string(),
    )
    .unwrap();
    kill(&child, "HUP");
    let start = Instant::now();
    while ids().len() < 2 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ids(), ["one", "two"]);
    kill(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NOT reloaded"), "{err}");
    assert!(err.contains("reloaded"), "{err}");
}

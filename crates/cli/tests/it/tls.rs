//! HTTPS with rustls: a certificate made by the test (rcgen), a real TLS client (curl
//! with --cacert), plain HTTP refused on the TLS port, and a reloaded certificate used
//! by new connections.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jwtshield_testkit::{Signer, jwks};
use serde_json::{Value, json};

use crate::support::{data_dir, free_port};

fn certificate(dir: &std::path::Path, name: &str) -> (String, String) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

fn curl(args: &[&str]) -> (bool, String) {
    let o = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn https_with_a_reloadable_certificate_and_no_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path(), "one");
    let live_cert = dir.path().join("live.crt");
    let live_key = dir.path().join("live.key");
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(&live_cert)
        .arg("--tls-key")
        .arg(&live_key)
        .env("JWTSHIELD_DATA_DIR", data_dir())
        .env_remove("ISSUER_PROFILES_JSON")
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let t0 = Instant::now();
    while !curl(&["--cacert", &cert, &format!("{base}/healthz")]).0 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "HTTPS never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // a valid token over HTTPS
    let signer = Signer::ec("P-256", "k");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = signer.token(
        json!({}),
        json!({"iss": "https://i.example/", "aud": "a", "sub": "u", "exp": now + 600}),
    );
    let body =
        json!({"token": token, "policy": {"issuer": "https://i.example/", "audiences": ["a"],
        "allowed_algs": ["ES256"], "jwks": jwks(&[&signer])}})
        .to_string();
    let (ok, out) = curl(&[
        "--cacert",
        &cert,
        "-H",
        "content-type: application/json",
        "-d",
        &body,
        &format!("{base}/v1/validate/jwt"),
    ]);
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    // plain HTTP on the TLS port gets no answer
    let (ok, out) = curl(&[&format!("http://127.0.0.1:{port}/healthz")]);
    assert!(!ok, "plain HTTP answered: {out}");
    // a new certificate, then SIGHUP: new connections use it
    let (cert2, key2) = certificate(dir.path(), "two");
    std::fs::copy(&cert2, &live_cert).unwrap();
    std::fs::copy(&key2, &live_key).unwrap();
    assert!(
        Command::new("kill")
            .args(["-s", "HUP", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let t0 = Instant::now();
    while !curl(&["--cacert", &cert2, &format!("{base}/healthz")]).0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the new certificate was never served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !curl(&["--cacert", &cert, &format!("{base}/healthz")]).0,
        "the old certificate is still served"
    );
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

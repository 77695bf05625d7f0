//! The README's quickstart, run as written: the product doc's curl commands against
//! `jwtshield serve`. Only the tenant changes (to a local JWKS server, over http with
//! --jwks-allow-insecure) and the token (a real RS256 token for it).

use std::process::Command;
use std::time::{Duration, Instant};

use jwtshield_testkit::{Signer, jwks};
use serde_json::{Value, json};

/// The indented code blocks of the quickstart section.
fn quickstart_blocks() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme
        .split("## Quickstart")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut blocks = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in section.lines() {
        if let Some(code) = line.strip_prefix("    ") {
            cur.push(code);
        } else if !line.trim().is_empty() && !cur.is_empty() {
            blocks.push(cur.join("\n"));
            cur.clear();
        }
    }
    if !cur.is_empty() {
        blocks.push(cur.join("\n"));
    }
    blocks
}

fn sh(script: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(script);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_seed_curl_commands_work_as_written() {
    // a local JWKS server for the "tenant"
    let key = Signer::rsa("k");
    let tenant = crate::support::idp(jwks(&[&key]));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": tenant, "sub": "auth0|u1", "aud": "https://api.acme.com/", "scope": "read:messages", "iat": now, "exp": now + 600});
    let token = key.token(json!({}), claims);

    let blocks = quickstart_blocks();
    let local = |s: &str| s.replace("https://acme.auth0.com/", &tenant);
    // block 0 starts the service: take its ISSUER_PROFILES_JSON
    let start = local(&blocks[0]);
    let profiles = start
        .split('\'')
        .nth(1)
        .expect("ISSUER_PROFILES_JSON in the first block")
        .to_owned();
    let port = crate::support::free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--jwks-allow-insecure",
        ])
        .env("ISSUER_PROFILES_JSON", &profiles)
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let env = [
        ("JWTSHIELD_URL", url.as_str()),
        ("AUTH0_ACCESS_TOKEN", token.as_str()),
    ];
    let t0 = Instant::now();
    while !sh("curl -sf \"$JWTSHIELD_URL/readyz\"", &env).0
        && t0.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let curls: Vec<String> = blocks
        .iter()
        .filter(|b| b.contains("curl -sSf"))
        .map(|b| local(b))
        .collect();
    assert_eq!(curls.len(), 3, "options 1, 2 and 3: {curls:?}");
    for (i, script) in curls.iter().take(2).enumerate() {
        let (ok, out) = sh(script, &env);
        assert!(ok, "option {} failed: {out}", i + 1);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["valid"], true, "option {}: {v}", i + 1);
        assert_eq!(v["checks"]["signature"], "pass");
    }
    // option 3: both preset commands print policies
    let (ok, out) = sh(&curls[2], &env);
    assert!(ok, "{out}");
    let policies: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0]["allowed_algs"], json!(["RS256"]));
    assert_eq!(policies[1]["issuer"], "https://acme.auth0.com/");
    assert_eq!(policies[1]["audiences"], json!(["https://api.acme.com/"]));
    let _ = server.kill();
    let _ = server.wait();
}

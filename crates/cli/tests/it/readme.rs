//! The README's quickstart, run as written: the product doc's curl commands against
//! `jwtshield serve`. Only the tenant changes (to a local JWKS server, over http with
//! --jwks-allow-insecure) and the token (a real RS256 token for it).

use std::process::Command;
use std::time::{Duration, Instant};

use jwtshield_testkit::{Signer, jwks};
use serde_json::{Value, json};

/// The indented code blocks of the README section under `heading`.
fn blocks_of(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme
        .split(heading)
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

    let blocks = blocks_of("## With your Auth0 tenant");
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
        .env("JWTSHIELD_DATA_DIR", crate::support::data_dir())
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
        .filter(|b| b.contains("curl --fail-with-body"))
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
    // option 3: the filled preset is a policy
    let (ok, out) = sh(&curls[2], &env);
    assert!(ok, "{out}");
    let policy: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(policy["allowed_algs"], json!(["RS256"]));
    assert_eq!(policy["issuer"], "https://acme.auth0.com/");
    assert_eq!(policy["audiences"], json!(["https://api.acme.com/"]));
    let _ = server.kill();
    let _ = server.wait();
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_demo_quickstart_works_as_written() {
    // only the port changes, and target/release/jwtshield is this build's binary
    let blocks = blocks_of("## Quickstart");
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert_eq!(
        blocks[0],
        "cargo run --release --locked -p jwtshield -- serve --demo"
    );
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .env("JWTSHIELD_DATA_DIR", crate::support::data_dir())
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("ISSUER_PROFILES_JSON")
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let env = [("JWTSHIELD_URL", url.as_str())];
    let t0 = Instant::now();
    while !sh("curl -sf \"$JWTSHIELD_URL/readyz\"", &env).0
        && t0.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    // the printed curl, run as printed
    let mut printed = String::new();
    {
        use std::io::BufRead;
        let stdout = server.stdout.take().unwrap();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.starts_with("More tokens") {
                break;
            }
            printed.push_str(&line);
            printed.push('\n');
        }
    }
    let curl = printed
        .split("\n\n")
        .find(|b| b.starts_with("curl --fail-with-body"))
        .expect("a curl command in the banner");
    let (ok, out) = sh(curl, &[]);
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true, "{v}");

    let local = |s: &str| {
        s.replace("http://127.0.0.1:8080", &url)
            .replace("target/release/jwtshield", env!("CARGO_BIN_EXE_jwtshield"))
    };
    let (ok, out) = sh(&local(&blocks[1]), &[]);
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert!(
        v["checks"]
            .as_object()
            .unwrap()
            .values()
            .all(|c| c == "pass"),
        "{v}"
    );
    // the second block runs in the same shell as the first (JWTSHIELD_URL exported)
    let (ok, out) = sh(&local(&format!("{}\n{}", blocks[1], blocks[2])), &[]);
    assert!(ok, "{out}");
    let answers: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let v = &answers[1];
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(codes(v), ["AUDIENCE_MISMATCH", "TOKEN_EXPIRED"], "{v}");
    let aud = &v["findings"][0]["evidence"];
    assert_eq!(aud["expected"], json!(["https://api.example.com/"]));
    assert_eq!(aud["actual"], "https://other-api.example.com/");
    let _ = server.kill();
    let _ = server.wait();
}

//! The web console in a real browser: `jwtshield serve` with a local issuer, and
//! tests/browser/console.test.mjs driving Debian's chromium with playwright-core
//! (`.ci/run` installs both: apt-get chromium, npm ci in tests/browser). The script
//! intercepts every request the page makes and fails on one that leaves the service.
//! Screenshots go to target/console-screenshots, or to docs/ with
//! JWTSHIELD_UPDATE_SCREENSHOTS=1.

use std::path::Path;
use std::process::Command;

use jwtshield_testkit::{Signer, jwks, tampered};
use serde_json::json;

use crate::serve::{http, serve, wait_ready};
use crate::support::{free_port, idp};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn the_console_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` (.ci/run does)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is not installed: .ci/run installs it (apt-get install chromium)"
    );
    let signer = Signer::rsa("k1");
    let issuer = idp(jwks(&[&signer]));
    let audience = "https://api.example.com/";
    let policy = json!({"issuer": issuer, "audiences": [audience], "allowed_algs": ["RS256"],
        "required_claims": ["sub"]});
    let dir = tempfile::tempdir().unwrap();
    let profiles_file = dir.path().join("profiles.json");
    std::fs::write(&profiles_file, json!({"api": policy}).to_string()).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // the service's log goes to a file: a pipe nobody reads fills up and then blocks
    // every request that logs (that hung this test under load)
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-service-{port}.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .arg("serve")
        // the browser, node and the debug build share two cores with the other tests:
        // a request is not shed for waiting on the CPU (that is tested elsewhere)
        .args(["--listen", &listen, "--max-queue-ms", "5000"])
        .arg("--profiles")
        .arg(&profiles_file)
        .env("JWTSHIELD_DATA_DIR", crate::support::data_dir())
        .env("JWTSHIELD_JWKS_ALLOW_INSECURE", "1")
        .env_remove("ISSUER_PROFILES_JSON")
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_ready(port);
    let t = now();
    let claims =
        json!({"iss": issuer, "aud": audience, "sub": "user-1", "iat": t, "exp": t + 3600});
    let header = json!({"alg": "RS256", "kid": "k1", "typ": "JWT"});
    let sign = |c: serde_json::Value| signer.token(header.clone(), c);
    let valid = sign(claims.clone());
    let mut slash = claims.clone();
    slash["iss"] = json!(issuer.trim_end_matches('/'));
    let mut id_token = claims.clone();
    id_token["aud"] = json!("my-client-id");
    id_token["nonce"] = json!("n-0S6_WzA2Mj");
    let mut expired = claims.clone();
    expired["iat"] = json!(t - 4200);
    expired["exp"] = json!(t - 600);
    let mut forged = claims.clone();
    forged["sub"] = json!("admin");
    let fixture = json!({
        "url": format!("http://{listen}"),
        "profile": "api",
        "policy": policy,
        "profiles_file": profiles_file,
        "binary": env!("CARGO_BIN_EXE_jwtshield"),
        "jwks_url": format!("{issuer}.well-known/jwks.json"),
        "down_issuer": format!("http://127.0.0.1:{}/", free_port()),
        "tokens": {
            "valid": valid,
            "trailing_slash": sign(slash),
            "id_token": sign(id_token),
            "expired": sign(expired),
            "tampered": tampered(&valid, &forged),
            "opaque": "Qx7bV2mYp0rT9sLk3ZdW8eNc",
        }
    });
    let fixture_file = dir.path().join("fixture.json");
    std::fs::write(&fixture_file, fixture.to_string()).unwrap();
    let shots = match std::env::var("JWTSHIELD_UPDATE_SCREENSHOTS").as_deref() {
        Ok("1") => root.join("docs"),
        _ => Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"),
    };
    let out = Command::new("node")
        .arg(browser_dir.join("console.test.mjs"))
        .current_dir(&browser_dir)
        .env("CONSOLE_FIXTURE", &fixture_file)
        .env("SCREENSHOTS_DIR", &shots)
        .env("JWTSHIELD_JWKS_ALLOW_INSECURE", "1")
        .output()
        .expect("node runs");
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "console tests failed:\n{stdout}\n{}\n(the service's log: {})",
        String::from_utf8_lossy(&out.stderr),
        log.display()
    );
    assert!(stdout.contains("all passed"), "{stdout}");
}

#[test]
fn no_console_turns_the_page_off_and_leaves_the_api() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = serve(&["--listen", &listen, "--no-console"], &[]);
    wait_ready(port);
    let root = http("GET", port, "/", "");
    let script = http("GET", port, "/console/app.js", "");
    let api = http("GET", port, "/v1/presets", "");
    let spec = http("GET", port, "/openapi.json", "");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(root.map(|r| r.0), Some(404));
    assert_eq!(script.map(|r| r.0), Some(404));
    assert_eq!(api.map(|r| r.0), Some(200));
    let spec = spec.unwrap().1;
    assert!(
        !spec.contains("\"operationId\":\"console\""),
        "the document does not list /"
    );
}

//! `jwtshield check`: the issuer doctor against local issuers over HTTPS (a certificate
//! made here, trusted with --jwks-ca-file; the loopback address allowed exactly with
//! --jwks-allow-addrs, so the SSRF guard and the https rule stay on): healthy,
//! misconfigured in each way an operator gets wrong, and down.

use std::net::SocketAddr;
use std::process::Command;

use axum::Router;
use axum::http::header::CACHE_CONTROL;
use axum::routing::get;
use jwtshield_testkit::{Signer, b64};
use serde_json::{Value, json};

use crate::support::{free_port, spawn_http, spawn_https};

fn jwk(kid: &str) -> Value {
    let mut k = Signer::rsa(kid).jwk();
    k["use"] = json!("sig");
    k["alg"] = json!("RS256");
    k
}

/// One document under `path`, with Cache-Control.
fn doc(router: Router, path: &str, body: Value) -> Router {
    router.route(
        path,
        get(move || {
            let b = body.clone();
            async move { ([(CACHE_CONTROL, "public, max-age=600")], axum::Json(b)) }
        }),
    )
}

/// One issuer per tenant path, each misconfigured its own way: `/healthy/`,
/// `/mismatch/` (the document drops the trailing slash), `/plain/` (an http key set),
/// `/dupes/` (two keys under one kid), `/weak/` (a 1024-bit RSA key).
fn issuers(addr: SocketAddr, http_jwks: String) -> Router {
    let base = format!("https://{addr}");
    let mut r = Router::new();
    let weak = json!({"kty": "RSA", "kid": "weak", "use": "sig", "alg": "RS256",
        "n": b64([0xc5u8; 128]), "e": "AQAB"});
    let tenants: [(&str, String, String, Value); 5] = [
        (
            "healthy",
            format!("{base}/healthy/"),
            format!("{base}/healthy/keys"),
            json!({"keys": [jwk("a"), jwk("b")]}),
        ),
        (
            "mismatch",
            format!("{base}/mismatch"),
            format!("{base}/mismatch/keys"),
            json!({"keys": [jwk("a")]}),
        ),
        (
            "plain",
            format!("{base}/plain/"),
            http_jwks,
            json!({"keys": [jwk("a")]}),
        ),
        (
            "dupes",
            format!("{base}/dupes/"),
            format!("{base}/dupes/keys"),
            json!({"keys": [jwk("a"), jwk("a")]}),
        ),
        (
            "weak",
            format!("{base}/weak/"),
            format!("{base}/weak/keys"),
            json!({"keys": [weak]}),
        ),
    ];
    for (name, issuer, jwks_uri, keys) in tenants {
        r = doc(
            r,
            &format!("/{name}/.well-known/openid-configuration"),
            json!({"issuer": issuer, "jwks_uri": jwks_uri}),
        );
        r = doc(r, &format!("/{name}/keys"), keys);
    }
    r
}

struct Setup {
    base: String,
    ca: std::path::PathBuf,
    allow: String,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    // the http key set of /plain/, on its own port
    let http = spawn_http(Router::new().route(
        "/keys",
        get(|| async { axum::Json(json!({"keys": [jwk("a")]})) }),
    ));
    let http_jwks = format!("http://{http}/keys");
    let (addr, pem) = spawn_https(move |addr| issuers(addr, http_jwks));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    Setup {
        base: format!("https://{addr}"),
        ca,
        allow: format!("{addr},{http}"),
        _dir: dir,
    }
}

fn check(s: &Setup, args: &[&str]) -> (i32, String, Value) {
    let run = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_jwtshield"));
        c.arg("check")
            .args(args)
            .arg("--jwks-ca-file")
            .arg(&s.ca)
            .args(["--jwks-allow-addrs", &s.allow])
            .env_remove("JWTSHIELD_JWKS_ALLOW_INSECURE")
            .env_remove("ISSUER_PROFILES_JSON");
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let text = run(false);
    let json = run(true);
    assert_eq!(
        text.status.code(),
        json.status.code(),
        "--json changes nothing but the output"
    );
    let report: Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json.stderr)));
    (
        text.status.code().unwrap(),
        String::from_utf8_lossy(&text.stdout).into_owned(),
        report,
    )
}

fn codes(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

fn errors(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "error")
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_healthy_issuer_exits_0_with_its_keys() {
    let s = setup();
    let issuer = format!("{}/healthy/", s.base);
    let (code, text, report) = check(&s, &[&issuer]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report["verdict"], "healthy");
    assert!(codes(&report).is_empty(), "{report}");
    assert_eq!(report["discovery_issuer"], issuer.as_str());
    assert_eq!(report["cache_control"], "public, max-age=600");
    assert_eq!(report["algorithms_offered"], json!(["RS256"]));
    let kids: Vec<&str> = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["a", "b"]);
    assert_eq!(report["keys"][0]["bits"], 2048);
    assert!(text.starts_with("HEALTHY"), "{text}");
    assert!(text.contains("2048 bits"), "{text}");
}

#[test]
fn each_misconfiguration_is_named_and_exits_1() {
    let s = setup();
    // the operator typed the issuer with the slash; the document (and so every token) has none
    let (code, text, report) = check(&s, &[&format!("{}/mismatch/", s.base)]);
    assert_eq!(
        (code, errors(&report)),
        (1, vec!["ISSUER_MISMATCH".to_owned()]),
        "{text}"
    );
    assert!(text.contains("trailing slash"), "{text}");
    assert_eq!(
        report["problems"][0]["evidence"]["actual"],
        format!("{}/mismatch", s.base)
    );

    let (code, text, report) = check(&s, &[&format!("{}/plain/", s.base)]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        errors(&report),
        ["JWKS_URI_NOT_HTTPS", "JWKS_REFUSED"],
        "{report}"
    );

    let (code, text, report) = check(&s, &[&format!("{}/dupes/", s.base)]);
    assert_eq!(code, 1, "{text}");
    assert!(
        errors(&report).contains(&"DUPLICATE_KID".to_owned()),
        "{report}"
    );
    assert!(text.contains("2 keys share the kid \"a\""), "{text}");

    let (code, text, report) = check(&s, &[&format!("{}/weak/", s.base)]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        errors(&report),
        ["KEY_REJECTED", "NO_USABLE_KEYS"],
        "{report}"
    );
    assert!(text.contains("1024 bits"), "{text}");
}

#[test]
fn a_profile_is_checked_against_its_allowlist() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.json");
    let issuer = format!("{}/healthy/", s.base);
    std::fs::write(
        &profiles,
        json!({
            "api": {"issuer": issuer, "audiences": ["https://api.example.com/"], "allowed_algs": ["RS256"]},
            "ec": {"issuer": issuer, "audiences": ["https://api.example.com/"], "allowed_algs": ["ES256"]}
        })
        .to_string(),
    )
    .unwrap();
    let p = profiles.to_str().unwrap();
    let (code, text, report) = check(&s, &["--profile", "api", "--profiles", p]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report["algorithms_allowed"], json!(["RS256"]));
    let (code, text, report) = check(&s, &["--profile", "ec", "--profiles", p]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(errors(&report), ["ALGORITHMS_NOT_OFFERED"], "{report}");
}

#[test]
fn a_down_issuer_exits_2_within_the_timeout() {
    let s = setup();
    let port = free_port();
    let start = std::time::Instant::now();
    let allowed = format!("127.0.0.1:{port}");
    let (code, text, report) = check(
        &s,
        &[
            &format!("https://127.0.0.1:{port}/"),
            "--jwks-allow-addrs",
            &allowed,
            "--jwks-fetch-timeout-ms",
            "1000",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert_eq!(report["verdict"], "unreachable");
    assert_eq!(codes(&report), ["DISCOVERY_UNREACHABLE"]);
    assert!(text.starts_with("UNREACHABLE"), "{text}");
    // two runs (text and --json), each bounded by the fetch timeout
    assert!(
        start.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
}

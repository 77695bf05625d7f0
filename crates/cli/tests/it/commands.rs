use std::io::Write;
use std::process::{Command, Output, Stdio};

use jwtshield_testkit::Signer;
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;

struct Fixture {
    dir: tempfile::TempDir,
    key: Signer,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            key: Signer::ed("ed-1"),
        }
    }

    fn token(&self, claims: Value) -> String {
        self.key.token(json!({}), claims)
    }

    fn good(&self) -> String {
        self.token(json!({"iss":"https://acme.auth0.com/","aud":"https://api.acme.com/","sub":"u1","exp":NOW+3600,"iat":NOW-10}))
    }

    fn jwks(&self) -> Value {
        jwtshield_testkit::jwks(&[&self.key])
    }

    fn write(&self, name: &str, v: &Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn policy_file(&self) -> String {
        self.write("policy.json", &json!({"issuer":"https://acme.auth0.com/","audiences":["https://api.acme.com/"],"allowed_algs":["EdDSA"],"required_claims":["sub"]}))
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args(args)
        .env_remove("ISSUER_PROFILES_JSON")
        .env_remove("JWTSHIELD_PROFILES_FILE")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn valid_token_exits_0_with_a_json_result() {
    let f = Fixture::new();
    let (policy, jwks) = (f.policy_file(), f.write("jwks.json", &f.jwks()));
    let now = NOW.to_string();
    let o = run(&[
        "validate",
        "--policy",
        &policy,
        "--jwks",
        &jwks,
        "--now",
        &now,
        "--json",
        &f.good(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["checks"]["signature"], "pass");
    assert_eq!(v["key"]["kid"], "ed-1");
    // the token itself never appears in the output
    assert!(!stdout(&o).contains(&f.good()));
}

#[test]
fn invalid_token_exits_1_and_names_every_failed_check() {
    let f = Fixture::new();
    let (policy, jwks) = (f.policy_file(), f.write("jwks.json", &f.jwks()));
    let t = f.token(json!({"iss":"https://acme.auth0.com","aud":"https://other/","exp":NOW-7200}));
    let now = NOW.to_string();
    let o = run(&[
        "validate", "--policy", &policy, "--jwks", &jwks, "--now", &now, &t,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.starts_with("INVALID  4 errors"), "{out}");
    for needle in [
        "ISSUER_MISMATCH",
        "ISSUER_TRAILING_SLASH",
        "AUDIENCE_MISMATCH",
        "TOKEN_EXPIRED",
        "CLAIM_MISSING",
        "issuer           FAIL",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    let o = run(&[
        "validate", "--policy", &policy, "--jwks", &jwks, "--now", &now, "--json", &t,
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 5);
}

#[test]
fn token_from_stdin() {
    let f = Fixture::new();
    let (policy, jwks) = (f.policy_file(), f.write("jwks.json", &f.jwks()));
    let now = NOW.to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args([
            "validate", "--policy", &policy, "--jwks", &jwks, "--now", &now, "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", f.good()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("VALID"));
}

#[test]
fn usage_and_configuration_errors_exit_2_with_a_clear_message() {
    let f = Fixture::new();
    let bad_policy = f.write(
        "bad.json",
        &json!({"issuer":"i","audiences":["a"],"allowed_algs":["none"]}),
    );
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["validate".into(), "tok".into()], "give a policy"),
        (
            vec![
                "validate".into(),
                "--policy".into(),
                bad_policy.clone(),
                "tok".into(),
            ],
            "allowed_algs[0]",
        ),
        (
            vec![
                "validate".into(),
                "--policy".into(),
                "/nonexistent.json".into(),
                "tok".into(),
            ],
            "cannot read policy file",
        ),
        (
            vec![
                "validate".into(),
                "--preset".into(),
                "nope".into(),
                "tok".into(),
            ],
            "no preset named `nope`",
        ),
        (
            vec![
                "validate".into(),
                "--preset".into(),
                "auth0".into(),
                "tok".into(),
            ],
            "--param tenant=",
        ),
        (
            vec![
                "validate".into(),
                "--profile".into(),
                "x".into(),
                "tok".into(),
            ],
            "needs profiles",
        ),
        (
            vec![
                "validate".into(),
                "--policy".into(),
                bad_policy.clone(),
                "--preset".into(),
                "auth0".into(),
                "tok".into(),
            ],
            "cannot be used with",
        ),
        (
            vec![
                "validate".into(),
                "--preset".into(),
                "auth0".into(),
                "--param".into(),
                "novalue".into(),
                "tok".into(),
            ],
            "KEY=VALUE",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn profiles_from_the_environment() {
    let f = Fixture::new();
    let jwks = f.write("jwks.json", &f.jwks());
    let profiles = json!({"acme": {"issuer":"https://acme.auth0.com/","audiences":["https://api.acme.com/"],"allowed_algs":["EdDSA"]}}).to_string();
    let now = NOW.to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args([
            "validate",
            "--profile",
            "acme",
            "--jwks",
            &jwks,
            "--now",
            &now,
            &f.good(),
        ])
        .env("ISSUER_PROFILES_JSON", &profiles)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let broken = json!({"acme": {"issuer":"i","audiences":[]}}).to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args(["validate", "--profile", "acme", "--jwks", &jwks, &f.good()])
        .env("ISSUER_PROFILES_JSON", &broken)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("profile \"acme\", field `audiences`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn preset_with_params_and_an_offline_key_set() {
    let f = Fixture::new();
    let jwks = f.write("jwks.json", &f.jwks());
    let now = NOW.to_string();
    // auth0 allows RS256 only: an EdDSA token is refused by the algorithm check
    let o = run(&[
        "validate",
        "--preset",
        "auth0",
        "--param",
        "tenant=acme.auth0.com",
        "--param",
        "audience=https://api.acme.com/",
        "--jwks",
        &jwks,
        "--now",
        &now,
        "--json",
        &f.good(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["checks"]["algorithm"], "fail");
    assert_eq!(v["findings"][0]["code"], "ALG_NOT_ALLOWED");
}

#[test]
fn decode_explains_without_verifying() {
    let f = Fixture::new();
    let now = NOW.to_string();
    let o = run(&["decode", "--now", &now, &f.good()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for needle in [
        "Header",
        "\"EdDSA\"",
        "Claims",
        "2023-11-14T23:13:20Z (expires in 1h 0m)",
        "issued 10s ago",
        "Not verified",
    ] {
        assert!(out.contains(needle), "{needle}:\n{out}");
    }
    assert!(!out.to_lowercase().contains("valid token"));
    let o = run(&["decode", "--json", "--now", &now, "opaque-token"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["warnings"][0]["code"], "OPAQUE");
    // not a JWT: exit 1, as `validate` exits for an invalid token
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(run(&["decode", "hello"]).status.code(), Some(1));
}

#[test]
fn presets_list_and_fill() {
    let o = run(&["presets"]);
    assert_eq!(o.status.code(), Some(0));
    // every preset the core knows (the required ones are checked there)
    let listed = stdout(&o);
    for name in jwtshield_core::presets::names() {
        assert!(listed.contains(name), "{name}");
    }
    let o = run(&[
        "presets",
        "auth0",
        "--param",
        "tenant=acme.auth0.com",
        "--param",
        "audience=https://api.acme.com/",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["issuer"], "https://acme.auth0.com/");
    assert_eq!(v["audiences"][0], "https://api.acme.com/");
    let o = run(&["presets", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.as_array().unwrap().iter().any(|p| p["name"] == "auth0"));
    assert_eq!(run(&["presets", "nope"]).status.code(), Some(2));
    // placeholders left in: the template with them listed, as GET /v1/presets/{name}
    let o = run(&["presets", "auth0", "--param", "tenant=acme.auth0.com"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["issuer"], "https://acme.auth0.com/");
    assert_eq!(v["placeholders"][0]["name"], "audience");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not a usable policy until audience filled"),
        "{err}"
    );
    assert!(err.contains("--param audience="), "{err}");
}

#[test]
fn demo_token_says_how_to_start_the_demo_when_nothing_listens() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let o = run(&["demo-token", "--url", &url]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("jwtshield serve --demo"), "{err}");
    let o = run(&["demo-token", "--url", "http://10.1.2.3:8080"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loopback only"));
}

#[test]
fn without_jwks_the_keys_are_fetched_as_the_service_fetches_them() {
    let f = Fixture::new();
    let issuer = crate::support::idp(f.jwks());
    let token = f.token(json!({"iss": issuer, "aud":"https://api.acme.com/","exp":NOW+3600}));
    let policy = f.write(
        "p.json",
        &json!({"issuer": issuer, "audiences":["https://api.acme.com/"], "allowed_algs":["EdDSA"]}),
    );
    let now = NOW.to_string();
    // the SSRF guard refuses an http, loopback key URL by default
    let o = run(&[
        "validate", "--policy", &policy, "--now", &now, "--json", &token,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["findings"][0]["code"], "JWKS_REFUSED", "{v}");
    // development: the insecure flag (or its environment variable) lifts it
    let o = run(&[
        "validate",
        "--policy",
        &policy,
        "--now",
        &now,
        "--jwks-allow-insecure",
        &token,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("warning"));
    let o = Command::new(env!("CARGO_BIN_EXE_jwtshield"))
        .args(["validate", "--policy", &policy, "--now", &now, &token])
        .env("JWTSHIELD_JWKS_ALLOW_INSECURE", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

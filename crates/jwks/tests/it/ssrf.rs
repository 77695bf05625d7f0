//! The guard end to end: refused URLs never produce a connection.

use std::time::Duration;

use jwtshield_jwks::{Config, GuardConfig, KeySets};

use crate::server::*;

fn codes(r: &jwtshield_core::Report) -> Vec<&'static str> {
    r.findings().iter().map(|f| f.code.as_str()).collect()
}

fn guarded(guard: GuardConfig) -> KeySets {
    KeySets::new(Config {
        fetch_timeout: Duration::from_secs(2),
        guard,
        ..Config::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_and_private_targets_are_refused_without_a_connection() {
    let trip = Tripwire::start().await;
    let port = trip.addr.port();
    let k = es256("k");
    let urls = [
        format!("https://127.0.0.1:{port}/jwks.json"),
        format!("http://127.0.0.1:{port}/jwks.json"),
        format!("https://2130706433:{port}/jwks.json"),
        format!("https://0x7f.0.0.1:{port}/jwks.json"),
        format!("https://[::ffff:127.0.0.1]:{port}/jwks.json"),
        format!("https://localhost:{port}/jwks.json"),
        format!("https://vm:{port}/jwks.json"),
    ];
    // the guard as shipped (https only, no internal addresses), and with http allowed
    // so the address check itself is what refuses
    for guard in [
        GuardConfig::default(),
        GuardConfig {
            allow_http: true,
            ..GuardConfig::default()
        },
    ] {
        let sets = guarded(guard);
        for url in &urls {
            let p = policy("https://acme.auth0.com/", Some(url));
            let token = token(&k, "https://acme.auth0.com/");
            let r = validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW);
            assert_eq!(codes(&r), ["JWKS_REFUSED"], "{url}");
            assert_eq!(r.findings()[0].check.as_str(), "key_freshness");
        }
    }
    // issuer discovery goes through the same guard
    let sets = guarded(GuardConfig::default());
    let iss = format!("https://127.0.0.1:{port}/");
    let p = policy(&iss, None);
    let r = validate(&token(&k, &iss), &sets.keys_for(&p, None).await, &p, NOW);
    assert_eq!(codes(&r), ["JWKS_REFUSED"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        trip.connections(),
        0,
        "a refused URL must never be connected to"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_loopback_is_refused_with_the_guard_on() {
    let trip = Tripwire::start().await;
    let server = JwksServer::start(Mode::Status(500)).await;
    // the guard is on; only the first server's exact address is let through (as an
    // operator would for an IdP on a private network)
    let guard = GuardConfig {
        allow_http: true,
        allow_private: false,
        allowed_addrs: vec![server.addr],
    };
    for target in [
        format!("http://127.0.0.1:{}/jwks.json", trip.addr.port()),
        format!("http://localhost:{}/jwks.json", trip.addr.port()),
        format!("http://[::1]:{}/jwks.json", trip.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        server.set(Mode::Redirect(target.clone()));
        let sets = guarded(guard.clone());
        let p = policy("https://acme.auth0.com/", Some(&server.url()));
        let keys = sets.keys_for(&p, None).await;
        let r = validate(
            &token(&es256("k"), "https://acme.auth0.com/"),
            &keys,
            &p,
            NOW,
        );
        assert_eq!(
            codes(&r),
            ["JWKS_REFUSED"],
            "{target}: {}",
            r.findings()[0].message
        );
        assert!(
            r.findings()[0].message.contains("redirect"),
            "{target}: {}",
            r.findings()[0].message
        );
    }
    assert!(server.hits() >= 5, "the allowed server was asked");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        trip.connections(),
        0,
        "the redirect target was never connected to"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_insecure_flag_lifts_the_guard_for_development() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), None).await;
    let sets = guarded(GuardConfig::insecure());
    let p = server.policy();
    let token = token(&k, &server.issuer());
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
}

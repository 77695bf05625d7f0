//! An identity provider that goes down, hangs, answers garbage and comes back, with
//! short configured windows (key sets live 1 s, the stale window is 2 s): the answers
//! are the same whether the keys are found by discovery or by `jwks_uri`, a lookup never
//! outlasts the fetch timeout, a `kid` that could not be looked for is the outage's
//! JWKS_UNREACHABLE, and requests waiting on one set are bounded.

use std::time::{Duration, Instant};

use jwtshield_core::{CompiledPolicy, Freshness, KeySet};
use jwtshield_jwks::{Config, GuardConfig, KeySets};

use crate::server::*;

fn cfg() -> Config {
    Config {
        fetch_timeout: Duration::from_millis(800),
        min_ttl: Duration::from_secs(1),
        default_ttl: Duration::from_secs(1),
        stale_window: Duration::from_secs(2),
        cooldown: Duration::from_millis(100),
        guard: GuardConfig::insecure(),
        ..Config::default()
    }
}

fn codes(r: &jwtshield_core::Report) -> Vec<&'static str> {
    r.findings().iter().map(|f| f.code.as_str()).collect()
}

/// The provider fails in every way, and each time the outage is ridden out inside the
/// stale window and reported past it, then recovered from.
async fn rides_out(server: &JwksServer, p: &CompiledPolicy, through: &str) {
    let k = es256("k");
    let set = jwks(&[&k]);
    server.provider(None, set.clone());
    let sets = KeySets::new(cfg()).unwrap();
    let token = token(&k, &server.issuer());
    let r = validate(&token, &keys_for(&sets, p, &token).await, p, NOW);
    assert!(r.valid(), "{through}: {:?}", codes(&r));
    let url = sets.status()[0].url.clone();
    for (mode, needle) in [
        (Mode::Status(503), "503"),
        (Mode::Hang, "timed out"),
        (Mode::Garbage, "not valid JSON"),
    ] {
        server.provider(Some(mode), set.clone());
        // past the set's lifetime, inside the stale window: the last good keys, with
        // the warning (the first request after expiry starts the refresh that fails)
        tokio::time::sleep(Duration::from_millis(1100)).await;
        keys_for(&sets, p, &token).await;
        let mut r = validate(&token, &keys_for(&sets, p, &token).await, p, NOW);
        for _ in 0..40 {
            if codes(&r) == ["JWKS_STALE"] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            r = validate(&token, &keys_for(&sets, p, &token).await, p, NOW);
        }
        assert_eq!(codes(&r), ["JWKS_STALE"], "{through} {needle}");
        assert!(r.valid(), "{through} {needle}: stale keys still verify");
        assert!(
            r.findings()[0].message.contains(needle),
            "{}",
            r.findings()[0].message
        );
        assert_eq!(
            r.findings()[0].evidence["url"],
            url,
            "{through}: the URL the issuer published"
        );
        // past the stale window: refused, naming the same URL
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let started = Instant::now();
        let r = validate(&token, &keys_for(&sets, p, &token).await, p, NOW);
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "{through} {needle}"
        );
        assert_eq!(codes(&r), ["JWKS_UNREACHABLE"], "{through} {needle}");
        assert!(
            r.findings()[0].message.contains("past the stale window"),
            "{}",
            r.findings()[0].message
        );
        assert_eq!(r.findings()[0].evidence["url"], url);
        // back: the next requests recover
        server.provider(None, set.clone());
        let mut ok = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let r = validate(&token, &keys_for(&sets, p, &token).await, p, NOW);
            if r.valid() && r.findings().is_empty() {
                ok = true;
                break;
            }
        }
        assert!(ok, "{through} {needle}: never recovered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_ridden_out_through_discovery_as_through_jwks_uri() {
    let server = JwksServer::start(Mode::Status(200)).await;
    server.publish_discovery();
    let by_discovery = policy(&server.issuer(), None);
    rides_out(&server, &by_discovery, "discovery").await;
    let by_uri = server.policy();
    rides_out(&server, &by_uri, "jwks_uri").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_lookup_never_outlasts_the_fetch_timeout_and_names_the_failed_step() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), None).await;
    server.publish_discovery();
    let p = policy(&server.issuer(), None);
    let token = token(&k, &server.issuer());
    for (mode, needle) in [
        (Mode::Hang, "timed out"),
        (Mode::Status(503), "503"),
        (Mode::Garbage, "not valid JSON"),
    ] {
        // discovery fails: no guessing at .well-known/jwks.json, the discovery URL named
        *server.state.discovery_fails.lock().unwrap() = Some(mode.clone());
        let sets = KeySets::new(cfg()).unwrap();
        let started = Instant::now();
        let keys = keys_for(&sets, &p, &token).await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "{needle}: {took:?}");
        let r = validate(&token, &keys, &p, NOW);
        assert_eq!(codes(&r), ["JWKS_UNREACHABLE"], "{needle}");
        let f = &r.findings()[0];
        assert_eq!(f.evidence["step"], "discovery", "{needle}");
        assert_eq!(
            f.evidence["url"],
            format!("{}.well-known/openid-configuration", server.issuer())
        );
        assert!(
            f.message.contains("discovery") && f.message.contains(needle),
            "{}",
            f.message
        );
        assert!(sets.status().is_empty(), "{needle}: no key set was guessed");
        // the key set hangs after a good discovery: one deadline for both steps
        *server.state.discovery_fails.lock().unwrap() = None;
        server.set(mode);
        let sets = KeySets::new(cfg()).unwrap();
        let started = Instant::now();
        let keys = keys_for(&sets, &p, &token).await;
        assert!(started.elapsed() < Duration::from_millis(1500), "{needle}");
        let r = validate(&token, &keys, &p, NOW);
        assert_eq!(codes(&r), ["JWKS_UNREACHABLE"]);
        assert_eq!(r.findings()[0].evidence["step"], "key_set");
        assert_eq!(r.findings()[0].evidence["url"], server.url());
        server.serve(jwks(&[&k]), None);
    }
    // 404 is the provider saying it has no discovery document: Auth0's layout
    *server.state.discovery.lock().unwrap() = None;
    let sets = KeySets::new(cfg()).unwrap();
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
    assert_eq!(
        sets.status()[0].url,
        format!("{}.well-known/jwks.json", server.issuer())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_kid_during_an_outage_is_the_outage_not_a_bad_token() {
    let old = es256("old");
    let new = es256("new");
    for (mode, needle) in [
        (Mode::Hang, "timed out"),
        (Mode::Status(503), "503"),
        (Mode::Garbage, "not valid JSON"),
    ] {
        let server = JwksServer::serving(jwks(&[&old]), Some("max-age=3600")).await;
        let p = server.policy();
        let sets = KeySets::new(cfg()).unwrap();
        assert_eq!(sets.keys_for(&p, Some("old")).await.kids(), ["old"]);
        // the issuer rotated while its JWKS is failing: the new kid cannot be looked for
        server.set(mode);
        let token = token(&new, &server.issuer());
        let r = validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW);
        assert_eq!(codes(&r), ["JWKS_UNREACHABLE"], "{needle}");
        assert!(
            r.findings()[0].message.contains("could not be refreshed"),
            "{}",
            r.findings()[0].message
        );
        assert!(
            r.findings()[0].message.contains(needle),
            "{}",
            r.findings()[0].message
        );
        assert_eq!(r.findings()[0].evidence["kid"], "new");
        // within the cooldown the answer is the same, at once, without a fetch
        let hits = server.hits();
        let started = Instant::now();
        let r = validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW);
        assert_eq!(codes(&r), ["JWKS_UNREACHABLE"], "{needle}");
        assert!(started.elapsed() < Duration::from_millis(300));
        assert_eq!(server.hits(), hits);
        // old tokens still validate meanwhile
        let r = validate(
            &self::token(&old, &server.issuer()),
            &sets.keys_for(&p, Some("old")).await,
            &p,
            NOW,
        );
        assert!(r.valid(), "{:?}", codes(&r));
        // the JWKS is back with the new key: picked up
        server.serve(jwks(&[&old, &new]), Some("max-age=3600"));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
    }
    // a kid the healthy issuer does not publish is still KID_NOT_FOUND
    let server = JwksServer::serving(jwks(&[&old]), None).await;
    let p = server.policy();
    let sets = KeySets::new(cfg()).unwrap();
    let token = token(&new, &server.issuer());
    let r = validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW);
    assert_eq!(codes(&r), ["KID_NOT_FOUND"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_on_one_set_are_bounded() {
    let old = es256("old");
    let new = es256("new");
    let server = JwksServer::serving(jwks(&[&old]), Some("max-age=3600")).await;
    let p = server.policy();
    let sets = KeySets::new(Config {
        max_waiters_per_set: 8,
        fetch_timeout: Duration::from_secs(2),
        ..cfg()
    })
    .unwrap();
    sets.keys_for(&p, Some("old")).await;
    // after a rotation the JWKS hangs: 200 requests carry the new kid
    server.set(Mode::Hang);
    let token = token(&new, &server.issuer());
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (sets, p, token) = (sets.clone(), p.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let keys: KeySet = keys_for(&sets, &p, &token).await;
            (started.elapsed(), keys)
        }));
    }
    let (mut at_once, mut waited) = (0, 0);
    for t in tasks {
        let (took, keys) = t.await.unwrap();
        assert!(
            matches!(keys.freshness, Freshness::Unreachable { .. }),
            "{:?}",
            keys.freshness
        );
        assert!(took < Duration::from_millis(2600), "{took:?}");
        if took < Duration::from_millis(1000) {
            at_once += 1;
        } else {
            waited += 1;
        }
    }
    println!(
        "200 requests for a new kid while the JWKS hangs: {waited} waited, {at_once} answered at once"
    );
    assert!(waited <= 8, "{waited} requests waited on one hanging set");
    assert!(at_once >= 192);
    assert_eq!(server.hits(), 2, "one initial fetch and one refresh");
    // and a request for the old kid never waits
    let started = Instant::now();
    assert_eq!(sets.keys_for(&p, Some("old")).await.kids(), ["old"]);
    assert!(started.elapsed() < Duration::from_millis(200));
}

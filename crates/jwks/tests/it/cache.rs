use std::sync::atomic::Ordering;
use std::time::Duration;

use jwtshield_core::{Code, Freshness};
use jwtshield_jwks::{Config, GuardConfig, KeySets};
use serde_json::json;

use crate::server::*;

fn cfg() -> Config {
    Config {
        fetch_timeout: Duration::from_secs(2),
        min_ttl: Duration::from_secs(1),
        guard: GuardConfig::insecure(),
        ..Config::default()
    }
}

fn codes(r: &jwtshield_core::Report) -> Vec<&'static str> {
    r.findings().iter().map(|f| f.code.as_str()).collect()
}

/// Waits (bounded) until `f` holds; the bound only stops a broken test from hanging.
async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition never held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_is_picked_up_with_exactly_one_fetch_under_50_concurrent_requests() {
    let old = es256("key-2025");
    let new = es256("key-2026");
    let server = JwksServer::serving(jwks(&[&old]), Some("max-age=3600")).await;
    let sets = KeySets::new(cfg()).unwrap();
    let p = server.policy();
    let first = sets.keys_for(&p, Some("key-2025")).await;
    assert_eq!(first.kids(), ["key-2025"]);
    assert_eq!(server.hits(), 1);

    // the issuer rotates at 02:00: new tokens carry the new kid
    server.serve(jwks(&[&old, &new]), Some("max-age=3600"));
    let token = token(&new, &server.issuer());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (sets, p, token) = (sets.clone(), p.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let keys = keys_for(&sets, &p, &token).await;
            validate(&token, &keys, &p, NOW)
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.valid(), "{:?}", codes(&r));
    }
    println!(
        "fetches for a rotation under 50 concurrent requests: {} (1 before it)",
        server.hits()
    );
    assert_eq!(
        server.hits(),
        2,
        "one initial fetch and exactly one refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_300_random_kids_costs_at_most_one_fetch() {
    let k = es256("real");
    let server = JwksServer::serving(jwks(&[&k]), None).await;
    let sets = KeySets::new(cfg()).unwrap();
    let p = server.policy();
    sets.keys_for(&p, Some("real")).await;
    let before = server.hits();
    // concurrent half, then sequential half
    let mut tasks = Vec::new();
    for i in 0..150 {
        let (sets, p) = (sets.clone(), p.clone());
        tasks.push(tokio::spawn(async move {
            sets.keys_for(&p, Some(&format!("random-{i}"))).await
        }));
    }
    for t in tasks {
        let keys = t.await.unwrap();
        assert_eq!(keys.kids(), ["real"], "the good keys stay in use");
    }
    for i in 150..300 {
        let keys = sets.keys_for(&p, Some(&format!("random-{i}"))).await;
        assert_eq!(keys.kids(), ["real"]);
    }
    let spent = server.hits() - before;
    println!("fetches for 300 unknown kids: {spent}");
    assert!(spent <= 1, "{spent} fetches for 300 unknown kids");
    // and the flood did not stop the real kid from validating
    let r = validate(
        &token(&k, &server.issuer()),
        &sets.keys_for(&p, Some("real")).await,
        &p,
        NOW,
    );
    assert!(r.valid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_published_right_after_a_routine_fetch_is_picked_up_at_once() {
    // the cooldown counts from the last unknown-kid refresh, not from routine fetches
    let a = es256("a");
    let b = es256("b");
    let server = JwksServer::serving(jwks(&[&a]), None).await;
    let sets = KeySets::new(cfg()).unwrap();
    let p = server.policy();
    sets.keys_for(&p, Some("a")).await;
    server.serve(jwks(&[&a, &b]), None);
    let keys = sets.keys_for(&p, Some("b")).await;
    assert!(keys.kids().contains(&"b"));
    assert_eq!(server.hits(), 2);
    // a second unknown kid inside the cooldown does not refetch
    sets.keys_for(&p, Some("c")).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_is_honoured_and_clamped_both_ways() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), None).await;
    let cases = [
        (Some("public, max-age=120, must-revalidate"), 120),
        (Some("max-age=5"), 60),
        (Some("max-age=99999"), 600),
        (Some("no-cache"), 300),
        (None, 300),
    ];
    for (cc, want) in cases {
        server.serve(jwks(&[&k]), cc);
        let sets = KeySets::new(Config {
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(600),
            default_ttl: Duration::from_secs(300),
            guard: GuardConfig::insecure(),
            ..Config::default()
        })
        .unwrap();
        sets.keys_for(&server.policy(), None).await;
        let st = &sets.status()[0];
        assert_eq!(st.ttl_seconds, Some(want), "{cc:?}");
        assert!(st.expires_at > st.fetched_at);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_set_that_is_down_hanging_garbage_or_huge_is_jwks_unreachable() {
    let k = es256("k");
    let cases = [
        (Mode::Status(503), "HTTP 503"),
        (Mode::Hang, "timed out"),
        (Mode::Garbage, "not valid JSON"),
        (Mode::Huge(5 * 1024 * 1024), "limit"),
        (
            Mode::Serve {
                jwks: json!({"keys": [{"kty":"RSA","kid":"weak","n":"AQAB","e":"AQAB"}]}),
                cache_control: None,
            },
            "no usable key",
        ),
    ];
    for (mode, needle) in cases {
        let server = JwksServer::start(mode).await;
        let sets = KeySets::new(cfg()).unwrap();
        let p = server.policy();
        let token = token(&k, &server.issuer());
        let keys = tokio::time::timeout(Duration::from_secs(10), keys_for(&sets, &p, &token))
            .await
            .expect("a hanging JWKS never holds a request past the fetch timeout");
        let r = validate(&token, &keys, &p, NOW);
        assert_eq!(codes(&r), ["JWKS_UNREACHABLE"], "{needle}");
        assert!(
            r.findings()[0].message.contains(needle),
            "{needle}: {}",
            r.findings()[0].message
        );
        assert_eq!(r.findings()[0].check.as_str(), "key_freshness");
        assert!(
            sets.status()[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains(needle)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_that_is_down_is_not_hammered() {
    let k = es256("k");
    let server = JwksServer::start(Mode::Status(503)).await;
    let sets = KeySets::new(cfg()).unwrap();
    let p = server.policy();
    let token = token(&k, &server.issuer());
    // 100 requests (20 of them concurrent) for a cold set whose JWKS answers 503
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (sets, p, token) = (sets.clone(), p.clone(), token.clone());
        tasks.push(tokio::spawn(
            async move { keys_for(&sets, &p, &token).await },
        ));
    }
    for t in tasks {
        assert!(matches!(
            t.await.unwrap().freshness,
            Freshness::Unreachable { .. }
        ));
    }
    for _ in 0..80 {
        let keys = keys_for(&sets, &p, &token).await;
        assert_eq!(
            codes(&validate(&token, &keys, &p, NOW)),
            ["JWKS_UNREACHABLE"]
        );
    }
    println!(
        "fetches for 100 requests while the JWKS is down: {}",
        server.hits()
    );
    assert_eq!(
        server.hits(),
        1,
        "one fetch per cooldown (30 s), not one per request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_garbage_refresh_keeps_the_old_keys() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), None).await;
    let sets = KeySets::new(Config {
        cooldown: Duration::ZERO,
        ..cfg()
    })
    .unwrap();
    let p = server.policy();
    let token = token(&k, &server.issuer());
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
    for (i, mode) in [
        Mode::Status(503),
        Mode::Garbage,
        Mode::Huge(2 * 1024 * 1024),
        Mode::Serve {
            jwks: json!({"keys": []}),
            cache_control: None,
        },
    ]
    .into_iter()
    .enumerate()
    {
        server.set(mode);
        let hits = server.hits();
        // an unknown kid forces a refresh, which fails
        let keys = sets.keys_for(&p, Some(&format!("unknown-{i}"))).await;
        assert_eq!(server.hits(), hits + 1, "{:?}", sets.status()[0].last_error);
        assert_eq!(keys.kids(), ["k"]);
        assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
        assert!(sets.status()[0].last_error.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_window_then_unreachable() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), Some("max-age=1")).await;
    let sets = KeySets::new(Config {
        min_ttl: Duration::from_secs(1),
        stale_window: Duration::from_secs(2),
        cooldown: Duration::from_millis(50),
        ..cfg()
    })
    .unwrap();
    let p = server.policy();
    let token = token(&k, &server.issuer());
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
    server.set(Mode::Status(503));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // expired: served at once, refreshed in the background; that refresh fails
    let keys = keys_for(&sets, &p, &token).await;
    assert_eq!(keys.kids(), ["k"]);
    eventually(|| sets.status()[0].last_error.is_some()).await;
    let keys = keys_for(&sets, &p, &token).await;
    assert!(
        matches!(keys.freshness, Freshness::Stale { .. }),
        "{:?}",
        keys.freshness
    );
    let r = validate(&token, &keys, &p, NOW);
    assert!(r.valid(), "stale keys still verify: {:?}", codes(&r));
    assert_eq!(codes(&r), ["JWKS_STALE"]);
    assert!(sets.status()[0].stale);
    // past the stale window the old keys are dropped
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let keys = keys_for(&sets, &p, &token).await;
    let r = validate(&token, &keys, &p, NOW);
    assert_eq!(codes(&r), ["JWKS_UNREACHABLE"]);
    assert!(
        r.findings()[0].message.contains("past the stale window"),
        "{}",
        r.findings()[0].message
    );
    // the JWKS comes back: the next request recovers
    server.serve(jwks(&[&k]), None);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_keys_and_a_mismatched_issuer_is_refused() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), None).await;
    let sets = KeySets::new(cfg()).unwrap();
    let iss = server.issuer();
    let token = token(&k, &iss);
    // no discovery document: Auth0's layout, .well-known/jwks.json
    let p = policy(&iss, None);
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
    assert_eq!(sets.status()[0].url, format!("{iss}.well-known/jwks.json"));
    // a discovery document that names the issuer: its jwks_uri is used
    *server.state.discovery.lock().unwrap() =
        Some(json!({"issuer": iss, "jwks_uri": server.url()}));
    let sets = KeySets::new(cfg()).unwrap();
    assert!(validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW).valid());
    assert_eq!(sets.status()[0].url, server.url());
    // one that names another issuer: its keys are not this issuer's
    *server.state.discovery.lock().unwrap() =
        Some(json!({"issuer": "https://evil.example/", "jwks_uri": server.url()}));
    let sets = KeySets::new(cfg()).unwrap();
    let hits = server.hits();
    let r = validate(&token, &keys_for(&sets, &p, &token).await, &p, NOW);
    assert_eq!(codes(&r), ["DISCOVERY_ISSUER_MISMATCH"]);
    assert_eq!(r.findings()[0].evidence["actual"], "https://evil.example/");
    // evidence holds values: the policy's issuer itself, not a description of it
    assert_eq!(
        r.findings()[0].evidence["expected"],
        p.policy().issuer.primary()
    );
    assert_eq!(server.hits(), hits, "no key set fetched");
    // the discovery result is cached
    let d = server.state.discovery_hits.load(Ordering::SeqCst);
    keys_for(&sets, &p, &token).await;
    assert_eq!(server.state.discovery_hits.load(Ordering::SeqCst), d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_cannot_verify_are_skipped_and_explained_in_status() {
    let k = es256("good");
    let mut set = jwks(&[&k]);
    set["keys"].as_array_mut().unwrap().extend([
        json!({"kty":"RSA","kid":"weak","n":jwtshield_core::b64::encode([0xc3u8; 128]),"e":"AQAB"}),
        json!({"kty":"oct","kid":"secret","k":"c2VjcmV0"}),
        json!({"kty":"EC","kid":"enc","crv":"P-256","use":"enc","key_ops":["verify"],"x":"AA","y":"AA"}),
        json!({"kty":"XYZ","kid":"odd"}),
    ]);
    let server = JwksServer::serving(set, None).await;
    let sets = KeySets::new(cfg()).unwrap();
    let p = server.policy();
    let keys = sets.keys_for(&p, Some("good")).await;
    assert_eq!(keys.kids(), ["good"]);
    let st = &sets.status()[0];
    let skipped: Vec<(&str, &str)> = st
        .skipped_keys
        .iter()
        .map(|r| (r.kid.as_deref().unwrap(), r.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped[0].1.contains("1024 bits"));
    assert!(skipped[1].1.contains("symmetric"));
    assert!(skipped[3].1.contains("unsupported key type"));
    // a token naming a skipped key is told why
    let r = validate(
        &token(&es256("weak"), &server.issuer()),
        &sets.keys_for(&p, Some("weak")).await,
        &p,
        NOW,
    );
    assert_eq!(codes(&r), ["KEY_REJECTED"]);
    assert_eq!(r.findings()[0].code, Code::KEY_REJECTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_issuer_never_slows_another() {
    let k = es256("k");
    let slow = JwksServer::start(Mode::Hang).await;
    let fast = JwksServer::serving(jwks(&[&k]), None).await;
    let sets = KeySets::new(Config {
        fetch_timeout: Duration::from_secs(5),
        ..cfg()
    })
    .unwrap();
    let (ps, pf) = (slow.policy(), fast.policy());
    let s2 = sets.clone();
    let slow_req = tokio::spawn(async move { s2.keys_for(&ps, None).await });
    eventually(|| slow.hits() == 1).await;
    let keys = sets.keys_for(&pf, None).await;
    assert_eq!(keys.kids(), ["k"]);
    assert!(
        !slow_req.is_finished(),
        "the fast issuer answered while the slow one still hangs"
    );
    let keys = slow_req.await.unwrap();
    assert!(matches!(keys.freshness, Freshness::Unreachable { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_in_use_and_profile_sets_are_refreshed_before_they_expire() {
    let k = es256("k");
    let server = JwksServer::serving(jwks(&[&k]), Some("max-age=1")).await;
    let sets = KeySets::new(Config {
        min_ttl: Duration::from_secs(1),
        cooldown: Duration::from_millis(100),
        refresh_ahead: Duration::from_millis(300),
        tick: Duration::from_millis(50),
        ..cfg()
    })
    .unwrap();
    let refresher = sets.spawn_refresher();
    let p = server.policy();
    // kept warm from start: fetched without any request
    sets.keep_warm(&p);
    eventually(|| server.hits() >= 1).await;
    assert!(sets.status()[0].warm);
    // it keeps being refreshed ahead of expiry, so requests always hit the cache
    eventually(|| server.hits() >= 3).await;
    let st = &sets.status()[0];
    assert!(st.last_error.is_none() && !st.stale);
    let keys = sets.keys_for(&p, Some("k")).await;
    assert!(matches!(keys.freshness, Freshness::Fresh));
    refresher.abort();
}

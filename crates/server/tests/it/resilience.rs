//! The service under hostile clients and overload, over real sockets, with short
//! configured limits: stalled and idle connections are closed, shutdown finishes within
//! its drain deadline whatever a client does, overload is shed with 503 and Retry-After
//! (queueing, not only handlers in flight), and one issuer's hanging key set cannot take
//! the capacity of another issuer or of /healthz. Bounds on time are generous: the
//! assertions are about what happens, not how fast.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use jwtshield_testkit::Signer;
use serde_json::json;

use crate::support::*;

/// Reads until the server closes the connection (or `limit` passes); true when closed.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return start.elapsed() < limit,
        }
        if start.elapsed() >= limit {
            return false;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_idle_connections_are_closed() {
    let mut cfg = config(None);
    cfg.connections.header_read_timeout = Duration::from_millis(300);
    cfg.connections.idle_timeout = Duration::from_millis(600);
    let svc = Service::start(cfg).await;
    let addr = svc.addr;
    tokio::task::spawn_blocking(move || {
        // headers begun and never finished (slowloris)
        let mut stalled = TcpStream::connect(addr).unwrap();
        stalled.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
        assert!(
            closed_within(&mut stalled, Duration::from_secs(5)),
            "a stalled request"
        );
        // a connection that sends nothing at all
        let mut silent = TcpStream::connect(addr).unwrap();
        assert!(
            closed_within(&mut silent, Duration::from_secs(5)),
            "a silent connection"
        );
        // one request, then an idle keep-alive connection
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 256];
        let n = idle.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let started = Instant::now();
        assert!(
            closed_within(&mut idle, Duration::from_secs(5)),
            "an idle connection"
        );
        println!(
            "idle keep-alive connection closed after {:?}",
            started.elapsed()
        );
    })
    .await
    .unwrap();
    // the service still answers
    assert_eq!(svc.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_within_the_drain_deadline_whatever_a_client_does() {
    // a JWKS that never answers keeps one validation in flight for the fetch timeout
    let hang = jwks_server(json!({}), true).await;
    let mut cfg = config(None);
    cfg.connections.header_read_timeout = Duration::from_secs(60);
    cfg.connections.idle_timeout = Duration::from_secs(60);
    cfg.connections.drain_timeout = Duration::from_millis(1500);
    cfg.jwks.fetch_timeout = Duration::from_millis(700);
    let svc = Service::start(cfg).await;
    let addr = svc.addr;
    // a client that stalls mid-headers, and one idle keep-alive connection
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(b"POST /v1/validate/jwt HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    idle.read_exact(&mut buf[..12]).unwrap();
    // a request in flight when shutdown starts
    let body =
        json!({"token": rsa_token(claims(&hang.issuer())), "policy": seed_policy(&hang.issuer())});
    let client = svc.client.clone();
    let url = format!("{}/v1/validate/jwt", svc.url);
    let in_flight = tokio::spawn(async move {
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    });
    while hang.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    svc.shutdown().await;
    let took = started.elapsed();
    println!("shutdown with a stalled client took {took:?} (drain deadline 1.5 s)");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // the request in flight was answered before the connections closed
    let (status, text) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("JWKS_UNREACHABLE"), "{text}");
    // every connection is closed, the stalled one included; nothing is accepted
    tokio::task::spawn_blocking(move || {
        assert!(closed_within(&mut stalled, Duration::from_secs(2)));
        assert!(closed_within(&mut idle, Duration::from_secs(2)));
        assert!(TcpStream::connect(addr).is_err());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn work_queueing_for_the_cpu_is_shed_with_retry_after_but_not_healthz() {
    let mut cfg = config(None);
    cfg.max_queue = Duration::from_millis(20);
    let svc = Service::start(cfg).await;
    // the only worker is busy 60 ms out of every 80 for two seconds: every task, each
    // request's included, waits that long for its turn
    let hog = tokio::spawn(async {
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(60));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let addr = svc.addr;
    let (shed, health_ok, other) = tokio::task::spawn_blocking(move || {
        let (mut shed, mut health_ok, mut other) = (Vec::new(), 0, 0);
        let end = Instant::now() + Duration::from_millis(1800);
        while Instant::now() < end {
            for path in ["/v1/presets", "/healthz"] {
                let mut s = TcpStream::connect(addr).unwrap();
                write!(
                    s,
                    "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
                )
                .unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                match (path, out.split(' ').nth(1)) {
                    ("/healthz", Some("200")) => health_ok += 1,
                    ("/v1/presets", Some("503")) => shed.push(out),
                    ("/v1/presets", Some("200")) => other += 1,
                    (p, s) => panic!("{p} answered {s:?}"),
                }
            }
        }
        (shed, health_ok, other)
    })
    .await
    .unwrap();
    hog.await.unwrap();
    println!(
        "under a busy worker: {} shed, {other} served, /healthz ok {health_ok} times",
        shed.len()
    );
    assert!(!shed.is_empty(), "nothing was shed while work queued");
    let first = &shed[0].to_ascii_lowercase();
    assert!(first.contains("retry-after: 1"), "{first}");
    assert!(first.contains("application/problem+json"), "{first}");
    assert!(first.contains("for the cpu"), "{first}");
    assert!(health_ok > 0);
    // once the queue is gone, everything is served again
    let (status, _, _) = svc.get("/v1/presets").await;
    assert_eq!(status, 200);
    let (_, _, metrics) = svc.get("/metrics").await;
    assert!(
        metrics.contains("jwtshield_http_shed_total{reason=\"queue\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hanging_issuer_cannot_take_the_capacity_of_another_or_of_healthz() {
    let good_key = Signer::ec("P-256", "a1");
    let issuer_a = jwks_server(json!({"keys": [good_key.jwk()]}), false).await;
    let issuer_b = jwks_server(json!({"keys": [rsa().jwk_pinned()]}), false).await;
    let profile = |j: &Jwks, alg: &str| json!({"issuer": j.issuer(), "audiences": ["https://api.acme.com/"], "allowed_algs": [alg], "jwks_uri": j.jwks_uri()});
    let mut cfg = config(Some(
        json!({"a": profile(&issuer_a, "ES256"), "b": profile(&issuer_b, "RS256")}),
    ));
    cfg.max_concurrent_requests = 64;
    cfg.jwks.max_waiters_per_set = 16;
    cfg.jwks.fetch_timeout = Duration::from_secs(3);
    let svc = Service::start(cfg).await;
    while svc.get("/readyz").await.0 != 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // issuer B rotates and its JWKS starts hanging: 300 requests carry the new kid
    let rotated = Signer::rsa("b-new");
    let b_token = rotated.token(json!({"typ": "JWT"}), claims(&issuer_b.issuer()));
    issuer_b.set_hang(true);
    let mut b_requests = Vec::new();
    for _ in 0..300 {
        let (c, url, t) = (
            svc.client.clone(),
            format!("{}/v1/authz?profile=b", svc.url),
            b_token.clone(),
        );
        b_requests.push(tokio::spawn(async move {
            c.get(url)
                .bearer_auth(t)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    // wait until the burst is dispatched: all but the 16 bulkhead waiters answered at
    // once (the waiters hold for the 3 s fetch timeout); probing during the burst itself
    // would measure the CPU the burst takes, not what B's waiters hold
    let t0 = Instant::now();
    while b_requests.iter().filter(|h| h.is_finished()).count() < 300 - 16
        && t0.elapsed() < Duration::from_secs(2)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // meanwhile issuer A's tokens and /healthz are answered, and quickly
    let a_token = good_key.token(json!({}), claims(&issuer_a.issuer()));
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let started = Instant::now();
        let res = svc
            .client
            .get(format!("{}/v1/authz?profile=a", svc.url))
            .bearer_auth(&a_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(svc.get("/healthz").await.0, 200);
        slowest = slowest.max(started.elapsed());
    }
    let still_waiting = b_requests.iter().filter(|h| !h.is_finished()).count();
    println!(
        "issuer A while B hangs: slowest authz + healthz {slowest:?}; B requests still waiting {still_waiting}"
    );
    assert!(
        still_waiting > 0,
        "A was probed while B's waiters were held"
    );
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
    let mut counts = std::collections::BTreeMap::new();
    for r in b_requests {
        *counts.entry(r.await.unwrap()).or_insert(0) += 1;
    }
    println!("issuer B's 300 requests: {counts:?}");
    // B's requests are answered 503 (keys unavailable), never 200 or 401
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        [503],
        "{counts:?}"
    );
    // and the hanging JWKS saw one refresh for them all (plus the first fetch), not 300
    assert!(issuer_b.hits() <= 3, "{} fetches", issuer_b.hits());
}

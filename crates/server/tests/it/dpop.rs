//! DPoP (RFC 9449) at `/v1/authz` and `POST /v1/validate/jwt`, over real HTTP: the
//! gateway forwards the client's Authorization and DPoP headers and says which request
//! they were for (X-Forwarded-Method / X-Forwarded-Uri, as Caddy and Traefik send them,
//! or X-Original-URI as nginx is configured to).

use jwtshield_server::revocations::StoreConfig;
use jwtshield_testkit::Signer;
use serde_json::{Value, json};

use crate::support::*;

const API: &str = "https://api.acme.com/orders";

fn client() -> &'static Signer {
    static K: std::sync::OnceLock<Signer> = std::sync::OnceLock::new();
    K.get_or_init(|| Signer::ec("P-256", "client"))
}

fn profiles() -> Value {
    let mut required = seed_policy(ISS);
    required["dpop"] = json!({"required": true});
    json!({"api": seed_policy(ISS), "dpop-only": required})
}

const ISS: &str = "https://acme.auth0.com/";

fn svc_config(store: StoreConfig) -> jwtshield_server::ServerConfig {
    let mut p = profiles();
    for v in p.as_object_mut().unwrap().values_mut() {
        v["jwks"] = rsa_jwks();
    }
    let mut cfg = config(Some(p));
    cfg.store = store;
    cfg
}

/// A token bound to the client's key.
fn bound() -> String {
    let mut c = claims(ISS);
    c["cnf"] = json!({"jkt": client().jkt()});
    rsa_token(c)
}

fn proof(token: &str, method: &str, uri: &str, jti: &str, iat: i64) -> String {
    client().dpop_proof(method, uri, iat, jti, Some(token), json!({}), json!({}))
}

async fn authz(svc: &Service, profile: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let mut req = svc
        .client
        .get(format!("{}/v1/authz?profile={profile}", svc.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null);
    (status, challenge, body)
}

/// What a gateway sends for a client's `GET https://api.acme.com/orders`.
fn forwarded<'a>(auth: &'a str, proof: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("authorization", auth),
        ("dpop", proof),
        ("x-forwarded-method", "GET"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.acme.com"),
        ("x-forwarded-uri", "/orders?page=2"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_checks_dpop_proofs() {
    let svc = Service::start(svc_config(StoreConfig::Memory)).await;
    let t = bound();
    let auth = format!("DPoP {t}");

    // a valid proof: 200 with the identity headers' source checked
    let p = proof(&t, "GET", API, "j-1", now());
    let (s, c, _) = authz(&svc, "api", &forwarded(&auth, &p)).await;
    assert_eq!((s, c.as_str()), (200, ""));
    // nginx's spelling: X-Original-URI with the full URI, X-Original-Method
    let p2 = proof(&t, "POST", API, "j-2", now());
    let (s, _, _) = authz(
        &svc,
        "api",
        &[
            ("authorization", &auth),
            ("dpop", &p2),
            ("x-original-method", "POST"),
            ("x-original-uri", "https://api.acme.com/orders"),
        ],
    )
    .await;
    assert_eq!(s, 200);

    // the same proof again: a replay
    let (s, c, b) = authz(&svc, "api", &forwarded(&auth, &p)).await;
    assert_eq!(s, 401);
    assert!(
        c.starts_with("DPoP realm=\"jwtshield\", error=\"invalid_dpop_proof\""),
        "{c}"
    );
    assert!(
        c.contains("DPOP_PROOF_REPLAYED") && c.contains("algs=\"ES256"),
        "{c}"
    );
    assert_eq!(b["error"], "invalid_dpop_proof");

    // each failure, with the RFC 9449 challenge naming it
    let other = Signer::ec("P-256", "thief");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong htm",
            proof(&t, "POST", API, "j-3", now()),
            "DPOP_METHOD_MISMATCH",
        ),
        (
            "wrong htu",
            proof(&t, "GET", "https://api.acme.com/admin", "j-4", now()),
            "DPOP_URI_MISMATCH",
        ),
        (
            "stale iat",
            proof(&t, "GET", API, "j-5", now() - 400),
            "DPOP_PROOF_STALE",
        ),
        (
            "other token",
            client().dpop_proof(
                "GET",
                API,
                now(),
                "j-6",
                Some("another-token"),
                json!({}),
                json!({}),
            ),
            "DPOP_ATH_MISMATCH",
        ),
        (
            "wrong key",
            other.dpop_proof("GET", API, now(), "j-7", Some(&t), json!({}), json!({})),
            "DPOP_KEY_MISMATCH",
        ),
        ("not a proof", "garbage".to_owned(), "DPOP_PROOF_INVALID"),
    ];
    for (name, p, code) in &cases {
        let (s, c, _) = authz(&svc, "api", &forwarded(&auth, p)).await;
        assert_eq!(s, 401, "{name}");
        assert!(
            c.contains("error=\"invalid_dpop_proof\"") && c.contains(code),
            "{name}: {c}"
        );
    }
    // no proof at all
    let (s, c, _) = authz(&svc, "api", &[("authorization", &auth)]).await;
    assert_eq!(s, 401);
    assert!(
        c.starts_with("DPoP ") && c.contains("DPOP_PROOF_MISSING"),
        "{c}"
    );
    // a bound token sent as Bearer, even with a good proof
    let p = proof(&t, "GET", API, "j-8", now());
    let bearer = format!("Bearer {t}");
    let (s, c, _) = authz(&svc, "api", &forwarded(&bearer, &p)).await;
    assert_eq!(s, 401);
    assert!(
        c.contains("error=\"invalid_token\"") && c.contains("DPOP_BOUND_TOKEN_AS_BEARER"),
        "{c}"
    );
    // a failed request spends nothing: the proof still works once
    let (s, _, _) = authz(&svc, "api", &forwarded(&auth, &p)).await;
    assert_eq!(s, 200);
    // two DPoP headers
    let p = proof(&t, "GET", API, "j-9", now());
    let mut h = forwarded(&auth, &p);
    h.push(("dpop", &p));
    let (s, c, _) = authz(&svc, "api", &h).await;
    assert_eq!(s, 401);
    assert!(c.contains("DPOP_PROOF_INVALID"), "{c}");

    // the gateway's header and a client's own that disagree: refused, not guessed
    let p = proof(&t, "GET", API, "j-11", now());
    let mut h = forwarded(&auth, &p);
    h.push(("x-original-uri", "https://api.acme.com/admin"));
    let (s, c, _) = authz(&svc, "api", &h).await;
    assert_eq!(s, 400, "{c}");
    assert!(
        c.starts_with("DPoP ") && c.contains("invalid_request"),
        "{c}"
    );

    // a plain bearer token still passes where DPoP is optional, and is refused where it
    // is required, with a DPoP challenge
    let plain = rsa_token(claims(ISS));
    let bearer = format!("Bearer {plain}");
    let (s, c, _) = authz(&svc, "api", &[("authorization", &bearer)]).await;
    assert_eq!((s, c.as_str()), (200, ""));
    let (s, c, _) = authz(&svc, "dpop-only", &[("authorization", &bearer)]).await;
    assert_eq!(s, 401);
    assert!(
        c.starts_with("DPoP realm=") && c.contains("DPOP_TOKEN_NOT_BOUND"),
        "{c}"
    );
    // no token at all where DPoP is required: a bare DPoP challenge
    let (s, c, _) = authz(&svc, "dpop-only", &[]).await;
    assert_eq!(s, 401);
    assert!(c.starts_with("DPoP realm=\"jwtshield\", algs="), "{c}");
    let p = proof(&t, "GET", API, "j-10", now());
    let (s, _, _) = authz(&svc, "dpop-only", &forwarded(&auth, &p)).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_spent_at_one_instance_is_a_replay_at_another_through_redis() {
    let mut redis = RedisServer::start();
    let store = || StoreConfig::Redis {
        url: redis.url(),
        ca_file: None,
    };
    let a = Service::start(svc_config(store())).await;
    let b = Service::start(svc_config(store())).await;
    let t = bound();
    let auth = format!("DPoP {t}");
    let p = proof(&t, "GET", API, "fleet-1", now());
    let (s, _, _) = authz(&a, "api", &forwarded(&auth, &p)).await;
    assert_eq!(s, 200);
    let (s, c, _) = authz(&b, "api", &forwarded(&auth, &p)).await;
    assert_eq!(s, 401);
    assert!(c.contains("DPOP_PROOF_REPLAYED"), "{c}");
    // validate reports the spent proof without spending anything itself
    let fresh = proof(&t, "GET", API, "fleet-2", now());
    for (proof, want) in [
        (&p, vec!["DPOP_PROOF_REPLAYED"]),
        (&fresh, vec![]),
        (&fresh, vec![]),
    ] {
        let (status, _, v) = b
            .validate(json!({"token": t, "issuer_profile_id": "api",
                "dpop": {"proof": proof, "method": "GET", "uri": API}}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(finding_codes(&v), want, "{v}");
    }
    let (s, _, _) = authz(&a, "api", &forwarded(&auth, &fresh)).await;
    assert_eq!(s, 200, "the proof checked by validate was not spent");
    // Redis down: no proof is let through unchecked
    redis.stop();
    let p = proof(&t, "GET", API, "fleet-3", now());
    let (s, _, b503) = authz(&a, "api", &forwarded(&auth, &p)).await;
    assert_eq!(s, 503, "{b503}");
    redis.restart();
    let mut ok = false;
    for _ in 0..50 {
        let p = proof(&t, "GET", API, &format!("fleet-4-{}", now()), now());
        if authz(&a, "api", &forwarded(&auth, &p)).await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "recovers when Redis is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_dpop_findings() {
    let svc = Service::start(svc_config(StoreConfig::Memory)).await;
    let t = bound();
    let body = |dpop: Value| {
        let mut b = json!({"token": t, "issuer_profile_id": "api"});
        if !dpop.is_null() {
            b["dpop"] = dpop;
        }
        b
    };
    let p = proof(&t, "GET", API, "v-1", now());
    let (s, _, v) = svc
        .validate(body(json!({"proof": p, "method": "GET", "uri": API})))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["checks"]["dpop"], "pass");
    // a bound token without a proof, a proof for another request
    let (_, _, v) = svc.validate(body(Value::Null)).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["findings"][0]["code"], "DPOP_PROOF_MISSING");
    assert_eq!(v["checks"]["dpop"], "fail");
    let (_, _, v) = svc
        .validate(body(
            json!({"proof": p, "method": "DELETE", "uri": "https://api.acme.com/x"}),
        ))
        .await;
    assert_eq!(
        finding_codes(&v),
        ["DPOP_METHOD_MISMATCH", "DPOP_URI_MISMATCH"]
    );
    assert_eq!(
        v["findings"][1]["evidence"]["expected"],
        "https://api.acme.com/x"
    );
    // a plain token: no dpop check listed
    let (_, _, v) = svc
        .validate(json!({"token": rsa_token(claims(ISS)), "issuer_profile_id": "api"}))
        .await;
    assert!(v["checks"].get("dpop").is_none(), "{v}");
    // a malformed dpop member is a 400 naming the field
    for (dpop, field) in [
        (
            json!({"proof": p, "method": "GET", "uri": "/orders"}),
            "dpop.uri",
        ),
        (
            json!({"proof": p, "method": "G T", "uri": API}),
            "dpop.method",
        ),
        (json!({"proof": p, "method": "GET"}), "dpop"),
        (
            json!({"proof": p, "method": "GET", "uri": API, "x": 1}),
            "dpop",
        ),
    ] {
        let (s, _, v) = svc.validate(body(dpop)).await;
        assert_eq!(s, 400, "{v}");
        assert!(v["field"].as_str().unwrap().starts_with(field), "{v}");
    }
}

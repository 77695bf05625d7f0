//! Operations: health, readiness, status, metrics, OpenAPI, profiles and reloads.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_status() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let svc = Service::start(config(Some(json!({"acme": seed_policy(&iss)})))).await;
    let (status, _, body) = svc.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    // ready once the profile's key set was fetched (kept warm from start)
    let mut ready = false;
    for _ in 0..200 {
        if svc.get("/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready);
    assert_eq!(jwks.hits(), 1, "fetched at start, before any request");
    let (status, _, body) = svc.get("/v1/status").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["uptime_seconds"].is_u64());
    assert_eq!(v["profiles"], json!(["acme"]));
    let set = &v["key_sets"][0];
    assert_eq!(set["url"], format!("{iss}.well-known/jwks.json"));
    assert_eq!(set["kids"], json!(["k1"]));
    assert_eq!(set["fetch_count"], 1);
    assert_eq!(set["stale"], false);
    assert!(set["fetched_at"].as_str().unwrap().ends_with('Z'));
    assert!(set["expires_at"].is_string());
    assert!(set["last_error"].is_null());
    // the HTML page for people has no external assets
    let (status, headers, html) = svc.get("/status").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.contains("k1") && html.contains("acme"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_validations_and_fetches() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let svc = Service::start(config(Some(json!({"acme": seed_policy(&iss)})))).await;
    let good = rsa_token(claims(&iss));
    let expired = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "x", "aud": "https://api.acme.com/", "exp": now() - 3600}),
    );
    for t in [&good, &good, &expired] {
        svc.validate(json!({"token": t, "issuer_profile_id": "acme"}))
            .await;
    }
    let (status, headers, text) = svc.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    for needle in [
        "jwtshield_http_requests_total{endpoint=\"/v1/validate/jwt\",status=\"200\"}",
        "jwtshield_http_request_duration_seconds_bucket{endpoint=\"/v1/validate/jwt\"",
        "jwtshield_validations_total{endpoint=\"validate\",outcome=\"valid\"}",
        "jwtshield_validations_total{endpoint=\"validate\",outcome=\"invalid\"}",
        "jwtshield_validation_failures_total{check=\"expiry\"}",
        "jwtshield_validation_duration_seconds_bucket",
        "jwtshield_jwks_fetches_total{result=\"ok\"}",
        "jwtshield_jwks_lookups_total{result=\"hit\"}",
        "jwtshield_jwks_stale_sets",
        "jwtshield_jwks_key_sets",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    // the token never appears in the metrics
    for part in good.split('.') {
        assert!(!text.contains(part));
    }
}

const ROUTES: [(&str, &str); 13] = [
    ("get", "/"),
    ("post", "/v1/issuers/check"),
    ("post", "/v1/validate/jwt"),
    ("post", "/v1/inspect/token"),
    ("get", "/v1/presets"),
    ("get", "/v1/presets/{name}"),
    ("get", "/v1/issuer-profiles"),
    ("get", "/v1/issuer-profiles/{id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/v1/status"),
    ("get", "/status"),
    ("get", "/metrics"),
];

/// `/v1/authz` takes any method (gateways forward the original one), each documented.
const AUTHZ_METHODS: [&str; 7] = ["get", "head", "post", "put", "patch", "delete", "options"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_is_3_1_and_covers_every_route_and_code() {
    let svc = Service::start(config(None)).await;
    let (status, _, body) = svc.get("/openapi.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc["info"]["license"]["name"], "Apache-2.0");
    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method];
        assert!(
            op.is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
        assert!(op["responses"].is_object());
    }
    for m in AUTHZ_METHODS {
        assert!(doc["paths"]["/v1/authz"][m].is_object(), "{m} /v1/authz");
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len() + AUTHZ_METHODS.len(),
        "a route is served but not documented, or the reverse"
    );
    let codes = doc["components"]["schemas"]["FindingCode"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(codes.len(), jwtshield_core::Code::ALL.len());
    for c in jwtshield_core::Code::ALL {
        assert!(codes.iter().any(|x| x == c.as_str()), "{c}");
        assert!(
            doc["components"]["schemas"]["FindingCode"]["description"]
                .as_str()
                .unwrap()
                .contains(c.description())
        );
    }
    // the interactive docs are served from the binary
    let (status, _, html) = svc.get("/docs/").await;
    assert_eq!(status, 200);
    assert!(html.contains("swagger"));
    assert!(!html.contains("cdn"), "no CDN");
    let (status, _, js) = svc.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(status, 200);
    assert!(js.len() > 100_000);
    // persist the document for the CI validator (.ci/run)
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/openapi.json");
    let _ = std::fs::create_dir_all(out.parent().unwrap());
    std::fs::write(out, body).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_match_their_documented_schemas() {
    // every field a real response carries is one the OpenAPI schema declares
    let svc = Service::start(config(Some(json!({"p": {"issuer": "https://acme.auth0.com/", "audiences": ["https://api.acme.com/"], "jwks": rsa_jwks()}})))).await;
    let token = rsa_token(claims("https://acme.auth0.com/"));
    for t in [token.as_str(), "garbage", ""] {
        let (_, _, v) = svc
            .validate(json!({"token": t, "issuer_profile_id": "p"}))
            .await;
        let _: jwtshield_server::schema::ValidationResult =
            serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
    }
    let (_, _, v) = svc.validate(json!({"token": "x"})).await;
    for k in v.as_object().unwrap().keys() {
        assert!(
            ["type", "title", "status", "detail", "field", "extra"].contains(&k.as_str()),
            "{k}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_listed_with_secrets_redacted() {
    let svc = Service::start(config(Some(json!({
        "hs": {"issuer": "i", "audiences": ["a"], "allowed_algs": ["HS256"], "secret": "a-very-secret-value-of-32-bytes-or-more"},
        "rs": seed_policy("https://acme.auth0.com/")
    })))).await;
    let (status, _, body) = svc.get("/v1/issuer-profiles").await;
    assert_eq!(status, 200);
    assert!(!body.contains("a-very-secret"), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["id"], "hs");
    assert_eq!(v[0]["policy"]["secret"], "<redacted>");
    let (status, _, body) = svc.get("/v1/issuer-profiles/rs").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["policy"]["issuer"],
        "https://acme.auth0.com/"
    );
    let (status, _, body) = svc.get("/v1/issuer-profiles/zz").await;
    assert_eq!(status, 404);
    assert!(body.contains("\"profiles\":[\"hs\",\"rs\"]"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_profiles_file_is_refused_and_the_old_profiles_stay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.json");
    std::fs::write(
        &path,
        json!({"one": seed_policy("https://a.example/")}).to_string(),
    )
    .unwrap();
    let mut cfg = config(None);
    cfg.profiles_file = Some(path.clone());
    let svc = Service::start(cfg).await;
    let _reloader = jwtshield_server::spawn_reloader(svc.state.clone());
    let ids = || async {
        let (_, _, body) = svc.get("/v1/issuer-profiles").await;
        let v: Value = serde_json::from_str(&body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids().await, ["one"]);
    // a broken file: refused, the old profiles stay
    std::fs::write(
        &path,
        r#"{"two": {"issuer": "i", "audiences": ["a"], "allowed_algs": ["none"]}}"#,
    )
    .unwrap();
    let err = svc.state.reload_profiles().unwrap_err();
    assert!(
        err.0.contains("profile \"two\", field `allowed_algs[0]`"),
        "{err}"
    );
    assert_eq!(ids().await, ["one"]);
    // a good file: swapped in (here by the file watcher, within a few seconds)
    std::fs::write(
        &path,
        json!({"one": seed_policy("https://a.example/"), "two": seed_policy("https://b.example/")})
            .to_string(),
    )
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..80 {
        seen = ids().await;
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, ["one", "two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_what_cannot_be_fetched_and_why() {
    // nothing listens on this port: every fetch is refused
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let mut pinned = seed_policy(&down);
    pinned["jwks_uri"] = json!(format!("{down}keys"));
    let profiles = json!({"discovered": seed_policy(&down), "pinned": pinned});
    let svc = Service::start(config(Some(profiles))).await;
    let mut v = Value::Null;
    for _ in 0..300 {
        let (_, _, body) = svc.get("/v1/status").await;
        v = serde_json::from_str(&body).unwrap();
        if v["key_sets"][0]["fetch_errors"].as_u64().unwrap_or(0) > 0
            && v["discovery"][0]["last_error"].is_string()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // the pinned key set: no usable key, and the error
    let set = &v["key_sets"][0];
    assert_eq!(set["url"], format!("{down}keys"), "{v}");
    assert_eq!(set["unusable"], true, "{v}");
    assert_eq!(set["kids"], json!([]), "{v}");
    assert!(set["last_error"].is_string(), "{v}");
    // the discovered one never learnt its key-set URL: discovery says why
    let d = &v["discovery"][0];
    assert_eq!(d["issuer"], down, "{v}");
    assert!(d["jwks_uri"].is_null(), "{v}");
    assert!(
        d["last_error"]
            .as_str()
            .unwrap()
            .contains("discovery failed"),
        "{v}"
    );
    let (_, _, html) = svc.get("/status").await;
    assert!(
        html.contains("unusable:") && html.contains("discovery failed"),
        "{html}"
    );
    // and a token for either is told why
    for profile in ["discovered", "pinned"] {
        let body = json!({"token": rsa_token(claims(&down)), "issuer_profile_id": profile});
        let (status, _, r) = svc.validate(body).await;
        assert_eq!(status, 200);
        assert_eq!(
            r["findings"][0]["code"], "JWKS_UNREACHABLE",
            "{profile}: {r}"
        );
    }
}

/// The issuer doctor over HTTP: a profile's issuer examined afresh (a real fetch each
/// time), a report with the keys and every problem; a wrong request is a problem
/// naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_doctor_examines_a_profile_or_an_issuer() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let svc = Service::start(config(Some(json!({"acme": seed_policy(&iss)})))).await;
    let before = jwks.hits();
    let (status, headers, v) = svc
        .post(
            "/v1/issuers/check",
            json!({"issuer_profile_id": "acme"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(jwks.hits(), before + 1, "fetched afresh, once");
    assert_eq!(v["issuer"], iss.as_str());
    assert_eq!(v["jwks_uri"], format!("{iss}.well-known/jwks.json"));
    assert_eq!(v["keys"][0]["kid"], "k1");
    assert_eq!(v["algorithms_allowed"], json!(["RS256"]));
    // a local http issuer: works (insecure test mode) but is named for what it is
    assert_eq!(v["verdict"], "problems");
    let codes: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    for c in [
        "ISSUER_NOT_HTTPS",
        "JWKS_URI_NOT_HTTPS",
        "DISCOVERY_NOT_FOUND",
        "CACHE_CONTROL_MISSING",
    ] {
        assert!(codes.contains(&c), "{c} not in {codes:?}");
    }
    let (status, _, v) = svc
        .post("/v1/issuers/check", json!({"issuer": iss}).to_string())
        .await;
    assert_eq!(
        (status, v["jwks_uri"].clone()),
        (200, json!(format!("{iss}.well-known/jwks.json")))
    );
    assert_eq!(jwks.hits(), before + 2);

    for (body, want, field) in [
        (json!({}), 400, Some("issuer")),
        (
            json!({"issuer": iss, "issuer_profile_id": "acme"}),
            400,
            Some("issuer"),
        ),
        (json!({"issuer": "ftp://example.com/"}), 400, Some("issuer")),
        (
            json!({"issuer": "https://example.com/?x=1"}),
            400,
            Some("issuer"),
        ),
        (json!({"issuer": null}), 400, Some("issuer")),
        (json!({"issuer_profile_id": "nope"}), 404, None),
    ] {
        let (status, headers, v) = svc.post("/v1/issuers/check", body.to_string()).await;
        assert_eq!(status, want, "{body}: {v}");
        assert_eq!(headers["content-type"], "application/problem+json");
        if let Some(f) = field {
            assert_eq!(v["field"], f, "{body}: {v}");
        }
    }
}

//! The contract's endpoints over real HTTP: the seed's three options, every status code.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_option_1_inline_policy() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let svc = Service::start(config(None)).await;
    let iss = jwks.issuer();
    let token = rsa_token(claims(&iss));
    // the seed's body, with nothing changed but the issuer (and the token)
    let body = json!({"token": token, "policy": seed_policy(&iss)});
    let (status, headers, v) = svc.validate(body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(v["valid"], true, "{v}");
    for c in [
        "signature",
        "algorithm",
        "issuer",
        "audience",
        "expiry",
        "not_before",
        "required_claims",
        "key_freshness",
    ] {
        assert_eq!(v["checks"][c], "pass", "{c}");
    }
    assert_eq!(v["claims"]["sub"], "auth0|u1");
    assert_eq!(jwks.hits(), 1);
    // a second token for the same issuer is served from the cache
    let (_, _, v) = svc.validate(body.clone()).await;
    assert_eq!(v["valid"], true);
    assert_eq!(jwks.hits(), 1);
    // the response never contains the token
    let (_, _, v) = svc.validate(body).await;
    assert!(!v.to_string().contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_option_2_issuer_profile() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let svc = Service::start(config(Some(json!({"acme-auth0": seed_policy(&iss)})))).await;
    let token = rsa_token(claims(&iss));
    let (status, _, v) = svc
        .validate(json!({"token": token, "issuer_profile_id": "acme-auth0"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["valid"], true, "{v}");
    // an invalid token still gets 200 and every finding
    let bad = rsa_token(json!({"iss": iss.trim_end_matches('/'), "aud": "x", "exp": now() - 7200}));
    let (status, _, v) = svc
        .validate(json!({"token": bad, "issuer_profile_id": "acme-auth0"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["valid"], false);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for c in [
        "ISSUER_MISMATCH",
        "ISSUER_TRAILING_SLASH",
        "AUDIENCE_MISMATCH",
        "TOKEN_EXPIRED",
        "CLAIM_MISSING",
    ] {
        assert!(codes.contains(&c), "{c} not in {codes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_option_3_preset() {
    let svc = Service::start(config(None)).await;
    // unfilled: the template, its placeholders listed explicitly (as the CLI prints it)
    let (status, headers, body) = svc.get("/v1/presets/auth0").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-jwtshield-placeholders"], "tenant,audience");
    let template: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(template["allowed_algs"], json!(["RS256"]));
    assert_eq!(template["issuer"], "https://{tenant}/");
    let names: Vec<&str> = template["placeholders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tenant", "audience"]);
    assert!(template["placeholders"][0]["example"].is_string());
    // partly filled: only what is still missing
    let (status, headers, body) = svc.get("/v1/presets/auth0?tenant=acme.auth0.com").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-jwtshield-placeholders"], "audience");
    let partial: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(partial["issuer"], "https://acme.auth0.com/");
    assert_eq!(partial["placeholders"][0]["name"], "audience");
    // a template is not a policy the validate endpoint accepts
    let (status, _, _) = svc
        .validate(json!({"token": "x.y.z", "policy": partial}))
        .await;
    assert_eq!(status, 400);
    let (status, headers, body) = svc
        .get("/v1/presets/auth0?tenant=acme.auth0.com&audience=https://api.acme.com/")
        .await;
    assert_eq!(status, 200);
    assert!(headers.get("x-jwtshield-placeholders").is_none());
    let policy: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(policy["issuer"], "https://acme.auth0.com/");
    assert_eq!(policy["audiences"], json!(["https://api.acme.com/"]));
    // the filled preset is a policy the validate endpoint accepts as is
    let (status, _, v) = svc
        .validate(json!({"token": "x.y.z", "policy": policy}))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, _, body) = svc.get("/v1/presets").await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "auth0" && p["params"][0]["name"] == "tenant")
    );
    let (status, _, body) = svc.get("/v1/presets/nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("auth0"));
    let (status, _, body) = svc.get("/v1/presets/auth0?tennant=x").await;
    assert_eq!(status, 400);
    assert!(body.contains("\"field\":\"tennant\""), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_token_gets_200_with_a_verdict() {
    let svc = Service::start(config(Some(
        json!({"p": {"issuer": "https://acme.auth0.com/", "audiences": ["a"], "jwks": rsa_jwks()}}),
    )))
    .await;
    for (token, code) in [
        ("", "TOKEN_EMPTY"),
        ("garbage", "TOKEN_OPAQUE"),
        ("a.b.c.d.e", "TOKEN_IS_JWE"),
        ("e30.e30.", "ALG_MISSING"),
        ("\u{0}\u{1}.\u{2}.!", "BASE64_INVALID"),
    ] {
        let (status, _, v) = svc
            .validate(json!({"token": token, "issuer_profile_id": "p"}))
            .await;
        assert_eq!(status, 200, "{token:?}");
        assert_eq!(v["valid"], false);
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == code),
            "{token:?}: {v}"
        );
    }
    let huge = "a".repeat(40_000);
    let (status, _, v) = svc
        .validate(json!({"token": huge, "issuer_profile_id": "p"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["findings"][0]["code"], "TOKEN_TOO_LARGE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_problems_naming_the_field() {
    let svc = Service::start(config(Some(json!({"acme": {"issuer": "i", "audiences": ["a"], "secret": "0123456789abcdef0123456789abcdef", "allowed_algs": ["HS256"]}})))).await;
    let cases: Vec<(String, u16, Option<&str>, &str)> = vec![
        ("not json".into(), 400, None, "not valid JSON"),
        ("[1]".into(), 400, None, "JSON object"),
        ("".into(), 400, None, "empty"),
        (json!({"policy": {}}).to_string(), 400, Some("token"), "required"),
        (json!({"token": 5, "issuer_profile_id": "acme"}).to_string(), 400, Some("token"), "must be a string"),
        (json!({"token": "t"}).to_string(), 400, Some("policy"), "issuer_profile_id"),
        (json!({"token": "t", "policy": {"issuer": "i", "audiences": ["a"]}, "issuer_profile_id": "acme"}).to_string(), 400, Some("policy"), "not both"),
        (json!({"token": "t", "policy": "x"}).to_string(), 400, Some("policy"), "must be an object"),
        (json!({"token": "t", "policy": {"issuer": "i", "audiences": "a"}}).to_string(), 400, Some("policy.audiences"), "invalid type"),
        (json!({"token": "t", "policy": {"issuer": "i", "audiences": ["a"], "allowed_algs": ["none"]}}).to_string(), 400, Some("policy.allowed_algs[0]"), "never accepted"),
        (json!({"token": "t", "policy": {"issuer": "i", "audiences": []}}).to_string(), 400, Some("policy.audiences"), "at least one"),
        (json!({"token": "t", "policy": {"audiences": ["a"]}}).to_string(), 400, Some("policy"), "issuer"),
        (json!({"token": "t", "issuer_profile_id": 7}).to_string(), 400, Some("issuer_profile_id"), "string"),
        (json!({"token": "t", "issuer_profile_id": "acme", "extra": 1}).to_string(), 400, Some("extra"), "unknown field"),
        (r#"{"token":"a","token":"b","issuer_profile_id":"acme"}"#.into(), 400, None, "more than once"),
        (json!({"token": "t", "issuer_profile_id": "nope"}).to_string(), 404, None, "no issuer profile"),
    ];
    for (body, want, field, text) in cases {
        let (status, headers, v) = svc.post("/v1/validate/jwt", body.clone()).await;
        assert_eq!(status, want, "{body}: {v}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{body}"
        );
        assert_eq!(v["status"], want);
        assert!(
            v["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:jwtshield:problem:")
        );
        assert!(v["title"].is_string());
        assert!(v["detail"].as_str().unwrap().contains(text), "{body}: {v}");
        if let Some(f) = field {
            assert_eq!(v["field"], f, "{body}: {v}");
        }
    }
    // 404 lists the loaded profiles
    let (_, _, v) = svc
        .validate(json!({"token": "t", "issuer_profile_id": "nope"}))
        .await;
    assert_eq!(v["extra"]["profiles"], json!(["acme"]));
    // 413 over the body limit (64 KiB)
    let big = json!({"token": "a".repeat(70_000), "issuer_profile_id": "acme"}).to_string();
    let (status, headers, v) = svc.post("/v1/validate/jwt", big).await;
    assert_eq!(status, 413);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(v["detail"].as_str().unwrap().contains("65536"));
    // inspect has the same rules
    let (status, _, v) = svc
        .post("/v1/inspect/token", json!({"tok": "x"}).to_string())
        .await;
    assert_eq!((status, v["field"].as_str()), (400, Some("tok")));
    // unknown routes and methods are problems too
    let (status, headers, _) = svc.get("/v1/nope").await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");
    let (status, _, _) = svc.get("/v1/validate/jwt").await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_and_timeouts_answer_503_quickly() {
    let hang = jwks_server(json!({}), true).await;
    let iss = hang.issuer();
    // one request in flight at most; a hanging JWKS holds that slot (an inline policy,
    // so nothing fetches before the first request does)
    let mut cfg = config(None);
    cfg.max_concurrent_requests = 1;
    let svc = Service::start(cfg).await;
    let token = rsa_token(claims(&iss));
    let body = json!({"token": token, "policy": seed_policy(&iss)}).to_string();
    let c = svc.client.clone();
    let url = format!("{}/v1/validate/jwt", svc.url);
    let b = body.clone();
    let first =
        tokio::spawn(async move { c.post(url).body(b).send().await.unwrap().status().as_u16() });
    // wait until the first request is inside (the JWKS server saw it)
    for _ in 0..200 {
        if hang.hits() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, headers, v) = svc.post("/v1/validate/jwt", body.clone()).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(headers["retry-after"], "1");
    assert!(v["detail"].as_str().unwrap().contains("in flight"));
    // the first one ends with a verdict (JWKS_UNREACHABLE after the fetch timeout), never a 500
    assert_eq!(first.await.unwrap(), 200);

    // a request timeout shorter than the fetch timeout: 503, not a hang
    let mut cfg = config(None);
    cfg.request_timeout = Duration::from_millis(300);
    let svc = Service::start(cfg).await;
    let (status, _, v) = svc.post("/v1/validate/jwt", body).await;
    assert_eq!(status, 503);
    assert!(v["detail"].as_str().unwrap().contains("timeout"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_jwks_is_a_finding_never_a_500() {
    let svc = Service::start(config(None)).await;
    // nothing listens on this port
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let iss = format!("http://{dead}/");
    let token = rsa_token(claims(&iss));
    let (status, _, v) = svc
        .validate(json!({"token": token, "policy": seed_policy(&iss)}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["findings"][0]["code"], "JWKS_UNREACHABLE", "{v}");
    assert_eq!(v["checks"]["key_freshness"], "fail");
    // with the guard on (the default), the same URL is refused, not fetched
    let mut cfg = config(None);
    cfg.jwks.guard = jwtshield_jwks::GuardConfig::default();
    let svc = Service::start(cfg).await;
    let (status, _, v) = svc
        .validate(json!({"token": token, "policy": seed_policy(&iss)}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["findings"][0]["code"], "JWKS_REFUSED", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_decodes_without_verifying() {
    let svc = Service::start(config(None)).await;
    let token =
        rsa_token(json!({"iss": "https://acme.auth0.com/", "exp": now() - 60, "nonce": "n"}));
    let (status, headers, v) = svc
        .post("/v1/inspect/token", json!({"token": token}).to_string())
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(v["verified"], false);
    assert_eq!(v["header"]["alg"], "RS256");
    assert_eq!(v["claims"]["iss"], "https://acme.auth0.com/");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(warnings, ["EXPIRED", "ID_TOKEN"]);
    assert!(
        v["times"][0]["relative"]
            .as_str()
            .unwrap()
            .starts_with("expired")
    );
    assert!(v.get("valid").is_none(), "inspect never says valid");
}

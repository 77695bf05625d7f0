//! The API does exactly what its OpenAPI document says: every member a handler accepts
//! is documented and nothing else is, `null` is refused everywhere, a non-JSON
//! `Content-Type` is 415, and `/readyz` says which profiles cannot verify.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Service, config};

/// The names a serde "unknown field" problem lists as expected.
fn expected_members(detail: &str) -> BTreeSet<String> {
    let list = detail
        .split_once("expected ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no expected list in {detail}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn documented(doc: &Value, schema: &str) -> BTreeSet<String> {
    let s = &doc["components"]["schemas"][schema];
    // ValidateRequest is allOf [object, oneOf]
    let object = if s["allOf"].is_array() {
        &s["allOf"][0]
    } else {
        s
    };
    assert_eq!(
        object["additionalProperties"], false,
        "{schema} must refuse other members"
    );
    object["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema} has no properties"))
        .keys()
        .cloned()
        .collect()
}

async fn demo_service() -> Service {
    let mut cfg = config(Some(json!({"p": {"issuer": "https://acme.auth0.com/",
        "audiences": ["https://api.acme.com/"], "public_key": crate::support::es256_pem()}})));
    cfg.demo = true;
    Service::start(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_the_handlers_accept_is_documented_and_nothing_else() {
    let svc = demo_service().await;
    let (_, _, body) = svc.get("/openapi.json").await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    let policy = json!({"issuer": "i", "audiences": ["a"], "zz_unknown": 1});
    let cases = [
        (
            "/v1/validate/jwt",
            json!({"token": "t", "zz_unknown": 1}),
            "ValidateRequest",
        ),
        (
            "/v1/validate/jwt",
            json!({"token": "t", "policy": policy}),
            "Policy",
        ),
        (
            "/v1/inspect/token",
            json!({"token": "t", "zz_unknown": 1}),
            "InspectRequest",
        ),
        (
            "/v1/demo/token",
            json!({"zz_unknown": 1}),
            "DemoTokenRequest",
        ),
    ];
    for (path, body, schema) in cases {
        let (status, _, problem) = svc.post(path, body.to_string()).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert!(
            problem["field"].as_str().unwrap().ends_with("zz_unknown"),
            "{problem}"
        );
        let accepted = expected_members(problem["detail"].as_str().unwrap());
        assert_eq!(
            accepted,
            documented(&doc, schema),
            "{schema}: what {path} accepts differs from the document"
        );
    }
    // the document states the rules the service enforces on single members
    let p = &doc["components"]["schemas"]["Policy"]["properties"];
    assert_eq!(p["clock_skew_seconds"]["maximum"], 600);
    assert_eq!(p["max_ttl_seconds"]["minimum"], 1);
    assert_eq!(p["audiences"]["minItems"], 1);
    assert!(
        !p["allowed_algs"]["items"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().eq_ignore_ascii_case("none"))
    );
    let one_of = &doc["components"]["schemas"]["ValidateRequest"]["allOf"][1]["oneOf"];
    assert_eq!(one_of[0]["required"], json!(["policy"]));
    assert_eq!(one_of[1]["required"], json!(["issuer_profile_id"]));
    // every method /v1/authz answers is documented
    for m in ["get", "head", "post", "put", "patch", "delete", "options"] {
        assert!(doc["paths"]["/v1/authz"][m].is_object(), "{m}");
    }
    // the Swagger UI example request is one the service answers with a verdict
    let example = &doc["components"]["schemas"]["ValidateRequest"]["allOf"][0]["examples"][0];
    let (status, _, v) = svc.validate(example.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["checks"]["signature"], "pass", "{v}");
    assert_eq!(v["valid"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_is_refused_for_every_member_and_named() {
    let svc = demo_service().await;
    let (_, _, body) = svc.get("/openapi.json").await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    for member in documented(&doc, "Policy") {
        let mut policy = json!({"issuer": "i", "audiences": ["a"]});
        policy[&member] = Value::Null;
        let (status, _, problem) = svc.validate(json!({"token": "t", "policy": policy})).await;
        assert_eq!(status, 400, "{member}: {problem}");
        assert_eq!(problem["field"], format!("policy.{member}"), "{problem}");
    }
    for member in ["token", "policy", "issuer_profile_id"] {
        let mut body = json!({"token": "t", "issuer_profile_id": "p"});
        body[member] = Value::Null;
        let (status, _, problem) = svc.validate(body).await;
        assert_eq!(status, 400, "{member}: {problem}");
        assert_eq!(problem["field"], member, "{problem}");
    }
    // a whole number written with a zero fraction is the number (JSON Schema's integer)
    let (status, _, v) = svc
        .validate(
            json!({"token": "t", "policy": {"issuer": "i", "audiences": ["a"],
            "public_key": crate::support::es256_pem(), "allowed_algs": ["ES256"],
            "clock_skew_seconds": 30.0}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, _, problem) = svc
        .validate(json!({"token": "t", "policy": {"issuer": "i", "audiences": ["a"], "clock_skew_seconds": 30.5}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["field"], "policy.clock_skew_seconds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_says_it_is_not_json_is_415() {
    let svc = demo_service().await;
    let body = json!({"token": "t", "issuer_profile_id": "p"}).to_string();
    for (ct, want) in [
        (Some("text/plain"), 415),
        (Some("application/x-www-form-urlencoded"), 415),
        (Some("application/json; charset=utf-8"), 200),
        (Some("application/vnd.api+json"), 200),
        (None, 200),
    ] {
        let mut req = svc
            .client
            .post(format!("{}/v1/validate/jwt", svc.url))
            .body(body.clone());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{ct:?}");
        if want == 415 {
            assert_eq!(
                res.headers()["content-type"],
                "application/problem+json",
                "{ct:?}"
            );
            let p: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
            assert!(
                p["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Content-Type: application/json")
            );
        }
    }
    // an array of the members is not an object (serde would read a struct from it)
    for (path, body) in [
        ("/v1/validate/jwt", r#"["t", null, "p"]"#),
        ("/v1/inspect/token", r#"["t"]"#),
        ("/v1/demo/token", "[]"),
    ] {
        let (status, _, p) = svc.post(path, body).await;
        assert_eq!(status, 400, "{path}: {p}");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object"),
            "{p}"
        );
    }
    // the 413 names the setting; "not valid JSON" is said once
    let big = "x".repeat(70_000);
    let (status, _, p) = svc.post("/v1/validate/jwt", big).await;
    assert_eq!(status, 413);
    assert!(
        p["detail"].as_str().unwrap().contains("--max-body-bytes"),
        "{p}"
    );
    let (status, _, p) = svc.post("/v1/validate/jwt", "{\"token\": ").await;
    assert_eq!(status, 400);
    let detail = p["detail"].as_str().unwrap();
    assert_eq!(detail.matches("JSON").count(), 1, "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_the_profiles_without_a_usable_key() {
    // a key-set URL where nothing listens: the profile can never verify
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/jwks.json", closed.local_addr().unwrap());
    drop(closed);
    let svc = Service::start(config(Some(json!({
        "down": {"issuer": "https://down.example/", "audiences": ["a"], "jwks_uri": dead},
        "inline": {"issuer": "https://i.example/", "audiences": ["a"], "allowed_algs": ["ES256"],
                   "public_key": crate::support::es256_pem()},
    }))))
    .await;
    let mut last = (0, String::new());
    for _ in 0..100 {
        let (status, _, body) = svc.get("/readyz").await;
        last = (status, body);
        let v: Value = serde_json::from_str(&last.1).unwrap();
        if v["not_ready"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("connect") || r.contains("refused"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, body) = last;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    let not_ready = v["not_ready"].as_array().unwrap();
    assert_eq!(not_ready.len(), 1, "{v}");
    assert_eq!(not_ready[0]["profile"], "down");
    assert_eq!(not_ready[0]["source"], "jwks_uri");
    assert_eq!(not_ready[0]["url"], dead);
    assert_eq!(not_ready[0]["usable"], false);
    // /v1/status and the page map every profile to its keys
    let (_, _, status) = svc.get("/v1/status").await;
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["ready"], false);
    let keys = status["profile_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1]["profile"], "inline");
    assert_eq!(keys[1]["source"], "inline");
    assert_eq!(keys[1]["usable"], true);
    let (_, _, page) = svc.get("/status").await;
    assert!(page.contains("<code>down</code>"), "{page}");
    assert!(page.contains("no usable key"), "{page}");
    assert!(page.contains(&dead), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_tokens_pass_the_demo_profile_and_fail_as_asked() {
    let svc = demo_service().await;
    let (status, _, minted) = svc.post("/v1/demo/token", "{}").await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(minted["issuer_profile_id"], "demo");
    let (_, _, v) = svc
        .validate(json!({"token": minted["token"], "issuer_profile_id": "demo"}))
        .await;
    assert_eq!(v["valid"], true, "{v}");
    // the demo issuer is trusted by the demo profile only
    let (_, _, v) = svc
        .validate(json!({"token": minted["token"], "issuer_profile_id": "p"}))
        .await;
    assert_eq!(v["valid"], false, "{v}");
    let (_, _, minted) = svc
        .post(
            "/v1/demo/token",
            json!({"expires_in": -60, "scope": "write:x"}).to_string(),
        )
        .await;
    let (_, _, v) = svc
        .validate(json!({"token": minted["token"], "issuer_profile_id": "demo"}))
        .await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["findings"][0]["code"], "TOKEN_EXPIRED", "{v}");
    // without --demo there is no such endpoint, and the document does not list it
    let plain = Service::start(config(None)).await;
    let (status, _, _) = plain.post("/v1/demo/token", "{}").await;
    assert_eq!(status, 404);
    let (_, _, body) = plain.get("/openapi.json").await;
    assert!(!body.contains("/v1/demo/token"));
}

//! GET /v1/authz over real HTTP: RFC 6750 answers and identity headers.

use serde_json::{Value, json};

use crate::support::*;

async fn authz(
    svc: &Service,
    method: reqwest::Method,
    path: &str,
    auth: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = svc.client.request(method, format!("{}{path}", svc.url));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn challenge(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_answers() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let mut with_scope = seed_policy(&iss);
    with_scope["required_scopes"] = json!(["read:messages"]);
    let svc = Service::start(config(Some(
        json!({"api": seed_policy(&iss), "reader": with_scope}),
    )))
    .await;
    let get = reqwest::Method::GET;
    let good = rsa_token(claims(&iss));

    // valid: 200 with identity headers for the gateway
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=api",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["x-auth-subject"], "auth0|u1");
    assert_eq!(h["x-auth-scopes"], "openid read:messages");
    assert_eq!(h["x-auth-issuer"], iss.as_str());
    let forwarded: Value = serde_json::from_slice(
        &jwtshield_core::b64::decode(h["x-auth-claims"].to_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(forwarded["sub"], "auth0|u1");
    assert!(h.get("www-authenticate").is_none());

    // the profile in a header, any method, any path under /v1/authz/ (Envoy)
    for (m, path) in [
        (reqwest::Method::POST, "/v1/authz"),
        (reqwest::Method::DELETE, "/v1/authz/api/private/items/7"),
    ] {
        let r = authz(
            &svc,
            m,
            path,
            Some(&format!("Bearer {good}")),
            &[("x-jwtshield-profile", "api")],
        )
        .await;
        assert_eq!(r.status(), 200, "{path}");
    }

    // no token: 401 without an error code
    for auth in [None, Some("Basic dXNlcjpwYXNz")] {
        let r = authz(&svc, get.clone(), "/v1/authz?profile=api", auth, &[]).await;
        assert_eq!(r.status(), 401);
        assert_eq!(challenge(&r), "Bearer realm=\"jwtshield\"");
    }
    // malformed credentials: 400 invalid_request
    for auth in ["Bearer", "Bearer a b", "Bearer \"quoted\""] {
        let r = authz(&svc, get.clone(), "/v1/authz?profile=api", Some(auth), &[]).await;
        assert_eq!(r.status(), 400, "{auth}");
        assert!(challenge(&r).contains("error=\"invalid_request\""));
    }
    // bad tokens: 401 invalid_token naming the failed check
    let expired = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "x", "aud": "https://api.acme.com/", "exp": now() - 3600}),
    );
    let wrong_aud = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "x", "aud": "https://other/", "exp": now() + 600}),
    );
    let none = jwtshield_testkit::alg_none(&good);
    let mut admin = claims(&iss);
    admin["sub"] = json!("auth0|admin");
    let tampered = jwtshield_testkit::tampered(&good, &admin);
    for (t, check) in [
        (&expired, "expiry"),
        (&wrong_aud, "audience"),
        (&none, "algorithm"),
        (&tampered, "signature"),
    ] {
        let r = authz(
            &svc,
            get.clone(),
            "/v1/authz?profile=api",
            Some(&format!("Bearer {t}")),
            &[],
        )
        .await;
        assert_eq!(r.status(), 401, "{check}");
        let c = challenge(&r);
        assert!(
            c.starts_with(
                "Bearer realm=\"jwtshield\", error=\"invalid_token\", error_description=\""
            ),
            "{c}"
        );
        assert!(c.contains(check), "{check}: {c}");
        // the body says no more than the challenge: no findings, no claims
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["error", "error_description"]
        );
    }
    // scopes: the profile's, or extra ones asked by the gateway location
    let no_scope = rsa_token(
        json!({"iss": iss, "sub": "s", "scope": "openid", "aud": "https://api.acme.com/", "exp": now() + 600}),
    );
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=reader",
        Some(&format!("Bearer {no_scope}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        challenge(&r).contains("error=\"insufficient_scope\"")
            && challenge(&r).contains("scope=\"read:messages\""),
        "{}",
        challenge(&r)
    );
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=api&scope=admin:read",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(challenge(&r).contains("scope=\"admin:read\""));
    // profile problems
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz?profile=nope",
        Some(&format!("Bearer {good}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // decisions are counted
    let (_, _, metrics) = svc.get("/metrics").await;
    assert!(metrics.contains("jwtshield_authz_decisions_total{status=\"401\"}"));
    assert!(
        metrics.contains("jwtshield_validations_total{endpoint=\"authz\",outcome=\"invalid\"}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_keys_are_503_never_200() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let iss = format!("http://{dead}/");
    let svc = Service::start(config(Some(json!({"api": seed_policy(&iss)})))).await;
    let token = rsa_token(claims(&iss));
    let r = authz(
        &svc,
        reqwest::Method::GET,
        "/v1/authz?profile=api",
        Some(&format!("Bearer {token}")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
}

/// A gateway request that names no profile: the token's `iss` picks it, through a map
/// built at load; a profile may accept several issuers; an unknown or shared issuer is
/// refused without listing any configured one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tokens_issuer_chooses_the_profile() {
    let a = jwks_server(rsa_jwks(), false).await;
    let b = jwks_server(rsa_jwks(), false).await;
    let (iss_a, iss_b) = (a.issuer(), b.issuer());
    // profile a accepts its issuer and a custom-domain alias sharing its key set
    let alias = "https://login.tenant-a.example/".to_owned();
    let mut pa = seed_policy(&iss_a);
    pa["issuer"] = json!([iss_a, alias]);
    pa["jwks_uri"] = json!(a.jwks_uri());
    let mut pb = seed_policy(&iss_b);
    pb["audiences"] = json!(["https://b.example/"]);
    let shared = "https://shared.example/";
    let mut profiles =
        json!({"a": pa, "b": pb, "c-read": seed_policy(shared), "c-write": seed_policy(shared)});
    // 1,000 more issuers, each its own profile (inline key: nothing fetched)
    for i in 0..1000 {
        let mut p = seed_policy(&format!("https://tenant-{i}.example/"));
        p["jwks"] = rsa_jwks();
        profiles[format!("t{i}")] = p;
    }
    let svc = Service::start(config(Some(profiles))).await;
    let get = reqwest::Method::GET;
    let bearer = |t: String| format!("Bearer {t}");

    for (iss, want) in [
        (iss_a.as_str(), "a"),
        (alias.as_str(), "a"),
        ("https://tenant-999.example/", "t999"),
    ] {
        let r = authz(
            &svc,
            get.clone(),
            "/v1/authz",
            Some(&bearer(rsa_token(claims(iss)))),
            &[],
        )
        .await;
        assert_eq!(r.status(), 200, "{iss} -> {want}: {}", challenge(&r));
        assert_eq!(r.headers()["x-auth-issuer"], iss);
    }
    // b's own audience: chosen by its issuer, then checked by its policy
    let mut cb = claims(&iss_b);
    cb["aud"] = json!("https://b.example/");
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some(&bearer(rsa_token(cb))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200, "{}", challenge(&r));
    // a's audience in a token from b: b's policy refuses it
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some(&bearer(rsa_token(claims(&iss_b)))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(challenge(&r).contains("audience"), "{}", challenge(&r));

    // unknown issuer: 401 naming the code, and no configured issuer
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some(&bearer(rsa_token(claims("https://evil.example/")))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 401);
    let c = challenge(&r);
    assert!(
        c.contains("error=\"invalid_token\"") && c.contains("ISSUER_UNKNOWN"),
        "{c}"
    );
    let body = r.text().await.unwrap();
    for secret in [iss_a.as_str(), iss_b.as_str(), shared, "tenant-"] {
        assert!(
            !c.contains(secret) && !body.contains(secret),
            "{secret} leaked: {c} {body}"
        );
    }
    // shared by two profiles: the request must name one
    let shared_token = bearer(rsa_token(claims(shared)));
    let r = authz(&svc, get.clone(), "/v1/authz", Some(&shared_token), &[]).await;
    assert_eq!(r.status(), 400);
    assert!(challenge(&r).contains("invalid_request"));
    // no token: the plain challenge; an opaque token or one without iss: invalid_token
    let r = authz(&svc, get.clone(), "/v1/authz", None, &[]).await;
    assert_eq!(
        (r.status().as_u16(), challenge(&r)),
        (401, "Bearer realm=\"jwtshield\"".to_owned())
    );
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some("Bearer opaque-token-value"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(challenge(&r).contains("TOKEN_OPAQUE"), "{}", challenge(&r));
    let mut no_iss = claims(&iss_a);
    no_iss.as_object_mut().unwrap().remove("iss");
    let r = authz(
        &svc,
        get.clone(),
        "/v1/authz",
        Some(&bearer(rsa_token(no_iss))),
        &[],
    )
    .await;
    assert!(
        challenge(&r).contains("ISSUER_MISSING"),
        "{}",
        challenge(&r)
    );
    // naming a profile still wins over the issuer
    let r = authz(
        &svc,
        get,
        "/v1/authz?profile=b",
        Some(&bearer(rsa_token(claims(&iss_a)))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 401);
}

/// A profile's forward_claims become response headers on a 200: by claim name or JSON
/// Pointer, arrays joined, and a hostile value (CR LF, NUL) never sent; names that
/// could hijack a header are refused when the profile loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_forwarded_as_headers_safely() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let mut p = seed_policy(&iss);
    p["forward_claims"] = json!({
        "X-Tenant-Id": "https://acme.com/tenant_id", "X-Org-Id": "/org/id", "X-Roles": "roles",
        "X-Evil": "evil", "X-Nul": "nul", "X-Missing": "nope"
    });
    let svc = Service::start(config(Some(json!({"api": p})))).await;
    let mut c = claims(&iss);
    c["https://acme.com/tenant_id"] = json!("t-42");
    c["org"] = json!({"id": 7});
    c["roles"] = json!(["admin", "ops"]);
    c["evil"] = json!("x\r\nSet-Cookie: pwn=1");
    c["nul"] = json!("a\u{0}b");
    let r = authz(
        &svc,
        reqwest::Method::GET,
        "/v1/authz?profile=api",
        Some(&format!("Bearer {}", rsa_token(c))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200, "{}", challenge(&r));
    let h = r.headers();
    assert_eq!(h["x-tenant-id"], "t-42");
    assert_eq!(h["x-org-id"], "7");
    assert_eq!(h["x-roles"], "admin,ops");
    for absent in ["x-evil", "x-nul", "x-missing", "set-cookie"] {
        assert!(h.get(absent).is_none(), "{absent}: {:?}", h.get(absent));
    }

    // refused at load, naming the field
    for (name, want) in [
        ("Authorization", "forward_claims.Authorization"),
        ("X-Auth-Subject", "forward_claims.X-Auth-Subject"),
        ("Bad Name", "forward_claims.Bad Name"),
    ] {
        let mut bad = seed_policy(&iss);
        bad["forward_claims"] = json!({name: "sub"});
        let (status, _, v) = svc.validate(json!({"token": "t", "policy": bad})).await;
        assert_eq!(
            (status, v["field"].as_str()),
            (400, Some(format!("policy.{want}").as_str())),
            "{v}"
        );
    }
}

/// An Entra-style multi-tenant issuer template: allowed and refused tenants, a `tid`
/// that disagrees with `iss`, and routing by `iss` to the template's profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_template_accepts_its_tenants_only() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let base = format!("http://{}", jwks.addr);
    let template = format!("{base}/{{tenantid}}/v2.0");
    let mut p = seed_policy(&template);
    p["allowed_tenants"] = json!(["tenant-a", "tenant-b"]);
    p["jwks_uri"] = json!(jwks.jwks_uri());
    let mut any = p.clone();
    any["allowed_tenants"] = json!("any");
    let svc = Service::start(config(Some(json!({"entra": p})))).await;
    let token = |tenant: &str, tid: Option<&str>| {
        let mut c = claims(&format!("{base}/{tenant}/v2.0"));
        if let Some(t) = tid {
            c["tid"] = json!(t);
        }
        rsa_token(c)
    };
    let codes = finding_codes;
    let check = |t: String| svc.validate(json!({"token": t, "issuer_profile_id": "entra"}));
    let (_, _, v) = check(token("tenant-a", Some("tenant-a"))).await;
    assert_eq!(v["valid"], true, "{v}");
    let (_, _, v) = check(token("tenant-c", Some("tenant-c"))).await;
    assert_eq!(codes(&v), ["ISSUER_TENANT_NOT_ALLOWED"], "{v}");
    assert_eq!(v["findings"][0]["evidence"]["actual"], "tenant-c");
    let (_, _, v) = check(token("tenant-a", Some("tenant-b"))).await;
    assert_eq!(codes(&v), ["TENANT_MISMATCH"], "{v}");
    let (_, _, v) = check(token("tenant-a", None)).await;
    assert_eq!(codes(&v), ["TENANT_MISMATCH"], "{v}");
    // the template's shape: another path is not a tenant
    let mut odd = claims(&format!("{base}/tenant-a/extra/v2.0"));
    odd["tid"] = json!("tenant-a/extra");
    let (_, _, v) = check(rsa_token(odd)).await;
    assert!(codes(&v).contains(&"ISSUER_MISMATCH".to_owned()), "{v}");
    // "any" tenant, said explicitly, in an inline policy
    let (_, _, v) = svc
        .validate(json!({"token": token("tenant-z", Some("tenant-z")), "policy": any}))
        .await;
    assert_eq!(v["valid"], true, "{v}");
    // a template without allowed_tenants is refused, naming the field
    let mut bare = seed_policy(&template);
    bare["jwks_uri"] = json!(jwks.jwks_uri());
    let (status, _, v) = svc.validate(json!({"token": "t", "policy": bare})).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (400, Some("policy.allowed_tenants")),
        "{v}"
    );
    // gateway mode, no profile named: the template's profile is chosen by iss
    let r = authz(
        &svc,
        reqwest::Method::GET,
        "/v1/authz",
        Some(&format!("Bearer {}", token("tenant-b", Some("tenant-b")))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200, "{}", challenge(&r));
    let r = authz(
        &svc,
        reqwest::Method::GET,
        "/v1/authz",
        Some(&format!("Bearer {}", token("tenant-c", Some("tenant-c")))),
        &[],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(
        challenge(&r).contains("ISSUER_TENANT_NOT_ALLOWED"),
        "{}",
        challenge(&r)
    );
}

/// RFC 8705 certificate-bound tokens: `cnf.x5t#S256` against the client certificate the
/// gateway passes in the configured header, believed only from a trusted address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_bound_token_needs_its_certificate_from_a_trusted_gateway() {
    let jwks = jwks_server(rsa_jwks(), false).await;
    let iss = jwks.issuer();
    let cert = |name: &str| {
        rcgen::generate_simple_self_signed(vec![name.to_owned()])
            .unwrap()
            .cert
            .pem()
    };
    let (mine, other) = (cert("client-a"), cert("client-b"));
    let thumbprint = jwtshield_core::binding::thumbprint_of_header(&mine).unwrap();
    let mut bound = claims(&iss);
    bound["cnf"] = json!({"x5t#S256": thumbprint});
    let bound = format!("Bearer {}", rsa_token(bound));
    let plain = format!("Bearer {}", rsa_token(claims(&iss)));
    let escaped = |pem: &str| {
        percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let start = |trusted: &str| {
        let mut cfg = config(Some(json!({"api": seed_policy(&iss)})));
        cfg.client_cert = Some(jwtshield_server::config::ClientCert {
            header: axum::http::HeaderName::from_static("x-client-cert"),
            trusted: vec![trusted.parse().unwrap()],
        });
        Service::start(cfg)
    };
    let svc = start("127.0.0.0/8").await;
    let get = reqwest::Method::GET;
    let path = "/v1/authz?profile=api";
    // nginx's $ssl_client_escaped_cert: the PEM URL-encoded
    let r = authz(
        &svc,
        get.clone(),
        path,
        Some(&bound),
        &[("x-client-cert", &escaped(&mine))],
    )
    .await;
    assert_eq!(r.status(), 200, "{}", challenge(&r));
    let r = authz(
        &svc,
        get.clone(),
        path,
        Some(&bound),
        &[("x-client-cert", &escaped(&other))],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(
        challenge(&r).contains("CERTIFICATE_MISMATCH"),
        "{}",
        challenge(&r)
    );
    let r = authz(&svc, get.clone(), path, Some(&bound), &[]).await;
    assert_eq!(r.status(), 401);
    assert!(
        challenge(&r).contains("CERTIFICATE_MISSING"),
        "{}",
        challenge(&r)
    );
    let r = authz(
        &svc,
        get.clone(),
        path,
        Some(&bound),
        &[("x-client-cert", "garbage")],
    )
    .await;
    assert_eq!(r.status(), 400, "{}", challenge(&r));
    // an unbound token needs no certificate
    let r = authz(&svc, get.clone(), path, Some(&plain), &[]).await;
    assert_eq!(r.status(), 200, "{}", challenge(&r));

    // the header from an address that is not a trusted gateway is ignored
    let untrusting = start("10.0.0.0/8").await;
    let r = authz(
        &untrusting,
        get,
        path,
        Some(&bound),
        &[("x-client-cert", &escaped(&mine))],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(
        challenge(&r).contains("CERTIFICATE_MISSING"),
        "{}",
        challenge(&r)
    );
}

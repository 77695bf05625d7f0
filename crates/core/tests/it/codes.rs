//! One row per finding code, with a fixed clock: the token or key set that provokes
//! it, and what the report must say (the code, its check's status, the verdict).

use std::collections::BTreeSet;

use jwtshield_core::{Code, CompiledPolicy, Freshness, KeyOrigin, KeySet, Severity, b64};
use serde_json::{Value, json};

use crate::support::*;

struct Row {
    code: &'static str,
    token: String,
    policy: CompiledPolicy,
    keys: Option<KeySet>,
    revocations: Option<jwtshield_core::revocation::RevocationSet>,
    valid: bool,
    check: &'static str,
    status: &'static str,
}

fn row(code: &'static str, token: String, check: &'static str, status: &'static str) -> Row {
    Row {
        code,
        token,
        policy: policy(json!({})),
        keys: None,
        revocations: None,
        valid: false,
        check,
        status,
    }
}

fn with_policy(mut r: Row, extra: Value) -> Row {
    r.policy = policy(extra);
    r
}

fn with_keys(mut r: Row, keys: KeySet) -> Row {
    r.keys = Some(keys);
    r
}

fn valid(mut r: Row) -> Row {
    r.valid = true;
    r
}

pub fn raw(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header),
        b64::encode(payload),
        b64::encode(sig)
    )
}

/// Signs raw header/payload text with the RSA test key.
pub fn signed_raw(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let sig = rsa().sign("RS256", input.as_bytes());
    format!("{input}.{}", b64::encode(sig))
}

fn good_claims_text() -> String {
    claims(json!({})).to_string()
}

fn rows() -> Vec<Row> {
    let k = rsa();
    let good = k.good(json!({}));
    let mut weak = jwks(&[rsa()]);
    weak["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty":"RSA","kid":"weak","n": b64::encode([0xc3u8; 128]),"e":"AQAB"}));
    let mut enc_use = k.jwk();
    enc_use["use"] = json!("enc");
    let mut stale = KeySet::from_jwks(&jwks(&[rsa()]), KeyOrigin::RemoteJwks, false).unwrap();
    stale.freshness = Freshness::Stale {
        url: "https://acme.auth0.com/.well-known/jwks.json".into(),
        expired_seconds_ago: 120,
        error: "HTTP 503".into(),
    };
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    let hdr = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    vec![
        row("TOKEN_EMPTY", String::new(), "format", "fail"),
        row("TOKEN_TOO_LARGE", "a".repeat(20_000), "format", "fail"),
        row(
            "TOKEN_BEARER_PREFIX",
            format!("Bearer {good}"),
            "format",
            "fail",
        ),
        row("TOKEN_WHITESPACE", format!(" {good}\n"), "format", "fail"),
        row(
            "TOKEN_OPAQUE",
            "8Zb1x3dKwQ-opaque_Auth0_token".into(),
            "format",
            "fail",
        ),
        row(
            "TOKEN_IS_JWE",
            format!(
                "{}.a.b.c.d",
                b64::encode(r#"{"alg":"dir","enc":"A256GCM"}"#)
            ),
            "format",
            "fail",
        ),
        row(
            "TOKEN_JSON_SERIALIZATION",
            r#"{"payload":"e30","signatures":[]}"#.into(),
            "format",
            "fail",
        ),
        row(
            "TOKEN_MALFORMED",
            good.rsplit_once('.').unwrap().0.to_owned(),
            "format",
            "fail",
        ),
        row("BASE64_INVALID", format!("{good}="), "format", "fail"),
        row("HEADER_INVALID", raw("[]", "{}", b"x"), "format", "fail"),
        row(
            "PAYLOAD_INVALID",
            signed_raw(hdr, "not json"),
            "format",
            "fail",
        ),
        row(
            "JSON_DUPLICATE_MEMBER",
            signed_raw(hdr, r#"{"sub":"a","sub":"admin"}"#),
            "format",
            "fail",
        ),
        row("JSON_TOO_DEEP", signed_raw(hdr, &deep), "format", "fail"),
        row(
            "CRIT_UNSUPPORTED",
            k.token(json!({"crit":["exp"],"exp":1}), claims(json!({}))),
            "format",
            "fail",
        ),
        row(
            "ZIP_UNSUPPORTED",
            k.token(json!({"zip":"DEF"}), claims(json!({}))),
            "format",
            "fail",
        ),
        row(
            "NESTED_JWT_UNSUPPORTED",
            k.token(json!({"cty":"JWT"}), claims(json!({}))),
            "format",
            "fail",
        ),
        row(
            "CTY_UNSUPPORTED",
            k.token(json!({"cty":"text/xml"}), claims(json!({}))),
            "format",
            "fail",
        ),
        row(
            "KID_INVALID",
            k.token(json!({"kid": 5}), claims(json!({}))),
            "format",
            "fail",
        ),
        row(
            "ALG_MISSING",
            signed_raw(r#"{"kid":"rsa-1"}"#, &good_claims_text()),
            "algorithm",
            "fail",
        ),
        row(
            "ALG_INVALID",
            signed_raw(r#"{"alg":["RS256"],"kid":"rsa-1"}"#, &good_claims_text()),
            "algorithm",
            "fail",
        ),
        row(
            "ALG_NONE",
            raw(r#"{"alg":"none"}"#, &good_claims_text(), b""),
            "algorithm",
            "fail",
        ),
        row(
            "ALG_NOT_ALLOWED",
            ec("P-256").good(json!({})),
            "algorithm",
            "fail",
        ),
        row(
            "SIGNATURE_MISSING",
            format!("{}.", good.rsplit_once('.').unwrap().0),
            "signature",
            "fail",
        ),
        with_policy(
            row(
                "SIGNATURE_MALFORMED",
                replace_part(&ec("P-256").good(json!({})), 2, &b64::encode([1u8; 63])),
                "signature",
                "fail",
            ),
            json!({"allowed_algs":["ES256"]}),
        ),
        // an issuer template: the tenant in iss must be allowed, and tid must name it
        with_policy(
            row(
                "ISSUER_TENANT_NOT_ALLOWED",
                k.good(json!({"iss": "https://login.example/other-tenant/v2.0", "tid": "other-tenant"})),
                "issuer",
                "fail",
            ),
            json!({"issuer": "https://login.example/{tenantid}/v2.0", "allowed_tenants": ["t1"]}),
        ),
        with_policy(
            row(
                "TENANT_MISMATCH",
                k.good(json!({"iss": "https://login.example/t1/v2.0", "tid": "t2"})),
                "issuer",
                "fail",
            ),
            json!({"issuer": "https://login.example/{tenantid}/v2.0", "allowed_tenants": "any"}),
        ),
        row(
            "SIGNATURE_INVALID",
            replace_part(
                &good,
                1,
                &b64::encode(claims(json!({"sub":"admin"})).to_string()),
            ),
            "signature",
            "fail",
        ),
        with_policy(
            row(
                "KEY_ALG_MISMATCH",
                k.token(json!({"kid":"ec-256"}), claims(json!({}))),
                "signature",
                "fail",
            ),
            json!({}),
        ),
        with_policy(
            row("KEY_USE_INVALID", good.clone(), "signature", "fail"),
            json!({"jwks": {"keys":[enc_use]}}),
        ),
        with_policy(
            row(
                "KEY_REJECTED",
                k.token(json!({"kid":"weak"}), claims(json!({}))),
                "signature",
                "fail",
            ),
            json!({"jwks": weak}),
        ),
        with_policy(
            row(
                "NO_USABLE_KEY",
                ed().token(json!({"kid": null}), claims(json!({}))),
                "signature",
                "fail",
            ),
            json!({"allowed_algs":["EdDSA"], "jwks": jwks(&[rsa(), rsa2()])}),
        ),
        valid(row(
            "HEADER_KEY_IGNORED",
            k.token(
                json!({"jku":"https://evil.example/jwks.json"}),
                claims(json!({})),
            ),
            "signature",
            "pass",
        )),
        row(
            "KID_NOT_FOUND",
            k.token(json!({"kid":"rotated-away"}), claims(json!({}))),
            "key_freshness",
            "fail",
        ),
        with_keys(
            row("JWKS_UNREACHABLE", good.clone(), "key_freshness", "fail"),
            KeySet::unreachable(
                "https://acme.auth0.com/.well-known/jwks.json",
                "connection refused",
            ),
        ),
        with_keys(
            valid(row("JWKS_STALE", good.clone(), "key_freshness", "pass")),
            stale,
        ),
        with_keys(
            row("JWKS_REFUSED", good.clone(), "key_freshness", "fail"),
            KeySet::empty().with_freshness(Freshness::Refused {
                url: "https://127.0.0.1/jwks.json".into(),
                reason: "127.0.0.1 is a loopback address".into(),
            }),
        ),
        with_keys(
            row(
                "DISCOVERY_ISSUER_MISMATCH",
                good.clone(),
                "key_freshness",
                "fail",
            ),
            KeySet::empty().with_freshness(Freshness::DiscoveryMismatch {
                url: "https://acme.auth0.com/.well-known/openid-configuration".into(),
                expected: ISS.into(),
                actual: "https://evil.example/".into(),
            }),
        ),
        row(
            "ISSUER_MISSING",
            k.good(json!({"iss": null})),
            "issuer",
            "fail",
        ),
        row(
            "ISSUER_INVALID",
            k.good(json!({"iss": 5})),
            "issuer",
            "fail",
        ),
        row(
            "ISSUER_MISMATCH",
            k.good(json!({"iss": "https://login.example.org/"})),
            "issuer",
            "fail",
        ),
        row(
            "ISSUER_TRAILING_SLASH",
            k.good(json!({"iss": "https://acme.auth0.com"})),
            "issuer",
            "fail",
        ),
        row(
            "ISSUER_CASE_DIFFERS",
            k.good(json!({"iss": "https://Acme.auth0.com/"})),
            "issuer",
            "fail",
        ),
        row(
            "ISSUER_SCHEME_DIFFERS",
            k.good(json!({"iss": "http://acme.auth0.com/"})),
            "issuer",
            "fail",
        ),
        row(
            "ISSUER_OTHER_TENANT",
            k.good(json!({"iss": "https://acme-dev.auth0.com/"})),
            "issuer",
            "fail",
        ),
        row(
            "AUDIENCE_MISSING",
            k.good(json!({"aud": null})),
            "audience",
            "fail",
        ),
        row(
            "AUDIENCE_INVALID",
            k.good(json!({"aud": ["https://api.acme.com/", 1]})),
            "audience",
            "fail",
        ),
        row(
            "AUDIENCE_MISMATCH",
            k.good(json!({"aud": "https://other.example/"})),
            "audience",
            "fail",
        ),
        row(
            "AUDIENCE_LOOKS_LIKE_CLIENT_ID",
            k.good(json!({"aud": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K"})),
            "audience",
            "fail",
        ),
        row(
            "AUDIENCE_TRAILING_SLASH",
            k.good(json!({"aud": "https://api.acme.com"})),
            "audience",
            "fail",
        ),
        row(
            "AUDIENCE_MANAGEMENT_API",
            k.good(json!({"aud": "https://acme.auth0.com/api/v2/"})),
            "audience",
            "fail",
        ),
        row(
            "EXPIRY_MISSING",
            k.good(json!({"exp": null})),
            "expiry",
            "fail",
        ),
        row(
            "EXPIRY_INVALID",
            k.good(json!({"exp": "1700003600"})),
            "expiry",
            "fail",
        ),
        row(
            "TOKEN_EXPIRED",
            k.good(json!({"exp": NOW - 3600})),
            "expiry",
            "fail",
        ),
        row(
            "NOT_BEFORE_INVALID",
            k.good(json!({"nbf": true})),
            "not_before",
            "fail",
        ),
        row(
            "TOKEN_NOT_YET_VALID",
            k.good(json!({"nbf": NOW + 600})),
            "not_before",
            "fail",
        ),
        row(
            "ISSUED_AT_INVALID",
            k.good(json!({"iat": [1]})),
            "issued_at",
            "fail",
        ),
        row(
            "ISSUED_IN_FUTURE",
            k.good(json!({"iat": NOW + 600})),
            "issued_at",
            "fail",
        ),
        with_policy(
            row(
                "MAX_TTL_EXCEEDED",
                k.good(json!({"exp": NOW + 200_000})),
                "max_ttl",
                "fail",
            ),
            json!({"max_ttl_seconds": 86400}),
        ),
        with_policy(
            row(
                "CLAIM_MISSING",
                k.good(json!({"scope": null})),
                "required_claims",
                "fail",
            ),
            json!({"required_claims":["sub","scope"]}),
        ),
        with_policy(
            row(
                "CLAIM_INVALID_TYPE",
                k.good(json!({"sub": 42})),
                "required_claims",
                "fail",
            ),
            json!({"required_claims":["sub"]}),
        ),
        with_policy(
            row(
                "CLAIM_VALUE_MISMATCH",
                k.good(json!({"https://acme.com/tenant_id": "acme-dev"})),
                "required_claims",
                "fail",
            ),
            json!({"required_custom_claims": {"https://acme.com/tenant_id": "acme-prod"}}),
        ),
        with_policy(
            row("SCOPE_MISSING", k.good(json!({})), "scopes", "fail"),
            json!({"required_scopes":["write:billing"]}),
        ),
        with_policy(
            row(
                "TOKEN_TYPE_MISMATCH",
                k.good(json!({})),
                "token_type",
                "fail",
            ),
            json!({"token_type":"at+jwt"}),
        ),
        valid(row(
            "ID_TOKEN_SUSPECTED",
            k.good(json!({"nonce":"abc","at_hash":"xyz"})),
            "token_type",
            "pass",
        )),
        Row {
            revocations: Some(jwtshield_core::revocation::RevocationSet::new(
                [jwtshield_core::revocation::Rule {
                    id: "r1".into(),
                    issuer: ISS.into(),
                    target: jwtshield_core::revocation::Target::Jti {
                        jti: "leaked".into(),
                    },
                    reason: Some("stolen laptop".into()),
                    created_at: NOW - 10,
                    expires_at: NOW + 3600,
                }],
                NOW,
            )),
            ..row(
                "TOKEN_REVOKED",
                k.good(json!({"jti": "leaked"})),
                "revocation",
                "fail",
            )
        },
    ]
}

#[test]
fn every_code_has_a_row_and_every_row_holds() {
    let rows = rows();
    let covered: BTreeSet<&str> = rows.iter().map(|r| r.code).collect();
    // ISSUER_UNKNOWN is the gateway's refusal when no profile accepts a token's iss (no
    // policy, so no validate()); crates/server/tests/it/authz.rs provokes it. The DPOP_
    // codes come from the DPoP check after validate(): tests/it/dpop.rs has each one;
    // the introspection codes from validate_introspected(): tests/it/introspection.rs
    let all: BTreeSet<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| *c != "ISSUER_UNKNOWN" && !c.starts_with("DPOP_"))
        .filter(|c| {
            !matches!(
                *c,
                "TOKEN_INACTIVE" | "INTROSPECTION_UNREACHABLE" | "INTROSPECTION_INVALID"
            )
        })
        .collect();
    assert_eq!(covered, all, "codes without a row (or rows without a code)");
    let mut failures = Vec::new();
    for r in &rows {
        let report = match (&r.keys, &r.revocations) {
            (Some(keys), _) => jwtshield_core::validate(&parse(&r.token), keys, &r.policy, NOW),
            (None, Some(rules)) => jwtshield_core::validate_with(
                &parse(&r.token),
                r.policy.inline_keys().unwrap(),
                &r.policy,
                NOW,
                jwtshield_core::Extras {
                    signature_cache: None,
                    revocations: Some(rules),
                },
            ),
            (None, None) => check(&r.token, &r.policy),
        };
        let found = report.findings().iter().find(|f| f.code.as_str() == r.code);
        let problems = [
            (
                found.is_none(),
                format!("missing; got {:?}", codes(&report)),
            ),
            (
                report.valid() != r.valid,
                format!(
                    "valid={} expected {}; {:?}",
                    report.valid(),
                    r.valid,
                    codes(&report)
                ),
            ),
            (
                status(&report, r.check) != Some(r.status),
                format!(
                    "{} is {:?}, expected {}",
                    r.check,
                    status(&report, r.check),
                    r.status
                ),
            ),
            (
                found.is_some_and(|f| f.check.as_str() != r.check),
                format!("finding's check is {:?}", found.map(|f| f.check.as_str())),
            ),
        ];
        for (bad, why) in problems {
            if bad {
                failures.push(format!("{}: {why}", r.code));
            }
        }
        // the hand-written response writer says exactly what serde says
        let mut fast = Vec::new();
        report.write_json(&mut fast).unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            serde_json::to_string(&report).unwrap(),
            "{}",
            r.code
        );
        // contract: the eight checks are always present
        for c in jwtshield_core::Check::EIGHT {
            assert!(report.checks().get(c).is_some(), "{}: {c} absent", r.code);
        }
        // contract: valid exactly when no error finding
        assert_eq!(
            report.valid(),
            !report
                .findings()
                .iter()
                .any(|f| f.severity == Severity::Error)
        );
        if let Some(f) = found {
            assert!(
                f.evidence.get("expected").is_some() && f.evidence.get("actual").is_some(),
                "{}: evidence {}",
                r.code,
                f.evidence
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn good_token_passes_every_check_with_no_findings() {
    let p = policy(
        json!({"required_claims":["sub","scope"], "max_ttl_seconds": 86400, "required_scopes":["read:messages"]}),
    );
    let r = check(&rsa().good(json!({})), &p);
    assert!(r.valid(), "{:?}", codes(&r));
    assert!(r.findings().is_empty());
    let statuses: Vec<_> = r
        .checks()
        .iter()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("signature", "pass"),
            ("algorithm", "pass"),
            ("issuer", "pass"),
            ("audience", "pass"),
            ("expiry", "pass"),
            ("not_before", "pass"),
            ("required_claims", "pass"),
            ("key_freshness", "pass"),
            ("format", "pass"),
            ("max_ttl", "pass"),
            ("issued_at", "pass"),
            ("scopes", "pass"),
        ]
    );
    assert_eq!(r.key().unwrap().kid.as_deref(), Some("rsa-1"));
    let v = r.verified().unwrap();
    assert_eq!(v.subject(), Some("auth0|user-1"));
    assert_eq!(v.scopes(), ["openid", "read:messages"]);
}

#[test]
fn every_failure_is_reported_not_just_the_first() {
    let p = policy(json!({"required_claims":["scope"], "token_type": "at+jwt"}));
    let t = rsa().good(json!({"iss": "https://evil.auth0.com/", "aud": "x", "exp": NOW - 7200, "nbf": NOW + 7200, "scope": null}));
    let r = check(&t, &p);
    let c = codes(&r);
    for want in [
        "ISSUER_MISMATCH",
        "AUDIENCE_MISMATCH",
        "TOKEN_EXPIRED",
        "TOKEN_NOT_YET_VALID",
        "CLAIM_MISSING",
        "TOKEN_TYPE_MISMATCH",
    ] {
        assert!(c.contains(&want), "{want} missing from {c:?}");
    }
    assert_eq!(status(&r, "signature"), Some("pass"));
    assert!(r.verified().is_none());
}

#[test]
fn claim_findings_from_an_unverified_payload_say_so() {
    let good = rsa().good(json!({}));
    let forged = replace_part(
        &good,
        1,
        &b64::encode(claims(json!({"exp": NOW - 10_000, "aud": "x"})).to_string()),
    );
    let r = check(&forged, &policy(json!({})));
    assert_eq!(status(&r, "signature"), Some("fail"));
    let expired = r
        .findings()
        .iter()
        .find(|f| f.code == Code::TOKEN_EXPIRED)
        .unwrap();
    assert!(expired.unverified);
    assert!(expired.message.contains("unverified payload"));
    let sig = r
        .findings()
        .iter()
        .find(|f| f.code == Code::SIGNATURE_INVALID)
        .unwrap();
    assert!(!sig.unverified);
    // the serialized form carries the flag
    let json = serde_json::to_value(&r).unwrap();
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["unverified"] == true)
    );
    // claims stay visible for debugging, but the token is not valid
    assert_eq!(json["claims"]["aud"], "x");
    assert_eq!(json["valid"], false);
}

#[test]
fn clock_skew_boundaries() {
    let k = rsa();
    let p = policy(json!({"clock_skew_seconds": 60}));
    let cases = [
        (json!({"exp": NOW - 59}), true),
        (json!({"exp": NOW - 60}), false),
        (json!({"exp": NOW as f64 - 60.5}), false),
        (json!({"exp": NOW as f64 - 59.5}), true),
        (json!({"nbf": NOW + 60}), true),
        (json!({"nbf": NOW + 61}), false),
        (json!({"iat": NOW + 60}), true),
        (json!({"iat": NOW + 61}), false),
        (json!({"exp": 1.7e9 + 30.0}), true),
    ];
    for (extra, ok) in cases {
        let r = check(&k.good(extra.clone()), &p);
        assert_eq!(r.valid(), ok, "{extra}: {:?}", codes(&r));
    }
    let zero = policy(json!({"clock_skew_seconds": 0}));
    assert!(!check(&k.good(json!({"exp": NOW})), &zero).valid());
    assert!(check(&k.good(json!({"exp": NOW + 1})), &zero).valid());
}

#[test]
fn max_ttl_without_iat_bounds_the_remaining_life() {
    let p = policy(json!({"max_ttl_seconds": 3600}));
    let r = check(&rsa().good(json!({"iat": null, "exp": NOW + 7200})), &p);
    let f = r
        .findings()
        .iter()
        .find(|f| f.code == Code::MAX_TTL_EXCEEDED)
        .unwrap();
    assert_eq!(f.evidence["basis"], "exp - now");
    assert!(check(&rsa().good(json!({"iat": null, "exp": NOW + 3000})), &p).valid());
}

#[test]
fn evidence_carries_the_offending_values() {
    let r = check(
        &rsa().good(json!({"aud": "https://other.example/"})),
        &policy(json!({})),
    );
    let f = &r.findings()[0];
    assert_eq!(f.code, Code::AUDIENCE_MISMATCH);
    assert_eq!(f.evidence["expected"], json!([AUD]));
    assert_eq!(f.evidence["actual"], "https://other.example/");
    let r = check(&rsa().good(json!({"exp": NOW - 3600})), &policy(json!({})));
    let f = &r.findings()[0];
    assert_eq!(f.evidence["actual"], NOW - 3600);
    assert_eq!(f.evidence["expired_seconds_ago"], 3600);
    assert_eq!(f.evidence["exp_utc"], "2023-11-14T21:13:20Z");
    assert!(f.message.contains("expired 1h 0m ago"), "{}", f.message);
}

#[test]
fn issuer_hints_come_with_the_error() {
    let r = check(
        &rsa().good(json!({"iss": "https://acme.auth0.com"})),
        &policy(json!({})),
    );
    assert_eq!(codes(&r), ["ISSUER_MISMATCH", "ISSUER_TRAILING_SLASH"]);
    assert_eq!(r.findings()[1].severity, Severity::Info);
    let r = check(
        &rsa().good(json!({"aud": "https://acme.auth0.com/userinfo"})),
        &policy(json!({})),
    );
    assert!(
        r.findings()[0]
            .message
            .contains("Auth0's `audience` parameter; RFC 8707's `resource`"),
        "{}",
        r.findings()[0].message
    );
}

#[test]
fn custom_claim_rules_and_nested_names() {
    let p = policy(json!({"required_custom_claims": {
        "https://acme.com/roles": "admin",
        "org.tier": {"one_of": ["gold", "platinum"]},
        "sid": {"present": true},
        "sub": {"prefix": "auth0|"}
    }}));
    let ok = rsa().good(
        json!({"https://acme.com/roles": ["reader", "admin"], "org": {"tier": "gold"}, "sid": "s"}),
    );
    assert!(check(&ok, &p).valid(), "{:?}", codes(&check(&ok, &p)));
    let bad = rsa().good(
        json!({"https://acme.com/roles": ["reader"], "org": {"tier": "free"}, "sub": "google|1"}),
    );
    let r = check(&bad, &p);
    assert_eq!(
        codes(&r),
        [
            "CLAIM_VALUE_MISMATCH",
            "CLAIM_VALUE_MISMATCH",
            "CLAIM_MISSING",
            "CLAIM_VALUE_MISMATCH"
        ]
    );
}

#[test]
fn audience_claim_for_providers_without_aud() {
    let p = policy(json!({"audiences": ["app-client-1"], "audience_claim": "client_id"}));
    assert!(
        check(
            &rsa().good(json!({"aud": null, "client_id": "app-client-1"})),
            &p
        )
        .valid()
    );
    let r = check(&rsa().good(json!({"aud": null, "client_id": "other"})), &p);
    assert_eq!(codes(&r), ["AUDIENCE_MISMATCH"]);
    assert!(r.findings()[0].message.starts_with("client_id"));
}

#[test]
fn typ_comparison_is_case_insensitive_without_application_prefix() {
    let p = policy(json!({"token_type": "at+jwt"}));
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+JWT",
    ] {
        assert!(
            check(&rsa().token(json!({"typ": typ}), claims(json!({}))), &p).valid(),
            "{typ}"
        );
    }
    for typ in [json!("JWT"), json!("at+jwt; charset=x"), json!(5)] {
        assert!(
            !check(&rsa().token(json!({"typ": typ}), claims(json!({}))), &p).valid(),
            "{typ}"
        );
    }
}

#[test]
fn report_serializes_to_the_contract_shape() {
    let r = check(
        &rsa().good(json!({"aud": "https://other.example/"})),
        &policy(json!({})),
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["findings"][0]["check"], "audience");
    assert_eq!(v["findings"][0]["code"], "AUDIENCE_MISMATCH");
    assert_eq!(v["findings"][0]["severity"], "error");
    assert_eq!(v["checks"]["audience"], "fail");
    assert_eq!(v["checks"]["signature"], "pass");
    assert_eq!(v["header"]["kid"], "rsa-1");
    assert_eq!(v["claims"]["iss"], ISS);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["valid", "findings", "checks", "header", "claims", "key"]
    );
    assert_eq!(
        v["key"],
        json!({"kid": "rsa-1", "kty": "RSA", "alg": "RS256", "origin": "inline_jwks"})
    );
}

#[test]
fn decoded_parts_are_echoed_as_received() {
    // a payload with whitespace and escapes: the response carries the same JSON
    let t = signed_raw(
        "{\"alg\":\"RS256\", \"kid\":\"rsa-1\"}\n",
        &format!(
            " {{\n  \"iss\": \"{ISS}\",\n  \"aud\": \"{AUD}\", \"sub\": \"a\\u0062\",\n  \"exp\": {} }}\t",
            NOW + 60
        ),
    );
    let r = check(&t, &policy(json!({})));
    assert!(r.valid(), "{:?}", codes(&r));
    let mut fast = Vec::new();
    r.write_json(&mut fast).unwrap();
    assert_eq!(fast, serde_json::to_vec(&r).unwrap());
    let v: Value = serde_json::from_slice(&fast).unwrap();
    assert_eq!(v["claims"]["sub"], "ab");
    assert_eq!(v["header"]["kid"], "rsa-1");
}

#[test]
fn an_id_token_is_recognised_by_its_shape_when_the_audience_fails() {
    // no nonce or at_hash, and a client id too short for the client-id heuristic:
    // aud equals azp, auth_time, no scope, typ not at+jwt
    let id = rsa()
        .good(json!({"aud": "web-app", "azp": "web-app", "auth_time": NOW - 100, "scope": null}));
    let r = check(&id, &policy(json!({})));
    assert_eq!(codes(&r), ["AUDIENCE_MISMATCH", "ID_TOKEN_SUSPECTED"]);
    let hint = &r.findings()[1];
    assert_eq!(hint.severity, Severity::Warning);
    assert!(hint.message.contains("RFC 8707"), "{}", hint.message);
    // evidence holds the values found, never descriptions
    assert_eq!(hint.evidence["actual"]["aud_equals_azp"], "web-app");
    assert_eq!(hint.evidence["actual"]["auth_time"], NOW - 100);
    assert_eq!(hint.evidence["actual"]["scope"], Value::Null);
    assert_eq!(hint.evidence["expected"]["typ"], "at+jwt");
    // an access token for another API (scope, azp differs from aud) is not called one
    let other = rsa().good(json!({"aud": "https://other.example/", "auth_time": NOW - 100}));
    assert_eq!(
        codes(&check(&other, &policy(json!({})))),
        ["AUDIENCE_MISMATCH"]
    );
    // and a matching audience never triggers the shape hint
    let fine = rsa().good(json!({"auth_time": NOW - 100, "scope": null}));
    assert!(check(&fine, &policy(json!({}))).valid());
}

#[test]
fn the_opaque_token_finding_names_the_standard_fix_and_auth0s() {
    let r = check("AbCdEf0123456789opaque", &policy(json!({})));
    assert_eq!(codes(&r), ["TOKEN_OPAQUE"]);
    let m = &r.findings()[0].message;
    assert!(
        m.contains("`resource=<your API identifier>` parameter (RFC 8707)"),
        "{m}"
    );
    assert!(
        m.contains("Auth0's `audience=<your API identifier>`"),
        "{m}"
    );
}

//! Every attack of `shared/guide/attacks.md` §1 that applies to a single token, shown
//! rejected by the right check. Test names carry the catalog id (JV-nn).

use jwtshield_core::{Code, KeyOrigin, KeySet, b64};
use serde_json::{Value, json};

use crate::codes::{raw, signed_raw};
use crate::support::*;

fn assert_rejected_by(token: &str, p: &jwtshield_core::CompiledPolicy, code: &str, check_id: &str) {
    let r = check(token, p);
    assert!(!r.valid(), "accepted: {code}");
    let f = r
        .findings()
        .iter()
        .find(|f| f.code.as_str() == code)
        .unwrap_or_else(|| panic!("expected {code}, got {:?}", codes(&r)));
    assert_eq!(f.check.as_str(), check_id, "{code}");
    assert_eq!(
        status(&r, check_id),
        Some("fail"),
        "{code}: {check_id} not failed"
    );
    assert!(r.verified().is_none());
}

fn default_policy() -> jwtshield_core::CompiledPolicy {
    policy(json!({}))
}

fn body() -> String {
    claims(json!({})).to_string()
}

#[test]
fn jv01_03_alg_none_with_and_without_signature() {
    let p = default_policy();
    assert_rejected_by(
        &raw(r#"{"alg":"none"}"#, &body(), b""),
        &p,
        "ALG_NONE",
        "algorithm",
    );
    let with_sig = replace_part(
        &rsa().good(json!({})),
        0,
        &b64::encode(r#"{"alg":"none","kid":"rsa-1"}"#),
    );
    assert_rejected_by(&with_sig, &p, "ALG_NONE", "algorithm");
    // even a policy for HS256 with a secret never treats none as acceptable
    let hs = policy(json!({"allowed_algs": ["HS256"], "jwks": null, "secret": SECRET}));
    assert_rejected_by(
        &raw(r#"{"alg":"none"}"#, &body(), b""),
        &hs,
        "ALG_NONE",
        "algorithm",
    );
}

#[test]
fn jv02_none_case_variants() {
    for alg in ["None", "NONE", "nOnE", "noNE", " none"] {
        let t = raw(&json!({"alg": alg}).to_string(), &body(), b"");
        assert_rejected_by(&t, &default_policy(), "ALG_NONE", "algorithm");
    }
}

#[test]
fn jv04_alg_edge_values() {
    let p = default_policy();
    let cases: [(Value, &str); 8] = [
        (json!(""), "ALG_NOT_ALLOWED"),
        (json!(null), "ALG_INVALID"),
        (json!(" RS256 "), "ALG_NOT_ALLOWED"),
        (json!("\tRS256"), "ALG_NOT_ALLOWED"),
        (json!("rs256"), "ALG_NOT_ALLOWED"),
        (json!("RS256\u{0}"), "ALG_NOT_ALLOWED"),
        (json!(["none", "RS256"]), "ALG_INVALID"),
        (json!(["RS256"]), "ALG_INVALID"),
    ];
    for (alg, code) in cases {
        let t = signed_raw(&json!({"alg": alg, "kid": "rsa-1"}).to_string(), &body());
        assert_rejected_by(&t, &p, code, "algorithm");
    }
    let missing = signed_raw(r#"{"kid":"rsa-1"}"#, &body());
    assert_rejected_by(&missing, &p, "ALG_MISSING", "algorithm");
    let r = check(&signed_raw(r#"{"alg":"rs256","kid":"rsa-1"}"#, &body()), &p);
    assert!(
        r.findings()[0].message.contains("case-sensitive"),
        "{}",
        r.findings()[0].message
    );
}

#[test]
fn jv05_unsupported_or_unconfigured_alg() {
    let p = default_policy();
    for alg in ["HS1", "RS1", "ES256K", "ML-DSA-44", "EdDSA", "PS256"] {
        let t = signed_raw(&json!({"alg": alg, "kid": "rsa-1"}).to_string(), &body());
        assert_rejected_by(&t, &p, "ALG_NOT_ALLOWED", "algorithm");
    }
    // JV-78: a JWK without alg does not let the token choose beyond the allowlist
    let ps = rsa().token(json!({"alg": "PS256"}), claims(json!({})));
    assert_rejected_by(&ps, &p, "ALG_NOT_ALLOWED", "algorithm");
}

/// HMAC-signs `h.p` with `secret` under `alg`.
fn hmac_token(header: Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(body())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64::encode(tag.as_ref()))
}

#[test]
fn jv06_07_09_key_confusion_with_public_key_bytes() {
    let rsa_pem = rsa().pem();
    let ec_pem = ec("P-256").pem();
    let jwk_text = rsa().jwk().to_string();
    let der = spki::der::pem::decode_vec(rsa_pem.as_bytes()).unwrap().1;
    let secrets: Vec<Vec<u8>> = vec![
        rsa_pem.as_bytes().to_vec(),
        rsa_pem.trim_end().as_bytes().to_vec(),
        format!(" {rsa_pem}").into_bytes(),
        der,
        jwk_text.into_bytes(),
        ec_pem.into_bytes(),
    ];
    // policy expecting RS256: the HS256 token never reaches a key
    for s in &secrets {
        let t = hmac_token(json!({"alg": "HS256", "kid": "rsa-1"}), s);
        assert_rejected_by(&t, &default_policy(), "ALG_NOT_ALLOWED", "algorithm");
    }
    // a careless policy that allows HS256 next to RS256 with an inline JWKS: the RSA
    // (or EC) key named by kid is never an HMAC key
    let careless = policy(json!({"allowed_algs": ["RS256", "ES256", "HS256"]}));
    for (kid, s) in [
        ("rsa-1", &secrets[0]),
        ("rsa-1", &secrets[3]),
        ("ec-256", &secrets[5]),
    ] {
        let t = hmac_token(json!({"alg": "HS256", "kid": kid}), s);
        assert_rejected_by(&t, &careless, "KEY_ALG_MISMATCH", "signature");
    }
    // ... and without a kid there is no HMAC key at all
    let t = hmac_token(json!({"alg": "HS256"}), &secrets[0]);
    assert_rejected_by(&t, &careless, "NO_USABLE_KEY", "signature");
}

#[test]
fn jv10_11_12_cross_family_and_pinned_alg() {
    let mut pinned = rsa().jwk();
    pinned["alg"] = json!("PS256");
    let mut ec_pinned = ec("P-256").jwk();
    ec_pinned["alg"] = json!("ES256");
    let p = policy(
        json!({"allowed_algs": ["RS256", "PS256", "PS384", "ES256", "ES384"], "jwks": {"keys": [pinned, ec_pinned, ec("P-384").jwk()]}}),
    );
    for alg in ["RS256", "PS384"] {
        let t = rsa().token(json!({"alg": alg}), claims(json!({})));
        assert_rejected_by(&t, &p, "KEY_ALG_MISMATCH", "signature");
    }
    // ES256 header with the P-384 key (JV-12), ES384 header with the pinned P-256 key
    let t = ec("P-256").token(json!({"kid": "ec-384"}), claims(json!({})));
    assert_rejected_by(&t, &p, "KEY_ALG_MISMATCH", "signature");
    let t = ec("P-384").token(json!({"kid": "ec-256"}), claims(json!({})));
    assert_rejected_by(&t, &p, "KEY_ALG_MISMATCH", "signature");
    // HS256 -> HS512 with an oct key pinned to HS256
    let mut oct = hmac_key().jwk();
    oct["alg"] = json!("HS256");
    let hp = policy(json!({"allowed_algs": ["HS256", "HS512"], "jwks": {"keys": [oct]}}));
    let t = hmac_key().token(json!({"alg": "HS512"}), claims(json!({})));
    assert_rejected_by(&t, &hp, "KEY_ALG_MISMATCH", "signature");
}

#[test]
fn jv13_to_18_header_supplied_keys_never_choose_a_key() {
    let p = default_policy();
    let attacker = attacker_rsa();
    let headers = [
        json!({"jwk": attacker.jwk()}),
        json!({"jku": "https://evil.example/jwks.json"}),
        json!({"jku": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}),
        json!({"jku": "file:///etc/passwd"}),
        json!({"x5u": "gopher://127.0.0.1:6379/_INFO"}),
        json!({"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
        json!({"jwk": attacker.jwk(), "kid": null}),
    ];
    for h in headers {
        let t = attacker.token(h.clone(), claims(json!({})));
        let r = check(&t, &p);
        assert!(!r.valid(), "{h}");
        assert!(
            codes(&r).contains(&"SIGNATURE_INVALID"),
            "{h}: {:?}",
            codes(&r)
        );
        assert!(codes(&r).contains(&"HEADER_KEY_IGNORED"), "{h}");
        assert_eq!(status(&r, "signature"), Some("fail"));
    }
}

#[test]
fn jv20_to_23_kid_is_an_opaque_lookup_key() {
    let p = default_policy();
    for kid in [
        "../../../../../../dev/null",
        "/proc/sys/kernel/randomize_va_space",
        "x' UNION SELECT '1';--",
        "|sleep 10",
        "*",
    ] {
        let t = hmac_token(json!({"alg": "RS256", "kid": kid}), b"");
        assert_rejected_by(&t, &p, "KID_NOT_FOUND", "key_freshness");
    }
    for kid in [
        json!({"$ne": null}),
        json!(["a"]),
        json!(7),
        json!("key1\u{0}../x"),
        json!("a\r\nb"),
        json!("k".repeat(300)),
    ] {
        let t = rsa().token(json!({"kid": kid}), claims(json!({})));
        assert_rejected_by(&t, &p, "KID_INVALID", "format");
    }
}

#[test]
fn jv24_ambiguous_kid_is_refused_and_only_trusted_keys_are_tried() {
    // two keys share a kid: a token naming it cannot be matched to one key, so both are
    // refused (Wycheproof rejectsDuplicateKid), and the token gets the reason
    let mut a = rsa().jwk();
    let mut b = rsa2().jwk();
    a["kid"] = json!("same");
    b["kid"] = json!("same");
    let set = KeySet::from_jwks(
        &json!({"keys": [a, b.clone()]}),
        KeyOrigin::InlineJwks,
        true,
    )
    .unwrap();
    assert!(set.keys().is_empty());
    let p = policy(json!({}));
    let r = validate_str(
        &rsa2().token(json!({"kid": "same"}), claims(json!({}))),
        &set,
        &p,
        NOW,
    );
    assert_eq!(codes(&r), ["KEY_REJECTED"]);
    assert!(r.findings()[0].message.contains("names 2 keys"));
    // an encryption key under the same kid does not make it ambiguous
    let mut enc = rsa().jwk();
    enc["kid"] = json!("same");
    enc["use"] = json!("enc");
    let set = KeySet::from_jwks(&json!({"keys": [enc, b]}), KeyOrigin::InlineJwks, true).unwrap();
    assert!(
        validate_str(
            &rsa2().token(json!({"kid": "same"}), claims(json!({}))),
            &set,
            &p,
            NOW
        )
        .valid()
    );
    // without a kid, only the set's keys are tried, at most MAX_KEYS_TRIED
    let r = validate_str(
        &attacker_rsa().token(json!({"kid": null}), claims(json!({}))),
        &KeySet::from_jwks(&jwks(&[rsa(), rsa2()]), KeyOrigin::InlineJwks, true).unwrap(),
        &p,
        NOW,
    );
    assert_eq!(codes(&r), ["SIGNATURE_INVALID"]);
}

fn es_policy() -> jwtshield_core::CompiledPolicy {
    policy(json!({"allowed_algs": ["ES256"]}))
}

#[test]
fn jv25_psychic_signatures() {
    let good = ec("P-256").good(json!({}));
    for sig in [
        vec![0u8; 64],
        [vec![0u8; 32], P256_N.to_vec()].concat(),
        [P256_N.to_vec(), P256_N.to_vec()].concat(),
    ] {
        let t = replace_part(&good, 2, &b64::encode(sig));
        assert_rejected_by(&t, &es_policy(), "SIGNATURE_INVALID", "signature");
    }
}

#[test]
fn jv26_27_ecdsa_lengths_and_der() {
    let good = ec("P-256").good(json!({}));
    let sig = b64::decode(good.rsplit('.').next().unwrap()).unwrap();
    let (r, s) = sig.split_at(32);
    let der_int = |x: &[u8]| {
        let mut v = x.to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        [vec![0x02, v.len() as u8], v].concat()
    };
    let body = [der_int(r), der_int(s)].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    let t = replace_part(&good, 2, &b64::encode(&der));
    let rep = check(&t, &es_policy());
    assert_eq!(codes(&rep), ["SIGNATURE_MALFORMED"]);
    assert!(
        rep.findings()[0].message.contains("DER"),
        "{}",
        rep.findings()[0].message
    );
    for bad in [
        [sig.clone(), vec![0]].concat(),
        sig[..63].to_vec(),
        [vec![0], sig.clone()].concat(),
    ] {
        let t = replace_part(&good, 2, &b64::encode(bad));
        assert_rejected_by(&t, &es_policy(), "SIGNATURE_MALFORMED", "signature");
    }
}

#[test]
fn jv28_high_s_is_spec_valid() {
    let good = ec("P-256").good(json!({}));
    let sig = b64::decode(good.rsplit('.').next().unwrap()).unwrap();
    let high = [sig[..32].to_vec(), sub_be(&P256_N, &sig[32..])].concat();
    let t = replace_part(&good, 2, &b64::encode(high));
    // RFC 7518 does not forbid it; JWTShield never uses signature bytes as identity
    assert!(check(&t, &es_policy()).valid());
}

#[test]
fn jv32_rsa_signature_integer_edges() {
    let good = rsa().good(json!({}));
    let sig = b64::decode(good.rsplit('.').next().unwrap()).unwrap();
    let cases: [(Vec<u8>, &str); 6] = [
        (vec![1u8; 3000], "SIGNATURE_MALFORMED"),
        (vec![0u8; 256], "SIGNATURE_INVALID"),
        ([vec![0u8; 255], vec![1]].concat(), "SIGNATURE_INVALID"),
        ([vec![0], sig.clone()].concat(), "SIGNATURE_MALFORMED"),
        (sig[1..].to_vec(), "SIGNATURE_MALFORMED"),
        (vec![0xff; 256], "SIGNATURE_INVALID"),
    ];
    for (bad, code) in cases {
        let t = replace_part(&good, 2, &b64::encode(bad));
        assert_rejected_by(&t, &default_policy(), code, "signature");
    }
}

#[test]
fn jv33_pkcs1_signature_under_ps256() {
    let p = policy(json!({"allowed_algs": ["PS256", "RS256"]}));
    let rs = rsa().good(json!({}));
    let sig = rs.rsplit('.').next().unwrap();
    let header = b64::encode(r#"{"alg":"PS256","kid":"rsa-1"}"#);
    let mut parts: Vec<&str> = rs.split('.').collect();
    parts[0] = &header;
    parts[2] = sig;
    assert_rejected_by(&parts.join("."), &p, "SIGNATURE_INVALID", "signature");
}

#[test]
fn jv34_35_36_weak_or_oversized_rsa_keys() {
    let weak_keys = [
        json!({"kty":"RSA","kid":"k","n": b64::encode([0xc3u8; 128]),"e":"AQAB"}),
        json!({"kty":"RSA","kid":"k","n": b64::encode([0xc3u8; 255]),"e":"AQAB"}),
        json!({"kty":"RSA","kid":"k","n": rsa().jwk()["n"],"e":"AQ"}),
        json!({"kty":"RSA","kid":"k","n": rsa().jwk()["n"],"e":"Aw"}),
        json!({"kty":"RSA","kid":"k","n": rsa().jwk()["n"],"e":"AQAA"}),
        json!({"kty":"RSA","kid":"k","n": b64::encode([0xc3u8; 2049]),"e":"AQAB"}),
    ];
    for jwk in weak_keys {
        let p = policy(json!({"jwks": {"keys": [jwk.clone()]}}));
        let t = rsa().token(json!({"kid": "k"}), claims(json!({})));
        assert_rejected_by(&t, &p, "KEY_REJECTED", "signature");
    }
}

#[test]
fn jv38_weak_hmac_secret() {
    for secret in [
        "secret",
        "your-256-bit-secret",
        "0123456789abcdef0123456789abcde",
    ] {
        let p = policy(json!({"allowed_algs": ["HS256"], "jwks": null, "secret": secret}));
        let signer = Signer::hmac("x", secret.as_bytes());
        assert_rejected_by(&signer.good(json!({})), &p, "KEY_REJECTED", "signature");
    }
}

#[test]
fn jv39_40_null_stripped_and_truncated_signatures() {
    let good = rsa().good(json!({}));
    let stem = good.rsplit_once('.').unwrap().0;
    assert_rejected_by(
        &format!("{stem}."),
        &default_policy(),
        "SIGNATURE_MISSING",
        "signature",
    );
    assert_rejected_by(stem, &default_policy(), "TOKEN_MALFORMED", "format");
    assert_rejected_by(
        &format!("{stem}.null"),
        &default_policy(),
        "SIGNATURE_MALFORMED",
        "signature",
    );
    assert_rejected_by(
        &format!("{stem}.nul!"),
        &default_policy(),
        "BASE64_INVALID",
        "format",
    );
    let hs = policy(json!({"allowed_algs": ["HS256"], "jwks": null, "secret": SECRET}));
    let t = hmac_key().good(json!({}));
    let tag = b64::decode(t.rsplit('.').next().unwrap()).unwrap();
    assert_rejected_by(
        &replace_part(&t, 2, &b64::encode(&tag[..16])),
        &hs,
        "SIGNATURE_MALFORMED",
        "signature",
    );
}

#[test]
fn jv42_tampered_claims_keep_the_old_signature() {
    let good = rsa().good(json!({}));
    let t = replace_part(
        &good,
        1,
        &b64::encode(claims(json!({"sub": "admin", "scope": "admin"})).to_string()),
    );
    assert_rejected_by(&t, &default_policy(), "SIGNATURE_INVALID", "signature");
}

#[test]
fn jv43_to_47_encoding_and_segments() {
    let good = rsa().good(json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let p = default_policy();
    let bad_segments = [
        format!("{}=", parts[0]),
        format!("{}\n{}", &parts[1][..10], &parts[1][10..]),
        format!("{}+", parts[1]),
        format!("{}/x", parts[1]),
        format!("{}*", parts[2]),
        format!("\"{}", parts[2]),
    ];
    for (i, seg) in bad_segments.iter().enumerate() {
        let t = replace_part(&good, [0, 1, 1, 1, 2, 2][i], seg);
        assert_rejected_by(&t, &p, "BASE64_INVALID", "format");
    }
    // non-canonical last character of the signature (JV-46): same bytes, other spelling
    let last = parts[2].chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = alphabet.find(last).unwrap();
    let tweaked = format!(
        "{}{}",
        &parts[2][..parts[2].len() - 1],
        &alphabet[pos + 1..pos + 2]
    );
    assert_rejected_by(
        &replace_part(&good, 2, &tweaked),
        &p,
        "BASE64_INVALID",
        "format",
    );
    for t in [
        format!("{good}.x"),
        format!("{good}."),
        ".".to_owned(),
        format!("{}.{}", parts[0], parts[1]),
    ] {
        assert_rejected_by(&t, &p, "TOKEN_MALFORMED", "format");
    }
}

#[test]
fn jv48_json_serialization() {
    let t = json!({"payload": "e30", "protected": "eyJhbGciOiJub25lIn0", "header": {"alg": "none"}, "signature": ""}).to_string();
    assert_rejected_by(&t, &default_policy(), "TOKEN_JSON_SERIALIZATION", "format");
}

#[test]
fn jv49_50_duplicates_and_malformed_json() {
    let p = default_policy();
    let hdr = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    assert_rejected_by(
        &signed_raw(r#"{"alg":"none","alg":"RS256","kid":"rsa-1"}"#, &body()),
        &p,
        "JSON_DUPLICATE_MEMBER",
        "format",
    );
    assert_rejected_by(
        &signed_raw(hdr, r#"{"sub":"user","sub":"admin"}"#),
        &p,
        "JSON_DUPLICATE_MEMBER",
        "format",
    );
    for payload in [
        "[1]",
        "\"str\"",
        "42",
        r#"{"a":1}ABCD"#,
        "\u{feff}{}",
        r#"{"a":"\udc00"}"#,
    ] {
        assert_rejected_by(&signed_raw(hdr, payload), &p, "PAYLOAD_INVALID", "format");
    }
    let bad_utf8 = format!(
        "{}.{}.AA",
        b64::encode(hdr),
        b64::encode(b"{\"sub\":\"\xff\"}")
    );
    assert_rejected_by(&bad_utf8, &p, "PAYLOAD_INVALID", "format");
    assert_rejected_by(
        &signed_raw(r#"["RS256"]"#, &body()),
        &p,
        "HEADER_INVALID",
        "format",
    );
    // the signature is still verified over the received bytes when the payload is bad
    let r = check(&signed_raw(hdr, "[1]"), &p);
    assert_eq!(status(&r, "signature"), Some("pass"));
    assert_eq!(status(&r, "issuer"), Some("skipped"));
}

#[test]
fn jv51_52_53_crit_b64_zip() {
    let p = default_policy();
    for h in [
        json!({"crit": ["x-unknown"], "x-unknown": 1}),
        json!({"crit": []}),
        json!({"crit": ["alg"]}),
        json!({"crit": "b64"}),
        json!({"crit": ["b64"], "b64": false}),
    ] {
        assert_rejected_by(
            &rsa().token(h, claims(json!({}))),
            &p,
            "CRIT_UNSUPPORTED",
            "format",
        );
    }
    // b64 without crit changes nothing: the payload is still base64url JSON
    assert!(check(&rsa().token(json!({"b64": false}), claims(json!({}))), &p).valid());
    assert_rejected_by(
        &rsa().token(json!({"zip": "DEF"}), claims(json!({}))),
        &p,
        "ZIP_UNSUPPORTED",
        "format",
    );
}

#[test]
fn jv54_57_58_jwe_nested_and_cty() {
    let p = default_policy();
    let jwe = format!(
        "{}.{}.{}.{}.{}",
        b64::encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"rsa-1"}"#),
        "a",
        "b",
        "c",
        "d"
    );
    assert_rejected_by(&jwe, &p, "TOKEN_IS_JWE", "format");
    let r = check(&jwe, &p);
    assert_eq!(r.header().unwrap()["enc"], "A256GCM");
    assert_rejected_by(
        &rsa().token(json!({"cty": "JWT"}), claims(json!({}))),
        &p,
        "NESTED_JWT_UNSUPPORTED",
        "format",
    );
    assert_rejected_by(
        &rsa().token(
            json!({"cty": "application/x-java-serialized-object"}),
            claims(json!({})),
        ),
        &p,
        "CTY_UNSUPPORTED",
        "format",
    );
}

#[test]
fn jv59_typ_and_id_token_confusion() {
    let p = policy(json!({"token_type": "at+jwt"}));
    for typ in ["JWT", "dpop+jwt", "logout+jwt", "secevent+jwt"] {
        assert_rejected_by(
            &rsa().token(json!({"typ": typ}), claims(json!({}))),
            &p,
            "TOKEN_TYPE_MISMATCH",
            "token_type",
        );
    }
    let id_token =
        rsa().good(json!({"aud": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K", "nonce": "n-0S6_WzA2Mj"}));
    let r = check(&id_token, &default_policy());
    assert_eq!(
        codes(&r),
        [
            "AUDIENCE_MISMATCH",
            "AUDIENCE_LOOKS_LIKE_CLIENT_ID",
            "ID_TOKEN_SUSPECTED"
        ]
    );
}

#[test]
fn jv60_audience_confusion() {
    let p = default_policy();
    let cases = [
        (json!(null), "AUDIENCE_MISSING"),
        (json!(""), "AUDIENCE_MISMATCH"),
        (json!(["*"]), "AUDIENCE_MISMATCH"),
        (json!(123), "AUDIENCE_INVALID"),
        (json!(["https://api.acme.com/", 1]), "AUDIENCE_INVALID"),
        (json!({"aud": "https://api.acme.com/"}), "AUDIENCE_INVALID"),
        (json!("https://service-b.acme.com/"), "AUDIENCE_MISMATCH"),
    ];
    for (aud, code) in cases {
        assert_rejected_by(&rsa().good(json!({"aud": aud})), &p, code, "audience");
    }
}

#[test]
fn jv61_63_64_issuer_exactness() {
    let p = default_policy();
    for iss in [
        "http",
        "https://acme.auth0.com",
        "https://acme.auth0.com/x",
        "https://acme.auth0.com/\u{0}.evil",
        "https://acme.auth0.com\u{2044}",
        "https://ａcme.auth0.com/",
    ] {
        assert_rejected_by(
            &rsa().good(json!({"iss": iss})),
            &p,
            "ISSUER_MISMATCH",
            "issuer",
        );
    }
    // JSON escapes of the same code points are the same string
    let escaped = claims(json!({}))
        .to_string()
        .replace("https://acme.auth0.com/", "\\u0068ttps://acme.auth0.com/");
    let hdr = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    assert!(check(&signed_raw(hdr, &escaped), &p).valid());
}

#[test]
fn jv62_cross_tenant_token() {
    let r = check(
        &rsa().good(json!({"iss": "https://other-tenant.auth0.com/"})),
        &default_policy(),
    );
    assert_eq!(
        status(&r, "signature"),
        Some("pass"),
        "genuinely signed, wrong tenant"
    );
    assert_eq!(codes(&r), ["ISSUER_MISMATCH", "ISSUER_OTHER_TENANT"]);
}

#[test]
fn jv65_66_67_numeric_dates() {
    let p = default_policy();
    for exp in [
        json!("1700003600"),
        json!(true),
        json!([]),
        json!({}),
        json!(9_223_372_036_854_775_807_i64),
        json!(1e308),
        json!(-1),
    ] {
        assert_rejected_by(
            &rsa().good(json!({"exp": exp})),
            &p,
            "EXPIRY_INVALID",
            "expiry",
        );
    }
    let hdr = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    let inf = claims(json!({}))
        .to_string()
        .replace(&format!("\"exp\":{}", NOW + 3600), "\"exp\":1e400");
    assert_rejected_by(&signed_raw(hdr, &inf), &p, "PAYLOAD_INVALID", "format");
    assert!(check(&rsa().good(json!({"exp": 1.7e9 + 100.5})), &p).valid());
    assert_rejected_by(
        &rsa().good(json!({"exp": 0})),
        &p,
        "TOKEN_EXPIRED",
        "expiry",
    );
    assert_rejected_by(
        &rsa().good(json!({"exp": null})),
        &p,
        "EXPIRY_MISSING",
        "expiry",
    );
    assert_rejected_by(
        &rsa().good(json!({"nbf": "soon"})),
        &p,
        "NOT_BEFORE_INVALID",
        "not_before",
    );
    assert_rejected_by(
        &rsa().good(json!({"iat": null, "nbf": null, "exp": null, "sub": "x"})),
        &p,
        "EXPIRY_MISSING",
        "expiry",
    );
}

#[test]
fn jv68_lifetime_and_clock_abuse() {
    assert_rejected_by(
        &rsa().good(json!({"nbf": NOW + 3600})),
        &default_policy(),
        "TOKEN_NOT_YET_VALID",
        "not_before",
    );
    assert_rejected_by(
        &rsa().good(json!({"iat": NOW + 3600})),
        &default_policy(),
        "ISSUED_IN_FUTURE",
        "issued_at",
    );
    let p = policy(json!({"max_ttl_seconds": 86400}));
    assert_rejected_by(
        &rsa().good(json!({"exp": NOW + 30 * 365 * 86400})),
        &p,
        "MAX_TTL_EXCEEDED",
        "max_ttl",
    );
    let huge = jwtshield_core::Policy::from_json(
        &json!({"issuer": ISS, "audiences": [AUD], "clock_skew_seconds": 31_536_000}),
    )
    .unwrap()
    .compile();
    assert_eq!(huge.unwrap_err().field, "clock_skew_seconds");
}

#[test]
fn jv70_bad_signature_and_expired_both_reported_claims_marked_unverified() {
    let good = rsa().good(json!({}));
    let t = replace_part(
        &good,
        1,
        &b64::encode(claims(json!({"exp": NOW - 999})).to_string()),
    );
    let r = check(&t, &default_policy());
    assert_eq!(codes(&r), ["SIGNATURE_INVALID", "TOKEN_EXPIRED"]);
    assert!(r.findings()[1].unverified);
}

#[test]
fn jv71_72_73_resource_limits() {
    let p = default_policy();
    assert_rejected_by(&".".repeat(10_000_000), &p, "TOKEN_TOO_LARGE", "format");
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    assert_rejected_by(
        &signed_raw(r#"{"alg":"RS256","kid":"rsa-1"}"#, &deep),
        &p,
        "JSON_TOO_DEEP",
        "format",
    );
    let deep_hdr = format!(
        "{{\"alg\":\"RS256\",\"x\":{}1{}}}",
        "{\"a\":".repeat(100),
        "}".repeat(100)
    );
    assert_rejected_by(
        &signed_raw(&deep_hdr, &body()),
        &p,
        "JSON_TOO_DEEP",
        "format",
    );
}

#[test]
fn jv76_77_key_set_hygiene() {
    let mut enc = rsa().jwk();
    enc["use"] = json!("enc");
    let p = policy(json!({"jwks": {"keys": [enc]}}));
    assert_rejected_by(&rsa().good(json!({})), &p, "KEY_USE_INVALID", "signature");
    let mut ops = rsa().jwk();
    ops.as_object_mut().unwrap().remove("use");
    ops["key_ops"] = json!(["encrypt", "wrapKey"]);
    let p = policy(json!({"jwks": {"keys": [ops]}}));
    assert_rejected_by(&rsa().good(json!({})), &p, "KEY_USE_INVALID", "signature");
    // private material in a set: the key is refused, the token naming it says why
    let mut private = rsa().jwk();
    private["d"] = json!("AQAB");
    let p = policy(json!({"jwks": {"keys": [private]}}));
    let r = check(&rsa().good(json!({})), &p);
    assert_eq!(codes(&r), ["KEY_REJECTED"]);
    assert!(r.findings()[0].message.contains("private"));
    let set = KeySet::from_jwks(&jwks(&[hmac_key()]), KeyOrigin::RemoteJwks, false).unwrap();
    assert!(set.keys().is_empty());
}

#[test]
fn diagnostics_for_bearer_prefix_and_whitespace_still_analyse_the_token() {
    let good = rsa().good(json!({}));
    let r = check(&format!("  \"Bearer {good}\"\n"), &default_policy());
    assert_eq!(codes(&r), ["TOKEN_WHITESPACE", "TOKEN_BEARER_PREFIX"]);
    assert_eq!(status(&r, "signature"), Some("pass"));
    assert!(!r.valid());
}

#[test]
fn unreachable_keys_are_a_finding_not_a_failure_of_the_call() {
    let p = policy(json!({}));
    let set = KeySet::unreachable(
        "https://acme.auth0.com/.well-known/jwks.json",
        "timed out after 5s",
    );
    let r = validate_str(&rsa().good(json!({})), &set, &p, NOW);
    assert_eq!(codes(&r), ["JWKS_UNREACHABLE"]);
    assert_eq!(status(&r, "signature"), Some("skipped"));
    assert_eq!(r.findings()[0].check.as_str(), "key_freshness");
    assert_eq!(r.findings()[0].code, Code::JWKS_UNREACHABLE);
}

#[test]
fn jv46_signature_segments_must_be_canonical_for_every_family() {
    // every other spelling of the last character of a signature decodes to the same
    // bytes with non-zero unused bits: refused as BASE64_INVALID, never verified
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (signer, alg) in [(rsa(), "RS256"), (ec("P-256"), "ES256"), (ed(), "EdDSA")] {
        let p = policy(json!({"allowed_algs": [alg]}));
        let good = signer.good(json!({}));
        assert!(check(&good, &p).valid(), "{alg}");
        let sig = good.rsplit('.').next().unwrap();
        let (body, last) = sig.split_at(sig.len() - 1);
        let mut refused = 0;
        for c in alphabet.chars().filter(|c| c.to_string() != last) {
            let t = replace_part(&good, 2, &format!("{body}{c}"));
            let r = check(&t, &p);
            assert!(!r.valid(), "{alg} with {c}");
            if codes(&r).contains(&"BASE64_INVALID") {
                refused += 1;
                assert_ne!(status(&r, "signature"), Some("pass"));
            }
        }
        // 2 (or 4) unused bits: 15 (or 3) spellings decode to the same bytes
        assert!(refused >= 3, "{alg}: {refused}");
    }
}

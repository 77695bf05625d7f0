//! Every supported algorithm verifies with every way of giving its key, and only with it.

use jwtshield_core::{Code, KeyOrigin, KeySet, Policy};
use serde_json::json;

use crate::support::*;

#[test]
fn every_algorithm_verifies_from_an_inline_jwks() {
    let cases = [
        (rsa(), "RS256"),
        (rsa(), "RS384"),
        (rsa(), "RS512"),
        (rsa(), "PS256"),
        (rsa(), "PS384"),
        (rsa(), "PS512"),
        (ec("P-256"), "ES256"),
        (ec("P-384"), "ES384"),
        (ec("P-521"), "ES512"),
        (ed(), "EdDSA"),
    ];
    for (signer, alg) in cases {
        let p = policy(json!({"allowed_algs": [alg]}));
        let t = signer.token(json!({"alg": alg}), claims(json!({})));
        let r = check(&t, &p);
        assert!(r.valid(), "{alg}: {:?}", codes(&r));
        assert_eq!(r.key().unwrap().alg.as_str(), alg);
    }
}

#[test]
fn hmac_with_a_secret_or_inline_oct_keys() {
    for alg in ["HS256", "HS384", "HS512"] {
        let p = policy(json!({"allowed_algs": [alg], "jwks": null, "secret": SECRET}));
        let t = hmac_key().token(json!({"alg": alg}), claims(json!({})));
        assert!(check(&t, &p).valid(), "{alg}");
        let p = policy(json!({"allowed_algs": [alg], "jwks": jwks(&[hmac_key()])}));
        assert!(check(&t, &p).valid(), "{alg} via oct jwk");
        let wrong =
            policy(json!({"allowed_algs": [alg], "jwks": null, "secret": format!("{SECRET}x")}));
        assert_eq!(codes(&check(&t, &wrong)), ["SIGNATURE_INVALID"], "{alg}");
    }
}

#[test]
fn short_hmac_secret_is_refused_per_algorithm() {
    // 32 bytes: enough for HS256, not for HS384 (RFC 7518 §3.2)
    let secret = "0123456789abcdef0123456789abcdef";
    let p = policy(json!({"allowed_algs": ["HS256", "HS384"], "jwks": null, "secret": secret}));
    let signer = Signer::hmac("x", secret.as_bytes());
    assert!(check(&signer.token(json!({"alg":"HS256"}), claims(json!({}))), &p).valid());
    let r = check(&signer.token(json!({"alg":"HS384"}), claims(json!({}))), &p);
    assert_eq!(codes(&r), ["KEY_REJECTED"]);
    assert!(
        r.findings()[0].message.contains("at least 48"),
        "{}",
        r.findings()[0].message
    );
}

#[test]
fn pem_public_keys_of_each_type() {
    for (signer, alg) in [
        (rsa(), "PS256"),
        (ec("P-384"), "ES384"),
        (ed(), "EdDSA"),
        (ec("P-521"), "ES512"),
    ] {
        let p = policy(json!({"allowed_algs": [alg], "jwks": null, "public_key": signer.pem()}));
        // a PEM key has no kid and matches any
        let t = signer.token(json!({"alg": alg, "kid": "whatever"}), claims(json!({})));
        assert!(check(&t, &p).valid(), "{alg}: {:?}", codes(&check(&t, &p)));
        let other = rsa2().token(json!({"alg": "RS256"}), claims(json!({})));
        assert!(!check(&other, &p).valid());
    }
}

#[test]
fn pkcs1_rsa_public_key_pem_is_accepted() {
    let pem = spki::der::pem::encode_string(
        "RSA PUBLIC KEY",
        spki::der::pem::LineEnding::LF,
        &rsa().public_key(),
    )
    .unwrap();
    let p = policy(json!({"jwks": null, "public_key": pem}));
    assert!(check(&rsa().good(json!({})), &p).valid());
}

#[test]
fn bad_pem_inputs_name_the_problem() {
    let cases = [
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "certificate",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "private key",
        ),
        ("not pem at all", "not a PEM"),
    ];
    for (pem, text) in cases {
        let e = Policy::from_json(&json!({"issuer": ISS, "audiences": [AUD], "public_key": pem}))
            .unwrap()
            .compile()
            .unwrap_err();
        assert_eq!(e.field, "public_key");
        assert!(e.message.contains(text), "{pem}: {}", e.message);
    }
}

#[test]
fn a_key_only_verifies_its_own_family() {
    // RSA key pinned by kid, token claims ES256 / EdDSA / PS256-with-RS256-key
    let p = policy(json!({"allowed_algs": ["RS256", "PS256", "ES256", "EdDSA"]}));
    let es_on_rsa = ec("P-256").token(json!({"kid": "rsa-1"}), claims(json!({})));
    assert_eq!(codes(&check(&es_on_rsa, &p)), ["KEY_ALG_MISMATCH"]);
    let ed_on_ec = ed().token(json!({"kid": "ec-256"}), claims(json!({})));
    assert_eq!(codes(&check(&ed_on_ec, &p)), ["KEY_ALG_MISMATCH"]);
    // a JWK that names its alg is only used for that alg
    let mut pinned = rsa().jwk();
    pinned["alg"] = json!("RS256");
    let p = policy(json!({"allowed_algs": ["RS256", "PS256"], "jwks": {"keys": [pinned]}}));
    let ps = rsa().token(json!({"alg": "PS256"}), claims(json!({})));
    let r = check(&ps, &p);
    assert_eq!(codes(&r), ["KEY_ALG_MISMATCH"]);
    assert!(r.findings()[0].message.contains("bound to alg RS256"));
}

#[test]
fn token_without_kid_tries_the_matching_keys() {
    let p = policy(json!({"allowed_algs": ["RS256"]}));
    let by_second = rsa2().token(json!({"kid": null}), claims(json!({})));
    let r = check(&by_second, &p);
    assert!(r.valid(), "{:?}", codes(&r));
    assert_eq!(r.key().unwrap().kid.as_deref(), Some("rsa-2"));
    let forged = attacker_rsa().token(json!({"kid": null}), claims(json!({})));
    let r = check(&forged, &p);
    assert_eq!(codes(&r), ["SIGNATURE_INVALID"]);
    assert_eq!(r.findings()[0].evidence["keys_tried"], 2);
}

#[test]
fn keys_without_kid_in_a_jwks_do_not_match_a_kid() {
    let mut anon = rsa().jwk();
    anon.as_object_mut().unwrap().remove("kid");
    let p = policy(json!({"jwks": {"keys": [anon]}}));
    assert_eq!(codes(&check(&rsa().good(json!({})), &p)), ["KID_NOT_FOUND"]);
    assert!(check(&rsa().token(json!({"kid": null}), claims(json!({}))), &p).valid());
}

#[test]
fn remote_sets_refuse_symmetric_keys() {
    let set = KeySet::from_jwks(&jwks(&[hmac_key(), rsa()]), KeyOrigin::RemoteJwks, false).unwrap();
    assert_eq!(set.kids(), ["rsa-1"]);
    assert_eq!(set.rejected()[0].kid.as_deref(), Some("hs-1"));
    let p = Policy::from_json(
        &json!({"issuer": ISS, "audiences": [AUD], "allowed_algs": ["HS256"], "secret": SECRET}),
    )
    .unwrap()
    .compile()
    .unwrap();
    // the same oct key, fetched: never used
    let t = hmac_key().good(json!({}));
    let r = validate_str(&t, &set, &p, NOW);
    assert_eq!(r.findings()[0].code, Code::KEY_REJECTED);
}

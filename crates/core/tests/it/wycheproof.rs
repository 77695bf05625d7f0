//! Project Wycheproof vectors (C2SP/wycheproof `testvectors_v1`, vendored in
//! `testdata/wycheproof` with its LICENSE) against the signature layer: the key is loaded from the
//! group's JWK through the same code as any JWKS, and every vector is verified with
//! `Key::verify`. Every vector must give its expected result, except the documented
//! overrules below, whose counts are asserted exactly so none can hide another.
//!
//! Overrules (JWTShield is stricter than the primitive):
//! - RSA groups with public exponent 3: the key is refused at load (e >= 65537, NIST
//!   SP 800-56B), so their "valid" vectors do not verify.
//! - `acceptable` (RSA `MissingNull`): treated as invalid.
//! - HMAC groups with 128-bit keys: refused (RFC 7518 §3.2: the key must be at least
//!   the hash size).
//! - HMAC groups with 128-bit tags: a JWS carries the full tag (RFC 7518 §3.2), so a
//!   truncated tag is malformed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jwtshield_core::{Alg, KeyOrigin, KeySet, b64};
use serde_json::{Value, json};

fn dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // vendored at the repository root, with its LICENSE and SOURCE
    for candidate in [here.join("../../testdata/wycheproof")] {
        if candidate.join("ed25519_test.json").exists() {
            return candidate;
        }
    }
    panic!("Wycheproof vectors not found next to the repository (testdata/wycheproof)");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    total: usize,
    agreed: usize,
    overruled: BTreeMap<&'static str, usize>,
    wrong: Vec<String>,
}

fn run(file: &str, alg: Alg, tally: &mut Tally) {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    for group in doc["testGroups"].as_array().unwrap() {
        let (set, tag_bits, key_bits) = if alg.is_hmac() {
            (None, group["tagSize"].as_u64(), group["keySize"].as_u64())
        } else {
            // the group's JWK when it has one, else its PEM: both loaders are exercised
            let set = match group.get("publicKeyJwk").or_else(|| group.get("keyJwk")) {
                Some(jwk) => {
                    KeySet::from_jwks(&json!({"keys": [jwk]}), KeyOrigin::InlineJwks, false)
                        .unwrap()
                }
                None => {
                    KeySet::from_pem(group["publicKeyPem"].as_str().unwrap()).unwrap_or_default()
                }
            };
            (Some(set), None, None)
        };
        for t in group["tests"].as_array().unwrap() {
            tally.total += 1;
            let id = t["tcId"].as_u64().unwrap();
            let expected = t["result"].as_str().unwrap();
            let msg = hex(t["msg"].as_str().unwrap());
            let (verified, key_refused) = if alg.is_hmac() {
                let k = b64::encode(hex(t["key"].as_str().unwrap()));
                let set = KeySet::from_jwks(
                    &json!({"keys": [{"kty": "oct", "k": k}]}),
                    KeyOrigin::InlineJwks,
                    true,
                )
                .unwrap();
                let tag = hex(t["tag"].as_str().unwrap());
                (set.keys()[0].verify(alg, &msg, &tag).is_ok(), false)
            } else {
                let set = set.as_ref().unwrap();
                match set.keys().first() {
                    Some(key) => (
                        key.verify(alg, &msg, &hex(t["sig"].as_str().unwrap()))
                            .is_ok(),
                        false,
                    ),
                    None => (false, true),
                }
            };
            let overrule = match expected {
                "valid" if !verified && key_refused => Some("rsa key refused (e=3)"),
                "valid" if !verified && key_bits == Some(128) => {
                    Some("hmac key shorter than the hash")
                }
                "valid" if !verified && tag_bits == Some(128) => Some("hmac tag truncated"),
                "acceptable" if !verified => Some("acceptable treated as invalid"),
                _ => None,
            };
            let agrees = expected != "acceptable" && (expected == "valid") == verified;
            match (agrees, overrule) {
                (true, _) => tally.agreed += 1,
                (false, Some(why)) => *tally.overruled.entry(why).or_default() += 1,
                (false, None) => tally.wrong.push(format!(
                    "{file} tcId {id}: expected {expected}, verified={verified} ({})",
                    t["comment"]
                )),
            }
        }
    }
}

#[test]
fn every_vector_gives_its_expected_result() {
    let mut tally = Tally::default();
    let files = [
        ("rsa_signature_2048_sha256_test.json", Alg::RS256),
        ("rsa_signature_2048_sha384_test.json", Alg::RS384),
        ("rsa_signature_2048_sha512_test.json", Alg::RS512),
        ("rsa_pss_2048_sha256_mgf1_32_test.json", Alg::PS256),
        ("ecdsa_secp256r1_sha256_p1363_test.json", Alg::ES256),
        ("ecdsa_secp384r1_sha384_p1363_test.json", Alg::ES384),
        ("ed25519_test.json", Alg::EdDSA),
        ("hmac_sha256_test.json", Alg::HS256),
    ];
    for (file, alg) in files {
        run(file, alg, &mut tally);
    }
    println!("wycheproof: {tally:?}");
    assert!(
        tally.wrong.is_empty(),
        "{} vectors disagree:\n{}",
        tally.wrong.len(),
        tally.wrong.join("\n")
    );
    assert_eq!(tally.total, 259 + 258 + 259 + 108 + 262 + 280 + 151 + 174);
    let expected: BTreeMap<&str, usize> = [
        ("rsa key refused (e=3)", 3),
        ("acceptable treated as invalid", 3),
        ("hmac key shorter than the hash", 6),
        ("hmac tag truncated", 30),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        tally.overruled, expected,
        "overrule counts changed: re-check the notes above"
    );
}

#[test]
fn der_ecdsa_signatures_never_verify_on_the_jws_path() {
    // The p1363 files' valid signatures re-encoded as DER must all be refused (JV-27).
    let text =
        std::fs::read_to_string(dir().join("ecdsa_secp256r1_sha256_p1363_test.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let set = KeySet::from_pem(group["publicKeyPem"].as_str().unwrap()).unwrap();
        let Some(key) = set.keys().first() else {
            continue;
        };
        for t in group["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["result"] == "valid")
        {
            let sig = hex(t["sig"].as_str().unwrap());
            if sig.len() != 64 {
                continue;
            }
            let int = |x: &[u8]| {
                let mut v: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
                if v.first().is_none_or(|b| b & 0x80 != 0) {
                    v.insert(0, 0);
                }
                [vec![2, v.len() as u8], v].concat()
            };
            let body = [int(&sig[..32]), int(&sig[32..])].concat();
            let der = [vec![0x30, body.len() as u8], body].concat();
            assert!(
                key.verify(Alg::ES256, &hex(t["msg"].as_str().unwrap()), &der)
                    .is_err()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

/// `json_web_key_test.json` (the keys a verifier is given; see testdata/wycheproof/SOURCE):
/// each group's keys become a policy's inline `jwks`, and its JWS must verify exactly
/// when the vector says `valid`. The payload of these vectors (`foo`) is not a claims
/// object, so what is compared is the `signature` check, which runs whenever the header,
/// a key and the signature decode. A key set the policy refuses to load (mixed
/// symmetric and public keys) verifies nothing.
#[test]
fn key_set_vectors_give_their_expected_result() {
    let text = std::fs::read_to_string(dir().join("json_web_key_test.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut wrong = Vec::new();
    let mut total = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        for t in group["tests"].as_array().unwrap() {
            total += 1;
            let jws = t["jws"].as_str().unwrap();
            let header = jwtshield_core::Token::parse(jws, &jwtshield_core::Limits::default());
            let alg = header
                .header()
                .and_then(|h| h.get_str("alg").map(str::to_owned))
                .unwrap();
            let policy = jwtshield_core::Policy::from_json(&json!({
                "issuer": "https://issuer.example/", "audiences": ["api"],
                "allowed_algs": [alg], "jwks": {"keys": group["keys"]},
            }))
            .unwrap()
            .compile();
            let verified = match &policy {
                Ok(p) => {
                    let keys = p.inline_keys().unwrap();
                    let r = jwtshield_core::validate(&header, keys, p, 1_700_000_000);
                    r.checks().get(jwtshield_core::Check::Signature)
                        == Some(jwtshield_core::Status::Pass)
                }
                Err(_) => false,
            };
            if verified != (t["result"] == "valid") {
                wrong.push(format!(
                    "tcId {} {}: expected {}, verified={verified} ({policy:?})",
                    t["tcId"],
                    t["comment"],
                    t["result"],
                    policy = policy.err()
                ));
            }
        }
    }
    assert_eq!(total, 26);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn refused_key_sets_say_why() {
    let text = std::fs::read_to_string(dir().join("json_web_key_test.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let group = |comment: &str| {
        doc["testGroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["comment"] == comment)
            .unwrap()["keys"]
            .clone()
    };
    // a mix of a secret and a public key: refused as a whole when typed in a policy
    let mixed = KeySet::from_jwks(
        &json!({"keys": group("jws_mixedSymmetryKeyset")}),
        KeyOrigin::InlineJwks,
        true,
    );
    assert!(mixed.unwrap_err().0.contains("mixes symmetric"));
    // fetched: the secret is refused, the public key kept
    let fetched = KeySet::from_jwks(
        &json!({"keys": group("jws_mixedSymmetryKeyset")}),
        KeyOrigin::RemoteJwks,
        false,
    )
    .unwrap();
    assert_eq!(fetched.kids(), ["kid-ec-sign"]);
    assert!(
        fetched.rejected()[0]
            .reason
            .contains("never taken from a fetched")
    );
    // every key of a duplicated kid is refused, with the reason
    let dup = KeySet::from_jwks(
        &json!({"keys": group("jws_duplicate_kid")}),
        KeyOrigin::InlineJwks,
        true,
    )
    .unwrap();
    // (the vector's second key is also not canonical base64url: refused for that, and
    // its kid still makes the first one ambiguous)
    assert!(dup.keys().is_empty());
    let reasons: Vec<&str> = dup.rejected().iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("names 2 keys")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("base64url")),
        "{reasons:?}"
    );
    // the ROCA modulus
    let roca = KeySet::from_jwks(
        &json!({"keys": group("jws_rsa_roca_key")}),
        KeyOrigin::RemoteJwks,
        false,
    )
    .unwrap();
    assert!(roca.keys().is_empty());
    assert!(
        roca.rejected()[0].reason.contains("ROCA"),
        "{}",
        roca.rejected()[0].reason
    );
    // and no sound key has the fingerprint
    for file in [
        "rsa_signature_2048_sha256_test.json",
        "rsa_pss_2048_sha256_mgf1_32_test.json",
    ] {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(dir().join(file)).unwrap()).unwrap();
        for g in doc["testGroups"].as_array().unwrap() {
            if let Some(jwk) = g.get("publicKeyJwk") {
                let set = KeySet::from_jwks(&json!({"keys": [jwk]}), KeyOrigin::RemoteJwks, false)
                    .unwrap();
                assert!(
                    set.rejected().iter().all(|r| !r.reason.contains("ROCA")),
                    "{jwk}"
                );
            }
        }
    }
}

//! The verified-signature cache never changes a verdict: every scenario is validated
//! twice, once with a cache already holding the good token and once without any cache,
//! and the two reports must say the same.

use std::collections::HashMap;
use std::sync::Mutex;

use jwtshield_core::{
    CompiledPolicy, Digest, Extras, KeyOrigin, KeySet, Limits, Report, SignatureCache, Token,
    VerifiedSignature, b64, validate, validate_with,
};
use serde_json::json;

use crate::support::*;

/// The simplest cache that honours the contract: a map, void from `until`.
#[derive(Default)]
struct MapCache(Mutex<HashMap<Digest, VerifiedSignature>>);

impl SignatureCache for MapCache {
    fn get(&self, token: &Digest, now: i64) -> Option<VerifiedSignature> {
        self.0
            .lock()
            .unwrap()
            .get(token)
            .copied()
            .filter(|e| e.until > now)
    }

    fn insert(&self, token: Digest, entry: VerifiedSignature) {
        self.0.lock().unwrap().insert(token, entry);
    }
}

impl MapCache {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn run(token: &str, keys: &KeySet, p: &CompiledPolicy, now: i64, cache: &MapCache) -> Report {
    let t = Token::parse(token, &Limits::default());
    validate_with(
        &t,
        keys,
        p,
        now,
        Extras {
            signature_cache: Some(cache),
            revocations: None,
        },
    )
}

fn inline(p: &CompiledPolicy) -> KeySet {
    p.inline_keys().unwrap().as_ref().clone()
}

/// The report with the warm cache must equal the report without any cache.
fn same_verdict(
    token: &str,
    keys: &KeySet,
    p: &CompiledPolicy,
    now: i64,
    cache: &MapCache,
) -> Report {
    let with = run(token, keys, p, now, cache);
    let without = validate(&Token::parse(token, &Limits::default()), keys, p, now);
    assert_eq!(
        with.valid(),
        without.valid(),
        "{:?} vs {:?}",
        codes(&with),
        codes(&without)
    );
    assert_eq!(codes(&with), codes(&without));
    assert_eq!(
        serde_json::to_value(&with).unwrap(),
        serde_json::to_value(&without).unwrap()
    );
    with
}

#[test]
fn a_token_seen_again_skips_the_math_and_says_the_same() {
    let p = policy(json!({}));
    let keys = inline(&p);
    let cache = MapCache::default();
    let good = rsa().good(json!({}));
    let first = run(&good, &keys, &p, NOW, &cache);
    assert!(first.valid());
    assert_eq!(first.signature_cached(), Some(false));
    assert_eq!(cache.len(), 1);
    let again = same_verdict(&good, &keys, &p, NOW, &cache);
    assert_eq!(again.signature_cached(), Some(true));
    assert_eq!(again.key().unwrap().kid.as_deref(), Some("rsa-1"));
    assert!(again.verified().is_some());
    // the same token wrapped in whitespace or `Bearer ` is the same token: a hit, and
    // still refused for the wrapping
    let wrapped = format!("Bearer {good}");
    let r = same_verdict(&wrapped, &keys, &p, NOW, &cache);
    assert_eq!(r.signature_cached(), Some(true));
    assert!(!r.valid());
}

#[test]
fn a_tampered_signature_after_a_valid_one_is_refused() {
    let p = policy(json!({}));
    let keys = inline(&p);
    let cache = MapCache::default();
    let good = rsa().good(json!({}));
    assert!(run(&good, &keys, &p, NOW, &cache).valid());
    let mut sig = b64::decode(good.rsplit('.').next().unwrap()).unwrap();
    sig[10] ^= 1;
    let tampered = replace_part(&good, 2, &b64::encode(&sig));
    let r = same_verdict(&tampered, &keys, &p, NOW, &cache);
    assert_eq!(codes(&r), ["SIGNATURE_INVALID"]);
    assert_eq!(r.signature_cached(), Some(false));
    // a changed payload with the cached signature is refused too
    let forged = replace_part(
        &good,
        1,
        &b64::encode(claims(json!({"sub": "admin"})).to_string()),
    );
    assert_eq!(
        codes(&same_verdict(&forged, &keys, &p, NOW, &cache)),
        ["SIGNATURE_INVALID"]
    );
}

#[test]
fn a_re_encoded_ecdsa_signature_never_hits() {
    let p = policy(json!({"allowed_algs": ["ES256"]}));
    let keys = inline(&p);
    let cache = MapCache::default();
    let good = ec("P-256").good(json!({}));
    assert!(run(&good, &keys, &p, NOW, &cache).valid());
    let sig = b64::decode(good.rsplit('.').next().unwrap()).unwrap();
    // DER instead of r||s: malformed, whatever the cache holds
    let der = replace_part(&good, 2, &b64::encode(der_signature(&sig)));
    let r = same_verdict(&der, &keys, &p, NOW, &cache);
    assert_eq!(codes(&r), ["SIGNATURE_MALFORMED"]);
    // the malleated (n - s) form is another byte string: verified on its own
    let high = [sig[..32].to_vec(), sub_be(&P256_N, &sig[32..])].concat();
    let other = replace_part(&good, 2, &b64::encode(high));
    let r = same_verdict(&other, &keys, &p, NOW, &cache);
    assert_eq!(r.signature_cached(), Some(false));
    assert!(r.valid());
}

#[test]
fn a_key_that_left_the_set_voids_the_entry() {
    let p = policy(json!({}));
    let cache = MapCache::default();
    let good = rsa().good(json!({}));
    let before = KeySet::from_jwks(&jwks(&[rsa(), rsa2()]), KeyOrigin::RemoteJwks, false).unwrap();
    assert!(run(&good, &before, &p, NOW, &cache).valid());
    // rotated: only rsa-2 is published now
    let after = KeySet::from_jwks(&jwks(&[rsa2()]), KeyOrigin::RemoteJwks, false).unwrap();
    let r = same_verdict(&good, &after, &p, NOW, &cache);
    assert_eq!(codes(&r), ["KID_NOT_FOUND"]);
    // another key published under the same kid: the entry names a key by its material
    let impostor =
        KeySet::from_jwks(&jwks(&[attacker_rsa()]), KeyOrigin::RemoteJwks, false).unwrap();
    let r = same_verdict(&good, &impostor, &p, NOW, &cache);
    assert_eq!(codes(&r), ["SIGNATURE_INVALID"]);
    // the same key restricted to encryption: not a candidate, so not a hit
    let mut enc = rsa().jwk();
    enc["use"] = json!("enc");
    let enc = KeySet::from_jwks(&json!({"keys": [enc]}), KeyOrigin::RemoteJwks, false).unwrap();
    let r = same_verdict(&good, &enc, &p, NOW, &cache);
    assert_eq!(codes(&r), ["KEY_USE_INVALID"]);
    // the set fetched again with the same key: the same key, a hit
    let again = KeySet::from_jwks(&jwks(&[rsa(), rsa2()]), KeyOrigin::RemoteJwks, false).unwrap();
    assert_eq!(
        same_verdict(&good, &again, &p, NOW, &cache).signature_cached(),
        Some(true)
    );
}

#[test]
fn an_entry_never_outlives_the_token() {
    let p = policy(json!({}));
    let keys = inline(&p);
    let cache = MapCache::default();
    let good = rsa().good(json!({"exp": NOW + 100}));
    assert!(run(&good, &keys, &p, NOW, &cache).valid());
    assert_eq!(
        cache.0.lock().unwrap().values().next().unwrap().until,
        NOW + 100
    );
    // inside the clock skew after exp: valid again, but verified afresh
    let r = same_verdict(&good, &keys, &p, NOW + 130, &cache);
    assert!(r.valid());
    assert_eq!(r.signature_cached(), Some(false));
    let r = same_verdict(&good, &keys, &p, NOW + 3600, &cache);
    assert_eq!(codes(&r), ["TOKEN_EXPIRED"]);
    // an expired token is never remembered
    let cache = MapCache::default();
    let old = rsa().good(json!({"exp": NOW - 10}));
    run(&old, &keys, &p, NOW, &cache);
    assert_eq!(cache.len(), 0);
}

#[test]
fn every_other_check_still_runs_for_each_policy() {
    let cache = MapCache::default();
    let good = rsa().good(json!({"scope": "openid"}));
    let a = policy(json!({}));
    assert!(run(&good, &inline(&a), &a, NOW, &cache).valid());
    for (extra, code) in [
        (
            json!({"audiences": ["https://other.example/"]}),
            "AUDIENCE_MISMATCH",
        ),
        (
            json!({"issuer": "https://other.auth0.com/"}),
            "ISSUER_MISMATCH",
        ),
        (json!({"allowed_algs": ["PS256"]}), "ALG_NOT_ALLOWED"),
        (json!({"required_scopes": ["write:all"]}), "SCOPE_MISSING"),
        (json!({"required_claims": ["email"]}), "CLAIM_MISSING"),
        (json!({"token_type": "at+jwt"}), "TOKEN_TYPE_MISMATCH"),
        (json!({"max_ttl_seconds": 60}), "MAX_TTL_EXCEEDED"),
        (json!({"jwks": jwks(&[rsa2()])}), "KID_NOT_FOUND"),
    ] {
        let p = policy(extra.clone());
        let r = same_verdict(&good, &inline(&p), &p, NOW, &cache);
        assert!(codes(&r).contains(&code), "{extra}: {:?}", codes(&r));
        assert!(!r.valid());
    }
}

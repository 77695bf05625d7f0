//! The fixed clock, the test keys (from jwtshield-testkit, one per binary) and the
//! default policy every core test starts from.

use std::sync::OnceLock;

use jwtshield_core::{CompiledPolicy, KeySet, Policy, Report};
pub use jwtshield_testkit::{Signer, jwks};
use serde_json::{Value, json};

/// The fixed clock every test uses: 2023-11-14T22:13:20Z.
pub const NOW: i64 = 1_700_000_000;
pub const ISS: &str = "https://acme.auth0.com/";
pub const AUD: &str = "https://api.acme.com/";
pub const SECRET: &str = "an-hmac-secret-that-is-long-enough-for-hs512-0123456789abcdefghij";

pub fn rsa() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer::rsa("rsa-1"))
}

pub fn rsa2() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer::rsa("rsa-2"))
}

/// Another RSA key that claims the kid of [`rsa`].
pub fn attacker_rsa() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer::rsa("rsa-1"))
}

pub fn ec(curve: &str) -> &'static Signer {
    static P256: OnceLock<Signer> = OnceLock::new();
    static P384: OnceLock<Signer> = OnceLock::new();
    static P521: OnceLock<Signer> = OnceLock::new();
    let (cell, kid) = match curve {
        "P-256" => (&P256, "ec-256"),
        "P-384" => (&P384, "ec-384"),
        _ => (&P521, "ec-521"),
    };
    cell.get_or_init(|| Signer::ec(curve, kid))
}

pub fn ed() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer::ed("ed-1"))
}

pub fn hmac_key() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer::hmac("hs-1", SECRET.as_bytes()))
}

/// A token with standard good claims merged with `extra` (null removes a claim).
pub trait Good {
    fn good(&self, extra: Value) -> String;
}

impl Good for Signer {
    fn good(&self, extra: Value) -> String {
        self.token(json!({}), claims(extra))
    }
}

/// Good claims for the default policy, with `extra` merged in (null values remove).
pub fn claims(extra: Value) -> Value {
    let mut c = json!({
        "iss": ISS, "sub": "auth0|user-1", "aud": [AUD, "https://acme.auth0.com/userinfo"],
        "iat": NOW - 60, "exp": NOW + 3600, "scope": "openid read:messages",
        "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K"
    });
    let obj = c.as_object_mut().unwrap();
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            obj.remove(&k);
        } else {
            obj.insert(k, v);
        }
    }
    c
}

/// A compiled policy: the defaults, the keys of all test signers inline, `extra` merged.
pub fn policy(extra: Value) -> CompiledPolicy {
    let mut p = json!({
        "issuer": ISS,
        "audiences": [AUD],
        "allowed_algs": ["RS256"],
        "jwks": jwks(&[rsa(), rsa2(), ec("P-256"), ec("P-384"), ec("P-521"), ed()]),
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            p.as_object_mut().unwrap().remove(&k);
        } else {
            p[k] = v;
        }
    }
    Policy::from_json(&p).unwrap().compile().unwrap()
}

/// Validates with the policy's inline keys at [`NOW`].
pub fn check(token: &str, policy: &CompiledPolicy) -> Report {
    let empty = KeySet::empty();
    let keys = policy.inline_keys().map(|k| k.as_ref()).unwrap_or(&empty);
    jwtshield_core::validate(token, keys, policy, NOW)
}

pub fn codes(r: &Report) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.code.as_str()).collect()
}

pub fn status(r: &Report, check: &str) -> Option<&'static str> {
    r.checks
        .iter()
        .find(|(c, _)| c.as_str() == check)
        .map(|(_, s)| s.as_str())
}

/// Re-encodes a token's part: `part` 0 header, 1 payload, 2 signature.
pub fn replace_part(token: &str, part: usize, raw: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[part] = raw.to_owned();
    parts.join(".")
}

//! The fixed clock, the test keys (from jwtshield-testkit, one per binary) and the
//! default policy every core test starts from.

use std::sync::OnceLock;

use jwtshield_core::{CompiledPolicy, KeySet, Limits, Policy, Report, Token};
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

/// Parses a token under the default limits.
pub fn parse(token: &str) -> Token<'_> {
    Token::parse(token, &Limits::default())
}

/// Validates a token text with these keys.
pub fn validate_str(token: &str, keys: &KeySet, policy: &CompiledPolicy, now: i64) -> Report {
    jwtshield_core::validate(&parse(token), keys, policy, now)
}

/// Validates with the policy's inline keys at [`NOW`].
pub fn check(token: &str, policy: &CompiledPolicy) -> Report {
    let empty = KeySet::empty();
    let keys = policy.inline_keys().map(|k| k.as_ref()).unwrap_or(&empty);
    jwtshield_core::validate(&parse(token), keys, policy, NOW)
}

pub fn codes(r: &Report) -> Vec<&'static str> {
    r.findings().iter().map(|f| f.code.as_str()).collect()
}

pub fn status(r: &Report, check: &str) -> Option<&'static str> {
    r.checks()
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

/// The order of the P-256 group.
pub const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `a - b` for 32-byte big-endian numbers (b <= a).
pub fn sub_be(a: &[u8; 32], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// A P-256 signature in DER (`SEQUENCE { r, s }`) instead of JWS's raw `r||s`.
pub fn der_signature(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let int = |x: &[u8]| {
        let mut v = x.to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        [vec![0x02, v.len() as u8], v].concat()
    };
    let body = [int(r), int(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

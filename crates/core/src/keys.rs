//! Verification keys: loading them from a JWKS, a PEM public key or a shared secret,
//! refusing the ones that must never verify anything, and verifying signatures with
//! aws-lc-rs. A key is only ever used for the algorithm family of its `kty` (and its
//! `alg`, when it names one), and only when `use`/`key_ops` allow verifying.

use std::fmt;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use pkcs1::der::{Decode, Encode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::alg::{Alg, Curve, Family};
use crate::b64;

mod roca;
use crate::checks::key_freshness::Freshness;

/// Smallest RSA modulus accepted (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (CPU cost bound).
pub const MAX_RSA_BITS: usize = 8192;
/// Most keys read from one key set.
pub const MAX_KEYS: usize = 100;
/// Longest `kid` accepted, in bytes.
pub const MAX_KID_LEN: usize = 256;

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];
const RSA_ALGS: [Alg; 6] = [
    Alg::RS256,
    Alg::RS384,
    Alg::RS512,
    Alg::PS256,
    Alg::PS384,
    Alg::PS512,
];

/// Where a key came from, for messages and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    /// A JWKS given inline in the policy or read from a file.
    InlineJwks,
    /// A JWKS fetched from the issuer.
    RemoteJwks,
    /// The policy's `public_key` PEM.
    PublicKey,
    /// The policy's `secret`.
    Secret,
}

enum Material {
    Rsa {
        der: Vec<u8>,
        bits: usize,
        parsed: Box<[OnceLock<Option<ParsedPublicKey>>; 6]>,
    },
    Ec {
        curve: Curve,
        parsed: ParsedPublicKey,
    },
    Ed25519 {
        parsed: ParsedPublicKey,
    },
    Hmac {
        secret: Vec<u8>,
        keys: Box<[OnceLock<hmac::Key>; 3]>,
    },
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Material::Rsa { bits, .. } => write!(f, "Rsa({bits} bits)"),
            Material::Ec { curve, .. } => write!(f, "Ec({})", curve.as_str()),
            Material::Ed25519 { .. } => f.write_str("Ed25519"),
            Material::Hmac { secret, .. } => write!(f, "Hmac(<redacted {} bytes>)", secret.len()),
        }
    }
}

/// A key's identity for the verified-signature cache: SHA-256 over its type and its
/// public material (for a shared secret, over the secret). Two keys with the same
/// fingerprint verify exactly the same signatures.
pub type KeyFingerprint = [u8; 32];

/// A public key (or shared secret) that may verify signatures.
#[derive(Debug)]
pub struct Key {
    kid: Option<Arc<str>>,
    fingerprint: KeyFingerprint,
    any_kid: bool,
    declared_alg: Option<String>,
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    origin: KeyOrigin,
    material: Material,
}

/// A key that was refused when its set was loaded, kept so a token naming it gets a
/// clear answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedKey {
    /// Its `kid`, when it had a string one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Its `kty`, when it had a string one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kty: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

/// Why a key cannot verify a token with a given algorithm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// Wrong `kty`/`crv` for the algorithm, or a different `alg` on the key.
    AlgMismatch(String),
    /// `use`/`key_ops` do not allow verifying.
    Use(String),
    /// The secret is too short for this HMAC algorithm.
    TooShort(String),
}

#[derive(Clone, Copy)]
enum Refusal {
    Family,
    Pinned,
    Use,
    KeyOps,
    TooShort,
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigError {
    /// Wrong length for the algorithm and key.
    Malformed {
        /// Required length in bytes.
        expected: usize,
        /// Actual length in bytes.
        actual: usize,
    },
    /// The cryptographic check failed.
    Invalid,
    /// The key cannot be used with this algorithm.
    Unusable(Unusable),
}

/// Structural problems that make a whole key source unusable (as opposed to single
/// keys, which are recorded as [`RejectedKey`]s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySourceError(pub String);

impl fmt::Display for KeySourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeySourceError {}

impl Key {
    fn new(kid: Option<Arc<str>>, any_kid: bool, origin: KeyOrigin, material: Material) -> Key {
        Key {
            kid,
            fingerprint: fingerprint_of(&material),
            any_kid,
            declared_alg: None,
            use_: None,
            key_ops: None,
            origin,
            material,
        }
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key id, shared.
    pub fn kid_shared(&self) -> Option<&Arc<str>> {
        self.kid.as_ref()
    }

    /// The key's identity (see [`KeyFingerprint`]).
    pub fn fingerprint(&self) -> &KeyFingerprint {
        &self.fingerprint
    }

    /// True when the key was given without an id and matches any token `kid`
    /// (a policy `public_key` or `secret`).
    pub fn matches_any_kid(&self) -> bool {
        self.any_kid
    }

    /// The key's family.
    pub fn family(&self) -> Family {
        match &self.material {
            Material::Rsa { .. } => Family::Rsa,
            Material::Ec { curve, .. } => Family::Ec(*curve),
            Material::Ed25519 { .. } => Family::Ed25519,
            Material::Hmac { .. } => Family::Hmac,
        }
    }

    /// The `alg` the key declares, if any.
    pub fn declared_alg(&self) -> Option<&str> {
        self.declared_alg.as_deref()
    }

    /// Where it came from.
    pub fn origin(&self) -> KeyOrigin {
        self.origin
    }

    /// RSA modulus size in bits.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.material {
            Material::Rsa { bits, .. } => Some(*bits),
            _ => None,
        }
    }

    /// Why this key may not verify `alg`, without building a message.
    fn refusal(&self, alg: Alg) -> Option<Refusal> {
        if self.family() != alg.family() {
            return Some(Refusal::Family);
        }
        if self
            .declared_alg
            .as_deref()
            .is_some_and(|d| d != alg.as_str())
        {
            return Some(Refusal::Pinned);
        }
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Some(Refusal::Use);
        }
        if self
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
        {
            return Some(Refusal::KeyOps);
        }
        if let (Material::Hmac { secret, .. }, Some(min)) = (&self.material, alg.hmac_len())
            && secret.len() < min
        {
            return Some(Refusal::TooShort);
        }
        None
    }

    /// Whether this key may verify `alg` (cheap; no message).
    pub fn can_verify(&self, alg: Alg) -> bool {
        self.refusal(alg).is_none()
    }

    /// Whether this key may verify `alg`, and why not.
    pub fn usable_for(&self, alg: Alg) -> Result<(), Unusable> {
        let Some(refusal) = self.refusal(alg) else {
            return Ok(());
        };
        Err(match refusal {
            Refusal::Family => Unusable::AlgMismatch(format!(
                "the key is {} but {alg} needs {}",
                self.family().describe(),
                alg.family().describe()
            )),
            Refusal::Pinned => Unusable::AlgMismatch(format!(
                "the key is bound to alg {} but the token says {alg}",
                self.declared_alg.as_deref().unwrap_or("")
            )),
            Refusal::Use => Unusable::Use(format!(
                "the key has use \"{}\", not \"sig\"",
                self.use_.as_deref().unwrap_or("")
            )),
            Refusal::KeyOps => Unusable::Use(format!(
                "the key's key_ops {:?} do not include \"verify\"",
                self.key_ops.as_deref().unwrap_or_default()
            )),
            Refusal::TooShort => Unusable::TooShort(format!(
                "the secret is {} bytes; {alg} needs at least {} (RFC 7518 §3.2)",
                match &self.material {
                    Material::Hmac { secret, .. } => secret.len(),
                    _ => 0,
                },
                alg.hmac_len().unwrap_or(0)
            )),
        })
    }

    /// The signature length this key and algorithm require.
    pub fn signature_len(&self, alg: Alg) -> usize {
        match &self.material {
            Material::Rsa { bits, .. } => bits.div_ceil(8),
            Material::Ec { curve, .. } => 2 * curve.coordinate_len(),
            Material::Ed25519 { .. } => 64,
            Material::Hmac { .. } => alg.hmac_len().unwrap_or(0),
        }
    }

    /// Verifies `sig` over `msg` with `alg`, after checking the key may be used for it.
    pub fn verify(&self, alg: Alg, msg: &[u8], sig: &[u8]) -> Result<(), SigError> {
        if !self.can_verify(alg) {
            self.usable_for(alg).map_err(SigError::Unusable)?;
        }
        let expected = self.signature_len(alg);
        if sig.len() != expected {
            return Err(SigError::Malformed {
                expected,
                actual: sig.len(),
            });
        }
        let ok = match &self.material {
            Material::Rsa { der, parsed, .. } => {
                let i = rsa_index(alg);
                let key = parsed[i].get_or_init(|| ParsedPublicKey::new(rsa_params(alg), der).ok());
                key.as_ref().is_some_and(|k| k.verify_sig(msg, sig).is_ok())
            }
            Material::Ec { parsed, .. } | Material::Ed25519 { parsed } => {
                parsed.verify_sig(msg, sig).is_ok()
            }
            Material::Hmac { secret, keys } => {
                let (i, a) = match alg {
                    Alg::HS256 => (0, hmac::HMAC_SHA256),
                    Alg::HS384 => (1, hmac::HMAC_SHA384),
                    _ => (2, hmac::HMAC_SHA512),
                };
                let key = keys[i].get_or_init(|| hmac::Key::new(a, secret));
                // constant-time comparison of the full-length tag
                hmac::verify(key, msg, sig).is_ok()
            }
        };
        if ok { Ok(()) } else { Err(SigError::Invalid) }
    }

    fn summary(&self) -> KeySummary {
        KeySummary {
            kid: self.kid.as_deref().map(str::to_owned),
            kty: self.family().kty(),
            alg: self.declared_alg.clone(),
            crv: match self.family() {
                Family::Ec(c) => Some(c.as_str()),
                Family::Ed25519 => Some("Ed25519"),
                _ => None,
            },
            bits: self.rsa_bits(),
            use_: self.use_.clone(),
            algorithms: Alg::ALL
                .into_iter()
                .filter(|a| self.can_verify(*a))
                .map(Alg::as_str)
                .collect(),
        }
    }
}

fn fingerprint_of(material: &Material) -> KeyFingerprint {
    use aws_lc_rs::digest;
    let mut ctx = digest::Context::new(&digest::SHA256);
    match material {
        Material::Rsa { der, .. } => {
            ctx.update(b"RSA\0");
            ctx.update(der);
        }
        Material::Ec { curve, parsed } => {
            ctx.update(b"EC\0");
            ctx.update(curve.as_str().as_bytes());
            ctx.update(b"\0");
            ctx.update(parsed.as_ref());
        }
        Material::Ed25519 { parsed } => {
            ctx.update(b"OKP\0Ed25519\0");
            ctx.update(parsed.as_ref());
        }
        Material::Hmac { secret, .. } => {
            ctx.update(b"oct\0");
            ctx.update(secret);
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn rsa_index(alg: Alg) -> usize {
    RSA_ALGS.iter().position(|a| *a == alg).unwrap_or(0)
}

fn rsa_params(alg: Alg) -> &'static dyn VerificationAlgorithm {
    match alg {
        Alg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Alg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Alg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Alg::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Alg::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn ec_params(curve: Curve) -> &'static dyn VerificationAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
    }
}

/// What `/v1/status` shows of a usable key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Key type.
    pub kty: &'static str,
    /// Declared algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// RSA modulus size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<usize>,
    /// Declared `use`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The algorithms it may verify: its family's, narrowed by its `alg`, none when its
    /// `use`/`key_ops` say it does not verify.
    pub algorithms: Vec<&'static str>,
}

/// A set of verification keys with the keys that were refused.
#[derive(Debug, Default, Clone)]
pub struct KeySet {
    inner: Arc<Loaded>,
    /// How current the set is.
    pub freshness: Freshness,
}

/// The immutable part of a key set, shared by clones.
#[derive(Debug, Default)]
struct Loaded {
    keys: Vec<Key>,
    rejected: Vec<RejectedKey>,
    notes: Vec<String>,
}

/// Whether a key published with this `use` and `key_ops` is meant for signatures.
fn signing<'a>(use_: Option<&str>, ops: Option<impl Iterator<Item = &'a str>>) -> bool {
    use_.is_none_or(|u| u == "sig") && ops.is_none_or(|mut ops| ops.any(|o| o == "verify"))
}

impl Loaded {
    /// Refuses every key whose `kid` names more than one key meant for signatures in
    /// the set as published (`list`, refused keys included): a token naming it cannot
    /// be matched to one key (Wycheproof `rejectsDuplicateKid`). A key published for
    /// encryption (`use: enc`, or `key_ops` without `verify`) does not make a `kid`
    /// ambiguous.
    fn refuse_duplicate_kids(&mut self, list: &[Value]) {
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for jwk in list.iter().filter_map(Value::as_object) {
            let use_ = jwk.get("use").and_then(Value::as_str);
            let ops = jwk.get("key_ops").and_then(Value::as_array);
            if let Some(Value::String(kid)) = jwk.get("kid")
                && signing(use_, ops.map(|o| o.iter().filter_map(Value::as_str)))
            {
                *counts.entry(kid).or_default() += 1;
            }
        }
        let ambiguous: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(kid, n)| (kid.to_owned(), n))
            .collect();
        if ambiguous.is_empty() {
            return;
        }
        let (keep, refuse): (Vec<Key>, Vec<Key>) =
            std::mem::take(&mut self.keys).into_iter().partition(|k| {
                let ops = k.key_ops.as_ref().map(|o| o.iter().map(String::as_str));
                !(signing(k.use_.as_deref(), ops)
                    && ambiguous
                        .iter()
                        .any(|(kid, _)| k.kid() == Some(kid.as_str())))
            });
        self.keys = keep;
        for key in refuse {
            let (kid, n) = ambiguous
                .iter()
                .find(|(kid, _)| key.kid() == Some(kid.as_str()))
                .map(|(kid, n)| (kid.clone(), *n))
                .unwrap_or_default();
            self.rejected.push(RejectedKey {
                kty: Some(key.family().kty().to_owned()),
                reason: format!(
                    "kid \"{kid}\" names {n} keys: a token naming it cannot be matched to one key, so every key under it is refused"
                ),
                kid: Some(kid),
            });
        }
    }

    fn into_set(self) -> KeySet {
        KeySet {
            inner: Arc::new(self),
            freshness: Freshness::Fresh,
        }
    }
}

impl KeySet {
    /// The same keys with another freshness (cheap: the keys are shared).
    pub fn with_freshness(&self, freshness: Freshness) -> KeySet {
        KeySet {
            inner: self.inner.clone(),
            freshness,
        }
    }

    /// An empty set.
    pub fn empty() -> Self {
        KeySet::default()
    }

    /// An empty set that records why no keys could be obtained.
    pub fn unreachable(url: impl Into<String>, error: impl Into<String>) -> Self {
        KeySet {
            freshness: Freshness::Unreachable {
                step: crate::checks::key_freshness::Step::KeySet,
                url: url.into(),
                error: error.into(),
            },
            ..KeySet::default()
        }
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Key] {
        &self.inner.keys
    }

    /// The keys refused at load, with reasons.
    pub fn rejected(&self) -> &[RejectedKey] {
        &self.inner.rejected
    }

    /// Set-level remarks made while loading (ignored keys beyond the cap, duplicate ids).
    pub fn notes(&self) -> &[String] {
        &self.inner.notes
    }

    /// Summaries of the usable keys.
    pub fn summaries(&self) -> Vec<KeySummary> {
        self.inner.keys.iter().map(Key::summary).collect()
    }

    /// Key ids of the usable keys.
    pub fn kids(&self) -> Vec<&str> {
        self.inner.keys.iter().filter_map(Key::kid).collect()
    }

    /// True when some usable or rejected key carries this `kid`.
    pub fn knows_kid(&self, kid: &str) -> bool {
        self.inner.keys.iter().any(|k| k.kid() == Some(kid))
            || self
                .inner
                .rejected
                .iter()
                .any(|r| r.kid.as_deref() == Some(kid))
    }

    /// Loads a JWKS (`{"keys": [...]}`) or a single JWK object.
    ///
    /// `allow_symmetric` admits `oct` keys; it is only ever true for keys the operator
    /// typed into a policy, never for a fetched set (RFC 8725 §3.1: a remote set holds
    /// public keys only).
    pub fn from_jwks(
        jwks: &Value,
        origin: KeyOrigin,
        allow_symmetric: bool,
    ) -> Result<KeySet, KeySourceError> {
        let Value::Object(obj) = jwks else {
            return Err(KeySourceError(format!(
                "a JWKS must be a JSON object with a `keys` array, found {}",
                crate::json::kind_of(jwks)
            )));
        };
        let single;
        let list: &[Value] = match obj.get("keys") {
            Some(Value::Array(keys)) => keys,
            Some(other) => {
                return Err(KeySourceError(format!(
                    "`keys` must be an array, found {}",
                    crate::json::kind_of(other)
                )));
            }
            None if obj.contains_key("kty") => {
                single = [jwks.clone()];
                &single
            }
            None => {
                return Err(KeySourceError(
                    "a JWKS must have a `keys` array (or be a single JWK with `kty`)".into(),
                ));
            }
        };
        let mut set = Loaded::default();
        if list.len() > MAX_KEYS {
            set.notes.push(format!(
                "the set has {} keys; only the first {MAX_KEYS} were read",
                list.len()
            ));
        }
        for jwk in list.iter().take(MAX_KEYS) {
            match parse_jwk(jwk, origin, allow_symmetric) {
                Ok(key) => set.keys.push(key),
                Err(rejected) => set.rejected.push(rejected),
            }
        }
        let symmetric = set
            .keys
            .iter()
            .filter(|k| k.family() == Family::Hmac)
            .count();
        if symmetric > 0 && symmetric < set.keys.len() {
            // only an operator-typed set can hold secrets at all (a fetched one never
            // does): a mix is a configuration mistake, refused with the policy
            return Err(KeySourceError(
                "the key set mixes symmetric (`oct`) and public keys; a set holding public keys must not hold secrets (give HMAC secrets in a set of their own, or as `secret`)".into(),
            ));
        }
        set.refuse_duplicate_kids(&list[..list.len().min(MAX_KEYS)]);
        Ok(set.into_set())
    }

    /// Loads one PEM public key: SPKI (`PUBLIC KEY`, RSA, EC or Ed25519) or PKCS#1
    /// (`RSA PUBLIC KEY`). The key matches any token `kid`.
    pub fn from_pem(pem: &str) -> Result<KeySet, KeySourceError> {
        let key = parse_pem(pem)?;
        let mut set = Loaded::default();
        match key {
            Ok(k) => set.keys.push(k),
            Err(r) => set.rejected.push(r),
        }
        Ok(set.into_set())
    }

    /// A shared HMAC secret (its UTF-8 bytes). It matches any token `kid`.
    pub fn from_secret(secret: &str) -> KeySet {
        let mut set = Loaded::default();
        set.keys.push(Key::new(
            None,
            true,
            KeyOrigin::Secret,
            Material::Hmac {
                secret: secret.as_bytes().to_vec(),
                keys: Default::default(),
            },
        ));
        set.into_set()
    }
}

fn str_member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "`{name}` must be a string, found {}",
            crate::json::kind_of(other)
        )),
    }
}

fn b64_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let s = str_member(jwk, name)?.ok_or_else(|| format!("`{name}` is missing"))?;
    b64::decode(s).ok_or_else(|| format!("`{name}` is not strict base64url"))
}

fn parse_jwk(jwk: &Value, origin: KeyOrigin, allow_symmetric: bool) -> Result<Key, RejectedKey> {
    let Value::Object(obj) = jwk else {
        return Err(RejectedKey {
            kid: None,
            kty: None,
            reason: format!(
                "a key must be a JSON object, found {}",
                crate::json::kind_of(jwk)
            ),
        });
    };
    let kid = match obj.get("kid") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let kty = match obj.get("kty") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let reject = |reason: String| RejectedKey {
        kid: kid.clone(),
        kty: kty.clone(),
        reason,
    };
    parse_jwk_inner(obj, kid.as_deref().map(Arc::from), origin, allow_symmetric).map_err(reject)
}

fn parse_jwk_inner(
    obj: &Map<String, Value>,
    kid: Option<Arc<str>>,
    origin: KeyOrigin,
    allow_symmetric: bool,
) -> Result<Key, String> {
    if let Some(v) = obj.get("kid") {
        let Value::String(s) = v else {
            return Err(format!(
                "`kid` must be a string, found {}",
                crate::json::kind_of(v)
            ));
        };
        if s.len() > MAX_KID_LEN {
            return Err(format!("`kid` is longer than {MAX_KID_LEN} bytes"));
        }
    }
    let kty = str_member(obj, "kty")?.ok_or("`kty` is missing")?;
    let declared_alg = str_member(obj, "alg")?.map(str::to_owned);
    let use_ = str_member(obj, "use")?.map(str::to_owned);
    let key_ops = match obj.get("key_ops") {
        None => None,
        Some(Value::Array(ops)) => Some(
            ops.iter()
                .map(|o| o.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("`key_ops` must be an array of strings")?,
        ),
        Some(_) => return Err("`key_ops` must be an array of strings".into()),
    };
    if let (Some(u), Some(ops)) = (&use_, &key_ops) {
        let ops_sig = ops.iter().all(|o| o == "verify" || o == "sign");
        if (u == "sig") != ops_sig {
            return Err(format!(
                "`use` \"{u}\" and `key_ops` {ops:?} contradict each other (RFC 7517 §4.3)"
            ));
        }
    }
    if kty != "oct"
        && let Some(m) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m))
    {
        return Err(format!(
            "the key contains private key material (`{m}`); publish only the public key"
        ));
    }
    let material = jwk_material(obj, kty, allow_symmetric)?;
    let key = Key {
        declared_alg,
        use_,
        key_ops,
        ..Key::new(kid, false, origin, material)
    };
    if let Some(declared) = key.declared_alg.as_deref()
        && let Some(alg) = Alg::from_name(declared)
        && alg.family() != key.family()
    {
        return Err(format!(
            "`alg` {declared} does not fit a {} key",
            key.family().describe()
        ));
    }
    Ok(key)
}

/// The key material of a JWK of type `kty`.
fn jwk_material(
    obj: &Map<String, Value>,
    kty: &str,
    allow_symmetric: bool,
) -> Result<Material, String> {
    Ok(match kty {
        "RSA" => rsa_from_jwk(obj)?,
        "EC" => {
            let crv = str_member(obj, "crv")?.ok_or("`crv` is missing")?;
            let curve = Curve::from_jwk(crv).ok_or_else(|| {
                format!("unsupported EC curve `{crv}`; supported: P-256, P-384, P-521")
            })?;
            let x = b64_member(obj, "x")?;
            let y = b64_member(obj, "y")?;
            let n = curve.coordinate_len();
            if x.len() != n || y.len() != n {
                return Err(format!(
                    "`x` and `y` must be {n} bytes each for {crv}, found {} and {}",
                    x.len(),
                    y.len()
                ));
            }
            let mut point = Vec::with_capacity(1 + 2 * n);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ec_material(curve, &point)?
        }
        "OKP" => {
            let crv = str_member(obj, "crv")?.ok_or("`crv` is missing")?;
            if crv != "Ed25519" {
                return Err(format!(
                    "unsupported OKP curve `{crv}`; only Ed25519 can verify"
                ));
            }
            let x = b64_member(obj, "x")?;
            ed25519_material(&x)?
        }
        "oct" => {
            if !allow_symmetric {
                return Err(
                    "symmetric (`oct`) keys are never taken from a fetched key set; give HMAC secrets in the policy"
                        .into(),
                );
            }
            let k = b64_member(obj, "k")?;
            if k.is_empty() {
                return Err("`k` is empty".into());
            }
            Material::Hmac {
                secret: k,
                keys: Default::default(),
            }
        }
        other => return Err(format!("unsupported key type `{other}`")),
    })
}

fn rsa_from_jwk(obj: &Map<String, Value>) -> Result<Material, String> {
    let n = b64_member(obj, "n")?;
    let e = b64_member(obj, "e")?;
    rsa_material(&n, &e)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

fn rsa_material(n: &[u8], e: &[u8]) -> Result<Material, String> {
    let n = strip_zeros(n);
    let e = strip_zeros(e);
    let bits = match n.first() {
        Some(top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "RSA modulus is {bits} bits; at least {MIN_RSA_BITS} are required (RFC 7518 §3.3)"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "RSA modulus is {bits} bits; more than {MAX_RSA_BITS} is refused"
        ));
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err("RSA modulus is even".into());
    }
    if roca::has_fingerprint(n) {
        return Err(
            "RSA modulus has the ROCA fingerprint (CVE-2017-15361, Infineon RSALib): its private key can be computed from it"
                .into(),
        );
    }
    if e.len() > 8 {
        return Err("RSA public exponent is too large".into());
    }
    let e_val = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if e_val < 65537 || e_val & 1 == 0 {
        return Err(format!(
            "RSA public exponent {e_val} is refused: it must be odd and at least 65537 (NIST SP 800-56B)"
        ));
    }
    let der = pkcs1::RsaPublicKeyRef {
        modulus: pkcs1::UintRef::new(n).map_err(|e| format!("bad modulus: {e}"))?,
        public_exponent: pkcs1::UintRef::new(e).map_err(|e| format!("bad exponent: {e}"))?,
    }
    .to_der()
    .map_err(|e| format!("cannot encode RSA key: {e}"))?;
    // Validate now so a broken key is refused at load, and keep the RS256 parse.
    let rs256 = ParsedPublicKey::new(rsa_params(Alg::RS256), &der)
        .map_err(|e| format!("RSA key refused by the crypto library: {e}"))?;
    let parsed: Box<[OnceLock<Option<ParsedPublicKey>>; 6]> = Box::default();
    let _ = parsed[0].set(Some(rs256));
    Ok(Material::Rsa { der, bits, parsed })
}

fn ec_material(curve: Curve, point: &[u8]) -> Result<Material, String> {
    // aws-lc-rs checks the point is on the curve and not the identity.
    let parsed = ParsedPublicKey::new(ec_params(curve), point)
        .map_err(|_| format!("the point is not a valid {} public key", curve.as_str()))?;
    Ok(Material::Ec { curve, parsed })
}

fn ed25519_material(x: &[u8]) -> Result<Material, String> {
    if x.len() != 32 {
        return Err(format!(
            "`x` must be 32 bytes for Ed25519, found {}",
            x.len()
        ));
    }
    let parsed = ParsedPublicKey::new(&signature::ED25519, x)
        .map_err(|_| "not a valid Ed25519 public key".to_owned())?;
    Ok(Material::Ed25519 { parsed })
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

fn parse_pem(pem: &str) -> Result<Result<Key, RejectedKey>, KeySourceError> {
    let (label, der) = spki::der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| {
        KeySourceError(format!(
            "not a PEM public key ({e}); expected -----BEGIN PUBLIC KEY-----"
        ))
    })?;
    let material = match label {
        "PUBLIC KEY" => {
            let info = spki::SubjectPublicKeyInfoRef::from_der(&der)
                .map_err(|e| KeySourceError(format!("not a SubjectPublicKeyInfo: {e}")))?;
            let bits = info.subject_public_key.raw_bytes();
            match info.algorithm.oid.to_string().as_str() {
                OID_RSA => {
                    let rsa = pkcs1::RsaPublicKeyRef::from_der(bits)
                        .map_err(|e| KeySourceError(format!("bad RSA public key: {e}")))?;
                    rsa_material(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
                }
                OID_EC => {
                    let curve_oid = info
                        .algorithm
                        .parameters_oid()
                        .map_err(|e| KeySourceError(format!("EC key without a named curve: {e}")))?
                        .to_string();
                    let curve = match curve_oid.as_str() {
                        OID_P256 => Curve::P256,
                        OID_P384 => Curve::P384,
                        OID_P521 => Curve::P521,
                        other => {
                            return Err(KeySourceError(format!(
                                "unsupported EC curve {other}; supported: P-256, P-384, P-521"
                            )));
                        }
                    };
                    ec_material(curve, bits)
                }
                OID_ED25519 => ed25519_material(bits),
                other => {
                    return Err(KeySourceError(format!(
                        "unsupported public key algorithm {other}; supported: RSA, EC, Ed25519"
                    )));
                }
            }
        }
        "RSA PUBLIC KEY" => {
            let rsa = pkcs1::RsaPublicKeyRef::from_der(&der)
                .map_err(|e| KeySourceError(format!("bad RSA public key: {e}")))?;
            rsa_material(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
        }
        "CERTIFICATE" => {
            return Err(KeySourceError(
                "a certificate was given; give its public key (openssl x509 -pubkey -noout)".into(),
            ));
        }
        other if other.contains("PRIVATE") => {
            return Err(KeySourceError(format!(
                "a private key ({other}) was given; give only the public key"
            )));
        }
        other => {
            return Err(KeySourceError(format!(
                "unexpected PEM label `{other}`; expected PUBLIC KEY"
            )));
        }
    };
    Ok(match material {
        Ok(material) => Ok(Key::new(None, true, KeyOrigin::PublicKey, material)),
        Err(reason) => Err(RejectedKey {
            kid: None,
            kty: None,
            reason,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const N_2048: &str = "orRRoH0KpfluRVZxUTVQUUqKW0YuvvcXCU-h_ugiJOY3-XRtP3yv0xh42AMltu9aFwD2WQO0aUKeidbqyIRQl7WrOTGJ25JRLtincRoSU_rNIPecFegkfz0-QuRuSMmOJUov6XZTE6A-_48X4aApOXofomqNzib0kO2BKZYV2YFMItphBCjgnH2WWFlCZvXAIdD87KCNlFoSvoLeTR7Oa0wDFFtdNJXU7VQR64eNrwX9evw-Ca2g8RJkIvWQl1oZaYFvSGmLy7obTZyuedRg2Pn4Xnl1AF2bwixOWsD3waRdElaaYoB9O5oC5aUw53MGb0U9H1tMLpz3ggKD90K51Q";

    fn load(jwk: Value) -> KeySet {
        KeySet::from_jwks(&json!({ "keys": [jwk] }), KeyOrigin::InlineJwks, true).unwrap()
    }

    fn reason(set: &KeySet) -> &str {
        assert!(set.keys().is_empty(), "expected the key to be refused");
        &set.rejected()[0].reason
    }

    #[test]
    fn rsa_key_loads_with_bits() {
        let set = load(json!({"kty":"RSA","kid":"a","n":N_2048,"e":"AQAB"}));
        assert_eq!(set.keys()[0].rsa_bits(), Some(2048));
        assert_eq!(set.kids(), ["a"]);
    }

    #[test]
    fn weak_and_odd_keys_are_refused_with_reasons() {
        let short = b64::encode([0xc3u8; 128]); // 1024 bits, odd
        let r = load(json!({"kty":"RSA","kid":"w","n":short,"e":"AQAB"}));
        assert!(reason(&r).contains("1024 bits"), "{}", reason(&r));
        assert_eq!(r.rejected()[0].kid.as_deref(), Some("w"));
        assert!(r.knows_kid("w"));
        let e3 = load(json!({"kty":"RSA","n":N_2048,"e":"Aw"}));
        assert!(reason(&e3).contains("exponent 3"));
        let e1 = load(json!({"kty":"RSA","n":N_2048,"e":"AQ"}));
        assert!(reason(&e1).contains("exponent 1"));
        let huge = b64::encode([0xc3u8; 1025]);
        assert!(reason(&load(json!({"kty":"RSA","n":huge,"e":"AQAB"}))).contains("8200 bits"));
        let private = load(json!({"kty":"RSA","n":N_2048,"e":"AQAB","d":"AQAB"}));
        assert!(reason(&private).contains("private"));
        assert!(
            reason(&load(json!({"kty":"EC","crv":"P-256","x":"AA","y":"AA"}))).contains("32 bytes")
        );
        let off_curve = load(json!({"kty":"EC","crv":"P-256",
            "x": b64::encode([1u8; 32]), "y": b64::encode([2u8; 32])}));
        assert!(reason(&off_curve).contains("not a valid P-256"));
        assert!(reason(&load(json!({"kty":"OKP","crv":"X25519","x":"AA"}))).contains("X25519"));
        assert!(
            reason(&load(
                json!({"kty":"RSA","n":N_2048,"e":"AQAB","alg":"ES256"})
            ))
            .contains("does not fit")
        );
        assert!(
            reason(&load(
                json!({"kty":"RSA","n":N_2048,"e":"AQAB","use":"enc","key_ops":["verify"]})
            ))
            .contains("contradict")
        );
        assert!(reason(&load(json!({"kty":"DSA"}))).contains("unsupported key type"));
        assert!(reason(&load(json!({"kty":"RSA","n":"a+b","e":"AQAB"}))).contains("base64url"));
    }

    #[test]
    fn oct_keys_only_when_allowed() {
        let jwks = json!({"keys":[{"kty":"oct","k":b64::encode([7u8; 32])}]});
        let remote = KeySet::from_jwks(&jwks, KeyOrigin::RemoteJwks, false).unwrap();
        assert!(
            remote.rejected()[0]
                .reason
                .contains("never taken from a fetched")
        );
        let local = KeySet::from_jwks(&jwks, KeyOrigin::InlineJwks, true).unwrap();
        assert_eq!(local.keys().len(), 1);
        assert_eq!(
            format!("{:?}", local.keys()[0].material),
            "Hmac(<redacted 32 bytes>)"
        );
    }

    #[test]
    fn structural_errors() {
        assert!(KeySet::from_jwks(&json!([1]), KeyOrigin::InlineJwks, true).is_err());
        assert!(KeySet::from_jwks(&json!({"keys":{}}), KeyOrigin::InlineJwks, true).is_err());
        assert!(KeySet::from_jwks(&json!({"a":1}), KeyOrigin::InlineJwks, true).is_err());
        let single = KeySet::from_jwks(
            &json!({"kty":"RSA","n":N_2048,"e":"AQAB"}),
            KeyOrigin::InlineJwks,
            true,
        )
        .unwrap();
        assert_eq!(single.keys().len(), 1);
        assert!(KeySet::from_pem("hello").is_err());
    }

    #[test]
    fn usability_rules() {
        let set = load(json!({"kty":"RSA","kid":"a","n":N_2048,"e":"AQAB","alg":"PS256"}));
        let k = &set.keys()[0];
        assert!(k.usable_for(Alg::PS256).is_ok());
        assert!(matches!(
            k.usable_for(Alg::RS256),
            Err(Unusable::AlgMismatch(_))
        ));
        assert!(matches!(
            k.usable_for(Alg::HS256),
            Err(Unusable::AlgMismatch(_))
        ));
        let enc = load(json!({"kty":"RSA","n":N_2048,"e":"AQAB","use":"enc"}));
        assert!(matches!(
            enc.keys()[0].usable_for(Alg::RS256),
            Err(Unusable::Use(_))
        ));
        let ops = load(json!({"kty":"RSA","n":N_2048,"e":"AQAB","key_ops":["encrypt"]}));
        assert!(matches!(
            ops.keys()[0].usable_for(Alg::RS256),
            Err(Unusable::Use(_))
        ));
        let short = KeySet::from_secret("0123456789abcdef0123456789abcdef");
        assert!(short.keys()[0].usable_for(Alg::HS256).is_ok());
        assert!(matches!(
            short.keys()[0].usable_for(Alg::HS384),
            Err(Unusable::TooShort(_))
        ));
    }
}
